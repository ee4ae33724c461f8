package pollstream_test

import (
	"context"
	"testing"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/broker/pollstream"
	"github.com/arbiontrader/arbion/clock/clocktest"
	"github.com/arbiontrader/arbion/order"
	"golang.org/x/time/rate"
)

// TestTrackerFollowsAPollingSource: the order tracker follows a polling
// source as it follows a pushing broker, and ends equal to the broker:
// fills made at the broker, including an order born and filled between two
// polls, reach the records.
func TestTrackerFollowsAPollingSource(t *testing.T) {
	clk := clocktest.New(epoch)
	p := newPaper(t, clk)
	rec := &recording{Broker: p, clk: clk}
	src, err := pollstream.New(pollstream.Config{Broker: withLister{rec}, Clock: clk, OrderRate: rate.Inf})
	if err != nil {
		t.Fatal(err)
	}
	tr, err := order.NewTracker(order.Config{Broker: p, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	s, err := src.StreamOrders(ctx)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- tr.Follow(ctx, s) }()
	defer func() { cancel(); <-done }()

	var ids []string
	for _, qty := range []string{"10", "5", "3"} {
		o, err := tr.Submit(ctx, order.Request{OrderRequest: broker.OrderRequest{Instrument: aapl, Side: broker.Buy,
			Type: broker.Limit, Quantity: dec(qty), LimitPrice: dec("99"), TimeInForce: broker.GTC}})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, o.LocalID)
	}
	brokerID := func(i int) string {
		o, _ := tr.Get(ctx, ids[i])
		return o.BrokerOrderID
	}
	for _, f := range []struct {
		i        int
		qty, px  string
		advances int
	}{{0, "4", "99", 1}, {0, "6", "98.5", 0}, {1, "5", "99", 1}, {2, "1", "98", 2}} {
		if err := p.Execute(ctx, brokerID(f.i), dec(f.qty), dec(f.px)); err != nil {
			t.Fatal(err)
		}
		for range f.advances {
			if err := clk.WaitForWaiters(ctx, 1); err != nil {
				t.Fatal(err)
			}
			clk.Advance(pollstream.DefaultIdleOrderPeriod) // fires the poll, busy or idle
		}
	}
	changed := make(chan struct{}, 1)
	defer tr.Subscribe(func(order.Update) {
		select {
		case changed <- struct{}{}:
		default:
		}
	})()
	deadline := time.NewTimer(10 * time.Second) // a failure bound only
	defer deadline.Stop()
	for {
		same := true
		for _, id := range ids {
			o, _ := tr.Get(ctx, id)
			b, _ := p.GetOrder(ctx, o.BrokerOrderID)
			if o.Status != b.Status || !o.FilledQuantity.Equal(b.FilledQuantity) || len(o.Fills) != len(b.Fills) ||
				!o.AvgFillPrice.Equal(b.AvgFillPrice) {
				same = false
			}
		}
		if same {
			return
		}
		select {
		case <-changed:
		case <-deadline.C:
			for _, id := range ids {
				o, _ := tr.Get(ctx, id)
				b, _ := p.GetOrder(ctx, o.BrokerOrderID)
				t.Logf("tracker %s %s %s %d; broker %s %s %s %d", o.Status, o.FilledQuantity, o.AvgFillPrice, len(o.Fills), b.Status, b.FilledQuantity, b.AvgFillPrice, len(b.Fills))
			}
			t.Fatal("the tracker never matched the broker")
		}
	}
}
