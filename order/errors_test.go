package order_test

import (
	"context"
	"testing"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/order"
	"github.com/arbiontrader/arbion/paper"
)

func placeFault(f paper.Fault) paper.Config {
	return paper.Config{Faults: paper.Faults{Inject: func(op paper.Op) paper.Fault {
		if op == paper.OpPlaceOrder {
			return f
		}
		return paper.NoFault
	}}}
}

func TestSubmitFailuresBeforeTheBrokerActedAreRejectedNotUnknown(t *testing.T) {
	tests := []struct {
		name  string
		fault paper.Fault
		kind  errors.Kind
	}{
		{"network error", paper.FaultNetwork, errors.ErrNetwork},
		{"broker down", paper.FaultUnavailable, errors.ErrBrokerUnavailable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, placeFault(tc.fault))
			o, err := e.tracker.Submit(t.Context(), limitBuy("1", "90"))
			wantKind(t, err, tc.kind)
			if errors.Is(err, errors.ErrOutcomeUnknown) {
				t.Error("a failure before sending reported as outcome unknown")
			}
			wantStatus(t, o, broker.StatusRejected)
			if open, _ := e.paper.OpenOrders(t.Context()); len(open) != 0 {
				t.Errorf("the broker holds %d orders", len(open))
			}
		})
	}
}

func TestSubmitWithCanceledContextIsNotSent(t *testing.T) {
	e := newEnv(t, paper.Config{})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := e.tracker.Submit(ctx, limitBuy("1", "90"))
	if err == nil {
		t.Fatal("Submit with a canceled context succeeded")
	}
	if e.broker.place.Load() != 0 {
		t.Error("sent with a canceled context")
	}
}

func TestApplyAndLookupsOfUnknownOrdersAreNotFound(t *testing.T) {
	e := newEnv(t, paper.Config{})
	ctx := t.Context()
	for name, ev := range map[string]order.Event{
		"by local id":    {Kind: order.EventAck, LocalID: "nope"},
		"by broker id":   {Kind: order.EventFill, BrokerOrderID: "nope", Fill: broker.Fill{ExecID: "x", Quantity: dec("1"), Price: dec("1")}},
		"by client id":   {Kind: order.EventExpired, ClientOrderID: "nope"},
		"by snapshot id": {Kind: order.EventStatusReport, Snapshot: broker.Order{OrderID: "nope"}},
		"no id at all":   {Kind: order.EventAck},
	} {
		if _, err := e.tracker.Apply(ctx, ev); !errors.Is(err, errors.ErrOrderNotFound) {
			t.Errorf("%s: error %v, want order not found", name, err)
		}
	}
	if _, err := e.tracker.Get(ctx, "nope"); !errors.Is(err, errors.ErrOrderNotFound) {
		t.Errorf("Get: %v", err)
	}
	if _, err := e.tracker.ByClientOrderID(ctx, "nope"); !errors.Is(err, errors.ErrOrderNotFound) {
		t.Errorf("ByClientOrderID: %v", err)
	}
}

func TestApplyMalformedFillIsRefused(t *testing.T) {
	e := newEnv(t, paper.Config{})
	o := e.submit(t, limitBuy("5", "90"))
	for name, f := range map[string]broker.Fill{
		"no exec id":        {Quantity: dec("1"), Price: dec("90")},
		"zero quantity":     {ExecID: "a", Price: dec("90")},
		"negative quantity": {ExecID: "b", Quantity: dec("-1"), Price: dec("90")},
		"negative price":    {ExecID: "c", Quantity: dec("1"), Price: dec("-90")},
	} {
		_, err := e.tracker.Apply(t.Context(), order.Event{Kind: order.EventFill, LocalID: o.LocalID, Fill: f})
		if !errors.Is(err, errors.ErrInvalidTransition) {
			t.Errorf("%s: error %v, want invalid transition", name, err)
		}
	}
	if got := e.get(t, o.LocalID); got.Version != o.Version {
		t.Error("a malformed fill changed the record")
	}
}

// TestAnswerLostAfterCommitIsResolvedByReconcileWithOneOrderAtTheBroker: the
// broker placed the order and the answer was lost. Submit reports the
// unknown outcome with the ids; the order is never sent again; Reconcile
// finds it, and the broker holds exactly one.
func TestAnswerLostAfterCommitIsResolvedByReconcileWithOneOrderAtTheBroker(t *testing.T) {
	for _, withFinder := range []bool{true, false} {
		name := map[bool]string{true: "by OrderFinder", false: "by the open orders list"}[withFinder]
		t.Run(name, func(t *testing.T) {
			c := &checker{}
			e := newEnv(t, placeFault(paper.FaultLoseAnswer), func(cfg *order.Config) {
				cfg.Checker = c
				if !withFinder {
					cfg.Broker = noFinder{cfg.Broker}
				}
			})
			o, err := e.tracker.Submit(t.Context(), limitBuy("3", "90"))
			wantKind(t, err, errors.ErrOutcomeUnknown)
			var oe *errors.OrderError
			if !errors.As(err, &oe) || oe.LocalID != o.LocalID || oe.ClientOrderID != o.ClientOrderID {
				t.Fatalf("error %v does not carry the order's ids", err)
			}
			if !o.OutcomeUnknown || o.Status != broker.StatusPendingNew || o.FirstUnknownAt.IsZero() {
				t.Fatalf("record %s unknown=%v since %v; want pending new, unknown", o.Status, o.OutcomeUnknown, o.FirstUnknownAt)
			}
			if c.sent.Load() != 1 {
				t.Error("the checker was not told the order counts as sent")
			}
			rep := e.reconcile(t)
			if rep.Resolved != 1 || rep.NeverPlaced != 0 {
				t.Errorf("report %+v, want one resolved", rep)
			}
			got := e.get(t, o.LocalID)
			wantStatus(t, got, broker.StatusNew)
			if got.OutcomeUnknown || got.BrokerOrderID == "" {
				t.Errorf("after reconcile: unknown=%v broker id %q", got.OutcomeUnknown, got.BrokerOrderID)
			}
			open, _ := e.paper.OpenOrders(t.Context())
			if len(open) != 1 || e.broker.place.Load() != 1 {
				t.Errorf("broker holds %d orders after %d placements; want exactly 1 and 1", len(open), e.broker.place.Load())
			}
			e.reconcile(t) // idempotent
			if again := e.get(t, o.LocalID); again.Version != got.Version {
				t.Error("a second reconcile changed the record")
			}
		})
	}
}

// TestUnknownOutcomeIsDeclaredNeverPlacedOnlyAfterLookupsOverTheWindow: the
// request never reached the broker, but the tracker cannot know; it looks
// the order up UnknownOutcomeLookups times over UnknownOutcomeWindow before
// declaring it never placed.
func TestUnknownOutcomeIsDeclaredNeverPlacedOnlyAfterLookupsOverTheWindow(t *testing.T) {
	e := newEnv(t, paper.Config{}, func(cfg *order.Config) {
		cfg.UnknownOutcomeLookups = 3
		cfg.UnknownOutcomeWindow = time.Minute
	})
	e.broker.placeFn = func(context.Context, broker.OrderRequest) (broker.Ack, error) {
		return broker.Ack{}, &errors.BrokerError{Broker: "paper", Op: "place order", Kind: errors.ErrOutcomeUnknown}
	}
	o, err := e.tracker.Submit(t.Context(), limitBuy("3", "90"))
	wantKind(t, err, errors.ErrOutcomeUnknown)
	steps := []struct {
		advance time.Duration
		want    broker.Status
		lookups int
	}{
		{0, broker.StatusPendingNew, 1},
		{50 * time.Second, broker.StatusPendingNew, 2},
		{5 * time.Second, broker.StatusPendingNew, 3}, // 3 lookups, but only 55s
		{10 * time.Second, broker.StatusRejected, 4},  // 4 lookups over 65s
	}
	for i, s := range steps {
		e.clock.Advance(s.advance)
		e.reconcile(t)
		got := e.get(t, o.LocalID)
		if got.Status != s.want || got.UnknownLookups != s.lookups {
			t.Fatalf("step %d: %s after %d lookups; want %s after %d", i, got.Status, got.UnknownLookups, s.want, s.lookups)
		}
	}
	got := e.get(t, o.LocalID)
	if got.RejectReason == "" || e.broker.find.Load() != 4 || e.broker.place.Load() != 1 {
		t.Errorf("reason %q, %d lookups, %d placements", got.RejectReason, e.broker.find.Load(), e.broker.place.Load())
	}
}

func TestUnknownOutcomeWithoutFinderIsFlaggedNeverRejected(t *testing.T) {
	e := newEnv(t, paper.Config{}, func(cfg *order.Config) {
		cfg.Broker = noFinder{cfg.Broker}
		cfg.UnknownOutcomeLookups = 1
		cfg.UnknownOutcomeWindow = time.Second
	})
	e.broker.placeFn = func(context.Context, broker.OrderRequest) (broker.Ack, error) {
		return broker.Ack{}, context.DeadlineExceeded // unclassified: fail closed
	}
	o, err := e.tracker.Submit(t.Context(), limitBuy("3", "90"))
	wantKind(t, err, errors.ErrOutcomeUnknown)
	for range 3 {
		e.clock.Advance(time.Minute)
		e.reconcile(t)
	}
	got := e.get(t, o.LocalID)
	wantStatus(t, got, broker.StatusPendingNew)
	if !got.NeedsAttention || !got.OutcomeUnknown {
		t.Errorf("attention %v unknown %v; want both", got.NeedsAttention, got.OutcomeUnknown)
	}
}

func TestReconcileWhenTheBrokerIsDownChangesNothing(t *testing.T) {
	down := false
	e := newEnv(t, paper.Config{Faults: paper.Faults{Inject: func(op paper.Op) paper.Fault {
		if down {
			return paper.FaultUnavailable
		}
		return paper.NoFault
	}}})
	o := e.submit(t, limitBuy("3", "90"))
	down = true
	_, err := e.tracker.Reconcile(t.Context())
	wantKind(t, err, errors.ErrBrokerUnavailable)
	if got := e.get(t, o.LocalID); got.Version != o.Version {
		t.Error("a failed reconcile changed the record")
	}
}

func TestNewTrackerRefusesBadConfig(t *testing.T) {
	p, _ := paper.New(paper.Config{})
	for name, cfg := range map[string]order.Config{
		"no broker":        {},
		"negative lookups": {Broker: p, UnknownOutcomeLookups: -1},
		"negative window":  {Broker: p, UnknownOutcomeWindow: -time.Second},
	} {
		if _, err := order.NewTracker(cfg); !errors.Is(err, errors.ErrConfiguration) {
			t.Errorf("%s: error %v, want configuration error", name, err)
		}
	}
}

func TestReconcileMakesOneListCallAndReadsOnlyOrdersThatLeftIt(t *testing.T) {
	e := newEnv(t, paper.Config{})
	var ids []string
	for i := range 5 {
		ids = append(ids, e.submit(t, limitBuy("1", "9"+string(rune('0'+i)))).LocalID)
	}
	e.execute(t, e.get(t, ids[1]).BrokerOrderID, "1", "91") // filled: leaves the open list
	if err := e.paper.CancelOrder(t.Context(), e.get(t, ids[3]).BrokerOrderID); err != nil {
		t.Fatal(err)
	}
	open0, get0, find0 := e.broker.open.Load(), e.broker.get.Load(), e.broker.find.Load()
	rep := e.reconcile(t)
	if got := e.broker.open.Load() - open0; got != 1 {
		t.Errorf("%d OpenOrders calls, want 1", got)
	}
	if got := e.broker.get.Load() - get0; got != 2 {
		t.Errorf("%d GetOrder calls, want 2 (the filled and the canceled order)", got)
	}
	if got := e.broker.find.Load() - find0; got != 0 {
		t.Errorf("%d FindOrder calls, want 0", got)
	}
	if rep.Checked != 5 || rep.Updated != 2 {
		t.Errorf("report %+v, want 5 checked, 2 updated", rep)
	}
	wantStatus(t, e.get(t, ids[1]), broker.StatusFilled)
	wantStatus(t, e.get(t, ids[3]), broker.StatusCanceled)
}

func TestReconcileFlagsAnOrderTheBrokerDoesNotKnow(t *testing.T) {
	e := newEnv(t, paper.Config{})
	rec, err := e.store.Create(t.Context(), order.Order{LocalID: "ghost", ClientOrderID: "ghost1",
		Account: "paper", BrokerOrderID: "NOSUCH", Instrument: aapl, Side: broker.Buy, Type: broker.Market,
		Quantity: dec("1"), TimeInForce: broker.Day, Status: broker.StatusNew})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := e.tracker.Reconcile(t.Context())
	wantKind(t, err, errors.ErrOrderNotFound)
	if rep.Failed != 1 {
		t.Errorf("report %+v, want one failed", rep)
	}
	got := e.get(t, rec.LocalID)
	if !got.NeedsAttention || got.Status != broker.StatusNew {
		t.Errorf("status %s attention %v; want new, flagged", got.Status, got.NeedsAttention)
	}
}

// TestAnswerArrivingAfterAnotherReplicaDeclaredNeverPlacedIsFlagged: a
// placement answer slower than the unknown-outcome window, while a second
// replica sharing the store reconciled, declared the order never placed.
// The late acknowledgement records the broker id and flags the order.
func TestAnswerArrivingAfterAnotherReplicaDeclaredNeverPlacedIsFlagged(t *testing.T) {
	e := newEnv(t, paper.Config{}, func(cfg *order.Config) {
		cfg.UnknownOutcomeLookups = 2
		cfg.UnknownOutcomeWindow = time.Minute
	})
	replica, err := order.NewTracker(order.Config{Broker: e.broker, Store: e.store, Clock: e.clock, Account: "paper",
		UnknownOutcomeLookups: 2, UnknownOutcomeWindow: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	e.broker.placeFn = func(ctx context.Context, req broker.OrderRequest) (broker.Ack, error) {
		for range 3 {
			if _, err := replica.Reconcile(ctx); err != nil {
				t.Error(err)
			}
			e.clock.Advance(time.Minute)
		}
		return e.paper.PlaceOrder(ctx, req)
	}
	o, err := e.tracker.Submit(t.Context(), limitBuy("1", "90"))
	if err != nil {
		t.Fatal(err)
	}
	if o.Status != broker.StatusRejected || !o.NeedsAttention || o.BrokerOrderID == "" {
		t.Errorf("status %s, attention %v, broker id %q; want rejected, flagged, with the broker id",
			o.Status, o.NeedsAttention, o.BrokerOrderID)
	}
}
