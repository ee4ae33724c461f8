// Package schwab is the arbion adapter for one Charles Schwab brokerage
// account through the Schwab Trader API (Individual): a [broker.Broker]
// that also implements [broker.OrderFinder], [broker.OrderLister],
// [broker.OrderChecker], [broker.HealthReporter], [broker.BarSource]
// (price history, see [Broker.Bars]), [broker.OrderStreamer] and
// [broker.QuoteStreamer] (the Streamer, see [Broker.StreamOrders]).
//
// Schwab specifics the adapter deals with:
//
//   - OAuth2 with a 30-minute access token and a refresh token that dies 7
//     days after the browser login, however often it is used: log in with
//     the auth package ([OAuth2Config] gives the endpoints), hand the
//     refreshing auth.Source in as Config.Tokens; Health reports the login
//     expiry and the adapter logs a warning before it runs out.
//   - Every URL takes the account's hash, looked up from the account number.
//   - There is no client order id. The adapter keeps ClientOrderID → order id
//     for the orders it placed, so placing the same ClientOrderID twice
//     returns the first order; a placement whose answer was lost (or a 201
//     without a usable Location) is resolved by matching the request's
//     fields among the orders entered since it was sent, and otherwise
//     reported as errors.ErrOutcomeUnknown. It is never sent again.
//   - Order requests are limited client-side to 120 per rolling minute per
//     account (Schwab's throttle), other requests to 120 per minute.
//   - Numbers are decoded from their JSON text into decimals; statuses are
//     mapped to broker.Status, an unknown one to broker.StatusUnknown (kept,
//     reported, never terminal); fills come from the order's execution legs.
//   - Schwab allows one Streamer connection per user (a second login drops
//     the first): every stream of a Broker shares one connection, which
//     re-logs in when the token changes, reconnects with backoff and reports
//     each interruption as an OrderEventGap; the REST state stays the truth.
package schwab

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/arbiontrader/arbion/auth"
	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/clock"
	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/internal/httpx"
	"github.com/arbiontrader/arbion/retry"
	"golang.org/x/oauth2"
)

// Name is the broker's name in errors and Broker.Name.
const Name = "schwab"

// DefaultBaseURL is Schwab's API host; the trader API is under /trader/v1,
// market data under /marketdata/v1 and OAuth under /v1/oauth.
const DefaultBaseURL = "https://api.schwabapi.com"

// RefreshLifetime is how long a Schwab refresh token lives from the browser
// login. Refreshing does not extend it.
const RefreshLifetime = 7 * 24 * time.Hour

// DefaultQuoteBatchSize is how many symbols one /quotes request carries.
// Schwab publishes no limit; this keeps the URL short.
const DefaultQuoteBatchSize = 100

// DefaultLoginWarning is how long before the login expires Health and the
// log start saying so.
const DefaultLoginWarning = 24 * time.Hour

// LoginConfig returns the login settings for Schwab: oc (see
// [OAuth2Config]), the token saved to store under storeKey, the 7-day
// refresh lifetime, and PKCE off. Schwab documents no PKCE and no public
// Schwab client sends it (schwab.md §2.5); should Schwab ever refuse the
// parameters, a login with PKCE would break. Set DisablePKCE to false on
// the result to send it anyway.
func LoginConfig(oc *oauth2.Config, store auth.TokenStore, storeKey string) auth.LoginConfig {
	return auth.LoginConfig{Broker: Name, OAuth2: oc, Store: store, StoreKey: storeKey,
		RefreshLifetime: RefreshLifetime, DisablePKCE: true}
}

// OAuth2Config returns the OAuth2 configuration of a Schwab app for the auth
// package: the app key and secret (sent as HTTP Basic, as Schwab requires),
// the registered callback URL (byte for byte) and the authorize and token
// endpoints under baseURL ("" means DefaultBaseURL).
func OAuth2Config(appKey, appSecret, redirectURL, baseURL string) *oauth2.Config {
	if baseURL == "" {
		baseURL = DefaultBaseURL
	}
	return &oauth2.Config{
		ClientID:     appKey,
		ClientSecret: appSecret,
		RedirectURL:  redirectURL,
		Endpoint: oauth2.Endpoint{
			AuthURL:   baseURL + "/v1/oauth/authorize",
			TokenURL:  baseURL + "/v1/oauth/token",
			AuthStyle: oauth2.AuthStyleInHeader,
		},
	}
}

// TokenSource hands out a valid access token. *auth.Source is one.
type TokenSource interface {
	Token(ctx context.Context) (auth.Token, error)
}

// Config configures a Broker.
type Config struct {
	// AccountNumber is the plain account number; the adapter looks its hash
	// up. Or give AccountHash directly. One of them is required.
	AccountNumber string
	AccountHash   string
	// Tokens gives the access token (an *auth.Source from a login). Either
	// Tokens or AccessToken is required.
	Tokens TokenSource
	// AccessToken returns an access token, for hosts that manage tokens
	// themselves.
	AccessToken func(ctx context.Context) (string, error)
	// AppSecret, if given, is the app's client secret: the adapter never
	// sends it (the token source does) but scrubs it, like the bearer and
	// refresh tokens, from any error text a broker body carries.
	AppSecret string
	// BaseURL is the API host; default DefaultBaseURL. Point it at a
	// schwabtest emulator in tests.
	BaseURL string
	// HTTPClient is the host's client; default one with a 30 s timeout.
	HTTPClient *http.Client
	// Logger receives debug records and warnings (unknown statuses, login
	// about to expire); never a token. Nil: silent.
	Logger *slog.Logger
	// Observer, if set, sees every HTTP request (one broker.Observation
	// each, with its method, path, status and attempts). It must be quick
	// and safe for concurrent use.
	Observer broker.Observer
	// Retry is the retry policy of idempotent requests (reads, cancels);
	// the zero value means the defaults documented on retry.Policy. An
	// order placement is never retried: Schwab does not deduplicate.
	Retry retry.Policy
	// Clock is the time source (rate limits, backoff, token and login
	// expiry, order lookups); nil means clock.Real. Tests share one
	// clocktest.Fake with the schwabtest emulator.
	Clock clock.Clock
	// OrderRequestsPerMinute is the client-side limit on order requests
	// (place, replace, cancel) in any rolling minute: the throttle chosen at
	// app registration, 0–120. Default 120; negative turns the limit off.
	OrderRequestsPerMinute int
	// RequestsPerMinute limits the other requests (Schwab: 120 per minute
	// per app). Default 120; negative turns the limit off.
	RequestsPerMinute int
	// OrdersPerDay refuses new placements and replacements (never cancels)
	// once this many order requests were sent on the current UTC day
	// (Schwab: 4000 order-related calls a day, as clients report; the day's
	// boundary is not documented). Default 4000; negative turns it off.
	OrdersPerDay int
	// QuoteBatchSize is the most symbols per /quotes request; default
	// DefaultQuoteBatchSize.
	QuoteBatchSize int
	// LoginWarning is how long before the login (refresh token) expires the
	// adapter warns; default DefaultLoginWarning.
	LoginWarning time.Duration
	// MatchSkew widens the "entered at or after the send time" rule when a
	// lost placement is matched among recent orders: Schwab reports entry
	// times in whole seconds and its clock is not ours. Default 5 s.
	MatchSkew time.Duration
	// VerifyPlacedOrder makes PlaceOrder read the order named by Location
	// back and check that it is the one sent (a Location pointing at another
	// order was seen in the TD Ameritrade era). Off by default: it doubles
	// the latency of a placement.
	VerifyPlacedOrder bool
	// ListMaxResults is the maxResults sent with every order list; an
	// answer that long may have been cut, so its window is split and
	// listed again. Default DefaultListMaxResults (Schwab's own).
	ListMaxResults int
	// IntentRetention is how long the adapter remembers a ClientOrderID it
	// sent after the send returned, to answer a repeat without sending
	// again: the in-process memory is bounded, the host's order store is
	// the durable record. Default DefaultIntentRetention.
	IntentRetention time.Duration
	// Stream tunes the streamer connection of StreamOrders and StreamQuotes.
	Stream StreamConfig
}

// DefaultIntentRetention is how long a settled send's ClientOrderID is
// remembered in process by default.
const DefaultIntentRetention = 24 * time.Hour

// Broker is one Schwab account. It is safe for concurrent use.
type Broker struct {
	cfg   Config
	http  *httpx.Client
	clock clock.Clock
	log   *slog.Logger

	orderBucket string // "" when the limit is off
	readBucket  string

	// creds holds every secret the Broker keeps, behind a pointer so that
	// no formatting of a Broker value (even a copy) reaches it.
	creds *credentials

	hashMu sync.Mutex
	hash   string

	ordersMu sync.Mutex
	byClient map[string]*intent // intent key (ClientOrderID for a placement) → its send
	claimed  map[string]string  // order id → ClientOrderID, for orders placed here
	pruned   time.Time          // when settled intents were last pruned
	day      time.Time          // the UTC day dayCount counts
	dayCount int                // order requests sent on day

	healthMu      sync.Mutex
	authenticated bool
	reachable     bool
	tokenExpiry   time.Time
	loginExpiry   time.Time
	warnedLogin   time.Time

	stream *streamHub // the one streamer connection (stream.go)
}

var (
	_ broker.Broker         = (*Broker)(nil)
	_ broker.OrderFinder    = (*Broker)(nil)
	_ broker.OrderLister    = (*Broker)(nil)
	_ broker.HealthReporter = (*Broker)(nil)
	_ broker.BarSource      = (*Broker)(nil)
)

// New validates cfg and returns a Broker. It makes no request: the account
// hash is looked up on first use. A bad config is an error matching
// errors.ErrConfiguration.
func New(cfg Config) (*Broker, error) {
	switch {
	case cfg.AccountNumber == "" && cfg.AccountHash == "":
		return nil, configErr("AccountNumber or AccountHash is required")
	case cfg.Tokens == nil && cfg.AccessToken == nil:
		return nil, configErr("Tokens or AccessToken is required")
	case cfg.Tokens != nil && cfg.AccessToken != nil:
		return nil, configErr("give Tokens or AccessToken, not both")
	case cfg.OrderRequestsPerMinute > 120:
		return nil, configErr("OrderRequestsPerMinute is at most 120 (Schwab's throttle)")
	case cfg.QuoteBatchSize < 0 || cfg.LoginWarning < 0 || cfg.MatchSkew < 0 || cfg.ListMaxResults < 0 || cfg.IntentRetention < 0:
		return nil, configErr("QuoteBatchSize, LoginWarning, MatchSkew, ListMaxResults and IntentRetention must not be negative")
	}
	if err := cfg.Stream.validate(); err != nil {
		return nil, err
	}
	cfg.withDefaults()
	b := &Broker{cfg: cfg, clock: cfg.Clock, log: cfg.Logger, hash: cfg.AccountHash,
		byClient: make(map[string]*intent), claimed: make(map[string]string),
		creds: &credentials{appSecret: cfg.AppSecret}}
	b.cfg.AppSecret = "" // kept in creds only
	hc, err := httpx.New(httpx.Config{
		Broker:          Name,
		BaseURL:         cfg.BaseURL,
		HTTPClient:      cfg.HTTPClient,
		Buckets:         buckets(cfg),
		DecodeError:     b.decodeError,
		Authorize:       b.authorize,
		RequestIDHeader: "Schwab-Client-Correlid",
		Observer:        b.observe,
		Logger:          cfg.Logger,
		Clock:           cfg.Clock,
		Retry:           cfg.Retry,
	})
	if err != nil {
		return nil, err
	}
	b.http = hc
	b.stream = newStreamHub(b)
	bk := buckets(cfg)
	if _, ok := bk[bucketOrders]; ok {
		b.orderBucket = bucketOrders
	}
	if _, ok := bk[bucketReads]; ok {
		b.readBucket = bucketReads
	}
	return b, nil
}

func (c *Config) withDefaults() {
	if c.BaseURL == "" {
		c.BaseURL = DefaultBaseURL
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	c.Clock = clock.Or(c.Clock)
	if c.OrderRequestsPerMinute == 0 {
		c.OrderRequestsPerMinute = 120
	}
	if c.RequestsPerMinute == 0 {
		c.RequestsPerMinute = 120
	}
	if c.OrdersPerDay == 0 {
		c.OrdersPerDay = 4000
	}
	if c.QuoteBatchSize == 0 {
		c.QuoteBatchSize = DefaultQuoteBatchSize
	}
	if c.LoginWarning == 0 {
		c.LoginWarning = DefaultLoginWarning
	}
	if c.MatchSkew == 0 {
		c.MatchSkew = 5 * time.Second
	}
	if c.ListMaxResults == 0 {
		c.ListMaxResults = DefaultListMaxResults
	}
	if c.IntentRetention == 0 {
		c.IntentRetention = DefaultIntentRetention
	}
}

const (
	bucketOrders = "orders"
	bucketReads  = "reads"
)

// buckets: order writes at most n per rolling minute (never n+1 in any
// minute, however timed), other requests likewise.
func buckets(cfg Config) map[string]httpx.Bucket {
	out := map[string]httpx.Bucket{}
	if n := cfg.OrderRequestsPerMinute; n > 0 {
		out[bucketOrders] = rollingMinute(n)
	}
	if n := cfg.RequestsPerMinute; n > 0 {
		out[bucketReads] = rollingMinute(n)
	}
	return out
}

func rollingMinute(n int) httpx.Bucket { return httpx.RollingWindow(n, time.Minute) }

func configErr(msg string) error {
	return &errors.BrokerError{Broker: Name, Op: "configure", Message: "schwab: " + msg, Kind: errors.ErrConfiguration}
}

// Name returns "schwab".
func (b *Broker) Name() string { return Name }

// Capabilities reports what the adapter supports at Schwab. Schwab keeps no
// client order id, so IdempotentClientOrderID is false: a repeated
// ClientOrderID is answered from the adapter's own record of what it
// placed (this process), never by the broker.
func (b *Broker) Capabilities() broker.Capabilities {
	return broker.Capabilities{
		NativeStop:              true,
		StopLimit:               true,
		TrailingStop:            true,
		GTC:                     true,
		Replace:                 true,
		Bracket:                 false, // Schwab has TRIGGER/OCO; this adapter places single orders only
		Fractional:              false,
		IdempotentClientOrderID: false,
		QuoteBatchSize:          b.cfg.QuoteBatchSize,
		AssetClasses:            []broker.AssetClass{broker.Equity, broker.Option},
		BarIntervals:            barIntervalsCopy(),
		OrderStream:             true,
		QuoteStream:             true,
	}
}

// authorize sets the bearer token on each attempt and remembers the token's
// expiry for Health.
func (b *Broker) authorize(ctx context.Context, req *http.Request) error {
	var access string
	if b.cfg.Tokens != nil {
		tok, err := b.cfg.Tokens.Token(ctx)
		if err != nil {
			b.setAuthenticated(false)
			return err
		}
		access = tok.AccessToken
		b.creds.setRefresh(tok.RefreshToken)
		b.noteToken(ctx, tok.Expiry, tok.RefreshExpiry)
	} else {
		tok, err := b.cfg.AccessToken(ctx)
		if err != nil {
			b.setAuthenticated(false)
			return err
		}
		access = tok
	}
	b.creds.setAccess(access)
	req.Header.Set("Authorization", "Bearer "+access)
	return nil
}

// TokenInvalidator is implemented by token sources that can be told a token
// was refused (*auth.Source is one), so that the next request refreshes it.
type TokenInvalidator interface {
	Invalidate(ctx context.Context, accessToken string) error
}

// do sends req through the pipeline. A read refused with 401 although its
// token had not expired by the clock (revoked, or clocks disagree) is sent
// once more after the token source was told to refresh, as the spec asks; a
// write is never resent, and a second 401 is returned.
func (b *Broker) do(ctx context.Context, req httpx.Request) (*httpx.Response, error) {
	resp, err := b.http.Do(ctx, req)
	inv, ok := b.cfg.Tokens.(TokenInvalidator)
	if err == nil || !ok || !req.Idempotent || !errors.Is(err, errors.ErrUnauthenticated) ||
		errors.Is(err, errors.ErrTokenExpired) {
		return resp, err
	}
	used := b.creds.lastAccess()
	if ierr := inv.Invalidate(ctx, used); ierr != nil {
		return resp, err
	}
	return b.http.Do(ctx, req)
}

func (b *Broker) observe(ctx context.Context, o broker.Observation) {
	b.healthMu.Lock()
	if o.Status != 0 {
		b.reachable = true
	}
	switch {
	case o.Kind == errors.ErrUnauthenticated || o.Kind == errors.ErrTokenExpired:
		b.authenticated = false
	case o.Status >= 200 && o.Status < 300:
		b.authenticated = true
	}
	b.healthMu.Unlock()
	if b.cfg.Observer != nil {
		b.cfg.Observer.Observe(ctx, o)
	}
}

func (b *Broker) setAuthenticated(ok bool) {
	b.healthMu.Lock()
	b.authenticated = ok
	b.healthMu.Unlock()
}

// noteToken records the token's expiry and warns, at most once an hour,
// when the login expires within LoginWarning.
func (b *Broker) noteToken(ctx context.Context, access, login time.Time) {
	now := b.clock.Now()
	b.healthMu.Lock()
	b.tokenExpiry, b.loginExpiry = access, login
	warn := !login.IsZero() && login.Sub(now) < b.cfg.LoginWarning && now.Sub(b.warnedLogin) >= time.Hour
	if warn {
		b.warnedLogin = now
	}
	b.healthMu.Unlock()
	if warn {
		b.log.LogAttrs(ctx, slog.LevelWarn, "schwab login expires soon: log in again in the browser",
			slog.Time("login_expiry", login), slog.Duration("remaining", login.Sub(now)))
	}
}

// Health reports the connection: whether the last answer came and was
// authenticated, the access token's and the login's expiry, the last error
// and the client-side rate-limit headroom.
func (b *Broker) Health(ctx context.Context) broker.Health {
	if src, ok := b.cfg.Tokens.(interface {
		Expiry(context.Context) (time.Time, time.Time, error)
	}); ok {
		if access, login, err := src.Expiry(ctx); err == nil {
			b.healthMu.Lock()
			b.tokenExpiry, b.loginExpiry = access, login
			b.healthMu.Unlock()
		}
	}
	lastAt, lastErr := b.http.LastFailure()
	b.healthMu.Lock()
	defer b.healthMu.Unlock()
	return broker.Health{
		Broker:             Name,
		Reachable:          b.reachable,
		Authenticated:      b.authenticated,
		TokenExpiry:        b.tokenExpiry,
		LoginExpiry:        b.loginExpiry,
		LastError:          lastErr,
		LastErrorAt:        lastAt,
		RateLimitRemaining: b.http.Headroom(),
	}
}

// LoginExpiresWithin reports whether the login (refresh token) is known to
// expire within d from now: time to ask the user to log in again.
func (b *Broker) LoginExpiresWithin(d time.Duration) bool {
	b.healthMu.Lock()
	defer b.healthMu.Unlock()
	return !b.loginExpiry.IsZero() && b.loginExpiry.Sub(b.clock.Now()) < d
}
