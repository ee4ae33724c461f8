package schwab

import (
	"context"
	"encoding/json"
	"hash/maphash"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/internal/redact"
	"github.com/cenkalti/backoff/v4"
	"github.com/coder/websocket"
)

// maxKeysPerRequest is how many keys one SUBS/ADD carries (QuantConnect and
// Schwabdev send at most 500, streaming.md §1.7).
const maxKeysPerRequest = 500

// seqMemory is how many ACCT_ACTIVITY seqs below the highest a connection
// remembers for dedup; a copy arriving later than that is caught by the
// content and execution-id dedup instead.
const seqMemory = 4096

// session is one streamer connection, driven by the hub's loop goroutine
// only.
type session struct {
	h    *streamHub
	ls   *loopState
	ctx  context.Context
	ws   *websocket.Conn
	info streamerInfo

	nextID   int
	pending  map[string]func(code int, msg string) error
	activity bool                       // ACCT_ACTIVITY subscribed or being subscribed
	keys     map[string]map[string]bool // service → symbols subscribed
	token    string                     // the token of the last accepted LOGIN
	seen     map[int64]bool             // ACCT_ACTIVITY seqs of this connection
	maxSeq   int64
	lastMsg  time.Time
	err      error // first failure that ends the session
}

type frameMsg struct {
	data []byte
	err  error
}

// session opens, runs and closes one connection. It returns errNoConsumers
// when the last stream ended, otherwise why the connection ended.
func (h *streamHub) session(ctx context.Context, r *hubRun, ls *loopState, bo *backoff.ExponentialBackOff) error {
	b := h.b
	info, err := b.fetchStreamerInfo(ctx)
	if err != nil {
		return err
	}
	token, err := b.streamToken(ctx)
	if err != nil {
		return err
	}
	dctx, dcancel := context.WithTimeout(ctx, 30*time.Second)
	ws, err := b.dial(dctx, info.URL)
	dcancel()
	if err != nil {
		return err
	}
	sctx, scancel := context.WithCancel(ctx)
	frames := make(chan frameMsg)
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		for {
			_, data, err := ws.Read(sctx)
			select {
			case frames <- frameMsg{data, err}:
			case <-sctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()
	s := &session{h: h, ls: ls, ctx: sctx, ws: ws, info: info, pending: map[string]func(int, string) error{},
		keys: map[string]map[string]bool{}, seen: map[int64]bool{}, lastMsg: h.clk.Now()}
	defer func() {
		s.abandon()
		scancel()
		_ = ws.CloseNow()
		<-readerDone
	}()
	if err := s.login(token, frames); err != nil {
		return err
	}
	if err := s.resubscribe(frames); err != nil {
		return err
	}
	h.mu.Lock()
	h.st.Live = true
	h.mu.Unlock()
	bo.Reset()
	for _, op := range ls.waiting {
		op.reply <- nil
	}
	ls.waiting = nil
	if ls.lost {
		h.emitOrder(broker.OrderEvent{Kind: broker.OrderEventGap, Time: h.clk.Now(), RawStatus: "reconnected"})
	}
	ls.lost = true // from here on, an end of this connection loses events
	return s.serve(r, frames)
}

func (s *session) serve(r *hubRun, frames <-chan frameMsg) error {
	h := s.h
	watchdog := h.clk.NewTimer(h.cfg.HeartbeatTimeout)
	defer watchdog.Stop()
	tokenCheck := h.clk.NewTimer(h.cfg.TokenCheck)
	defer tokenCheck.Stop()
	h.noted("live", 0) // the timers run: a test may move the clock now
	for s.err == nil {
		if !s.ls.wanted() && len(s.pending) == 0 {
			s.logout()
			return errNothingWanted
		}
		select {
		case f := <-frames:
			if f.err != nil {
				return s.lostConn(f.err)
			}
			s.handleFrame(f.data)
		case op := <-r.ops:
			h.apply(s.ls, op, s)
			if s.ls.consumers == 0 {
				s.logout()
				return errNoConsumers
			}
		case <-watchdog.C():
			silent := h.clk.Now().Sub(s.lastMsg)
			if silent >= h.cfg.HeartbeatTimeout {
				return &errors.BrokerError{Broker: Name, Op: "stream", Kind: errors.ErrTimeout,
					Message: "streamer silent for " + silent.String() + " (no heartbeat)"}
			}
			watchdog = h.clk.NewTimer(h.cfg.HeartbeatTimeout - silent)
		case <-tokenCheck.C():
			s.checkToken()
			tokenCheck = h.clk.NewTimer(h.cfg.TokenCheck)
		case <-s.ctx.Done():
			return s.ctx.Err()
		}
	}
	return s.err
}

func (s *session) lostConn(err error) error {
	return &errors.BrokerError{Broker: Name, Op: "stream", Kind: errors.ErrNetwork,
		Message: "streamer connection closed", Err: err}
}

// codeLost is the code the requests still unanswered when a connection
// ends are answered with (not a Schwab code).
const codeLost = -2

// abandon answers the requests still pending as failed, so that no caller
// waits for a connection that is gone.
func (s *session) abandon() {
	pending := s.pending
	s.pending = map[string]func(int, string) error{}
	for _, done := range pending {
		_ = done(codeLost, "streamer connection lost before the answer")
	}
}

// fail records the error that ends the session.
func (s *session) fail(err error) {
	if s.err == nil {
		s.err = err
	}
}

// write sends one request.
func (s *session) write(req stRequest) {
	body, err := json.Marshal(stRequests{Requests: []stRequest{req}})
	if err != nil {
		s.fail(err)
		return
	}
	wctx, cancel := context.WithTimeout(s.ctx, 10*time.Second)
	defer cancel()
	if err := s.ws.Write(wctx, websocket.MessageText, body); err != nil {
		s.fail(s.lostConn(err))
	}
}

// command sends a request; onDone (may be nil) gets its response code.
func (s *session) command(service, command string, params map[string]string, onDone func(code int, msg string) error) string {
	s.nextID++
	id := strconv.Itoa(s.nextID)
	if onDone == nil {
		onDone = func(code int, msg string) error {
			if !success(code) {
				s.h.b.log.LogAttrs(s.ctx, slog.LevelWarn, "schwab streamer command failed", slog.String("service", service),
					slog.String("command", command), slog.Int("code", code), slog.String("msg", msg))
			}
			return nil
		}
	}
	s.pending[id] = onDone
	if params == nil {
		params = map[string]string{}
	}
	s.write(stRequest{Service: service, Command: command, RequestID: id, CustomerID: s.info.CustomerID,
		CorrelID: s.info.CorrelID, Parameters: params})
	return id
}

// await handles frames until the request id is answered.
func (s *session) await(id string, frames <-chan frameMsg) error {
	h := s.h
	for s.err == nil {
		if _, waiting := s.pending[id]; !waiting {
			return s.err
		}
		t := h.clk.NewTimer(h.cfg.HeartbeatTimeout)
		select {
		case f := <-frames:
			t.Stop()
			if f.err != nil {
				return s.lostConn(f.err)
			}
			s.handleFrame(f.data)
		case <-t.C():
			return &errors.BrokerError{Broker: Name, Op: "stream", Kind: errors.ErrTimeout,
				Message: "streamer did not answer request " + id}
		case <-s.ctx.Done():
			t.Stop()
			return s.ctx.Err()
		}
	}
	return s.err
}

func (s *session) loginParams(token string) map[string]string {
	return map[string]string{"Authorization": token, "SchwabClientChannel": s.info.Channel,
		"SchwabClientFunctionId": s.info.FunctionID}
}

// loginErr is the typed error of a refused LOGIN: the broker's code and
// words, never the token.
func (s *session) loginErr(code int, msg string) error {
	b := s.h.b
	kind := codeKind(code)
	if code == codeLoginDenied {
		b.healthMu.Lock()
		exp := b.tokenExpiry
		b.healthMu.Unlock()
		if !exp.IsZero() && !s.h.clk.Now().Before(exp) {
			kind = errors.ErrTokenExpired
		}
		if inv, ok := b.cfg.Tokens.(TokenInvalidator); ok {
			_ = inv.Invalidate(s.ctx, b.creds.lastAccess()) // the next attempt refreshes
		}
	}
	return streamErr("stream login", code, redact.Text(msg, b.secrets()...), kind)
}

func (s *session) login(token string, frames <-chan frameMsg) error {
	var result error
	id := s.command(svcAdmin, "LOGIN", s.loginParams(token), func(code int, msg string) error {
		if !success(code) {
			result = s.loginErr(code, msg)
		}
		return result
	})
	if err := s.await(id, frames); err != nil {
		return err
	}
	s.token = token
	if result == nil {
		s.h.noted("login", 0)
	}
	return result
}

// checkToken logs in again on the same connection when the token source
// hands out a new access token, so that the stream does not depend on an
// expired one (whether Schwab needs it is unverified, streaming.md §1.7).
func (s *session) checkToken() {
	tok, err := s.h.b.streamToken(s.ctx)
	if err != nil {
		s.h.b.log.LogAttrs(s.ctx, slog.LevelWarn, "schwab streamer: token refresh failed", slog.String("error", err.Error()))
		return
	}
	if tok == s.token {
		return
	}
	s.command(svcAdmin, "LOGIN", s.loginParams(tok), func(code int, msg string) error {
		if !success(code) {
			return s.loginErr(code, msg)
		}
		s.token = tok
		s.h.noted("login", 0)
		return nil
	})
}

// logout says goodbye without waiting for the answer (Schwab closes the
// socket after it) and closes the connection.
func (s *session) logout() {
	s.nextID++
	s.write(stRequest{Service: svcAdmin, Command: "LOGOUT", RequestID: strconv.Itoa(s.nextID), CustomerID: s.info.CustomerID,
		CorrelID: s.info.CorrelID, Parameters: map[string]string{}})
	_ = s.ws.Close(websocket.StatusNormalClosure, "")
}

// resubscribe subscribes everything the streams want, SUBS per service
// (replacing whatever the server held), ACCT_ACTIVITY first.
func (s *session) resubscribe(frames <-chan frameMsg) error {
	var failed error
	check := func(op string) func(int, string) error {
		return func(code int, msg string) error {
			if !success(code) && failed == nil {
				failed = streamErr(op, code, msg, codeKind(code))
			}
			return nil
		}
	}
	var ids []string
	if s.ls.wantOrders {
		s.activity = true
		ids = append(ids, s.command(svcActivity, "SUBS", map[string]string{"keys": activityKey, "fields": "0,1,2,3"},
			check("stream subscribe orders")))
	}
	bySvc := map[string][]string{}
	for sym := range s.ls.refs {
		svc := serviceFor(sym)
		bySvc[svc] = append(bySvc[svc], sym)
	}
	for svc, syms := range bySvc {
		for i := 0; i < len(syms); i += maxKeysPerRequest {
			cmd := "ADD"
			if i == 0 {
				cmd = "SUBS"
			}
			chunk := syms[i:min(i+maxKeysPerRequest, len(syms))]
			ids = append(ids, s.command(svc, cmd, map[string]string{"keys": strings.Join(chunk, ","), "fields": levelOneFieldsOf(svc)},
				check("stream subscribe quotes")))
			s.mark(svc, chunk, true)
		}
	}
	for _, id := range ids {
		if err := s.await(id, frames); err != nil {
			return err
		}
	}
	return failed
}

func levelOneFieldsOf(svc string) string {
	if svc == svcOptions {
		return optionFields
	}
	return equityFields
}

func (s *session) mark(svc string, syms []string, on bool) {
	m := s.keys[svc]
	if m == nil {
		m = map[string]bool{}
		s.keys[svc] = m
	}
	for _, sym := range syms {
		if on {
			m[sym] = true
		} else {
			delete(m, sym)
		}
	}
}

func (s *session) subscribeActivity(op *hubOp) {
	s.activity = true
	s.command(svcActivity, "SUBS", map[string]string{"keys": activityKey, "fields": "0,1,2,3"}, func(code int, msg string) error {
		if !success(code) {
			s.activity = false
			s.h.failOp(s.ls, op, streamErr("stream subscribe orders", code, msg, codeKind(code)))
			return nil
		}
		op.reply <- nil
		return nil
	})
}

// add subscribes new symbols (ADD keeps the others) and answers op once
// every request is answered.
func (s *session) add(syms []string, op *hubOp) {
	bySvc := map[string][]string{}
	for _, sym := range syms {
		svc := serviceFor(sym)
		bySvc[svc] = append(bySvc[svc], sym)
	}
	left := 0
	var failed error
	for svc, list := range bySvc {
		for i := 0; i < len(list); i += maxKeysPerRequest {
			chunk := list[i:min(i+maxKeysPerRequest, len(list))]
			left++
			s.mark(svc, chunk, true)
			s.command(svc, "ADD", map[string]string{"keys": strings.Join(chunk, ","), "fields": levelOneFieldsOf(svc)},
				func(code int, msg string) error {
					if !success(code) {
						s.mark(svc, chunk, false)
						s.h.apply(s.ls, &hubOp{kind: opUnsubscribe, who: op.who, syms: chunk, reply: make(chan error, 1)}, nil)
						if failed == nil {
							failed = streamErr("stream subscribe quotes", code, msg, codeKind(code))
						}
					}
					if left--; left == 0 {
						op.reply <- failed
					}
					return nil
				})
		}
	}
}

// unsubscribe tells Schwab to stop sending syms; op, if any, is answered
// once Schwab confirmed (a refusal is logged: the symbols are no longer
// delivered either way).
func (s *session) unsubscribe(syms []string, op *hubOp) {
	bySvc := map[string][]string{}
	for _, sym := range syms {
		svc := serviceFor(sym)
		if s.keys[svc][sym] {
			bySvc[svc] = append(bySvc[svc], sym)
		}
	}
	left := len(bySvc)
	if left == 0 && op != nil {
		op.reply <- nil
	}
	for svc, list := range bySvc {
		s.mark(svc, list, false)
		s.command(svc, "UNSUBS", map[string]string{"keys": strings.Join(list, ",")}, func(code int, msg string) error {
			if !success(code) {
				s.h.b.log.LogAttrs(s.ctx, slog.LevelWarn, "schwab streamer UNSUBS refused", slog.Int("code", code),
					slog.String("msg", msg))
			}
			if left--; left == 0 && op != nil {
				op.reply <- nil
			}
			return nil
		})
	}
}

// connectionGone reports the codes after which the server drops the
// connection (streaming.md §1.4).
func connectionGone(code int) bool {
	return code == codeLoginDenied || code == codeCloseConn || code == codeConnNotFound || code == codeStopStream
}

func (s *session) handleFrame(data []byte) {
	h := s.h
	now := h.clk.Now()
	s.lastMsg = now
	h.mu.Lock()
	h.st.LastMessage = now
	h.mu.Unlock()
	f, err := decodeFrame(data)
	if err != nil {
		h.b.log.LogAttrs(s.ctx, slog.LevelDebug, "schwab streamer frame ignored", slog.String("error", err.Error()))
		return
	}
	for _, r := range f.Response {
		code := r.Content.code()
		if done, ok := s.pending[string(r.RequestID)]; ok {
			delete(s.pending, string(r.RequestID))
			if err := done(code, r.Content.Msg); err != nil {
				s.fail(err)
			}
			continue
		}
		if connectionGone(code) {
			s.fail(streamErr("stream", code, r.Content.Msg, codeKind(code)))
		}
	}
	for _, n := range f.Notify {
		if n.Heartbeat != "" || n.Content.Code == nil {
			continue
		}
		code := n.Content.code()
		switch {
		case code == codeCloseConn:
			s.fail(streamErr("stream", code, n.Content.Msg, errors.ErrBrokerUnavailable))
		case connectionGone(code):
			s.fail(streamErr("stream", code, n.Content.Msg, codeKind(code)))
		default:
			h.b.log.LogAttrs(s.ctx, slog.LevelInfo, "schwab streamer notice", slog.String("service", n.Service),
				slog.Int("code", code), slog.String("msg", n.Content.Msg))
		}
	}
	for _, d := range f.Data {
		switch d.Service {
		case svcActivity:
			for _, item := range d.Content {
				s.handleActivity(item, d.Timestamp)
			}
		case svcEquities, svcOptions:
			for _, item := range d.Content {
				q, err := mergeLevelOne(d.Service, item, h.lastQuote)
				if err != nil {
					h.b.log.LogAttrs(s.ctx, slog.LevelDebug, "schwab streamer quote ignored", slog.String("error", err.Error()))
					continue
				}
				h.emitQuote(q)
			}
		}
	}
}

func (h *streamHub) lastQuote(sym string) broker.StreamQuote {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.last[sym]
}

func (s *session) gap(why string) {
	s.h.emitOrder(broker.OrderEvent{Kind: broker.OrderEventGap, Time: s.h.clk.Now(), RawStatus: why})
}

func (s *session) handleActivity(raw json.RawMessage, envelopeMS int64) {
	h := s.h
	it, err := decodeActivityItem(raw)
	if err != nil {
		s.gap("undecodable account activity")
		return
	}
	if it.HasSeq {
		if s.seen[it.Seq] {
			return // the same message again on this connection
		}
		s.seen[it.Seq] = true
		if s.maxSeq > 0 && it.Seq > s.maxSeq+1 {
			s.gap("sequence jump")
		}
		s.maxSeq = max(s.maxSeq, it.Seq)
		if len(s.seen) > 2*seqMemory {
			for seq := range s.seen {
				if seq < s.maxSeq-seqMemory {
					delete(s.seen, seq)
				}
			}
		}
	}
	if acct := h.b.cfg.AccountNumber; acct != "" && it.Account != "" && it.Account != acct {
		return // another account linked to the same login
	}
	if !h.contents.add(strconv.FormatUint(maphash.String(h.seed, it.Type+"\x00"+it.Data), 36)) {
		return // the same content under another seq
	}
	out, err := mapActivity(it, envelopeMS, h.eastern)
	switch {
	case err != nil:
		s.gap("undecodable account activity")
	case out.Resubscribe:
		s.command(svcActivity, "SUBS", map[string]string{"keys": activityKey, "fields": "0,1,2,3"}, nil)
		s.gap("account activity resubscribed")
	case out.Lookup != "":
		s.lookup(out.Lookup, it.Type)
	case out.Event != nil:
		ev := *out.Event
		switch ev.Kind {
		case broker.OrderEventFill:
			if !h.execIDs.add(ev.OrderID + "\x00" + ev.Fill.ExecID) {
				return
			}
		case broker.OrderEventReplaced:
			if !h.replaced.add(ev.OrderID) {
				return
			}
		case broker.OrderEventCanceled:
			if h.replaced.has(ev.OrderID) {
				return // the replace was reported; this confirms it
			}
		}
		h.b.ordersMu.Lock()
		ev.ClientOrderID = h.b.claimed[ev.OrderID]
		h.b.ordersMu.Unlock()
		h.emitOrder(ev)
	}
}

// lookup reads an order by REST for a message the adapter does not know,
// and reports it as a snapshot, or as a gap when the read fails.
func (s *session) lookup(orderID, rawType string) {
	h := s.h
	if orderID == "" {
		s.gap(rawType)
		return
	}
	s.ls.lookups.Add(1)
	ctx := s.ctx
	go func() {
		defer s.ls.lookups.Done()
		o, err := h.b.GetOrder(ctx, orderID)
		if err != nil {
			h.emitOrder(broker.OrderEvent{Kind: broker.OrderEventGap, Time: h.clk.Now(), RawStatus: rawType})
			return
		}
		h.emitOrder(broker.OrderEvent{Kind: broker.OrderEventSnapshot, OrderID: o.OrderID, ClientOrderID: o.ClientOrderID,
			Snapshot: o, RawStatus: rawType, Time: h.clk.Now()})
	}()
}
