package live_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/arbiontrader/arbion/auth"
	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/clock/clocktest"
	"github.com/arbiontrader/arbion/coinbase"
	"github.com/arbiontrader/arbion/coinbase/coinbasetest"
	"github.com/arbiontrader/arbion/etrade"
	"github.com/arbiontrader/arbion/etrade/etradetest"
	"github.com/arbiontrader/arbion/health"
	"github.com/arbiontrader/arbion/live"
	"github.com/arbiontrader/arbion/order"
	"github.com/arbiontrader/arbion/risk"
	"github.com/arbiontrader/arbion/schwab"
	"github.com/arbiontrader/arbion/schwab/schwabtest"
	"github.com/arbiontrader/arbion/stoploss"
	"github.com/shopspring/decimal"
)

// emulated is one account at an emulator, for protectedAcrossRestart.
type emulated struct {
	account    string
	connect    func(t *testing.T) broker.Broker // a fresh adapter: a new process
	instrument broker.Instrument
	qty, price string
	fill       func(t *testing.T, id string) // the entry fills at price
	protective func() int                    // protective sells working at the emulator
}

// protectedAcrossRestart: an entry filled at the broker is seen by the
// step's reconciliation and gets exactly one protective order there;
// readiness is green; a restarted runner on the same stores sends nothing
// again.
func protectedAcrossRestart(t *testing.T, clk *clocktest.Fake, e emulated) {
	orders, protections := order.NewMemoryStore(), stoploss.NewMemoryStore()
	newRunner := func() *live.Runner {
		r, err := live.New(live.Config{Account: e.account, Broker: e.connect(t), Orders: orders, Protections: protections,
			Clock: clk, Location: time.UTC, Rules: []risk.Rule{risk.MaxOrderQuantity{Limit: dec("100")}},
			Policy: stoploss.Policy{StopPercent: dec("1")}})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	ctx := context.Background()
	r := newRunner()
	o, err := r.Trader().Submit(ctx, order.Request{OrderRequest: broker.OrderRequest{
		Instrument: e.instrument, Side: broker.Buy, Type: broker.Limit, LimitPrice: dec(e.price),
		Quantity: dec(e.qty), TimeInForce: broker.GTC}})
	if err != nil {
		t.Fatal(err)
	}
	e.fill(t, o.BrokerOrderID)
	step(t, r)
	if n := e.protective(); n != 1 {
		t.Fatalf("%d protective orders working at the emulator, want 1", n)
	}
	h, err := health.New(health.Config{Ready: r.Checks(live.CheckConfig{LoginMargin: time.Hour})})
	if err != nil {
		t.Fatal(err)
	}
	if rep := h.Check(ctx); rep.Status != "ok" {
		t.Errorf("readiness on the emulator: %+v", rep)
	}
	r.Close()

	r2 := newRunner()
	defer r2.Close()
	step(t, r2)
	if n := e.protective(); n != 1 || r2.Supervisor().Totals().StopsPlaced != 0 {
		t.Errorf("after a restart: %d protective orders, %d placed again; want 1 and 0", n, r2.Supervisor().Totals().StopsPlaced)
	}
}

// The runner on Schwab (native stop orders, OAuth 2 tokens refreshed
// through auth.Source).
func TestOnSchwabEmulator(t *testing.T) {
	const acct = "12345678"
	clk := clocktest.NewAuto(start)
	emu := schwabtest.New(schwabtest.Config{Clock: clk,
		Accounts: []schwabtest.Account{{Number: acct, Cash: decimal.NewFromInt(1_000_000)}}})
	defer emu.Close()
	emu.SetQuote("AAPL", schwabtest.QuoteValue{Bid: dec("100"), Ask: dec("100"), Last: dec("100")})
	// workingStops are the protective orders at the emulator; the one the
	// supervisor places must sell the whole position 1% under the fill.
	workingStops := func() []schwabtest.OrderRecord {
		var out []schwabtest.OrderRecord
		for _, rec := range emu.Orders() {
			if rec.OrderType == "STOP" && rec.Status != "CANCELED" {
				out = append(out, rec)
			}
		}
		return out
	}
	protectedAcrossRestart(t, clk, emulated{
		account: acct,
		connect: func(t *testing.T) broker.Broker {
			store := auth.NewMemoryStore()
			tok := emu.IssueTokens()
			if err := store.Save(context.Background(), "schwab", auth.Token{AccessToken: tok.AccessToken,
				RefreshToken: tok.RefreshToken, Expiry: tok.Expiry, RefreshExpiry: tok.RefreshExpiry}); err != nil {
				t.Fatal(err)
			}
			src, err := auth.NewSource(auth.SourceConfig{Broker: schwab.Name,
				OAuth2: schwab.OAuth2Config(emu.AppKey(), emu.AppSecret(), emu.RedirectURI(), emu.URL()),
				Store:  store, StoreKey: "schwab", HTTPClient: emu.Client(), Clock: clk, RefreshLifetime: schwab.RefreshLifetime})
			if err != nil {
				t.Fatal(err)
			}
			b, err := schwab.New(schwab.Config{AccountNumber: acct, Tokens: src, BaseURL: emu.URL(), HTTPClient: emu.Client(), Clock: clk})
			if err != nil {
				t.Fatal(err)
			}
			return b
		},
		instrument: broker.Instrument{Symbol: "AAPL", AssetClass: broker.Equity}, qty: "10", price: "100",
		fill: func(t *testing.T, id string) {
			if err := emu.Fill(id, dec("10"), dec("100")); err != nil {
				t.Fatal(err)
			}
		},
		protective: func() int { return len(workingStops()) },
	})
	if s := workingStops(); len(s) != 1 || s[0].Instruction != "SELL" || !s[0].Quantity.Equal(dec("10")) || !s[0].StopPrice.Equal(dec("99")) {
		t.Errorf("stops at the emulator: %+v, want one SELL 10 STOP 99", s)
	}
}

// The runner on Coinbase (no stop-market order: the supervisor rests a
// stop-limit).
func TestOnCoinbaseEmulator(t *testing.T) {
	clk := clocktest.NewAuto(start)
	srv := coinbasetest.NewServer(coinbasetest.Config{Clock: clk})
	defer srv.Close()
	key, err := coinbasetest.NewES256Key("organizations/org-1/apiKeys/key-1")
	if err != nil {
		t.Fatal(err)
	}
	srv.RegisterKey(key)
	srv.SetBalance("USD", dec("1000000"))
	if err := srv.SetQuote("BTC-USD", dec("50000"), dec("50000"), dec("50000")); err != nil {
		t.Fatal(err)
	}
	protectedAcrossRestart(t, clk, emulated{
		account: "coinbase",
		connect: func(t *testing.T) broker.Broker {
			b, err := coinbase.New(coinbase.Config{Credentials: coinbase.Credentials{KeyName: key.Name, PrivateKey: key.Secret},
				BaseURL: srv.URL(), HTTPClient: srv.Client(), Clock: clk, CostBasisFromFills: true,
				Stream: coinbase.StreamConfig{MarketURL: srv.MarketStreamURL(), UserURL: srv.UserStreamURL()}})
			if err != nil {
				t.Fatal(err)
			}
			return b
		},
		instrument: broker.Instrument{Symbol: "BTC-USD", AssetClass: broker.Crypto}, qty: "0.01", price: "49000", // below the ask: it rests until filled
		fill: func(t *testing.T, id string) {
			if err := srv.Fill(id, dec("0.01"), dec("49000")); err != nil {
				t.Fatal(err)
			}
		},
		protective: func() int {
			n := 0
			for _, o := range srv.Orders() {
				if o.Side == "SELL" && o.StopPrice.IsPositive() && (o.Status == "OPEN" || o.Status == "PENDING") {
					n++
				}
			}
			return n
		},
	})
}

// The runner on E*TRADE (native stop orders).
func TestOnEtradeEmulator(t *testing.T) {
	clk := clocktest.NewAuto(start)
	srv, err := etradetest.New(etradetest.Config{Clock: clk, MarketOpen: true})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	srv.SetQuote("AAPL", etradetest.Quote{Bid: dec("100"), Ask: dec("100"), Last: dec("100")})
	tok, sec := srv.IssueAccessToken()
	exp, _ := srv.AccessTokenExpiry(tok)
	protectedAcrossRestart(t, clk, emulated{
		account: "etrade",
		connect: func(t *testing.T) broker.Broker {
			store := auth.NewMemoryStore()
			if err := store.Save(context.Background(), "etrade/"+srv.AccountIDKey(),
				auth.Token{AccessToken: tok, Secret: sec, Expiry: exp}); err != nil {
				t.Fatal(err)
			}
			b, err := etrade.New(etrade.Config{ConsumerKey: srv.ConsumerKey(), ConsumerSecret: srv.ConsumerSecret(),
				AccountIDKey: srv.AccountIDKey(), Store: store, APIURL: srv.URL(), OAuthURL: srv.URL(),
				AuthorizeURL: srv.URL() + "/e/t/etws/authorize", HTTPClient: srv.Client(),
				AccountsPerSecond: 1000, OrdersPerSecond: 1000, MarketPerSecond: 1000, Clock: clk})
			if err != nil {
				t.Fatal(err)
			}
			return b
		},
		instrument: broker.Instrument{Symbol: "AAPL", AssetClass: broker.Equity}, qty: "10", price: "100",
		fill: func(t *testing.T, id string) {
			n, err := strconv.ParseInt(id, 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			if err := srv.Fill(n, dec("10"), dec("100")); err != nil {
				t.Fatal(err)
			}
		},
		protective: func() int {
			n := 0
			for _, o := range srv.Orders() {
				if o.Action == "SELL" && o.StopPrice.IsPositive() && o.Status == "OPEN" {
					n++
				}
			}
			return n
		},
	})
}
