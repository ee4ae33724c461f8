package order

import (
	"cmp"
	"context"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/errors"
)

// Submit validates req, runs the pre-trade check (unless req.Protective),
// persists the order as pending new, sends it, and persists the broker's
// answer. It returns the record as stored.
//
// Outcomes:
//   - invalid request: an error matching errors.ErrInvalidOrder; nothing is
//     stored or sent.
//   - refused by the checker: the order is stored as rejected with the
//     checker's reason and not sent; the error wraps the checker's, so
//     errors.As(err, **errors.RiskError) works.
//   - a client order id already tracked: the existing record and an error
//     matching errors.ErrDuplicateOrder; nothing is sent.
//   - refused by the broker, or failed before the broker could act (rate
//     limited, network error before sending): stored as rejected with the
//     reason; the error carries the broker's.
//   - answer lost (errors.ErrOutcomeUnknown, an unclassified error, or the
//     broker saying it already holds the client order id): the order stays
//     pending new with OutcomeUnknown set, and the error is an
//     *errors.OrderError matching errors.ErrOutcomeUnknown with the ids. It
//     is never sent again: Reconcile settles it.
//   - accepted: the record after the broker's answer (and, when the answer
//     says it already filled or closed, after one read of the order).
func (t *Tracker) Submit(ctx context.Context, req Request) (Order, error) {
	if req.ClientOrderID == "" {
		req.ClientOrderID = broker.NewClientOrderID()
	}
	if err := req.Validate(); err != nil {
		return Order{}, err
	}
	if err := t.brokerRefuses("submit", req.OrderRequest); err != nil {
		return Order{}, err
	}
	if err := t.beginWrite("submit", req.OrderRequest); err != nil {
		return Order{}, err
	}
	defer t.sending.Done()
	if err := t.refuseTwin(ctx, req); err != nil {
		return Order{}, err
	}
	now := t.now()
	o := Order{
		LocalID: broker.NewClientOrderID(), ClientOrderID: req.ClientOrderID, Account: t.account,
		Instrument: req.Instrument, Side: req.Side, Type: req.Type, Quantity: req.Quantity,
		LimitPrice: req.LimitPrice, StopPrice: req.StopPrice, TrailAmount: req.TrailAmount,
		TrailPercent: req.TrailPercent, TimeInForce: req.TimeInForce, ExtendedHours: req.ExtendedHours,
		Status: broker.StatusPendingNew, StopLossPrice: req.StopLossPrice,
		TakeProfitPrice: req.TakeProfitPrice, Protective: req.Protective,
		CreatedAt: now, UpdatedAt: now,
	}
	settle, err := t.preTrade(ctx, o.Protective, req.OrderRequest)
	if err != nil {
		return t.refusedByChecker(ctx, o, err)
	}
	t.setInflight(o.LocalID, true)
	defer t.setInflight(o.LocalID, false)
	rec, err := t.create(ctx, o)
	if err != nil {
		settle(false)
		if errors.Is(err, errors.ErrDuplicateOrder) {
			if existing, gerr := t.store.ByClientOrderID(ctx, t.account, o.ClientOrderID); gerr == nil {
				return existing, orderError("submit", existing, errors.ErrDuplicateOrder,
					"client order id already tracked; nothing sent", err)
			}
		}
		return Order{}, orderError("submit", o, "", "not stored, so not sent", err)
	}
	t.addUnresolved(rec)
	if err := cmp.Or(ctx.Err(), t.leaderErr()); err != nil {
		settle(false)
		return t.notPlaced(context.WithoutCancel(ctx), rec, "submit", err)
	}
	// The send runs on a context detached from the caller's: cancelling the
	// caller (a shutdown) must not cut a request off after it left, which
	// would leave an order of unknown outcome. SendTimeout bounds it.
	sendCtx, cancel := t.sendContext(ctx)
	ack, err := t.broker.PlaceOrder(sendCtx, req.OrderRequest)
	cancel()
	// The answer is persisted even if the caller gave up meanwhile.
	ctx = context.WithoutCancel(ctx)
	if err != nil {
		if outcomeUnknown(err) {
			settle(true)
			return t.markUnknown(ctx, rec, "submit", err)
		}
		settle(false)
		return t.notPlaced(ctx, rec, "submit", err)
	}
	settle(true)
	return t.acked(ctx, rec.LocalID, ack)
}

// preTrade runs the checker when one is configured: PreTradeProtective for
// a protective order, PreTrade otherwise. settle is never nil.
func (t *Tracker) preTrade(ctx context.Context, protective bool, req broker.OrderRequest) (func(bool), error) {
	if t.checker == nil {
		return func(bool) {}, nil
	}
	check := t.checker.PreTrade
	if protective {
		check = t.checker.PreTradeProtective
	}
	settle, err := check(ctx, req)
	if err != nil {
		return nil, err
	}
	if settle == nil {
		settle = func(bool) {}
	}
	return settle, nil
}

// refusedByChecker stores the order as rejected with the checker's reason.
func (t *Tracker) refusedByChecker(ctx context.Context, o Order, cerr error) (Order, error) {
	kind := errors.KindOf(cerr)
	if kind == "" {
		kind = errors.ErrRiskLimitExceeded
	}
	o.Status = broker.StatusRejected
	o.RejectReason = "pre-trade check: " + cerr.Error()
	rec, err := t.create(ctx, o)
	if err != nil {
		return Order{}, errors.Join(orderError("submit", o, kind, "refused by the pre-trade check; not sent", cerr),
			orderError("submit", o, "", "the refusal could not be stored", err))
	}
	return rec, orderError("submit", rec, kind, "refused by the pre-trade check; not sent", cerr)
}

// outcomeUnknown reports whether a failed write may have taken effect at the
// broker. Fail closed: an error of no arbion kind (a context error, a bare
// error from a third-party broker) counts as unknown, and so does a
// duplicate client order id (the broker already holds the order).
func outcomeUnknown(err error) bool {
	return errors.Is(err, errors.ErrOutcomeUnknown) || errors.Is(err, errors.ErrDuplicateOrder) ||
		errors.KindOf(err) == ""
}

// markUnknown flags a placement whose answer was lost.
func (t *Tracker) markUnknown(ctx context.Context, rec Order, op string, cause error) (Order, error) {
	m, err := t.mutate(ctx, rec.LocalID, func(a *applier) error {
		if a.o.Status != broker.StatusPendingNew || a.o.BrokerOrderID != "" {
			return nil // a report settled it meanwhile
		}
		if !a.o.OutcomeUnknown {
			a.o.OutcomeUnknown = true
			a.touch()
		}
		if a.o.FirstUnknownAt.IsZero() {
			a.o.FirstUnknownAt = a.now
			a.touch()
		}
		return nil
	})
	if err != nil {
		t.log.Error("order: outcome unknown and not stored", "local_id", rec.LocalID,
			"client_order_id", rec.ClientOrderID, "err", err)
		return rec, errors.Join(orderError(op, rec, errors.ErrOutcomeUnknown, "answer lost; will be reconciled, never resent", cause), err)
	}
	return m.order, orderError(op, m.order, errors.ErrOutcomeUnknown, "answer lost; will be reconciled, never resent", cause)
}

// notPlaced records a placement the broker refused or never received.
func (t *Tracker) notPlaced(ctx context.Context, rec Order, op string, cause error) (Order, error) {
	m, err := t.mutate(ctx, rec.LocalID, func(a *applier) error {
		return a.event(Event{Kind: EventReject, Reason: cause.Error()})
	})
	if err != nil {
		return rec, errors.Join(orderError(op, rec, "", "not placed", cause), err)
	}
	return m.order, orderError(op, m.order, "", "not placed", cause)
}

// acked records the broker's acknowledgement of a placement. When the
// acknowledgement says more happened than an acceptance (filled, closed),
// the order is read once so that its fills are recorded.
func (t *Tracker) acked(ctx context.Context, localID string, ack broker.Ack) (Order, error) {
	m, err := t.mutate(ctx, localID, func(a *applier) error {
		if a.o.Status == broker.StatusRejected && a.o.BrokerOrderID == "" {
			// Declared never placed (by another replica's Reconcile, while
			// this answer took longer than the window): the order exists.
			a.flag("acknowledged by the broker as " + ack.OrderID + " after it was recorded as rejected")
		}
		a.adopt(ack.OrderID, ack.RawStatus)
		a.settleUnknown()
		var errs []error
		for _, k := range statusEvents(a.o.Status, ack.Status) {
			errs = append(errs, a.event(Event{Kind: k, Reason: "broker answered " + ack.Status.String()}))
		}
		return errors.Join(errs...)
	})
	if err != nil && m.order.BrokerOrderID != ack.OrderID {
		// Placed, and the store refused or failed to keep it: never an error
		// that invites a resend. The record stays pending new with its
		// outcome unknown, and Reconcile adopts the broker's order.
		placed := m.order
		if placed.LocalID == "" {
			placed.LocalID = localID
		}
		placed.BrokerOrderID = ack.OrderID
		return placed, orderError("submit", placed, errors.ErrOutcomeUnknown, "placed at the broker as "+
			ack.OrderID+", but the acknowledgement could not be saved; never resend it: Reconcile adopts it", err)
	}
	if err != nil {
		return m.order, err
	}
	switch ack.Status {
	case broker.StatusPartiallyFilled, broker.StatusFilled, broker.StatusCanceled, broker.StatusExpired:
		return t.refresh(ctx, m.order), nil
	}
	return m.order, nil
}

// refresh reads the order at the broker and applies the snapshot, best
// effort: a failed read is logged and the record returned as it was
// (Reconcile will catch up).
func (t *Tracker) refresh(ctx context.Context, o Order) Order {
	if o.BrokerOrderID == "" {
		return o
	}
	snap, err := t.broker.GetOrder(ctx, o.BrokerOrderID)
	if err != nil {
		t.log.Warn("order: read after write failed", "local_id", o.LocalID, "order_id", o.BrokerOrderID, "err", err)
		return o
	}
	m, err := t.mutate(ctx, o.LocalID, func(a *applier) error { return a.report(snap) })
	if err != nil {
		t.log.Warn("order: broker snapshot refused", "local_id", o.LocalID, "order_id", o.BrokerOrderID, "err", err)
	}
	if m.order.LocalID == "" {
		return o
	}
	return m.order
}
