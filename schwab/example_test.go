package schwab_test

import (
	"context"
	"fmt"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/clock/clocktest"
	"github.com/arbiontrader/arbion/schwab"
	"github.com/arbiontrader/arbion/schwab/schwabtest"
	"github.com/shopspring/decimal"
)

// Example places a limit buy through the adapter against the emulator, lets
// the emulated market fill it in two parts and reads the order back.
func Example() {
	clock := clocktest.New(time.Date(2026, 3, 2, 15, 0, 0, 0, time.UTC))
	clock.SetAutoAdvance(true) // rate-limit waits pass at once
	emu := schwabtest.New(schwabtest.Config{Clock: clock})
	defer emu.Close()
	emu.SetQuote("AAPL", schwabtest.QuoteValue{Bid: decimal.RequireFromString("189.98"),
		Ask: decimal.RequireFromString("190.02"), Last: decimal.RequireFromString("190.00")})
	tokens := emu.IssueTokens() // a real program logs in with the auth package

	b, err := schwab.New(schwab.Config{
		AccountNumber: "12345678",
		AccessToken:   func(context.Context) (string, error) { return tokens.AccessToken, nil },
		BaseURL:       emu.URL(),
		HTTPClient:    emu.Client(),
		Clock:         clock,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	quotes, err := b.Quotes(ctx, "AAPL")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("AAPL bid", quotes[0].Bid, "ask", quotes[0].Ask)

	ack, err := b.PlaceOrder(ctx, broker.OrderRequest{
		ClientOrderID: broker.NewClientOrderID(),
		Instrument:    broker.Instrument{Symbol: "AAPL", AssetClass: broker.Equity},
		Side:          broker.Buy,
		Type:          broker.Limit,
		Quantity:      decimal.NewFromInt(10),
		LimitPrice:    decimal.RequireFromString("190.00"),
		TimeInForce:   broker.Day,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	_ = emu.Fill(ack.OrderID, decimal.NewFromInt(4), decimal.RequireFromString("190.00"))
	_ = emu.Fill(ack.OrderID, decimal.NewFromInt(6), decimal.RequireFromString("189.95"))

	o, err := b.GetOrder(ctx, ack.OrderID)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(o.Status, o.FilledQuantity, "@", o.AvgFillPrice, "in", len(o.Fills), "fills")
	// Output:
	// AAPL bid 189.98 ask 190.02
	// filled 10 @ 189.97 in 2 fills
}
