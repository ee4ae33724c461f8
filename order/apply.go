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
// sender stopped). The tracker, not the adapter, decides:
//
//   - a candidate is an order at the broker that fits the request and that
//     no other record of the account holds (the store's broker ids are the
//     claim set); a candidate the broker reports under another client
//     order id is someone else's;
//   - exactly one unclaimed candidate is adopted;
//   - several keep the order unknown and flag it: ambiguity is never
//     absence;
//   - none counts as evidence of absence only when the search was
//     Complete; once enough such lookups over enough time found nothing,
//     the order is declared never placed. An incomplete or failed search
//     proves nothing: past the window the order is flagged for the host.
func (t *Tracker) resolveUnknown(ctx context.Context, o Order, listed []broker.Order, byClient map[string]int, rep *ReconcileReport) error {
	if i, ok := byClient[o.ClientOrderID]; ok {
		if claimed, err := t.claimedByOther(ctx, o, listed[i].OrderID); err != nil {
			return err
		} else if !claimed {
			rep.Resolved++
			return t.applySnapshot(ctx, o.LocalID, listed[i], rep)
		}
	}
	if t.finder == nil {
		return t.countLookup(ctx, o, lookupNoFinder, rep)
	}
	res, err := t.finder.FindOrder(ctx, t.findQuery(o))
	if err != nil {
		return orderError("reconcile", o, "", "looking up an unknown outcome", err)
	}
	var free []broker.Order
	for _, c := range res.Candidates {
		if c.ClientOrderID != "" && c.ClientOrderID != o.ClientOrderID {
			continue
		}
		claimed, err := t.claimedByOther(ctx, o, c.OrderID)
		if err != nil {
			return err
		}
		if !claimed {
			free = append(free, c)
		}
	}
	switch {
	case len(free) == 1:
		rep.Resolved++
		return t.applySnapshot(ctx, o.LocalID, free[0], rep)
	case len(free) > 1:
		return t.countLookup(ctx, o, lookupAmbiguous, rep)
	case !res.Complete:
		return t.countLookup(ctx, o, lookupIncomplete, rep)
	}
	return t.countLookup(ctx, o, lookupAbsent, rep)
}

// findQuery is the lookup of a lost placement: the window runs from the
// record's creation (persisted before sending) less the clock skew to that
// time plus the send timeout plus the skew, after which the broker cannot
// have entered the order.
func (t *Tracker) findQuery(o Order) broker.FindQuery {
	return broker.FindQuery{Account: o.Account, Request: o.Request(),
		From: o.CreatedAt.Add(-t.skew), To: o.CreatedAt.Add(t.sendTimeout + t.skew)}
}

// claimedByOther reports whether another record of the account holds the
// broker order id.
func (t *Tracker) claimedByOther(ctx context.Context, o Order, brokerID string) (bool, error) {
	if brokerID == "" {
		return false, nil
	}
	holder, err := t.localIDByBrokerOrderID(ctx, brokerID)
	switch {
	case errors.Is(err, errors.ErrOrderNotFound):
		return false, nil
	case err != nil:
		return true, orderError("reconcile", o, "", "reading the claim on broker order "+brokerID, err)
	}
	return holder != o.LocalID, nil
}

// lookupResult is what one lookup of an unknown outcome found.
type lookupResult uint8

const (
	lookupAbsent     lookupResult = iota // a complete search found no unclaimed candidate
	lookupIncomplete                     // the search was cut short: proves nothing
	lookupAmbiguous                      // several unclaimed candidates fit
	lookupNoFinder                       // the broker offers no lookup
)

// countLookup records a lookup that settled nothing. Only complete, empty
// lookups count towards "never placed"; the others flag the order for the
// host once the window has passed.
func (t *Tracker) countLookup(ctx context.Context, o Order, found lookupResult, rep *ReconcileReport) error {
	var neverPlaced, alerted bool
	m, err := t.mutate(ctx, o.LocalID, func(a *applier) error {
		neverPlaced, alerted = false, false
		if a.o.Status != broker.StatusPendingNew || a.o.BrokerOrderID != "" {
			return nil // settled meanwhile
		}
		a.o.OutcomeUnknown = true
		if a.o.FirstUnknownAt.IsZero() {
			a.o.FirstUnknownAt = a.now
		}
		if found == lookupAbsent {
			a.o.UnknownLookups++
		}
		a.touch()
		overdue := a.now.Sub(a.o.FirstUnknownAt) >= t.window
		switch {
		case found == lookupAmbiguous:
			alerted = !a.o.NeedsAttention
			a.flag("outcome unknown: several orders at " + t.broker.Name() +
				" fit the request and none is claimed; cannot tell which, so none is adopted")
			return nil
		case !overdue || (found == lookupAbsent && a.o.UnknownLookups < t.lookups):
			return nil
		case found == lookupIncomplete:
			alerted = !a.o.NeedsAttention
			a.flag("outcome unknown: the lookups at " + t.broker.Name() +
				" could not cover the send window, so absence is not proven")
			return nil
		case found == lookupNoFinder:
			alerted = !a.o.NeedsAttention
			a.flag("outcome unknown: not in the open orders, and " + t.broker.Name() +
				" offers no lookup to prove it was never placed")
			return nil
		}
		neverPlaced = true
		return a.event(Event{Kind: EventReject, Reason: "never placed: " + strconv.Itoa(a.o.UnknownLookups) +
			" complete lookups over " + a.now.Sub(a.o.FirstUnknownAt).String() + " found no unclaimed order"})
	})
	if m.changed {
		rep.Updated++
	}
	if err != nil {
		return err
	}
	if alerted {
		t.alert(orderError("reconcile", m.order, errors.ErrOutcomeUnknown, m.order.AttentionReason, nil))
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
