package order

import (
	"cmp"
	"context"
	"sync/atomic"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/errors"
)

// StreamStats counts what the tracker did with stream events since it was
// created.
type StreamStats struct {
	Events      int64 // events received
	Applied     int64 // events that changed a record
	Ignored     int64 // events naming no order the tracker holds (never invented)
	Failed      int64 // events refused (illegal, overfill, store error)
	Gaps        int64 // gaps, each followed by a Reconcile
	Lookups     int64 // orders read by REST because a fill showed missed executions
	Reconciles  int64 // Reconcile runs made for gaps
	LastFailure error // the last refusal or failed reconcile, nil if none
}

// streamCounters are the tracker's StreamStats, updated without a lock.
type streamCounters struct {
	events, applied, ignored, failed, gaps, lookups, reconciles atomic.Int64
	lastFailure                                                 atomic.Pointer[error]
}

// StreamStats returns the counts of stream events handled so far.
func (t *Tracker) StreamStats() StreamStats {
	c := &t.stream
	s := StreamStats{Events: c.events.Load(), Applied: c.applied.Load(), Ignored: c.ignored.Load(),
		Failed: c.failed.Load(), Gaps: c.gaps.Load(), Lookups: c.lookups.Load(), Reconciles: c.reconciles.Load()}
	if p := c.lastFailure.Load(); p != nil {
		s.LastFailure = *p
	}
	return s
}

// ApplyStreamEvent applies one event of a broker.OrderStream to the order it
// names, as Apply does for the tracker's own events: accepted, cancel
// requested, canceled, replaced, rejected and expired become the events of
// the transition table, a snapshot a status report, a fill a fill.
//
// A fill seen both by stream and by REST counts once, whatever the order of
// arrival: by execution id; else a recorded fill of equal quantity and price
// within SameExecutionWindow is the same execution; else the cumulative
// guard (a fill whose Snapshot.FilledQuantity the record has already
// reached). A fill that leaves the record short of its Snapshot.FilledQuantity
// (executions before it were missed) makes the tracker read the order by
// REST at once. A provisional snapshot counts its fills at once
// (provisional fills, see ProvisionalPrefix) and the confirmed fills of a
// later snapshot replace them.
//
// An OrderEventGap runs Reconcile (REST is the truth) and returns its
// error with a zero Order. An event for an order the tracker does not hold
// fails with errors.ErrOrderNotFound and is counted as ignored.
func (t *Tracker) ApplyStreamEvent(ctx context.Context, ev broker.OrderEvent) (Order, error) {
	t.stream.events.Add(1)
	if ev.Kind == broker.OrderEventGap {
		t.stream.gaps.Add(1)
		t.stream.reconciles.Add(1)
		_, err := t.Reconcile(ctx)
		if err != nil {
			t.streamFailed(err)
		}
		return Order{}, err
	}
	o, changed, err := t.applyStream(ctx, ev)
	switch {
	case errors.Is(err, errors.ErrOrderNotFound) && o.LocalID == "":
		t.stream.ignored.Add(1)
	case err != nil:
		t.streamFailed(err)
	}
	if changed {
		t.stream.applied.Add(1)
	}
	return o, err
}

func (t *Tracker) streamFailed(err error) {
	t.stream.failed.Add(1)
	t.stream.lastFailure.Store(&err)
}

// applyStream translates and applies one non-gap event.
func (t *Tracker) applyStream(ctx context.Context, ev broker.OrderEvent) (Order, bool, error) {
	tev, err := translate(ev)
	if err != nil {
		return Order{}, false, err
	}
	localID, err := t.resolve(ctx, tev)
	if err != nil {
		return Order{}, false, err
	}
	if ev.Kind != broker.OrderEventFill {
		m, err := t.mutate(ctx, localID, func(a *applier) error { return a.event(tev) })
		return m.order, m.changed, err
	}
	var hole bool
	m, err := t.mutate(ctx, localID, func(a *applier) error {
		var err error
		hole, err = a.streamFill(ev.Fill, ev.Snapshot.FilledQuantity, ev.OrderID)
		return err
	})
	if err != nil || !hole {
		return m.order, m.changed, err
	}
	t.stream.lookups.Add(1)
	snap, err := t.broker.GetOrder(ctx, m.order.BrokerOrderID)
	if err != nil {
		return m.order, m.changed, orderError("apply stream fill", m.order, "",
			"reading the order after a fill showed missed executions", err)
	}
	var rep ReconcileReport
	err = t.applySnapshot(ctx, localID, snap, &rep)
	o, gerr := t.store.Get(ctx, localID)
	if gerr != nil {
		o = m.order
	}
	return o, m.changed || rep.Updated > 0, err
}

// translate maps a stream event onto the tracker's events.
func translate(ev broker.OrderEvent) (Event, error) {
	e := Event{BrokerOrderID: ev.OrderID, ClientOrderID: ev.ClientOrderID, RawStatus: ev.RawStatus,
		Reason: ev.Reason, NewBrokerOrderID: ev.NewOrderID}
	switch ev.Kind {
	case broker.OrderEventAccepted:
		e.Kind = EventAck
	case broker.OrderEventFill:
		e.Kind, e.Fill = EventFill, ev.Fill
	case broker.OrderEventCancelRequested:
		e.Kind = EventCancelRequested
	case broker.OrderEventCanceled:
		e.Kind = EventCancelConfirmed
	case broker.OrderEventReplaced:
		e.Kind = EventReplaceConfirmed
	case broker.OrderEventRejected:
		e.Kind = EventReject
	case broker.OrderEventExpired:
		e.Kind = EventExpired
	case broker.OrderEventSnapshot:
		e.Kind, e.Snapshot = EventStatusReport, ev.Snapshot
		e.Snapshot.OrderID = cmp.Or(e.Snapshot.OrderID, ev.OrderID)
		e.Snapshot.ClientOrderID = cmp.Or(e.Snapshot.ClientOrderID, ev.ClientOrderID)
	default:
		return Event{}, &errors.OrderError{Op: "apply stream event", OrderID: ev.OrderID,
			Kind: errors.ErrInvalidTransition, Reason: "unknown stream event kind " + ev.Kind.String()}
	}
	return e, nil
}

// Follow applies the events of s until it ends, and returns s.Err (nil
// after a clean end, when ctx ended). Every OrderEventGap runs Reconcile.
// Refused and ignored events do not stop it: they are counted in
// StreamStats, and logged. Follow returns ctx's error if ctx ends first.
func (t *Tracker) Follow(ctx context.Context, s broker.OrderStream) error {
	events := s.Events()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case ev, ok := <-events:
			if !ok {
				return s.Err()
			}
			if _, err := t.ApplyStreamEvent(ctx, ev); err != nil {
				t.log.Debug("order: stream event not applied", "kind", ev.Kind.String(),
					"order_id", ev.OrderID, "err", err)
			}
		}
	}
}
