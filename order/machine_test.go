package order_test

import (
	"strings"
	"testing"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/order"
	"github.com/arbiontrader/arbion/paper"
	"github.com/google/go-cmp/cmp"
)

// expectedTable is docs/ORDER_STATES.md's transition table as the tracker
// implements it. Each cell is what applying the event to an order in that
// status does:
//
//	"<status>"             moved to that status
//	"<status> +fill"       the fill was applied; the order is (or stays) in status
//	"+attention"           the order was flagged NeedsAttention
//	"no-op"                nothing changed (the version did not move)
//	"ERR <kind>"           refused with an error of that kind
//
// The order under test has quantity 10 and, in partially filled, 4 filled;
// filled has 10; pending cancel and pending replace were requested from new.
var expectedTable = map[broker.Status][]string{
	// ack, reject, fill, cancel requested, cancel confirmed, cancel refused,
	// replace requested, replace confirmed, replace refused, expired
	broker.StatusPendingNew: {"new", "rejected", "partially_filled +fill",
		"pending_cancel", "canceled", "no-op",
		"ERR invalid order transition", "ERR invalid order transition", "no-op", "expired"},
	broker.StatusNew: {"no-op", "rejected", "partially_filled +fill",
		"pending_cancel", "canceled", "no-op",
		"pending_replace", "no-op", "no-op", "expired"},
	broker.StatusPartiallyFilled: {"no-op", "ERR invalid order transition", "partially_filled +fill",
		"pending_cancel", "canceled", "no-op",
		"pending_replace", "no-op", "no-op", "expired"},
	broker.StatusPendingCancel: {"no-op", "ERR invalid order transition", "pending_cancel +fill",
		"no-op", "canceled", "new",
		"ERR invalid order transition", "no-op", "no-op", "expired"},
	broker.StatusPendingReplace: {"no-op", "ERR invalid order transition", "pending_replace +fill",
		"pending_cancel", "canceled", "no-op",
		"no-op", "replaced", "new", "expired"},
	broker.StatusFilled: {"no-op", "ERR invalid order transition", "ERR overfill +attention",
		"ERR order not cancelable", "no-op", "no-op",
		"ERR order not cancelable", "no-op", "no-op", "no-op"},
	broker.StatusCanceled: {"no-op", "ERR invalid order transition", "canceled +fill",
		"ERR order not cancelable", "no-op", "no-op",
		"ERR order not cancelable", "no-op", "no-op", "no-op"},
	broker.StatusExpired: {"no-op", "ERR invalid order transition", "expired +fill",
		"ERR order not cancelable", "no-op", "no-op",
		"ERR order not cancelable", "no-op", "no-op", "no-op"},
	broker.StatusReplaced: {"no-op", "ERR invalid order transition", "replaced +fill",
		"ERR order not cancelable", "no-op", "no-op",
		"ERR order not cancelable", "no-op", "no-op", "no-op"},
	broker.StatusRejected: {"no-op", "no-op", "rejected +fill +attention",
		"ERR order not cancelable", "no-op", "no-op",
		"ERR order not cancelable", "no-op", "no-op", "no-op"},
}

// recordIn returns a stored-to-be record in status s.
func recordIn(s broker.Status, n int) order.Order {
	o := order.Order{
		LocalID: "L" + s.String(), ClientOrderID: "C" + strings.ReplaceAll(s.String(), "_", "") + string(rune('a'+n)),
		BrokerOrderID: "B" + s.String(), Instrument: aapl, Side: broker.Buy, Type: broker.Limit,
		Quantity: dec("10"), LimitPrice: dec("99"), TimeInForce: broker.GTC, Status: s,
	}
	o.LocalID += string(rune('a' + n))
	o.BrokerOrderID += string(rune('a' + n))
	fill := func(qty string) {
		o.Fills = []broker.Fill{{ExecID: "X0", Quantity: dec(qty), Price: dec("99")}}
		o.FilledQuantity = dec(qty)
		o.Notional = dec(qty).Mul(dec("99"))
		o.AvgFillPrice = dec("99")
	}
	switch s {
	case broker.StatusPendingNew:
		o.BrokerOrderID = ""
	case broker.StatusPartiallyFilled:
		fill("4")
	case broker.StatusFilled:
		fill("10")
	case broker.StatusPendingCancel, broker.StatusPendingReplace:
		o.PendingFrom = broker.StatusNew
	}
	return o
}

func eventFor(k order.EventKind) order.Event {
	ev := order.Event{Kind: k}
	switch k {
	case order.EventAck:
		ev.BrokerOrderID = "ACKED"
	case order.EventReject:
		ev.Reason = "no"
	case order.EventFill:
		ev.Fill = broker.Fill{ExecID: "X1", Quantity: dec("1"), Price: dec("100")}
	case order.EventReplaceConfirmed:
		ev.NewBrokerOrderID = "NEWID"
	}
	return ev
}

// outcome describes what applying an event did, in expectedTable's words.
func outcome(before, after order.Order, err error) string {
	var parts []string
	switch {
	case err != nil:
		parts = append(parts, "ERR "+string(errors.KindOf(err)))
	case after.Version == before.Version:
		return "no-op"
	default:
		parts = append(parts, after.Status.String())
		if len(after.Fills) > len(before.Fills) {
			parts = append(parts, "+fill")
		}
	}
	if after.NeedsAttention && !before.NeedsAttention {
		parts = append(parts, "+attention")
	}
	return strings.Join(parts, " ")
}

// TestTransitionTableEveryStateAndEvent applies every event of the table to
// an order in every status (the pairs are generated from the status and
// event lists, not sampled) and compares with expectedTable. A refused
// event must leave the record unchanged, except for the attention flag of
// an overfill.
func TestTransitionTableEveryStateAndEvent(t *testing.T) {
	e := newEnv(t, paper.Config{})
	ctx := t.Context()
	got := make(map[broker.Status][]string)
	if len(order.Statuses()) != len(expectedTable) {
		t.Fatalf("the table has %d rows, the status list %d", len(expectedTable), len(order.Statuses()))
	}
	for _, s := range order.Statuses() {
		for i, k := range order.EventKinds() {
			before, err := e.store.Create(ctx, recordIn(s, i))
			if err != nil {
				t.Fatal(err)
			}
			ev := eventFor(k)
			ev.LocalID = before.LocalID
			_, aerr := e.tracker.Apply(ctx, ev)
			after := e.get(t, before.LocalID)
			got[s] = append(got[s], outcome(before, after, aerr))
			if aerr != nil && !errors.Is(aerr, errors.ErrOverfill) {
				if diff := cmp.Diff(before, after, cmpOrder); diff != "" {
					t.Errorf("%s + %s refused but changed the order (-before +after):\n%s", s, k, diff)
				}
				var oe *errors.OrderError
				if !errors.As(aerr, &oe) || oe.LocalID != before.LocalID {
					t.Errorf("%s + %s: error %v is not an *errors.OrderError naming the order", s, k, aerr)
				}
			}
		}
	}
	if diff := cmp.Diff(expectedTable, got); diff != "" {
		t.Errorf("transition table (-want +got):\n%s", diff)
	}
}

// TestTransitionTableDuplicateEventChangesNothing applies every event twice
// in every status: the second application never changes the record.
func TestTransitionTableDuplicateEventChangesNothing(t *testing.T) {
	e := newEnv(t, paper.Config{})
	ctx := t.Context()
	for _, s := range order.Statuses() {
		for i, k := range order.EventKinds() {
			rec, err := e.store.Create(ctx, recordIn(s, i))
			if err != nil {
				t.Fatal(err)
			}
			ev := eventFor(k)
			ev.LocalID = rec.LocalID
			_, _ = e.tracker.Apply(ctx, ev)
			once := e.get(t, rec.LocalID)
			_, _ = e.tracker.Apply(ctx, ev)
			twice := e.get(t, rec.LocalID)
			if diff := cmp.Diff(once, twice, cmpOrder); diff != "" {
				t.Errorf("%s + %s twice: the second changed the order (-once +twice):\n%s", s, k, diff)
			}
		}
	}
}

// TestFillThatCompletesQuantityMovesToFilledFromEveryStatus: a fill that
// brings the filled quantity to the order's quantity ends in filled, whatever
// the status it arrived in (a late fill on a canceled order included), except
// rejected, where it is applied and flagged.
func TestFillThatCompletesQuantityMovesToFilledFromEveryStatus(t *testing.T) {
	e := newEnv(t, paper.Config{})
	ctx := t.Context()
	for i, s := range order.Statuses() {
		if s == broker.StatusFilled {
			continue
		}
		rec, err := e.store.Create(ctx, recordIn(s, i))
		if err != nil {
			t.Fatal(err)
		}
		rest := rec.Quantity.Sub(rec.FilledQuantity) // Remaining is zero on a terminal order
		got, err := e.tracker.Apply(ctx, order.Event{Kind: order.EventFill, LocalID: rec.LocalID,
			Fill: broker.Fill{ExecID: "X9", Quantity: rest, Price: dec("99")}})
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		if got.Status != broker.StatusFilled || !got.FilledQuantity.Equal(dec("10")) {
			t.Errorf("%s + completing fill = %s with %s filled, want filled with 10", s, got.Status, got.FilledQuantity)
		}
		if got.NeedsAttention != (s == broker.StatusRejected) {
			t.Errorf("%s + completing fill: NeedsAttention = %v", s, got.NeedsAttention)
		}
	}
}

// TestCancelRefusedRestoresPartiallyFilledWhenFillsArrivedMeanwhile: the
// "previous" status of a refused cancel or replace counts the fills that
// arrived while it was pending.
func TestCancelRefusedRestoresPartiallyFilledWhenFillsArrivedMeanwhile(t *testing.T) {
	for _, tc := range []struct {
		pending, refusal order.EventKind
	}{
		{order.EventCancelRequested, order.EventCancelRefused},
		{order.EventReplaceRequested, order.EventReplaceRefused},
	} {
		e := newEnv(t, paper.Config{})
		ctx := t.Context()
		rec, err := e.store.Create(ctx, recordIn(broker.StatusNew, 0))
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range []order.Event{
			{Kind: tc.pending},
			{Kind: order.EventFill, Fill: broker.Fill{ExecID: "X1", Quantity: dec("3"), Price: dec("99")}},
			{Kind: tc.refusal},
		} {
			ev.LocalID = rec.LocalID
			if _, err := e.tracker.Apply(ctx, ev); err != nil {
				t.Fatal(err)
			}
		}
		wantStatus(t, e.get(t, rec.LocalID), broker.StatusPartiallyFilled)
	}
}
