package etrade

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/arbiontrader/arbion/auth"
	"github.com/arbiontrader/arbion/clock"
	"github.com/arbiontrader/arbion/etrade/etradetest"
	"github.com/shopspring/decimal"
)

// env is an adapter wired to an emulator.
type env struct {
	srv   *etradetest.Server
	b     *Broker
	store *auth.MemoryStore
}

type envOptions struct {
	server etradetest.Config
	clock  clock.Clock
	tune   func(*Config)
	login  bool // skip the token: the test logs in itself
}

// newEnv starts an emulator and an adapter logged in to it (through a token
// the emulator issued), with rate limits high enough for tests.
func newEnv(t testing.TB, o envOptions) *env {
	t.Helper()
	if o.clock != nil && o.server.Clock == nil {
		o.server.Clock = o.clock
	}
	srv, err := etradetest.New(o.server)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	store := auth.NewMemoryStore()
	cfg := Config{
		ConsumerKey: srv.ConsumerKey(), ConsumerSecret: srv.ConsumerSecret(), AccountIDKey: srv.AccountIDKey(),
		Store: store, APIURL: srv.URL(), OAuthURL: srv.URL(), AuthorizeURL: srv.URL() + "/e/t/etws/authorize",
		HTTPClient: srv.Client(), AccountsPerSecond: 1000, OrdersPerSecond: 1000, MarketPerSecond: 1000,
		Clock: o.clock,
	}
	if o.tune != nil {
		o.tune(&cfg)
	}
	if !o.login {
		tok, sec := srv.IssueAccessToken()
		exp, _ := srv.AccessTokenExpiry(tok)
		if err := store.Save(context.Background(), "etrade/"+cfg.AccountIDKey, auth.Token{AccessToken: tok, Secret: sec, Expiry: exp}); err != nil {
			t.Fatal(err)
		}
	}
	b, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &env{srv: srv, b: b, store: store}
}

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func id64(t testing.TB, s string) int64 {
	t.Helper()
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func quote(bid, ask, last string) etradetest.Quote {
	return etradetest.Quote{Bid: dec(bid), Ask: dec(ask), Last: dec(last), BidSize: 100, AskSize: 100, Description: "TEST"}
}
