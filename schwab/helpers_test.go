package schwab

import (
	"context"
	"testing"
	"time"

	"github.com/arbiontrader/arbion/auth"
	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/clock/clocktest"
	"github.com/arbiontrader/arbion/schwab/schwabtest"
	"github.com/shopspring/decimal"
)

var testStart = time.Date(2026, 3, 2, 15, 0, 0, 0, time.UTC)

const testAccount = "12345678"

// rig is an adapter wired to an emulator on one fake clock.
type rig struct {
	b     *Broker
	emu   *schwabtest.Server
	clock *clocktest.Fake
	store *auth.MemoryStore
	src   *auth.Source
}

// newRig starts an emulator and an adapter logged in through a token
// issued by the emulator. emuCfg and mod may adjust the configurations.
func newRig(t testing.TB, emuCfg schwabtest.Config, mod func(*Config)) *rig {
	t.Helper()
	clock := clocktest.New(testStart)
	emuCfg.Clock = clock
	if len(emuCfg.Accounts) == 0 {
		emuCfg.Accounts = []schwabtest.Account{{Number: testAccount, Cash: decimal.NewFromInt(1_000_000)}}
	}
	emu := schwabtest.New(emuCfg)
	t.Cleanup(emu.Close)
	for _, sym := range []string{"AAPL", "MSFT", "SPY", "INTC", "GME", "QQQ", "IWM"} {
		emu.SetQuote(sym, schwabtest.QuoteValue{Bid: decimal.RequireFromString("150.10"),
			Ask: decimal.RequireFromString("150.12"), Last: decimal.RequireFromString("150.11")})
	}

	store := auth.NewMemoryStore()
	tok := emu.IssueTokens()
	ctx := context.Background()
	if err := store.Save(ctx, "schwab", auth.Token{AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken,
		Expiry: tok.Expiry, RefreshExpiry: tok.RefreshExpiry}); err != nil {
		t.Fatal(err)
	}
	src, err := auth.NewSource(auth.SourceConfig{
		Broker: Name, OAuth2: OAuth2Config(emu.AppKey(), emu.AppSecret(), emu.RedirectURI(), emu.URL()),
		Store: store, StoreKey: "schwab", HTTPClient: emu.Client(), Clock: clock, RefreshLifetime: RefreshLifetime,
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{AccountNumber: testAccount, Tokens: src, BaseURL: emu.URL(), HTTPClient: emu.Client(), Clock: clock}
	if mod != nil {
		mod(&cfg)
	}
	b, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &rig{b: b, emu: emu, clock: clock, store: store, src: src}
}

func limitBuy(symbol string, qty int64, price string) broker.OrderRequest {
	return broker.OrderRequest{ClientOrderID: broker.NewClientOrderID(),
		Instrument: broker.Instrument{Symbol: symbol, AssetClass: broker.Equity},
		Side:       broker.Buy, Type: broker.Limit, Quantity: decimal.NewFromInt(qty),
		LimitPrice: decimal.RequireFromString(price), TimeInForce: broker.Day}
}
