package metrics_test

import (
	"context"
	"testing"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/metrics"
	"github.com/arbiontrader/arbion/order"
	"github.com/arbiontrader/arbion/stoploss"
	"github.com/google/go-cmp/cmp"
	"go.opentelemetry.io/otel/attribute"
	sdk "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// collect returns every data point as "name{attrs}" -> value (the count of
// a histogram, the value of a sum or gauge).
func collect(t *testing.T, r *sdk.ManualReader) map[string]float64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := r.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	key := func(name string, set attribute.Set) string {
		s := name + "{"
		for i, kv := range set.ToSlice() {
			if i > 0 {
				s += ","
			}
			s += string(kv.Key) + "=" + kv.Value.String()
		}
		return s + "}"
	}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					out[key(m.Name, p.Attributes)] = float64(p.Value)
				}
			case metricdata.Gauge[int64]:
				for _, p := range d.DataPoints {
					out[key(m.Name, p.Attributes)] = float64(p.Value)
				}
			case metricdata.Gauge[float64]:
				for _, p := range d.DataPoints {
					out[key(m.Name, p.Attributes)] = p.Value
				}
			case metricdata.Histogram[float64]:
				for _, p := range d.DataPoints {
					out[key(m.Name, p.Attributes)+".count"] = float64(p.Count)
					out[key(m.Name, p.Attributes)+".sum"] = p.Sum
				}
			}
		}
	}
	return out
}

func TestInstrumentsByNameAndValue(t *testing.T) {
	reader := sdk.NewManualReader()
	m, err := metrics.New(sdk.NewMeterProvider(sdk.WithReader(reader)))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	m.Observe(ctx, broker.Observation{Broker: "paper", Op: broker.OpPlaceOrder, Latency: 250 * time.Millisecond})
	m.Observe(ctx, broker.Observation{Broker: "paper", Op: broker.OpPlaceOrder, Latency: 750 * time.Millisecond})
	down := &errors.BrokerError{Kind: errors.ErrBrokerUnavailable, Message: "Bearer SENTINEL-SECRET"}
	m.Observe(ctx, broker.Observation{Broker: "paper", Op: broker.OpQuotes, Latency: time.Second, Err: down, Kind: errors.ErrBrokerUnavailable})
	fill := broker.Fill{ExecID: "1"}
	m.OrderUpdate(ctx, order.Update{Order: order.Order{Status: broker.StatusNew, Side: broker.Buy}, PrevStatus: broker.StatusPendingNew})
	m.OrderUpdate(ctx, order.Update{Order: order.Order{Status: broker.StatusFilled, Side: broker.Buy}, PrevStatus: broker.StatusNew, Fill: &fill})
	m.OpenOrders(ctx, 3)
	m.Refused(ctx, []string{"max order quantity", "price band"})
	m.Refused(ctx, []string{"price band"})
	m.Swept(ctx, stoploss.Report{Events: []stoploss.Event{{Kind: stoploss.EventStopPlaced}, {Kind: stoploss.EventStopRestored},
		{Kind: stoploss.EventFailed}, {Kind: stoploss.EventBreachClose}}})
	m.Reconciled(ctx, 2*time.Second, nil)
	now := time.Date(2026, 1, 5, 15, 0, 0, 0, time.UTC)
	m.StreamStatus(ctx, "orders", broker.StreamStatus{Live: true, Reconnects: 2, LastMessage: now.Add(-5 * time.Second)}, now)
	m.RateLimit(ctx, "schwab", map[string]int{"orders": 119})
	m.Observe(ctx, broker.Observation{Broker: "schwab", Op: broker.OpGetOrder, Method: "GET", Path: "/orders/1", Status: 200,
		Attempts: 3, Latency: 3 * time.Second, Bucket: "reads"})
	m.Observe(ctx, broker.Observation{Broker: "schwab", Op: broker.OpPlaceOrder, Method: "POST", Attempts: 0, Bucket: "orders",
		Err: &errors.BrokerError{Kind: errors.ErrRateLimited}, Kind: errors.ErrRateLimited})

	want := map[string]float64{
		"arbion.broker.request.duration{broker=paper,op=place order,outcome=ok}.count":            2,
		"arbion.broker.request.duration{broker=paper,op=place order,outcome=ok}.sum":              1,
		"arbion.broker.request.duration{broker=paper,op=quotes,outcome=broker unavailable}.count": 1,
		"arbion.broker.request.duration{broker=paper,op=quotes,outcome=broker unavailable}.sum":   1,
		"arbion.broker.requests{broker=paper,op=place order,outcome=ok}":                          2,
		"arbion.broker.requests{broker=paper,op=quotes,outcome=broker unavailable}":               1,
		"arbion.broker.ratelimit.remaining{broker=schwab,bucket=orders}":                          119,
		"arbion.http.request.duration{broker=schwab,op=get order,status=200}.count":               1,
		"arbion.http.request.duration{broker=schwab,op=get order,status=200}.sum":                 3,
		"arbion.http.request.duration{broker=schwab,op=place order,status=0}.count":               1,
		"arbion.http.request.duration{broker=schwab,op=place order,status=0}.sum":                 0,
		"arbion.http.retries{broker=schwab,op=get order}":                                         2,
		"arbion.http.ratelimited{broker=schwab,bucket=orders}":                                    1,
		"arbion.orders{state=new}":                      1,
		"arbion.orders{state=filled}":                   1,
		"arbion.orders.open{}":                          3,
		"arbion.fills{side=buy}":                        1,
		"arbion.risk.refusals{rule=max order quantity}": 1,
		"arbion.risk.refusals{rule=price band}":         2,
		"arbion.stops{event=stop placed}":               1,
		"arbion.stops{event=stop restored}":             1,
		"arbion.stops{event=failed}":                    1,
		"arbion.stops{event=breach close}":              1,
		"arbion.emergency_closes{}":                     1,
		"arbion.reconcile.duration{outcome=ok}.count":   1,
		"arbion.reconcile.duration{outcome=ok}.sum":     2,
		"arbion.stream.reconnects{stream=orders}":       2,
		"arbion.stream.staleness{stream=orders}":        5,
	}
	if diff := cmp.Diff(want, collect(t, reader)); diff != "" {
		t.Errorf("metrics (-want +got):\n%s", diff)
	}
}

func TestNilProviderRecordsNothing(t *testing.T) {
	m, err := metrics.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	m.Observe(context.Background(), broker.Observation{Broker: "paper", Op: broker.OpQuotes})
}
