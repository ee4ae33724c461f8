package stoploss_test

import (
	"context"
	"sync"
	"testing"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/order"
	"github.com/arbiontrader/arbion/stoploss"
	"github.com/google/go-cmp/cmp"
)

// TestRestartKeepsEveryStop: a new supervisor (and a new tracker) on the
// same stores finds every position and its stop; it neither duplicates nor
// drops one, and still restores one lost while it was down.
func TestRestartKeepsEveryStop(t *testing.T) {
	e := newEnv(t, envOptions{})
	for _, sym := range []string{"AAPL", "MSFT", "SPY"} {
		e.price(sym, "100")
		e.enter(sym, broker.Buy, "10", order.Request{})
	}
	e.enter("AAPL", broker.Buy, "5", order.Request{}) // grown: resized to 15
	e.sweep()
	before := stopIDs(e)
	e.sup.Close()

	// While nothing runs, SPY's stop is cancelled at the broker.
	spy := e.oneStop("SPY")
	if err := e.paper.CancelOrder(e.ctx, spy.OrderID); err != nil {
		t.Fatal(err)
	}

	e.tracker = e.newTracker()
	cfg := e.cfg
	cfg.Orders = e.tracker
	restarted := e.newSupervisor(cfg)
	e.broker.Reset()
	rep, err := restarted.Sweep(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	wantCount(t, rep, stoploss.EventStopRestored, 1)
	wantCount(t, rep, stoploss.EventStopPlaced, 0)
	if calls := e.broker.Calls(); calls["PlaceOrder"] != 1 || calls["ReplaceOrder"] != 0 {
		t.Errorf("broker calls = %v, want exactly one placement (SPY's stop)", calls)
	}
	after := stopIDs(e)
	delete(before, "SPY")
	delete(after, "SPY")
	if diff := cmp.Diff(before, after); diff != "" {
		t.Errorf("stops changed across the restart (-before +after):\n%s", diff)
	}
	for sym, qty := range map[string]string{"AAPL": "15", "MSFT": "10", "SPY": "10"} {
		stops := stopsOf(e.openOrders(sym))
		if len(stops) != 1 {
			t.Fatalf("%s: %d stops, want 1", sym, len(stops))
		}
		wantDec(t, sym+" stop quantity", stops[0].Quantity, qty)
	}
	hb := restarted.Heartbeat()
	if hb.Protected != 3 || hb.Unprotected != 0 {
		t.Errorf("heartbeat = %+v, want 3 protected", hb)
	}
}

func stopIDs(e *env) map[string]string {
	out := make(map[string]string)
	open, err := e.paper.OpenOrders(e.ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, o := range open {
		out[o.Instrument.Symbol] = o.OrderID
	}
	return out
}

// TestTwoSupervisorsSharedLock: while one supervisor sweeps, the other
// skips; whatever the interleaving, each breached position is closed once.
func TestTwoSupervisorsSharedLock(t *testing.T) {
	e := newEnv(t, envOptions{caps: synthetic})
	for _, sym := range []string{"AAPL", "MSFT", "SPY"} {
		e.price(sym, "100")
		e.enter(sym, broker.Buy, "10", order.Request{})
	}
	// Replica B: its own tracker on the shared order store, the same
	// protection store and lock.
	cfgB := e.cfg
	trackerB := e.newTracker()
	cfgB.Orders = trackerB
	b := e.newSupervisor(cfgB)

	// A sweeps and is held inside its quote call; B sweeps meanwhile.
	e.broker.mu.Lock()
	hold, entered := make(chan struct{}), make(chan struct{}, 1)
	e.broker.holdQuotes, e.broker.quotesEntered = hold, entered
	e.broker.mu.Unlock()
	var wg sync.WaitGroup
	var repA stoploss.Report
	wg.Go(func() { repA, _ = e.sup.Sweep(context.Background()) })
	<-entered
	repB, err := b.Sweep(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	close(hold)
	wg.Wait()
	if repA.Skipped || !repB.Skipped {
		t.Fatalf("skipped: A %v, B %v; want only B", repA.Skipped, repB.Skipped)
	}
	if repB.Checked != 0 || len(repB.Events) != 0 {
		t.Errorf("B acted while skipped: %+v", repB)
	}

	// A breach: both replicas sweep, concurrently and repeatedly.
	for _, sym := range []string{"AAPL", "MSFT", "SPY"} {
		e.price(sym, "90")
	}
	for range 5 {
		var wg sync.WaitGroup
		for _, s := range []*stoploss.Supervisor{e.sup, b} {
			wg.Go(func() {
				if _, err := s.Sweep(e.ctx); err != nil {
					t.Error(err)
				}
				if _, err := s.HandleUpdates(e.ctx); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
	}
	for _, sym := range []string{"AAPL", "MSFT", "SPY"} {
		if got := e.broker.closingMarketOrders(sym, true); len(got) != 1 {
			t.Errorf("%s: closing orders at the broker = %v, want exactly 1", sym, got)
		}
		if q := e.position(sym); !q.IsZero() {
			t.Errorf("%s: position = %s, want 0 (never flipped)", sym, q)
		}
	}
}

// TestNoDoubleCloseWithoutLock: even when two replicas act at once (their
// locks are not shared), the deterministic close id lets only one close
// reach the broker.
func TestNoDoubleCloseWithoutLock(t *testing.T) {
	e := newEnv(t, envOptions{caps: synthetic})
	e.price("AAPL", "100")
	e.enter("AAPL", broker.Buy, "10", order.Request{})
	cfgB := e.cfg
	cfgB.Orders = e.newTracker()
	cfgB.Lock = stoploss.NewMemoryLock()
	b := e.newSupervisor(cfgB)
	e.price("AAPL", "90")
	for range 3 {
		for _, s := range []*stoploss.Supervisor{e.sup, b} {
			if _, err := s.Sweep(e.ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	if got := e.broker.closingMarketOrders("AAPL", true); len(got) != 1 {
		t.Errorf("closing orders at the broker = %v, want exactly 1", got)
	}
	if q := e.position("AAPL"); !q.IsZero() {
		t.Errorf("position = %s, want 0", q)
	}
}
