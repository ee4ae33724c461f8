package restart_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/arbiontrader/arbion/auth"
	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/clock"
	"github.com/arbiontrader/arbion/clock/clocktest"
	"github.com/arbiontrader/arbion/coinbase"
	"github.com/arbiontrader/arbion/coinbase/coinbasetest"
	"github.com/arbiontrader/arbion/etrade"
	"github.com/arbiontrader/arbion/etrade/etradetest"
	"github.com/arbiontrader/arbion/schwab"
	"github.com/arbiontrader/arbion/schwab/schwabtest"
	"github.com/shopspring/decimal"
)

// equity is what the equity rigs trade.
type equity struct{}

func (equity) instrument() broker.Instrument {
	return broker.Instrument{Symbol: "AAPL", AssetClass: broker.Equity}
}
func (equity) quantity() decimal.Decimal   { return decimal.NewFromInt(10) }
func (equity) limitPrice() decimal.Decimal { return decimal.RequireFromString("99.50") }

// snapshots reads every order the emulator holds through a fresh adapter.
func snapshots(t *testing.T, b broker.Broker, ids []string) []broker.Order {
	t.Helper()
	var out []broker.Order
	for _, id := range ids {
		o, err := b.GetOrder(t.Context(), id)
		if err != nil {
			t.Fatalf("GetOrder(%s): %v", id, err)
		}
		out = append(out, o)
	}
	return out
}

// schwabRig: one emulated account; each process logs in anew.
type schwabRig struct {
	equity
	clk *clocktest.Fake
	emu *schwabtest.Server
}

const schwabAccount = "12345678"

func newSchwabRig(t *testing.T) rig {
	clk := clocktest.New(start)
	clk.SetAutoAdvance(true) // the adapter's rate limiters wait on it
	emu := schwabtest.New(schwabtest.Config{Clock: clk,
		Accounts: []schwabtest.Account{{Number: schwabAccount, Cash: decimal.NewFromInt(1_000_000)}}})
	t.Cleanup(emu.Close)
	emu.SetQuote("AAPL", schwabtest.QuoteValue{Bid: decimal.NewFromInt(100), Ask: decimal.NewFromInt(100),
		Last: decimal.NewFromInt(100)})
	return &schwabRig{clk: clk, emu: emu}
}

func (r *schwabRig) connect(t *testing.T) broker.Broker {
	store := auth.NewMemoryStore()
	tok := r.emu.IssueTokens()
	if err := store.Save(context.Background(), "schwab", auth.Token{AccessToken: tok.AccessToken,
		RefreshToken: tok.RefreshToken, Expiry: tok.Expiry, RefreshExpiry: tok.RefreshExpiry}); err != nil {
		t.Fatal(err)
	}
	src, err := auth.NewSource(auth.SourceConfig{Broker: schwab.Name,
		OAuth2: schwab.OAuth2Config(r.emu.AppKey(), r.emu.AppSecret(), r.emu.RedirectURI(), r.emu.URL()),
		Store:  store, StoreKey: "schwab", HTTPClient: r.emu.Client(), Clock: r.clk,
		RefreshLifetime: schwab.RefreshLifetime})
	if err != nil {
		t.Fatal(err)
	}
	b, err := schwab.New(schwab.Config{AccountNumber: schwabAccount, Tokens: src, BaseURL: r.emu.URL(),
		HTTPClient: r.emu.Client(), Clock: r.clk})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (r *schwabRig) fill(t *testing.T, id string, qty, px decimal.Decimal) {
	if err := r.emu.Fill(id, qty, px); err != nil {
		t.Fatal(err)
	}
}

func (r *schwabRig) orders(t *testing.T) []broker.Order {
	var ids []string
	for _, o := range r.emu.Orders() {
		ids = append(ids, o.ID)
	}
	return snapshots(t, r.connect(t), ids)
}

func (r *schwabRig) clock() clock.Clock      { return r.clk }
func (r *schwabRig) advance(d time.Duration) { r.clk.Advance(d) }

func TestRestartMatrixSchwab(t *testing.T) { runMatrix(t, "schwab", newSchwabRig) }

// coinbaseRig: one emulated portfolio and API key.
type coinbaseRig struct {
	clk *clocktest.Fake
	srv *coinbasetest.Server
	key coinbasetest.TestKey
}

func newCoinbaseRig(t *testing.T) rig {
	clk := clocktest.NewAuto(start)
	srv := coinbasetest.NewServer(coinbasetest.Config{Clock: clk})
	t.Cleanup(srv.Close)
	key, err := coinbasetest.NewES256Key("organizations/org-1/apiKeys/key-1")
	if err != nil {
		t.Fatal(err)
	}
	srv.RegisterKey(key)
	return &coinbaseRig{clk: clk, srv: srv, key: key}
}

func (r *coinbaseRig) connect(t *testing.T) broker.Broker {
	b, err := coinbase.New(coinbase.Config{Credentials: coinbase.Credentials{KeyName: r.key.Name, PrivateKey: r.key.Secret},
		BaseURL: r.srv.URL(), HTTPClient: r.srv.Client(), Clock: r.clk})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (r *coinbaseRig) fill(t *testing.T, id string, qty, px decimal.Decimal) {
	if err := r.srv.Fill(id, qty, px); err != nil {
		t.Fatal(err)
	}
}

func (r *coinbaseRig) orders(t *testing.T) []broker.Order {
	var ids []string
	for _, o := range r.srv.Orders() {
		ids = append(ids, o.OrderID)
	}
	return snapshots(t, r.connect(t), ids)
}

func (r *coinbaseRig) clock() clock.Clock      { return r.clk }
func (r *coinbaseRig) advance(d time.Duration) { r.clk.Advance(d) }
func (r *coinbaseRig) instrument() broker.Instrument {
	return broker.Instrument{Symbol: "BTC-USD", AssetClass: broker.Crypto}
}
func (r *coinbaseRig) quantity() decimal.Decimal   { return decimal.RequireFromString("0.01") }
func (r *coinbaseRig) limitPrice() decimal.Decimal { return decimal.RequireFromString("50000.00") }

func TestRestartMatrixCoinbase(t *testing.T) { runMatrix(t, "coinbase", newCoinbaseRig) }

// etradeRig: one emulated account; each process restores the same access
// token, as a restart within the trading day does.
type etradeRig struct {
	equity
	clk *clocktest.Fake
	srv *etradetest.Server
	tok auth.Token
}

func newEtradeRig(t *testing.T) rig {
	clk := clocktest.NewAuto(start)
	srv, err := etradetest.New(etradetest.Config{Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	srv.SetQuote("AAPL", etradetest.Quote{Bid: decimal.NewFromInt(100), Ask: decimal.NewFromInt(100),
		Last: decimal.NewFromInt(100)})
	tok, sec := srv.IssueAccessToken()
	exp, _ := srv.AccessTokenExpiry(tok)
	return &etradeRig{clk: clk, srv: srv, tok: auth.Token{AccessToken: tok, Secret: sec, Expiry: exp}}
}

func (r *etradeRig) connect(t *testing.T) broker.Broker {
	store := auth.NewMemoryStore()
	key := "etrade/" + r.srv.AccountIDKey()
	if err := store.Save(context.Background(), key, r.tok); err != nil {
		t.Fatal(err)
	}
	b, err := etrade.New(etrade.Config{ConsumerKey: r.srv.ConsumerKey(), ConsumerSecret: r.srv.ConsumerSecret(),
		AccountIDKey: r.srv.AccountIDKey(), Store: store, APIURL: r.srv.URL(), OAuthURL: r.srv.URL(),
		AuthorizeURL: r.srv.URL() + "/e/t/etws/authorize", HTTPClient: r.srv.Client(),
		AccountsPerSecond: 1000, OrdersPerSecond: 1000, MarketPerSecond: 1000, Clock: r.clk})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (r *etradeRig) fill(t *testing.T, id string, qty, px decimal.Decimal) {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.srv.Fill(n, qty, px); err != nil {
		t.Fatal(err)
	}
}

func (r *etradeRig) orders(t *testing.T) []broker.Order {
	var ids []string
	for _, o := range r.srv.Orders() {
		ids = append(ids, strconv.FormatInt(o.OrderID, 10))
	}
	return snapshots(t, r.connect(t), ids)
}

func (r *etradeRig) clock() clock.Clock      { return r.clk }
func (r *etradeRig) advance(d time.Duration) { r.clk.Advance(d) }

func TestRestartMatrixEtrade(t *testing.T) { runMatrix(t, "etrade", newEtradeRig) }
