package etrade

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/arbiontrader/arbion/auth"
	"github.com/arbiontrader/arbion/clock/clocktest"
	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/etrade/etradetest"
)

func TestLoginFlowEndToEnd(t *testing.T) {
	e := newEnv(t, envOptions{login: true})
	ctx := t.Context()
	if _, err := e.b.Account(ctx); !errors.Is(err, errors.ErrUnauthenticated) {
		t.Fatalf("Account before login: %v, want ErrUnauthenticated (log in first)", err)
	}
	rt, authURL, err := e.b.StartLogin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(authURL)
	if err != nil {
		t.Fatal(err)
	}
	if u.Query().Get("key") != e.srv.ConsumerKey() || u.Query().Get("token") != rt.Token ||
		!strings.Contains(u.RawQuery, "token=%2F") || strings.Contains(rt.Token, "%") {
		t.Errorf("authorize URL %q for token %q: want key= and token= with the decoded token encoded once", authURL, rt.Token)
	}
	// The user opens the page and reads the code.
	resp, err := e.srv.Client().Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	code, err := e.srv.Approve(rt.Token)
	if err != nil || !strings.Contains(string(page), code) {
		t.Fatalf("authorize page %q does not show the code %q (%v)", page, code, err)
	}
	if err := e.b.CompleteLogin(ctx, rt, code); err != nil {
		t.Fatal(err)
	}
	tok, err := e.store.Load(ctx, "etrade/"+e.srv.AccountIDKey())
	if err != nil || tok.AccessToken == "" || tok.Secret == "" || tok.Expiry.IsZero() {
		t.Fatalf("stored token: %v, %v", tok, err)
	}
	if _, err := e.b.Account(ctx); err != nil {
		t.Fatalf("Account after login: %v", err)
	}
	if h := e.b.Health(ctx); !h.Authenticated || !h.Reachable || !h.LoginExpiry.Equal(tok.Expiry) {
		t.Errorf("Health = %+v", h)
	}
	// The request token is single use.
	if err := e.b.CompleteLogin(ctx, rt, code); !errors.Is(err, errors.ErrTokenExpired) || !strings.Contains(err.Error(), "log in") {
		t.Errorf("second CompleteLogin: %v, want ErrTokenExpired saying to log in again", err)
	}
	if err := e.b.Revoke(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := e.b.Account(ctx); err == nil {
		t.Error("Account after Revoke: no error")
	}
}

func TestLoginRefusals(t *testing.T) {
	e := newEnv(t, envOptions{login: true})
	ctx := t.Context()
	rt, _, err := e.b.StartLogin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.srv.Approve(rt.Token); err != nil {
		t.Fatal(err)
	}
	if err := e.b.CompleteLogin(ctx, rt, "WRONG1"); !errors.Is(err, errors.ErrTokenExpired) {
		t.Errorf("wrong verifier: %v, want ErrTokenExpired (log in again)", err)
	}
	// The docs' malformed access-token body gives a clear error, no panic.
	rt, _, err = e.b.StartLogin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	code, _ := e.srv.Approve(rt.Token)
	e.srv.InjectFault(etradetest.OpAccessToken, etradetest.FaultMalformedAccessToken)
	err = e.b.CompleteLogin(ctx, rt, code)
	if !errors.Is(err, errors.ErrMalformedResponse) || !strings.Contains(err.Error(), "percent-escape") {
		t.Errorf("malformed access token answer: %v", err)
	}
}

// TestWrongSecretRefused: a request signed with a wrong consumer secret (or
// token secret) is refused by the emulator as E*TRADE refuses it.
func TestWrongSecretRefused(t *testing.T) {
	for _, tc := range []struct {
		name string
		tune func(*Config)
		tok  func(auth.Token) auth.Token
	}{
		{"consumer secret", func(c *Config) { c.ConsumerSecret = "wrong" }, nil},
		{"token secret", nil, func(t auth.Token) auth.Token { t.Secret += "x"; return t }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, envOptions{tune: tc.tune})
			ctx := t.Context()
			if tc.tok != nil {
				key := "etrade/" + e.srv.AccountIDKey()
				tok, _ := e.store.Load(ctx, key)
				_ = e.store.Save(ctx, key, tc.tok(tok))
			}
			before := e.srv.Calls(etradetest.OpBalance)
			_, err := e.b.Account(ctx)
			var be *errors.BrokerError
			if !errors.Is(err, errors.ErrUnauthenticated) || !errors.As(err, &be) || be.Code != "oauth_problem=signature_invalid" || be.HTTPStatus != http.StatusUnauthorized {
				t.Fatalf("err = %v, want 401 signature_invalid", err)
			}
			if e.srv.Calls(etradetest.OpBalance)-before+e.srv.Calls(etradetest.OpRenew) == 0 {
				t.Error("the refused request never reached the emulator")
			}
		})
	}
}

// etStart is 10:00 US Eastern on a winter day.
func etStart(t *testing.T) time.Time {
	t.Helper()
	loc, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	return time.Date(2026, 11, 27, 10, 0, 0, 0, loc)
}

func TestIdleRenewAndMidnightExpiry(t *testing.T) {
	clock := clocktest.New(etStart(t))
	e := newEnv(t, envOptions{clock: clock, login: true})
	ctx := t.Context()
	login(t, e)
	if _, err := e.b.Account(ctx); err != nil {
		t.Fatal(err)
	}
	renews := e.srv.Calls(etradetest.OpRenew)

	// Two idle hours: the adapter renews before the request.
	clock.Advance(2*time.Hour + time.Minute)
	if _, err := e.b.Account(ctx); err != nil {
		t.Fatalf("Account after 2 idle hours: %v", err)
	}
	if got := e.srv.Calls(etradetest.OpRenew) - renews; got != 1 {
		t.Errorf("renew calls = %d, want 1", got)
	}

	// Midnight US Eastern: expired; no request is sent; the message says to log in.
	clock.Set(time.Date(2026, 11, 28, 5, 0, 1, 0, time.UTC)) // 00:00:01 EST
	calls := e.srv.Calls(etradetest.OpBalance)
	_, err := e.b.Account(ctx)
	if !errors.Is(err, errors.ErrTokenExpired) || !strings.Contains(err.Error(), "log in to E*TRADE again") {
		t.Errorf("after midnight: %v, want ErrTokenExpired saying to log in again", err)
	}
	if e.srv.Calls(etradetest.OpBalance) != calls {
		t.Error("a request was sent with a token known to be expired")
	}
	if h := e.b.Health(ctx); h.Authenticated {
		t.Error("Health reports authenticated after midnight")
	}
}

// TestReactiveRenew: when the emulator finds the token idle before the
// adapter does, the 401 token_expired leads to one renew and one resend.
func TestReactiveRenew(t *testing.T) {
	clock := clocktest.New(etStart(t))
	e := newEnv(t, envOptions{clock: clock, login: true, tune: func(c *Config) { c.IdleRenewAfter = 3 * time.Hour }})
	ctx := t.Context()
	login(t, e)
	clock.Advance(2*time.Hour + 10*time.Minute)
	before := e.srv.Calls(etradetest.OpBalance)
	if _, err := e.b.Account(ctx); err != nil {
		t.Fatalf("Account on an idle token: %v", err)
	}
	if got := e.srv.Calls(etradetest.OpBalance) - before; got != 2 {
		t.Errorf("balance calls = %d, want 2 (refused, then resent after renew)", got)
	}
	if e.srv.Calls(etradetest.OpRenew) != 1 {
		t.Errorf("renew calls = %d, want 1", e.srv.Calls(etradetest.OpRenew))
	}
}

// TestEmulatorMidnightRefusal: the emulator itself refuses a token after
// midnight, even when the client believes it valid.
func TestEmulatorMidnightRefusal(t *testing.T) {
	serverClock := clocktest.New(etStart(t))
	clientClock := clocktest.New(etStart(t))
	e := newEnv(t, envOptions{clock: clientClock, login: true, server: etradetest.Config{Clock: serverClock}})
	login(t, e)
	serverClock.Set(time.Date(2026, 11, 28, 5, 0, 1, 0, time.UTC))
	clientClock.Set(time.Date(2026, 11, 28, 4, 59, 0, 0, time.UTC)) // 1 minute slow, within the 5-minute window
	_, err := e.b.Account(t.Context())
	if !errors.Is(err, errors.ErrTokenExpired) || !strings.Contains(err.Error(), "log in") {
		t.Errorf("err = %v, want ErrTokenExpired (renew refused, log in again)", err)
	}
}

func TestMidnightAfterIsDSTCorrect(t *testing.T) {
	b := &Broker{}
	b.eastern, _ = time.LoadLocation("America/New_York")
	for _, tc := range []struct{ at, want string }{
		{"2026-07-01T15:00:00Z", "2026-07-02T04:00:00Z"}, // EDT
		{"2026-11-27T15:00:00Z", "2026-11-28T05:00:00Z"}, // EST
		{"2026-03-08T04:30:00Z", "2026-03-08T05:00:00Z"}, // 23:30 EST on the eve of the switch to EDT
		{"2026-03-08T15:00:00Z", "2026-03-09T04:00:00Z"}, // 11:00 EDT on the day of the switch
	} {
		at, _ := time.Parse(time.RFC3339, tc.at)
		want, _ := time.Parse(time.RFC3339, tc.want)
		if got := b.midnightAfter(at); !got.Equal(want) {
			t.Errorf("midnightAfter(%s) = %s, want %s", tc.at, got.UTC(), tc.want)
		}
	}
}

// login runs the PIN flow against the emulator.
func login(t *testing.T, e *env) {
	t.Helper()
	ctx := t.Context()
	rt, _, err := e.b.StartLogin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	code, err := e.srv.Approve(rt.Token)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.b.CompleteLogin(ctx, rt, code); err != nil {
		t.Fatal(err)
	}
}

func TestRedaction(t *testing.T) {
	cfg := Config{ConsumerKey: "ckey123", ConsumerSecret: "csecret456", AccountIDKey: "k"}
	rt := RequestToken{Token: "rtok789", Secret: "rsec000"}
	var logged strings.Builder
	slog.New(slog.NewTextHandler(&logged, nil)).Info("x", "cfg", cfg, "rt", rt)
	for _, out := range []string{fmt.Sprint(cfg), fmt.Sprintf("%+v %#v %s", cfg, cfg, cfg), fmt.Sprintf("%v %+v %#v", rt, rt, rt), logged.String()} {
		for _, secret := range []string{"ckey123", "csecret456", "rtok789", "rsec000"} {
			if strings.Contains(out, secret) {
				t.Errorf("%q leaks %q", out, secret)
			}
		}
	}
}

func TestNewValidates(t *testing.T) {
	good := Config{ConsumerKey: "k", ConsumerSecret: "s", AccountIDKey: "abc", Store: auth.NewMemoryStore()}
	for name, mutate := range map[string]func(*Config){
		"no key":     func(c *Config) { c.ConsumerKey = "" },
		"no account": func(c *Config) { c.AccountIDKey = "" },
		"bad key":    func(c *Config) { c.AccountIDKey = "a/b" },
		"no store":   func(c *Config) { c.Store = nil },
		"negative":   func(c *Config) { c.OrdersPerSecond = -1 },
		"bad url":    func(c *Config) { c.APIURL = "ftp://x" },
	} {
		cfg := good
		mutate(&cfg)
		if _, err := New(cfg); !errors.Is(err, errors.ErrConfiguration) {
			t.Errorf("%s: %v, want ErrConfiguration", name, err)
		}
	}
	b, err := New(good)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"accounts": 2, "orders": 2, "market": 4}
	if got := b.Health(context.Background()).RateLimitRemaining; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("default rate-limit headroom = %v, want %v", got, want)
	}
}

func TestHostsAndAuthorizeURL(t *testing.T) {
	b, err := New(Config{ConsumerKey: "k1", ConsumerSecret: "s", AccountIDKey: "abc", Store: auth.NewMemoryStore(), Sandbox: true})
	if err != nil {
		t.Fatal(err)
	}
	if b.cfg.APIURL != SandboxURL || b.cfg.OAuthURL != ProductionURL {
		t.Errorf("sandbox: API %s, OAuth %s; want the sandbox for resources and production for OAuth", b.cfg.APIURL, b.cfg.OAuthURL)
	}
	got := b.AuthorizeURL(RequestToken{Token: "/iQRgQCRGPo7Xdk6G8QDSEzX0Jsy6sKNcULcDavAGgU="})
	want := "https://us.etrade.com/e/t/etws/authorize?key=k1&token=%2FiQRgQCRGPo7Xdk6G8QDSEzX0Jsy6sKNcULcDavAGgU%3D"
	if got != want {
		t.Errorf("AuthorizeURL = %s, want the docs' form %s", got, want)
	}
}

// TestRestoredTokenRenewedOnlyWhenIdle: a token restored from the store at
// start is not renewed on every start (it was); E*TRADE's verdict decides.
// Used at once it needs no renewal; restored after two idle hours, the
// first request is refused as inactive and renewed once, then succeeds.
func TestRestoredTokenRenewedOnlyWhenIdle(t *testing.T) {
	for _, tc := range []struct {
		name     string
		idle     time.Duration
		renewals int
	}{
		{"fresh", time.Minute, 0},
		{"idle", 3 * time.Hour, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := clocktest.NewAuto(etStart(t))
			e := newEnv(t, envOptions{clock: clock})
			clock.Advance(tc.idle)
			if _, err := e.b.Positions(t.Context()); err != nil {
				t.Fatal(err)
			}
			if got := e.srv.Calls(etradetest.OpRenew); got != tc.renewals {
				t.Errorf("%d renewals, want %d", got, tc.renewals)
			}
		})
	}
}
