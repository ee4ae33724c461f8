package auth_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/arbiontrader/arbion/auth"
	"github.com/arbiontrader/arbion/clock/clocktest"
	"github.com/arbiontrader/arbion/errors"
	"golang.org/x/oauth2"
)

// newNow returns a clock the test moves.
func newNow(t time.Time) *clocktest.Fake { return clocktest.New(t) }

// newSource returns a Source on srv whose store holds tok.
func newSource(t *testing.T, srv *authServer, store auth.TokenStore, tok auth.Token, now *clocktest.Fake, lifetime time.Duration) *auth.Source {
	t.Helper()
	if err := store.Save(context.Background(), "k", tok); err != nil {
		t.Fatal(err)
	}
	s, err := auth.NewSource(auth.SourceConfig{
		Broker: "testbroker", OAuth2: srv.oauth2Config("http://127.0.0.1/cb"), Store: store, StoreKey: "k",
		HTTPClient: srv.Client(), Clock: now, RefreshLifetime: lifetime,
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSourceRefreshPersisted(t *testing.T) {
	srv := newAuthServer(t)
	srv.addRefreshToken("refresh-0")
	now := newNow(t0)
	store := auth.NewMemoryStore()
	login := auth.Token{AccessToken: "access-0", RefreshToken: "refresh-0", Expiry: t0.Add(30 * time.Minute),
		RefreshExpiry: t0.Add(7 * 24 * time.Hour)}
	s := newSource(t, srv, store, login, now, 0)
	ctx := context.Background()

	// Fresh: no refresh.
	if tok, err := s.Token(ctx); err != nil || tok.AccessToken != "access-0" {
		t.Fatalf("Token = %v, %v", tok, err)
	}
	// Within the skew (default 1 min) of expiry: refreshed.
	now.Advance(29*time.Minute + 30*time.Second)
	tok, err := s.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, refreshes := srv.counts(); refreshes != 1 {
		t.Fatalf("refreshes = %d, want 1", refreshes)
	}
	if tok.AccessToken == "access-0" || tok.RefreshToken != "refresh-0" {
		t.Errorf("refreshed token = %v; want a new access token and the kept refresh token", tok)
	}
	if !tok.Expiry.Equal(now.Now().Add(30 * time.Minute)) {
		t.Errorf("Expiry = %v, want now+30m on the injected clock", tok.Expiry)
	}
	if !tok.RefreshExpiry.Equal(login.RefreshExpiry) {
		t.Errorf("RefreshExpiry = %v, want the login's %v (not renewed by refreshing)", tok.RefreshExpiry, login.RefreshExpiry)
	}
	saved, _ := store.Load(ctx, "k")
	if saved.AccessToken != tok.AccessToken || !saved.RefreshExpiry.Equal(login.RefreshExpiry) {
		t.Errorf("stored = %v; want the refreshed token", saved)
	}
}

func TestSourceSingleFlight(t *testing.T) {
	srv := newAuthServer(t)
	srv.addRefreshToken("refresh-0")
	now := newNow(t0)
	s := newSource(t, srv, auth.NewMemoryStore(), auth.Token{AccessToken: "old", RefreshToken: "refresh-0",
		Expiry: t0.Add(-time.Minute)}, now, 0)

	const n = 1000
	var wg sync.WaitGroup
	start := make(chan struct{})
	tokens := make([]string, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			tok, err := s.Token(context.Background())
			tokens[i], errs[i] = tok.AccessToken, err
		}()
	}
	close(start)
	wg.Wait()
	if _, _, refreshes := srv.counts(); refreshes != 1 {
		t.Errorf("%d goroutines made %d refresh requests, want 1", n, refreshes)
	}
	for i := range n {
		if errs[i] != nil || tokens[i] != tokens[0] || tokens[0] == "old" {
			t.Fatalf("goroutine %d got %q, %v; want the one refreshed token %q", i, tokens[i], errs[i], tokens[0])
		}
	}
}

func TestSourceRotatingRefreshToken(t *testing.T) {
	srv := newAuthServer(t)
	srv.rotate = true
	srv.addRefreshToken("refresh-0")
	now := newNow(t0)
	store := auth.NewMemoryStore()
	s := newSource(t, srv, store, auth.Token{AccessToken: "a", RefreshToken: "refresh-0", Expiry: t0}, now, 0)
	ctx := context.Background()
	var seen []string
	for range 3 {
		tok, err := s.Token(ctx)
		if err != nil {
			t.Fatalf("refresh %d: %v", len(seen)+1, err)
		}
		saved, _ := store.Load(ctx, "k")
		if saved.RefreshToken != tok.RefreshToken {
			t.Fatalf("returned refresh token %q not persisted (store has %q)", tok.RefreshToken, saved.RefreshToken)
		}
		seen = append(seen, tok.RefreshToken)
		now.Advance(time.Hour) // expire the access token
	}
	if seen[0] == "refresh-0" || seen[0] == seen[1] || seen[1] == seen[2] {
		t.Errorf("refresh tokens did not rotate: %v", seen)
	}
	// A second process starting from the store continues with the newest one.
	s2 := newSource(t, srv, store, mustLoad(t, store), now, 0)
	if _, err := s2.Token(ctx); err != nil {
		t.Errorf("refresh from the persisted rotated token: %v", err)
	}
}

func mustLoad(t *testing.T, store auth.TokenStore) auth.Token {
	t.Helper()
	tok, err := store.Load(context.Background(), "k")
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestSourceLoginAgain(t *testing.T) {
	tests := []struct {
		name         string
		tok          auth.Token
		refreshFail  int
		lifetime     time.Duration
		advance      time.Duration
		wantKind     errors.Kind
		wantRequests int
	}{
		{name: "refresh token lifetime over", tok: auth.Token{AccessToken: "a", RefreshToken: "refresh-0", Expiry: t0.Add(-time.Second),
			RefreshExpiry: t0}, wantKind: errors.ErrTokenExpired},
		{name: "lifetime from config, counted from first use", tok: auth.Token{AccessToken: "a", RefreshToken: "refresh-0", Expiry: t0.Add(time.Hour)},
			lifetime: 7 * 24 * time.Hour, advance: 7 * 24 * time.Hour, wantKind: errors.ErrTokenExpired},
		{name: "invalid_grant", tok: auth.Token{AccessToken: "a", RefreshToken: "revoked", Expiry: t0}, wantKind: errors.ErrTokenExpired, wantRequests: 1},
		{name: "400", tok: auth.Token{AccessToken: "a", RefreshToken: "refresh-0", Expiry: t0}, refreshFail: 400, wantKind: errors.ErrTokenExpired, wantRequests: 1},
		{name: "401", tok: auth.Token{AccessToken: "a", RefreshToken: "refresh-0", Expiry: t0}, refreshFail: 401, wantKind: errors.ErrTokenExpired, wantRequests: 1},
		{name: "no refresh token", tok: auth.Token{AccessToken: "a", Expiry: t0}, wantKind: errors.ErrTokenExpired},
		{name: "500 is not a dead login", tok: auth.Token{AccessToken: "a", RefreshToken: "refresh-0", Expiry: t0}, refreshFail: 500,
			wantKind: errors.ErrBrokerUnavailable, wantRequests: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newAuthServer(t)
			srv.addRefreshToken("refresh-0")
			srv.refreshFail = tt.refreshFail
			now := newNow(t0)
			s := newSource(t, srv, auth.NewMemoryStore(), tt.tok, now, tt.lifetime)
			if tt.advance > 0 {
				if _, err := s.Token(context.Background()); err != nil { // first use starts the lifetime
					t.Fatal(err)
				}
				now.Advance(tt.advance)
			}
			_, err := s.Token(context.Background())
			if got := errors.KindOf(err); got != tt.wantKind {
				t.Fatalf("kind = %q, want %q (err %v)", got, tt.wantKind, err)
			}
			if tt.wantKind == errors.ErrTokenExpired && !strings.Contains(err.Error(), "log in again") {
				t.Errorf("error %q does not say to log in again", err)
			}
			if _, _, n := srv.counts(); n != tt.wantRequests {
				t.Errorf("refresh requests = %d, want %d", n, tt.wantRequests)
			}
		})
	}
}

func TestSourceNoToken(t *testing.T) {
	srv := newAuthServer(t)
	s, err := auth.NewSource(auth.SourceConfig{OAuth2: srv.oauth2Config("http://127.0.0.1/cb"), Store: auth.NewMemoryStore(), StoreKey: "k"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Token(context.Background())
	if !errors.Is(err, auth.ErrNoToken) || !errors.Is(err, errors.ErrUnauthenticated) {
		t.Errorf("err = %v, want ErrNoToken matching ErrUnauthenticated", err)
	}
}

// flakyStore fails its next Save (or CompareAndSwap) when failSave is set.
type flakyStore struct {
	*auth.MemoryStore
	failSave atomic.Bool
}

func (s *flakyStore) Save(ctx context.Context, key string, tok auth.Token) error {
	if s.failSave.Swap(false) {
		return fmt.Errorf("disk full")
	}
	return s.MemoryStore.Save(ctx, key, tok)
}

func (s *flakyStore) CompareAndSwap(ctx context.Context, key string, old auth.Fingerprint, tok auth.Token) error {
	if s.failSave.Swap(false) {
		return fmt.Errorf("disk full")
	}
	return s.MemoryStore.CompareAndSwap(ctx, key, old, tok)
}

func TestSourceSaveFailureKeepsRotatedToken(t *testing.T) {
	srv := newAuthServer(t)
	srv.rotate = true
	srv.addRefreshToken("refresh-0")
	now := newNow(t0)
	store := &flakyStore{MemoryStore: auth.NewMemoryStore()}
	s := newSource(t, srv, store, auth.Token{AccessToken: "a", RefreshToken: "refresh-0", Expiry: t0}, now, 0)
	store.failSave.Store(true)
	if _, err := s.Token(context.Background()); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("err = %v, want the save failure", err)
	}
	// The next call saves the rotated token before handing it out, without
	// a second refresh (the old refresh token is revoked).
	tok, err := s.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if saved := mustLoad(t, store); saved.RefreshToken != tok.RefreshToken || tok.RefreshToken == "refresh-0" {
		t.Errorf("stored %q, returned %q", saved.RefreshToken, tok.RefreshToken)
	}
	if _, _, n := srv.counts(); n != 1 {
		t.Errorf("refreshes = %d, want 1", n)
	}
}

func TestSourceAuthorize(t *testing.T) {
	srv := newAuthServer(t)
	s := newSource(t, srv, auth.NewMemoryStore(), auth.Token{AccessToken: "acc", Expiry: t0.Add(time.Hour)}, newNow(t0), 0)
	req, _ := http.NewRequest("GET", "http://broker/x", nil)
	if err := s.Authorize(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	if got := req.Header.Get("Authorization"); got != "Bearer acc" {
		t.Errorf("Authorization = %q", got)
	}
	access, refresh, err := s.Expiry(context.Background())
	if err != nil || !access.Equal(t0.Add(time.Hour)) || !refresh.IsZero() {
		t.Errorf("Expiry = %v, %v, %v", access, refresh, err)
	}
}

func TestSourceWaitHonoursContext(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"access_token":"new","token_type":"Bearer","expires_in":1800}`)
	}))
	defer slow.Close()
	store := auth.NewMemoryStore()
	store.Save(context.Background(), "k", auth.Token{AccessToken: "old", RefreshToken: "r", Expiry: t0})
	s, err := auth.NewSource(auth.SourceConfig{
		OAuth2: &oauth2.Config{ClientID: "id", Endpoint: oauth2.Endpoint{TokenURL: slow.URL}},
		Store:  store, StoreKey: "k", HTTPClient: slow.Client(), Clock: newNow(t0),
	})
	if err != nil {
		t.Fatal(err)
	}
	refreshed := make(chan error, 1)
	go func() { _, err := s.Token(context.Background()); refreshed <- err }()
	<-entered // the first caller holds the refresh

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Token(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("waiting caller with a cancelled context: err = %v, want context.Canceled", err)
	}
	close(release)
	if err := <-refreshed; err != nil {
		t.Errorf("refresh: %v", err)
	}
}

func TestNewSourceValidates(t *testing.T) {
	srv := newAuthServer(t)
	for _, cfg := range []auth.SourceConfig{
		{Store: auth.NewMemoryStore(), StoreKey: "k"},
		{OAuth2: srv.oauth2Config(""), StoreKey: "k"},
		{OAuth2: srv.oauth2Config(""), Store: auth.NewMemoryStore()},
		{OAuth2: srv.oauth2Config(""), Store: auth.NewMemoryStore(), StoreKey: "k", Skew: -1},
	} {
		if _, err := auth.NewSource(cfg); !errors.Is(err, errors.ErrConfiguration) {
			t.Errorf("NewSource(%v) err = %v, want configuration error", cfg, err)
		}
	}
}

// TestSourceRefusedRefreshNotResent: after invalid_grant the dead refresh
// token is not sent again; a new login in the store is picked up.
func TestSourceRefusedRefreshNotResent(t *testing.T) {
	srv := newAuthServer(t)
	store := auth.NewMemoryStore()
	s := newSource(t, srv, store, auth.Token{AccessToken: "a", RefreshToken: "revoked", Expiry: t0}, newNow(t0), 0)
	ctx := context.Background()
	for range 3 {
		if _, err := s.Token(ctx); !errors.Is(err, errors.ErrTokenExpired) {
			t.Fatalf("err = %v, want token expired", err)
		}
	}
	if _, _, n := srv.counts(); n != 1 {
		t.Errorf("refresh requests = %d, want 1", n)
	}
	store.Save(ctx, "k", auth.Token{AccessToken: "after-login", Expiry: t0.Add(time.Hour)})
	if tok, err := s.Token(ctx); err != nil || tok.AccessToken != "after-login" {
		t.Errorf("after a new login: %v, %v", tok, err)
	}
}

// TestSourceInvalidateForcesOneRefresh: a broker's 401 to a token that has
// not expired by the clock makes the adapter invalidate it; many callers
// invalidating the same token cause one refresh, and an old token's
// invalidation changes nothing.
func TestSourceInvalidateForcesOneRefresh(t *testing.T) {
	srv := newAuthServer(t)
	srv.addRefreshToken("refresh-0")
	now := newNow(t0)
	s := newSource(t, srv, auth.NewMemoryStore(), auth.Token{AccessToken: "access-0", RefreshToken: "refresh-0",
		Expiry: t0.Add(30 * time.Minute)}, now, 0)
	ctx := context.Background()
	if _, err := s.Token(ctx); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			if err := s.Invalidate(ctx, "access-0"); err != nil {
				t.Error(err)
			}
			if _, err := s.Token(ctx); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if _, _, refreshes := srv.counts(); refreshes != 1 {
		t.Fatalf("refreshes after 50 invalidations of one token = %d, want 1", refreshes)
	}
	tok, _ := s.Token(ctx)
	if tok.AccessToken == "access-0" {
		t.Fatal("the invalidated token is still handed out")
	}
	if err := s.Invalidate(ctx, "access-0"); err != nil { // the old one again
		t.Fatal(err)
	}
	if again, _ := s.Token(ctx); again.AccessToken != tok.AccessToken {
		t.Errorf("invalidating an old token replaced the current one")
	}
	if _, _, refreshes := srv.counts(); refreshes != 1 {
		t.Errorf("refreshes = %d, want still 1", refreshes)
	}
}
