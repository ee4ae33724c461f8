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

// ExampleBroker_StreamOrders follows an order on the streamer while the
// emulated market fills it, and quotes on the same connection.
func ExampleBroker_StreamOrders() {
	clock := clocktest.New(time.Date(2026, 3, 2, 15, 0, 0, 0, time.UTC)) // still: no heartbeat window passes
	emu := schwabtest.New(schwabtest.Config{Clock: clock})
	defer emu.Close()
	emu.SetQuote("AAPL", schwabtest.QuoteValue{Bid: decimal.RequireFromString("189.98"),
		Ask: decimal.RequireFromString("190.02"), Last: decimal.RequireFromString("190.00")})
	tokens := emu.IssueTokens()
	b, err := schwab.New(schwab.Config{
		AccountNumber: "12345678",
		AccessToken:   func(context.Context) (string, error) { return tokens.AccessToken, nil },
		BaseURL:       emu.URL(),
		HTTPClient:    emu.Client(),
		Clock:         clock,
		// The clock stands still in this example, so no limiter may wait.
		RequestsPerMinute: -1, OrderRequestsPerMinute: -1,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	orders, err := b.StreamOrders(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	quotes, err := b.StreamQuotes(ctx, "AAPL")
	if err != nil {
		fmt.Println(err)
		return
	}
	q := <-quotes.Quotes()
	fmt.Println("AAPL bid", q.Bid, "ask", q.Ask)

	ack, err := b.PlaceOrder(ctx, broker.OrderRequest{
		ClientOrderID: broker.NewClientOrderID(),
		Instrument:    broker.Instrument{Symbol: "AAPL", AssetClass: broker.Equity},
		Side:          broker.Buy, Type: broker.Limit, TimeInForce: broker.Day,
		Quantity: decimal.NewFromInt(10), LimitPrice: decimal.RequireFromString("190.00"),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	_ = emu.Fill(ack.OrderID, decimal.NewFromInt(10), decimal.RequireFromString("189.99"))
	for ev := range orders.Events() {
		fmt.Println(ev.Kind, ev.Fill.Quantity, ev.Fill.Price)
		if ev.Kind == broker.OrderEventFill {
			fmt.Println("filled so far:", ev.Snapshot.FilledQuantity)
			break
		}
	}
	// Output:
	// AAPL bid 189.98 ask 190.02
	// accepted 0 0
	// fill 10 189.99
	// filled so far: 10
}
