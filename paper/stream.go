package paper

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/errors"
)

var (
	_ broker.OrderStreamer = (*Broker)(nil)
	_ broker.QuoteStreamer = (*Broker)(nil)
)

// StreamFault is what the stream fault injector does to one message.
type StreamFault uint8

// The stream faults, decided per message by Faults.Stream.
const (
	// StreamDeliver delivers the message.
	StreamDeliver StreamFault = iota
	// StreamDrop ends the connection as the message is sent: the message
	// is lost, the stream is not live and counts a reconnect. An order
	// stream then reports an OrderEventGap and is live again; a quote
	// stream is live again with its next message.
	StreamDrop
	// StreamDuplicate delivers the message twice.
	StreamDuplicate
	// StreamReorder holds the message back and delivers it after the next
	// one.
	StreamReorder
)

// StreamFaultEvery returns a Faults.Stream hook that does f to every nth
// message of each stream (n > 0) and delivers the others.
func StreamFaultEvery(f StreamFault, n uint64) func(seq uint64) StreamFault {
	return func(seq uint64) StreamFault {
		if n > 0 && seq%n == 0 {
			return f
		}
		return StreamDeliver
	}
}

// StreamOrders implements [broker.OrderStreamer]: every acceptance, fill,
// cancel request, cancel and replace of the broker's orders, from the
// moment it happens, until ctx ends. Each fill event carries the order's
// snapshot (cumulative quantity) after the fill. Faults.Stream injects
// drops, duplicates and reorders.
func (b *Broker) StreamOrders(ctx context.Context) (broker.OrderStream, error) {
	if err := ctx.Err(); err != nil {
		return nil, b.ctxError("stream orders", err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	p := newPipe[broker.OrderEvent](b, func(since time.Time) (broker.OrderEvent, bool) {
		return broker.OrderEvent{Kind: broker.OrderEventGap, Since: since}, true
	})
	b.orderStreams = append(b.orderStreams, p)
	go p.run(ctx, func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		b.orderStreams = slices.DeleteFunc(b.orderStreams, func(q *pipe[broker.OrderEvent]) bool { return q == p })
	})
	return orderStream{p}, nil
}

// StreamQuotes implements [broker.QuoteStreamer]: a quote for each
// subscribed symbol on every SetPrice, until ctx ends. Faults.Stream
// injects drops, duplicates and reorders.
func (b *Broker) StreamQuotes(ctx context.Context, symbols ...string) (broker.QuoteStream, error) {
	if err := ctx.Err(); err != nil {
		return nil, b.ctxError("stream quotes", err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	qs := &quoteStream{pipe: newPipe[broker.StreamQuote](b, nil), symbols: make(map[string]bool)}
	for _, s := range symbols {
		qs.symbols[s] = true
	}
	b.quoteStreams = append(b.quoteStreams, qs)
	go qs.run(ctx, func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		b.quoteStreams = slices.DeleteFunc(b.quoteStreams, func(q *quoteStream) bool { return q == qs })
	})
	return qs, nil
}

// emitOrder sends ev to every order stream. The caller holds b.mu.
func (b *Broker) emitOrder(kind broker.OrderEventKind, o *order, fill *broker.Fill) {
	if len(b.orderStreams) == 0 {
		return
	}
	ev := broker.OrderEvent{Kind: kind, OrderID: o.snap.OrderID, ClientOrderID: o.snap.ClientOrderID,
		Snapshot: o.snapshot(), NewOrderID: o.snap.ReplacedBy, RawStatus: o.snap.RawStatus,
		Reason: o.snap.RejectReason, Time: o.snap.UpdatedAt}
	if fill != nil {
		ev.Fill, ev.Time = *fill, fill.Time
	}
	for _, p := range b.orderStreams {
		p.push(ev)
	}
}

// emitQuote sends a quote of symbol to the streams subscribed to it. The
// caller holds b.mu.
func (b *Broker) emitQuote(symbol string, p price) {
	q := broker.StreamQuote{Quote: broker.Quote{Symbol: symbol, Bid: p.value, Ask: p.value, Last: p.value, Time: p.at}}
	for _, s := range b.quoteStreams {
		if s.subscribed(symbol) {
			s.push(q)
		}
	}
}

// pipe is one stream's connection: messages are queued without blocking
// the broker (which holds its lock) and handed to the consumer by the
// stream's goroutine, in order, the faults applied on the way in.
type pipe[T any] struct {
	b     *Broker
	fault func(uint64) StreamFault
	// reconnected is the message a drop is followed by (an order stream's
	// gap), if any.
	reconnected func(since time.Time) (T, bool)
	out         chan T

	mu       sync.Mutex
	queue    []T
	held     []T // a reordered message, sent after the next
	seq      uint64
	status   broker.StreamStatus
	lastSent time.Time
	wake     chan struct{}
}

func newPipe[T any](b *Broker, reconnected func(time.Time) (T, bool)) *pipe[T] {
	return &pipe[T]{b: b, fault: b.cfg.Faults.Stream, reconnected: reconnected, out: make(chan T),
		status: broker.StreamStatus{Live: true, LastMessage: b.cfg.Clock.Now()}, wake: make(chan struct{}, 1)}
}

// push queues one message through the fault injector. Called with b.mu
// held; it never blocks.
func (p *pipe[T]) push(m T) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.seq++
	now := p.b.cfg.Clock.Now()
	f := StreamDeliver
	if p.fault != nil {
		f = p.fault(p.seq)
	}
	switch f {
	case StreamDrop:
		p.status.Live = false
		p.status.Reconnects++
		p.status.LastError = &errors.BrokerError{Broker: Name, Op: "stream", Kind: errors.ErrNetwork,
			Message: "injected fault: stream connection dropped"}
		if p.reconnected != nil {
			if gap, ok := p.reconnected(p.lastSent); ok {
				p.queue = append(p.queue, gap)
				p.status.Live = true
			}
		}
		p.queue = append(p.queue, p.held...)
		p.held = nil
	case StreamReorder:
		p.held = append(p.held, m)
	case StreamDuplicate:
		p.queue = append(p.queue, m, m)
	default:
		p.queue = append(p.queue, m)
	}
	if f != StreamReorder && f != StreamDrop {
		p.queue = append(p.queue, p.held...)
		p.held = nil
	}
	if f != StreamDrop {
		p.status.Live = true
		p.lastSent = now
	}
	if p.status.Live {
		p.status.LastMessage = now
	}
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// run hands queued messages to the consumer until ctx ends, then closes
// the channel and detaches the stream.
func (p *pipe[T]) run(ctx context.Context, detach func()) {
	defer close(p.out)
	defer detach()
	for {
		p.mu.Lock()
		batch := p.queue
		p.queue = nil
		p.mu.Unlock()
		for _, m := range batch {
			select {
			case p.out <- m:
			case <-ctx.Done():
				p.end()
				return
			}
		}
		select {
		case <-p.wake:
		case <-ctx.Done():
			p.end()
			return
		}
	}
}

func (p *pipe[T]) end() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.status.Live = false
}

// Status implements broker.OrderStream and broker.QuoteStream.
//
// A live paper stream is heard from now: it runs in the process, so its
// silence means nothing happened, not a lost connection (a network stream
// proves itself with heartbeats instead).
func (p *pipe[T]) Status() broker.StreamStatus {
	p.mu.Lock()
	defer p.mu.Unlock()
	st := p.status
	if st.Live {
		st.LastMessage = p.b.cfg.Clock.Now()
	}
	return st
}

// Err implements broker.OrderStream and broker.QuoteStream: a paper stream
// only ends cleanly, when its context ends.
func (p *pipe[T]) Err() error { return nil }

type orderStream struct{ *pipe[broker.OrderEvent] }

func (s orderStream) Events() <-chan broker.OrderEvent { return s.out }

type quoteStream struct {
	*pipe[broker.StreamQuote]
	symbols map[string]bool // guarded by the broker's lock
}

func (s *quoteStream) subscribed(symbol string) bool { return s.symbols[symbol] }

// Quotes implements broker.QuoteStream.
func (s *quoteStream) Quotes() <-chan broker.StreamQuote { return s.out }

// Subscribe implements broker.QuoteStream.
func (s *quoteStream) Subscribe(ctx context.Context, symbols ...string) error {
	if err := ctx.Err(); err != nil {
		return s.b.ctxError("subscribe", err)
	}
	s.b.mu.Lock()
	defer s.b.mu.Unlock()
	for _, sym := range symbols {
		s.symbols[sym] = true
	}
	return nil
}

// Unsubscribe implements broker.QuoteStream.
func (s *quoteStream) Unsubscribe(ctx context.Context, symbols ...string) error {
	if err := ctx.Err(); err != nil {
		return s.b.ctxError("unsubscribe", err)
	}
	s.b.mu.Lock()
	defer s.b.mu.Unlock()
	for _, sym := range symbols {
		delete(s.symbols, sym)
	}
	return nil
}
