package order_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/order"
	"github.com/arbiontrader/arbion/paper"
)

// TestConcurrentSubmitsAppliesAndReconciles runs submits, fills applied
// from a "stream", broker-side executions, cancels and reconciles at once,
// then checks every record against the broker: no fill lost or counted
// twice, no order sent twice.
func TestConcurrentSubmitsAppliesAndReconciles(t *testing.T) {
	t.Run("memory store", func(t *testing.T) { concurrentSubmitsAppliesAndReconciles(t) })
	t.Run("through the Store interface only", func(t *testing.T) {
		concurrentSubmitsAppliesAndReconciles(t, func(cfg *order.Config) { cfg.Store = plainStore{cfg.Store} })
	})
}

func concurrentSubmitsAppliesAndReconciles(t *testing.T, opts ...func(*order.Config)) {
	e := newEnv(t, paper.Config{}, opts...)
	ctx := t.Context()
	const submitters, perSubmitter = 4, 15
	ids := make(chan order.Order, submitters*perSubmitter)
	var wg sync.WaitGroup
	var errMu sync.Mutex
	var errs []error
	fail := func(err error) {
		errMu.Lock()
		defer errMu.Unlock()
		errs = append(errs, err)
	}
	for s := range submitters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perSubmitter {
				o, err := e.tracker.Submit(ctx, limitBuy("10", fmt.Sprintf("9%d.%d", s, i)))
				if err != nil {
					fail(err)
					continue
				}
				ids <- o
			}
		}()
	}
	// Reconcilers run throughout.
	stop := make(chan struct{})
	var bg sync.WaitGroup
	for range 2 {
		bg.Add(1)
		go func() {
			defer bg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := e.tracker.Reconcile(ctx); err != nil {
					fail(err)
				}
			}
		}()
	}
	go func() { wg.Wait(); close(ids) }()
	var placed []order.Order
	var apply sync.WaitGroup
	for o := range ids {
		placed = append(placed, o)
		apply.Add(1)
		go func() {
			defer apply.Done()
			// The broker executes twice; a stream reports both executions,
			// the first one twice.
			for _, x := range [][2]string{{"3", "90"}, {"2", "91"}} {
				if err := e.paper.Execute(ctx, o.BrokerOrderID, dec(x[0]), dec(x[1])); err != nil {
					fail(err)
					return
				}
			}
			snap, err := e.paper.GetOrder(ctx, o.BrokerOrderID)
			if err != nil {
				fail(err)
				return
			}
			for _, f := range append(snap.Fills, snap.Fills[0]) {
				if _, err := e.tracker.Apply(ctx, order.Event{Kind: order.EventFill, BrokerOrderID: o.BrokerOrderID, Fill: f}); err != nil {
					fail(err)
				}
			}
			if len(o.ClientOrderID)%2 == 0 {
				if _, err := e.tracker.Cancel(ctx, o.LocalID); err != nil && !errors.Is(err, errors.ErrOrderNotCancelable) {
					fail(err)
				}
			}
		}()
	}
	apply.Wait()
	close(stop)
	bg.Wait()
	for _, err := range errs {
		t.Error(err)
	}
	e.reconcile(t)
	if len(placed) != submitters*perSubmitter || e.broker.place.Load() != int64(len(placed)) {
		t.Fatalf("%d orders placed with %d PlaceOrder calls, want %d", len(placed), e.broker.place.Load(), submitters*perSubmitter)
	}
	for _, o := range placed {
		got := e.get(t, o.LocalID)
		snap, err := e.paper.GetOrder(ctx, o.BrokerOrderID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != snap.Status || !got.FilledQuantity.Equal(dec("5")) || len(got.Fills) != 2 ||
			!got.AvgFillPrice.Equal(dec("90.4")) || got.NeedsAttention {
			t.Errorf("%s: %s %s@%s with %d fills (attention %v); broker %s", o.LocalID, got.Status,
				got.FilledQuantity, got.AvgFillPrice, len(got.Fills), got.NeedsAttention, snap.Status)
		}
	}
}

// TestSubscribersSeeEachOrdersUpdatesInOrder applies fills to a few orders
// from many goroutines; each order's updates reach the subscriber with
// strictly increasing versions and growing filled quantities, never
// concurrently.
func TestSubscribersSeeEachOrdersUpdatesInOrder(t *testing.T) {
	e := newEnv(t, paper.Config{})
	ctx := t.Context()
	var orders []order.Order
	for range 3 {
		orders = append(orders, e.submit(t, limitBuy("100", "90")))
	}
	var mu sync.Mutex
	inside := 0
	last := make(map[string]int64)
	var problems []string
	fills := 0
	cancel := e.tracker.Subscribe(func(u order.Update) {
		mu.Lock()
		inside++
		if inside > 1 {
			problems = append(problems, "delivered concurrently")
		}
		if v := last[u.Order.LocalID]; u.Order.Version <= v {
			problems = append(problems, fmt.Sprintf("%s: version %d after %d", u.Order.LocalID, u.Order.Version, v))
		}
		last[u.Order.LocalID] = u.Order.Version
		if u.Fill != nil {
			fills++
		}
		mu.Unlock()
		mu.Lock()
		inside--
		mu.Unlock()
	})
	defer cancel()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 25 {
				o := orders[(g+i)%len(orders)]
				_, err := e.tracker.Apply(ctx, order.Event{Kind: order.EventFill, LocalID: o.LocalID,
					Fill: broker.Fill{ExecID: fmt.Sprintf("g%d-%d", g, i), Quantity: dec("1"), Price: dec("90")}})
				if err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	for _, p := range problems {
		t.Error(p)
	}
	if fills != 8*25 {
		t.Errorf("subscriber saw %d fills, want %d", fills, 8*25)
	}
}

// TestSubscriberMayCallTheTracker: a subscriber that places a protective
// stop on each fill (as the stop-loss supervisor does) neither deadlocks nor
// loses the updates its own call causes.
func TestSubscriberMayCallTheTracker(t *testing.T) {
	e := newEnv(t, paper.Config{})
	rec := &recorder{}
	defer e.tracker.Subscribe(rec.record)()
	var stops []order.Order
	defer e.tracker.Subscribe(func(u order.Update) {
		if u.Fill == nil || u.Order.Protective {
			return
		}
		stop, err := e.tracker.Submit(t.Context(), order.Request{OrderRequest: broker.OrderRequest{
			Instrument: u.Order.Instrument, Side: broker.Sell, Type: broker.Stop, Quantity: u.Fill.Quantity,
			StopPrice: dec("95"), TimeInForce: broker.GTC}, Protective: true})
		if err != nil {
			t.Error(err)
		}
		stops = append(stops, stop)
	})()
	o := e.submit(t, marketBuy(aapl, "3"))
	wantStatus(t, o, broker.StatusFilled)
	if len(stops) != 1 {
		t.Fatalf("%d protective stops placed, want 1", len(stops))
	}
	if got := rec.lines(stops[0].LocalID); len(got) != 2 {
		t.Errorf("updates of the stop: %v, want creation and acknowledgement", got)
	}
}
