// Package httpx is the one HTTP request pipeline every broker adapter uses.
//
// A [Client] wraps the host's *http.Client and, for each [Request]:
//
//  1. waits for the request's client-side rate-limit bucket (x/time/rate), on
//     the injected clock.Clock, failing fast with errors.ErrRateLimited when the
//     wait would outlast the context's deadline;
//  2. builds the request afresh (body, headers, authorization via
//     Config.Authorize) and sends it, tracing whether any byte of it was
//     written, so that a lost answer to a state-changing request is reported
//     as errors.ErrOutcomeUnknown and never retried;
//  3. reads at most Config.MaxBodyBytes of the answer; checks the content
//     type of a successful answer; decodes a non-2xx answer with the
//     adapter's Config.DecodeError into an *errors.BrokerError and fills in
//     broker, operation, HTTP status, request id and Retry-After;
//  4. retries, only when Request.Idempotent is set and the error is
//     retryable, with exponential backoff and jitter (cenkalti/backoff/v4),
//     honouring Retry-After and a shared retry.Budget;
//  5. reports the request to Config.Observer and logs it at debug level.
//
// It never sends an Idempotency-Key header (Go's transport silently replays
// requests carrying one), never logs headers, and redacts secret query
// parameters from URLs in errors and logs.
//
// Every error Do returns matches an errors.Kind with errors.Is and is an
// *errors.BrokerError for errors.As.
package httpx

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/clock"
	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/retry"
	"golang.org/x/time/rate"
)

// DefaultMaxBodyBytes is the default cap on a response body: 4 MiB.
const DefaultMaxBodyBytes int64 = 4 << 20

// DefaultTimeout is the overall timeout of the *http.Client that [New]
// builds when Config.HTTPClient is nil.
const DefaultTimeout = 30 * time.Second

// Config configures a [Client]. Only BaseURL is required; every other field
// has a documented default.
type Config struct {
	// Broker names the broker in every error ("schwab", "coinbase", ...).
	Broker string
	// BaseURL is joined with Request.Path: "https://api.schwabapi.com/trader/v1".
	// Required; point it at an httptest server in tests or at a proxy.
	BaseURL string
	// HTTPClient is the host's client (its transport, jar and timeout are
	// used; redirects are never followed, whatever its CheckRedirect says).
	// Default: a client with a [DefaultTimeout] overall timeout.
	HTTPClient *http.Client
	// Buckets are the client-side rate limits by name ("orders", "reads",
	// ...). A Request names its bucket; a name not in this map is a
	// configuration error. See [RollingWindow] for a limit of the form "at
	// most n per rolling window".
	Buckets map[string]Bucket
	// MaxBodyBytes caps a response body. Default [DefaultMaxBodyBytes]. A
	// larger successful body is errors.ErrMalformedResponse, never decoded in
	// part.
	MaxBodyBytes int64
	// Retry is the retry policy of idempotent requests. The zero value means
	// the defaults documented on retry.Policy.
	Retry retry.Policy
	// DecodeError decodes a non-2xx answer (body capped, possibly empty or
	// HTML) into a broker error with at least Kind, and Code and Message
	// when the body has them. It may return nil or leave Kind empty: the
	// pipeline then classifies by HTTP status (see [StatusKind]). The
	// pipeline fills Broker, Op, HTTPStatus, RequestID and RetryAfter when
	// the decoder leaves them empty. Default: classification by status.
	DecodeError func(status int, header http.Header, body []byte) *errors.BrokerError
	// Authorize sets authentication on each attempt (bearer token, JWT,
	// OAuth1 signature); it is called again for every retry, so a refreshed
	// token or a fresh nonce is used. An error from it fails the request
	// without sending it; its kind is kept (errors.ErrTokenExpired from the
	// auth package stays ErrTokenExpired), otherwise ErrUnauthenticated.
	Authorize func(ctx context.Context, req *http.Request) error
	// RequestIDHeader is the header in which the broker returns its request
	// or correlation id ("Schwab-Client-CorrelId"). It is tried before the
	// common ones (X-Request-Id, Request-Id, X-Correlation-Id, ...).
	RequestIDHeader string
	// SecretQueryParams are extra query parameter names whose values are
	// redacted in errors and logs, on top of the built-in list (token,
	// access_token, refresh_token, code, client_secret, key, signature,
	// password, oauth_*, ...). Matching ignores case.
	SecretQueryParams []string
	// Observer, if set, is called once per Do with what happened.
	Observer func(ctx context.Context, o broker.Observation)
	// Logger receives one debug record per request (never a header, token
	// or secret). Nil: silent.
	Logger *slog.Logger
	// Clock is the source of time for the limiter, backoff and Retry-After
	// dates. Default clock.Real.
	Clock clock.Clock
}

// Bucket is one client-side rate limit: either a token bucket refilled at
// Rate tokens per second holding at most Burst tokens, or a sliding
// [Window] (see [RollingWindow]). Each attempt of a request (retries
// included) takes one slot.
type Bucket struct {
	// Rate is the refill rate in requests per second; must be > 0 for a
	// token bucket.
	Rate rate.Limit
	// Burst is the bucket's capacity; must be >= 1 for a token bucket.
	Burst int
	// Shared, if set, is used instead of a limiter built from Rate and
	// Burst, so that several Clients (one per account, say) can draw on one
	// limit. Rate and Burst are then ignored.
	Shared *rate.Limiter
	// Window, if set, is the limit instead of a token bucket: at most N
	// requests in any window. Share one *Window between Clients to give
	// them one allowance.
	Window *Window
}

// RollingWindow returns the bucket of a broker's "at most n requests per
// rolling window" allowance, used in full: the first n requests go at once,
// and no window of the given length ever holds more than n.
//
// Schwab's "120 order requests per rolling minute" is RollingWindow(120,
// time.Minute).
func RollingWindow(n int, window time.Duration) Bucket {
	return Bucket{Window: NewWindow(n, window)}
}

// Request is one logical call to the broker; Do may send it several times
// when it is Idempotent.
type Request struct {
	// Op names the operation in errors and observations: "place order".
	Op string
	// Method is the HTTP method; default GET.
	Method string
	// Path is appended to Config.BaseURL: "/accounts/ABC/orders". It must
	// not contain a query; use Query.
	Path string
	// Query is encoded into the URL.
	Query url.Values
	// Header holds extra headers. Idempotency-Key and X-Idempotency-Key are
	// removed (see the package documentation).
	Header http.Header
	// Body is sent as is; a fresh reader over it is made for every attempt.
	Body []byte
	// ContentType is the Content-Type of Body; default application/json
	// when Body is not empty.
	ContentType string
	// Accept is the media type a successful answer must carry (also sent as
	// the Accept header unless Header sets one). Default application/json
	// (any "+json" type matches too). [AcceptAny] disables the check. An
	// empty successful body is never checked.
	Accept string
	// Bucket names the Config.Buckets limit this request draws on; "" for
	// none.
	Bucket string
	// Idempotent marks a request that is safe to send again: a read, a
	// cancel, a create carrying a client id the broker deduplicates. Only
	// such requests are retried. A request that is not idempotent and may
	// have reached the broker fails with errors.ErrOutcomeUnknown.
	Idempotent bool
}

// AcceptAny as Request.Accept turns off the content-type check.
const AcceptAny = "*/*"

// Response is a received answer. Body is complete (never truncated by the
// cap: an over-long body is an error instead).
type Response struct {
	// Status is the HTTP status code.
	Status int
	// Header is the answer's header.
	Header http.Header
	// Body is the whole body, at most Config.MaxBodyBytes long.
	Body []byte
	// Attempts is how many times the request was sent (1 without retries).
	Attempts int
	// RequestID is the broker's request id, if the answer carried one.
	RequestID string

	broker     string
	op         string
	idempotent bool
}

// Client sends requests through the pipeline. It is safe for concurrent use.
type Client struct {
	cfg        Config
	base       *url.URL
	httpClient *http.Client
	clock      clock.Clock
	logger     *slog.Logger
	limiters   map[string]limiter
	retry      retry.Policy
	secretKeys map[string]bool

	mu          sync.Mutex
	lastErr     error
	lastErrTime time.Time
}

// New validates cfg, applies its defaults and returns a Client. An invalid
// config yields an error matching errors.ErrConfiguration.
func New(cfg Config) (*Client, error) {
	if cfg.BaseURL == "" {
		return nil, configErr(cfg.Broker, "httpx: BaseURL is required")
	}
	base, err := url.Parse(strings.TrimRight(cfg.BaseURL, "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, configErr(cfg.Broker, "httpx: BaseURL must be an absolute http(s) URL")
	}
	if base.RawQuery != "" || base.User != nil {
		return nil, configErr(cfg.Broker, "httpx: BaseURL must not carry a query or user info")
	}
	if cfg.MaxBodyBytes < 0 {
		return nil, configErr(cfg.Broker, "httpx: MaxBodyBytes must not be negative")
	}
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	retry, err := cfg.Retry.WithDefaults()
	if err != nil {
		return nil, configErr(cfg.Broker, err.Error())
	}
	c := &Client{
		cfg:        cfg,
		base:       base,
		httpClient: cfg.HTTPClient,
		clock:      cfg.Clock,
		logger:     cfg.Logger,
		limiters:   make(map[string]limiter, len(cfg.Buckets)),
		retry:      retry,
		secretKeys: secretParamSet(cfg.SecretQueryParams),
	}
	if c.httpClient == nil {
		c.httpClient = &http.Client{Timeout: DefaultTimeout}
	}
	c.httpClient = noRedirects(c.httpClient)
	if c.clock == nil {
		c.clock = clock.Real()
	}
	if c.logger == nil {
		c.logger = slog.New(slog.DiscardHandler)
	}
	for name, b := range cfg.Buckets {
		lim, err := b.limiter()
		if err != nil {
			return nil, configErr(cfg.Broker, "httpx: bucket "+name+": "+err.Error())
		}
		c.limiters[name] = lim
	}
	return c, nil
}

// Headroom returns, per bucket, how many requests the limiter would let
// through right now without waiting (for health reports).
func (c *Client) Headroom() map[string]int {
	now := c.clock.Now()
	out := make(map[string]int, len(c.limiters))
	for name, lim := range c.limiters {
		out[name] = lim.headroom(now)
	}
	return out
}

// LastFailure returns when the last failed Do happened and its error; the
// zero time and nil if none has failed.
func (c *Client) LastFailure() (time.Time, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lastErrTime, c.lastErr
}

func (c *Client) recordError(err error) {
	c.mu.Lock()
	c.lastErr, c.lastErrTime = err, c.clock.Now()
	c.mu.Unlock()
}

// noRedirects returns a copy of hc (same transport, jar and timeout) that
// hands a 3xx back instead of following it: a broker API does not redirect,
// and following one would turn a POST into a GET or send it elsewhere.
func noRedirects(hc *http.Client) *http.Client {
	c := *hc
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

func configErr(broker, msg string) error {
	return &errors.BrokerError{Broker: broker, Op: "configure", Message: msg, Kind: errors.ErrConfiguration}
}

func (b Bucket) limiter() (limiter, error) {
	switch {
	case b.Window != nil:
		if b.Window.n < 1 || b.Window.length <= 0 {
			return nil, errors.New("a window needs n >= 1 and a positive length")
		}
		return b.Window, nil
	case b.Shared != nil:
		return tokens{b.Shared}, nil
	case b.Rate <= 0 || b.Burst < 1:
		return nil, errors.New("rate must be > 0 and burst >= 1")
	}
	return tokens{rate.NewLimiter(b.Rate, b.Burst)}, nil
}
