package coinbase

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/clock"
	"github.com/arbiontrader/arbion/errors"
	"github.com/cenkalti/backoff/v4"
	"github.com/coder/websocket"
	"github.com/shopspring/decimal"
)

// hub is one shared connection to one endpoint, with its reconnection loop
// and its consumers.
type hub struct {
	b     *Broker
	user  bool // the user endpoint (user channel), else market (ticker)
	url   string
	clock clock.Clock

	ctx     context.Context
	cancel  context.CancelFunc
	once    sync.Once
	done    chan struct{} // closed when run returns
	liveCh  chan struct{} // closed the first time the hub is live
	liveSet bool

	mu        sync.Mutex
	orderSubs map[*fanout[broker.OrderEvent]]struct{}
	quoteSubs map[*quoteStream]struct{}
	wanted    map[string]int  // product → streams that want it
	sent      map[string]bool // products subscribed on the current connection
	conn      *websocket.Conn
	status    broker.StreamStatus
	err       error // why the hub gave up
	over      bool  // the hub has ended its consumers and takes no more

	// User-channel state, touched only by run's goroutine.
	known     map[string]knownOrder
	pending   map[string]int // order id → REST fetches tried
	lastEvent time.Time      // broker time of the last user-channel frame
}

// knownOrder is what the stream last applied for one order.
type knownOrder struct {
	cum    decimal.Decimal
	status broker.Status
}

func newHub(b *Broker, user bool) *hub {
	h := &hub{b: b, user: user, url: b.cfg.Stream.MarketURL, clock: b.cfg.Clock,
		done: make(chan struct{}), liveCh: make(chan struct{}),
		orderSubs: map[*fanout[broker.OrderEvent]]struct{}{}, quoteSubs: map[*quoteStream]struct{}{},
		wanted: map[string]int{}, sent: map[string]bool{},
		known: map[string]knownOrder{}, pending: map[string]int{}}
	if user {
		h.url = b.cfg.Stream.UserURL
	}
	// The hub outlives the call that started it: it ends when its last
	// consumer's context does.
	h.ctx, h.cancel = context.WithCancel(context.Background())
	return h
}

func (h *hub) start() { h.once.Do(func() { go h.run() }) }

func (h *hub) stop() {
	h.cancel()
	<-h.done
}

func (h *hub) finished() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.over
}

func (h *hub) failure() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.err
}

func (h *hub) statusNow() broker.StreamStatus {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.status
}

// addWants records q's new symbols. Called with h.mu held.
func (h *hub) addWants(q *quoteStream, symbols []string) {
	for _, s := range symbols {
		if s != "" && !q.syms[s] {
			q.syms[s] = true
			h.wanted[s]++
		}
	}
}

// dropWants forgets every symbol of q. Called with h.mu held.
func (h *hub) dropWants(q *quoteStream) {
	for s := range q.syms {
		h.wanted[s]--
	}
	delete(h.quoteSubs, q)
}

// sendWants brings the current connection's ticker subscription in line
// with what the streams want: subscribe the products newly wanted,
// unsubscribe those nobody wants. Without a connection it only tidies: the
// next connection subscribes what is wanted.
func (h *hub) sendWants() {
	if h.user {
		return
	}
	h.mu.Lock()
	var add, drop []string
	for s, n := range h.wanted {
		switch {
		case n > 0 && !h.sent[s]:
			add = append(add, s)
		case n <= 0:
			delete(h.wanted, s)
			if h.sent[s] {
				drop = append(drop, s)
			}
		}
	}
	c := h.conn
	if c != nil {
		for _, s := range add {
			h.sent[s] = true
		}
		for _, s := range drop {
			delete(h.sent, s)
		}
	}
	h.mu.Unlock()
	if c == nil {
		return
	}
	slices.Sort(add)
	slices.Sort(drop)
	if len(add) > 0 {
		_ = h.send(h.ctx, c, "subscribe", "ticker", add)
	}
	if len(drop) > 0 {
		_ = h.send(h.ctx, c, "unsubscribe", "ticker", drop)
	}
}

// send writes one (un)subscribe message with a fresh JWT.
func (h *hub) send(ctx context.Context, c *websocket.Conn, typ, channel string, products []string) error {
	msg := wsSubscribe{Type: typ, Channel: channel, ProductIDs: products}
	if h.b.signer != nil {
		tok, err := h.b.signer.signStream()
		if err != nil {
			return err
		}
		h.b.scrub.Remember(tok)
		msg.JWT = tok
	}
	raw, err := json.Marshal(msg)
	if err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := c.Write(wctx, websocket.MessageText, raw); err != nil {
		return streamError("stream "+typ, errors.ErrNetwork, err)
	}
	return nil
}

func (h *hub) emitOrder(ev broker.OrderEvent) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for f := range h.orderSubs {
		f.push(ev)
	}
}

func (h *hub) emitQuote(q broker.StreamQuote) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.quoteSubs {
		if s.syms[q.Symbol] {
			s.f.push(q)
		}
	}
}

func (h *hub) gap(since time.Time) {
	h.emitOrder(broker.OrderEvent{Kind: broker.OrderEventGap, Since: since, Time: h.clock.Now()})
}

// run connects, and reconnects with backoff after a connection that was
// live, until the hub is stopped or gives up.
func (h *hub) run() {
	defer close(h.done)
	cfg := h.b.cfg.Stream
	bo := backoff.NewExponentialBackOff()
	bo.InitialInterval, bo.MaxInterval, bo.MaxElapsedTime = cfg.ReconnectBackoff, cfg.MaxReconnectBackoff, 0
	bo.Clock = h.clock
	bo.Reset()
	failures := 0
	for attempt := 0; ; attempt++ {
		wasLive, err := h.session(attempt)
		if h.ctx.Err() != nil {
			h.giveUp(nil)
			return
		}
		h.mu.Lock()
		h.status.Live, h.status.LastError, h.conn = false, err, nil
		clear(h.sent)
		everLive := h.liveSet
		h.mu.Unlock()
		if !everLive {
			h.giveUp(err)
			return
		}
		if wasLive {
			failures = 0
			bo.Reset()
		}
		if failures++; failures > cfg.MaxReconnects {
			h.giveUp(&errors.BrokerError{Broker: brokerName, Op: "stream", Kind: errors.ErrBrokerUnavailable,
				Message: "gave up after " + strconv.Itoa(cfg.MaxReconnects) + " failed reconnections", Err: err})
			return
		}
		h.b.logger.Warn("coinbase: stream connection lost; reconnecting", "user", h.user, "error", err)
		if failures > 1 {
			if clock.Sleep(h.ctx, h.clock, bo.NextBackOff()) != nil {
				h.giveUp(nil)
				return
			}
		}
	}
}

// giveUp ends every consumer with err (nil: a clean end).
func (h *hub) giveUp(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.err, h.over = err, true
	h.status.Live = false
	for f := range h.orderSubs {
		f.end(err)
	}
	for q := range h.quoteSubs {
		q.f.end(err)
	}
}

// session is one connection: dial, subscribe, read until it breaks. It
// reports whether the connection went live.
type session struct {
	h          *hub
	reconnect  bool
	since      time.Time // lastEvent when the connection was made
	lastSeq    int64
	lastCount  int64
	live       bool
	gapPending bool
	confirm    clock.Timer
}

func (h *hub) session(attempt int) (bool, error) {
	s := &session{h: h, reconnect: attempt > 0, since: h.lastEvent, lastSeq: -1, lastCount: -1}
	hdr := http.Header{}
	if attempt > 0 {
		hdr.Set("x-cb-retry-counter", strconv.Itoa(attempt))
	}
	dctx, cancel := context.WithTimeout(h.ctx, 30*time.Second)
	c, _, err := websocket.Dial(dctx, h.url, &websocket.DialOptions{HTTPClient: h.b.cfg.HTTPClient, HTTPHeader: hdr})
	cancel()
	if err != nil {
		return false, streamError("stream connect", errors.ErrNetwork, err)
	}
	c.SetReadLimit(h.b.cfg.Stream.ReadLimit)
	sctx, stop := context.WithCancel(h.ctx)
	frames := make(chan []byte)
	readErr := make(chan error, 1)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer func() { _ = c.CloseNow() }()
	defer stop()
	wg.Go(func() {
		for {
			_, data, err := c.Read(sctx)
			if err != nil {
				readErr <- err
				return
			}
			select {
			case frames <- data:
			case <-sctx.Done():
				return
			}
		}
	})
	if err := h.subscribe(sctx, c); err != nil {
		return false, err
	}
	defer func() {
		if s.confirm != nil {
			s.confirm.Stop()
		}
	}()
	if len(h.pending) > 0 {
		s.armConfirm()
	}
	timeout := h.b.cfg.Stream.HeartbeatTimeout
	lastFrame := h.clock.Now()
	watchdog := h.clock.NewTimer(timeout)
	defer func() { watchdog.Stop() }()
	for {
		var confirmC <-chan time.Time
		if s.confirm != nil {
			confirmC = s.confirm.C()
		}
		select {
		case <-h.ctx.Done():
			return s.live, nil
		case err := <-readErr:
			return s.live, streamError("stream read", errors.ErrNetwork, err)
		case <-watchdog.C():
			silent := h.clock.Now().Sub(lastFrame)
			if silent >= timeout {
				return s.live, errStale(silent)
			}
			watchdog = h.clock.NewTimer(timeout - silent)
		case <-confirmC:
			s.confirm = nil
			h.confirm()
			if len(h.pending) > 0 {
				s.armConfirm()
			}
		case data := <-frames:
			lastFrame = h.clock.Now()
			h.mu.Lock()
			h.status.LastMessage = lastFrame
			h.mu.Unlock()
			m, err := decodeStreamMessage(data)
			if err != nil {
				return s.live, &errors.BrokerError{Broker: brokerName, Op: "stream read", Kind: errors.ErrMalformedResponse, Message: err.Error()}
			}
			if err := s.handle(m); err != nil {
				return s.live, err
			}
		}
	}
}

// subscribe sends heartbeats and the hub's channel, each with its own JWT.
func (h *hub) subscribe(ctx context.Context, c *websocket.Conn) error {
	if err := h.send(ctx, c, "subscribe", "heartbeats", nil); err != nil {
		return err
	}
	if h.user {
		return h.send(ctx, c, "subscribe", "user", nil)
	}
	h.mu.Lock()
	var products []string
	for s, n := range h.wanted {
		if n > 0 {
			products = append(products, s)
			h.sent[s] = true
		}
	}
	h.conn = c
	h.mu.Unlock()
	slices.Sort(products)
	if len(products) == 0 {
		return nil
	}
	return h.send(ctx, c, "subscribe", "ticker", products)
}

func (s *session) armConfirm() {
	if s.confirm == nil {
		s.confirm = s.h.clock.NewTimer(s.h.b.cfg.Stream.ConfirmDelay)
	}
}

// goLive marks the connection live; on an order stream it reports the
// gap a reconnection (or a jump during the snapshot) leaves.
func (s *session) goLive() {
	h := s.h
	s.live = true
	h.mu.Lock()
	h.status.Live = true
	if s.reconnect {
		h.status.Reconnects++
	}
	first := !h.liveSet
	h.liveSet = true
	h.mu.Unlock()
	if first {
		close(h.liveCh)
	}
	if h.user && (s.reconnect || s.gapPending) {
		h.gap(s.since)
	}
}

// handle applies one frame.
func (s *session) handle(m wsMessage) error {
	h := s.h
	if m.Type == "error" {
		return &errors.BrokerError{Broker: brokerName, Op: "stream", Kind: errors.ErrBrokerUnavailable,
			Message: h.b.scrub.Scrub(truncate(m.Message, 200)), Detail: h.b.scrub.Scrub(truncate(m.Reason, 400))}
	}
	seq := m.seq()
	jumped := false
	if s.lastSeq >= 0 {
		if seq <= s.lastSeq {
			return nil // a duplicate or a late frame: already covered
		}
		jumped = seq > s.lastSeq+1
	}
	s.lastSeq = seq
	if m.Channel == "heartbeats" && len(m.Events) > 0 {
		n := m.Events[0].HeartbeatCounter.IntPart()
		jumped = jumped || s.lastCount >= 0 && n > s.lastCount+1
		s.lastCount = n
	}
	if jumped && h.user {
		if s.live {
			h.gap(h.lastEvent)
		} else {
			s.gapPending = true
		}
	}
	at := m.Timestamp.Time
	if at.IsZero() {
		at = h.clock.Now()
	}
	switch m.Channel {
	case "user":
		for _, ev := range m.Events {
			s.userEvent(ev, at)
		}
		h.lastEvent = at
	case "ticker":
		for _, ev := range m.Events {
			for _, t := range ev.Tickers {
				h.emitQuote(streamQuote(t, at))
			}
		}
	}
	if !h.user && !s.live {
		s.goLive() // the first frame after subscribing: the market stream is up
	}
	return nil
}

// userEvent applies one user-channel event: snapshot batches set the
// baseline; updates become events.
func (s *session) userEvent(ev wsEvent, at time.Time) {
	if ev.Type != "update" {
		for _, o := range ev.Orders {
			s.baseline(o, at)
		}
		if !s.live && len(ev.Orders) < snapshotBatch {
			s.goLive()
		}
		return
	}
	for _, o := range ev.Orders {
		s.update(o, at)
	}
}

// baseline records a snapshot order. A known order whose cumulative grew
// is fetched by REST (never a synthetic fill); a status change is
// reported.
func (s *session) baseline(w wsOrder, at time.Time) {
	h := s.h
	k, ok := h.known[w.OrderID]
	o := streamOrder(w, at, k.status)
	if ok && o.FilledQuantity.GreaterThan(k.cum) {
		h.pending[w.OrderID] = 0
		s.armConfirm()
	}
	if ok {
		s.statusEvent(k, o, w)
	}
	h.known[w.OrderID] = knownOrder{cum: o.FilledQuantity, status: o.Status}
}

// update turns an update into events: a provisional snapshot when the
// cumulative grew (then a REST confirmation), and the status change.
func (s *session) update(w wsOrder, at time.Time) {
	h := s.h
	k, ok := h.known[w.OrderID]
	o := streamOrder(w, at, k.status)
	if mapStatus(w.Status, o.FilledQuantity, false) == broker.StatusUnknown {
		h.b.logger.Warn("coinbase: unknown order status on the user channel", "order_id", w.OrderID, "status", truncate(w.Status, 40))
	}
	if o.FilledQuantity.LessThan(k.cum) {
		h.b.logger.Warn("coinbase: user channel cumulative_quantity went backwards; not applied",
			"order_id", w.OrderID, "was", k.cum, "now", o.FilledQuantity)
		h.gap(h.lastEvent)
		return
	}
	if o.FilledQuantity.GreaterThan(k.cum) {
		h.pending[w.OrderID] = 0
		s.armConfirm() // before the event: a consumer that sees it can move the clock
		h.emitOrder(broker.OrderEvent{Kind: broker.OrderEventSnapshot, Provisional: true, OrderID: o.OrderID,
			ClientOrderID: o.ClientOrderID, Snapshot: o, RawStatus: w.Status, Time: at})
	}
	if !ok && o.Status == broker.StatusNew {
		h.emitOrder(broker.OrderEvent{Kind: broker.OrderEventAccepted, OrderID: o.OrderID, ClientOrderID: o.ClientOrderID,
			Snapshot: o, RawStatus: w.Status, Time: at})
	} else if ok {
		s.statusEvent(k, o, w)
	}
	h.remember(o)
}

// remember records what was applied of an order. An ended order with
// nothing left to confirm is forgotten, so the record does not grow
// without bound: a late update for it counts from zero again, which is
// what its cumulative totals are measured from.
func (h *hub) remember(o broker.Order) {
	if _, waiting := h.pending[o.OrderID]; o.Status.Terminal() && !waiting {
		delete(h.known, o.OrderID)
		return
	}
	h.known[o.OrderID] = knownOrder{cum: o.FilledQuantity, status: o.Status}
}

// statusEvent reports a change to pending cancel, canceled, expired or
// rejected; fills and their statuses are told by the snapshots.
func (s *session) statusEvent(k knownOrder, o broker.Order, w wsOrder) {
	if o.Status == k.status {
		return
	}
	ev := broker.OrderEvent{OrderID: o.OrderID, ClientOrderID: o.ClientOrderID, Snapshot: o, RawStatus: w.Status, Time: o.UpdatedAt}
	switch o.Status {
	case broker.StatusPendingCancel:
		ev.Kind = broker.OrderEventCancelRequested
	case broker.StatusCanceled:
		ev.Kind = broker.OrderEventCanceled
		ev.Reason = w.CancelReason
	case broker.StatusExpired:
		ev.Kind = broker.OrderEventExpired
	case broker.StatusRejected:
		ev.Kind = broker.OrderEventRejected
		ev.Reason = firstNonEmpty(o.RejectReason, w.CancelReason)
	default:
		return
	}
	s.h.emitOrder(ev)
}

// confirm fetches each order with an unconfirmed provisional fill and
// delivers it once REST shows at least what the stream reported. An order
// REST does not confirm after confirmAttempts tries is reported as a gap,
// for the consumer's reconciliation.
func (h *hub) confirm() {
	ids := make([]string, 0, len(h.pending))
	for id := range h.pending {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		o, err := h.b.GetOrder(h.ctx, id)
		if h.ctx.Err() != nil {
			return
		}
		if err == nil && !o.FilledQuantity.LessThan(h.known[id].cum) {
			delete(h.pending, id)
			if o.Status.Terminal() {
				delete(h.known, id)
			}
			h.emitOrder(broker.OrderEvent{Kind: broker.OrderEventSnapshot, OrderID: o.OrderID, ClientOrderID: o.ClientOrderID,
				Snapshot: o, RawStatus: o.RawStatus, Time: o.UpdatedAt})
			continue
		}
		if h.pending[id]++; h.pending[id] >= confirmAttempts {
			h.b.logger.Warn("coinbase: provisional fill not confirmed by REST", "order_id", id, "error", err)
			delete(h.pending, id)
			h.gap(h.lastEvent)
		}
	}
}
