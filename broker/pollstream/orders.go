package pollstream

import (
	"context"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/clock"
	"github.com/shopspring/decimal"
)

// StreamOrders implements broker.OrderStreamer. The first poll is made
// before it returns (a failure is returned); it emits a snapshot of every
// open order, the baseline. Events then arrive until ctx ends.
func (s *Source) StreamOrders(ctx context.Context) (broker.OrderStream, error) {
	ps := &orderStream{src: s, out: make(chan broker.OrderEvent), seen: make(map[string]seenOrder)}
	first, err := ps.poll(ctx)
	if err != nil {
		return nil, err
	}
	go ps.run(ctx, first)
	return ps, nil
}

// seenOrder is what the last poll saw of one order.
type seenOrder struct {
	status    broker.Status
	raw       string
	filled    decimal.Decimal
	fills     int
	fees      decimal.Decimal
	createdAt time.Time
}

func seen(o broker.Order) seenOrder {
	return seenOrder{o.Status, o.RawStatus, o.FilledQuantity, len(o.Fills), o.Fees, o.CreatedAt}
}

func (a seenOrder) same(b seenOrder) bool {
	return a.status == b.status && a.raw == b.raw && a.filled.Equal(b.filled) && a.fills == b.fills && a.fees.Equal(b.fees)
}

type orderStream struct {
	src *Source
	out chan broker.OrderEvent
	st  status

	// owned by the polling goroutine
	seen     map[string]seenOrder // orders working at the last poll, by id
	ended    map[string]seenOrder // terminal orders already emitted, for the lookback window
	lastPoll time.Time
	lastOK   time.Time
}

func (ps *orderStream) Events() <-chan broker.OrderEvent { return ps.out }
func (ps *orderStream) Err() error                       { return nil }
func (ps *orderStream) Status() broker.StreamStatus      { return ps.st.get() }

// run emits what each poll found, then waits for the next, until ctx ends.
func (ps *orderStream) run(ctx context.Context, events []broker.OrderEvent) {
	defer close(ps.out)
	defer ps.st.end()
	for {
		for _, ev := range events {
			select {
			case ps.out <- ev:
			case <-ctx.Done():
				return
			}
		}
		period := ps.src.cfg.IdleOrderPeriod
		if len(ps.seen) > 0 {
			period = ps.src.cfg.OrderPeriod
		}
		if clock.Sleep(ctx, ps.src.clk, period) != nil {
			return
		}
		var err error
		if events, err = ps.poll(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			ps.src.log.Warn("pollstream: order poll failed", "broker", ps.src.b.Name(), "err", err)
			ps.st.failed(err)
			events = nil
		}
	}
}

// poll reads the broker once and returns the events for what changed.
func (ps *orderStream) poll(ctx context.Context) ([]broker.OrderEvent, error) {
	s := ps.src
	start := s.clk.Now()
	if err := s.wait(ctx, s.orderLim, &s.orderN); err != nil {
		return nil, err
	}
	open, err := s.b.OpenOrders(ctx)
	if err != nil {
		return nil, err
	}
	var events []broker.OrderEvent
	now := s.clk.Now()
	if ps.st.ok(now) {
		events = append(events, broker.OrderEvent{Kind: broker.OrderEventGap, Since: ps.lastOK})
	}
	listed := make(map[string]seenOrder, len(open))
	for _, o := range open {
		cur := seen(o)
		listed[o.OrderID] = cur
		if prev, ok := ps.seen[o.OrderID]; !ok || !prev.same(cur) {
			events = append(events, snapshotEvent(o))
		}
	}
	gone := 0
	for id := range ps.seen {
		if _, ok := listed[id]; !ok {
			gone++
		}
	}
	ended, err := ps.readEnded(ctx, listed, gone)
	if err != nil {
		return events, nil // read again at the next poll: ps.seen keeps them
	}
	for _, o := range ended {
		events = append(events, snapshotEvent(o))
	}
	ps.seen, ps.lastPoll, ps.lastOK = listed, start, now
	return events, nil
}

// readEnded returns the orders that ended since the last poll and were not
// emitted yet: those that left the open list and, with an OrderLister,
// those born and ended between two polls.
func (ps *orderStream) readEnded(ctx context.Context, listed map[string]seenOrder, gone int) ([]broker.Order, error) {
	s := ps.src
	var out []broker.Order
	if s.lister != nil {
		if ps.lastPoll.IsZero() {
			return nil, nil // the first poll is the baseline
		}
		if err := s.wait(ctx, s.orderLim, &s.orderN); err != nil {
			return nil, err
		}
		from := ps.lastPoll.Add(-s.cfg.Lookback)
		for _, p := range ps.seen {
			if p.createdAt.Before(from) {
				from = p.createdAt
			}
		}
		recent, err := s.lister.Orders(ctx, broker.OrderQuery{From: from})
		if err != nil {
			return nil, err
		}
		if ps.ended == nil {
			ps.ended = make(map[string]seenOrder)
		}
		for _, o := range recent {
			if _, working := listed[o.OrderID]; working || !o.Status.Terminal() {
				continue
			}
			if prev, ok := ps.ended[o.OrderID]; ok && prev.same(seen(o)) {
				continue
			}
			ps.ended[o.OrderID] = seen(o)
			out = append(out, o)
		}
		for id, e := range ps.ended { // forget what left the window
			if e.createdAt.Before(from) {
				delete(ps.ended, id)
			}
		}
		return out, nil
	}
	for id := range ps.seen {
		if _, ok := listed[id]; ok {
			continue
		}
		if err := s.wait(ctx, s.orderLim, &s.orderN); err != nil {
			return nil, err
		}
		o, err := s.b.GetOrder(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	broker.SortOldestFirst(out)
	return out, nil
}

func snapshotEvent(o broker.Order) broker.OrderEvent {
	return broker.OrderEvent{Kind: broker.OrderEventSnapshot, OrderID: o.OrderID, ClientOrderID: o.ClientOrderID,
		Snapshot: o, RawStatus: o.RawStatus, Time: o.UpdatedAt}
}
