package live_test

import (
	"context"
	"fmt"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/live"
	"github.com/arbiontrader/arbion/order"
	"github.com/arbiontrader/arbion/paper"
	"github.com/arbiontrader/arbion/risk"
	"github.com/arbiontrader/arbion/stoploss"
	"github.com/shopspring/decimal"
)

// A live bot is New plus Run: here on paper, with one step and a shutdown.
func Example() {
	b, _ := paper.New(paper.Config{})
	_ = b.SetPrice("AAPL", decimal.NewFromInt(100))
	ctx, shutdown := context.WithCancel(context.Background()) // signal.NotifyContext in a program
	steps := 0
	r, err := live.New(live.Config{
		Account: "demo", Broker: b, Location: time.UTC,
		Rules:  []risk.Rule{risk.MaxOrderQuantity{Limit: decimal.NewFromInt(100)}},
		Policy: stoploss.Policy{StopPercent: decimal.NewFromInt(2)},
		Schedule: live.ScheduleFunc(func(ctx context.Context) error {
			if steps++; steps > 1 {
				shutdown() // one step, then stop; live.Every(time.Minute, nil) in a program
			}
			return ctx.Err()
		}),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	_, err = r.Trader().Submit(ctx, order.Request{OrderRequest: broker.OrderRequest{
		Instrument: broker.Instrument{Symbol: "AAPL", AssetClass: broker.Equity}, Side: broker.Buy,
		Type: broker.Market, Quantity: decimal.NewFromInt(10), TimeInForce: broker.Day}})
	fmt.Println("bought:", err == nil, "run:", r.Run(ctx))

	open, _ := b.OpenOrders(context.Background())
	fmt.Println("resting at the broker:", open[0].Side, open[0].Quantity, open[0].Type, open[0].StopPrice)
	// Output:
	// bought: true run: <nil>
	// resting at the broker: sell 10 stop 98
}
