package coinbasetest

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/arbiontrader/arbion/clock"
	"github.com/coder/websocket"
	"github.com/shopspring/decimal"
)

// The WebSocket side (streaming.md §2 and §5): two endpoints on the same
// loopback server standing for Coinbase's two hosts, MarketStreamPath
// (advanced-trade-ws: heartbeats, ticker, and user with a JWT) and
// UserStreamPath (advanced-trade-ws-user: heartbeats and user). Both are
// driven by the REST side's book: every order change a REST call or a
// test's Fill/Expire/SetStatus/Settle makes is pushed on the user channel
// as an update with cumulative totals, and SetQuote is pushed on ticker.
//
// Each subscribe or unsubscribe message naming user (or carrying a jwt)
// has its JWT verified as a REST token is, except that uri must be absent
// (StreamConfig.IgnoreURIClaim accepts one): an expired, not yet valid,
// replayed, unknown-key or badly signed token is answered with an error
// frame ({"type":"error","message":"authentication failure",...}: the
// real text is unpublished) and the connection is closed. sequence_num
// counts every frame per connection from 0.

// Paths of the two WebSocket endpoints.
const (
	MarketStreamPath = "/ws"
	UserStreamPath   = "/ws-user"
)

// StreamConfig tunes the WebSocket endpoints. The zero value is usable.
type StreamConfig struct {
	// HeartbeatInterval is the heartbeats channel's period; default 1 s.
	HeartbeatInterval time.Duration
	// SubscribeDeadline closes a connection that has subscribed nothing
	// this long after it opened; default 5 s.
	SubscribeDeadline time.Duration
	// SnapshotBatch is the user snapshot's batch size; default 50.
	SnapshotBatch int
	// IgnoreURIClaim accepts subscribe JWTs that carry a uri claim.
	IgnoreURIClaim bool
	// IdleClose closes a connection that has sent nothing for this long
	// and has no heartbeats subscription ("most channels close within
	// 60-90 seconds if no updates are sent"); default 60 s.
	IdleClose time.Duration
	// ConnectsPerSecond is how many connections one client may open per
	// second before the upgrade is refused with 429 (an assumed answer);
	// default 8, Coinbase's limit per IP; negative: no limit.
	ConnectsPerSecond int
	// HeartbeatCounterAsString sends heartbeat_counter as a string (as the
	// prose docs show) instead of an integer (the live feed, per the
	// AsyncAPI file).
	HeartbeatCounterAsString bool
}

func (c StreamConfig) withDefaults() StreamConfig {
	if c.HeartbeatInterval <= 0 {
		c.HeartbeatInterval = time.Second
	}
	if c.SubscribeDeadline <= 0 {
		c.SubscribeDeadline = 5 * time.Second
	}
	if c.SnapshotBatch <= 0 {
		c.SnapshotBatch = 50
	}
	if c.IdleClose <= 0 {
		c.IdleClose = time.Minute
	}
	if c.ConnectsPerSecond == 0 {
		c.ConnectsPerSecond = 8
	}
	return c
}

// StreamFaultKind is a misbehaviour of the next data frame (user or
// ticker; never a heartbeat or an acknowledgement).
type StreamFaultKind int

// Stream faults.
const (
	// StreamDuplicate sends the frame twice with the same sequence_num.
	StreamDuplicate StreamFaultKind = iota + 1
	// StreamReorder holds the frame back and sends it after the next one.
	StreamReorder
	// StreamLose never sends the frame, though it uses its sequence_num: a
	// lost update (the book changed, no event) and a sequence jump.
	StreamLose
)

// StreamFault is one injected fault, used once.
type StreamFault struct {
	Kind StreamFaultKind
	// Channel limits the fault to "user" or "ticker" frames; "" takes the
	// next data frame of either.
	Channel string
}

// StreamFrame is one frame a stream client sent.
type StreamFrame struct {
	User        bool   // received on UserStreamPath
	Type        string // subscribe, unsubscribe, or what the frame said
	Channel     string
	ProductIDs  []string
	Token       *TokenRecord // the verified JWT; nil if none or refused
	AuthFailure string       // why the JWT was refused, if it was
	Body        string
}

// streamState is the WebSocket side's share of the server, guarded by s.mu.
type streamState struct {
	conns     map[*wsConn]struct{}
	published map[*order]orderMark // what the user channel last told of each order
	faults    []StreamFault
	frames    []StreamFrame
	connects  int
	recent    []time.Time // accepted connection times, for the rate limit
	handlers  sync.WaitGroup
	closed    bool // the server is shutting down: no new connection
}

// orderMark is what a user-channel update reports of an order.
type orderMark struct {
	status string
	filled string
	fills  int
}

// wsConn is one client connection. Its subscriptions and queue are guarded
// by mu (taken after s.mu when both are held).
type wsConn struct {
	s    *Server
	c    *websocket.Conn
	user bool // on UserStreamPath

	mu           sync.Mutex
	wake         chan struct{}
	queue        [][]byte
	closing      bool // close after the queue is flushed
	stalled      bool
	held         []byte // a frame StreamReorder delays
	seq          int64
	lastSent     time.Time // when the last frame was queued
	heartbeats   bool
	hbCounter    int64
	userChannel  bool
	userProducts map[string]bool // nil: every product
	tickers      map[string]bool
	subscribed   chan struct{} // closed at the first accepted subscribe
}

// MarketStreamURL is the ws:// URL of the market data endpoint.
func (s *Server) MarketStreamURL() string { return s.wsURL(MarketStreamPath) }

// UserStreamURL is the ws:// URL of the user order data endpoint.
func (s *Server) UserStreamURL() string { return s.wsURL(UserStreamPath) }

func (s *Server) wsURL(path string) string {
	return "ws" + strings.TrimPrefix(s.srv.URL, "http") + path
}

// InjectStreamFault queues a fault for the next matching data frame.
func (s *Server) InjectStreamFault(f StreamFault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ws.faults = append(s.ws.faults, f)
}

// DropStreams closes every WebSocket connection at once, without a close
// frame, as a network failure would.
func (s *Server) DropStreams() {
	s.mu.Lock()
	conns := s.streamConns()
	s.mu.Unlock()
	for _, c := range conns {
		_ = c.c.CloseNow()
	}
}

// StallStreams makes every current connection go silent (no data, no
// heartbeats) while its TCP connection stays open. New connections are
// healthy.
func (s *Server) StallStreams() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.ws.conns {
		c.mu.Lock()
		c.stalled = true
		c.mu.Unlock()
	}
}

// StreamFrames returns every frame stream clients sent, in arrival order.
func (s *Server) StreamFrames() []StreamFrame {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]StreamFrame(nil), s.ws.frames...)
}

// StreamConnects returns how many WebSocket connections were accepted.
func (s *Server) StreamConnects() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ws.connects
}

func (s *Server) streamConns() []*wsConn {
	out := make([]*wsConn, 0, len(s.ws.conns))
	for c := range s.ws.conns {
		out = append(out, c)
	}
	return out
}

// closeStreams ends every connection and waits for their handlers, so that
// the HTTP server can shut down.
func (s *Server) closeStreams() {
	s.mu.Lock()
	s.ws.closed = true
	s.mu.Unlock()
	s.DropStreams()
	s.ws.handlers.Wait()
}

// serveStream serves the WebSocket endpoints; it reports whether r was
// for one.
func (s *Server) serveStream(w http.ResponseWriter, r *http.Request) bool {
	user := r.URL.Path == UserStreamPath
	if !user && r.URL.Path != MarketStreamPath {
		return false
	}
	s.mu.Lock()
	closed, limited := s.ws.closed, s.connectLimited()
	if !closed && !limited {
		s.ws.handlers.Add(1)
	}
	s.mu.Unlock()
	switch {
	case closed:
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
		return true
	case limited:
		http.Error(w, "Too Many Requests", http.StatusTooManyRequests)
		return true
	}
	defer s.ws.handlers.Done()
	c, err := websocket.Accept(w, r, nil)
	if err != nil {
		return true
	}
	c.SetReadLimit(1 << 20)
	conn := &wsConn{s: s, c: c, user: user, wake: make(chan struct{}, 1), subscribed: make(chan struct{}), tickers: map[string]bool{}}
	s.mu.Lock()
	if s.ws.conns == nil {
		s.ws.conns, s.ws.published = map[*wsConn]struct{}{}, map[*order]orderMark{}
	}
	s.ws.conns[conn] = struct{}{}
	s.ws.connects++
	closed = s.ws.closed // closed while the upgrade ran: DropStreams did not see this one
	s.mu.Unlock()
	if closed {
		_ = c.CloseNow()
	}
	ctx, cancel := context.WithCancel(context.Background())
	// Both timers start before any frame is answered, so a test that has
	// seen an answer knows they are running.
	cfg := s.cfg.Stream.withDefaults()
	beat, deadline := s.clock.NewTimer(cfg.HeartbeatInterval), s.clock.NewTimer(cfg.SubscribeDeadline)
	var wg sync.WaitGroup
	wg.Go(func() { conn.writeLoop(ctx, beat) })
	wg.Go(func() { conn.deadline(ctx, deadline) })
	for {
		_, data, err := c.Read(ctx)
		if err != nil {
			break
		}
		s.mu.Lock()
		s.handleStreamFrame(conn, data)
		s.mu.Unlock()
	}
	cancel()
	_ = c.CloseNow()
	wg.Wait()
	s.mu.Lock()
	delete(s.ws.conns, conn)
	s.mu.Unlock()
	return true
}

// connectLimited applies the per-second connection limit (one client: the
// emulator serves loopback only). Called with s.mu held.
func (s *Server) connectLimited() bool {
	limit := s.cfg.Stream.withDefaults().ConnectsPerSecond
	if limit < 0 {
		return false
	}
	now := s.clock.Now()
	kept := s.ws.recent[:0]
	for _, t := range s.ws.recent {
		if now.Sub(t) < time.Second {
			kept = append(kept, t)
		}
	}
	s.ws.recent = kept
	if len(kept) >= limit {
		return true
	}
	s.ws.recent = append(s.ws.recent, now)
	return false
}

// deadline closes a connection that subscribes nothing in time.
func (c *wsConn) deadline(ctx context.Context, expired clock.Timer) {
	defer expired.Stop()
	select {
	case <-expired.C():
		_ = c.c.Close(websocket.StatusPolicyViolation, "no subscribe within the deadline")
	case <-c.subscribed:
	case <-ctx.Done():
	}
}

// writeLoop sends the queue and the heartbeats.
func (c *wsConn) writeLoop(ctx context.Context, beat clock.Timer) {
	interval := c.s.cfg.Stream.withDefaults().HeartbeatInterval
	defer func() { beat.Stop() }()
	for {
		c.mu.Lock()
		queue, closing := c.queue, c.closing
		c.queue = nil
		c.mu.Unlock()
		for _, frame := range queue {
			if c.c.Write(ctx, websocket.MessageText, frame) != nil {
				return
			}
		}
		if closing {
			_ = c.c.Close(websocket.StatusPolicyViolation, "authentication failure")
			return
		}
		select {
		case <-c.wake:
		case <-beat.C():
			if c.idle() {
				_ = c.c.Close(websocket.StatusGoingAway, "idle")
				return
			}
			c.heartbeat()
			beat = c.s.clock.NewTimer(interval)
		case <-ctx.Done():
			return
		}
	}
}

func (c *wsConn) signal() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// idle reports a connection without heartbeats that has sent nothing for
// the idle period.
func (c *wsConn) idle() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return !c.heartbeats && !c.lastSent.IsZero() && c.s.clock.Now().Sub(c.lastSent) >= c.s.cfg.Stream.withDefaults().IdleClose
}

// heartbeat queues one heartbeats frame if the channel is subscribed.
func (c *wsConn) heartbeat() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.heartbeats || c.stalled {
		return
	}
	now := c.s.clock.Now()
	var counter any = c.hbCounter
	if c.s.cfg.Stream.HeartbeatCounterAsString {
		counter = decimal.NewFromInt(c.hbCounter).String()
	}
	c.hbCounter++
	c.enqueueLocked(c.frameLocked("heartbeats", now, []obj{{
		"current_time": now.UTC().Format("2006-01-02 15:04:05.999999999 -0700 MST"), "heartbeat_counter": counter}}))
}

// frameLocked builds one frame with the next sequence number. Called with
// c.mu held.
func (c *wsConn) frameLocked(channel string, at time.Time, events []obj) []byte {
	f := mustJSON(obj{"channel": channel, "client_id": "", "timestamp": at.UTC().Format(time.RFC3339Nano),
		"sequence_num": c.seq, "events": events})
	c.seq++
	return f
}

func (c *wsConn) enqueueLocked(frame []byte) {
	if c.stalled {
		return
	}
	c.lastSent = c.s.clock.Now()
	c.queue = append(c.queue, frame)
	c.signal()
}

// sendData queues a data frame, applying the next matching fault. Called
// with s.mu held.
func (c *wsConn) sendData(channel string, events []obj) {
	s := c.s
	var fault StreamFaultKind
	for i, f := range s.ws.faults {
		if f.Channel == "" || f.Channel == channel {
			fault = f.Kind
			s.ws.faults = slices.Delete(s.ws.faults, i, i+1)
			break
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	frame := c.frameLocked(channel, s.clock.Now(), events)
	switch fault {
	case StreamLose:
		return
	case StreamReorder:
		c.held = frame
		return
	case StreamDuplicate:
		c.enqueueLocked(frame)
	}
	c.enqueueLocked(frame)
	if c.held != nil {
		c.enqueueLocked(c.held)
		c.held = nil
	}
}

// sendError queues an error frame; fatal closes the connection after it.
func (c *wsConn) sendError(message, reason string, fatal bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.enqueueLocked(mustJSON(obj{"type": "error", "message": message, "reason": reason}))
	c.closing = c.closing || fatal
	c.signal()
}

// channels each endpoint serves: those implemented here and those only
// acknowledged.
var (
	marketChannels = []string{"heartbeats", "ticker", "ticker_batch", "level2", "market_trades", "candles", "status", "user"}
	userChannels   = []string{"heartbeats", "user", "futures_balance_summary"}
)

// handleStreamFrame applies one client frame. Called with s.mu held.
func (s *Server) handleStreamFrame(c *wsConn, data []byte) {
	var m struct {
		Type       string          `json:"type"`
		Channel    string          `json:"channel"`
		Channels   json.RawMessage `json:"channels"`
		ProductIDs []string        `json:"product_ids"`
		JWT        string          `json:"jwt"`
	}
	rec := StreamFrame{User: c.user, Body: string(data)}
	defer func() { s.ws.frames = append(s.ws.frames, rec) }()
	if json.Unmarshal(data, &m) != nil {
		c.sendError("malformed message", "the frame is not a JSON object", false)
		return
	}
	rec.Type, rec.Channel, rec.ProductIDs = m.Type, m.Channel, m.ProductIDs
	allowed := marketChannels
	if c.user {
		allowed = userChannels
	}
	switch {
	case m.Type != "subscribe" && m.Type != "unsubscribe":
		c.sendError("malformed message", "type must be subscribe or unsubscribe", false)
		return
	case len(m.Channels) > 0:
		c.sendError("malformed message", "one channel per subscription message; use channel", false)
		return
	case m.Channel == "":
		c.sendError("malformed message", "channel is required", false)
		return
	case !slices.Contains(allowed, m.Channel):
		c.sendError("failure to subscribe", "unknown channel "+m.Channel, false)
		return
	}
	if m.JWT != "" || m.Channel == "user" {
		p, aerr := s.verifyJWT(m.JWT, func(uri string) *authError {
			if uri != "" && !s.cfg.Stream.IgnoreURIClaim {
				return refuse("a WebSocket JWT must not carry a uri claim (got %q)", uri)
			}
			return nil
		})
		if aerr != nil {
			rec.AuthFailure = aerr.Reason
			s.authFails = append(s.authFails, aerr.Reason)
			c.sendError("authentication failure", aerr.Reason, true)
			return
		}
		tok := p.token
		rec.Token = &tok
	}
	if m.Type == "subscribe" {
		s.subscribe(c, m.Channel, m.ProductIDs)
	} else {
		s.unsubscribe(c, m.Channel, m.ProductIDs)
	}
	s.acknowledge(c)
}

// subscribe adds a subscription and sends its snapshot. Called with s.mu
// held.
func (s *Server) subscribe(c *wsConn, channel string, products []string) {
	c.mu.Lock()
	select {
	case <-c.subscribed:
	default:
		close(c.subscribed)
	}
	switch channel {
	case "heartbeats":
		c.heartbeats = true
	case "user":
		c.userChannel = true
		if len(products) > 0 {
			c.userProducts = map[string]bool{}
			for _, p := range products {
				c.userProducts[p] = true
			}
		}
	case "ticker":
		for _, p := range products {
			c.tickers[p] = true
		}
	}
	c.mu.Unlock()
	switch channel {
	case "user":
		s.sendUserSnapshot(c)
	case "ticker":
		var tickers []obj
		for _, id := range products {
			if p, ok := s.products[id]; ok {
				tickers = append(tickers, tickerJSON(p, id))
			}
		}
		if len(tickers) > 0 {
			c.sendData("ticker", []obj{{"type": "snapshot", "tickers": tickers}})
		}
	}
}

// unsubscribe removes products, or the channel when none are named.
// Called with s.mu held.
func (s *Server) unsubscribe(c *wsConn, channel string, products []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch channel {
	case "heartbeats":
		c.heartbeats = false
	case "user":
		c.userChannel, c.userProducts = false, nil
	case "ticker":
		if len(products) == 0 {
			clear(c.tickers)
		}
		for _, p := range products {
			delete(c.tickers, p)
		}
	}
}

// acknowledge sends the subscriptions frame. Called with s.mu held.
func (s *Server) acknowledge(c *wsConn) {
	c.mu.Lock()
	defer c.mu.Unlock()
	subs := obj{}
	if c.heartbeats {
		subs["heartbeats"] = []string{}
	}
	if c.userChannel {
		subs["user"] = sortedKeys(c.userProducts)
	}
	if len(c.tickers) > 0 {
		subs["ticker"] = sortedKeys(c.tickers)
	}
	c.enqueueLocked(c.frameLocked("subscriptions", s.clock.Now(), []obj{{"subscriptions": subs}}))
}

// sendUserSnapshot sends the working orders in batches; the last batch is
// shorter than a full one (an empty one if need be). Called with s.mu held.
func (s *Server) sendUserSnapshot(c *wsConn) {
	batch := s.cfg.Stream.withDefaults().SnapshotBatch
	open := []obj{}
	for _, o := range s.orders {
		if !o.terminal() && c.wantsUser(o.productID) {
			open = append(open, s.userOrderJSON(o))
		}
	}
	for i := 0; ; i += batch {
		part := open[i:min(i+batch, len(open))]
		c.sendData("user", []obj{{"type": "snapshot", "orders": part,
			"positions": obj{"perpetual_futures_positions": []obj{}, "expiring_futures_positions": []obj{}}}})
		if len(part) < batch {
			return
		}
	}
}

func (c *wsConn) wantsUser(product string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.userChannel && (c.userProducts == nil || c.userProducts[product])
}

func (c *wsConn) wantsTicker(product string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.tickers[product]
}

// publishLocked pushes every order change since the last call to the user
// channel subscribers. Called with s.mu held, after anything that may
// change an order.
func (s *Server) publishLocked() {
	if len(s.ws.conns) == 0 {
		for _, o := range s.orders {
			s.markPublished(o)
		}
		return
	}
	for _, o := range s.orders {
		if !s.markPublished(o) {
			continue
		}
		for c := range s.ws.conns {
			if c.wantsUser(o.productID) {
				c.sendData("user", []obj{{"type": "update", "orders": []obj{s.userOrderJSON(o)}}})
			}
		}
	}
}

// markPublished records the order's current mark and reports whether it
// changed.
func (s *Server) markPublished(o *order) bool {
	if s.ws.published == nil {
		s.ws.published = map[*order]orderMark{}
	}
	m := orderMark{status: o.status, filled: o.filledSize.String(), fills: o.numberOfFills}
	if s.ws.published[o] == m {
		return false
	}
	s.ws.published[o] = m
	return true
}

// publishTicker pushes a product's quote to its ticker subscribers. Called
// with s.mu held.
func (s *Server) publishTicker(p *product) {
	for c := range s.ws.conns {
		if c.wantsTicker(p.ID) {
			c.sendData("ticker", []obj{{"type": "update", "tickers": []obj{tickerJSON(p, p.ID)}}})
		}
	}
}

func tickerJSON(p *product, id string) obj {
	return obj{"type": "ticker", "product_id": id, "price": p.Last.String(), "volume_24_h": "0",
		"low_24_h": p.Last.String(), "high_24_h": p.Last.String(), "low_52_w": p.Last.String(), "high_52_w": p.Last.String(),
		"price_percent_chg_24_h": "0", "best_bid": p.Bid.String(), "best_bid_quantity": p.BidSize.String(),
		"best_ask": p.Ask.String(), "best_ask_quantity": p.AskSize.String()}
}

// userOrderJSON is an order as the user channel shows it: every value a
// string, cumulative totals, leaves in the currency the order was sized in.
func (s *Server) userOrderJSON(o *order) obj {
	tif, typ := orderTraits(o.configKey)
	avg := decimal.Zero
	if o.filledSize.IsPositive() {
		avg = o.filledValue.DivRound(o.filledSize, 16)
	}
	leaves, completion := decimal.Zero, decimal.Zero
	switch {
	case o.quoteSize.IsPositive():
		leaves = o.quoteSize.Sub(o.filledValue.Add(o.fees))
		completion = o.filledValue.Add(o.fees).Div(o.quoteSize).Mul(decimal.NewFromInt(100)).Round(2)
	case o.baseSize.IsPositive():
		leaves = o.remaining()
		completion = o.filledSize.Div(o.baseSize).Mul(decimal.NewFromInt(100)).Round(2)
	}
	if o.terminal() || leaves.IsNegative() {
		leaves = decimal.Zero
	}
	after := o.filledValue.Add(o.fees)
	if o.side == "SELL" {
		after = o.filledValue.Sub(o.fees)
	}
	price := func(v decimal.Decimal) string {
		if v.IsZero() {
			return ""
		}
		return v.String()
	}
	cancelReason := ""
	if o.status == "CANCELLED" || o.status == "EXPIRED" {
		cancelReason = o.cancelMessage
	}
	end := "0001-01-01T00:00:00Z"
	if !o.endTime.IsZero() {
		end = ts(o.endTime)
	}
	return obj{
		"avg_price": avg.String(), "cancel_reason": cancelReason, "client_order_id": o.clientID,
		"completion_percentage": completion.StringFixed(2), "contract_expiry_type": "UNKNOWN_CONTRACT_EXPIRY_TYPE",
		"cumulative_quantity": o.filledSize.String(), "filled_value": o.filledValue.String(),
		"leaves_quantity": leaves.String(), "limit_price": price(o.limitPrice),
		"number_of_fills": itoa(o.numberOfFills), "order_id": o.id, "order_side": o.side, "order_type": typ,
		"outstanding_hold_amount": o.holdLeft.String(), "post_only": boolString(o.postOnly),
		"product_id": o.productID, "product_type": "SPOT", "reject_reason": "", "retail_portfolio_id": s.portfolio,
		"risk_managed_by": "UNKNOWN_RISK_MANAGEMENT_TYPE", "status": o.status, "stop_price": price(o.stopPrice),
		"time_in_force": tif, "total_fees": o.fees.String(), "total_value_after_fees": after.String(),
		"trigger_status": o.triggerStatus, "creation_time": ts(o.created), "end_time": end,
		"start_time": "0001-01-01T00:00:00Z",
	}
}

func boolString(b bool) string {
	if b {
		return "true"
	}
	return "false"
}
