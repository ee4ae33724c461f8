package order

import (
	"cmp"
	"context"
	"strconv"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/errors"
)

// Apply applies one event from any source (a poll, a host's webhook, a
// stream) to the order it names, persists the result and tells the
// subscribers. It returns the record as stored.
//
// Apply is idempotent: a fill whose execution id was applied, a status the
// order already has, an answer to a request no longer pending change
// nothing. A fill after a cancel, an expiry or a replace is applied. An
// illegal event is refused with errors.ErrInvalidTransition and changes
// nothing; an overfill is refused with errors.ErrOverfill and flags the
// order (NeedsAttention). A status report applies its fills even when its
// status cannot be taken; that part is refused and the order flagged.
// An event naming no tracked order fails with errors.ErrOrderNotFound.
func (t *Tracker) Apply(ctx context.Context, ev Event) (Order, error) {
	localID, err := t.resolve(ctx, ev)
	if err != nil {
		return Order{}, err
	}
	m, err := t.mutate(ctx, localID, func(a *applier) error { return a.event(ev) })
	return m.order, err
}

// resolve finds the local id of the order an event names.
func (t *Tracker) resolve(ctx context.Context, ev Event) (string, error) {
	if ev.LocalID != "" {
		return ev.LocalID, nil
	}
	brokerID, clientID := ev.BrokerOrderID, ev.ClientOrderID
	if ev.Kind == EventStatusReport {
		brokerID = cmp.Or(brokerID, ev.Snapshot.OrderID)
		clientID = cmp.Or(clientID, ev.Snapshot.ClientOrderID)
	}
	if brokerID != "" {
		localID, err := t.localIDByBrokerOrderID(ctx, brokerID)
		if err == nil || !errors.Is(err, errors.ErrOrderNotFound) || clientID == "" {
			return localID, err
		}
	}
	if clientID != "" {
		o, err := t.store.ByClientOrderID(ctx, t.account, clientID)
		return o.LocalID, err
	}
	return "", &errors.OrderError{Op: "apply " + ev.Kind.String(), Kind: errors.ErrOrderNotFound,
		Reason: "the event names no order (local, broker or client id)"}
}

func (t *Tracker) localIDByBrokerOrderID(ctx context.Context, id string) (string, error) {
	if t.memory != nil {
		return t.memory.localIDByBrokerOrderID(ctx, t.account, id)
	}
	o, err := t.store.ByBrokerOrderID(ctx, t.account, id)
	return o.LocalID, err
}

// ReconcileReport says what one Reconcile did.
type ReconcileReport struct {
	Checked     int // tracked non-terminal orders examined
	Updated     int // records changed by the broker's snapshots
	Resolved    int // unknown outcomes found at the broker
	NeverPlaced int // unknown outcomes declared never placed (now rejected)
	Unresolved  int // unknown outcomes still unknown
	Failed      int // orders whose snapshot could not be read or applied
}

// Reconcile brings every non-terminal order to the broker's truth: ONE
// OpenOrders call, then GetOrder only for tracked orders absent from that
// list (they went terminal), and for each order whose placement outcome is
// unknown a search of the open list by client order id, then
// broker.OrderFinder when the broker has it. Cumulative snapshots become
// deltas exactly as in Apply, so Reconcile is idempotent.
//
// An unknown outcome is declared never placed (rejected, with the reason)
// only once UnknownOutcomeLookups lookups found nothing and at least
// UnknownOutcomeWindow has passed since it became unknown. Without an
// OrderFinder that proof is impossible (a filled order leaves the open
// list): the order is flagged for attention instead, never rejected.
//
// An order being placed by this tracker at the moment is skipped. Errors
// about single orders are counted in the report and returned joined; the
// others carry on. A failed OpenOrders call returns at once.
func (t *Tracker) Reconcile(ctx context.Context) (ReconcileReport, error) {
	var rep ReconcileReport
	open, err := t.openRecords(ctx)
	if err != nil || len(open) == 0 {
		return rep, err
	}
	listed, err := t.broker.OpenOrders(ctx)
	if err != nil {
		return rep, &errors.OrderError{Op: "reconcile", Kind: errors.KindOf(err),
			Reason: "listing open orders", Err: err}
	}
	byID := make(map[string]int, len(listed))
	byClient := make(map[string]int, len(listed))
	for i, s := range listed {
		byID[s.OrderID] = i
		if s.ClientOrderID != "" {
			byClient[s.ClientOrderID] = i
		}
	}
	var errs []error
	for _, o := range open {
		if err := ctx.Err(); err != nil {
			errs = append(errs, err)
			break
		}
		if o.BrokerOrderID == "" && t.isInflight(o.LocalID) {
			continue
		}
		rep.Checked++
		var err error
		if o.BrokerOrderID == "" {
			err = t.resolveUnknown(ctx, o, listed, byClient, &rep)
		} else {
			err = t.reconcileKnown(ctx, o, listed, byID, &rep)
		}
		if err != nil {
			rep.Failed++
			errs = append(errs, err)
		}
	}
	return rep, errors.Join(errs...)
}

// openRecords lists the non-terminal orders for Reconcile, which only reads
// them (from the memory store, without copying their fills).
func (t *Tracker) openRecords(ctx context.Context) ([]Order, error) {
	if t.memory != nil {
		return t.memory.openShared(ctx, t.account)
	}
	return t.store.Open(ctx, t.account)
}

// reconcileKnown applies the broker's snapshot of an order it acknowledged.
func (t *Tracker) reconcileKnown(ctx context.Context, o Order, listed []broker.Order, byID map[string]int, rep *ReconcileReport) error {
	var snap broker.Order
	if i, ok := byID[o.BrokerOrderID]; ok {
		snap = listed[i]
	} else {
		var err error
		if snap, err = t.broker.GetOrder(ctx, o.BrokerOrderID); err != nil {
			if errors.Is(err, errors.ErrOrderNotFound) {
				t.flag(ctx, o.LocalID, "the broker does not know order "+o.BrokerOrderID)
			}
			return orderError("reconcile", o, "", "reading the order", err)
		}
	}
	return t.applySnapshot(ctx, o.LocalID, snap, rep)
}

// flag marks an order for attention, best effort.
func (t *Tracker) flag(ctx context.Context, localID, reason string) {
	if _, err := t.mutate(ctx, localID, func(a *applier) error { a.flag(reason); return nil }); err != nil {
		t.log.Warn("order: flagging for attention failed", "local_id", localID, "reason", reason, "err", err)
	}
}

func (t *Tracker) applySnapshot(ctx context.Context, localID string, snap broker.Order, rep *ReconcileReport) error {
	m, err := t.mutate(ctx, localID, func(a *applier) error { return a.report(snap) })
	if m.changed {
		rep.Updated++
	}
	return err
}

// resolveUnknown settles a placement whose answer never came (or whose
// sender stopped): found at the broker, it takes the broker's snapshot;
// not found, the lookup is counted and, once enough lookups over enough
// time found nothing, it is declared never placed.
func (t *Tracker) resolveUnknown(ctx context.Context, o Order, listed []broker.Order, byClient map[string]int, rep *ReconcileReport) error {
	if i, ok := byClient[o.ClientOrderID]; ok {
		rep.Resolved++
		return t.applySnapshot(ctx, o.LocalID, listed[i], rep)
	}
	if t.finder != nil {
		snap, err := t.finder.FindOrder(ctx, o.Request())
		switch {
		case err == nil:
			rep.Resolved++
			return t.applySnapshot(ctx, o.LocalID, snap, rep)
		case !errors.Is(err, errors.ErrOrderNotFound):
			return orderError("reconcile", o, "", "looking up an unknown outcome", err)
		}
	}
	var neverPlaced bool
	m, err := t.mutate(ctx, o.LocalID, func(a *applier) error {
		neverPlaced = false
		if a.o.Status != broker.StatusPendingNew || a.o.BrokerOrderID != "" {
			return nil // settled meanwhile
		}
		a.o.OutcomeUnknown = true
		if a.o.FirstUnknownAt.IsZero() {
			a.o.FirstUnknownAt = a.now
		}
		a.o.UnknownLookups++
		a.touch()
		if a.o.UnknownLookups < t.lookups || a.now.Sub(a.o.FirstUnknownAt) < t.window {
			return nil
		}
		if t.finder == nil {
			a.flag("outcome unknown: not in the open orders, and " + t.broker.Name() +
				" offers no lookup to prove it was never placed")
			return nil
		}
		neverPlaced = true
		return a.event(Event{Kind: EventReject, Reason: "never placed: not found at the broker by " +
			strconv.Itoa(a.o.UnknownLookups) + " lookups over " + a.now.Sub(a.o.FirstUnknownAt).String()})
	})
	if m.changed {
		rep.Updated++
	}
	if err != nil {
		return err
	}
	if !neverPlaced {
		rep.Unresolved++
		return nil
	}
	rep.NeverPlaced++
	if m.order.Replaces != "" {
		t.replaceRefused(ctx, m.order.Replaces, "the replacing order "+m.order.LocalID+" was never placed")
	}
	return nil
}
