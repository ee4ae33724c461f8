package order_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/order"
	"github.com/arbiontrader/arbion/paper"
	"github.com/google/go-cmp/cmp"
)

// recorder is a subscriber that keeps every update.
type recorder struct {
	mu      sync.Mutex
	updates []order.Update
}

func (r *recorder) record(u order.Update) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.updates = append(r.updates, u)
}

// lines describes the updates of one order as "prev→status [fill qty@px]".
func (r *recorder) lines(localID string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, u := range r.updates {
		if u.Order.LocalID != localID {
			continue
		}
		s := u.PrevStatus.String() + "→" + u.Order.Status.String()
		if u.Fill != nil {
			s += " fill " + u.Fill.Quantity.String() + "@" + u.Fill.Price.String()
		}
		out = append(out, s)
	}
	return out
}

func TestLifecycleEndToEnd(t *testing.T) {
	e := newEnv(t, paper.Config{CancelLatency: 1})
	rec := &recorder{}
	defer e.tracker.Subscribe(rec.record)()

	o := e.submit(t, limitBuy("10", "99"))
	e.execute(t, o.BrokerOrderID, "4", "98.5")
	e.reconcile(t)
	n, err := e.tracker.Replace(t.Context(), o.LocalID, broker.OrderRequest{Instrument: aapl, Side: broker.Buy,
		Type: broker.Limit, Quantity: dec("6"), LimitPrice: dec("99.5"), TimeInForce: broker.GTC})
	if err != nil {
		t.Fatal(err)
	}
	e.execute(t, n.BrokerOrderID, "2", "99.25")
	if _, err := e.tracker.Cancel(t.Context(), n.LocalID); err != nil {
		t.Fatal(err)
	}
	e.paper.SetPrice("AAPL", dec("100.2")) // confirms the cancel
	e.reconcile(t)

	old, repl := e.get(t, o.LocalID), e.get(t, n.LocalID)
	wantStatus(t, old, broker.StatusReplaced)
	wantStatus(t, repl, broker.StatusCanceled)
	wantDec(t, "old filled", old.FilledQuantity, "4")
	wantDec(t, "replacement filled", repl.FilledQuantity, "2")

	wantOld := []string{
		"unknown→pending_new",
		"pending_new→new",
		"new→partially_filled fill 4@98.5",
		"partially_filled→pending_replace",
		"pending_replace→replaced",
	}
	wantNew := []string{
		"unknown→pending_new",
		"pending_new→new",
		"new→pending_cancel",
		"pending_cancel→pending_cancel fill 2@99.25",
		"pending_cancel→canceled",
	}
	if diff := cmp.Diff(wantOld, rec.lines(o.LocalID)); diff != "" {
		t.Errorf("updates of the old order (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantNew, rec.lines(n.LocalID)); diff != "" {
		t.Errorf("updates of the replacement (-want +got):\n%s", diff)
	}
}

// TestRestartNewTrackerOnTheSameStoreReconcilesToBrokerTruth: a tracker
// stops with orders in every kind of doubt; the broker moves on; a new
// tracker on the same store reconciles and every record matches the broker.
func TestRestartNewTrackerOnTheSameStoreReconcilesToBrokerTruth(t *testing.T) {
	lose := false
	e := newEnv(t, paper.Config{Faults: paper.Faults{Inject: func(op paper.Op) paper.Fault {
		if lose && op == paper.OpPlaceOrder {
			return paper.FaultLoseAnswer
		}
		return paper.NoFault
	}}})
	ctx := t.Context()
	var ids []string
	for i := range 6 {
		o := e.submit(t, limitBuy("10", fmt.Sprintf("9%d", i)))
		ids = append(ids, o.LocalID)
	}
	lose = true
	lost, _ := e.tracker.Submit(ctx, limitBuy("4", "95"))
	ids = append(ids, lost.LocalID)
	lose = false
	// While nobody watches: fills, a full fill, a cancel, a replace.
	rec := func(i int) order.Order { return e.get(t, ids[i]) }
	e.execute(t, rec(0).BrokerOrderID, "3", "90")
	e.execute(t, rec(1).BrokerOrderID, "10", "91")
	if err := e.paper.CancelOrder(ctx, rec(2).BrokerOrderID); err != nil {
		t.Fatal(err)
	}
	e.execute(t, rec(3).BrokerOrderID, "2", "93")
	if err := e.paper.CancelOrder(ctx, rec(3).BrokerOrderID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.paper.ReplaceOrder(ctx, rec(4).BrokerOrderID, broker.OrderRequest{ClientOrderID: "elsewhere1",
		Instrument: aapl, Side: broker.Buy, Type: broker.Limit, Quantity: dec("5"), LimitPrice: dec("94"),
		TimeInForce: broker.GTC}); err != nil {
		t.Fatal(err)
	}
	found, err := e.paper.FindOrder(ctx, broker.FindQuery{Request: lost.Request()})
	if err != nil || len(found.Candidates) != 1 {
		t.Fatalf("paper FindOrder(lost) = %+v, %v; want the one order", found, err)
	}
	e.execute(t, found.Candidates[0].OrderID, "4", "94.5")

	// The process restarts: a new tracker, the same store.
	restarted, err := order.NewTracker(order.Config{Broker: e.broker, Store: e.store, Clock: e.clock, Account: "paper"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := restarted.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		got, err := restarted.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		snap, err := e.paper.GetOrder(ctx, got.BrokerOrderID)
		if err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		if got.Status != snap.Status || !got.FilledQuantity.Equal(snap.FilledQuantity) ||
			!got.AvgFillPrice.Equal(snap.AvgFillPrice) || !got.Fees.Equal(snap.Fees) || got.OutcomeUnknown {
			t.Errorf("%s: record %s %s@%s fees %s unknown=%v; broker %s %s@%s fees %s", id, got.Status,
				got.FilledQuantity, got.AvgFillPrice, got.Fees, got.OutcomeUnknown,
				snap.Status, snap.FilledQuantity, snap.AvgFillPrice, snap.Fees)
		}
	}
	if e.broker.place.Load() != 7 {
		t.Errorf("%d placements, want 7 (nothing resent)", e.broker.place.Load())
	}
}
