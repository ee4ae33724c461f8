package coinbase_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/arbiontrader/arbion/auth"
	"github.com/arbiontrader/arbion/coinbase"
	"github.com/arbiontrader/arbion/coinbase/coinbasetest"
	"golang.org/x/oauth2"
)

// TestOAuthWithPKCEAndRotatingRefresh logs in through the auth package
// (PKCE S256), trades with the access token, and survives an expiry: the
// refresh token rotates, the new one is stored before use, the old one is
// refused afterwards.
func TestOAuthWithPKCEAndRotatingRefresh(t *testing.T) {
	e := newEnv(t, coinbasetest.Config{}, true, nil)
	redirect := "http://127.0.0.1:7777/callback"
	e.srv.AddOAuthClient(coinbasetest.OAuthClient{ID: "app-id", Secret: "app-secret", RedirectURI: redirect, Trade: true})
	oc := &oauth2.Config{ClientID: "app-id", ClientSecret: "app-secret", RedirectURL: redirect,
		Scopes: []string{"wallet:accounts:read", "wallet:buys:create", "offline_access"},
		Endpoint: oauth2.Endpoint{AuthURL: e.srv.URL() + coinbasetest.OAuthAuthorizePath,
			TokenURL: e.srv.URL() + coinbasetest.OAuthTokenPath, AuthStyle: oauth2.AuthStyleInParams}}
	store := auth.NewMemoryStore()
	flow, err := auth.NewFlow(auth.LoginConfig{Broker: "coinbase", OAuth2: oc, Store: store, StoreKey: "cb",
		HTTPClient: e.srv.Client(), Clock: e.clock})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(flow.AuthURL(), "code_challenge_method=S256") {
		t.Fatalf("authorization URL without PKCE: %s", flow.AuthURL())
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Get(flow.AuthURL())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if _, err := flow.Complete(ctx(t), resp.Header.Get("Location")); err != nil {
		t.Fatalf("login: %v", err)
	}
	first, _ := store.Load(ctx(t), "cb")

	src, err := auth.NewSource(auth.SourceConfig{Broker: "coinbase", OAuth2: oc, Store: store, StoreKey: "cb",
		HTTPClient: e.srv.Client(), Clock: e.clock})
	if err != nil {
		t.Fatal(err)
	}
	b, err := coinbase.New(coinbase.Config{OAuth: src, RetailPortfolioID: e.srv.Portfolio(), BaseURL: e.srv.URL(),
		HTTPClient: e.srv.Client(), Clock: e.clock})
	if err != nil {
		t.Fatal(err)
	}
	req := limitBuy("0.01", "50000")
	if _, err := b.PlaceOrder(ctx(t), req); err != nil {
		t.Fatalf("place with OAuth: %v; auth failures %q", err, e.srv.AuthFailures())
	}
	if got := ordersFor(e.srv, req.ClientOrderID); len(got) != 1 || got[0].RetailPortfolioID != e.srv.Portfolio() {
		t.Fatalf("order at the emulator: %+v", got)
	}

	e.clock.Advance(2 * time.Hour) // the access token (1 h) has expired
	if _, err := b.OpenOrders(ctx(t)); err != nil {
		t.Fatalf("after expiry: %v", err)
	}
	second, _ := store.Load(ctx(t), "cb")
	if e.srv.OAuthRefreshes() != 1 || second.RefreshToken == first.RefreshToken || second.AccessToken == first.AccessToken {
		t.Fatalf("refresh did not rotate: %d refreshes", e.srv.OAuthRefreshes())
	}
	h := b.Health(ctx(t))
	if !h.Authenticated || !h.TokenExpiry.Equal(second.Expiry) {
		t.Errorf("health %+v, want token expiry %v", h, second.Expiry)
	}
	// The old refresh token was single-use.
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {first.RefreshToken},
		"client_id": {"app-id"}, "client_secret": {"app-secret"}}
	r, err := e.srv.Client().PostForm(e.srv.URL()+coinbasetest.OAuthTokenPath, form)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != http.StatusUnauthorized {
		t.Errorf("reused refresh token: %d, want 401", r.StatusCode)
	}
}

func TestOAuthPKCEMismatchRefused(t *testing.T) {
	e := newEnv(t, coinbasetest.Config{}, true, nil)
	redirect := "http://127.0.0.1:7777/callback"
	e.srv.AddOAuthClient(coinbasetest.OAuthClient{ID: "app-id", Secret: "app-secret", RedirectURI: redirect})
	verifier := oauth2.GenerateVerifier()
	q := url.Values{"response_type": {"code"}, "client_id": {"app-id"}, "redirect_uri": {redirect}, "state": {"state-123456"},
		"code_challenge": {oauth2.S256ChallengeFromVerifier(verifier)}, "code_challenge_method": {"S256"}}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Get(e.srv.URL() + coinbasetest.OAuthAuthorizePath + "?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	form := url.Values{"grant_type": {"authorization_code"}, "code": {loc.Query().Get("code")}, "redirect_uri": {redirect},
		"client_id": {"app-id"}, "client_secret": {"app-secret"}, "code_verifier": {oauth2.GenerateVerifier()}}
	r, err := e.srv.Client().PostForm(e.srv.URL()+coinbasetest.OAuthTokenPath, form)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != http.StatusBadRequest {
		t.Errorf("wrong verifier: %d, want 400", r.StatusCode)
	}
}
