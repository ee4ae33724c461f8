package order_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/clock/clocktest"
	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/order"
	"github.com/arbiontrader/arbion/paper"
	"github.com/arbiontrader/arbion/store/sqlstore/sqlite"
	"github.com/google/go-cmp/cmp"
)

// restIDs stands for Schwab's REST: the fills it lists carry ids of its own
// ("<activityId>-<legId>"), not the stream's execution ids.
type restIDs struct{ broker.Broker }

func (r restIDs) relabel(o broker.Order) broker.Order {
	for i := range o.Fills {
		o.Fills[i].ExecID = "leg-" + o.Fills[i].ExecID
	}
	return o
}

func (r restIDs) GetOrder(ctx context.Context, id string) (broker.Order, error) {
	o, err := r.Broker.GetOrder(ctx, id)
	return r.relabel(o), err
}

func (r restIDs) OpenOrders(ctx context.Context) ([]broker.Order, error) {
	os, err := r.Broker.OpenOrders(ctx)
	for i := range os {
		os[i] = r.relabel(os[i])
	}
	return os, err
}

// joinRig is a paper broker, its order stream, a store and a tracker that
// can be restarted on the same store.
type joinRig struct {
	t       *testing.T
	paper   *paper.Broker
	broker  broker.Broker
	store   order.Store
	stream  broker.OrderStream
	clock   *clocktest.Fake
	tracker *order.Tracker
	pending []broker.OrderEvent // stream events received, not yet applied
}

func newJoinRig(t *testing.T, storeKind string, wrap func(broker.Broker) broker.Broker) *joinRig {
	t.Helper()
	r := &joinRig{t: t, clock: newClock()}
	p, err := paper.New(paper.Config{Clock: r.clock})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.SetPrice("AAPL", dec("100")); err != nil {
		t.Fatal(err)
	}
	r.paper, r.broker = p, wrap(p)
	switch storeKind {
	case "memory":
		r.store = order.NewMemoryStore()
	case "sqlite":
		db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "orders.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		r.store = db.Orders()
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() {
		cancel()
		for range r.stream.Events() {
		}
	})
	if r.stream, err = p.StreamOrders(ctx); err != nil {
		t.Fatal(err)
	}
	r.restart()
	return r
}

// restart replaces the tracker by a new one on the same store.
func (r *joinRig) restart() {
	var err error
	r.tracker, err = order.NewTracker(order.Config{Broker: r.broker, Store: r.store, Clock: r.clock, Account: "a"})
	if err != nil {
		r.t.Fatal(err)
	}
}

// receive reads stream events until n fills arrived, keeping them pending.
func (r *joinRig) receive(n int) {
	for n > 0 {
		ev := <-r.stream.Events()
		r.pending = append(r.pending, ev)
		if ev.Kind == broker.OrderEventFill {
			n--
		}
	}
}

func (r *joinRig) applyStream() {
	for _, ev := range r.pending {
		if _, err := r.tracker.ApplyStreamEvent(r.t.Context(), ev); err != nil {
			r.t.Fatalf("ApplyStreamEvent(%s): %v", ev.Kind, err)
		}
	}
	r.pending = nil
}

func (r *joinRig) reconcile() {
	if _, err := r.tracker.Reconcile(r.t.Context()); err != nil {
		r.t.Fatalf("Reconcile: %v", err)
	}
}

// fillSums is what must end equal to the broker's.
type fillSums struct {
	Filled, Notional, Avg, Fees string
	Fills                       int
	Provisional                 string
}

func sumsOf(o order.Order) fillSums {
	return fillSums{o.FilledQuantity.String(), o.Notional.String(), o.AvgFillPrice.String(),
		o.Fees.String(), len(o.Fills), o.ProvisionalQuantity().String()}
}

// TestStreamAndRESTFillsCountOnce applies the same two executions seen by
// the stream (execution ids) and by REST (other ids), in every order of
// arrival, with and without a tracker restart between steps, on both
// stores: each counts once.
func TestStreamAndRESTFillsCountOnce(t *testing.T) {
	type step func(r *joinRig, localID, brokerID string)
	exec := func(qty, px string) step {
		return func(r *joinRig, _, id string) {
			if err := r.paper.Execute(r.t.Context(), id, dec(qty), dec(px)); err != nil {
				r.t.Fatal(err)
			}
			r.receive(1)
		}
	}
	stream := func(r *joinRig, _, _ string) { r.applyStream() }
	rest := func(r *joinRig, _, _ string) { r.reconcile() }
	lookup := func(r *joinRig, _, id string) { // REST after the order left the open list
		snap, err := r.broker.GetOrder(r.t.Context(), id)
		if err != nil {
			r.t.Fatal(err)
		}
		if _, err := r.tracker.Apply(r.t.Context(), order.Event{Kind: order.EventStatusReport, Snapshot: snap}); err != nil {
			r.t.Fatal(err)
		}
	}
	cases := []struct {
		name  string
		steps []step
	}{
		{"stream first", []step{exec("5", "99"), exec("5", "99"), stream, lookup}},
		{"REST first", []step{exec("5", "99"), exec("5", "99"), lookup, stream}},
		{"interleaved", []step{exec("5", "99"), rest, stream, exec("5", "99"), stream, lookup}},
		{"interleaved, REST between", []step{exec("4", "99"), stream, rest, exec("6", "98.5"), lookup, stream}},
		{"both, twice", []step{exec("4", "99"), exec("6", "98.5"), stream, lookup, stream, lookup}},
	}
	for _, storeKind := range []string{"memory", "sqlite"} {
		for _, tc := range cases {
			for _, restart := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s/%s/restart=%v", storeKind, tc.name, restart), func(t *testing.T) {
					r := newJoinRig(t, storeKind, func(b broker.Broker) broker.Broker { return restIDs{b} })
					o, err := r.tracker.Submit(t.Context(), limitBuy("10", "99"))
					if err != nil {
						t.Fatal(err)
					}
					for _, s := range tc.steps {
						if restart {
							r.restart()
						}
						s(r, o.LocalID, o.BrokerOrderID)
					}
					got, err := r.tracker.Get(t.Context(), o.LocalID)
					if err != nil {
						t.Fatal(err)
					}
					want, _ := r.paper.GetOrder(t.Context(), o.BrokerOrderID)
					wantSums := fillSums{want.FilledQuantity.String(), got.Notional.String(), want.AvgFillPrice.String(),
						want.Fees.String(), 2, "0"}
					if diff := cmp.Diff(wantSums, sumsOf(got)); diff != "" {
						t.Errorf("record vs broker (-want +got):\n%s", diff)
					}
					wantStatus(t, got, broker.StatusFilled)
				})
			}
		}
	}
}

// TestProvisionalFillsAreReplacedByConfirmedOnes follows Coinbase's user
// channel: provisional snapshots (cumulative totals, no fills) count at
// once, and the confirmed fills (by REST, or a later snapshot listing
// them) replace them, whatever the order of arrival.
func TestProvisionalFillsAreReplacedByConfirmedOnes(t *testing.T) {
	type step func(r *joinRig, brokerID string)
	exec := func(qty, px string) step {
		return func(r *joinRig, id string) {
			if err := r.paper.Execute(r.t.Context(), id, dec(qty), dec(px)); err != nil {
				r.t.Fatal(err)
			}
			r.receive(1)
			r.pending = nil // Coinbase's stream sends no fill: only snapshots
		}
	}
	provisional := func(r *joinRig, id string) {
		snap, _ := r.paper.GetOrder(r.t.Context(), id)
		snap.Fills = nil
		if _, err := r.tracker.ApplyStreamEvent(r.t.Context(), broker.OrderEvent{Kind: broker.OrderEventSnapshot,
			OrderID: id, Provisional: true, Snapshot: snap}); err != nil {
			r.t.Fatal(err)
		}
	}
	confirmed := func(r *joinRig, id string) {
		snap, _ := r.paper.GetOrder(r.t.Context(), id)
		if _, err := r.tracker.ApplyStreamEvent(r.t.Context(), broker.OrderEvent{Kind: broker.OrderEventSnapshot,
			OrderID: id, Snapshot: snap}); err != nil {
			r.t.Fatal(err)
		}
	}
	rest := func(r *joinRig, id string) {
		snap, _ := r.paper.GetOrder(r.t.Context(), id)
		if _, err := r.tracker.Apply(r.t.Context(), order.Event{Kind: order.EventStatusReport, Snapshot: snap}); err != nil {
			r.t.Fatal(err)
		}
	}
	cases := []struct {
		name  string
		steps []step
	}{
		{"stream first", []step{exec("4", "99"), provisional, exec("6", "98.5"), provisional, confirmed}},
		{"REST first", []step{exec("4", "99"), rest, provisional, exec("6", "98.5"), rest, provisional, confirmed}},
		{"both", []step{exec("4", "99"), provisional, rest, exec("6", "98.5"), provisional, rest, confirmed, provisional}},
	}
	for _, storeKind := range []string{"memory", "sqlite"} {
		for _, tc := range cases {
			for _, restart := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s/%s/restart=%v", storeKind, tc.name, restart), func(t *testing.T) {
					r := newJoinRig(t, storeKind, func(b broker.Broker) broker.Broker { return b })
					o, err := r.tracker.Submit(t.Context(), limitBuy("10", "99"))
					if err != nil {
						t.Fatal(err)
					}
					var superseded, maxFilled int
					for _, s := range tc.steps {
						if restart {
							r.restart()
						}
						cancel := r.tracker.Subscribe(func(u order.Update) {
							superseded += len(u.Superseded)
							if n := int(u.Order.FilledQuantity.IntPart()); n > maxFilled {
								maxFilled = n
							}
						})
						s(r, o.BrokerOrderID)
						cancel()
					}
					got, _ := r.tracker.Get(t.Context(), o.LocalID)
					want, _ := r.paper.GetOrder(t.Context(), o.BrokerOrderID)
					var ids, wantIDs []string
					for _, f := range got.Fills {
						ids = append(ids, f.ExecID)
					}
					for _, f := range want.Fills {
						wantIDs = append(wantIDs, f.ExecID)
					}
					if diff := cmp.Diff(wantIDs, ids); diff != "" {
						t.Errorf("fills (-want +got):\n%s", diff)
					}
					wantSums := fillSums{"10", "987", want.AvgFillPrice.String(), want.Fees.String(), 2, "0"}
					if diff := cmp.Diff(wantSums, sumsOf(got)); diff != "" {
						t.Errorf("record vs broker (-want +got):\n%s", diff)
					}
					if maxFilled > 10 {
						t.Errorf("a subscriber saw %d filled: counted twice", maxFilled)
					}
					if tc.name != "REST first" && superseded == 0 {
						t.Error("no update reported the provisional fills replaced")
					}
				})
			}
		}
	}
}

func TestApplyStreamEventIgnoresOrdersNotTracked(t *testing.T) {
	e := newEnv(t, paper.Config{})
	_, err := e.tracker.ApplyStreamEvent(t.Context(), broker.OrderEvent{Kind: broker.OrderEventFill, OrderID: "nope",
		Fill: broker.Fill{ExecID: "X", Quantity: dec("1"), Price: dec("1")}})
	wantKind(t, err, errors.ErrOrderNotFound)
	if st := e.tracker.StreamStats(); st.Ignored != 1 || st.Events != 1 {
		t.Errorf("stats = %+v, want 1 event ignored", st)
	}
	if open, _ := e.tracker.Open(t.Context()); len(open) != 0 {
		t.Errorf("an order was invented: %+v", open)
	}
}

func TestApplyStreamEventTranslatesEachKind(t *testing.T) {
	cases := []struct {
		kind broker.OrderEventKind
		want broker.Status
	}{
		{broker.OrderEventAccepted, broker.StatusNew},
		{broker.OrderEventCancelRequested, broker.StatusPendingCancel},
		{broker.OrderEventCanceled, broker.StatusCanceled},
		{broker.OrderEventRejected, broker.StatusRejected},
		{broker.OrderEventExpired, broker.StatusExpired},
	}
	for _, tc := range cases {
		t.Run(tc.kind.String(), func(t *testing.T) {
			e := newEnv(t, paper.Config{})
			o := e.submit(t, limitBuy("10", "90"))
			got, err := e.tracker.ApplyStreamEvent(t.Context(), broker.OrderEvent{Kind: tc.kind, OrderID: o.BrokerOrderID, Reason: "r"})
			if err != nil {
				t.Fatal(err)
			}
			wantStatus(t, got, tc.want)
		})
	}
}
