package order

import (
	"context"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/errors"
)

// Cancel asks the broker to cancel the order. The record becomes pending
// cancel before the request is sent; the broker's answer is persisted and
// the order read once, so that a cancel the broker carried out at once is
// returned as canceled. Otherwise it stays pending cancel until a report
// (Apply, Reconcile) confirms it.
//
// A terminal order is refused with an error matching
// errors.ErrOrderNotCancelable, unchanged and without a call to the broker.
// When the broker says the order is not cancelable (a fill raced the
// cancel), the record is restored, read again from the broker, and returned
// with an error matching errors.ErrOrderNotCancelable. A cancel whose answer
// was lost stays pending cancel with an error matching
// errors.ErrOutcomeUnknown. An order not yet acknowledged by the broker (no
// broker id) cannot be cancelled yet: errors.ErrOrderNotCancelable.
func (t *Tracker) Cancel(ctx context.Context, localID string) (Order, error) {
	if err := t.beginWrite("cancel", broker.OrderRequest{}); err != nil {
		return Order{}, err
	}
	defer t.sending.Done()
	m, err := t.mutate(ctx, localID, func(a *applier) error {
		if a.o.BrokerOrderID == "" && !a.o.Status.Terminal() {
			return a.refuse(EventCancelRequested, errors.ErrOrderNotCancelable,
				"not acknowledged by the broker yet; reconcile first")
		}
		return a.event(Event{Kind: EventCancelRequested})
	})
	if err != nil {
		return m.order, err
	}
	rec := m.order
	sendCtx, cancel := t.sendContext(ctx)
	cerr := t.broker.CancelOrder(sendCtx, rec.BrokerOrderID)
	cancel()
	ctx = context.WithoutCancel(ctx)
	switch {
	case cerr == nil:
		return t.refresh(ctx, rec), nil
	case outcomeUnknown(cerr):
		return rec, orderError("cancel", rec, errors.ErrOutcomeUnknown, "answer lost; still pending cancel", cerr)
	}
	m, err = t.mutate(ctx, localID, func(a *applier) error {
		return a.event(Event{Kind: EventCancelRefused, Reason: cerr.Error()})
	})
	if err != nil {
		return rec, errors.Join(orderError("cancel", rec, "", "refused by the broker", cerr), err)
	}
	rec = m.order
	if errors.Is(cerr, errors.ErrOrderNotCancelable) {
		rec = t.refresh(ctx, rec)
	}
	return rec, orderError("cancel", rec, "", "refused by the broker", cerr)
}

// Replace replaces a working order with req and returns the new record.
//
// The new record (pending new, Replaces = the old local id) is stored
// first, then the old one becomes pending replace (ReplacedBy = the new
// local id), then the request is sent. The old order becomes replaced only
// when the broker confirms (read once after the answer, or later by Apply
// or Reconcile); fills reported under the old id stay on the old record.
// req.ClientOrderID is generated when empty. The pre-trade check runs on
// req: PreTradeProtective when the old order is protective and req is on
// the same side, PreTrade otherwise. The new order inherits the stop-loss
// and take-profit targets, and Protective in that first case only.
//
// A broker that edits in place (the acknowledgement carries the old broker
// id) gets the old record updated in place and returned; the new record,
// never placed, is stored as rejected with that reason.
//
// A terminal order is refused with errors.ErrOrderNotCancelable, and one
// pending new, pending cancel or already pending replace with
// errors.ErrInvalidTransition, both before anything is stored or sent. A broker refusal restores the old
// order and rejects the new record; a lost answer leaves the new record
// pending new with OutcomeUnknown, for Reconcile.
func (t *Tracker) Replace(ctx context.Context, localID string, req broker.OrderRequest) (Order, error) {
	if !t.broker.Capabilities().Replace {
		return Order{}, &errors.OrderError{Op: "replace", LocalID: localID, Kind: errors.ErrNotSupported,
			Reason: t.broker.Name() + " cannot replace orders"}
	}
	if req.ClientOrderID == "" {
		req.ClientOrderID = broker.NewClientOrderID()
	}
	if err := req.Validate(); err != nil {
		return Order{}, err
	}
	if err := t.brokerRefuses("replace", req); err != nil {
		return Order{}, err
	}
	if err := t.beginWrite("replace", req); err != nil {
		return Order{}, err
	}
	defer t.sending.Done()
	old, err := t.store.Get(ctx, localID)
	if err != nil {
		return Order{}, err
	}
	if err := replaceable(old); err != nil {
		return old, err
	}
	// The replacement stays protective only while it still only defends:
	// the same side as the protective order it replaces. Anything else is
	// an ordinary order, kill switch included.
	protective := old.Protective && req.Side == old.Side
	settle, err := t.preTrade(ctx, protective, req)
	if err != nil {
		kind := errors.KindOf(err)
		if kind == "" {
			kind = errors.ErrRiskLimitExceeded
		}
		return old, orderError("replace", old, kind, "refused by the pre-trade check; not sent", err)
	}
	now := t.now()
	n := Order{
		LocalID: broker.NewClientOrderID(), ClientOrderID: req.ClientOrderID, Account: old.Account,
		Instrument: req.Instrument, Side: req.Side, Type: req.Type, Quantity: req.Quantity,
		LimitPrice: req.LimitPrice, StopPrice: req.StopPrice, TrailAmount: req.TrailAmount,
		TrailPercent: req.TrailPercent, TimeInForce: req.TimeInForce, ExtendedHours: req.ExtendedHours,
		Status: broker.StatusPendingNew, StopLossPrice: old.StopLossPrice,
		TakeProfitPrice: old.TakeProfitPrice, Protective: protective, Replaces: old.LocalID,
		CreatedAt: now, UpdatedAt: now,
	}
	t.setInflight(n.LocalID, true)
	defer t.setInflight(n.LocalID, false)
	n, err = t.create(ctx, n)
	if err != nil {
		settle(false)
		return old, orderError("replace", old, "", "replacement not stored, so not sent", err)
	}
	m, err := t.mutate(ctx, localID, func(a *applier) error {
		if err := replaceable(a.o); err != nil {
			return err
		}
		if err := a.event(Event{Kind: EventReplaceRequested}); err != nil {
			return err
		}
		a.set(&a.o.ReplacedBy, n.LocalID)
		return nil
	})
	if err != nil {
		settle(false)
		n, _ = t.notPlaced(context.WithoutCancel(ctx), n, "replace", err)
		return n, err
	}
	old = m.order
	sendCtx, cancel := t.sendContext(ctx)
	ack, rerr := t.broker.ReplaceOrder(sendCtx, old.BrokerOrderID, req)
	cancel()
	ctx = context.WithoutCancel(ctx)
	switch {
	case rerr == nil && ack.OrderID == old.BrokerOrderID:
		settle(true)
		return t.editedInPlace(ctx, old, n, req)
	case rerr == nil:
		settle(true)
		rec, err := t.acked(ctx, n.LocalID, ack)
		t.refresh(ctx, old)
		return rec, err
	case outcomeUnknown(rerr):
		settle(true)
		return t.markUnknown(ctx, n, "replace", rerr)
	}
	settle(false)
	t.replaceRefused(ctx, old.LocalID, rerr.Error())
	if errors.Is(rerr, errors.ErrOrderNotCancelable) {
		t.refresh(ctx, old)
	}
	return t.notPlaced(ctx, n, "replace", rerr)
}

// replaceable refuses, without changing anything, a replace the table does
// not allow or that cannot be sent (no broker id).
func replaceable(o Order) error {
	t := transitionFor(o.Status, EventReplaceRequested)
	a := applier{o: o}
	switch {
	case t.act == actNotCancelable:
		return a.refuse(EventReplaceRequested, errors.ErrOrderNotCancelable, "the order is "+o.Status.String())
	case t.act == actIllegal:
		return a.refuse(EventReplaceRequested, errors.ErrInvalidTransition,
			"replace requested is not allowed in status "+o.Status.String())
	case o.Status == broker.StatusPendingReplace:
		return a.refuse(EventReplaceRequested, errors.ErrInvalidTransition, "a replace is already pending")
	case o.BrokerOrderID == "":
		return a.refuse(EventReplaceRequested, errors.ErrInvalidTransition,
			"not acknowledged by the broker yet")
	}
	return nil
}

// replaceRefused restores an order whose replace was refused or never
// placed, and unlinks it from the replacement.
func (t *Tracker) replaceRefused(ctx context.Context, localID, reason string) {
	_, err := t.mutate(ctx, localID, func(a *applier) error {
		if a.o.Status != broker.StatusPendingReplace {
			return nil
		}
		a.set(&a.o.ReplacedBy, "")
		return a.event(Event{Kind: EventReplaceRefused, Reason: reason})
	})
	if err != nil {
		t.log.Warn("order: restoring a refused replace failed", "local_id", localID, "err", err)
	}
}

// editedInPlace records a replace the broker made by editing the order
// under the same id.
func (t *Tracker) editedInPlace(ctx context.Context, old, n Order, req broker.OrderRequest) (Order, error) {
	m, err := t.mutate(ctx, old.LocalID, func(a *applier) error {
		a.o.Type, a.o.Quantity, a.o.TimeInForce = req.Type, req.Quantity, req.TimeInForce
		a.o.LimitPrice, a.o.StopPrice = req.LimitPrice, req.StopPrice
		a.o.TrailAmount, a.o.TrailPercent = req.TrailAmount, req.TrailPercent
		a.o.ExtendedHours = req.ExtendedHours
		a.set(&a.o.ReplacedBy, "")
		a.touch()
		return a.event(Event{Kind: EventReplaceConfirmed, NewBrokerOrderID: old.BrokerOrderID})
	})
	if _, nerr := t.mutate(ctx, n.LocalID, func(a *applier) error {
		return a.event(Event{Kind: EventReject,
			Reason: "not placed: the broker edited order " + old.LocalID + " in place"})
	}); nerr != nil {
		err = errors.Join(err, nerr)
	}
	if err != nil {
		return old, err
	}
	return t.refresh(ctx, m.order), nil
}
