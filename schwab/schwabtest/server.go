// Package schwabtest is an httptest emulator of the Charles Schwab Trader API
// (Individual): OAuth (authorize and token endpoints with PKCE checks and
// both token lifetimes), account hashes, accounts with balances and
// positions, multi-symbol quotes, and orders (place, get, list, cancel,
// replace) with the real JSON shapes, the per-account order-rate limit and
// fault injection. A test drives the order book (fills, rejects, expiry,
// cancels behind the client's back) and inspects every order received.
//
// The emulator is an independent reading of the wire specification; it does
// not share code or types with the schwab adapter, so that a misreading in
// one shows up as a failing test instead of being mirrored in the other.
//
// One server answers the OAuth (/v1/oauth), trader (/trader/v1) and market
// data (/marketdata/v1) paths under its URL, and the Streamer's WebSocket
// at /ws (stream.go: ACCT_ACTIVITY from the same order book, LEVELONE from
// the same quotes, with faults). Time comes from Config.Clock, so
// token expiry and the rate window move when the test moves a clocktest.Fake.
package schwabtest

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/arbiontrader/arbion/clock"
	"github.com/shopspring/decimal"
)

// Account is one brokerage account the emulated user linked to the app.
type Account struct {
	Number string // plain account number, e.g. "12345678"
	// Hash is the account's hashValue; empty derives 64 upper-case hex
	// characters from Number, as the real API's look.
	Hash string
	Type string          // "MARGIN" (default) or "CASH"
	Cash decimal.Decimal // starting cash
}

// Config configures a Server. The zero value is usable: one margin account
// with 1,000,000 cash, the real clock, Schwab's published lifetimes and the
// order limit of 120 per minute.
type Config struct {
	Clock        clock.Clock // default: clock.Real
	AppKey       string      // client_id; default "test-app-key"
	AppSecret    string      // client secret; default "test-app-secret"
	RedirectURI  string      // the registered callback; default "https://127.0.0.1:8182/callback"
	Accounts     []Account
	AccessTTL    time.Duration // default 30 min
	RefreshTTL   time.Duration // from the login, never extended; default 7 days
	CodeTTL      time.Duration // authorization code; default 30 s
	RotateTokens bool          // the refresh grant also issues a new refresh token (unverified at Schwab)
	// RefreshErrorInvalidClient answers a dead refresh token with
	// {"error":"invalid_client","error_description":"refresh token invalid"}
	// instead of the observed unsupported_token_type body.
	RefreshErrorInvalidClient bool

	// OrderRateLimit is the most order requests (place, replace, cancel)
	// per account in any OrderRateWindow; more get 429. Default 120; a
	// negative value turns the limit off.
	OrderRateLimit  int
	OrderRateWindow time.Duration // default 1 minute
	// AppRateLimit is the most non-order requests per OrderRateWindow for
	// the whole app (Schwab: 120/min); 0 (default) turns it off so that
	// tests which do not study it are not throttled.
	AppRateLimit int
	// DailyOrderLimit is the most order requests per account per UTC day
	// (Schwab: 4000, reported by clients); more get 429. Default 4000; a
	// negative value turns it off.
	DailyOrderLimit int
	// RetryAfter, when positive, is sent as Retry-After (seconds) on 429s;
	// Schwab's behaviour is unknown.
	RetryAfter time.Duration

	// MaxResults is the most orders one order list returns, whatever
	// maxResults asks: Schwab's own default and cap is 3000 (spec §6.7).
	// Like Schwab it keeps the newest of the window and drops the rest
	// without saying so. Default 3000.
	MaxResults int

	// MaxQuoteSymbols refuses /quotes requests with more symbols (400);
	// 0 means no limit (Schwab publishes none).
	MaxQuoteSymbols int
	// PriceHistory tunes /marketdata/v1/pricehistory (see PriceHistoryConfig).
	PriceHistory PriceHistoryConfig
	// InitialStatus is the status of a newly placed order; default WORKING.
	InitialStatus string
	// GzipUnasked compresses every JSON answer, errors included, even when
	// the client did not send Accept-Encoding: gzip (observed at Schwab).
	GzipUnasked bool
	// Stream configures the streamer (stream.go).
	Stream StreamConfig
}

func (c *Config) withDefaults() {
	if c.MaxResults <= 0 {
		c.MaxResults = 3000
	}
	c.Clock = clock.Or(c.Clock)
	if c.AppKey == "" {
		c.AppKey = "test-app-key"
	}
	if c.AppSecret == "" {
		c.AppSecret = "test-app-secret"
	}
	if c.RedirectURI == "" {
		c.RedirectURI = "https://127.0.0.1:8182/callback"
	}
	if len(c.Accounts) == 0 {
		c.Accounts = []Account{{Number: "12345678", Cash: decimal.NewFromInt(1_000_000)}}
	}
	if c.AccessTTL == 0 {
		c.AccessTTL = 30 * time.Minute
	}
	if c.RefreshTTL == 0 {
		c.RefreshTTL = 7 * 24 * time.Hour
	}
	if c.CodeTTL == 0 {
		c.CodeTTL = 30 * time.Second
	}
	if c.OrderRateLimit == 0 {
		c.OrderRateLimit = 120
	}
	if c.DailyOrderLimit == 0 {
		c.DailyOrderLimit = 4000
	}
	if c.OrderRateWindow == 0 {
		c.OrderRateWindow = time.Minute
	}
	if c.InitialStatus == "" {
		c.InitialStatus = "WORKING"
	}
	c.Stream.withDefaults()
}

// HashFor returns the hashValue the emulator gives an account number when
// Account.Hash is empty: 64 upper-case hex characters.
func HashFor(accountNumber string) string {
	sum := sha256.Sum256([]byte("schwabtest:" + accountNumber))
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}

// Server is a running emulator. Its methods are safe for concurrent use.
type Server struct {
	cfg   Config
	clock clock.Clock
	gzips sync.Pool // *gzip.Writer, reused across answers
	srv   *httptest.Server
	mux   *http.ServeMux

	mu         sync.Mutex
	closing    chan struct{}
	faults     map[Route][]Fault
	faultFuncs map[Route]FaultFunc
	requests   []RecordedRequest

	accounts   []*account
	byHash     map[string]*account
	orders     map[int64]*order
	orderSeq   []*order // in creation order
	nextID     int64
	activityID int64
	quotes     map[string]QuoteValue

	auth     authState
	appCalls []time.Time
	inflight int
	idle     chan struct{} // closed and replaced whenever inflight drops to 0

	stream streamState
}

// New starts an emulator on a loopback httptest server. Call Close when done.
func New(cfg Config) *Server {
	s := newServer(cfg)
	s.srv = httptest.NewServer(s.mux)
	return s
}

// newServer builds the emulator without starting it.
func newServer(cfg Config) *Server {
	cfg.withDefaults()
	s := &Server{
		cfg:        cfg,
		clock:      cfg.Clock,
		gzips:      sync.Pool{New: func() any { return gzip.NewWriter(io.Discard) }},
		mux:        http.NewServeMux(),
		closing:    make(chan struct{}),
		idle:       make(chan struct{}),
		faults:     make(map[Route][]Fault),
		faultFuncs: make(map[Route]FaultFunc),
		byHash:     make(map[string]*account),
		orders:     make(map[int64]*order),
		nextID:     1004055538153,
		activityID: 102102029816,
		quotes:     make(map[string]QuoteValue),
	}
	s.auth.init()
	for _, a := range cfg.Accounts {
		acct := newAccount(a)
		s.accounts = append(s.accounts, acct)
		s.byHash[acct.hash] = acct
	}
	s.routes()
	return s
}

// URL is the emulator's base URL (scheme and host, no path): the trader API
// is at URL+"/trader/v1", market data at URL+"/marketdata/v1", OAuth at
// URL+"/v1/oauth".
func (s *Server) URL() string { return s.srv.URL }

// Client returns an HTTP client for the emulator.
func (s *Server) Client() *http.Client { return s.srv.Client() }

// Close releases handlers parked on injected latency and shuts the server down.
func (s *Server) Close() {
	s.mu.Lock()
	select {
	case <-s.closing:
	default:
		close(s.closing)
	}
	s.mu.Unlock()
	s.closeStreams()
	s.srv.Close()
}

// Hash returns the hashValue of the account with number accountNumber, or "".
func (s *Server) Hash(accountNumber string) string {
	for _, a := range s.accounts {
		if a.number == accountNumber {
			return a.hash
		}
	}
	return ""
}

// RecordedRequest is one request the emulator received.
type RecordedRequest struct {
	Route  Route
	Method string
	Path   string // escaped path
	Query  string
	Header http.Header
	Body   []byte
	At     time.Time // on the emulator's clock
}

// Requests returns every request received so far, oldest first.
func (s *Server) Requests() []RecordedRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]RecordedRequest(nil), s.requests...)
}

// Count returns how many requests route received.
func (s *Server) Count(route Route) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, r := range s.requests {
		if r.Route == route {
			n++
		}
	}
	return n
}

// response is a handler's answer before faults and encoding are applied.
type response struct {
	status int
	header http.Header
	body   []byte
}

func jsonResponse(status int, v any) response {
	body, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("schwabtest: marshal: %v", err)) // emulator bug: all values are ours
	}
	h := http.Header{}
	h.Set("Content-Type", "application/json;charset=UTF-8")
	return response{status: status, header: h, body: body}
}

func emptyResponse(status int) response { return response{status: status, header: http.Header{}} }

// messageError is the Trader API's ServiceError: {"message": ...}.
func messageError(status int, msg string) response {
	return jsonResponse(status, map[string]any{"message": msg})
}

// gatewayError is the gateway/market-data ErrorResponse: {"errors":[...]}.
func gatewayError(status int, statusField any, title, detail string, source map[string]any) response {
	e := map[string]any{"id": newUUID(), "status": statusField, "title": title}
	if detail != "" {
		e["detail"] = detail
	}
	if source != nil {
		e["source"] = source
	}
	return jsonResponse(status, map[string]any{"errors": []any{e}})
}

func unauthorized() response {
	return gatewayError(http.StatusUnauthorized, 401, "Unauthorized", "Client not authorized", nil)
}

// handler is an emulated endpoint; it runs after fault, auth and limit checks.
type handler func(r *http.Request, body []byte) response

// routeOpts says what the wrapper checks before the handler.
type routeOpts struct {
	bearer     bool // needs a live access token
	marketData bool // missing token answers 400 source.header (market data) instead of 401
	orderWrite bool // counts toward the per-account order limit
}

func (s *Server) handle(pattern string, route Route, opts routeOpts, h handler) {
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		s.beginHandler()
		defer s.endHandler()
		body, err := readBody(r)
		if err != nil {
			s.write(w, r, messageError(http.StatusBadRequest, "request body unreadable"))
			return
		}
		s.record(route, r, body)
		fault := s.nextFault(route, r)
		if fault != nil {
			if resp, done := s.preFault(r, fault); done {
				s.write(w, r, resp)
				return
			}
		}
		resp := s.check(r, opts)
		if resp.status == 0 {
			resp = h(r, body)
		}
		s.publishBook() // the streamer tells what the request changed
		if fault != nil && s.postFault(w, r, fault, &resp) {
			return
		}
		s.write(w, r, resp)
	})
}

func (s *Server) beginHandler() {
	s.mu.Lock()
	s.inflight++
	s.mu.Unlock()
}

func (s *Server) endHandler() {
	s.mu.Lock()
	s.inflight--
	if s.inflight == 0 {
		close(s.idle)
		s.idle = make(chan struct{})
	}
	s.mu.Unlock()
}

// WaitIdle blocks until no request is being handled (a request parked on
// injected latency counts as handled until it finishes) or ctx is done.
func (s *Server) WaitIdle(ctx context.Context) error {
	for {
		s.mu.Lock()
		if s.inflight == 0 {
			s.mu.Unlock()
			return nil
		}
		idle := s.idle
		s.mu.Unlock()
		select {
		case <-idle:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func readBody(r *http.Request) ([]byte, error) {
	var buf bytes.Buffer
	_, err := buf.ReadFrom(http.MaxBytesReader(nil, r.Body, 1<<20))
	return buf.Bytes(), err
}

func (s *Server) record(route Route, r *http.Request, body []byte) {
	rec := RecordedRequest{Route: route, Method: r.Method, Path: r.URL.EscapedPath(), Query: r.URL.RawQuery,
		Header: r.Header.Clone(), Body: body, At: s.clock.Now()}
	s.mu.Lock()
	s.requests = append(s.requests, rec)
	s.mu.Unlock()
}

// check applies the bearer-token check and the rate limits; a zero response
// lets the handler run.
func (s *Server) check(r *http.Request, opts routeOpts) response {
	if opts.bearer {
		if resp := s.checkBearer(r, opts.marketData); resp.status != 0 {
			return resp
		}
	}
	if opts.orderWrite {
		if !s.allowOrderWrite(r.PathValue("hash")) {
			return s.tooMany()
		}
	} else if opts.bearer && !s.allowAppCall() {
		return s.tooMany()
	}
	return response{}
}

func (s *Server) tooMany() response {
	resp := emptyResponse(http.StatusTooManyRequests)
	if s.cfg.RetryAfter > 0 {
		resp.header.Set("Retry-After", fmt.Sprint(int(s.cfg.RetryAfter.Seconds())))
	}
	return resp
}

// preFault applies the faults that answer before the request is processed.
func (s *Server) preFault(r *http.Request, f *Fault) (response, bool) {
	switch f.Kind {
	case FaultServerError:
		return gatewayError(statusOr(f.Status, 500), statusOr(f.Status, 500), "Internal Server Error", "injected fault", nil), true
	case FaultHTMLError:
		resp := response{status: statusOr(f.Status, 500), header: http.Header{}, body: []byte(whitelabelPage)}
		resp.header.Set("Content-Type", "text/html;charset=UTF-8")
		return resp, true
	case FaultRateLimited:
		return s.tooMany(), true
	case FaultTextNotFound:
		resp := response{status: 404, header: http.Header{},
			body: []byte("404 Not Found: Requested route ('traderapi-accounts.apigx-origin.schwab.com') does not exist.")}
		resp.header.Set("Content-Type", "text/plain")
		return resp, true
	case FaultLatency:
		t := s.clock.NewTimer(f.Delay)
		select {
		case <-t.C():
		case <-s.closing:
		}
		t.Stop()
	}
	return response{}, false
}

// postFault applies the faults that hit the answer of a processed request; it
// reports whether it already dealt with the connection.
func (s *Server) postFault(w http.ResponseWriter, r *http.Request, f *Fault, resp *response) bool {
	switch f.Kind {
	case FaultServerErrorAfter:
		*resp = gatewayError(statusOr(f.Status, 500), statusOr(f.Status, 500), "Internal Server Error", "injected fault", nil)
	case FaultNoLocation:
		resp.header.Del("Location")
	case FaultPathOnlyLocation:
		if loc := resp.header.Get("Location"); loc != "" {
			resp.header.Set("Location", strings.TrimPrefix(loc, s.URL()))
		}
	case FaultWrongLocation:
		if loc := resp.header.Get("Location"); loc != "" {
			if other := s.oldestOrderID(r.PathValue("hash")); other != "" {
				resp.header.Set("Location", loc[:strings.LastIndex(loc, "/")+1]+other)
			}
		}
	case FaultTruncatedJSON:
		body := resp.body
		if len(body) == 0 {
			body = []byte(`{"message":"`)
		}
		resp.body = body[:len(body)/2+1]
		resp.header.Set("Content-Type", "application/json;charset=UTF-8")
	case FaultDropAfterAccept:
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				_ = conn.Close()
				return true
			}
		}
		panic(http.ErrAbortHandler) // no hijacker: abort the response instead
	}
	return false
}

func statusOr(status, def int) int {
	if status == 0 {
		return def
	}
	return status
}

func (s *Server) write(w http.ResponseWriter, r *http.Request, resp response) {
	h := w.Header()
	for k, v := range resp.header {
		h[k] = v
	}
	h.Set("Schwab-Client-Correlid", newUUID())
	h.Set("Schwab-Resource-Version", "1")
	body := resp.body
	if len(body) > 0 && (s.cfg.GzipUnasked || strings.Contains(r.Header.Get("Accept-Encoding"), "gzip")) {
		var buf bytes.Buffer
		zw := s.gzips.Get().(*gzip.Writer) // a fresh writer allocates ~800 KB
		zw.Reset(&buf)
		_, _ = zw.Write(body)
		_ = zw.Close()
		s.gzips.Put(zw)
		body = buf.Bytes()
		h.Set("Content-Encoding", "gzip")
	}
	if resp.status == 0 {
		resp.status = http.StatusOK
	}
	w.WriteHeader(resp.status)
	_, _ = w.Write(body)
}

const whitelabelPage = `<html><body><h1>Whitelabel Error Page</h1>` +
	`<p>This application has no explicit mapping for /error, so you are seeing this as a fallback.</p>` +
	`<div>There was an unexpected error (type=Internal Server Error, status=500).</div></body></html>`

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// allowOrderWrite counts an order request for the account in the rolling
// window and reports whether it is within the limit.
func (s *Server) allowOrderWrite(hash string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.byHash[hash]
	if a == nil || s.cfg.OrderRateLimit < 0 {
		return true // the handler answers the bad hash
	}
	now := s.clock.Now()
	a.orderCalls = pruneWindow(a.orderCalls, now, s.cfg.OrderRateWindow)
	if len(a.orderCalls) >= s.cfg.OrderRateLimit || s.cfg.DailyOrderLimit > 0 && a.ordersOn(now) >= s.cfg.DailyOrderLimit {
		return false
	}
	a.orderCalls = append(a.orderCalls, now)
	a.orderLog = append(a.orderLog, now)
	return true
}

// oldestOrderID returns the id of the account's first order, or "".
func (s *Server) oldestOrderID(hash string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, o := range s.orderSeq {
		if o.acct.hash == hash {
			return idString(o.id)
		}
	}
	return ""
}

// ordersOn counts the account's accepted order requests on now's UTC day.
func (a *account) ordersOn(now time.Time) int {
	day := now.UTC().Truncate(24 * time.Hour)
	n := 0
	for i := len(a.orderLog) - 1; i >= 0 && !a.orderLog[i].Before(day); i-- {
		n++
	}
	return n
}

func (s *Server) allowAppCall() bool {
	if s.cfg.AppRateLimit <= 0 {
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	s.appCalls = pruneWindow(s.appCalls, now, s.cfg.OrderRateWindow)
	if len(s.appCalls) >= s.cfg.AppRateLimit {
		return false
	}
	s.appCalls = append(s.appCalls, now)
	return true
}

// pruneWindow drops the times at or before now-window: a call at t counts in
// the window (now-window, now].
func pruneWindow(times []time.Time, now time.Time, window time.Duration) []time.Time {
	cut := 0
	for cut < len(times) && !times[cut].After(now.Add(-window)) {
		cut++
	}
	return times[cut:]
}

// OrderRequestTimes returns, oldest first, when each order request (place,
// replace, cancel) the emulator accepted for the account arrived, on its clock.
func (s *Server) OrderRequestTimes(accountNumber string) []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range s.accounts {
		if a.number == accountNumber {
			return append([]time.Time(nil), a.orderLog...)
		}
	}
	return nil
}

func (s *Server) routes() {
	bearer := routeOpts{bearer: true}
	write := routeOpts{bearer: true, orderWrite: true}
	s.handle("GET /v1/oauth/authorize", RouteAuthorize, routeOpts{}, s.authorize)
	s.handle("POST /v1/oauth/token", RouteToken, routeOpts{}, s.token)
	s.handle("GET /trader/v1/accounts/accountNumbers", RouteAccountNumbers, bearer, s.accountNumbers)
	s.handle("GET /trader/v1/accounts", RouteAccounts, bearer, s.listAccounts)
	s.handle("GET /trader/v1/accounts/{hash}", RouteAccounts, bearer, s.getAccount)
	s.handle("POST /trader/v1/accounts/{hash}/orders", RoutePlace, write, s.placeOrder)
	s.handle("POST /trader/v1/accounts/{hash}/previewOrder", RoutePreview, bearer, s.previewOrder)
	s.handle("GET /trader/v1/accounts/{hash}/orders", RouteList, bearer, s.listAccountOrders)
	s.handle("GET /trader/v1/orders", RouteList, bearer, s.listAllOrders)
	s.handle("GET /trader/v1/accounts/{hash}/orders/{id}", RouteGet, bearer, s.getOrder)
	s.handle("DELETE /trader/v1/accounts/{hash}/orders/{id}", RouteCancel, write, s.cancelOrder)
	s.handle("PUT /trader/v1/accounts/{hash}/orders/{id}", RouteReplace, write, s.replaceOrder)
	s.handle("GET /marketdata/v1/quotes", RouteQuotes, routeOpts{bearer: true, marketData: true}, s.getQuotes)
	s.handle("GET /marketdata/v1/pricehistory", RoutePriceHistory, routeOpts{bearer: true, marketData: true}, s.priceHistory)
	s.streamRoutes()
}
