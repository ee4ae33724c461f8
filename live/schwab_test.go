package live_test

import (
	"context"
	"testing"
	"time"

	"github.com/arbiontrader/arbion/auth"
	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/clock/clocktest"
	"github.com/arbiontrader/arbion/health"
	"github.com/arbiontrader/arbion/live"
	"github.com/arbiontrader/arbion/order"
	"github.com/arbiontrader/arbion/risk"
	"github.com/arbiontrader/arbion/schwab"
	"github.com/arbiontrader/arbion/schwab/schwabtest"
	"github.com/arbiontrader/arbion/stoploss"
	"github.com/shopspring/decimal"
)

// The runner on the Schwab adapter against its emulator: a fill seen by
// reconciliation gets a native stop at the broker, readiness is green with
// a fresh token, and a restarted runner on the same stores places nothing
// again.
func TestOnSchwabEmulator(t *testing.T) {
	const acct = "12345678"
	clk := clocktest.New(start)
	clk.SetAutoAdvance(true) // the adapter's rate limiters wait on it
	emu := schwabtest.New(schwabtest.Config{Clock: clk,
		Accounts: []schwabtest.Account{{Number: acct, Cash: decimal.NewFromInt(1_000_000)}}})
	defer emu.Close()
	emu.SetQuote("AAPL", schwabtest.QuoteValue{Bid: dec("100"), Ask: dec("100"), Last: dec("100")})
	connect := func() broker.Broker {
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
	}
	orders, protections := order.NewMemoryStore(), stoploss.NewMemoryStore()
	newRunner := func() *live.Runner {
		r, err := live.New(live.Config{Account: acct, Broker: connect(), Orders: orders, Protections: protections, Clock: clk,
			Location: time.UTC, Rules: []risk.Rule{risk.MaxOrderQuantity{Limit: dec("100")}},
			Policy: stoploss.Policy{StopPercent: dec("1")}})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	ctx := context.Background()
	r := newRunner()
	o, err := r.Trader().Submit(ctx, order.Request{OrderRequest: broker.OrderRequest{
		Instrument: broker.Instrument{Symbol: "AAPL", AssetClass: broker.Equity}, Side: broker.Buy,
		Type: broker.Limit, LimitPrice: dec("100"), Quantity: dec("10"), TimeInForce: broker.Day}})
	if err != nil {
		t.Fatal(err)
	}
	if err := emu.Fill(o.BrokerOrderID, dec("10"), dec("100")); err != nil {
		t.Fatal(err)
	}
	step(t, r)
	stops := func() []schwabtest.OrderRecord {
		var out []schwabtest.OrderRecord
		for _, rec := range emu.Orders() {
			if rec.OrderType == "STOP" && rec.Status != "CANCELED" {
				out = append(out, rec)
			}
		}
		return out
	}
	if s := stops(); len(s) != 1 || s[0].Instruction != "SELL" || !s[0].Quantity.Equal(dec("10")) || !s[0].StopPrice.Equal(dec("99")) {
		t.Fatalf("stops at the emulator: %+v, want one SELL 10 STOP 99", s)
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
	if s := stops(); len(s) != 1 || r2.Supervisor().Totals().StopsPlaced != 0 {
		t.Errorf("after a restart: stops %+v, placed again %d", s, r2.Supervisor().Totals().StopsPlaced)
	}
}
