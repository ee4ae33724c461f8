package paper_test

import (
	"context"
	"fmt"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/clock/clocktest"
	"github.com/arbiontrader/arbion/paper"
	"github.com/shopspring/decimal"
)

// A limit buy rests below the market until the price comes down to it.
func ExampleBroker() {
	ctx := context.Background()
	b, err := paper.New(paper.Config{
		Cash:  decimal.NewFromInt(10_000),
		Clock: clocktest.New(time.Date(2026, 1, 2, 15, 0, 0, 0, time.UTC)),
	})
	if err != nil {
		panic(err)
	}
	_ = b.SetPrice("AAPL", decimal.RequireFromString("101.50"))

	ack, err := b.PlaceOrder(ctx, broker.OrderRequest{
		ClientOrderID: broker.DeriveClientOrderID("example", "1"),
		Instrument:    broker.Instrument{Symbol: "AAPL", AssetClass: broker.Equity},
		Side:          broker.Buy,
		Type:          broker.Limit,
		Quantity:      decimal.NewFromInt(10),
		LimitPrice:    decimal.RequireFromString("100.00"),
		TimeInForce:   broker.Day,
	})
	if err != nil {
		panic(err)
	}
	o, _ := b.GetOrder(ctx, ack.OrderID)
	fmt.Println(o.OrderID, o.Status)

	_ = b.SetPrice("AAPL", decimal.RequireFromString("99.75")) // the market comes down
	o, _ = b.GetOrder(ctx, ack.OrderID)
	fmt.Println(o.Status, o.FilledQuantity, "@", o.AvgFillPrice, "exec", o.Fills[0].ExecID)

	acct, _ := b.Account(ctx)
	fmt.Println("cash", acct.Cash)
	// Output:
	// P000000001 new
	// filled 10 @ 99.75 exec E000000001
	// cash 9002.5
}
