package schwabtest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// The streamer's routes.
const (
	RouteUserPreference Route = "user-preference" // GET /trader/v1/userPreference
	RouteStreamer       Route = "streamer"        // GET /ws (WebSocket upgrade)
)

// StreamConfig configures the emulated Schwab Streamer (streaming.md §1, §5).
// The zero value is Schwab as observed: heartbeats every 10 s, a connection
// with no subscription closed with code 30 after 30 s, 500 keys per service,
// the newer of two logins wins.
type StreamConfig struct {
	// HeartbeatInterval is the gap between notify heartbeats; default 10 s,
	// negative sends none.
	HeartbeatInterval time.Duration
	// IdleTimeout closes (code 30) a logged-in connection that has had no
	// subscription this long; default 30 s, negative never.
	IdleTimeout time.Duration
	// SymbolLimit is the most keys one service may hold; more answer code
	// 19. Default 500.
	SymbolLimit int
	// PreferenceArray makes userPreference answer an array of one object,
	// as the OpenAPI says, instead of the object the clients observe.
	PreferenceArray bool
	// KeepOlderLogin refuses (code 12) a LOGIN on a second connection
	// instead of dropping the older connection with code 12.
	KeepOlderLogin bool
	// Delayed marks every LEVELONE item delayed:true.
	Delayed bool
}

func (c *StreamConfig) withDefaults() {
	if c.HeartbeatInterval == 0 {
		c.HeartbeatInterval = 10 * time.Second
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = 30 * time.Second
	}
	if c.SymbolLimit <= 0 {
		c.SymbolLimit = 500
	}
}

// Response codes of the streamer (streaming.md §1.4).
const (
	codeSuccess      = 0
	codeLoginDenied  = 3
	codeUnavailable  = 11
	codeCloseConn    = 12
	codeSymbolLimit  = 19
	codeConnNotFound = 20
	codeBadFormat    = 21
	codeFailedSubs   = 22
	codeStopStream   = 30
)

// StreamRequest is one request the streamer received (the LOGIN token is
// not kept).
type StreamRequest struct {
	Conn      int // which connection, counted from 1
	Service   string
	Command   string
	RequestID string
	Keys      string
	Fields    string
	At        time.Time
}

type streamState struct {
	mu           sync.Mutex
	conns        []*streamConn
	nextConn     int
	logins       int
	refuseLogins int
	requests     []StreamRequest
	faults       []StreamFault
	held         *activityItem // an item held back by StreamReorder
	pub          sync.Mutex    // orders publications so that frames leave in book order
	marks        map[int64]orderMark
	execSeq      map[int64]int
	wg           sync.WaitGroup
}

// streamConn is one WebSocket connection.
type streamConn struct {
	id       int
	ws       *websocket.Conn
	out      chan []byte
	cancel   context.CancelFunc
	mu       sync.Mutex // guards the fields below
	loggedIn bool
	loginAt  time.Time
	stalled  bool
	seq      int
	subs     map[string]*subscription // by service
	subSince time.Time                // last time a subscription existed
}

type subscription struct {
	keys   []string
	fields []string
	sent   map[string]map[string]string // key → field → JSON value last sent
}

func (s *Server) streamRoutes() {
	s.handle("GET /trader/v1/userPreference", RouteUserPreference, routeOpts{bearer: true}, s.userPreference)
	s.mux.HandleFunc("GET /ws", s.serveStream)
}

// StreamURL is the streamer's WebSocket URL, as userPreference gives it.
func (s *Server) StreamURL() string { return "ws" + strings.TrimPrefix(s.URL(), "http") + "/ws" }

// StreamCustomerID is the schwabClientCustomerId userPreference gives.
func (s *Server) StreamCustomerID() string { return HashFor("customer:" + s.cfg.AppKey) }

// StreamCorrelID is the schwabClientCorrelId userPreference gives.
func (s *Server) StreamCorrelID() string {
	h := strings.ToLower(HashFor("correl:" + s.cfg.AppKey))
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

func (s *Server) userPreference(*http.Request, []byte) response {
	accts := make([]any, 0, len(s.accounts))
	for i, a := range s.accounts {
		accts = append(accts, map[string]any{"accountNumber": a.number, "primaryAccount": i == 0, "type": "BROKERAGE",
			"nickName": "Individual", "displayAcctId": "..." + a.number[max(0, len(a.number)-3):],
			"autoPositionEffect": true, "accountColor": "Green"})
	}
	body := map[string]any{
		"accounts": accts,
		"streamerInfo": []any{map[string]any{
			"streamerSocketUrl":      s.StreamURL(),
			"schwabClientCustomerId": s.StreamCustomerID(),
			"schwabClientCorrelId":   s.StreamCorrelID(),
			"schwabClientChannel":    "N9",
			"schwabClientFunctionId": "APIAPP",
		}},
		"offers": []any{map[string]any{"level2Permissions": true, "mktDataPermission": "NP"}},
	}
	if s.cfg.Stream.PreferenceArray {
		return jsonResponse(http.StatusOK, []any{body})
	}
	return jsonResponse(http.StatusOK, body)
}

// StreamRequests returns every request the streamer received, oldest first.
func (s *Server) StreamRequests() []StreamRequest {
	st := &s.stream
	st.mu.Lock()
	defer st.mu.Unlock()
	return append([]StreamRequest(nil), st.requests...)
}

// StreamLogins returns how many LOGINs the streamer accepted.
func (s *Server) StreamLogins() int {
	st := &s.stream
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.logins
}

// StreamConnections returns how many streamer connections are open now.
func (s *Server) StreamConnections() int {
	st := &s.stream
	st.mu.Lock()
	defer st.mu.Unlock()
	return len(st.conns)
}

// StreamConnectsTotal returns how many connections the streamer accepted in
// all.
func (s *Server) StreamConnectsTotal() int {
	st := &s.stream
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.nextConn
}

func (s *Server) serveStream(w http.ResponseWriter, r *http.Request) {
	s.record(RouteStreamer, r, nil)
	ws, err := websocket.Accept(w, r, nil)
	if err != nil {
		return // Accept answered the bad upgrade
	}
	ws.SetReadLimit(1 << 20)
	ctx, cancel := context.WithCancel(context.Background())
	st := &s.stream
	st.mu.Lock()
	st.nextConn++
	c := &streamConn{id: st.nextConn, ws: ws, out: make(chan []byte, 4096), cancel: cancel,
		subs: map[string]*subscription{}}
	st.conns = append(st.conns, c)
	st.wg.Add(4)
	st.mu.Unlock()
	defer st.wg.Done()
	defer s.dropConn(c)
	stop := context.AfterFunc(ctx, func() { _ = ws.CloseNow() })
	defer stop()
	go func() { defer st.wg.Done(); s.streamWriter(ctx, c) }()
	go func() { defer st.wg.Done(); s.streamTicker(ctx, c) }()
	go func() {
		defer st.wg.Done()
		select {
		case <-s.closing:
			cancel()
		case <-ctx.Done():
		}
	}()
	for {
		_, data, err := ws.Read(ctx)
		if err != nil {
			cancel()
			return
		}
		s.handleStreamFrame(c, data)
	}
}

func (s *Server) dropConn(c *streamConn) {
	c.cancel()
	st := &s.stream
	st.mu.Lock()
	defer st.mu.Unlock()
	st.conns = slices.DeleteFunc(st.conns, func(x *streamConn) bool { return x == c })
}

// streamWriter sends the connection's queued frames in order; a stalled
// connection swallows them (TCP stays open, nothing arrives).
func (s *Server) streamWriter(ctx context.Context, c *streamConn) {
	for {
		select {
		case <-ctx.Done():
			return
		case frame := <-c.out:
			if frame == nil { // the close marker: the frames before it were sent
				_ = c.ws.Close(websocket.StatusNormalClosure, "")
				c.cancel()
				return
			}
			c.mu.Lock()
			stalled := c.stalled
			c.mu.Unlock()
			if stalled {
				continue
			}
			if err := c.ws.Write(ctx, websocket.MessageText, frame); err != nil {
				c.cancel()
				return
			}
		}
	}
}

// streamTicker sends heartbeats and closes a connection idle without a
// subscription.
func (s *Server) streamTicker(ctx context.Context, c *streamConn) {
	cfg := s.cfg.Stream
	step := cfg.HeartbeatInterval
	if step < 0 || (cfg.IdleTimeout > 0 && cfg.IdleTimeout < step) {
		step = cfg.IdleTimeout
	}
	if step <= 0 {
		return
	}
	lastBeat := s.clock.Now()
	for {
		t := s.clock.NewTimer(step)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case now := <-t.C():
			if cfg.HeartbeatInterval > 0 && now.Sub(lastBeat) >= cfg.HeartbeatInterval {
				lastBeat = now
				c.send(fmt.Appendf(nil, `{"notify":[{"heartbeat":"%d"}]}`, now.UnixMilli()))
			}
			c.mu.Lock()
			idle := c.loggedIn && len(c.subs) == 0 && cfg.IdleTimeout > 0 && now.Sub(c.subSince) >= cfg.IdleTimeout
			c.mu.Unlock()
			if idle {
				c.send(notice(now, codeStopStream, "Stop streaming due to empty subscription"))
				c.closeAfterQueued()
			}
		}
	}
}

// send queues a frame; a connection too slow to take it is dropped.
func (c *streamConn) send(frame []byte) {
	select {
	case c.out <- frame:
	default:
		c.cancel()
	}
}

// closeAfterQueued closes the connection (with a close frame) once the
// frames already queued are sent.
func (c *streamConn) closeAfterQueued() { c.send(nil) }

func notice(now time.Time, code int, msg string) []byte {
	b, _ := json.Marshal(map[string]any{"notify": []any{map[string]any{"service": "ADMIN",
		"timestamp": now.UnixMilli(), "content": map[string]any{"code": code, "msg": msg}}}})
	return b
}

func (s *Server) respond(c *streamConn, service, command, reqID string, code int, msg string) {
	b, _ := json.Marshal(map[string]any{"response": []any{map[string]any{
		"service": service, "command": command, "requestid": reqID,
		"SchwabClientCorrelId": s.StreamCorrelID(), "timestamp": s.clock.Now().UnixMilli(),
		"content": map[string]any{"code": code, "msg": msg}}}})
	c.send(b)
}

// wireRequest is one element of the client's {"requests": [...]}, read
// loosely (requestid may be a string or a number).
type wireRequest struct {
	Service    string          `json:"service"`
	Command    string          `json:"command"`
	RequestID  json.RawMessage `json:"requestid"`
	CustomerID string          `json:"SchwabClientCustomerId"`
	CorrelID   string          `json:"SchwabClientCorrelId"`
	Parameters struct {
		Authorization string `json:"Authorization"`
		Channel       string `json:"SchwabClientChannel"`
		FunctionID    string `json:"SchwabClientFunctionId"`
		Keys          string `json:"keys"`
		Fields        string `json:"fields"`
	} `json:"parameters"`
}

func (r wireRequest) id() string {
	if u, err := strconv.Unquote(string(r.RequestID)); err == nil {
		return u
	}
	return string(r.RequestID)
}

func (s *Server) handleStreamFrame(c *streamConn, data []byte) {
	var env struct {
		Requests []wireRequest `json:"requests"`
	}
	if err := json.Unmarshal(data, &env); err != nil || env.Requests == nil {
		s.respond(c, "ADMIN", "", "", codeBadFormat, "Bad command formatting")
		return
	}
	for _, r := range env.Requests {
		s.handleStreamRequest(c, r)
	}
}

func (s *Server) handleStreamRequest(c *streamConn, r wireRequest) {
	now := s.clock.Now()
	st := &s.stream
	st.mu.Lock()
	st.requests = append(st.requests, StreamRequest{Conn: c.id, Service: r.Service, Command: r.Command,
		RequestID: r.id(), Keys: r.Parameters.Keys, Fields: r.Parameters.Fields, At: now})
	st.mu.Unlock()
	if r.Service == "" || r.Command == "" || len(r.RequestID) == 0 {
		s.respond(c, r.Service, r.Command, r.id(), codeBadFormat, "Bad command formatting")
		return
	}
	if r.CustomerID != s.StreamCustomerID() || r.CorrelID != s.StreamCorrelID() {
		s.respond(c, r.Service, r.Command, r.id(), codeConnNotFound, "Stream connection not found")
		return
	}
	if r.Service == "ADMIN" && r.Command == "LOGIN" {
		s.login(c, r, now)
		return
	}
	c.mu.Lock()
	loggedIn := c.loggedIn
	c.mu.Unlock()
	if !loggedIn {
		s.respond(c, r.Service, r.Command, r.id(), codeConnNotFound, "Stream connection not found")
		return
	}
	switch {
	case r.Service == "ADMIN" && r.Command == "LOGOUT":
		s.respond(c, "ADMIN", "LOGOUT", r.id(), codeSuccess, "SUCCESS")
		c.closeAfterQueued()
	case r.Service == "ACCT_ACTIVITY" || r.Service == "LEVELONE_EQUITIES" || r.Service == "LEVELONE_OPTIONS":
		s.subscribe(c, r, now)
	default:
		s.respond(c, r.Service, r.Command, r.id(), codeUnavailable, "Service not available or temporary down")
	}
}

func (s *Server) login(c *streamConn, r wireRequest, now time.Time) {
	s.mu.Lock()
	at := s.auth.access[r.Parameters.Authorization]
	valid := at != nil && !at.revoked && now.Before(at.expires) &&
		r.Parameters.Channel != "" && r.Parameters.FunctionID != ""
	s.mu.Unlock()
	st := &s.stream
	st.mu.Lock()
	if st.refuseLogins > 0 {
		st.refuseLogins--
		valid = false
	}
	var others []*streamConn
	for _, o := range st.conns {
		if o == c {
			continue
		}
		o.mu.Lock()
		if o.loggedIn {
			others = append(others, o)
		}
		o.mu.Unlock()
	}
	keepOlder := s.cfg.Stream.KeepOlderLogin && len(others) > 0
	if valid && !keepOlder {
		st.logins++
	}
	st.mu.Unlock()
	switch {
	case !valid:
		s.respond(c, "ADMIN", "LOGIN", r.id(), codeLoginDenied, "Login Denied.: token is invalid or has expired.")
		c.closeAfterQueued()
		return
	case keepOlder:
		s.respond(c, "ADMIN", "LOGIN", r.id(), codeCloseConn, "Maximum number of connections reached")
		c.closeAfterQueued()
		return
	}
	for _, o := range others {
		o.send(notice(now, codeCloseConn, "This Streamer was disconnected because of another connection for this user. "+
			"Each user may only have one Streamer open at a time."))
		o.closeAfterQueued()
	}
	c.mu.Lock()
	if !c.loggedIn {
		c.loggedIn, c.loginAt, c.subSince = true, now, now
	}
	c.mu.Unlock()
	s.respond(c, "ADMIN", "LOGIN", r.id(), codeSuccess, "server=emu-1;status=NP")
}

func splitList(v string) []string {
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func (s *Server) subscribe(c *streamConn, r wireRequest, now time.Time) {
	keys, fields := splitList(r.Parameters.Keys), splitList(r.Parameters.Fields)
	c.mu.Lock()
	sub := c.subs[r.Service]
	fail := func(code int, msg string) {
		c.mu.Unlock()
		s.respond(c, r.Service, r.Command, r.id(), code, msg)
	}
	switch r.Command {
	case "SUBS", "ADD":
		if r.Service == "ACCT_ACTIVITY" && r.Command == "ADD" {
			fail(codeFailedSubs, "ADD command failed") // assumed: Schwabdev #14 saw no events
			return
		}
		if len(keys) == 0 {
			fail(codeBadFormat, "Bad command formatting")
			return
		}
		if sub == nil || r.Command == "SUBS" {
			old := sub
			sub = &subscription{fields: fields, sent: map[string]map[string]string{}}
			if r.Command == "ADD" && old != nil {
				sub.keys, sub.sent = old.keys, old.sent
			}
			if len(fields) == 0 && old != nil {
				sub.fields = old.fields
			}
		}
		var merged []string
		merged = append(merged, sub.keys...)
		for _, k := range keys {
			if !slices.Contains(merged, k) {
				merged = append(merged, k)
			}
		}
		if r.Service != "ACCT_ACTIVITY" && len(merged) > s.cfg.Stream.SymbolLimit {
			fail(codeSymbolLimit, "Reached symbol limit")
			return
		}
		sub.keys = merged
		c.subs[r.Service] = sub
	case "UNSUBS":
		if sub != nil {
			sub.keys = slices.DeleteFunc(sub.keys, func(k string) bool { return slices.Contains(keys, k) })
			for _, k := range keys {
				delete(sub.sent, k)
			}
			if len(sub.keys) == 0 {
				delete(c.subs, r.Service)
			}
		}
		if len(c.subs) == 0 {
			c.subSince = now
		}
	case "VIEW":
		if sub == nil || len(fields) == 0 {
			fail(codeBadFormat, "Bad command formatting")
			return
		}
		sub.fields = fields
		sub.sent = map[string]map[string]string{}
	default:
		fail(codeBadFormat, "Bad command formatting")
		return
	}
	c.mu.Unlock()
	s.respond(c, r.Service, r.Command, r.id(), codeSuccess, r.Command+" command succeeded")
	if r.Service != "ACCT_ACTIVITY" {
		s.publishQuotes()
	}
}

// StallStreams makes every open streamer connection stop sending (data and
// heartbeats) while its TCP connection stays open.
func (s *Server) StallStreams() {
	s.eachConn(func(c *streamConn) { c.mu.Lock(); c.stalled = true; c.mu.Unlock() })
}

// DropStreams closes every open streamer connection: with a close frame
// when graceful, else by cutting TCP.
func (s *Server) DropStreams(graceful bool) {
	s.eachConn(func(c *streamConn) {
		if graceful {
			c.closeAfterQueued()
			return
		}
		_ = c.ws.CloseNow()
	})
}

// KickStreams plays a second login elsewhere: every open connection gets
// code 12 and is closed.
func (s *Server) KickStreams() {
	now := s.clock.Now()
	s.eachConn(func(c *streamConn) {
		c.send(notice(now, codeCloseConn, "This Streamer was disconnected because of another connection for this user."))
		c.closeAfterQueued()
	})
}

// StopStreaming sends code 30 (STOP_STREAMING) to every open connection and
// closes it.
func (s *Server) StopStreaming() {
	now := s.clock.Now()
	s.eachConn(func(c *streamConn) {
		c.send(notice(now, codeStopStream, "Stop streaming due to administrator action"))
		c.closeAfterQueued()
	})
}

// RefuseStreamLogins makes the next n LOGINs fail with code 3, whatever the
// token.
func (s *Server) RefuseStreamLogins(n int) {
	st := &s.stream
	st.mu.Lock()
	st.refuseLogins = n
	st.mu.Unlock()
}

// SendStreamFrame sends raw text (not necessarily JSON) to every open
// connection, as is.
func (s *Server) SendStreamFrame(frame string) {
	s.eachConn(func(c *streamConn) { c.send([]byte(frame)) })
}

func (s *Server) eachConn(f func(*streamConn)) {
	st := &s.stream
	st.mu.Lock()
	conns := slices.Clone(st.conns)
	st.mu.Unlock()
	for _, c := range conns {
		f(c)
	}
}

// closeStreams ends every connection handler; Close calls it.
func (s *Server) closeStreams() {
	s.eachConn(func(c *streamConn) { c.cancel() })
	s.stream.wg.Wait()
}
