package auth

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/arbiontrader/arbion/clock"
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
	// Clock is the time source (token and login expiry); nil means
	// clock.Real.
	Clock clock.Clock
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
	// Leader, if set, says whether this process may refresh the token (see
	// [Leader]); while its Err is not nil the Source never calls the token
	// endpoint and only re-reads the store. Nil: this process refreshes.
	// Give it to every process but the account's leader when several share
	// one login, as a rotating refresh token (Coinbase) is single use.
	Leader Leader
}

// String describes the config without the client secret.
func (c SourceConfig) String() string {
	return fmt.Sprintf("auth.SourceConfig{Broker:%s OAuth2:%s Store:%T StoreKey:%s Skew:%s RefreshLifetime:%s Leader:%t}",
		c.Broker, oauthString(c.OAuth2), c.Store, c.StoreKey, c.Skew, c.RefreshLifetime, c.Leader != nil)
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

// Leader says whether this process may refresh a login's token: Err
// returns nil while this process is the account's leader, and an error
// (typically matching errors.ErrNotLeader) while it is not. A leadership
// lease (store/sqlstore's, or the host's own) fits it.
type Leader interface{ Err() error }

// LeaderFunc adapts a function to [Leader].
type LeaderFunc func() error

// Err calls f.
func (f LeaderFunc) Err() error { return f() }

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
// Several processes may share one login through one store (a [FileStore] on
// a shared path, or a host store):
//
//   - When its token is about to expire, a Source first re-reads the store:
//     another process may have refreshed it already.
//   - If the store is a [RefreshLocker], the Source holds its lock while it
//     re-reads, refreshes and saves, so one refresh is made per expiry
//     however many processes ask.
//   - If the store is a [SwapStore], the refreshed token is saved only if
//     the stored one is still the token the refresh started from; a Source
//     that loses this race uses the winner's token and does not refresh
//     again. A refresh refused because another process already rotated the
//     refresh token is answered the same way, from the store.
//   - With SourceConfig.Leader set, only the leader refreshes: the others
//     re-read the store, and fail closed with errors.ErrTokenExpired when
//     the stored token has expired too.
//
// A Source prints without its token.
type Source struct {
	cfg  SourceConfig
	lock chan struct{} // a mutex that waiting goroutines can abandon with ctx

	tok     *Token      // nil until loaded from the store
	base    Fingerprint // the stored token tok was read as or saved over
	unsaved bool        // tok is newer than the store (a save failed)
	refused string      // the refresh token the endpoint refused: not sent again
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
	cfg.Clock = clock.Or(cfg.Clock)
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
// yields ErrNoToken (matching errors.ErrUnauthenticated). A Source that is
// not the leader never refreshes: when the stored token has expired too, it
// returns a *errors.BrokerError matching errors.ErrTokenExpired that wraps
// the leader's error.
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
		if err := s.persist(ctx); err != nil {
			return Token{}, err
		}
	}
	if s.tok.ValidAt(s.cfg.Clock.Now(), s.cfg.Skew) {
		return s.tok.clone(), nil
	}
	// Near expiry: another process may have refreshed and saved already.
	if err := s.reload(ctx); err != nil {
		return Token{}, err
	}
	if s.tok.ValidAt(s.cfg.Clock.Now(), s.cfg.Skew) {
		return s.tok.clone(), nil
	}
	if err := s.leads(); err != nil {
		return Token{}, err
	}
	if locker, ok := s.cfg.Store.(RefreshLocker); ok {
		unlock, err := locker.LockRefresh(ctx, s.cfg.StoreKey)
		if err != nil {
			return Token{}, fmt.Errorf("auth: cannot take the refresh lock: %w", err)
		}
		defer unlock()
		// Under the lock the store is the truth: whoever held the lock
		// before may have refreshed.
		if err := s.reload(ctx); err != nil {
			return Token{}, err
		}
		if s.tok.ValidAt(s.cfg.Clock.Now(), s.cfg.Skew) {
			return s.tok.clone(), nil
		}
		if err := s.leads(); err != nil { // leadership may be lost while waiting
			return Token{}, err
		}
	}
	return s.refreshAndSave(ctx)
}

// refreshAndSave refreshes s.tok and saves the result; called with s.lock
// (and the store's refresh lock, if it has one) held.
func (s *Source) refreshAndSave(ctx context.Context) (Token, error) {
	now := s.cfg.Clock.Now()
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
	old := *s.tok
	fresh, err := s.refresh(ctx, old, now)
	if errors.Is(err, errors.ErrTokenExpired) {
		// Another process may have rotated the refresh token (and so
		// revoked ours) and saved its successor: use that.
		if s.reload(ctx) == nil && FingerprintOf(*s.tok) != FingerprintOf(old) && s.tok.ValidAt(s.cfg.Clock.Now(), s.cfg.Skew) {
			s.debug(ctx, "auth refresh refused, using the token another process stored")
			return s.tok.clone(), nil
		}
		s.refused, s.tok = old.RefreshToken, nil
	}
	if err != nil {
		return Token{}, err
	}
	s.tok, s.unsaved = &fresh, true
	if err := s.persist(ctx); err != nil {
		return Token{}, err
	}
	if !s.tok.ValidAt(s.cfg.Clock.Now(), s.cfg.Skew) { // lost the race to a token that is no better
		return Token{}, &errors.BrokerError{Broker: s.cfg.Broker, Op: "refresh token", Kind: errors.ErrStaleVersion,
			Message: "another process replaced the token during the refresh and it is not valid: try again"}
	}
	return s.tok.clone(), nil
}

// leads returns nil if this process may refresh, and otherwise the
// fail-closed error of a follower whose stored token has expired.
func (s *Source) leads() error {
	if s.cfg.Leader == nil {
		return nil
	}
	err := s.cfg.Leader.Err()
	if err == nil {
		return nil
	}
	return &errors.BrokerError{Broker: s.cfg.Broker, Op: "refresh token", Kind: errors.ErrTokenExpired,
		Message: "the stored access token has expired and this process does not refresh it (not the leader); the leader refreshes and saves it",
		Err:     err}
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
		s.tok.Expiry = s.cfg.Clock.Now().Add(-time.Nanosecond)
	}
	return nil
}

// Authorize sets the Authorization header of req from a valid token: the
// request-signing hook of the adapters' HTTP pipeline.
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
	s.adopt(tok)
	return nil
}

// reload re-reads the store and adopts its token if it is another token
// than s.tok (another process refreshed, or a new login). The same token is
// kept as it is in memory, so that an Invalidate holds.
func (s *Source) reload(ctx context.Context) error {
	tok, err := s.cfg.Store.Load(ctx, s.cfg.StoreKey)
	if err != nil {
		return err
	}
	if s.tok == nil || FingerprintOf(tok) != FingerprintOf(*s.tok) {
		if s.tok != nil && !s.unsaved {
			s.debug(ctx, "auth token changed in the store, using it")
		}
		s.adopt(tok)
	}
	return nil
}

// adopt makes tok, just read from the store, the current token. A token
// without RefreshExpiry gets one from RefreshLifetime; the leader saves it.
func (s *Source) adopt(tok Token) {
	s.base, s.unsaved = FingerprintOf(tok), false
	if tok.RefreshExpiry.IsZero() && s.cfg.RefreshLifetime > 0 && tok.RefreshToken != "" {
		tok.RefreshExpiry = s.cfg.Clock.Now().Add(s.cfg.RefreshLifetime)
		s.unsaved = s.cfg.Leader == nil || s.cfg.Leader.Err() == nil
	}
	s.tok = &tok
}

// persist saves s.tok over s.base. Through a [SwapStore], a lost race
// adopts the winner's token: it is not an error.
func (s *Source) persist(ctx context.Context) error {
	var err error
	if sw, ok := s.cfg.Store.(SwapStore); ok {
		err = sw.CompareAndSwap(ctx, s.cfg.StoreKey, s.base, *s.tok)
		if errors.Is(err, errors.ErrStaleVersion) {
			s.debug(ctx, "auth token save lost a race: using the token another process stored")
			s.tok, s.unsaved = nil, false
			return s.load(ctx)
		}
	} else {
		err = s.cfg.Store.Save(ctx, s.cfg.StoreKey, *s.tok)
	}
	if err != nil {
		return fmt.Errorf("auth: refreshed token not persisted (kept in memory, retried on next use): %w", err)
	}
	s.base, s.unsaved = FingerprintOf(*s.tok), false
	return nil
}

func (s *Source) debug(ctx context.Context, msg string) {
	s.cfg.Logger.LogAttrs(ctx, slog.LevelDebug, msg,
		slog.String("broker", s.cfg.Broker), slog.String("store_key", s.cfg.StoreKey))
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
		return Token{}, tokenEndpointError(ctx, s.cfg.Broker, "refresh token", err, secretsOf(s.cfg.OAuth2, old.RefreshToken))
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

func (s *Source) loginAgain(status int, code, why string) error {
	return &errors.BrokerError{Broker: s.cfg.Broker, Op: "refresh token", HTTPStatus: status, Code: code,
		Kind: errors.ErrTokenExpired, Message: why + ": log in again"}
}

// String describes the source without its token.
func (s *Source) String() string {
	if s == nil {
		return "auth.Source(nil)"
	}
	return "auth.Source{" + s.cfg.String() + " token:REDACTED}"
}

// GoString is String.
func (s *Source) GoString() string { return s.String() }

// Format makes every fmt verb print the redacted form.
func (s *Source) Format(f fmt.State, verb rune) { writeRedacted(f, verb, s) }

// LogValue makes slog print the source without its token.
func (s *Source) LogValue() slog.Value {
	if s == nil {
		return slog.StringValue("auth.Source(nil)")
	}
	return slog.GroupValue(slog.String("broker", s.cfg.Broker), slog.String("store_key", s.cfg.StoreKey),
		slog.String("oauth2", oauthString(s.cfg.OAuth2)))
}
