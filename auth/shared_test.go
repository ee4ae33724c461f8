package auth_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/arbiontrader/arbion/auth"
	"github.com/arbiontrader/arbion/clock/clocktest"
	"github.com/arbiontrader/arbion/errors"
)

// errNotLeading is the error of a Leader that does not lead.
var errNotLeading = fmt.Errorf("lease held by replica b: %w", errors.ErrNotLeader)

// leadership is a Leader the test flips.
type leadership struct{ leads atomic.Bool }

func (l *leadership) Err() error {
	if l.leads.Load() {
		return nil
	}
	return errNotLeading
}

// sharedSource returns a Source on store (one of two "processes").
func sharedSource(t *testing.T, srv *authServer, store auth.TokenStore, now *clocktest.Fake, leader auth.Leader) *auth.Source {
	t.Helper()
	s, err := auth.NewSource(auth.SourceConfig{
		Broker: "coinbase", OAuth2: srv.oauth2Config(""), Store: store, StoreKey: "k",
		HTTPClient: srv.Client(), Clock: now, Leader: leader,
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// twoFileStores opens one token file twice, as two processes would.
func twoFileStores(t *testing.T) (*auth.FileStore, *auth.FileStore) {
	t.Helper()
	path, key := filepath.Join(t.TempDir(), "tokens.enc"), newKey(t)
	a, err := auth.NewFileStore(path, key)
	if err != nil {
		t.Fatal(err)
	}
	b, err := auth.NewFileStore(path, key)
	if err != nil {
		t.Fatal(err)
	}
	return a, b
}

// TestSharedLoginOneRefreshPerExpiry: two processes (two FileStores on one
// path, or one MemoryStore shared by two Sources) and many goroutines in
// each ask for a token at every expiry of a rotating refresh token that
// the server revokes on use: one refresh per expiry, every caller gets the
// same valid token, and the store keeps the refresh token the server
// still accepts.
func TestSharedLoginOneRefreshPerExpiry(t *testing.T) {
	tests := []struct {
		name   string
		stores func(t *testing.T) (auth.TokenStore, auth.TokenStore)
	}{
		{"two file stores on one path", func(t *testing.T) (auth.TokenStore, auth.TokenStore) { return twoFileStores(t) }},
		{"one memory store", func(t *testing.T) (auth.TokenStore, auth.TokenStore) {
			m := auth.NewMemoryStore()
			return m, m
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newAuthServer(t)
			srv.rotate = true
			srv.addRefreshToken("refresh-0")
			now := newNow(t0)
			storeA, storeB := tt.stores(t)
			ctx := context.Background()
			if err := storeA.Save(ctx, "k", auth.Token{AccessToken: "access-0", RefreshToken: "refresh-0", Expiry: t0}); err != nil {
				t.Fatal(err)
			}
			sources := []*auth.Source{sharedSource(t, srv, storeA, now, nil), sharedSource(t, srv, storeB, now, nil)}

			const rounds, perSource = 3, 25
			for round := 1; round <= rounds; round++ {
				var wg sync.WaitGroup
				start := make(chan struct{})
				got := make([]auth.Token, 2*perSource)
				errs := make([]error, 2*perSource)
				for i := range got {
					wg.Go(func() {
						<-start
						got[i], errs[i] = sources[i%2].Token(ctx)
					})
				}
				close(start)
				wg.Wait()
				if _, _, n := srv.counts(); n != round {
					t.Fatalf("round %d: %d refresh requests in all, want %d (one per expiry)", round, n, round)
				}
				for i := range got {
					if errs[i] != nil {
						t.Fatalf("round %d, caller %d: %v", round, i, errs[i])
					}
					if got[i].AccessToken != got[0].AccessToken || got[i].RefreshToken != got[0].RefreshToken {
						t.Fatalf("round %d: callers got different tokens", round)
					}
				}
				stored := mustLoad(t, storeB)
				if stored.AccessToken != got[0].AccessToken || !srv.valid(stored.RefreshToken) {
					t.Fatalf("round %d: the store does not hold the handed-out token with a live refresh token", round)
				}
				if !stored.ValidAt(now.Now(), auth.DefaultSkew) {
					t.Fatalf("round %d: stored token not valid", round)
				}
				now.Advance(time.Hour) // the access token (30 min) expires
			}
		})
	}
}

// TestFollowerNeverRefreshes: a Source that is not the leader re-reads the
// store and never calls the token endpoint; with the stored token expired
// too it fails closed with ErrTokenExpired (wrapping the leader's error).
// When leadership moves, the new leader refreshes from the stored token.
func TestFollowerNeverRefreshes(t *testing.T) {
	srv := newAuthServer(t)
	srv.rotate = true
	srv.addRefreshToken("refresh-0")
	now := newNow(t0)
	storeA, storeB := twoFileStores(t)
	ctx := context.Background()
	storeA.Save(ctx, "k", auth.Token{AccessToken: "access-0", RefreshToken: "refresh-0", Expiry: t0.Add(30 * time.Minute)})
	var leadA, leadB leadership
	leadA.leads.Store(true)
	a, b := sharedSource(t, srv, storeA, now, &leadA), sharedSource(t, srv, storeB, now, &leadB)

	type step struct {
		name      string
		advance   time.Duration
		do        func() (auth.Token, error)
		wantErr   errors.Kind
		refreshes int    // refresh requests so far
		sameAs    string // the access token expected: "" none
	}
	var current string
	steps := []step{
		{name: "follower, token valid", do: func() (auth.Token, error) { return b.Token(ctx) }, sameAs: "access-0"},
		{name: "follower, token expired", advance: 30 * time.Minute, do: func() (auth.Token, error) { return b.Token(ctx) },
			wantErr: errors.ErrTokenExpired},
		{name: "follower again: no refresh either", do: func() (auth.Token, error) { return b.Token(ctx) }, wantErr: errors.ErrTokenExpired},
		{name: "leader refreshes", do: func() (auth.Token, error) { return a.Token(ctx) }, refreshes: 1},
		{name: "follower reads the leader's token", do: func() (auth.Token, error) { return b.Token(ctx) }, refreshes: 1, sameAs: "current"},
		{name: "follower told of a 401 cannot refresh", do: func() (auth.Token, error) {
			tok, _ := b.Token(ctx)
			b.Invalidate(ctx, tok.AccessToken)
			return b.Token(ctx)
		}, refreshes: 1, wantErr: errors.ErrTokenExpired},
		{name: "leadership moves to b; b refreshes from the stored rotated token", advance: time.Hour, do: func() (auth.Token, error) {
			leadA.leads.Store(false)
			leadB.leads.Store(true)
			return b.Token(ctx)
		}, refreshes: 2},
		{name: "a, now a follower, reads b's token", do: func() (auth.Token, error) { return a.Token(ctx) }, refreshes: 2, sameAs: "current"},
	}
	for _, st := range steps {
		now.Advance(st.advance)
		tok, err := st.do()
		if got := errors.KindOf(err); got != st.wantErr {
			t.Fatalf("%s: err = %v, want kind %q", st.name, err, st.wantErr)
		}
		if st.wantErr == errors.ErrTokenExpired && !errors.Is(err, errors.ErrNotLeader) {
			t.Errorf("%s: err %v does not wrap the leader's ErrNotLeader", st.name, err)
		}
		if _, _, n := srv.counts(); n != st.refreshes {
			t.Fatalf("%s: refresh requests = %d, want %d", st.name, n, st.refreshes)
		}
		switch st.sameAs {
		case "":
		case "current":
			if tok.AccessToken != current {
				t.Errorf("%s: got another token than the leader's", st.name)
			}
		default:
			if tok.AccessToken != st.sameAs {
				t.Errorf("%s: got another token than %s", st.name, st.sameAs)
			}
		}
		if err == nil && st.sameAs == "" {
			current = tok.AccessToken
		}
	}
}

// racingStore is a store without a refresh lock on which another process
// saves its own refreshed token just before this one's compare-and-swap.
type racingStore struct {
	*auth.MemoryStore
	winner auth.Token
	once   sync.Once
}

func (s *racingStore) CompareAndSwap(ctx context.Context, key string, old auth.Fingerprint, tok auth.Token) error {
	s.once.Do(func() { s.MemoryStore.Save(ctx, key, s.winner) })
	return s.MemoryStore.CompareAndSwap(ctx, key, old, tok)
}

// noLock hides a store's RefreshLocker, as a host store might not have one.
type noLock struct{ auth.SwapStore }

// TestSourceLostRaceUsesWinner: without a refresh lock, two processes can
// both refresh; the one whose compare-and-swap loses, or whose refresh is
// refused because the other rotated the refresh token first, uses the
// token the other stored and does not refresh again.
func TestSourceLostRaceUsesWinner(t *testing.T) {
	winner := auth.Token{AccessToken: "access-winner", RefreshToken: "refresh-winner", Expiry: t0.Add(time.Hour)}
	tests := []struct {
		name  string
		setup func(srv *authServer, mem *auth.MemoryStore) auth.TokenStore
	}{
		{"compare-and-swap lost", func(srv *authServer, mem *auth.MemoryStore) auth.TokenStore {
			return noLock{&racingStore{MemoryStore: mem, winner: winner}}
		}},
		{"refresh refused: the other process rotated first", func(srv *authServer, mem *auth.MemoryStore) auth.TokenStore {
			srv.beforeRefresh = func(rt string) { // the other process used rt and saved its successor
				delete(srv.refresh, rt)
				srv.refresh[winner.RefreshToken] = true
				mem.Save(context.Background(), "k", winner)
			}
			return noLock{mem}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newAuthServer(t)
			srv.rotate = true
			srv.addRefreshToken("refresh-0")
			mem := auth.NewMemoryStore()
			mem.Save(context.Background(), "k", auth.Token{AccessToken: "access-0", RefreshToken: "refresh-0", Expiry: t0})
			store := tt.setup(srv, mem)
			s := sharedSource(t, srv, store, newNow(t0), nil)
			for i := range 3 {
				tok, err := s.Token(context.Background())
				if err != nil {
					t.Fatalf("call %d: %v", i, err)
				}
				if tok.AccessToken != winner.AccessToken || tok.RefreshToken != winner.RefreshToken {
					t.Fatalf("call %d: got another token than the winner's", i)
				}
			}
			if _, _, n := srv.counts(); n != 1 {
				t.Errorf("refresh requests = %d, want 1 (the loser does not refresh again)", n)
			}
			if got := mustLoad(t, mem); got.AccessToken != winner.AccessToken {
				t.Error("the loser overwrote the winner's token")
			}
		})
	}
}

// TestCompareAndSwap: both stores save only over the fingerprint they are
// given, and a lost race is a *StoreError matching ErrStaleVersion.
func TestCompareAndSwap(t *testing.T) {
	file, _ := twoFileStores(t)
	for name, store := range map[string]auth.SwapStore{"memory": auth.NewMemoryStore(), "file": file} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			one, two := auth.Token{AccessToken: "a1", RefreshToken: "r1"}, auth.Token{AccessToken: "a2", RefreshToken: "r2"}
			steps := []struct {
				name  string
				old   auth.Fingerprint
				tok   auth.Token
				stale bool
			}{
				{"create over nothing", auth.Fingerprint{}, one, false},
				{"create again: lost", auth.Fingerprint{}, two, true},
				{"over a stale token: lost", auth.FingerprintOf(two), two, true},
				{"over the stored token", auth.FingerprintOf(one), two, false},
				{"over the replaced one: lost", auth.FingerprintOf(one), one, true},
			}
			want := auth.Token{}
			for _, st := range steps {
				err := store.CompareAndSwap(ctx, "k", st.old, st.tok)
				if st.stale {
					var se *auth.StoreError
					if !errors.Is(err, errors.ErrStaleVersion) || !errors.As(err, &se) || se.Key != "k" {
						t.Errorf("%s: err = %v, want a *StoreError matching ErrStaleVersion", st.name, err)
					}
				} else if err != nil {
					t.Errorf("%s: %v", st.name, err)
				} else {
					want = st.tok
				}
				if got, _ := store.Load(ctx, "k"); got.AccessToken != want.AccessToken {
					t.Errorf("%s: stored %q, want %q", st.name, got.AccessToken, want.AccessToken)
				}
			}
		})
	}
}

// TestFileStoreConcurrentProcesses: writers in two "processes" (two
// FileStores on one path) lose no update (each read-modify-write holds the
// file lock) and readers never see a torn or half-written file.
func TestFileStoreConcurrentProcesses(t *testing.T) {
	a, b := twoFileStores(t)
	ctx := context.Background()
	const writers = 20
	var wg sync.WaitGroup
	stop := make(chan struct{})
	var readErr atomic.Value
	for _, store := range []*auth.FileStore{a, b} {
		wg.Go(func() { // a reader
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := store.Load(ctx, "w0"); err != nil && !errors.Is(err, auth.ErrNoToken) {
					readErr.Store(err)
					return
				}
			}
		})
	}
	var writes sync.WaitGroup
	for i := range writers {
		store := []*auth.FileStore{a, b}[i%2]
		writes.Go(func() {
			if err := store.Save(ctx, fmt.Sprintf("w%d", i), auth.Token{AccessToken: fmt.Sprintf("a%d", i)}); err != nil {
				t.Error(err)
			}
		})
	}
	writes.Wait()
	close(stop)
	wg.Wait()
	if err, _ := readErr.Load().(error); err != nil {
		t.Fatalf("a concurrent read failed: %v", err)
	}
	for i := range writers {
		got, err := a.Load(ctx, fmt.Sprintf("w%d", i))
		if err != nil || got.AccessToken != fmt.Sprintf("a%d", i) {
			t.Errorf("key w%d lost: %v, %v", i, got.AccessToken, err)
		}
	}
}
