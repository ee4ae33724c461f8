package auth

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/arbiontrader/arbion/errors"
	"golang.org/x/oauth2"
)

// DefaultSkew is how long before its expiry an access token is refreshed.
const DefaultSkew = time.Minute

// SourceConfig configures a [Source]. Its OAuth2 client secret is redacted
// by fmt and slog.
type SourceConfig struct {
	// Broker names the broker in errors ("schwab").
	Broker string
	// OAuth2 holds the client id and secret and the token endpoint.
	// Required.
	OAuth2 *oauth2.Config
	// Store keeps the token between runs; the login put it there. Required.
	Store TokenStore
	// StoreKey is the token's key in Store. Required.
	StoreKey string
	// HTTPClient is used for the token endpoint. Default http.DefaultClient
	// (as x/oauth2 does).
	HTTPClient *http.Client
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Skew: the access token is refreshed when it has less than this left.
	// Default [DefaultSkew].
	Skew time.Duration
	// RefreshLifetime is how long a refresh token lives from the login,
	// when the broker does not say (Schwab: 7 days). It is applied to a
	// stored token without RefreshExpiry, counted from its first use here;
	// [Flow] sets RefreshExpiry at login from the same value. Zero: unknown.
	RefreshLifetime time.Duration
	// Logger receives debug records of refreshes (never a token). Nil:
	// silent.
	Logger *slog.Logger
}

// String describes the config without the client secret.
func (c SourceConfig) String() string {
	return fmt.Sprintf("auth.SourceConfig{Broker:%s OAuth2:%s Store:%T StoreKey:%s Skew:%s RefreshLifetime:%s}",
		c.Broker, oauthString(c.OAuth2), c.Store, c.StoreKey, c.Skew, c.RefreshLifetime)
}

// GoString is String.
func (c SourceConfig) GoString() string { return c.String() }

// Format makes every fmt verb print the redacted form.
func (c SourceConfig) Format(f fmt.State, verb rune) { writeRedacted(f, verb, c) }

// LogValue makes slog print the config without the client secret.
func (c SourceConfig) LogValue() slog.Value {
	return slog.GroupValue(slog.String("broker", c.Broker), slog.String("store_key", c.StoreKey),
		slog.String("oauth2", oauthString(c.OAuth2)))
}

// Source hands out a valid access token, refreshing it when needed. It is
// safe for concurrent use: however many goroutines ask at once, one
// refresh is made and the others wait for it (or for their context).
//
// Every refreshed token is saved to the store before it is returned. A
// refresh token that rotates (Coinbase issues a new one on each refresh and
// revokes the old) is therefore stored before anyone can use it; if saving
// fails the token is kept in memory, the error returned, and the save
// retried on the next call. A refresh answer without a refresh token keeps
// the old one. RefreshExpiry is carried over from the login: refreshing does
// not extend it (Schwab).
//
// One Source per StoreKey per process: two processes refreshing the same
// rotating token would revoke each other's.
type Source struct {
	cfg  SourceConfig
	lock chan struct{} // a mutex that waiting goroutines can abandon with ctx

	tok     *Token // nil until loaded from the store
	unsaved bool   // tok is newer than the store (a save failed)
	refused string // the refresh token the endpoint refused: not sent again
}

// NewSource validates cfg and returns a Source. The token is read from the
// store on first use.
func NewSource(cfg SourceConfig) (*Source, error) {
	switch {
	case cfg.OAuth2 == nil || cfg.OAuth2.Endpoint.TokenURL == "":
		return nil, configError(cfg.Broker, "auth: OAuth2 config with a token URL is required")
	case cfg.Store == nil:
		return nil, configError(cfg.Broker, "auth: a token store is required")
	case cfg.StoreKey == "":
		return nil, configError(cfg.Broker, "auth: a store key is required")
	case cfg.Skew < 0 || cfg.RefreshLifetime < 0:
		return nil, configError(cfg.Broker, "auth: skew and refresh lifetime must not be negative")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Skew == 0 {
		cfg.Skew = DefaultSkew
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Source{cfg: cfg, lock: make(chan struct{}, 1)}, nil
}

// Token returns a token whose access token is valid for at least the skew,
// refreshing it first if needed. A refresh token that is expired, revoked or
// refused (invalid_grant, 400 or 401 from the token endpoint, or
// RefreshExpiry passed) yields a *errors.BrokerError matching
// errors.ErrTokenExpired that says to log in again; no token in the store
// yields ErrNoToken (matching errors.ErrUnauthenticated).
func (s *Source) Token(ctx context.Context) (Token, error) {
	select {
	case s.lock <- struct{}{}:
	case <-ctx.Done():
		return Token{}, ctx.Err()
	}
	defer func() { <-s.lock }()

	if err := s.load(ctx); err != nil {
		return Token{}, err
	}
	if s.unsaved {
		if err := s.save(ctx, *s.tok); err != nil {
			return Token{}, err
		}
	}
	now := s.cfg.Now()
	if s.tok.ValidAt(now, s.cfg.Skew) {
		return s.tok.clone(), nil
	}
	if s.tok.RefreshExpiredAt(now) {
		return Token{}, s.loginAgain(0, "", "refresh token expired at "+formatTime(s.tok.RefreshExpiry))
	}
	if s.tok.RefreshToken == "" {
		return Token{}, s.loginAgain(0, "", "access token expired and there is no refresh token")
	}
	if s.tok.RefreshToken == s.refused {
		s.tok = nil // reload next time: a new login may have stored a new token
		return Token{}, s.loginAgain(0, "", "the refresh token was refused")
	}
	fresh, err := s.refresh(ctx, *s.tok, now)
	if errors.Is(err, errors.ErrTokenExpired) {
		s.refused, s.tok = s.tok.RefreshToken, nil
	}
	if err != nil {
		return Token{}, err
	}
	s.tok, s.unsaved = &fresh, true
	if err := s.save(ctx, fresh); err != nil {
		return Token{}, err
	}
	return fresh.clone(), nil
}

// Invalidate marks accessToken as no longer valid, so that the next Token
// refreshes it: an adapter calls it when the broker answered 401 to a
// request made with that token before its recorded expiry (revoked, or the
// broker's clock disagrees). Only the current token is invalidated: when many
// requests fail with one token, the first Invalidate forces one refresh and
// the others, naming the old token, change nothing.
func (s *Source) Invalidate(ctx context.Context, accessToken string) error {
	select {
	case s.lock <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-s.lock }()
	if s.tok != nil && accessToken != "" && s.tok.AccessToken == accessToken {
		s.tok.Expiry = s.cfg.Now().Add(-time.Nanosecond)
	}
	return nil
}

// Authorize sets the Authorization header of req from a valid token. Its
// signature fits httpx.Config.Authorize.
func (s *Source) Authorize(ctx context.Context, req *http.Request) error {
	tok, err := s.Token(ctx)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", tok.Type()+" "+tok.AccessToken)
	return nil
}

// Expiry returns when the current access token and refresh token expire
// (zero if unknown or nothing loaded yet), for health reports. It does not
// block on a refresh in progress longer than ctx allows.
func (s *Source) Expiry(ctx context.Context) (access, refresh time.Time, err error) {
	select {
	case s.lock <- struct{}{}:
	case <-ctx.Done():
		return time.Time{}, time.Time{}, ctx.Err()
	}
	defer func() { <-s.lock }()
	if err := s.load(ctx); err != nil {
		return time.Time{}, time.Time{}, err
	}
	return s.tok.Expiry, s.tok.RefreshExpiry, nil
}

// load reads the token from the store once.
func (s *Source) load(ctx context.Context) error {
	if s.tok != nil {
		return nil
	}
	tok, err := s.cfg.Store.Load(ctx, s.cfg.StoreKey)
	if err != nil {
		return err
	}
	if tok.RefreshExpiry.IsZero() && s.cfg.RefreshLifetime > 0 && tok.RefreshToken != "" {
		tok.RefreshExpiry = s.cfg.Now().Add(s.cfg.RefreshLifetime)
		s.unsaved = true
	}
	s.tok = &tok
	return nil
}

func (s *Source) save(ctx context.Context, tok Token) error {
	if err := s.cfg.Store.Save(ctx, s.cfg.StoreKey, tok); err != nil {
		return fmt.Errorf("auth: refreshed token not persisted (kept in memory, retried on next use): %w", err)
	}
	s.unsaved = false
	return nil
}

// refresh exchanges old's refresh token for a new token at now.
func (s *Source) refresh(ctx context.Context, old Token, now time.Time) (Token, error) {
	if s.cfg.HTTPClient != nil {
		ctx = context.WithValue(ctx, oauth2.HTTPClient, s.cfg.HTTPClient)
	}
	ot, err := s.cfg.OAuth2.TokenSource(ctx, &oauth2.Token{RefreshToken: old.RefreshToken}).Token()
	if err != nil {
		s.cfg.Logger.LogAttrs(ctx, slog.LevelDebug, "auth refresh failed",
			slog.String("broker", s.cfg.Broker), slog.String("store_key", s.cfg.StoreKey))
		return Token{}, s.tokenEndpointError(ctx, "refresh token", err)
	}
	fresh := fromOAuth2(ot, now)
	if fresh.RefreshToken == "" {
		fresh.RefreshToken = old.RefreshToken
	}
	if fresh.RefreshExpiry.IsZero() || fresh.RefreshToken == old.RefreshToken {
		fresh.RefreshExpiry = old.RefreshExpiry // refreshing does not renew the login
	}
	if fresh.Extra == nil {
		fresh.Extra = old.clone().Extra
	}
	s.cfg.Logger.LogAttrs(ctx, slog.LevelDebug, "auth token refreshed",
		slog.String("broker", s.cfg.Broker), slog.String("store_key", s.cfg.StoreKey),
		slog.Time("expiry", fresh.Expiry), slog.Time("refresh_expiry", fresh.RefreshExpiry))
	return fresh, nil
}

func (s *Source) tokenEndpointError(ctx context.Context, op string, err error) error {
	return tokenEndpointError(ctx, s.cfg.Broker, op, err)
}

func (s *Source) loginAgain(status int, code, why string) error {
	return &errors.BrokerError{Broker: s.cfg.Broker, Op: "refresh token", HTTPStatus: status, Code: code,
		Kind: errors.ErrTokenExpired, Message: why + ": log in again"}
}
