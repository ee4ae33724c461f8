package order_test

import (
	"context"
	"testing"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/order"
	"github.com/arbiontrader/arbion/paper"
)

func TestCancelWorkingOrder(t *testing.T) {
	e := newEnv(t, paper.Config{})
	o := e.submit(t, limitBuy("5", "90"))
	got, err := e.tracker.Cancel(t.Context(), o.LocalID)
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, got, broker.StatusCanceled)
	if open, _ := e.tracker.Open(t.Context()); len(open) != 0 {
		t.Errorf("%d orders still open", len(open))
	}
}

func TestCancelStaysPendingUntilTheBrokerConfirms(t *testing.T) {
	e := newEnv(t, paper.Config{CancelLatency: 2})
	o := e.submit(t, limitBuy("5", "90"))
	got, err := e.tracker.Cancel(t.Context(), o.LocalID)
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, got, broker.StatusPendingCancel)
	e.paper.SetPrice("AAPL", dec("100.5"))
	e.reconcile(t)
	wantStatus(t, e.get(t, o.LocalID), broker.StatusPendingCancel)
	e.paper.SetPrice("AAPL", dec("100.6"))
	e.reconcile(t)
	wantStatus(t, e.get(t, o.LocalID), broker.StatusCanceled)
}

func TestCancelOfFilledOrderFailsCleanlyWithoutCallingTheBroker(t *testing.T) {
	e := newEnv(t, paper.Config{})
	o := e.submit(t, marketBuy(aapl, "5"))
	wantStatus(t, o, broker.StatusFilled)
	calls := e.broker.calls()
	got, err := e.tracker.Cancel(t.Context(), o.LocalID)
	wantKind(t, err, errors.ErrOrderNotCancelable)
	wantStatus(t, got, broker.StatusFilled)
	if e.broker.calls() != calls {
		t.Error("the broker was called to cancel a filled order")
	}
	if e.get(t, o.LocalID).Version != o.Version {
		t.Error("the refused cancel changed the record")
	}
}

// TestCancelRacingFillAtTheBrokerRereadsTheOrder: the record says new, but
// the broker filled the order before the cancel arrived.
func TestCancelRacingFillAtTheBrokerRereadsTheOrder(t *testing.T) {
	e := newEnv(t, paper.Config{})
	o := e.submit(t, limitBuy("5", "90"))
	e.execute(t, o.BrokerOrderID, "5", "89.99") // not yet seen by the tracker
	got, err := e.tracker.Cancel(t.Context(), o.LocalID)
	wantKind(t, err, errors.ErrOrderNotCancelable)
	var oe *errors.OrderError
	if !errors.As(err, &oe) || oe.LocalID != o.LocalID || oe.OrderID != o.BrokerOrderID {
		t.Errorf("error %v does not name the order", err)
	}
	wantStatus(t, got, broker.StatusFilled)
	wantDec(t, "filled", got.FilledQuantity, "5")
	wantDec(t, "average price", got.AvgFillPrice, "89.99")
}

// TestCancelRacingFillWhilePendingCancel: fills keep arriving while the
// cancel is pending, and after its confirmation (a late fill); all are
// applied and the order ends canceled with them.
func TestCancelRacingFillWhilePendingCancel(t *testing.T) {
	e := newEnv(t, paper.Config{CancelLatency: 1})
	o := e.submit(t, limitBuy("10", "90"))
	if _, err := e.tracker.Cancel(t.Context(), o.LocalID); err != nil {
		t.Fatal(err)
	}
	e.execute(t, o.BrokerOrderID, "3", "90") // fills while the cancel is pending
	e.reconcile(t)
	got := e.get(t, o.LocalID)
	wantStatus(t, got, broker.StatusPendingCancel)
	wantDec(t, "filled", got.FilledQuantity, "3")
	e.paper.SetPrice("AAPL", dec("101")) // the cancel is confirmed
	e.reconcile(t)
	wantStatus(t, e.get(t, o.LocalID), broker.StatusCanceled)
	// A fill reported by a stream after the cancel acknowledgement.
	late, err := e.tracker.Apply(t.Context(), order.Event{Kind: order.EventFill, BrokerOrderID: o.BrokerOrderID,
		Fill: broker.Fill{ExecID: "LATE1", Quantity: dec("2"), Price: dec("89.5")}})
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, late, broker.StatusCanceled)
	wantDec(t, "filled", late.FilledQuantity, "5")
	wantDec(t, "average price", late.AvgFillPrice, "89.8")
}

func TestCancelUnknownOrderIsNotFound(t *testing.T) {
	e := newEnv(t, paper.Config{})
	_, err := e.tracker.Cancel(t.Context(), "no-such-order")
	wantKind(t, err, errors.ErrOrderNotFound)
}

func TestCancelWithLostAnswerStaysPendingCancelUntilReconciled(t *testing.T) {
	e := newEnv(t, paper.Config{Faults: paper.Faults{Inject: func(op paper.Op) paper.Fault {
		if op == paper.OpCancelOrder {
			return paper.FaultLoseAnswer
		}
		return paper.NoFault
	}}})
	o := e.submit(t, limitBuy("5", "90"))
	got, err := e.tracker.Cancel(t.Context(), o.LocalID)
	wantKind(t, err, errors.ErrOutcomeUnknown)
	wantStatus(t, got, broker.StatusPendingCancel)
	e.reconcile(t)
	wantStatus(t, e.get(t, o.LocalID), broker.StatusCanceled)
}

func TestCancelRefusedByBrokerRestoresTheOrder(t *testing.T) {
	e := newEnv(t, paper.Config{Faults: paper.Faults{Inject: func(op paper.Op) paper.Fault {
		if op == paper.OpCancelOrder {
			return paper.FaultNetwork
		}
		return paper.NoFault
	}}})
	o := e.submit(t, limitBuy("5", "90"))
	got, err := e.tracker.Cancel(t.Context(), o.LocalID)
	wantKind(t, err, errors.ErrNetwork)
	wantStatus(t, got, broker.StatusNew)
}

func TestReplaceLinksNewOrderToOldBothWays(t *testing.T) {
	e := newEnv(t, paper.Config{})
	req := limitBuy("10", "90")
	req.StopLossPrice = dec("85")
	o := e.submit(t, req)
	e.execute(t, o.BrokerOrderID, "4", "89.9")
	n, err := e.tracker.Replace(t.Context(), o.LocalID, broker.OrderRequest{Instrument: aapl, Side: broker.Buy,
		Type: broker.Limit, Quantity: dec("6"), LimitPrice: dec("91"), TimeInForce: broker.GTC})
	if err != nil {
		t.Fatal(err)
	}
	old := e.get(t, o.LocalID)
	wantStatus(t, old, broker.StatusReplaced)
	wantStatus(t, n, broker.StatusNew)
	if old.ReplacedBy != n.LocalID || n.Replaces != old.LocalID {
		t.Errorf("links: old.ReplacedBy %q, new.Replaces %q; want %q and %q", old.ReplacedBy, n.Replaces, n.LocalID, old.LocalID)
	}
	if n.BrokerOrderID == "" || n.BrokerOrderID == old.BrokerOrderID {
		t.Errorf("new broker id %q, old %q", n.BrokerOrderID, old.BrokerOrderID)
	}
	wantDec(t, "old order's own fills", old.FilledQuantity, "4")
	wantDec(t, "new order's fills", n.FilledQuantity, "0")
	wantDec(t, "inherited stop-loss target", n.StopLossPrice, "85")
	wantDec(t, "new limit", n.LimitPrice, "91")
}

func TestReplaceOfFilledOrderFailsCleanly(t *testing.T) {
	e := newEnv(t, paper.Config{})
	o := e.submit(t, marketBuy(aapl, "5"))
	_, err := e.tracker.Replace(t.Context(), o.LocalID, broker.OrderRequest{Instrument: aapl, Side: broker.Buy,
		Type: broker.Limit, Quantity: dec("6"), LimitPrice: dec("91"), TimeInForce: broker.GTC})
	wantKind(t, err, errors.ErrOrderNotCancelable)
	if list, _ := e.tracker.BySymbol(t.Context(), "AAPL"); len(list) != 1 {
		t.Errorf("%d records after a refused replace, want 1", len(list))
	}
	if e.broker.replace.Load() != 0 {
		t.Error("the broker was asked to replace a filled order")
	}
}

// TestReplaceRacingFillAtTheBroker: the record says working, the broker has
// filled it; the replace is refused, the new record rejected, the old one
// read again.
func TestReplaceRacingFillAtTheBroker(t *testing.T) {
	e := newEnv(t, paper.Config{})
	o := e.submit(t, limitBuy("5", "90"))
	e.execute(t, o.BrokerOrderID, "5", "90")
	n, err := e.tracker.Replace(t.Context(), o.LocalID, broker.OrderRequest{Instrument: aapl, Side: broker.Buy,
		Type: broker.Limit, Quantity: dec("6"), LimitPrice: dec("91"), TimeInForce: broker.GTC})
	wantKind(t, err, errors.ErrOrderNotCancelable)
	wantStatus(t, n, broker.StatusRejected)
	old := e.get(t, o.LocalID)
	wantStatus(t, old, broker.StatusFilled)
	if old.ReplacedBy != "" {
		t.Errorf("old order still linked to %q", old.ReplacedBy)
	}
}

func TestReplaceEditedInPlaceUpdatesTheSameRecord(t *testing.T) {
	e := newEnv(t, paper.Config{})
	o := e.submit(t, limitBuy("5", "90"))
	e.broker.replaceFn = func(_ context.Context, id string, req broker.OrderRequest) (broker.Ack, error) {
		return broker.Ack{OrderID: id, ClientOrderID: o.ClientOrderID, Status: broker.StatusNew}, nil
	}
	got, err := e.tracker.Replace(t.Context(), o.LocalID, broker.OrderRequest{Instrument: aapl, Side: broker.Buy,
		Type: broker.Limit, Quantity: dec("7"), LimitPrice: dec("92.5"), TimeInForce: broker.GTC})
	if err != nil {
		t.Fatal(err)
	}
	if got.LocalID != o.LocalID || got.BrokerOrderID != o.BrokerOrderID {
		t.Fatalf("in-place edit returned %s/%s, want the same record %s/%s", got.LocalID, got.BrokerOrderID, o.LocalID, o.BrokerOrderID)
	}
	wantStatus(t, got, broker.StatusNew)
	wantDec(t, "quantity", got.Quantity, "7")
	wantDec(t, "limit", got.LimitPrice, "92.5")
	if got.ReplacedBy != "" {
		t.Errorf("ReplacedBy = %q after an in-place edit", got.ReplacedBy)
	}
	open, _ := e.tracker.Open(t.Context())
	if len(open) != 1 {
		t.Errorf("%d open records after an in-place edit, want 1", len(open))
	}
}

func TestReplaceWithLostAnswerIsResolvedByReconcile(t *testing.T) {
	e := newEnv(t, paper.Config{Faults: paper.Faults{Inject: func(op paper.Op) paper.Fault {
		if op == paper.OpReplaceOrder {
			return paper.FaultLoseAnswer
		}
		return paper.NoFault
	}}})
	o := e.submit(t, limitBuy("5", "90"))
	n, err := e.tracker.Replace(t.Context(), o.LocalID, broker.OrderRequest{Instrument: aapl, Side: broker.Buy,
		Type: broker.Limit, Quantity: dec("6"), LimitPrice: dec("91"), TimeInForce: broker.GTC})
	wantKind(t, err, errors.ErrOutcomeUnknown)
	if !n.OutcomeUnknown || n.Status != broker.StatusPendingNew {
		t.Fatalf("new record %s unknown=%v, want pending new with the outcome unknown", n.Status, n.OutcomeUnknown)
	}
	rep := e.reconcile(t)
	if rep.Resolved != 1 {
		t.Errorf("report %+v, want one resolved", rep)
	}
	wantStatus(t, e.get(t, n.LocalID), broker.StatusNew)
	wantStatus(t, e.get(t, o.LocalID), broker.StatusReplaced)
	if e.broker.replace.Load() != 1 {
		t.Errorf("ReplaceOrder called %d times, want 1", e.broker.replace.Load())
	}
}
