// Package coinbasetest is an httptest emulator of Coinbase Advanced Trade's
// REST API (v3, spot), for tests of the coinbase adapter and of programs
// built on it.
//
// It is an independent reading of the wire specification, checked against
// real payloads; it shares no code or types with the adapter. It verifies
// every request's JWT as strictly as the spec's checklist asks (signature
// against the registered public key, nbf/exp window, uri claim, nonce never
// replayed, key bound to the portfolio, permissions), serves an OAuth2 token
// endpoint with PKCE and rotating refresh tokens, keeps accounts, products,
// quotes, orders and fills, and lets a test drive the book (fills,
// expiry), inspect every order and request it received, and inject faults.
// It also serves Advanced Trade's two WebSocket endpoints (MarketStreamURL,
// UserStreamURL: heartbeats, ticker and the user channel) from the same
// book, with stream faults (see stream.go).
//
// Decimals travel as JSON strings and are held as decimal.Decimal; the
// emulator never uses float64 for money.
package coinbasetest

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/arbiontrader/arbion/clock"
	"github.com/shopspring/decimal"
)

// APIPrefix is the path prefix of every Advanced Trade route.
const APIPrefix = "/api/v3/brokerage"

// Config tunes the emulator. The zero value is usable.
type Config struct {
	// Clock is the time source (token windows, order times, GTD expiry,
	// OAuth token lifetimes, injected latency); nil means clock.Real.
	Clock clock.Clock
	// Portfolio is the uuid of the portfolio the server serves; default a
	// generated uuid.
	Portfolio string
	// MakerFeeRate and TakerFeeRate are fractions ("0.004" = 0.4%); defaults
	// 0.004 and 0.006.
	MakerFeeRate, TakerFeeRate decimal.Decimal
	// NotBeforeLeeway lets a token's nbf be this far in the future (0: none,
	// as strict as the spec's checklist).
	NotBeforeLeeway time.Duration
	// AcceptLegacyIssuer accepts iss "coinbase-cloud" besides "cdp".
	AcceptLegacyIssuer bool
	// LegacyCreateResponse answers creates in the older shape (top-level
	// failure_reason and order_id, order_configuration null).
	LegacyCreateResponse bool
	// CancelQueued makes an accepted cancel leave the order CANCEL_QUEUED
	// with pending_cancel true until Settle; false cancels at once.
	CancelQueued bool
	// VisibilityDelay hides a new order from get-order (404) and list-orders
	// for this long after it was accepted, as Coinbase's eventual consistency
	// can; creates with its client_order_id still find it.
	VisibilityDelay time.Duration
	// IgnoreEditStopPrice makes edits ignore stop_price (a member newer
	// docs added), to test that a client notices a stop that did not move.
	IgnoreEditStopPrice bool
	// Candles tunes the candles endpoints (see CandlesConfig).
	Candles CandlesConfig
	// FillsTrailingEmptyPage makes the last page of fills carry a
	// non-empty cursor, followed by an empty page that still carries one, so
	// that a client must also stop on an empty page.
	FillsTrailingEmptyPage bool
	// PrivateRateLimit is the authenticated requests allowed per second per
	// key (burst the same); 0 disables the limit. Coinbase's is 30.
	PrivateRateLimit int
	// Stream tunes the WebSocket endpoints (stream.go).
	Stream StreamConfig
}

// Server is a running emulator. Its methods are safe for concurrent use.
type Server struct {
	srv   *httptest.Server
	cfg   Config
	clock clock.Clock

	inflight sync.WaitGroup

	mu        sync.Mutex
	portfolio string
	keys      map[string]*Key
	nonces    map[string]time.Time
	oauth     oauthState
	products  map[string]*product
	accounts  []*account // in creation order
	orders    []*order   // in creation order
	gtd       []*order   // working orders with an end time
	byID      map[string]*order
	byClient  map[string]*order
	fills     []*fill
	seq       int64
	faults    []*faultState
	requests  []RequestRecord
	creates   []CreateAttempt
	authFails []string
	rate      map[string][]time.Time
	served    int // requests handled, to sweep old nonces now and then
	candles   candleState
	ws        streamState
}

// NewServer starts an emulator on a loopback port with a default market
// (BTC-USD, ETH-USD, SOL-USD aliased to SOL-USDC, ADA-USD, LTC-USD, DOGE-USD
// and a few more) and a funded account: 1,000,000 USD. Close it when done.
func NewServer(cfg Config) *Server {
	cfg.Clock = clock.Or(cfg.Clock)
	if cfg.Portfolio == "" {
		cfg.Portfolio = newUUID()
	}
	if cfg.MakerFeeRate.IsZero() {
		cfg.MakerFeeRate = decimal.RequireFromString("0.004")
	}
	if cfg.TakerFeeRate.IsZero() {
		cfg.TakerFeeRate = decimal.RequireFromString("0.006")
	}
	s := &Server{
		cfg: cfg, clock: cfg.Clock, portfolio: cfg.Portfolio,
		keys: map[string]*Key{}, nonces: map[string]time.Time{},
		oauth:    newOAuthState(),
		products: map[string]*product{}, byID: map[string]*order{}, byClient: map[string]*order{},
		rate: map[string][]time.Time{},
	}
	s.seedMarket()
	s.srv = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	return s
}

// URL is the server's base URL (scheme, host and port; no path).
func (s *Server) URL() string { return s.srv.URL }

// Client returns an HTTP client for the server.
func (s *Server) Client() *http.Client { return s.srv.Client() }

// Close shuts the server down and closes every connection.
func (s *Server) Close() {
	s.closeStreams()
	s.srv.CloseClientConnections()
	s.srv.Close()
}

// Portfolio returns the uuid of the served portfolio.
func (s *Server) Portfolio() string { return s.portfolio }

// Now returns the emulator's time.
func (s *Server) Now() time.Time { return s.clock.Now() }

// AddKey registers an API key.
func (s *Server) AddKey(k Key) {
	s.mu.Lock()
	defer s.mu.Unlock()
	kk := k
	s.keys[k.Name] = &kk
}

// RegisterKey registers a generated test key with view and trade rights on
// the server's portfolio.
func (s *Server) RegisterKey(k TestKey) {
	s.AddKey(Key{Name: k.Name, Public: k.Public, View: true, Trade: true})
}

// RequestRecord is one request the server received.
type RequestRecord struct {
	Method, Path string
	Query        url.Values
	Body         string
	Status       int
	Token        *TokenRecord // nil when the request was not authenticated
	AuthFailure  string       // why the token was refused, if it was
	UnknownKeys  []string     // query or body keys the spec does not list
	GETWithBody  bool
}

// Requests returns every request received so far, in arrival order.
func (s *Server) Requests() []RequestRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]RequestRecord(nil), s.requests...)
}

// AuthFailures returns the reasons of every refused token, in order.
func (s *Server) AuthFailures() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.authFails...)
}

// route is one endpoint: the permission it needs and its handler, called
// with s.mu held.
type route struct {
	write   bool
	public  bool
	handler func(s *Server, c *call) response
}

// call is one request being served.
type call struct {
	r      *http.Request
	body   []byte
	who    *principal
	params map[string]string // path parameters
	rec    *RequestRecord
}

// response is what a handler answers; the fault layer may still alter it.
type response struct {
	status      int
	contentType string
	body        []byte
	location    string // a redirect target
}

func jsonResponse(status int, v any) response {
	return response{status: status, contentType: "application/json", body: mustJSON(v)}
}

func apiError(status int, code, message string) response {
	return jsonResponse(status, map[string]string{"error": code, "error_details": message, "message": message})
}

var unauthorized = response{status: http.StatusUnauthorized, contentType: "text/plain", body: []byte("Unauthorized")}

// match finds the route for a method and path; the literal routes win over
// the {id} ones.
func match(method, path string) (route, map[string]string, bool) {
	rest, ok := strings.CutPrefix(path, APIPrefix)
	if !ok {
		return matchOAuth(method, path)
	}
	type r = route
	switch method + " " + rest {
	case "GET /accounts":
		return r{handler: (*Server).handleListAccounts}, nil, true
	case "GET /best_bid_ask":
		return r{handler: (*Server).handleBestBidAsk}, nil, true
	case "GET /products":
		return r{handler: (*Server).handleListProducts}, nil, true
	case "POST /orders":
		return r{write: true, handler: (*Server).handleCreateOrder}, nil, true
	case "POST /orders/preview":
		return r{write: true, handler: (*Server).handlePreviewOrder}, nil, true
	case "POST /orders/batch_cancel":
		return r{write: true, handler: (*Server).handleBatchCancel}, nil, true
	case "POST /orders/edit":
		return r{write: true, handler: (*Server).handleEdit}, nil, true
	case "POST /orders/edit_preview":
		return r{write: true, handler: (*Server).handleEditPreview}, nil, true
	case "GET /orders/historical/batch":
		return r{handler: (*Server).handleListOrders}, nil, true
	case "GET /orders/historical/fills":
		return r{handler: (*Server).handleListFills}, nil, true
	case "GET /key_permissions":
		return r{handler: (*Server).handleKeyPermissions}, nil, true
	case "GET /time":
		return r{public: true, handler: (*Server).handleTime}, nil, true
	}
	if method != http.MethodGet {
		return route{}, nil, false
	}
	if rt, params, ok := matchCandles(rest); ok {
		return rt, params, true
	}
	for prefix, h := range map[string]func(*Server, *call) response{
		"/accounts/":          (*Server).handleGetAccount,
		"/products/":          (*Server).handleGetProduct,
		"/orders/historical/": (*Server).handleGetOrder,
	} {
		if id, ok := strings.CutPrefix(rest, prefix); ok && id != "" && !strings.Contains(id, "/") {
			return route{handler: h}, map[string]string{"id": id}, true
		}
	}
	return route{}, nil, false
}

// WaitIdle blocks until no request is being handled: after a client gave
// up on a delayed request, it tells the test when the emulator has finished
// processing it. Call it while no new request is being sent.
func (s *Server) WaitIdle() { s.inflight.Wait() }

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if s.serveStream(w, r) {
		return
	}
	s.inflight.Add(1)
	defer s.inflight.Done()
	body, err := readBody(r)
	if err != nil {
		http.Error(w, "bad request body", http.StatusBadRequest)
		return
	}
	rt, params, ok := match(r.Method, r.URL.Path)
	if !ok {
		s.record(RequestRecord{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Status: http.StatusNotFound})
		http.Error(w, "Not Found", http.StatusNotFound)
		return
	}
	// A fault that delays does so before anything is decided, outside the lock.
	f := s.takeFault(r.Method, r.URL.Path)
	if f != nil && f.Kind == FaultLatency {
		t := s.clock.NewTimer(f.Delay)
		select {
		case <-t.C():
		case <-r.Context().Done():
		}
		t.Stop()
	}
	s.mu.Lock()
	if s.served++; s.served%256 == 0 {
		s.forgetExpiredNonces(s.clock.Now())
	}
	s.expireDue()
	rec := &RequestRecord{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Body: string(body),
		GETWithBody: r.Method == http.MethodGet && len(body) > 0}
	c := &call{r: r, body: body, params: params, rec: rec}
	resp := s.serveLocked(rt, c, f)
	s.publishLocked()
	rec.Status = resp.status
	s.requests = append(s.requests, *rec)
	s.mu.Unlock()
	s.write(w, resp, f)
}

// serveLocked authenticates, applies pre-processing faults, and runs the
// handler. Called with s.mu held.
func (s *Server) serveLocked(rt route, c *call, f *Fault) response {
	if !rt.public {
		who, aerr := s.authenticate(c.r)
		if aerr != nil {
			c.rec.AuthFailure = aerr.Reason
			s.authFails = append(s.authFails, aerr.Reason)
			return unauthorized
		}
		c.who = who
		tok := who.token
		c.rec.Token = &tok
		if rt.write && !s.canTrade(who) || !rt.write && !s.canView(who) {
			return apiError(http.StatusForbidden, "PERMISSION_DENIED", "Missing required scopes")
		}
		if s.rateLimited(who) {
			return htmlTooManyRequests()
		}
	}
	if f != nil && f.Kind == FaultEcho {
		body := strings.ReplaceAll(f.Body, "{authorization}", c.r.Header.Get("Authorization"))
		return response{status: f.status(http.StatusUnauthorized), contentType: "text/plain", body: []byte(body)}
	}
	if f != nil && f.before() {
		return f.preResponse()
	}
	if f != nil && f.Kind == FaultRejectOrder && c.r.URL.Path == APIPrefix+"/orders" {
		return rejectedCreate(f.FailureReason, f.PreviewFailureReason, "injected rejection", nil)
	}
	return rt.handler(s, c)
}

func (s *Server) canTrade(p *principal) bool {
	if p.oauth != nil {
		return p.oauth.trade
	}
	return p.key.Trade
}

func (s *Server) canView(p *principal) bool {
	if p.oauth != nil {
		return true
	}
	return p.key.View
}

// rateLimited applies the per-key sliding one-second window.
func (s *Server) rateLimited(p *principal) bool {
	if s.cfg.PrivateRateLimit <= 0 {
		return false
	}
	id := p.token.Kid
	now := s.clock.Now()
	window := s.rate[id][:0]
	for _, t := range s.rate[id] {
		if now.Sub(t) < time.Second {
			window = append(window, t)
		}
	}
	if len(window) >= s.cfg.PrivateRateLimit {
		s.rate[id] = window
		return true
	}
	s.rate[id] = append(window, now)
	return false
}

func (s *Server) record(rec RequestRecord) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, rec)
}

func readBody(r *http.Request) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	defer r.Body.Close()
	b, err := io.ReadAll(io.LimitReader(r.Body, 1<<20+1))
	if err == nil && len(b) > 1<<20 {
		err = fmt.Errorf("body over 1 MiB")
	}
	return b, err
}

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
