// Package etradetest is an httptest emulator of the E*TRADE v1 REST API and
// its OAuth 1.0a token endpoints, for tests of the etrade adapter and of
// programs built on it.
//
// It is a second, independent reading of the wire protocol (it shares no
// code and no wire structs with the adapter): it verifies every OAuth 1.0a
// HMAC-SHA1 signature with its own encoder, refuses stale timestamps and
// replayed nonces, expires access tokens at midnight US Eastern and after
// two idle hours on an injected clock, enforces preview-before-place with
// matching orders and PreviewIds, keeps clientOrderId unique per account,
// serves accounts, balance, portfolio, quotes and orders in the JSON shapes
// of the real payloads (XML when JSON is not asked for; JSON or XML request
// bodies), runs an order book the test drives (fills, rejects,
// expiries, cancels behind the client's back) and injects faults.
//
// One Server stands in for api.etrade.com, apisb.etrade.com and the
// authorize page on us.etrade.com.
package etradetest

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/arbiontrader/arbion/clock"
	"github.com/shopspring/decimal"
)

// Defaults of [Config].
const (
	DefaultConsumerKey    = "emu0consumer0key0000000000000001"
	DefaultConsumerSecret = "emu0consumer0secret0000000000001"
	DefaultAccountIDKey   = "-h06qS59IOXHUSjq3xhGVE"
	DefaultAccountID      = "99991111"
	// ClosedAccountIDKey is the key of the CLOSED account the list also shows.
	ClosedAccountIDKey = "NrIsvkTYqulM7TdbG14UbA"
)

// Config configures a [Server]. The zero value is usable.
type Config struct {
	// ConsumerKey and ConsumerSecret are the one application key the server
	// accepts. Defaults: DefaultConsumerKey, DefaultConsumerSecret.
	ConsumerKey, ConsumerSecret string
	// AccountIDKey and AccountID identify the active account. Defaults:
	// DefaultAccountIDKey, DefaultAccountID.
	AccountIDKey, AccountID string
	// Clock is the server's time source (timestamps, token expiry, preview
	// validity, placed times); nil means clock.Real.
	Clock clock.Clock
	// MaxPageSize caps the orders of one list page below E*TRADE's 100, so
	// that tests page with few orders. Default 100.
	MaxPageSize int
	// Cash is the account's starting cash. Default 100000.
	Cash decimal.Decimal
	// MarketOpen selects the place message: 1026 (entered during market
	// hours) when true, 1027 (market closed, queued) when false.
	MarketOpen bool
	// CancelConfirmAfter is how long a CANCEL_REQUESTED order waits before
	// reads show it CANCELLED. Zero: it stays CANCEL_REQUESTED until
	// [Server.Settle].
	CancelConfirmAfter time.Duration
	// PreviewValidity is how long a previewId may be placed. Default 3 min.
	PreviewValidity time.Duration
	// EnforceRateLimits turns on the per-module limits (accounts 2/s,
	// market 4/s, orders 2/s) on the server clock; a request over the limit
	// gets the HTTP 400 HTML page.
	EnforceRateLimits bool
}

// Server is a running emulator. Its methods are safe for concurrent use.
type Server struct {
	cfg     Config
	http    *httptest.Server
	handler http.Handler

	partialStatus string // guarded by mu
	loc           *time.Location
	mu            sync.Mutex
	state         state
}

// state is everything the server remembers, guarded by Server.mu.
type state struct {
	nonces        map[string]int64 // consumer|timestamp|nonce -> timestamp
	requestTokens map[string]*requestToken
	accessTokens  map[string]*accessToken
	previews      map[int64]*preview
	orders        map[int64]*order
	clientIDs     map[string]int64 // clientOrderId -> orderId (placed)
	nextOrderID   int64
	nextPreviewID int64
	lastPlacedMs  int64
	cash          decimal.Decimal
	positions     map[string]*position
	quotes        map[string]Quote
	previewMsgs   map[string][]Message
	faults        map[Op][]Fault
	buckets       map[string]*bucket
	calls         map[Op]int
	positionSeq   int64
}

// New starts a Server on a loopback port. Close it when done.
func New(cfg Config) (*Server, error) {
	s, err := NewUnstarted(cfg)
	if err != nil {
		return nil, err
	}
	s.http = httptest.NewServer(s)
	return s, nil
}

// NewUnstarted returns a Server whose handler is ready but which listens on
// nothing: serve it with your own listener, or call it as an http.Handler.
// URL and Close then do nothing useful.
func NewUnstarted(cfg Config) (*Server, error) {
	loc, err := time.LoadLocation("America/New_York")
	if err != nil {
		return nil, fmt.Errorf("etradetest: time zone America/New_York: %w", err)
	}
	if cfg.ConsumerKey == "" {
		cfg.ConsumerKey = DefaultConsumerKey
	}
	if cfg.ConsumerSecret == "" {
		cfg.ConsumerSecret = DefaultConsumerSecret
	}
	if cfg.AccountIDKey == "" {
		cfg.AccountIDKey = DefaultAccountIDKey
	}
	if cfg.AccountID == "" {
		cfg.AccountID = DefaultAccountID
	}
	cfg.Clock = clock.Or(cfg.Clock)
	if cfg.Cash.IsZero() {
		cfg.Cash = decimal.NewFromInt(100000)
	}
	if cfg.PreviewValidity == 0 {
		cfg.PreviewValidity = 3 * time.Minute
	}
	s := &Server{cfg: cfg, loc: loc}
	s.state = state{
		nonces:        map[string]int64{},
		requestTokens: map[string]*requestToken{},
		accessTokens:  map[string]*accessToken{},
		previews:      map[int64]*preview{},
		orders:        map[int64]*order{},
		clientIDs:     map[string]int64{},
		nextOrderID:   400,
		nextPreviewID: 1026046894106,
		cash:          cfg.Cash,
		positions:     map[string]*position{},
		quotes:        defaultQuotes(),
		previewMsgs:   map[string][]Message{},
		faults:        map[Op][]Fault{},
		buckets:       newBuckets(),
		calls:         map[Op]int{},
		positionSeq:   47537061900,
	}
	s.handler = s.mux()
	return s, nil
}

// URL is the base URL standing in for https://api.etrade.com (and the
// sandbox and authorize hosts).
func (s *Server) URL() string {
	if s.http == nil {
		return ""
	}
	return s.http.URL
}

// Client returns an *http.Client for the server.
func (s *Server) Client() *http.Client {
	if s.http == nil {
		return &http.Client{}
	}
	return s.http.Client()
}

// Close shuts the server down and closes its connections.
func (s *Server) Close() {
	if s.http != nil {
		s.http.CloseClientConnections()
		s.http.Close()
	}
}

// ConsumerKey returns the accepted consumer key.
func (s *Server) ConsumerKey() string { return s.cfg.ConsumerKey }

// ConsumerSecret returns the accepted consumer secret.
func (s *Server) ConsumerSecret() string { return s.cfg.ConsumerSecret }

// AccountIDKey returns the active account's key.
func (s *Server) AccountIDKey() string { return s.cfg.AccountIDKey }

// Calls returns how many requests for op reached the server (faults and
// refusals included).
func (s *Server) Calls(op Op) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state.calls[op]
}

func (s *Server) now() time.Time { return s.cfg.Clock.Now() }

// randomToken returns an opaque base64-like token that always contains the
// characters / + = that real E*TRADE tokens carry.
func randomToken() string {
	var b [30]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return "/" + base64.StdEncoding.EncodeToString(b[:]) + "+="
}

// wantsJSON reports whether the caller asked for JSON (a .json path or an
// Accept header).
func wantsJSON(r *http.Request) bool {
	return strings.HasSuffix(r.URL.Path, ".json") || strings.Contains(r.Header.Get("Accept"), "json")
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// writeAPIError answers a /v1 error in the format asked for: JSON
// {"Error":{"code":..,"message":..}} or XML <Error>.
func writeAPIError(w http.ResponseWriter, r *http.Request, status, code int, message string) {
	if wantsJSON(r) {
		e := map[string]any{"message": message}
		if code != 0 {
			e["code"] = code
		}
		writeJSON(w, status, map[string]any{"Error": e})
		return
	}
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	fmt.Fprintf(w, "<Error>\n    <code>%d</code>\n    <message>%s</message>\n</Error>", code, xmlEscape(message))
}

func xmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}

// num is a decimal written as a bare JSON number.
func num(d decimal.Decimal) json.Number { return json.Number(d.String()) }

// floatNum writes d as a JSON float the way E*TRADE writes filledQuantity:
// 53.0 rather than 53.
func floatNum(d decimal.Decimal) json.Number {
	s := d.String()
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return json.Number(s)
}
