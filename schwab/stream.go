package schwab

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/maphash"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/clock"
	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/internal/httpx"
	"github.com/cenkalti/backoff/v4"
	"github.com/coder/websocket"
)

// StreamConfig tunes the Schwab Streamer connection behind StreamOrders and
// StreamQuotes. Zero values take the defaults.
type StreamConfig struct {
	// HeartbeatTimeout is how long total silence (no data, no heartbeat)
	// means a dead socket; default 30 s (Schwab heartbeats about every 10 s).
	HeartbeatTimeout time.Duration
	// BackoffInitial and BackoffMax bound the reconnect backoff (doubling,
	// with jitter); default 2 s and 120 s.
	BackoffInitial, BackoffMax time.Duration
	// GiveUpAfter is how long the adapter keeps reconnecting without getting
	// a live connection before it ends every stream with the last error;
	// default 10 min.
	GiveUpAfter time.Duration
	// TokenCheck is how often the token source is asked for the access
	// token; a new value is sent in a fresh LOGIN. Default 1 min.
	TokenCheck time.Duration
	// Buffer is how many events (order stream) or symbols (quote stream) a
	// slow consumer may fall behind; beyond it an order stream reports a
	// gap instead of blocking, a quote stream keeps the latest quote per
	// symbol. Default 1024.
	Buffer int
}

func (c StreamConfig) validate() error {
	if c.HeartbeatTimeout < 0 || c.BackoffInitial < 0 || c.BackoffMax < 0 || c.GiveUpAfter < 0 || c.TokenCheck < 0 || c.Buffer < 0 {
		return configErr("Stream durations and Buffer must not be negative")
	}
	return nil
}

func (c StreamConfig) withDefaults() StreamConfig {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&c.HeartbeatTimeout, 30*time.Second)
	def(&c.BackoffInitial, 2*time.Second)
	def(&c.BackoffMax, 120*time.Second)
	def(&c.GiveUpAfter, 10*time.Minute)
	def(&c.TokenCheck, time.Minute)
	if c.Buffer == 0 {
		c.Buffer = 1024
	}
	return c
}

var (
	_ broker.OrderStreamer = (*Broker)(nil)
	_ broker.QuoteStreamer = (*Broker)(nil)
)

// StreamOrders streams the account's order events from the streamer's
// ACCT_ACTIVITY service. All of the Broker's streams share one streamer
// connection (Schwab allows one per user); the adapter reconnects by itself
// and reports each interruption as an OrderEventGap once it is subscribed
// again. A message the adapter does not understand becomes a snapshot read
// by REST (or a gap if that read fails).
func (b *Broker) StreamOrders(ctx context.Context) (broker.OrderStream, error) {
	s := &orderStream{consumer: newConsumer(b.stream)}
	if err := b.stream.start(ctx, s); err != nil {
		return nil, err
	}
	return s, nil
}

// StreamQuotes streams level-one quotes for symbols from LEVELONE_EQUITIES,
// or LEVELONE_OPTIONS for OSI option symbols, on the Broker's one streamer
// connection. Symbols wanted by several streams are subscribed once.
func (b *Broker) StreamQuotes(ctx context.Context, symbols ...string) (broker.QuoteStream, error) {
	syms, err := cleanSymbols(symbols)
	if err != nil {
		return nil, err
	}
	s := &quoteStream{consumer: newConsumer(b.stream), syms: map[string]bool{}}
	s.pending = make(map[string]broker.StreamQuote)
	if err := b.stream.start(ctx, s, syms...); err != nil {
		return nil, err
	}
	return s, nil
}

func cleanSymbols(symbols []string) ([]string, error) {
	out := make([]string, 0, len(symbols))
	for _, s := range symbols {
		if s == "" || strings.ContainsAny(s, ",\x00") || len(s) > 64 {
			return nil, &errors.BrokerError{Broker: Name, Op: "stream quotes", Kind: errors.ErrInvalidOrder,
				Message: fmt.Sprintf("bad symbol %q", s)}
		}
		out = append(out, s)
	}
	return out, nil
}

// streamer is one consumer (an order or quote stream) as the hub sees it.
type streamer interface {
	base() *consumer
}

// consumer is what order and quote streams share: their forwarder's
// plumbing, their error and their view of the connection's status.
type consumer struct {
	hub    *streamHub
	signal chan struct{}      // buffered 1: something was queued
	ended  chan struct{}      // closed when the hub gave up (err set)
	done   chan struct{}      // closed when the forwarder has returned
	cancel context.CancelFunc // ends the forwarder (the stream's context's child)

	mu         sync.Mutex
	err        error
	reconnects int // hub's reconnect count when this stream started
}

func newConsumer(h *streamHub) *consumer {
	return &consumer{hub: h, signal: make(chan struct{}, 1), ended: make(chan struct{}), done: make(chan struct{})}
}

func (c *consumer) base() *consumer { return c }

func (c *consumer) poke() {
	select {
	case c.signal <- struct{}{}:
	default:
	}
}

// Err returns why the stream ended, or nil.
func (c *consumer) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Status reports the shared connection's health as seen by this stream.
func (c *consumer) Status() broker.StreamStatus {
	st := c.hub.status()
	c.mu.Lock()
	st.Reconnects -= c.reconnects
	c.mu.Unlock()
	return st
}

// fail ends the stream with err (the hub gave up on it).
func (c *consumer) fail(err error) {
	c.mu.Lock()
	if c.err == nil {
		c.err = err
	}
	c.mu.Unlock()
	close(c.ended)
}

// orderStream is a broker.OrderStream.
type orderStream struct {
	*consumer
	out chan broker.OrderEvent

	qmu       sync.Mutex
	queue     []broker.OrderEvent
	overflow  bool      // events were dropped: a gap is owed
	lastEvent time.Time // receive time of the last event queued
}

// Events delivers the order events.
func (s *orderStream) Events() <-chan broker.OrderEvent { return s.out }

// push queues ev; past the buffer the events are replaced by one gap.
func (s *orderStream) push(ev broker.OrderEvent, received time.Time) {
	s.qmu.Lock()
	switch {
	case ev.Kind == broker.OrderEventGap:
		ev.Since = s.lastEvent
		s.queue = append(s.queue, ev)
	case len(s.queue) >= s.hub.cfg.Buffer:
		s.overflow = true
	default:
		if s.overflow {
			s.queue = append(s.queue, broker.OrderEvent{Kind: broker.OrderEventGap, Since: s.lastEvent, Time: received})
			s.overflow = false
		}
		s.queue = append(s.queue, ev)
		s.lastEvent = received
	}
	s.qmu.Unlock()
	s.poke()
}

func (s *orderStream) forward(ctx context.Context) {
	defer close(s.out) // last: a reader that sees it closed sees the stream done
	defer close(s.done)
	for {
		s.qmu.Lock()
		q := s.queue
		s.queue = nil
		s.qmu.Unlock()
		for _, ev := range q {
			select {
			case s.out <- ev:
			case <-ctx.Done():
				return
			}
		}
		if len(q) > 0 {
			continue
		}
		select {
		case <-s.signal:
		case <-s.ended:
			s.qmu.Lock()
			empty := len(s.queue) == 0
			s.qmu.Unlock()
			if empty {
				return
			}
		case <-ctx.Done():
			return
		}
	}
}

// quoteStream is a broker.QuoteStream. It conflates: a slow reader gets
// the latest quote of each symbol, never a stale backlog.
type quoteStream struct {
	*consumer
	out  chan broker.StreamQuote
	syms map[string]bool // owned by the hub's loop; read by fan-out under hub.mu

	qmu     sync.Mutex
	order   []string
	pending map[string]broker.StreamQuote
}

// Quotes delivers the quotes.
func (s *quoteStream) Quotes() <-chan broker.StreamQuote { return s.out }

// Subscribe adds symbols; it returns once Schwab confirmed them.
func (s *quoteStream) Subscribe(ctx context.Context, symbols ...string) error {
	syms, err := cleanSymbols(symbols)
	if err != nil {
		return err
	}
	if err := s.finished(); err != nil {
		return err
	}
	return s.hub.call(ctx, &hubOp{kind: opSubscribe, who: s, syms: syms})
}

// finished returns an error once the stream has ended: an ended stream
// takes no subscription (it would hold symbols, or a connection, for
// nobody).
func (c *consumer) finished() error {
	select {
	case <-c.done:
		if err := c.Err(); err != nil {
			return err
		}
		return streamGone()
	default:
		return nil
	}
}

// Unsubscribe removes symbols from this stream; Schwab is told to stop
// once no stream of the Broker wants them.
func (s *quoteStream) Unsubscribe(ctx context.Context, symbols ...string) error {
	return s.hub.call(ctx, &hubOp{kind: opUnsubscribe, who: s, syms: symbols})
}

func (s *quoteStream) push(q broker.StreamQuote) {
	s.qmu.Lock()
	if _, queued := s.pending[q.Symbol]; !queued {
		s.order = append(s.order, q.Symbol)
	}
	s.pending[q.Symbol] = q
	s.qmu.Unlock()
	s.poke()
}

func (s *quoteStream) forward(ctx context.Context) {
	defer close(s.out) // last: a reader that sees it closed sees the stream done
	defer close(s.done)
	for {
		s.qmu.Lock()
		var q broker.StreamQuote
		have := len(s.order) > 0
		if have {
			q = s.pending[s.order[0]]
			delete(s.pending, s.order[0])
			s.order = s.order[1:]
		}
		s.qmu.Unlock()
		if have {
			select {
			case s.out <- q:
			case <-ctx.Done():
				return
			}
			continue
		}
		select {
		case <-s.signal:
		case <-s.ended:
			s.qmu.Lock()
			empty := len(s.order) == 0
			s.qmu.Unlock()
			if empty {
				return
			}
		case <-ctx.Done():
			return
		}
	}
}

type opKind int

const (
	opRegister opKind = iota + 1
	opUnregister
	opSubscribe
	opUnsubscribe
)

// hubOp is a request to the hub's loop; reply gets one answer.
type hubOp struct {
	kind  opKind
	who   streamer
	syms  []string
	reply chan error
}

// streamHub owns the Broker's one streamer connection. A loop goroutine
// runs while at least one stream is open: it owns the socket, the
// subscriptions and the dedup state; streams talk to it through ops.
type streamHub struct {
	b   *Broker
	cfg StreamConfig
	clk clock.Clock
	// note, when set (tests), learns what the loop did: "backoff" (with the
	// wait, once its timer runs), "login" (a LOGIN was accepted), "live"
	// (serving, its timers running).
	note func(what string, wait time.Duration)

	mu       sync.Mutex
	run      *hubRun
	lastDone chan struct{} // closed when the previous loop has ended
	orders   map[*orderStream]bool
	quotes   map[*quoteStream]bool
	st       broker.StreamStatus
	last     map[string]broker.StreamQuote // last merged quote per subscribed symbol

	// Dedup that outlives a connection (process-wide, bounded).
	execIDs  *boundedSet
	contents *boundedSet
	seed     maphash.Seed
	replaced *boundedSet // order ids already reported replaced

	eastern    *time.Location // the zone of DateTimeString
	easternErr error
}

type hubRun struct {
	ops  chan *hubOp
	done chan struct{}
}

func newStreamHub(b *Broker) *streamHub {
	done := make(chan struct{})
	close(done)
	eastern, err := time.LoadLocation("America/New_York")
	return &streamHub{eastern: eastern, easternErr: err, b: b, cfg: b.cfg.Stream.withDefaults(), clk: b.clock, lastDone: done,
		orders: map[*orderStream]bool{}, quotes: map[*quoteStream]bool{}, last: map[string]broker.StreamQuote{},
		execIDs: newBoundedSet(1 << 16), contents: newBoundedSet(1 << 12), replaced: newBoundedSet(1 << 12),
		seed: maphash.MakeSeed()}
}

func (h *streamHub) noted(what string, wait time.Duration) {
	if h.note != nil {
		h.note(what, wait)
	}
}

func (h *streamHub) status() broker.StreamStatus {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.st
}

// start runs s's forwarder and registers it; it returns once the stream is
// subscribed, or the error that prevented it (the stream is then closed).
func (h *streamHub) start(ctx context.Context, s streamer, syms ...string) error {
	if h.easternErr != nil {
		return configErr("time zone America/New_York is not available: " + h.easternErr.Error())
	}
	c := s.base()
	switch v := s.(type) {
	case *orderStream:
		v.out = make(chan broker.OrderEvent)
	case *quoteStream:
		v.out = make(chan broker.StreamQuote)
	}
	fctx, cancel := context.WithCancel(ctx)
	c.cancel = cancel
	h.mu.Lock()
	c.reconnects = h.st.Reconnects
	h.mu.Unlock()
	go func() {
		switch v := s.(type) {
		case *orderStream:
			v.forward(fctx)
		case *quoteStream:
			v.forward(fctx)
		}
		h.callIfRunning(&hubOp{kind: opUnregister, who: s})
	}()
	if err := h.call(ctx, &hubOp{kind: opRegister, who: s, syms: syms}); err != nil {
		cancel()
		<-c.done
		return err
	}
	return nil
}

// call sends op to the loop (starting one if none runs) and waits for its
// answer.
func (h *streamHub) call(ctx context.Context, op *hubOp) error {
	op.reply = make(chan error, 1)
	for {
		r := h.ensureRun()
		select {
		case r.ops <- op:
			select {
			case err := <-op.reply:
				return err
			case <-ctx.Done():
				return ctx.Err()
			}
		case <-r.done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// callIfRunning sends op to a running loop, if any, without waiting.
func (h *streamHub) callIfRunning(op *hubOp) {
	op.reply = make(chan error, 1)
	h.mu.Lock()
	r := h.run
	h.mu.Unlock()
	if r == nil {
		return
	}
	select {
	case r.ops <- op:
	case <-r.done:
	}
}

func (h *streamHub) ensureRun() *hubRun {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.run == nil {
		r := &hubRun{ops: make(chan *hubOp), done: make(chan struct{})}
		h.run = r
		prev := h.lastDone
		h.lastDone = r.done
		go h.loop(r, prev)
	}
	return h.run
}

// streamGone answers an op for a stream that has ended.
func streamGone() error {
	return &errors.BrokerError{Broker: Name, Op: "stream quotes", Kind: errors.ErrShuttingDown,
		Message: "the quote stream has ended"}
}

// errNoConsumers ends a session cleanly: nobody wants the stream any more.
var errNoConsumers = fmt.Errorf("no stream left")

// errNothingWanted ends a session cleanly: the streams left want nothing
// (a quote stream without symbols), and Schwab closes an empty connection
// (code 30) anyway.
var errNothingWanted = fmt.Errorf("nothing subscribed")

// loopState is what the loop goroutine owns.
type loopState struct {
	consumers  int
	wantOrders bool
	refs       map[string]int // symbol → streams wanting it
	waiting    []*hubOp       // registrations and subscriptions to answer once live
	lost       bool           // a live connection was lost: a gap is owed
	lookups    sync.WaitGroup
}

func (h *streamHub) loop(r *hubRun, prev <-chan struct{}) {
	<-prev // the previous connection is closed: never two at once
	ctx, cancel := context.WithCancel(context.Background())
	ls := &loopState{refs: map[string]int{}}
	defer func() {
		cancel()
		ls.lookups.Wait()
		h.mu.Lock()
		h.run = nil
		h.st.Live = false
		h.mu.Unlock()
		close(r.done)
	}()
	bo := backoff.NewExponentialBackOff()
	bo.InitialInterval, bo.MaxInterval, bo.MaxElapsedTime = h.cfg.BackoffInitial, h.cfg.BackoffMax, h.cfg.GiveUpAfter
	bo.Multiplier = 2 // Schwabdev doubles from 2 s to 120 s (streaming.md §1.7)
	bo.Clock = h.clk
	bo.Reset()
	// The loop is started for an op (a stream registering): take it first,
	// so that the first connection's failure is that stream's answer.
	h.apply(ls, <-r.ops, nil)
	for {
		if !h.awaitWant(ctx, r, ls) {
			return
		}
		err := h.session(ctx, r, ls, bo)
		switch err {
		case errNoConsumers:
			return
		case errNothingWanted:
			ls.lost = false // no order stream is left to miss anything
			continue
		}
		h.mu.Lock()
		h.st.Live, h.st.LastError = false, err
		h.mu.Unlock()
		h.b.log.LogAttrs(ctx, slog.LevelWarn, "schwab streamer connection lost", slog.String("error", err.Error()))
		for _, op := range ls.waiting {
			h.failOp(ls, op, err)
		}
		ls.waiting = nil
		if ls.consumers == 0 {
			return
		}
		wait := bo.NextBackOff()
		if fatal(err) || wait == backoff.Stop {
			h.failAll(ls, err)
			return
		}
		if !h.idle(ctx, r, ls, wait) {
			return
		}
		h.mu.Lock()
		h.st.Reconnects++
		h.mu.Unlock()
	}
}

// awaitWant holds no connection while the streams want nothing, taking ops
// until one wants something; it reports false when no stream is left.
func (h *streamHub) awaitWant(ctx context.Context, r *hubRun, ls *loopState) bool {
	for !ls.wanted() {
		for _, op := range ls.waiting {
			op.reply <- nil // subscribed to nothing: done
		}
		ls.waiting = nil
		if ls.consumers == 0 {
			return false
		}
		h.mu.Lock()
		h.st.Live = false
		h.mu.Unlock()
		h.noted("idle", 0)
		select {
		case op := <-r.ops:
			h.apply(ls, op, nil)
		case <-ctx.Done():
			return false
		}
	}
	return true
}

func (ls *loopState) wanted() bool { return ls.wantOrders || len(ls.refs) > 0 }

// fatal reports errors not worth a reconnect: another session holds the
// user's one connection (code 12).
func fatal(err error) bool {
	var be *errors.BrokerError
	return errors.As(err, &be) && be.Code == strconv.Itoa(codeCloseConn)
}

// idle waits d before a reconnect, still taking ops; it reports false when
// no stream is left.
func (h *streamHub) idle(ctx context.Context, r *hubRun, ls *loopState, d time.Duration) bool {
	t := h.clk.NewTimer(d)
	defer t.Stop()
	h.noted("backoff", d) // the timer runs: a test may move the clock now
	for {
		select {
		case <-t.C():
			return true
		case op := <-r.ops:
			h.apply(ls, op, nil)
			if ls.consumers == 0 {
				return false
			}
		case <-ctx.Done():
			return false
		}
	}
}

func (h *streamHub) failOp(ls *loopState, op *hubOp, err error) {
	if op.kind == opRegister {
		h.drop(ls, op.who)
	}
	op.reply <- err
}

// failAll ends every stream with err.
func (h *streamHub) failAll(ls *loopState, err error) {
	h.mu.Lock()
	var all []streamer
	for s := range h.orders {
		all = append(all, s)
	}
	for s := range h.quotes {
		all = append(all, s)
	}
	h.mu.Unlock()
	for _, s := range all {
		h.drop(ls, s)
		s.base().fail(err)
	}
}

// drop forgets a stream (loop goroutine only).
func (h *streamHub) drop(ls *loopState, s streamer) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var gone []string
	switch v := s.(type) {
	case *orderStream:
		if !h.orders[v] {
			return nil
		}
		delete(h.orders, v)
		ls.wantOrders = len(h.orders) > 0
	case *quoteStream:
		if !h.quotes[v] {
			return nil
		}
		delete(h.quotes, v)
		for sym := range v.syms {
			if ls.refs[sym]--; ls.refs[sym] <= 0 {
				delete(ls.refs, sym)
				delete(h.last, sym)
				gone = append(gone, sym)
			}
		}
	}
	ls.consumers--
	return gone
}

// apply carries out op on the loop's record; conn is the live session (nil
// when not connected), through which new symbols are added at once.
func (h *streamHub) apply(ls *loopState, op *hubOp, sess *session) {
	switch op.kind {
	case opUnregister:
		gone := h.drop(ls, op.who)
		if sess != nil && len(gone) > 0 {
			sess.unsubscribe(gone, nil)
		}
		if sess != nil && !ls.wantOrders && sess.activity {
			sess.command(svcActivity, "UNSUBS", map[string]string{"keys": activityKey}, nil)
			sess.activity = false
		}
		op.reply <- nil
		return
	case opRegister:
		h.mu.Lock()
		switch v := op.who.(type) {
		case *orderStream:
			h.orders[v] = true
			ls.wantOrders = true
		case *quoteStream:
			h.quotes[v] = true
		}
		h.mu.Unlock()
		ls.consumers++
	case opUnsubscribe:
		qs := op.who.(*quoteStream)
		var gone []string
		h.mu.Lock()
		if !h.quotes[qs] {
			h.mu.Unlock()
			op.reply <- streamGone()
			return
		}
		for _, sym := range op.syms {
			if !qs.syms[sym] {
				continue
			}
			delete(qs.syms, sym)
			if ls.refs[sym]--; ls.refs[sym] <= 0 {
				delete(ls.refs, sym)
				delete(h.last, sym)
				gone = append(gone, sym)
			}
		}
		h.mu.Unlock()
		if sess != nil && len(gone) > 0 {
			sess.unsubscribe(gone, op)
			return
		}
		op.reply <- nil
		return
	}
	var added []string
	if qs, ok := op.who.(*quoteStream); ok {
		h.mu.Lock()
		if op.kind == opSubscribe && !h.quotes[qs] {
			h.mu.Unlock()
			op.reply <- streamGone()
			return
		}
		for _, sym := range op.syms {
			if qs.syms[sym] {
				continue
			}
			qs.syms[sym] = true
			if ls.refs[sym]++; ls.refs[sym] == 1 {
				added = append(added, sym)
			} else if q, ok := h.last[sym]; ok {
				qs.push(q) // already streaming: the newcomer gets the last full quote now
			}
		}
		h.mu.Unlock()
	}
	if sess == nil {
		ls.waiting = append(ls.waiting, op)
		return
	}
	if _, isOrder := op.who.(*orderStream); isOrder && !sess.activity {
		sess.subscribeActivity(op)
		return
	}
	if len(added) > 0 {
		sess.add(added, op)
		return
	}
	op.reply <- nil
}

// boundedSet remembers the last n keys.
type boundedSet struct {
	n    int
	keys map[string]struct{}
	fifo []string
}

func newBoundedSet(n int) *boundedSet { return &boundedSet{n: n, keys: map[string]struct{}{}} }

func (s *boundedSet) has(key string) bool {
	_, ok := s.keys[key]
	return ok
}

// add reports whether key is new, and remembers it.
func (s *boundedSet) add(key string) bool {
	if _, ok := s.keys[key]; ok {
		return false
	}
	if len(s.fifo) >= s.n {
		delete(s.keys, s.fifo[0])
		s.fifo = s.fifo[1:]
	}
	s.keys[key] = struct{}{}
	s.fifo = append(s.fifo, key)
	return true
}

// emitOrder hands ev to every order stream.
func (h *streamHub) emitOrder(ev broker.OrderEvent) {
	now := h.clk.Now()
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.orders {
		s.push(ev, now)
	}
}

// emitQuote records q and hands it to the streams that want its symbol.
func (h *streamHub) emitQuote(q broker.StreamQuote) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, wanted := h.last[q.Symbol]; !wanted && !h.anyWants(q.Symbol) {
		return
	}
	h.last[q.Symbol] = q
	for s := range h.quotes {
		if s.syms[q.Symbol] {
			s.push(q)
		}
	}
}

func (h *streamHub) anyWants(sym string) bool {
	for s := range h.quotes {
		if s.syms[sym] {
			return true
		}
	}
	return false
}

// streamerInfo is what userPreference says about the streamer.
type streamerInfo struct {
	URL, CustomerID, CorrelID, Channel, FunctionID string
}

type stStreamerInfo struct {
	StreamerSocketURL      string `json:"streamerSocketUrl"`
	SchwabClientCustomerID string `json:"schwabClientCustomerId"`
	SchwabClientCorrelID   string `json:"schwabClientCorrelId"`
	SchwabClientChannel    string `json:"schwabClientChannel"`
	SchwabClientFunctionID string `json:"schwabClientFunctionId"`
}

type stUserPreference struct {
	StreamerInfo []stStreamerInfo `json:"streamerInfo"`
}

// fetchStreamerInfo reads GET /trader/v1/userPreference (object or array
// of one object, streaming.md §1.1), each time a connection is opened.
func (b *Broker) fetchStreamerInfo(ctx context.Context) (streamerInfo, error) {
	resp, err := b.do(ctx, httpx.Request{Op: "user preference", Path: "/trader/v1/userPreference",
		Bucket: b.readBucket, Idempotent: true})
	if err != nil {
		return streamerInfo{}, err
	}
	info, err := decodeUserPreference(resp.Body)
	if err != nil {
		return streamerInfo{}, malformed("user preference", err)
	}
	return info, nil
}

func decodeUserPreference(body []byte) (streamerInfo, error) {
	body = maybeGunzip(body)
	var pref stUserPreference
	if trimmed := strings.TrimSpace(string(body)); strings.HasPrefix(trimmed, "[") {
		var arr []stUserPreference
		if err := json.Unmarshal(body, &arr); err != nil {
			return streamerInfo{}, err
		}
		if len(arr) == 0 {
			return streamerInfo{}, fmt.Errorf("userPreference is an empty array")
		}
		pref = arr[0]
	} else if err := json.Unmarshal(body, &pref); err != nil {
		return streamerInfo{}, err
	}
	if len(pref.StreamerInfo) == 0 {
		return streamerInfo{}, fmt.Errorf("userPreference has no streamerInfo")
	}
	w := pref.StreamerInfo[0]
	info := streamerInfo{URL: w.StreamerSocketURL, CustomerID: w.SchwabClientCustomerID, CorrelID: w.SchwabClientCorrelID,
		Channel: w.SchwabClientChannel, FunctionID: w.SchwabClientFunctionID}
	if !strings.HasPrefix(info.URL, "wss://") && !strings.HasPrefix(info.URL, "ws://") {
		return streamerInfo{}, fmt.Errorf("streamerSocketUrl is not a WebSocket URL")
	}
	if info.CustomerID == "" || info.CorrelID == "" {
		return streamerInfo{}, fmt.Errorf("streamerInfo lacks the client ids")
	}
	return info, nil
}

// streamToken returns the current access token for LOGIN (never logged).
func (b *Broker) streamToken(ctx context.Context) (string, error) {
	var access string
	if b.cfg.Tokens != nil {
		tok, err := b.cfg.Tokens.Token(ctx)
		if err != nil {
			return "", err
		}
		access = tok.AccessToken
		b.creds.setRefresh(tok.RefreshToken)
		b.noteToken(ctx, tok.Expiry, tok.RefreshExpiry)
	} else {
		tok, err := b.cfg.AccessToken(ctx)
		if err != nil {
			return "", err
		}
		access = tok
	}
	b.creds.setAccess(access)
	return access, nil
}

func streamErr(op string, code int, msg string, kind errors.Kind) error {
	return &errors.BrokerError{Broker: Name, Op: op, Code: strconv.Itoa(code), Message: msg, Kind: kind}
}

// codeKind classifies a streamer response code (never its msg).
func codeKind(code int) errors.Kind {
	switch code {
	case codeLoginDenied:
		return errors.ErrUnauthenticated
	case codeSymbolLimit:
		return errors.ErrRateLimited
	case 11:
		return errors.ErrNotSupported
	case 21:
		return errors.ErrInvalidOrder
	}
	return errors.ErrBrokerUnavailable
}

func success(code int) bool { return code == codeSuccess || (code >= 26 && code <= 29) }

// dialer opens the WebSocket; the host's HTTP client carries it.
func (b *Broker) dial(ctx context.Context, url string) (*websocket.Conn, error) {
	hc := b.cfg.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	ws, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPClient: hc})
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		return nil, &errors.BrokerError{Broker: Name, Op: "stream connect", HTTPStatus: status,
			Kind: errors.ErrNetwork, Message: "streamer connection failed", Err: err}
	}
	ws.SetReadLimit(8 << 20)
	return ws, nil
}
