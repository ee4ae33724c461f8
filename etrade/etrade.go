// Package etrade is the arbion adapter for E*TRADE: a [broker.Broker] for
// one E*TRADE brokerage account (by its accountIdKey), over the v1 REST API
// with OAuth 1.0a.
//
// # Login
//
// E*TRADE tokens come from an interactive OAuth 1.0a flow that cannot be
// fully automated: [Broker.StartLogin] gets a request token (oauth_callback
// oob) and the authorize URL to show the user; the user approves on
// E*TRADE's site and reads a verification code (PIN) back;
// [Broker.CompleteLogin] exchanges it for an access token, which is saved
// through the configured auth.TokenStore. An access token dies at midnight
// US Eastern; after two idle hours it is inactive and the adapter renews it
// on its own before the next request. A dead token is
// errors.ErrTokenExpired with a message that says to log in again.
//
// The OAuth endpoints are always on the production host; the resources are
// on the production or the sandbox host ([Config.Sandbox]).
//
// # Orders
//
// Every order is previewed, then placed with the same clientOrderId, the
// same Order array and the PreviewIds the preview returned. Preview
// warnings reach the caller in broker.Ack.Warnings. E*TRADE never echoes
// the clientOrderId: when the answer to a place is lost, the adapter looks
// for the order in the account's recent orders (matching its fields) before
// anything else, and reports errors.ErrOutcomeUnknown when it cannot find
// it. An order is never sent twice.
//
// E*TRADE reports cumulative fills per instrument (filledQuantity and
// averageExecutionPrice), not individual executions: an Order carries
// FilledQuantity and AvgFillPrice and no Fills.
package etrade

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/arbiontrader/arbion/auth"
	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/clock"
	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/internal/httpx"
	"github.com/arbiontrader/arbion/internal/oauth1"
	"github.com/arbiontrader/arbion/internal/redact"
	"github.com/arbiontrader/arbion/retry"
	"golang.org/x/time/rate"
)

const brokerName = "etrade"

// Hosts (spec §1).
const (
	ProductionURL = "https://api.etrade.com"
	SandboxURL    = "https://apisb.etrade.com"
	AuthorizeURL  = "https://us.etrade.com/e/t/etws/authorize"
)

// Default client-side rate limits (E*TRADE's published per-module limits).
const (
	DefaultAccountsPerSecond = 2
	DefaultOrdersPerSecond   = 2
	DefaultMarketPerSecond   = 4
)

// QuoteBatchSize is the most symbols one quote request carries.
const QuoteBatchSize = 25

// DefaultIdleRenewAfter is how long after the last successful request the
// adapter renews the access token before using it (E*TRADE deactivates a
// token after two idle hours).
const DefaultIdleRenewAfter = 2*time.Hour - 5*time.Minute

// Config configures a [Broker]. ConsumerKey, ConsumerSecret, AccountIDKey
// and Store are required.
type Config struct {
	// ConsumerKey and ConsumerSecret are the application's key (sandbox and
	// production keys differ).
	ConsumerKey, ConsumerSecret string
	// AccountIDKey is the account's opaque key from the accounts list (not
	// the account number).
	AccountIDKey string
	// Store keeps the access token between runs. Required.
	Store auth.TokenStore
	// StoreKey is the key under which the token is stored. Default
	// "etrade/" + AccountIDKey.
	StoreKey string
	// Sandbox sends resource calls to the sandbox host. OAuth calls always
	// go to the production host.
	Sandbox bool
	// APIURL, OAuthURL and AuthorizeURL override the hosts (an emulator, a
	// proxy). Defaults: ProductionURL or SandboxURL, ProductionURL,
	// AuthorizeURL.
	APIURL, OAuthURL, AuthorizeURL string
	// HTTPClient is the host's client. Default: httpx's default client.
	HTTPClient *http.Client
	// AccountsPerSecond, OrdersPerSecond and MarketPerSecond are the
	// client-side rate limits. Defaults 2, 2 and 4.
	AccountsPerSecond, OrdersPerSecond, MarketPerSecond float64
	// IdleRenewAfter: renew the token before a request when the last
	// success is this old. Default DefaultIdleRenewAfter.
	IdleRenewAfter time.Duration
	// FindWindow is how far back FindOrder looks for a request it has no
	// record of sending. Default 24h.
	FindWindow time.Duration
	// Clock is the source of time (token expiry, idle renew, rate limits,
	// backoff); nil means clock.Real. Tests share one clocktest.Fake with
	// the etradetest emulator.
	Clock clock.Clock
	// Retry is the retry policy of idempotent requests (reads, cancels);
	// the zero value means the defaults documented on retry.Policy.
	Retry retry.Policy
	// Observer, if set, sees every HTTP request (one broker.Observation
	// each, with its method, path, status and attempts). It must be quick
	// and safe for concurrent use.
	Observer broker.Observer
	// Nonce returns OAuth nonces; default 16 random bytes, hex.
	Nonce func() string
	// Logger receives debug records and reports of unknown statuses. Nil:
	// silent.
	Logger *slog.Logger
}

// String redacts the consumer secret.
func (c Config) String() string {
	return fmt.Sprintf("etrade.Config{ConsumerKey:%q ConsumerSecret:%q AccountIDKey:%s Sandbox:%t}",
		redact.IfSet(c.ConsumerKey), redact.IfSet(c.ConsumerSecret), c.AccountIDKey, c.Sandbox)
}

// GoString redacts the consumer secret.
func (c Config) GoString() string { return c.String() }

// Format redacts the consumer secret under every verb.
func (c Config) Format(f fmt.State, _ rune) { fmt.Fprint(f, c.String()) }

// LogValue redacts the consumer secret in log/slog output.
func (c Config) LogValue() slog.Value { return slog.StringValue(c.String()) }

// Broker is one E*TRADE account. It is safe for concurrent use.
type Broker struct {
	cfg     Config
	api     *httpx.Client // /v1 resources
	oauth   *httpx.Client // /oauth token endpoints
	signer  *oauth1.Signer
	clock   clock.Clock
	eastern *time.Location
	log     *slog.Logger

	mu        sync.Mutex // guards session and intents
	session   *session
	loaded    bool
	renewMu   sync.Mutex // one renew at a time
	intents   map[string]*intent
	placed    []*intent            // placed intents in placement order, for pruning
	previews  map[string]previewed // a caller's recent previews, by client order id
	lastHTTP  time.Time
	reachable bool
	scrub     redact.Scrubber // secrets to cut from response text (consumer secret, tokens)
}

// session is the access token in use.
type session struct {
	token, secret string
	expiry        time.Time // midnight US Eastern after the login
	lastUsed      time.Time // the last accepted request; zero: unknown
}

var (
	_ broker.Broker         = (*Broker)(nil)
	_ broker.OrderFinder    = (*Broker)(nil)
	_ broker.OrderLister    = (*Broker)(nil)
	_ broker.OrderChecker   = (*Broker)(nil)
	_ broker.HealthReporter = (*Broker)(nil)
)

// New validates cfg and returns a Broker. It does no I/O: the token is
// loaded from the store on first use. An invalid config is an error
// matching errors.ErrConfiguration.
func New(cfg Config) (*Broker, error) {
	switch {
	case cfg.ConsumerKey == "" || cfg.ConsumerSecret == "":
		return nil, configErr("ConsumerKey and ConsumerSecret are required")
	case cfg.AccountIDKey == "":
		return nil, configErr("AccountIDKey is required (the accountIdKey of the accounts list)")
	case cfg.Store == nil:
		return nil, configErr("Store is required")
	case cfg.AccountsPerSecond < 0 || cfg.OrdersPerSecond < 0 || cfg.MarketPerSecond < 0:
		return nil, configErr("rate limits must not be negative")
	}
	for _, c := range cfg.AccountIDKey {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return nil, configErr("AccountIDKey has a character outside A-Z a-z 0-9 - _")
		}
	}
	eastern, err := time.LoadLocation("America/New_York")
	if err != nil {
		return nil, configErr("time zone America/New_York is not available: " + err.Error())
	}
	cfg = withDefaults(cfg)
	b := &Broker{cfg: cfg, clock: cfg.Clock, eastern: eastern, log: cfg.Logger, intents: map[string]*intent{}}
	b.scrub.Fix(cfg.ConsumerSecret)
	b.signer = &oauth1.Signer{ConsumerKey: cfg.ConsumerKey, ConsumerSecret: cfg.ConsumerSecret,
		Nonce: cfg.Nonce, Clock: cfg.Clock}
	b.api, err = httpx.New(httpx.Config{
		Broker: brokerName, BaseURL: cfg.APIURL, HTTPClient: cfg.HTTPClient, DecodeError: b.decodeError,
		Authorize: b.authorize, Logger: cfg.Logger, Clock: cfg.Clock, Retry: cfg.Retry, Observer: b.observe,
		Buckets: map[string]httpx.Bucket{
			bucketAccounts: bucket(cfg.AccountsPerSecond),
			bucketOrders:   bucket(cfg.OrdersPerSecond),
			bucketMarket:   bucket(cfg.MarketPerSecond),
		},
	})
	if err != nil {
		return nil, err
	}
	b.oauth, err = httpx.New(httpx.Config{
		Broker: brokerName, BaseURL: cfg.OAuthURL, HTTPClient: cfg.HTTPClient, DecodeError: b.decodeError,
		Authorize: b.authorize, Logger: cfg.Logger, Clock: cfg.Clock, Retry: cfg.Retry, Observer: b.observe,
	})
	if err != nil {
		return nil, err
	}
	return b, nil
}

const (
	bucketAccounts = "accounts"
	bucketOrders   = "orders"
	bucketMarket   = "market"
)

func bucket(perSecond float64) httpx.Bucket {
	return httpx.Bucket{Rate: rate.Limit(perSecond), Burst: max(1, int(perSecond))}
}

func withDefaults(cfg Config) Config {
	if cfg.StoreKey == "" {
		cfg.StoreKey = "etrade/" + cfg.AccountIDKey
	}
	if cfg.APIURL == "" {
		cfg.APIURL = ProductionURL
		if cfg.Sandbox {
			cfg.APIURL = SandboxURL
		}
	}
	if cfg.OAuthURL == "" {
		cfg.OAuthURL = ProductionURL
	}
	if cfg.AuthorizeURL == "" {
		cfg.AuthorizeURL = AuthorizeURL
	}
	if cfg.AccountsPerSecond == 0 {
		cfg.AccountsPerSecond = DefaultAccountsPerSecond
	}
	if cfg.OrdersPerSecond == 0 {
		cfg.OrdersPerSecond = DefaultOrdersPerSecond
	}
	if cfg.MarketPerSecond == 0 {
		cfg.MarketPerSecond = DefaultMarketPerSecond
	}
	if cfg.IdleRenewAfter == 0 {
		cfg.IdleRenewAfter = DefaultIdleRenewAfter
	}
	if cfg.FindWindow == 0 {
		cfg.FindWindow = 24 * time.Hour
	}
	cfg.Clock = clock.Or(cfg.Clock)
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return cfg
}

func configErr(msg string) error {
	return &errors.BrokerError{Broker: brokerName, Op: "configure", Message: msg, Kind: errors.ErrConfiguration}
}

// Name returns "etrade".
func (b *Broker) Name() string { return brokerName }

// Capabilities reports what the adapter supports on E*TRADE equities.
// BarIntervals is empty: E*TRADE's v1 Market API has no price history
// (marketdata.md §3.1), so the Broker does not implement
// broker.BarSource at all rather than answer every call with
// errors.ErrNotSupported; broker.Find[broker.BarSource] reports false, and
// a host takes bars from another source.
func (b *Broker) Capabilities() broker.Capabilities {
	return broker.Capabilities{
		NativeStop: true, StopLimit: true, TrailingStop: true, GTC: true, Replace: true,
		ClientOrderID:  clientOrderIDRule,
		QuoteBatchSize: QuoteBatchSize, AssetClasses: []broker.AssetClass{broker.Equity},
	}
}

// observe remembers whether the broker answered, for Health, then calls
// the host's observer.
func (b *Broker) observe(ctx context.Context, o broker.Observation) {
	if b.cfg.Observer != nil {
		defer b.cfg.Observer.Observe(ctx, o)
	}
	if o.Status != 0 {
		b.mu.Lock()
		b.reachable, b.lastHTTP = true, b.clock.Now()
		b.mu.Unlock()
	} else if o.Attempts > 0 {
		b.mu.Lock()
		b.reachable = false
		b.mu.Unlock()
	}
}

// Health reports the connection: reachability, whether a usable token is
// held, its expiry (midnight US Eastern, which is also when the user must
// log in again), the last error and the rate-limit headroom.
func (b *Broker) Health(ctx context.Context) broker.Health {
	_ = b.loadSession(ctx)
	b.mu.Lock()
	h := broker.Health{Broker: brokerName, Reachable: b.reachable}
	if s := b.session; s != nil {
		h.Authenticated = b.clock.Now().Before(s.expiry)
		h.TokenExpiry, h.LoginExpiry = s.expiry, s.expiry
	}
	b.mu.Unlock()
	h.LastErrorAt, h.LastError = b.api.LastFailure()
	if at, err := b.oauth.LastFailure(); err != nil && at.After(h.LastErrorAt) {
		h.LastError, h.LastErrorAt = err, at
	}
	h.RateLimitRemaining = b.api.Headroom()
	return h
}
