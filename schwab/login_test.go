package schwab

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arbiontrader/arbion/auth"
	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/schwab/schwabtest"
)

// TestLoginFlowEndToEnd logs in against the emulator through the auth
// package: PKCE verified by the emulator, a wrong state refused, tokens
// persisted encrypted, and a refresh persisted too.
func TestLoginFlowEndToEnd(t *testing.T) {
	clock := schwabtest.NewFakeClock(testStart)
	emu := schwabtest.New(schwabtest.Config{Clock: clock})
	defer emu.Close()
	ctx := context.Background()
	key := bytes.Repeat([]byte{7}, auth.KeySize)
	path := filepath.Join(t.TempDir(), "tokens.enc")
	store, err := auth.NewFileStore(path, key)
	if err != nil {
		t.Fatal(err)
	}
	oc := OAuth2Config(emu.AppKey(), emu.AppSecret(), emu.RedirectURI(), emu.URL())
	newFlow := func() *auth.Flow {
		f, err := auth.NewFlow(auth.LoginConfig{Broker: Name, OAuth2: oc, Store: store, StoreKey: "schwab",
			HTTPClient: emu.Client(), RefreshLifetime: RefreshLifetime, Now: clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		return f
	}

	// A callback carrying another login's state is refused before any
	// token request.
	other, victim := newFlow(), newFlow()
	cb, err := emu.ApproveLogin(other.AuthURL())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := victim.Complete(ctx, cb); !errors.Is(err, errors.ErrUnauthenticated) || !strings.Contains(err.Error(), "state") {
		t.Fatalf("wrong state: %v", err)
	}
	if n, _ := emu.TokenRequests("authorization_code"); n != 0 {
		t.Fatalf("a refused callback made %d token requests", n)
	}

	// The real login: the authorize request carries an S256 challenge and
	// the emulator checks the verifier against it.
	flow := newFlow()
	authURL, _ := url.Parse(flow.AuthURL())
	if q := authURL.Query(); q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || q.Get("state") == "" {
		t.Fatalf("authorize URL lacks PKCE or state: %v", q)
	}
	cb, err = emu.ApproveLogin(flow.AuthURL())
	if err != nil {
		t.Fatal(err)
	}
	tok, err := flow.Complete(ctx, cb)
	if err != nil {
		t.Fatal(err)
	}
	if total, refused := emu.TokenRequests("authorization_code"); total != 1 || refused != 0 {
		t.Fatalf("code grant: %d requests, %d refused", total, refused)
	}
	if !tok.Expiry.Equal(testStart.Add(30*time.Minute)) || !tok.RefreshExpiry.Equal(testStart.Add(RefreshLifetime)) {
		t.Errorf("expiry %s, login expiry %s", tok.Expiry, tok.RefreshExpiry)
	}
	// A tampered verifier would have been refused: replaying the code fails.
	if _, err := flow.Complete(ctx, cb); err == nil {
		t.Error("a login completed twice")
	}

	// Encrypted at rest: no token in the file; another key cannot read it.
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte(tok.AccessToken)) || bytes.Contains(raw, []byte(tok.RefreshToken)) {
		t.Fatal("token file holds a token in plaintext")
	}
	wrong, _ := auth.NewFileStore(path, bytes.Repeat([]byte{8}, auth.KeySize))
	if _, err := wrong.Load(ctx, "schwab"); !errors.Is(err, errors.ErrDecrypt) {
		t.Errorf("load with the wrong key: %v", err)
	}

	// The adapter uses the stored token, refreshes it once it expires, and
	// the refreshed token is in the file.
	src, err := auth.NewSource(auth.SourceConfig{Broker: Name, OAuth2: oc, Store: store, StoreKey: "schwab",
		HTTPClient: emu.Client(), Now: clock.Now, RefreshLifetime: RefreshLifetime})
	if err != nil {
		t.Fatal(err)
	}
	b, err := New(Config{AccountNumber: "12345678", Tokens: src, BaseURL: emu.URL(), HTTPClient: emu.Client(), Clock: clock,
		RequestsPerMinute: -1}) // the limiter would wait on the manual clock
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Account(ctx); err != nil {
		t.Fatal(err)
	}
	clock.Advance(31 * time.Minute)
	if _, err := b.Account(ctx); err != nil {
		t.Fatal(err)
	}
	reread, _ := auth.NewFileStore(path, key)
	stored, err := reread.Load(ctx, "schwab")
	if err != nil {
		t.Fatal(err)
	}
	if stored.AccessToken == tok.AccessToken || !stored.Expiry.Equal(clock.Now().Add(30*time.Minute)) ||
		!stored.RefreshExpiry.Equal(tok.RefreshExpiry) {
		t.Errorf("refreshed token not persisted: expiry %s login expiry %s", stored.Expiry, stored.RefreshExpiry)
	}
	if n, _ := emu.TokenRequests("refresh_token"); n != 1 {
		t.Errorf("%d refresh requests, want 1", n)
	}

	// Seven days after the login the refresh token is dead: log in again.
	clock.Advance(RefreshLifetime)
	_, err = b.Account(ctx)
	if !errors.Is(err, errors.ErrTokenExpired) || !strings.Contains(err.Error(), "log in again") {
		t.Errorf("after 7 days: %v", err)
	}
	if h := b.Health(ctx); h.Authenticated {
		t.Error("Health reports authenticated after the login expired")
	}
}

func TestOneRefreshForThousandGoroutines(t *testing.T) {
	r := newRig(t, schwabtest.Config{}, func(c *Config) {
		c.RequestsPerMinute = -1
		// Reuse a bounded set of connections: the point is the token
		// source, not 1000 TCP handshakes.
		tr := c.HTTPClient.Transport.(*http.Transport).Clone()
		tr.MaxConnsPerHost, tr.MaxIdleConnsPerHost = 32, 32
		c.HTTPClient = &http.Client{Transport: tr}
	})
	ctx := context.Background()
	if _, err := r.b.Account(ctx); err != nil { // hash looked up; token valid
		t.Fatal(err)
	}
	r.clock.Advance(31 * time.Minute) // the access token has expired
	var wg sync.WaitGroup
	errs := make(chan error, 1000)
	for range 1000 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := r.b.Account(ctx); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("a goroutine failed: %v", err)
	}
	if total, refused := r.emu.TokenRequests("refresh_token"); total != 1 || refused != 0 {
		t.Errorf("refresh requests at the emulator: %d (%d refused), want exactly 1", total, refused)
	}
}

// TestRevokedTokenRefreshedOnceForReads: a 401 to an access token that has
// not expired by the clock (revoked at Schwab) makes a read refresh the token
// once and try again; a write refused with 401 is returned, never resent.
func TestRevokedTokenRefreshedOnceForReads(t *testing.T) {
	r := newRig(t, schwabtest.Config{}, func(c *Config) { c.RequestsPerMinute = -1 })
	ctx := context.Background()
	if _, err := r.b.Account(ctx); err != nil {
		t.Fatal(err)
	}
	r.emu.RevokeAccessTokens()
	if _, err := r.b.Positions(ctx); err != nil {
		t.Fatalf("read after revocation: %v, want success after one refresh", err)
	}
	if total, _ := r.emu.TokenRequests("refresh_token"); total != 1 {
		t.Fatalf("refresh requests = %d, want 1", total)
	}

	r.emu.RevokeAccessTokens()
	before := len(r.emu.Orders())
	_, err := r.b.PlaceOrder(ctx, limitBuy("AAPL", 1, "100.00"))
	if !errors.Is(err, errors.ErrUnauthenticated) {
		t.Fatalf("place with a revoked token: %v, want ErrUnauthenticated", err)
	}
	if got := len(r.emu.Orders()); got != before {
		t.Fatalf("orders at the emulator went from %d to %d", before, got)
	}
	if total, _ := r.emu.TokenRequests("refresh_token"); total != 1 {
		t.Fatalf("a refused write refreshed the token: %d refreshes", total)
	}
}
