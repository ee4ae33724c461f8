package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/arbiontrader/arbion/clock"
	"github.com/arbiontrader/arbion/errors"
	"golang.org/x/oauth2"
)

// DefaultLoginTimeout is how long [Login] waits for the browser's callback.
const DefaultLoginTimeout = 5 * time.Minute

// LoginConfig configures an OAuth2 authorization-code login. Its client
// secret is redacted by fmt and slog.
type LoginConfig struct {
	// Broker names the broker in errors ("schwab").
	Broker string
	// OAuth2 holds the client id and secret, the authorization and token
	// endpoints and the RedirectURL registered with the broker. Required.
	// For [Login] the redirect URL must be on 127.0.0.1 or localhost; port 0
	// there means "any free port" (RFC 8252 §7.3 loopback redirects).
	OAuth2 *oauth2.Config
	// DisablePKCE turns off PKCE (S256), which is on by default. Servers
	// that do not know PKCE ignore its parameters (RFC 6749 §3.1), so turn
	// it off only for a server that refuses them.
	DisablePKCE bool
	// AuthCodeOptions are extra parameters for the authorization URL.
	AuthCodeOptions []oauth2.AuthCodeOption
	// Store and StoreKey, if set, receive the token as soon as it is
	// obtained.
	Store    TokenStore
	StoreKey string
	// HTTPClient is used for the token endpoint. Default http.DefaultClient.
	HTTPClient *http.Client
	// RefreshLifetime sets Token.RefreshExpiry to login time plus this, when
	// the token endpoint does not say (Schwab: 7 days). Zero: unknown.
	RefreshLifetime time.Duration
	// Clock is the time source (token and login expiry); nil means
	// clock.Real.
	Clock clock.Clock
	// OpenURL shows the authorization URL to the user (open a browser, print
	// it). Required by [Login]; called once the callback listener is up.
	OpenURL func(ctx context.Context, authURL string) error
	// Timeout bounds the wait for the callback in [Login]. Default
	// [DefaultLoginTimeout].
	Timeout time.Duration
	// TLSConfig serves the callback over HTTPS, for a broker that requires
	// an https redirect URL (Schwab); it must hold a certificate for
	// 127.0.0.1. Without it an https redirect URL cannot be served: use
	// [Flow.Complete] (the user pastes the URL).
	TLSConfig *tls.Config
	// Logger receives debug records (never a code, verifier or token). Nil:
	// silent.
	Logger *slog.Logger
}

// String describes the config without the client secret.
func (c LoginConfig) String() string {
	return fmt.Sprintf("auth.LoginConfig{Broker:%s OAuth2:%s DisablePKCE:%t StoreKey:%s Timeout:%s}",
		c.Broker, oauthString(c.OAuth2), c.DisablePKCE, c.StoreKey, c.Timeout)
}

// GoString is String.
func (c LoginConfig) GoString() string { return c.String() }

// Format makes every fmt verb print the redacted form.
func (c LoginConfig) Format(f fmt.State, verb rune) { writeRedacted(f, verb, c) }

// LogValue makes slog print the config without the client secret.
func (c LoginConfig) LogValue() slog.Value {
	return slog.GroupValue(slog.String("broker", c.Broker), slog.String("oauth2", oauthString(c.OAuth2)))
}

// Flow is one login attempt: it holds the random state and the PKCE
// verifier between the authorization URL and the callback. Use it directly
// for the manual mode (show AuthURL, then Complete with the URL the user
// pastes); [Login] uses it with a local callback listener. A Flow completes
// at most once.
type Flow struct {
	cfg      LoginConfig
	redirect *url.URL
	state    string
	verifier string // "" when PKCE is off
	done     chan struct{}
}

// NewFlow validates cfg and starts a login: a fresh random state and, unless
// disabled, a PKCE verifier.
func NewFlow(cfg LoginConfig) (*Flow, error) {
	if cfg.OAuth2 == nil || cfg.OAuth2.Endpoint.AuthURL == "" || cfg.OAuth2.Endpoint.TokenURL == "" {
		return nil, configError(cfg.Broker, "auth: OAuth2 config with authorization and token URLs is required")
	}
	redirect, err := url.Parse(cfg.OAuth2.RedirectURL)
	if err != nil || redirect.Host == "" {
		return nil, configError(cfg.Broker, "auth: OAuth2.RedirectURL must be an absolute URL")
	}
	if cfg.Store != nil && cfg.StoreKey == "" {
		return nil, configError(cfg.Broker, "auth: StoreKey is required with a Store")
	}
	cfg.Clock = clock.Or(cfg.Clock)
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultLoginTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	f := &Flow{cfg: cfg, redirect: redirect, state: randomState(), done: make(chan struct{}, 1)}
	if !cfg.DisablePKCE {
		f.verifier = oauth2.GenerateVerifier()
	}
	return f, nil
}

// AuthURL is the URL to open in the browser.
func (f *Flow) AuthURL() string {
	opts := append([]oauth2.AuthCodeOption(nil), f.cfg.AuthCodeOptions...)
	if f.verifier != "" {
		opts = append(opts, oauth2.S256ChallengeOption(f.verifier))
	}
	oc := *f.cfg.OAuth2
	oc.RedirectURL = f.redirect.String()
	return oc.AuthCodeURL(f.state, opts...)
}

// String describes the flow without its state and verifier.
func (f *Flow) String() string {
	if f == nil {
		return "auth.Flow(nil)"
	}
	return "auth.Flow{" + f.cfg.String() + " state:REDACTED verifier:REDACTED}"
}

// GoString is String.
func (f *Flow) GoString() string { return f.String() }

// Format makes every fmt verb print the redacted form.
func (f *Flow) Format(s fmt.State, verb rune) { writeRedacted(s, verb, f) }

// LogValue makes slog print the flow without its state and verifier.
func (f *Flow) LogValue() slog.Value {
	if f == nil {
		return slog.StringValue("auth.Flow(nil)")
	}
	return f.cfg.LogValue()
}

// Complete finishes the login from the URL the browser was redirected to
// (pasted by the user in manual mode): it refuses a state that is not this
// flow's (CSRF protection), reports an error the server sent instead of a
// code, exchanges the code (with the PKCE verifier) and saves the token to
// the store if one is configured.
func (f *Flow) Complete(ctx context.Context, redirectedURL string) (Token, error) {
	u, err := url.Parse(strings.TrimSpace(redirectedURL))
	if err != nil {
		return Token{}, f.refused("the pasted text is not a URL", "")
	}
	return f.complete(ctx, u.Query())
}

func (f *Flow) complete(ctx context.Context, q url.Values) (Token, error) {
	if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(f.state)) != 1 {
		return Token{}, f.refused("state does not match this login (possible CSRF): login refused", "")
	}
	if code := q.Get("error"); code != "" {
		secrets := secretsOf(f.cfg.OAuth2, f.state, f.verifier, q.Get("code"))
		return Token{}, f.refused("authorization server refused: "+scrub(code+" "+q.Get("error_description"), secrets), scrub(code, secrets))
	}
	code := q.Get("code")
	if code == "" {
		return Token{}, f.refused("redirect carries no authorization code", "")
	}
	select {
	case f.done <- struct{}{}:
	default:
		return Token{}, f.refused("this login was already completed", "")
	}
	return f.exchange(ctx, code)
}

func (f *Flow) exchange(ctx context.Context, code string) (Token, error) {
	if f.cfg.HTTPClient != nil {
		ctx = context.WithValue(ctx, oauth2.HTTPClient, f.cfg.HTTPClient)
	}
	var opts []oauth2.AuthCodeOption
	if f.verifier != "" {
		opts = append(opts, oauth2.VerifierOption(f.verifier))
	}
	oc := *f.cfg.OAuth2
	oc.RedirectURL = f.redirect.String()
	now := f.cfg.Clock.Now()
	ot, err := oc.Exchange(ctx, code, opts...)
	if err != nil {
		return Token{}, tokenEndpointError(ctx, f.cfg.Broker, "login", err, secretsOf(f.cfg.OAuth2, code, f.verifier))
	}
	tok := fromOAuth2(ot, now)
	if tok.RefreshExpiry.IsZero() && f.cfg.RefreshLifetime > 0 {
		tok.RefreshExpiry = now.Add(f.cfg.RefreshLifetime)
	}
	if f.cfg.Store != nil {
		if err := f.cfg.Store.Save(ctx, f.cfg.StoreKey, tok); err != nil {
			return Token{}, fmt.Errorf("auth: login succeeded but the token was not saved: %w", err)
		}
	}
	f.cfg.Logger.LogAttrs(ctx, slog.LevelDebug, "auth login complete",
		slog.String("broker", f.cfg.Broker), slog.Time("expiry", tok.Expiry))
	return tok, nil
}

func (f *Flow) refused(msg, code string) error {
	kind := errors.ErrUnauthenticated
	if code == "access_denied" {
		kind = errors.ErrPermissionDenied
	}
	return &errors.BrokerError{Broker: f.cfg.Broker, Op: "login", Code: code, Kind: kind, Message: msg}
}

// Login runs the whole login with a callback listener: it listens on the
// redirect URL's port on 127.0.0.1, calls cfg.OpenURL with the
// authorization URL, waits (at most cfg.Timeout, and as long as ctx lives)
// for the browser's redirect, and completes the flow. A callback with the
// wrong state ends the login with an error (CSRF protection). The listener
// is closed and its goroutine ended before Login returns.
func Login(ctx context.Context, cfg LoginConfig) (Token, error) {
	f, err := NewFlow(cfg)
	if err != nil {
		return Token{}, err
	}
	return f.Listen(ctx)
}

// Listen serves the callback on 127.0.0.1, shows AuthURL through
// cfg.OpenURL and completes the flow with the first callback; see [Login].
func (f *Flow) Listen(ctx context.Context) (Token, error) {
	if f.cfg.OpenURL == nil {
		return Token{}, configError(f.cfg.Broker, "auth: OpenURL is required to show the authorization URL")
	}
	ln, err := f.listen()
	if err != nil {
		return Token{}, err
	}
	callbacks := make(chan url.Values, 1)
	var conns sync.WaitGroup // one per connection goroutine, so none outlives Listen
	srv := &http.Server{
		Handler:           f.callbackHandler(callbacks),
		ReadHeaderTimeout: 10 * time.Second,
		TLSConfig:         f.cfg.TLSConfig,
		ErrorLog:          log.New(io.Discard, "", 0), // silent: no stderr noise
		ConnState: func(_ net.Conn, state http.ConnState) {
			switch state {
			case http.StateNew:
				conns.Add(1)
			case http.StateClosed, http.StateHijacked:
				conns.Done()
			}
		},
	}
	served := make(chan struct{})
	go func() {
		defer close(served)
		if f.cfg.TLSConfig != nil {
			_ = srv.ServeTLS(ln, "", "")
		} else {
			_ = srv.Serve(ln)
		}
	}()
	defer func() {
		_ = srv.Close() // closes the listener and every connection
		<-served
		conns.Wait()
	}()

	ctx, cancel := context.WithTimeout(ctx, f.cfg.Timeout)
	defer cancel()
	if err := f.cfg.OpenURL(ctx, f.AuthURL()); err != nil {
		return Token{}, fmt.Errorf("auth: cannot show the authorization URL: %w", err)
	}
	select {
	case q := <-callbacks:
		return f.complete(ctx, q)
	case <-ctx.Done():
		return Token{}, &errors.BrokerError{Broker: f.cfg.Broker, Op: "login", Kind: errors.ErrTimeout,
			Message: "no callback from the browser in time", Err: ctx.Err()}
	}
}

// listen binds 127.0.0.1 on the redirect URL's port; port 0 picks a free
// one and the redirect URL is updated to it.
func (f *Flow) listen() (net.Listener, error) {
	host := f.redirect.Hostname()
	if host != "127.0.0.1" && host != "localhost" {
		return nil, configError(f.cfg.Broker, "auth: the redirect URL must be on 127.0.0.1 or localhost for a callback listener; use Flow.Complete")
	}
	if f.redirect.Scheme == "https" && f.cfg.TLSConfig == nil {
		return nil, configError(f.cfg.Broker, "auth: an https redirect URL needs TLSConfig; or use Flow.Complete (manual mode)")
	}
	port := f.redirect.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[f.redirect.Scheme]
	}
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", port))
	if err != nil {
		return nil, &errors.BrokerError{Broker: f.cfg.Broker, Op: "login", Kind: errors.ErrConfiguration,
			Message: "cannot listen for the callback", Err: err}
	}
	if port == "0" {
		_, actual, _ := net.SplitHostPort(ln.Addr().String())
		f.redirect.Host = net.JoinHostPort(host, actual)
	}
	return ln, nil
}

// callbackHandler hands the first request on the redirect path to the flow.
func (f *Flow) callbackHandler(callbacks chan<- url.Values) http.Handler {
	path := f.redirect.Path
	if path == "" {
		path = "/"
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != path {
			http.NotFound(w, r)
			return
		}
		select {
		case callbacks <- r.URL.Query():
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			_, _ = w.Write([]byte("Login received. You can close this window.\n"))
		default:
			http.Error(w, "login already received", http.StatusConflict)
		}
	})
}

// randomState returns 32 random bytes, base64url: an unguessable state.
func randomState() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}
