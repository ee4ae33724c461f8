// Package coinbase is the arbion adapter for Coinbase Advanced Trade (REST
// v3): a [broker.Broker] for one portfolio of spot crypto, and a
// [broker.BarSource] of its candles ([Broker.Bars]).
//
// # Authentication
//
// With a CDP API key ([Credentials]) every HTTP attempt carries a fresh JWT
// (ES256 for ECDSA P-256 keys, EdDSA for Ed25519 keys) whose uri claim binds
// it to the request's method, host and path, signed with the standard
// library only (crypto/ecdsa, crypto/ed25519; no JWT dependency: the token
// is three base64url segments, and doing it by hand keeps the raw r||s
// signature form and the claim set under our eyes). Third-party apps use an
// OAuth2 access token from an [auth.Source] instead (Config.OAuth), with
// PKCE at login and refresh tokens that rotate on every use.
//
// # Orders
//
// Sizes and prices are checked against the product's increments before
// anything is sent: sizes are rounded down to base_increment, limit prices
// to the tick in the safe direction (a buy pays no more, a sell gets no
// less), and an order that rounding would change by more than
// Config.RoundingTolerance, or to zero, is refused with
// errors.ErrInvalidOrder. No off-increment value is ever sent.
//
// Placement is exactly-once: the request's ClientOrderID is Coinbase's
// client_order_id, and Coinbase answers a create that repeats a known
// client_order_id with the existing order instead of a new one. That is
// the one resend that is safe here: the adapter's retries of a create send
// the identical body with the same client_order_id, which Coinbase
// deduplicates, and a lost answer is then settled by listing the orders of
// the send window for that client_order_id (Coinbase's own id, so the
// match is proof). If neither settles it, PlaceOrder returns
// errors.ErrOutcomeUnknown and the order tracker's FindOrder takes over.
// A caller never resends with a new client order id.
//
// Spot cannot short: SellShort and BuyToCover are refused with
// errors.ErrNotSupported, as are stop-market and trailing-stop orders
// (Coinbase spot has stop-limit only, so Capabilities().NativeStop is
// false). TimeInForce Day is sent as good-till-date ending
// Config.DayDuration after placement (crypto trades around the clock); a
// market order is always immediate-or-cancel (FOK is market_market_fok).
// [Broker.PlaceOrderWith] adds what OrderRequest cannot say: an explicit
// good-till-date end, post-only, a quote-sized market buy and a bracket.
//
// # Streams
//
// [Broker.StreamOrders] (user channel) and [Broker.StreamQuotes] (ticker)
// read Advanced Trade's WebSocket, one connection per endpoint shared by
// every stream of the Broker, with heartbeats subscribed so that quiet
// channels stay open. Every subscribe and unsubscribe message carries a
// fresh JWT from the same signer as REST, without the uri claim (WebSocket
// tokens live 2 minutes and are checked when the message arrives). The
// spec documents no OAuth authentication for the WebSocket (its one
// mechanism is the CDP-key JWT in each message), so with Config.OAuth the
// order stream is refused with errors.ErrNotSupported
// (Capabilities().OrderStream is false) and quotes are subscribed without
// a JWT (ticker is public). sequence_num is checked per connection: a
// repeated or lower number changes nothing, a jump is a gap. A lost
// connection is replaced at once, then with exponential backoff and jitter
// on Config.Clock, resubscribing everything with new JWTs; after
// StreamConfig.MaxReconnects failures in a row the streams close with Err
// set. Status().Live is false from a disconnect until the resubscription
// (and, for orders, the snapshot) is complete.
package coinbase

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/arbiontrader/arbion/auth"
	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/clock"
	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/internal/httpx"
	"github.com/arbiontrader/arbion/internal/redact"
	"github.com/arbiontrader/arbion/retry"
	"github.com/shopspring/decimal"
	"golang.org/x/time/rate"
)

// Defaults.
const (
	// DefaultBaseURL is Coinbase's API host.
	DefaultBaseURL = "https://api.coinbase.com"
	// DefaultRequestsPerSecond is Coinbase's limit for private endpoints.
	DefaultRequestsPerSecond = 30
	// DefaultQuoteBatchSize is how many products one best_bid_ask request
	// carries.
	DefaultQuoteBatchSize = 100
	// DefaultOrdersPageSize and DefaultFillsPageSize are the page sizes of
	// listings (Coinbase allows up to 1000 orders; fills are paged by 250 as
	// CCXT does).
	DefaultOrdersPageSize = 1000
	DefaultFillsPageSize  = 250
	// DefaultProductTTL is how long product rules are cached.
	DefaultProductTTL = 5 * time.Minute
	// DefaultDayDuration is the lifetime of a TimeInForce Day order.
	DefaultDayDuration = 24 * time.Hour
	// maxPages bounds any listing, so a server that never ends a cursor
	// chain cannot loop the adapter forever.
	maxPages = 10000
)

// apiPrefix is the path of every Advanced Trade route.
const apiPrefix = "/api/v3/brokerage"

// bucketPrivate is the rate-limit bucket of authenticated calls.
const bucketPrivate = "private"

// Config configures a [Broker]. Exactly one of Credentials and OAuth is
// required; every other field has a documented default. The private key is
// redacted when the config is printed.
type Config struct {
	// Credentials is a CDP API key (JWT authentication).
	Credentials Credentials
	// OAuth, instead of Credentials, authorizes with an OAuth2 access token
	// (third-party apps). Build it with auth.NewSource on Coinbase's token
	// endpoint; refresh tokens rotate, and the Source persists each new one
	// before it is used.
	OAuth *auth.Source
	// RetailPortfolioID is the portfolio an OAuth connection trades in;
	// required with OAuth (Coinbase needs it on spot orders since
	// 2025-05-13) and never sent with an API key (the key has its own).
	RetailPortfolioID string
	// BaseURL is Coinbase's host. Default [DefaultBaseURL]; an httptest
	// emulator in tests. The JWT signs the host of this URL, port included.
	BaseURL string
	// HTTPClient is the host's client. Default: httpx's.
	HTTPClient *http.Client
	// QuoteCurrency is the account's currency: Account reports cash in it and
	// Positions name pairs BASE-QuoteCurrency. Default "USD".
	QuoteCurrency string
	// RequestsPerSecond is the client-side limit of private requests.
	// Default [DefaultRequestsPerSecond]; burst the same.
	RequestsPerSecond float64
	// QuoteBatchSize is the most products per best_bid_ask request. Default
	// [DefaultQuoteBatchSize].
	QuoteBatchSize int
	// OrdersPageSize and FillsPageSize are listing page sizes. Defaults
	// [DefaultOrdersPageSize], [DefaultFillsPageSize].
	OrdersPageSize, FillsPageSize int
	// ProductTTL is how long product rules are cached. Default
	// [DefaultProductTTL].
	ProductTTL time.Duration
	// RoundingTolerance is the largest relative change rounding may make to
	// a size or price before the order is refused. Default 0.001 (0.1%).
	RoundingTolerance decimal.Decimal
	// DayDuration is how long a TimeInForce Day order lives (sent as
	// good-till-date). Default [DefaultDayDuration].
	DayDuration time.Duration
	// CostBasisFromFills makes Positions derive AvgCost from the product's
	// fills (average-cost method), for hosts such as the stop-loss
	// supervisor that need an entry price. It costs one paginated fills
	// listing per holding on every Positions call. Off: AvgCost is zero
	// (Coinbase reports no cost basis).
	CostBasisFromFills bool
	// Stream tunes the WebSocket order and quote streams.
	Stream StreamConfig
	// Retry is the retry policy of idempotent requests (reads, cancels,
	// creates carrying a client_order_id); the zero value means the
	// defaults documented on retry.Policy.
	Retry retry.Policy
	// Clock is the time source: JWT nbf/exp, GTD end times, caches, the
	// rate limiter and retry backoff. Nil means clock.Real; tests share one
	// clocktest.Fake with the coinbasetest emulator.
	Clock clock.Clock
	// Random is the source of JWT nonces. Default crypto/rand.
	Random io.Reader
	// Logger receives debug records and warnings (unknown statuses,
	// unverifiable retries). Nil: silent.
	Logger *slog.Logger
	// Observer, if set, sees every HTTP request (one broker.Observation
	// each, with its method, path, status and attempts). It must be quick
	// and safe for concurrent use.
	Observer broker.Observer
}

// String describes the config with the private key redacted.
func (c Config) String() string {
	return fmt.Sprintf("coinbase.Config{Credentials: %s, OAuth: %t, BaseURL: %q, QuoteCurrency: %q}",
		c.Credentials, c.OAuth != nil, c.BaseURL, c.QuoteCurrency)
}

// GoString redacts like String.
func (c Config) GoString() string { return c.String() }

// Format redacts like String whatever the verb.
func (c Config) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, c.String()) }

// LogValue redacts the key in slog output.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(slog.Any("credentials", c.Credentials), slog.Bool("oauth", c.OAuth != nil),
		slog.String("base_url", c.BaseURL))
}

// Broker is one Coinbase Advanced Trade portfolio. It implements
// broker.Broker, broker.OrderFinder, broker.OrderLister, broker.OrderChecker,
// broker.HealthReporter, broker.BarSource, broker.OrderStreamer and
// broker.QuoteStreamer, and is safe for concurrent use.
type Broker struct {
	cfg      Config
	http     *httpx.Client
	base     *url.URL
	signer   *jwtSigner       // nil with OAuth
	scrub    *redact.Scrubber // secrets to cut from response text
	products productCache
	logger   *slog.Logger

	offset atomic.Int64 // Coinbase's clock minus ours, in nanoseconds (SyncClock)

	streams streamHubs

	mu            sync.Mutex
	reachable     bool
	authenticated bool
	serverRemain  int // x-ratelimit-remaining, -1 if never seen
}

var (
	_ broker.Broker         = (*Broker)(nil)
	_ broker.OrderFinder    = (*Broker)(nil)
	_ broker.OrderLister    = (*Broker)(nil)
	_ broker.OrderChecker   = (*Broker)(nil)
	_ broker.HealthReporter = (*Broker)(nil)
	_ broker.BarSource      = (*Broker)(nil)
)

// New validates cfg and returns a Broker. It makes no request. A config
// error matches errors.ErrConfiguration and never quotes the key.
func New(cfg Config) (*Broker, error) {
	if err := cfg.applyDefaults(); err != nil {
		return nil, err
	}
	b := &Broker{cfg: cfg, logger: cfg.Logger, serverRemain: -1,
		products: productCache{ttl: cfg.ProductTTL, entries: map[string]productEntry{}}}
	base, err := url.Parse(strings.TrimRight(cfg.BaseURL, "/"))
	if err != nil || base.Host == "" || (base.Scheme != "https" && base.Scheme != "http") {
		return nil, configError("BaseURL %q is not an absolute http(s) URL", cfg.BaseURL)
	}
	b.base = base
	b.scrub = newScrubber(cfg.Credentials.PrivateKey)
	if cfg.OAuth == nil {
		if b.signer, err = newJWTSigner(cfg.Credentials, b.serverNow, cfg.Random); err != nil {
			return nil, err
		}
	}
	b.http, err = httpx.New(httpx.Config{
		Broker:      brokerName,
		BaseURL:     base.String() + apiPrefix,
		HTTPClient:  cfg.HTTPClient,
		Buckets:     map[string]httpx.Bucket{bucketPrivate: {Rate: rate.Limit(cfg.RequestsPerSecond), Burst: max(1, int(cfg.RequestsPerSecond))}},
		Retry:       cfg.Retry,
		DecodeError: b.decodeError,
		Authorize:   b.authorize,
		Observer:    b.observe,
		Logger:      cfg.Logger,
		Clock:       cfg.Clock,
	})
	if err != nil {
		return nil, err
	}
	return b, nil
}

func (c *Config) applyDefaults() error {
	switch {
	case c.OAuth != nil && (c.Credentials.KeyName != "" || c.Credentials.PrivateKey != ""):
		return configError("set either Credentials (API key) or OAuth, not both")
	case c.OAuth != nil && c.RetailPortfolioID == "":
		return configError("RetailPortfolioID is required with OAuth")
	case c.OAuth == nil && c.RetailPortfolioID != "":
		return configError("RetailPortfolioID is for OAuth only; an API key trades in its own portfolio")
	case c.RequestsPerSecond < 0 || c.QuoteBatchSize < 0 || c.OrdersPageSize < 0 || c.FillsPageSize < 0 ||
		c.ProductTTL < 0 || c.DayDuration < 0 || c.RoundingTolerance.IsNegative():
		return configError("negative value in config")
	case c.OrdersPageSize > 1000 || c.FillsPageSize > 1000:
		return configError("page sizes are at most 1000")
	}
	if c.BaseURL == "" {
		c.BaseURL = DefaultBaseURL
	}
	if c.QuoteCurrency == "" {
		c.QuoteCurrency = "USD"
	}
	if err := c.Stream.applyDefaults(); err != nil {
		return err
	}
	setDefault(&c.RequestsPerSecond, DefaultRequestsPerSecond)
	setDefault(&c.QuoteBatchSize, DefaultQuoteBatchSize)
	setDefault(&c.OrdersPageSize, DefaultOrdersPageSize)
	setDefault(&c.FillsPageSize, DefaultFillsPageSize)
	setDefault(&c.ProductTTL, DefaultProductTTL)
	setDefault(&c.DayDuration, DefaultDayDuration)
	if c.RoundingTolerance.IsZero() {
		c.RoundingTolerance = decimal.New(1, -3)
	}
	c.Clock = clock.Or(c.Clock)
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

func setDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}

// String names the broker without any secret.
func (b *Broker) String() string {
	return fmt.Sprintf("coinbase.Broker{%s}", b.base.Host)
}

// Name returns "coinbase".
func (b *Broker) Name() string { return brokerName }

// Capabilities tells what Coinbase spot supports: stop-limit but no
// stop-market or trailing stop, GTC, edit in place (same order id),
// brackets (through PlaceOrderWith), fractional sizes, idempotent client
// order ids, a quote stream, and an order stream with an API key.
func (b *Broker) Capabilities() broker.Capabilities {
	return broker.Capabilities{
		NativeStop: false, StopLimit: true, TrailingStop: false, GTC: true,
		Replace: true, Bracket: true, Fractional: true, IdempotentClientOrderID: true,
		ClientOrderID:  clientOrderIDRule,
		QuoteBatchSize: b.cfg.QuoteBatchSize,
		AssetClasses:   []broker.AssetClass{broker.Crypto},
		BarIntervals:   candleIntervals(),
		OrderStream:    b.signer != nil, // the user channel needs a CDP key's JWT
		QuoteStream:    true,
	}
}

func (b *Broker) now() time.Time { return b.cfg.Clock.Now() }

// serverNow is the local clock corrected by the offset SyncClock measured:
// the time JWTs are signed with, so that a local clock running ahead of
// Coinbase's does not make nbf lie in the server's future (401).
func (b *Broker) serverNow() time.Time { return b.cfg.Clock.Now().Add(time.Duration(b.offset.Load())) }

// SyncClock measures the offset between Coinbase's clock (GET /time) and
// the local one, and signs every later JWT with Coinbase's time, so that a
// local clock running ahead does not put nbf in the server's future (an
// intermittent 401, ISS-19). The server's answer has whole seconds and was
// read at some instant of the round trip: the offset applied is the lowest
// one consistent with it (server seconds minus the local time on arrival),
// so the corrected clock is never ahead of the server's, at most about a
// second plus the round trip behind. It returns the offset applied.
func (b *Broker) SyncClock(ctx context.Context) (time.Duration, error) {
	server, err := b.ServerTime(ctx)
	if err != nil {
		return 0, err
	}
	offset := server.Sub(b.now())
	b.offset.Store(int64(offset))
	return offset, nil
}

// authorize sets the Authorization header for one attempt: a new JWT bound
// to this request's method, host and path (never its query), or the OAuth
// access token.
func (b *Broker) authorize(ctx context.Context, req *http.Request) error {
	if b.signer == nil {
		if err := b.cfg.OAuth.Authorize(ctx, req); err != nil {
			return err
		}
		b.scrub.Remember(strings.TrimPrefix(req.Header.Get("Authorization"), "Bearer "))
		return nil
	}
	tok, err := b.signer.sign(req.Method, req.URL.Host, req.URL.EscapedPath())
	if err != nil {
		return err
	}
	b.scrub.Remember(tok)
	req.Header.Set("Authorization", "Bearer "+tok)
	return nil
}

// observe tracks reachability and authentication for Health, then calls the
// host's observer.
func (b *Broker) observe(ctx context.Context, o broker.Observation) {
	b.mu.Lock()
	if o.Status != 0 {
		b.reachable = true
		b.authenticated = o.Status != http.StatusUnauthorized
	}
	b.mu.Unlock()
	if b.cfg.Observer != nil {
		b.cfg.Observer.Observe(ctx, o)
	}
}

// do sends one request through the pipeline and decodes a JSON answer into
// out (nil: ignore the body).
func (b *Broker) do(ctx context.Context, req httpx.Request, out any) (*httpx.Response, error) {
	req.Bucket = bucketPrivate
	resp, err := b.http.Do(ctx, req)
	if req.Idempotent && isAuthRefusal(err) && resp != nil && resp.Attempts == 1 {
		// Coinbase sometimes refuses a valid token once (ISS-132); auth is
		// checked before anything is done, so one more try with a fresh
		// token is safe. A second refusal stands. Not after earlier
		// attempts: the new call's count would hide that one of them may
		// have acted, and a clear answer to it would read as a refusal.
		resp, err = b.http.Do(ctx, req)
	}
	if resp != nil {
		b.noteRateHeaders(resp.Header)
	}
	if err != nil {
		return resp, err
	}
	if out != nil {
		if err := resp.DecodeJSON(out); err != nil {
			return resp, err
		}
	}
	return resp, nil
}

func isAuthRefusal(err error) bool {
	var be *errors.BrokerError
	return errors.As(err, &be) && be.HTTPStatus == http.StatusUnauthorized
}

// get is an idempotent GET (retried by httpx on transient failures).
func (b *Broker) get(ctx context.Context, op, path string, q url.Values, out any) error {
	_, err := b.do(ctx, httpx.Request{Op: op, Method: http.MethodGet, Path: path, Query: q, Idempotent: true}, out)
	return err
}

func (b *Broker) post(ctx context.Context, op, path string, body any, idempotent bool, out any) (*httpx.Response, error) {
	raw, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("coinbase: %s: encoding the request: %w", op, errors.ErrInvalidOrder)
	}
	return b.do(ctx, httpx.Request{Op: op, Method: http.MethodPost, Path: path, Body: raw, Idempotent: idempotent}, out)
}

// noteRateHeaders keeps x-ratelimit-remaining, a hint whose format is not
// documented: read leniently, ignored when absent or odd.
func (b *Broker) noteRateHeaders(h http.Header) {
	v := strings.TrimSpace(h.Get("X-Ratelimit-Remaining"))
	if v == "" {
		return
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return
	}
	b.mu.Lock()
	b.serverRemain = n
	b.mu.Unlock()
}

// Health reports the connection: whether the last request got an answer,
// whether the credentials were last accepted, the token's expiry (a JWT
// lives 120 s and is made per request; an OAuth token has its own), the
// last error, and the rate-limit headroom per bucket ("private", and
// "server" when Coinbase sent x-ratelimit-remaining).
func (b *Broker) Health(ctx context.Context) broker.Health {
	at, lastErr := b.http.LastFailure()
	h := broker.Health{Broker: brokerName, LastError: lastErr, LastErrorAt: at,
		RateLimitRemaining: b.http.Headroom()}
	b.mu.Lock()
	h.Reachable, h.Authenticated = b.reachable, b.authenticated
	if b.serverRemain >= 0 {
		h.RateLimitRemaining["server"] = b.serverRemain
	}
	b.mu.Unlock()
	if b.signer != nil {
		h.TokenExpiry = b.now().Add(tokenLifetime)
		return h
	}
	access, refresh, err := b.cfg.OAuth.Expiry(ctx)
	if err != nil {
		h.Authenticated = false
		if h.LastError == nil {
			h.LastError, h.LastErrorAt = err, b.now()
		}
		return h
	}
	h.TokenExpiry, h.LoginExpiry = access, refresh
	return h
}

func malformed(op, msg string) error {
	return &errors.BrokerError{Broker: brokerName, Op: op, Message: msg, Kind: errors.ErrMalformedResponse}
}
