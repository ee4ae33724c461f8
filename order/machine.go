package order

import (
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/errors"
	"github.com/shopspring/decimal"
)

// action is what the transition table says an event does in a status.
type action uint8

const (
	// actIllegal refuses the event with errors.ErrInvalidTransition and leaves
	// the order unchanged. It is the zero value: a cell left out is illegal.
	actIllegal action = iota
	// actMove moves the order to the cell's status.
	actMove
	// actNoop changes nothing: a duplicate ("dup"), a stale or late answer to
	// a request no longer pending (the "—" cells of docs/ORDER_STATES.md), or an
	// event a terminal status absorbs.
	actNoop
	// actFillWorking applies the fill: partially filled, or filled at the quantity.
	actFillWorking
	// actFillKeep applies the fill and keeps the status (a cancel or replace
	// still pending, a late fill on a terminal order), unless the quantity is
	// reached: then filled. An overfill is refused by the fill itself.
	actFillKeep
	// actFillAnomaly is actFillKeep plus a flag for attention (a fill on a
	// rejected order).
	actFillAnomaly
	// actRestore goes back to the status before the pending request
	// (partially filled if fills arrived meanwhile).
	actRestore
	// actNotCancelable refuses a cancel or replace of a terminal order with
	// errors.ErrOrderNotCancelable, leaving it unchanged.
	actNotCancelable
)

// transition is one cell of the table.
type transition struct {
	act action
	to  broker.Status // for actMove
}

// Statuses lists the statuses an order record can have, in the row order of
// the transition table (docs/ORDER_STATES.md). broker.StatusUnknown is not among
// them: an unrecognised broker status never replaces a known one.
func Statuses() []broker.Status {
	return []broker.Status{broker.StatusPendingNew, broker.StatusNew,
		broker.StatusPartiallyFilled, broker.StatusPendingCancel, broker.StatusPendingReplace,
		broker.StatusFilled, broker.StatusCanceled, broker.StatusExpired,
		broker.StatusReplaced, broker.StatusRejected}
}

// transitionFor is the transition table of docs/ORDER_STATES.md, one row per
// status, one column per event in EventKinds order:
//
//	ack, reject, fill, cancel req, cancel ok, cancel refused,
//	replace req, replace ok, replace refused, expired
//
// Two readings of the document are made explicit here. The "—" cells are
// no-ops (a stale answer to a request no longer pending; refusing them would
// make a duplicated refusal an error). A fill in pending replace keeps the
// replace pending, as in pending cancel: moving to partially filled would
// turn the broker's later confirmation into a no-op and lose the replace.
func transitionFor(s broker.Status, k EventKind) transition {
	if k < EventAck || k > EventExpired {
		return transition{}
	}
	var (
		ill       = transition{act: actIllegal}
		nop       = transition{act: actNoop}
		work      = transition{act: actFillWorking}
		keep      = transition{act: actFillKeep}
		anomaly   = transition{act: actFillAnomaly}
		restore   = transition{act: actRestore}
		refused   = transition{act: actNotCancelable}
		to        = func(s broker.Status) transition { return transition{act: actMove, to: s} }
		absorbing = [...]transition{nop, ill, keep, refused, nop, nop, refused, nop, nop, nop}
		row       [10]transition
	)
	switch s {
	case broker.StatusPendingNew:
		row = [...]transition{to(broker.StatusNew), to(broker.StatusRejected), work,
			to(broker.StatusPendingCancel), to(broker.StatusCanceled), nop,
			ill, ill, nop, to(broker.StatusExpired)}
	case broker.StatusNew:
		row = [...]transition{nop, to(broker.StatusRejected), work,
			to(broker.StatusPendingCancel), to(broker.StatusCanceled), nop,
			to(broker.StatusPendingReplace), nop, nop, to(broker.StatusExpired)}
	case broker.StatusPartiallyFilled:
		row = [...]transition{nop, ill, work,
			to(broker.StatusPendingCancel), to(broker.StatusCanceled), nop,
			to(broker.StatusPendingReplace), nop, nop, to(broker.StatusExpired)}
	case broker.StatusPendingCancel:
		row = [...]transition{nop, ill, keep,
			nop, to(broker.StatusCanceled), restore,
			ill, nop, nop, to(broker.StatusExpired)}
	case broker.StatusPendingReplace:
		row = [...]transition{nop, ill, keep,
			to(broker.StatusPendingCancel), to(broker.StatusCanceled), nop,
			nop, to(broker.StatusReplaced), restore, to(broker.StatusExpired)}
	case broker.StatusFilled:
		row = [...]transition{nop, ill, keep, refused, nop, nop, refused, nop, nop, nop}
	case broker.StatusCanceled, broker.StatusExpired, broker.StatusReplaced:
		row = absorbing
	case broker.StatusRejected:
		row = [...]transition{nop, nop, anomaly, refused, nop, nop, refused, nop, nop, nop}
	default:
		return transition{}
	}
	return row[k-1]
}

// applier applies events to one order record and remembers what changed.
type applier struct {
	o       Order
	now     time.Time
	changed bool
	notify  bool     // collect updates for subscribers
	updates []Update // collected when notify
	// superseded are provisional fills removed and not yet reported.
	superseded []broker.Fill
}

// event applies one event other than a status report. An illegal event, a
// refused cancel or replace, or a malformed fill returns an error and leaves
// the order unchanged; an overfill returns an error and flags the order.
func (a *applier) event(ev Event) error {
	if ev.Kind == EventStatusReport {
		return a.report(ev.Snapshot)
	}
	if ev.Kind == EventFill {
		return a.fill(ev.Fill, ev.BrokerOrderID)
	}
	if ev.Kind == EventReplaceConfirmed && ev.NewBrokerOrderID != "" &&
		ev.NewBrokerOrderID == a.o.BrokerOrderID {
		// Edited in place (same broker id): the order works on, changed.
		if a.o.Status == broker.StatusPendingReplace {
			a.setStatus(a.restored())
		}
		return nil
	}
	t := transitionFor(a.o.Status, ev.Kind)
	switch t.act {
	case actIllegal:
		return a.refuse(ev.Kind, errors.ErrInvalidTransition,
			ev.Kind.String()+" is not allowed in status "+a.o.Status.String())
	case actNotCancelable:
		return a.refuse(ev.Kind, errors.ErrOrderNotCancelable, "the order is "+a.o.Status.String())
	case actNoop:
		a.adopt(ev.BrokerOrderID, ev.RawStatus)
		return nil
	case actRestore:
		a.adopt(ev.BrokerOrderID, ev.RawStatus)
		a.setStatus(a.restored())
		return nil
	}
	// actMove
	a.adopt(ev.BrokerOrderID, ev.RawStatus)
	switch ev.Kind {
	case EventReject:
		a.set(&a.o.RejectReason, ev.Reason)
	case EventCancelRequested, EventReplaceRequested:
		if a.o.Status != broker.StatusPendingCancel && a.o.Status != broker.StatusPendingReplace {
			a.o.PendingFrom = a.o.Status
		}
	}
	if ev.Kind == EventAck || ev.Kind == EventReject {
		a.settleUnknown()
	}
	a.setStatus(t.to)
	return nil
}

// refuse builds the error of a refused event; the order is left unchanged.
func (a *applier) refuse(k EventKind, kind errors.Kind, reason string) error {
	return &errors.OrderError{Op: "apply " + k.String(), LocalID: a.o.LocalID,
		ClientOrderID: a.o.ClientOrderID, OrderID: a.o.BrokerOrderID,
		Symbol: a.o.Instrument.Symbol, Kind: kind, Reason: reason}
}

// restored is the status a refused cancel or replace goes back to.
func (a *applier) restored() broker.Status {
	if a.o.FilledQuantity.IsPositive() && a.o.FilledQuantity.GreaterThanOrEqual(a.o.Quantity) {
		return broker.StatusFilled
	}
	if a.o.FilledQuantity.IsPositive() {
		return broker.StatusPartiallyFilled
	}
	if a.o.PendingFrom == broker.StatusPendingNew {
		return broker.StatusPendingNew
	}
	return broker.StatusNew
}

// setStatus moves the order, clearing what a non-pending status does not keep.
func (a *applier) setStatus(s broker.Status) {
	if s == a.o.Status {
		return
	}
	prev := a.o.Status
	a.o.Status = s
	if s != broker.StatusPendingCancel && s != broker.StatusPendingReplace {
		a.o.PendingFrom = 0
	}
	if s != broker.StatusPendingNew {
		a.settleUnknown()
	}
	a.touch()
	a.record(prev, nil)
}

// settleUnknown clears the outcome-unknown flag: the broker has answered.
func (a *applier) settleUnknown() {
	if a.o.OutcomeUnknown {
		a.o.OutcomeUnknown = false
		a.touch()
	}
}

// adopt records the broker's id (when the record has none yet) and its raw status.
func (a *applier) adopt(brokerID, raw string) {
	if brokerID != "" && a.o.BrokerOrderID == "" {
		a.o.BrokerOrderID = brokerID
		a.settleUnknown()
		a.touch()
	}
	if raw != "" {
		a.set(&a.o.RawStatus, raw)
	}
}

func (a *applier) set(field *string, v string) {
	if *field != v {
		*field = v
		a.touch()
	}
}

func (a *applier) touch() {
	a.changed = true
	a.o.UpdatedAt = a.now
}

// flag marks the order for attention; flagging again with the same reason
// changes nothing.
func (a *applier) flag(reason string) {
	if !a.o.NeedsAttention {
		a.o.NeedsAttention = true
		a.touch()
	}
	a.set(&a.o.AttentionReason, reason)
}

func (a *applier) record(prev broker.Status, f *broker.Fill) {
	if !a.notify {
		return
	}
	u := Update{Order: a.o.Clone(), PrevStatus: prev, Superseded: a.superseded}
	a.superseded = nil
	if f != nil {
		fc := *f
		u.Fill = &fc
	}
	a.updates = append(a.updates, u)
}

// addDecimal returns a.Add(b), the same value with the same exponent, without
// the big-integer allocation when one side is a zero that would not change
// the other's exponent (a record's first fill adds to zero sums).
func addDecimal(a, b decimal.Decimal) decimal.Decimal {
	switch {
	case a.IsZero() && a.Exponent() >= b.Exponent():
		return b
	case b.IsZero() && b.Exponent() >= a.Exponent():
		return a
	}
	return a.Add(b)
}

// hasFill reports whether a fill with that execution id was already applied.
func (a *applier) hasFill(execID string) bool {
	for i := range a.o.Fills {
		if a.o.Fills[i].ExecID == execID {
			return true
		}
	}
	return false
}

// fill applies one execution. A duplicate execution id is a no-op; an
// overfill is refused and flags the order.
func (a *applier) fill(f broker.Fill, brokerID string) error {
	switch {
	case f.ExecID == "":
		return a.refuse(EventFill, errors.ErrInvalidTransition, "a fill needs an execution id")
	case !f.Quantity.IsPositive():
		return a.refuse(EventFill, errors.ErrInvalidTransition,
			"fill "+f.ExecID+" has quantity "+f.Quantity.String()+", must be positive")
	case f.Price.IsNegative():
		return a.refuse(EventFill, errors.ErrInvalidTransition,
			"fill "+f.ExecID+" has a negative price")
	}
	if a.hasFill(f.ExecID) {
		return nil
	}
	t := transitionFor(a.o.Status, EventFill)
	filled := addDecimal(a.o.FilledQuantity, f.Quantity)
	complete := filled.Cmp(a.o.Quantity)
	if complete > 0 {
		reason := "overfill: fill " + f.ExecID + " of " + f.Quantity.String() + " at " +
			f.Price.String() + " would bring the filled quantity to " + filled.String() +
			" of " + a.o.Quantity.String()
		a.flag(reason)
		return a.refuse(EventFill, errors.ErrOverfill, reason)
	}
	a.adopt(brokerID, "")
	if f.Time.IsZero() {
		f.Time = a.now
	}
	first := a.o.FilledQuantity.IsZero()
	a.o.Fills = append(a.o.Fills, f)
	a.o.FilledQuantity = filled
	a.o.Notional = addDecimal(a.o.Notional, f.Quantity.Mul(f.Price))
	if !f.Fee.IsZero() {
		a.o.Fees = a.o.Fees.Add(f.Fee)
	}
	if first {
		a.o.AvgFillPrice = f.Price // the mean of one fill, without a division
	} else {
		a.o.AvgFillPrice = a.o.Notional.DivRound(filled, AvgPricePlaces)
	}
	a.touch()

	prev := a.o.Status
	next := prev
	switch {
	case complete == 0:
		next = broker.StatusFilled
	case t.act == actFillWorking:
		next = broker.StatusPartiallyFilled
	}
	if t.act == actFillAnomaly {
		a.flag("fill " + f.ExecID + " reported on a rejected order")
	}
	if next != prev {
		a.o.Status = next
		a.o.PendingFrom = 0
		a.settleUnknown()
	}
	a.record(prev, &a.o.Fills[len(a.o.Fills)-1])
	return nil
}

// report turns a broker snapshot into events: new fills (listed ones by
// execution id, then any cumulative quantity beyond them as one synthetic
// fill), then the status. Fills are applied even when the status part is
// refused: money moved. A status the record cannot take is refused, the
// order flagged for attention, and the error returned.
func (a *applier) report(snap broker.Order) error {
	var errs []error
	a.adopt(snap.OrderID, snap.RawStatus)
	errs = append(errs, a.reportFills(snap)...)
	for _, k := range statusEvents(a.o.Status, snap.Status) {
		ev := Event{Kind: k, Reason: snap.RejectReason, NewBrokerOrderID: snap.ReplacedBy}
		if err := a.event(ev); err != nil {
			a.flag("broker reports " + snap.Status.String() + " (" + snap.RawStatus +
				") for an order recorded as " + a.o.Status.String())
			errs = append(errs, err)
			break
		}
	}
	if snap.Status.Terminal() && !a.o.Status.Terminal() && len(errs) == 0 {
		reason := "broker reports " + snap.Status.String() + " but the record stays " + a.o.Status.String()
		a.flag(reason)
		errs = append(errs, a.refuse(EventStatusReport, errors.ErrInvalidTransition, reason))
	}
	return errors.Join(errs...)
}

// reportFills applies the fills a snapshot shows beyond the record.
//
// A listed fill is new unless its execution id is recorded, or it is the
// same execution as a recorded fill the listing lacks (seen by another
// source, the stream, under another id): equal quantity and price within
// SameExecutionWindow. New listed fills replace the provisional ones,
// which stood for them.
func (a *applier) reportFills(snap broker.Order) []error {
	var errs []error
	// Listed fills count up to the snapshot's cumulative quantity: beyond it
	// they were already counted under ids the listing does not show.
	limit := snap.FilledQuantity
	listed := decimal.Zero
	listedIDs := make(map[string]bool, len(snap.Fills))
	for _, f := range snap.Fills {
		listed = listed.Add(f.Quantity)
		listedIDs[f.ExecID] = true
	}
	if listed.GreaterThan(limit) {
		limit = listed
	}
	var matched map[int]bool
	var fresh []broker.Fill
	for _, f := range snap.Fills {
		if f.ExecID == "" || a.hasFill(f.ExecID) {
			continue
		}
		i := a.matchOther(f, func(i int) bool { return matched[i] || listedIDs[a.o.Fills[i].ExecID] })
		if i >= 0 {
			if matched == nil {
				matched = make(map[int]bool)
			}
			matched[i] = true
			continue
		}
		fresh = append(fresh, f)
	}
	if len(fresh) > 0 {
		a.dropProvisional()
	}
	for _, f := range fresh {
		if a.o.FilledQuantity.Add(f.Quantity).GreaterThan(limit) {
			continue
		}
		if err := a.fill(f, ""); err != nil {
			errs = append(errs, err)
		}
	}
	if delta := snap.FilledQuantity.Sub(a.o.FilledQuantity); delta.IsPositive() {
		if err := a.fill(a.syntheticFill(snap, delta), ""); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

// syntheticFill is the provisional fill a cumulative snapshot implies
// beyond the recorded fills. Its execution id is derived from the broker id and the
// cumulative quantity, so the same snapshot seen twice yields the same id.
func (a *applier) syntheticFill(snap broker.Order, delta decimal.Decimal) broker.Fill {
	id := snap.OrderID
	if id == "" {
		id = a.o.BrokerOrderID
	}
	f := broker.Fill{
		ExecID:   ProvisionalPrefix + id + ":" + snap.FilledQuantity.String(),
		Quantity: delta,
		Price:    snap.AvgFillPrice,
		Time:     snap.UpdatedAt,
	}
	if snap.AvgFillPrice.IsPositive() {
		notional := snap.AvgFillPrice.Mul(snap.FilledQuantity).Sub(a.o.Notional)
		if p := notional.DivRound(delta, AvgPricePlaces); p.IsPositive() {
			f.Price = p
		}
	} else {
		a.flag("broker reports " + snap.FilledQuantity.String() + " filled without a price")
	}
	if fee := snap.Fees.Sub(a.o.Fees); fee.IsPositive() {
		f.Fee = fee
	}
	return f
}

// statusEvents are the events that take a record in status cur to the
// broker's reported status. A status the broker has not settled (pending
// new, unknown) or that the fills already explain gives none.
func statusEvents(cur, reported broker.Status) []EventKind {
	ack := func(ks ...EventKind) []EventKind {
		if cur == broker.StatusPendingNew {
			return append([]EventKind{EventAck}, ks...)
		}
		return ks
	}
	working := cur == broker.StatusNew || cur == broker.StatusPartiallyFilled
	switch reported {
	case broker.StatusNew, broker.StatusPartiallyFilled, broker.StatusFilled:
		return ack()
	case broker.StatusPendingCancel:
		if working || cur == broker.StatusPendingReplace || cur == broker.StatusPendingNew {
			return []EventKind{EventCancelRequested}
		}
	case broker.StatusCanceled:
		return []EventKind{EventCancelConfirmed}
	case broker.StatusPendingReplace:
		if working || cur == broker.StatusPendingNew {
			return ack(EventReplaceRequested)
		}
	case broker.StatusReplaced:
		if cur == broker.StatusPendingReplace {
			return []EventKind{EventReplaceConfirmed}
		}
		if working || cur == broker.StatusPendingNew {
			return ack(EventReplaceRequested, EventReplaceConfirmed)
		}
	case broker.StatusRejected:
		return []EventKind{EventReject}
	case broker.StatusExpired:
		return []EventKind{EventExpired}
	}
	return nil
}
