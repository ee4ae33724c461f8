package etrade

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/arbiontrader/arbion/auth"
	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/internal/httpx"
	"github.com/arbiontrader/arbion/internal/oauth1"
)

// credsKey carries the OAuth credentials of one call in its context, for
// the per-attempt signing hook.
type credsKey struct{}

func withCreds(ctx context.Context, c oauth1.Credentials) context.Context {
	return context.WithValue(ctx, credsKey{}, c)
}

// authorize signs each attempt (a fresh nonce and timestamp every time)
// with the credentials its context carries. JSON bodies are never signed.
func (b *Broker) authorize(ctx context.Context, req *http.Request) error {
	c, ok := ctx.Value(credsKey{}).(oauth1.Credentials)
	if !ok {
		return &errors.BrokerError{Broker: brokerName, Kind: errors.ErrUnauthenticated, Message: "no credentials for the request"}
	}
	h, err := b.signer.Authorization(req.Method, req.URL, nil, c)
	if err != nil {
		return &errors.BrokerError{Broker: brokerName, Kind: errors.ErrConfiguration, Message: "cannot sign request", Err: err}
	}
	req.Header.Set("Authorization", h)
	return nil
}

// RequestToken is the first step of a login. Its fields are secrets.
type RequestToken struct {
	Token, Secret string
}

// String redacts the token.
func (t RequestToken) String() string { return "etrade.RequestToken{REDACTED}" }

// GoString redacts the token.
func (t RequestToken) GoString() string { return t.String() }

// Format redacts the token under every verb.
func (t RequestToken) Format(f fmt.State, _ rune) { fmt.Fprint(f, t.String()) }

// LogValue redacts the token in log/slog output.
func (t RequestToken) LogValue() slog.Value { return slog.StringValue(t.String()) }

// StartLogin gets a request token (oauth_callback=oob) and returns it with
// the URL of E*TRADE's authorize page, where the user approves the
// application and reads a verification code. The request token lives five
// minutes.
func (b *Broker) StartLogin(ctx context.Context) (RequestToken, string, error) {
	resp, err := b.oauth.Do(withCreds(ctx, oauth1.Credentials{Callback: "oob"}), httpx.Request{
		Op: "request token", Path: "/oauth/request_token", Accept: httpx.AcceptAny, Idempotent: true,
	})
	if err != nil {
		return RequestToken{}, "", err
	}
	p, err := decodeTokenResponse(resp.Body)
	if err != nil {
		return RequestToken{}, "", withOp(err, "request token")
	}
	b.scrub.Remember(p.token, p.secret)
	rt := RequestToken{Token: p.token, Secret: p.secret}
	return rt, b.AuthorizeURL(rt), nil
}

// AuthorizeURL returns the page where the user approves rt: E*TRADE's
// authorize URL with key= and token= (not oauth_token), the token
// percent-encoded once.
func (b *Broker) AuthorizeURL(rt RequestToken) string {
	return b.cfg.AuthorizeURL + "?key=" + oauth1.PercentEncode(b.cfg.ConsumerKey) + "&token=" + oauth1.PercentEncode(rt.Token)
}

// CompleteLogin exchanges the approved request token and the verification
// code the user read for an access token, and saves it in the store. The
// token expires at the next midnight US Eastern.
func (b *Broker) CompleteLogin(ctx context.Context, rt RequestToken, verifier string) error {
	if rt.Token == "" || verifier == "" {
		return &errors.BrokerError{Broker: brokerName, Op: "access token", Kind: errors.ErrUnauthenticated,
			Message: "a request token and the verification code are required"}
	}
	resp, err := b.oauth.Do(withCreds(ctx, oauth1.Credentials{Token: rt.Token, TokenSecret: rt.Secret, Verifier: verifier}),
		httpx.Request{Op: "access token", Path: "/oauth/access_token", Accept: httpx.AcceptAny})
	if err != nil {
		if tokenRefused(err) {
			return loginAgain("access token", "the request token was refused (not approved, wrong code, or older than 5 minutes)", err)
		}
		return err
	}
	p, err := decodeTokenResponse(resp.Body)
	if err != nil {
		return withOp(err, "access token")
	}
	now := b.clock.Now()
	b.scrub.Remember(p.token, p.secret)
	s := &session{token: p.token, secret: p.secret, expiry: b.midnightAfter(now), lastUsed: now}
	tok := auth.Token{AccessToken: s.token, Secret: s.secret, TokenType: "OAuth1", Expiry: s.expiry, RefreshExpiry: s.expiry}
	if err := b.cfg.Store.Save(ctx, b.cfg.StoreKey, tok); err != nil {
		return err
	}
	b.mu.Lock()
	b.session, b.loaded = s, true
	b.mu.Unlock()
	return nil
}

// midnightAfter is the first midnight US Eastern after t (DST-correct).
func (b *Broker) midnightAfter(t time.Time) time.Time {
	et := t.In(b.eastern)
	return time.Date(et.Year(), et.Month(), et.Day()+1, 0, 0, 0, 0, b.eastern)
}

// loadSession reads the token from the store once.
func (b *Broker) loadSession(ctx context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.loaded {
		return nil
	}
	tok, err := b.cfg.Store.Load(ctx, b.cfg.StoreKey)
	if err != nil {
		if errors.Is(err, auth.ErrNoToken) {
			return &errors.BrokerError{Broker: brokerName, Op: "load token", Kind: errors.ErrUnauthenticated,
				Message: "no E*TRADE token stored: log in first", Err: err}
		}
		return err
	}
	b.scrub.Remember(tok.AccessToken, tok.Secret)
	b.session = &session{token: tok.AccessToken, secret: tok.Secret, expiry: tok.Expiry}
	if b.session.expiry.IsZero() {
		b.session.expiry = b.midnightAfter(b.clock.Now())
	}
	b.loaded = true
	return nil
}

// activeSession returns a session fit for a request: loaded, not past
// midnight, renewed first when this process saw it idle for
// Config.IdleRenewAfter.
func (b *Broker) activeSession(ctx context.Context, op string) (session, error) {
	if err := b.loadSession(ctx); err != nil {
		return session{}, err
	}
	b.mu.Lock()
	s := b.session
	b.mu.Unlock()
	if s == nil {
		return session{}, loginAgain(op, "not logged in", nil)
	}
	now := b.clock.Now()
	if !now.Before(s.expiry) {
		return session{}, loginAgain(op, "the access token expired at midnight US Eastern", nil)
	}
	// A token restored from the store has no known last use: it is not
	// renewed on every start, but only if E*TRADE refuses it as inactive
	// (call renews once on that 401, which proves nothing was done).
	if !s.lastUsed.IsZero() && now.Sub(s.lastUsed) >= b.cfg.IdleRenewAfter {
		if err := b.renew(ctx, *s); err != nil {
			return session{}, err
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return *b.session, nil
}

// Renew reactivates an access token that went idle. It cannot revive one
// that expired at midnight.
func (b *Broker) Renew(ctx context.Context) error {
	if err := b.loadSession(ctx); err != nil {
		return err
	}
	b.mu.Lock()
	s := b.session
	b.mu.Unlock()
	if s == nil {
		return loginAgain("renew token", "not logged in", nil)
	}
	return b.renew(ctx, *s)
}

// renew calls renew_access_token once for s, unless another goroutine
// already renewed it meanwhile. The answer is judged by its HTTP status.
func (b *Broker) renew(ctx context.Context, s session) error {
	b.renewMu.Lock()
	defer b.renewMu.Unlock()
	b.mu.Lock()
	cur := b.session
	b.mu.Unlock()
	if cur != nil && cur.token == s.token && cur.lastUsed.After(s.lastUsed) {
		return nil // renewed or used successfully since s was read
	}
	_, err := b.oauth.Do(withCreds(ctx, oauth1.Credentials{Token: s.token, TokenSecret: s.secret}), httpx.Request{
		Op: "renew token", Path: "/oauth/renew_access_token", Accept: httpx.AcceptAny, Idempotent: true,
	})
	if err != nil {
		if tokenRefused(err) {
			return loginAgain("renew token", "E*TRADE refused to renew the access token", err)
		}
		return err
	}
	b.touch(s.token)
	return nil
}

// touch records a successful use of the token.
func (b *Broker) touch(token string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.session != nil && b.session.token == token {
		b.session.lastUsed = b.clock.Now()
	}
}

// Revoke invalidates the access token at E*TRADE (log out). The adapter
// then needs a new login.
func (b *Broker) Revoke(ctx context.Context) error {
	if err := b.loadSession(ctx); err != nil {
		return err
	}
	b.mu.Lock()
	s := b.session
	b.mu.Unlock()
	if s == nil {
		return nil
	}
	_, err := b.oauth.Do(withCreds(ctx, oauth1.Credentials{Token: s.token, TokenSecret: s.secret}), httpx.Request{
		Op: "revoke token", Path: "/oauth/revoke_access_token", Accept: httpx.AcceptAny, Idempotent: true,
	})
	if err != nil {
		return err
	}
	b.mu.Lock()
	b.session = nil
	b.mu.Unlock()
	return nil
}

// loginAgain is the error of a token that cannot be used any more.
func loginAgain(op, why string, cause error) error {
	return &errors.BrokerError{Broker: brokerName, Op: op, Kind: errors.ErrTokenExpired,
		Message: why + ": log in to E*TRADE again (request token, authorize, verification code)", Err: cause}
}

// withOp sets the operation on a BrokerError made by a decoder.
func withOp(err error, op string) error {
	var be *errors.BrokerError
	if errors.As(err, &be) && be.Op == "" {
		be.Op = op
	}
	return err
}

// call sends a /v1 request with the session's credentials. A token that
// E*TRADE reports expired or rejected before midnight is renewed once and
// the request sent again: a 401 is a refusal, so nothing was done.
func (b *Broker) call(ctx context.Context, req httpx.Request) (*httpx.Response, error) {
	s, err := b.activeSession(ctx, req.Op)
	if err != nil {
		return nil, err
	}
	resp, err := b.api.Do(withCreds(ctx, oauth1.Credentials{Token: s.token, TokenSecret: s.secret}), req)
	if err != nil && tokenRefused(err) {
		if !b.clock.Now().Before(s.expiry) {
			return nil, loginAgain(req.Op, "the access token expired at midnight US Eastern", err)
		}
		if rerr := b.renew(ctx, s); rerr != nil {
			return nil, rerr
		}
		resp, err = b.api.Do(withCreds(ctx, oauth1.Credentials{Token: s.token, TokenSecret: s.secret}), req)
		if err != nil && tokenRefused(err) {
			return nil, loginAgain(req.Op, "E*TRADE refused the renewed access token", err)
		}
	}
	if err == nil {
		b.touch(s.token)
	}
	return resp, err
}

// tokenRefused reports a 401 about the token itself (not the signature or
// the consumer key, which renewing cannot fix).
func tokenRefused(err error) bool {
	switch oauthProblemOf(err) {
	case "token_expired", "token_rejected":
		return true
	}
	return false
}

// apiPath builds an account-scoped path.
func (b *Broker) apiPath(suffix string) string {
	return "/v1/accounts/" + url.PathEscape(b.cfg.AccountIDKey) + suffix
}
