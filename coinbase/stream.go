package coinbase

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/errors"
)

// Stream defaults.
const (
	// DefaultMarketStreamURL is Coinbase's market data WebSocket.
	DefaultMarketStreamURL = "wss://advanced-trade-ws.coinbase.com"
	// DefaultUserStreamURL is Coinbase's user order data WebSocket.
	DefaultUserStreamURL = "wss://advanced-trade-ws-user.coinbase.com"
	// DefaultHeartbeatTimeout is how long a connection may stay silent
	// (heartbeats come every second) before it is dropped and replaced.
	DefaultHeartbeatTimeout = 10 * time.Second
	// DefaultConfirmDelay is how long after a provisional fill the order is
	// fetched by REST for its executions.
	DefaultConfirmDelay = time.Second
	// DefaultMaxReconnects is how many consecutive failed reconnections a
	// stream makes before it gives up (its channel closes with Err set).
	DefaultMaxReconnects = 8
	// DefaultReconnectBackoff and DefaultMaxReconnectBackoff bound the
	// exponential backoff (with jitter) between reconnections; the first
	// reconnection after a healthy connection is immediate.
	DefaultReconnectBackoff    = 500 * time.Millisecond
	DefaultMaxReconnectBackoff = 30 * time.Second
	// DefaultStreamReadLimit is the largest frame read (the Python SDK's
	// 10 MiB, for large user snapshots).
	DefaultStreamReadLimit = 10 << 20
	// snapshotBatch is the user snapshot's batch size: a smaller batch is
	// the last one.
	snapshotBatch = 50
	// confirmAttempts is how many REST fetches try to see a provisional
	// fill confirmed before the order is reported as a gap instead.
	confirmAttempts = 5
)

// StreamConfig tunes the WebSocket streams. The zero value uses the
// defaults.
type StreamConfig struct {
	// MarketURL and UserURL are the endpoints (ws:// or wss://). Defaults
	// [DefaultMarketStreamURL], [DefaultUserStreamURL]; an emulator's in
	// tests.
	MarketURL, UserURL string
	// HeartbeatTimeout: default [DefaultHeartbeatTimeout].
	HeartbeatTimeout time.Duration
	// ConfirmDelay: default [DefaultConfirmDelay].
	ConfirmDelay time.Duration
	// MaxReconnects: default [DefaultMaxReconnects].
	MaxReconnects int
	// ReconnectBackoff and MaxReconnectBackoff: defaults
	// [DefaultReconnectBackoff], [DefaultMaxReconnectBackoff].
	ReconnectBackoff, MaxReconnectBackoff time.Duration
	// ReadLimit is the largest frame accepted, in bytes. Default
	// [DefaultStreamReadLimit].
	ReadLimit int64
}

func (c *StreamConfig) applyDefaults() error {
	if c.HeartbeatTimeout < 0 || c.ConfirmDelay < 0 || c.MaxReconnects < 0 || c.ReconnectBackoff < 0 ||
		c.MaxReconnectBackoff < 0 || c.ReadLimit < 0 {
		return configError("negative value in Stream config")
	}
	if c.MarketURL == "" {
		c.MarketURL = DefaultMarketStreamURL
	}
	if c.UserURL == "" {
		c.UserURL = DefaultUserStreamURL
	}
	for _, u := range []string{c.MarketURL, c.UserURL} {
		if !hasAnyPrefix(u, "ws://", "wss://") {
			return configError("stream URL %q is not a ws:// or wss:// URL", u)
		}
	}
	setDefault(&c.HeartbeatTimeout, DefaultHeartbeatTimeout)
	setDefault(&c.ConfirmDelay, DefaultConfirmDelay)
	setDefault(&c.MaxReconnects, DefaultMaxReconnects)
	setDefault(&c.ReconnectBackoff, DefaultReconnectBackoff)
	setDefault(&c.MaxReconnectBackoff, DefaultMaxReconnectBackoff)
	setDefault(&c.ReadLimit, DefaultStreamReadLimit)
	return nil
}

func hasAnyPrefix(s string, prefixes ...string) bool {
	for _, p := range prefixes {
		if len(s) > len(p) && s[:len(p)] == p {
			return true
		}
	}
	return false
}

var (
	_ broker.OrderStreamer = (*Broker)(nil)
	_ broker.QuoteStreamer = (*Broker)(nil)
)

// streamHubs holds the Broker's two shared connections, each started by
// its first stream and stopped after its last.
type streamHubs struct {
	mu     sync.Mutex
	user   *hub
	market *hub
}

// StreamOrders starts an order-event stream on the user channel (user data
// endpoint). It returns once the user snapshot has been read, or with the
// first connection's error; with Config.OAuth it returns
// errors.ErrNotSupported (see the package documentation, Streams).
//
// The user channel carries cumulative totals, no executions. An update
// whose cumulative_quantity grew is delivered at once as a provisional
// snapshot (OrderEventSnapshot, Provisional true, no Fills;
// FilledQuantity is cumulative_quantity in base units, LeavesQuantity only
// for limit and stop-limit orders, as a market order's may be in quote
// currency). After StreamConfig.ConfirmDelay the adapter fetches the order
// by REST (GetOrder, whose Fills carry Coinbase's trade_id) and delivers it
// as a snapshot with Provisional false, for the consumer to replace the
// provisional fill with the confirmed ones; an order REST does not confirm
// after five tries is reported as a gap instead. Snapshot frames never
// imply fills: they set the baseline, and an order whose cumulative grew
// beyond what the stream knew (after a reconnection) is fetched the same
// way.
//
// Status-only changes are delivered as their own kinds: CANCEL_QUEUED as
// OrderEventCancelRequested, CANCELLED as OrderEventCanceled, EXPIRED as
// OrderEventExpired, FAILED as OrderEventRejected (Reason from
// reject_reason), a newly seen working order as OrderEventAccepted; FILLED
// is told by the snapshots. An unknown status keeps the last known one and
// is logged. A cumulative_quantity that goes backwards is not applied: it
// is logged and reported as a gap.
//
// Gaps (OrderEventGap, Since the broker time of the last user-channel
// frame before it): every reconnection, reported once the new
// connection's snapshot is complete; a sequence_num or heartbeat_counter
// jump; a connection silent for StreamConfig.HeartbeatTimeout (it is then
// replaced). Orders that ended while disconnected are absent from the new
// snapshot: the consumer's REST reconciliation finds them.
func (b *Broker) StreamOrders(ctx context.Context) (broker.OrderStream, error) {
	if b.signer == nil {
		return nil, &errors.BrokerError{Broker: brokerName, Op: "stream orders", Kind: errors.ErrNotSupported,
			Message: "the user channel authenticates with a CDP API key JWT; OAuth is not documented for the WebSocket"}
	}
	f := newFanout[broker.OrderEvent]()
	h := b.join(true, func(h *hub) { h.orderSubs[f] = struct{}{} })
	s := &orderStream{f: f, h: h}
	if err := b.startConsumer(ctx, h, f.run, func() { b.leave(h, func() { delete(h.orderSubs, f) }) }, f.finished); err != nil {
		return nil, err
	}
	return s, nil
}

// StreamQuotes starts a quote stream on the ticker channel (market data
// endpoint) for symbols, Coinbase product ids; more with Subscribe. It
// returns once the market connection is subscribed, or with the first
// connection's error. ticker, not ticker_batch: ticker_batch carries no
// best bid and ask and comes every 5 s, while a stop-loss needs the touch
// as it moves. Quotes carry best_bid, best_ask, price (Last), their sizes
// and the frame's timestamp. The streams of one Broker share the
// connection: a product is subscribed when the first stream wants it and
// unsubscribed when the last one drops it. -USD and -USDC ids are not
// aliased here (Coinbase sends -USD data for -USDC tickers).
func (b *Broker) StreamQuotes(ctx context.Context, symbols ...string) (broker.QuoteStream, error) {
	f := newFanout[broker.StreamQuote]()
	q := &quoteStream{f: f, syms: map[string]bool{}}
	h := b.join(false, func(h *hub) {
		h.quoteSubs[q] = struct{}{}
		h.addWants(q, symbols)
	})
	q.h = h
	h.sendWants() // a hub already connected subscribes what is new; a new one subscribes it all
	if err := b.startConsumer(ctx, h, f.run, func() { b.leave(h, func() { h.dropWants(q) }) }, f.finished); err != nil {
		return nil, err
	}
	return q, nil
}

// join returns the running hub of one endpoint, starting it if needed, and
// registers a consumer on it while no other join or leave can interleave.
func (b *Broker) join(user bool, register func(*hub)) *hub {
	b.streams.mu.Lock()
	defer b.streams.mu.Unlock()
	slot := &b.streams.market
	if user {
		slot = &b.streams.user
	}
	if h := *slot; h != nil {
		h.mu.Lock()
		over := h.over
		if !over {
			register(h)
		}
		h.mu.Unlock()
		if !over {
			return h
		}
	}
	// None yet, or one that gave up (it ended its consumers under h.mu, so
	// none registered after that is left waiting on it): a new connection.
	h := newHub(b, user)
	*slot = h
	h.mu.Lock()
	register(h)
	h.mu.Unlock()
	h.start()
	return h
}

// leave unregisters a consumer; the last one out stops the hub and waits
// for its goroutines, so that a closed stream leaves nothing running.
func (b *Broker) leave(h *hub, unregister func()) {
	b.streams.mu.Lock()
	defer b.streams.mu.Unlock()
	h.mu.Lock()
	unregister()
	empty := len(h.orderSubs) == 0 && len(h.quoteSubs) == 0
	h.mu.Unlock()
	if !empty {
		h.sendWants()
		return
	}
	if b.streams.user == h {
		b.streams.user = nil
	}
	if b.streams.market == h {
		b.streams.market = nil
	}
	h.stop()
}

// startConsumer runs a consumer's delivery goroutine and waits until the
// hub is live. If it fails first, the consumer is taken down again and the
// error returned.
func (b *Broker) startConsumer(ctx context.Context, h *hub, run func(context.Context, func()), leave func(), finished <-chan struct{}) error {
	cctx, cancel := context.WithCancel(ctx)
	go run(cctx, func() { cancel(); leave() })
	var err error
	select {
	case <-h.liveCh:
		return nil
	case <-h.done:
		err = h.failure()
		if err == nil {
			err = &errors.BrokerError{Broker: brokerName, Op: "stream", Kind: errors.ErrBrokerUnavailable, Message: "stream stopped"}
		}
	case <-ctx.Done():
		err = ctx.Err()
	}
	cancel()
	<-finished
	return err
}

// orderStream is one consumer of the user channel.
type orderStream struct {
	f *fanout[broker.OrderEvent]
	h *hub
}

// Events delivers the events in the order received.
func (s *orderStream) Events() <-chan broker.OrderEvent { return s.f.out }

// Err says why the stream stopped; nil while it runs or after ctx ended.
func (s *orderStream) Err() error { return s.f.failure() }

// Status reports the shared user connection's health.
func (s *orderStream) Status() broker.StreamStatus { return s.h.statusNow() }

// quoteStream is one consumer of the ticker channel, with its own products.
type quoteStream struct {
	f    *fanout[broker.StreamQuote]
	h    *hub
	syms map[string]bool // guarded by h.mu
}

// Quotes delivers the quotes of the stream's products.
func (q *quoteStream) Quotes() <-chan broker.StreamQuote { return q.f.out }

// Err says why the stream stopped; nil while it runs or after ctx ended.
func (q *quoteStream) Err() error { return q.f.failure() }

// Status reports the shared market connection's health.
func (q *quoteStream) Status() broker.StreamStatus { return q.h.statusNow() }

// Subscribe adds symbols. It sends a subscribe only for the products no
// other stream of the Broker already receives. A failed send is not an
// error once the product is recorded: the connection is then being
// replaced, and the new one subscribes every recorded product.
func (q *quoteStream) Subscribe(ctx context.Context, symbols ...string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if q.h.finished() {
		return &errors.BrokerError{Broker: brokerName, Op: "stream subscribe", Kind: errors.ErrBrokerUnavailable, Message: "the quote stream has ended"}
	}
	q.h.mu.Lock()
	q.h.addWants(q, symbols)
	q.h.mu.Unlock()
	q.h.sendWants()
	return nil
}

// Unsubscribe removes symbols; products that no stream wants any more are
// unsubscribed.
func (q *quoteStream) Unsubscribe(ctx context.Context, symbols ...string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	q.h.mu.Lock()
	for _, s := range symbols {
		if q.syms[s] {
			delete(q.syms, s)
			q.h.wanted[s]--
		}
	}
	q.h.mu.Unlock()
	q.h.sendWants()
	return nil
}

// fanout is one consumer's queue: the hub pushes without ever blocking on
// a slow consumer, and the consumer's goroutine delivers in order.
type fanout[T any] struct {
	out      chan T
	wake     chan struct{}
	finished chan struct{}

	mu    sync.Mutex
	queue []T
	ended bool
	err   error
}

func newFanout[T any]() *fanout[T] {
	return &fanout[T]{out: make(chan T), wake: make(chan struct{}, 1), finished: make(chan struct{})}
}

func (f *fanout[T]) push(v T) {
	f.mu.Lock()
	if !f.ended {
		f.queue = append(f.queue, v)
	}
	f.mu.Unlock()
	f.signal()
}

// end stops the consumer after what is queued; err (nil: a clean end) is
// what Err then reports.
func (f *fanout[T]) end(err error) {
	f.mu.Lock()
	if !f.ended {
		f.ended, f.err = true, err
	}
	f.mu.Unlock()
	f.signal()
}

func (f *fanout[T]) signal() {
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

func (f *fanout[T]) failure() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.err
}

// run delivers until ctx ends or the hub ends the consumer; then it leaves
// the hub and closes the channel.
func (f *fanout[T]) run(ctx context.Context, leave func()) {
	defer close(f.finished)
	defer close(f.out)
	defer leave()
	for {
		f.mu.Lock()
		if len(f.queue) == 0 {
			ended := f.ended
			f.mu.Unlock()
			if ended {
				return
			}
			select {
			case <-f.wake:
				continue
			case <-ctx.Done():
				return
			}
		}
		v := f.queue[0]
		var zero T
		f.queue[0] = zero
		f.queue = f.queue[1:]
		f.mu.Unlock()
		select {
		case f.out <- v:
		case <-ctx.Done():
			return
		}
	}
}

func streamError(op string, kind errors.Kind, err error) error {
	return &errors.BrokerError{Broker: brokerName, Op: op, Kind: kind, Err: err}
}

// errStale is a connection that went silent.
func errStale(d time.Duration) error {
	return &errors.BrokerError{Broker: brokerName, Op: "stream", Kind: errors.ErrTimeout,
		Message: fmt.Sprintf("no frame for %s (heartbeats stopped)", d)}
}
