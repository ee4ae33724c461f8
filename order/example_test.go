package order_test

import (
	"context"
	"fmt"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/order"
	"github.com/arbiontrader/arbion/paper"
	"github.com/shopspring/decimal"
)

func ExampleTracker() {
	ctx := context.Background()
	b, _ := paper.New(paper.Config{})
	_ = b.SetPrice("AAPL", decimal.RequireFromString("187.50"))

	tracker, err := order.NewTracker(order.Config{Broker: b})
	if err != nil {
		panic(err)
	}
	cancel := tracker.Subscribe(func(u order.Update) {
		if u.Fill != nil {
			fmt.Printf("fill: %s @ %s, order now %s\n", u.Fill.Quantity, u.Fill.Price, u.Order.Status)
		}
	})
	defer cancel()

	o, err := tracker.Submit(ctx, order.Request{
		OrderRequest: broker.OrderRequest{
			Instrument:  broker.Instrument{Symbol: "AAPL", AssetClass: broker.Equity},
			Side:        broker.Buy,
			Type:        broker.Limit,
			Quantity:    decimal.NewFromInt(10),
			LimitPrice:  decimal.RequireFromString("187.00"),
			TimeInForce: broker.GTC,
		},
		StopLossPrice: decimal.RequireFromString("180"),
	})
	if err != nil {
		panic(err)
	}
	fmt.Println("submitted:", o.Status)

	// The market comes down to the limit; the host polls the broker.
	_ = b.SetPrice("AAPL", decimal.RequireFromString("186.95"))
	if _, err := tracker.Reconcile(ctx); err != nil {
		panic(err)
	}
	o, _ = tracker.Get(ctx, o.LocalID)
	fmt.Println("after reconcile:", o.Status, o.FilledQuantity, "@", o.AvgFillPrice)
	// Output:
	// submitted: new
	// fill: 10 @ 186.95, order now filled
	// after reconcile: filled 10 @ 186.95
}
