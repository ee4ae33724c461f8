// Package metrics records a bot's metrics through the OpenTelemetry metric
// API: the host passes its metric.MeterProvider (and so chooses the SDK and
// the exporter); nil records nothing.
//
// Instruments (attributes in brackets):
//
//	arbion.broker.request.duration  histogram, s   [broker, op, outcome]
//	arbion.broker.requests          counter        [broker, op, outcome]
//	arbion.broker.ratelimit.remaining gauge        [broker, bucket]
//	arbion.http.request.duration    histogram, s   [broker, op, status]  one per HTTP request (an adapter's Observer)
//	arbion.http.retries             counter        [broker, op]          attempts beyond the first
//	arbion.http.ratelimited         counter        [broker, bucket]      refused by the client-side limiter before sending
//	arbion.orders                   counter        [state]   orders reaching each state
//	arbion.orders.open              gauge                    tracked open orders
//	arbion.fills                    counter        [side]
//	arbion.risk.refusals            counter        [rule]
//	arbion.stops                    counter        [event]   placed, restored, resized, trailed, failed, ...
//	arbion.emergency_closes         counter
//	arbion.stream.reconnects        gauge          [stream]
//	arbion.stream.staleness         gauge, s       [stream]
//	arbion.reconcile.duration       histogram, s   [outcome]
//
// outcome is "ok" or the error's arbion kind ("broker unavailable", ...),
// "error" for an error of no kind: a bounded set, never error text.
package metrics

import (
	"context"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/order"
	"github.com/arbiontrader/arbion/stoploss"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
)

// ScopeName is the instrumentation scope of every instrument.
const ScopeName = "github.com/arbiontrader/arbion"

// Metrics holds the instruments. It is safe for concurrent use; it
// satisfies broker.Observer and the live runner's Metrics.
type Metrics struct {
	latency    metric.Float64Histogram
	requests   metric.Int64Counter
	httpDur    metric.Float64Histogram
	retries    metric.Int64Counter
	limited    metric.Int64Counter
	headroom   metric.Int64Gauge
	orders     metric.Int64Counter
	open       metric.Int64Gauge
	fills      metric.Int64Counter
	refusals   metric.Int64Counter
	stops      metric.Int64Counter
	emergency  metric.Int64Counter
	reconnects metric.Int64Gauge
	staleness  metric.Float64Gauge
	reconcile  metric.Float64Histogram
}

// New creates the instruments on mp's meter; a nil mp records nothing.
func New(mp metric.MeterProvider) (*Metrics, error) {
	if mp == nil {
		mp = noop.NewMeterProvider()
	}
	m := mp.Meter(ScopeName)
	var x Metrics
	var errs []error
	add := func(err error) { errs = append(errs, err) }
	var err error
	x.latency, err = m.Float64Histogram("arbion.broker.request.duration", metric.WithUnit("s"),
		metric.WithDescription("Latency of broker calls, by broker, operation and outcome."))
	add(err)
	x.requests, err = m.Int64Counter("arbion.broker.requests", metric.WithDescription("Broker calls, by broker, operation and outcome."))
	add(err)
	x.httpDur, err = m.Float64Histogram("arbion.http.request.duration", metric.WithUnit("s"),
		metric.WithDescription("Latency of adapters' HTTP requests, retries and rate-limit waits included, by status."))
	add(err)
	x.retries, err = m.Int64Counter("arbion.http.retries", metric.WithDescription("HTTP attempts beyond the first."))
	add(err)
	x.limited, err = m.Int64Counter("arbion.http.ratelimited",
		metric.WithDescription("HTTP requests refused by the client-side rate limiter before sending."))
	add(err)
	x.headroom, err = m.Int64Gauge("arbion.broker.ratelimit.remaining",
		metric.WithDescription("Requests the client-side rate limiter would let through now, by bucket."))
	add(err)
	x.orders, err = m.Int64Counter("arbion.orders", metric.WithDescription("Orders reaching each state."))
	add(err)
	x.open, err = m.Int64Gauge("arbion.orders.open", metric.WithDescription("Tracked orders not terminal."))
	add(err)
	x.fills, err = m.Int64Counter("arbion.fills", metric.WithDescription("Fills applied, by side."))
	add(err)
	x.refusals, err = m.Int64Counter("arbion.risk.refusals", metric.WithDescription("Orders refused by the risk engine, by rule."))
	add(err)
	x.stops, err = m.Int64Counter("arbion.stops", metric.WithDescription("Stop-loss supervisor events (placed, restored, failed, ...)."))
	add(err)
	x.emergency, err = m.Int64Counter("arbion.emergency_closes", metric.WithDescription("Emergency market closes sent on a breached stop."))
	add(err)
	x.reconnects, err = m.Int64Gauge("arbion.stream.reconnects", metric.WithDescription("Reconnects of a stream since it was opened."))
	add(err)
	x.staleness, err = m.Float64Gauge("arbion.stream.staleness", metric.WithUnit("s"),
		metric.WithDescription("Time since a stream's last message."))
	add(err)
	x.reconcile, err = m.Float64Histogram("arbion.reconcile.duration", metric.WithUnit("s"),
		metric.WithDescription("Duration of order reconciliations, by outcome."))
	add(err)
	if err := errors.Join(errs...); err != nil {
		return nil, &errors.BrokerError{Op: "metrics", Kind: errors.ErrConfiguration, Message: "metrics: " + err.Error()}
	}
	return &x, nil
}

// outcome is the bounded label of an error.
func outcome(err error) string {
	switch k := errors.KindOf(err); {
	case err == nil:
		return "ok"
	case k != "":
		return string(k)
	}
	return "error"
}

// Observe implements broker.Observer. Pass it to broker.WithObserver (one
// observation per call, counted as arbion.broker.*) and to an adapter's
// Config.Observer (one per HTTP request, with Method set, counted as
// arbion.http.*).
func (m *Metrics) Observe(ctx context.Context, ev broker.Observation) {
	if ev.Method != "" {
		m.observeHTTP(ctx, ev)
		return
	}
	attrs := metric.WithAttributes(attribute.String("broker", ev.Broker), attribute.String("op", ev.Op),
		attribute.String("outcome", outcome(ev.Err)))
	m.latency.Record(ctx, ev.Latency.Seconds(), attrs)
	m.requests.Add(ctx, 1, attrs)
}

func (m *Metrics) observeHTTP(ctx context.Context, ev broker.Observation) {
	b, op := attribute.String("broker", ev.Broker), attribute.String("op", ev.Op)
	m.httpDur.Record(ctx, ev.Latency.Seconds(), metric.WithAttributes(b, op, attribute.Int("status", ev.Status)))
	switch {
	case ev.Attempts > 1:
		m.retries.Add(ctx, int64(ev.Attempts-1), metric.WithAttributes(b, op))
	case ev.Attempts == 0 && ev.Bucket != "":
		m.limited.Add(ctx, 1, metric.WithAttributes(b, attribute.String("bucket", ev.Bucket)))
	}
}

// RateLimit records a broker's client-side rate-limit headroom
// (broker.Health.RateLimitRemaining).
func (m *Metrics) RateLimit(ctx context.Context, brokerName string, remaining map[string]int) {
	for bucket, n := range remaining {
		m.headroom.Record(ctx, int64(n), metric.WithAttributes(attribute.String("broker", brokerName), attribute.String("bucket", bucket)))
	}
}

// OrderUpdate counts a status change by its new state, and a fill.
func (m *Metrics) OrderUpdate(ctx context.Context, u order.Update) {
	if u.Order.Status != u.PrevStatus {
		m.orders.Add(ctx, 1, metric.WithAttributes(attribute.String("state", u.Order.Status.String())))
	}
	if u.Fill != nil {
		m.fills.Add(ctx, 1, metric.WithAttributes(attribute.String("side", u.Order.Side.String())))
	}
}

// OpenOrders records the number of tracked open orders.
func (m *Metrics) OpenOrders(ctx context.Context, n int) { m.open.Record(ctx, int64(n)) }

// Refused counts one refused order under each rule that refused it.
func (m *Metrics) Refused(ctx context.Context, rules []string) {
	for _, r := range rules {
		m.refusals.Add(ctx, 1, metric.WithAttributes(attribute.String("rule", r)))
	}
}

// Swept counts a supervisor report's events.
func (m *Metrics) Swept(ctx context.Context, rep stoploss.Report) {
	for _, e := range rep.Events {
		m.stops.Add(ctx, 1, metric.WithAttributes(attribute.String("event", e.Kind.String())))
		if e.Kind == stoploss.EventBreachClose {
			m.emergency.Add(ctx, 1)
		}
	}
}

// Reconciled records one reconciliation.
func (m *Metrics) Reconciled(ctx context.Context, d time.Duration, err error) {
	m.reconcile.Record(ctx, d.Seconds(), metric.WithAttributes(attribute.String("outcome", outcome(err))))
}

// StreamStatus records a stream's reconnects and how long it has been
// silent at now.
func (m *Metrics) StreamStatus(ctx context.Context, stream string, st broker.StreamStatus, now time.Time) {
	attrs := metric.WithAttributes(attribute.String("stream", stream))
	m.reconnects.Record(ctx, int64(st.Reconnects), attrs)
	if !st.LastMessage.IsZero() {
		m.staleness.Record(ctx, now.Sub(st.LastMessage).Seconds(), attrs)
	}
}
