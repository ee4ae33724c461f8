package stoploss_test

import (
	"context"
	"fmt"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/order"
	"github.com/arbiontrader/arbion/paper"
	"github.com/arbiontrader/arbion/stoploss"
	"github.com/shopspring/decimal"
)

// A position on the paper broker is protected by a resting stop that
// trails the price; when the price falls back through it, it closes.
func Example() {
	ctx := context.Background()
	aapl := broker.Instrument{Symbol: "AAPL", AssetClass: broker.Equity}
	pb, _ := paper.New(paper.Config{Instruments: []broker.Instrument{aapl}})
	tracker, _ := order.NewTracker(order.Config{Broker: pb, Account: "demo"})
	sup, err := stoploss.New(stoploss.Config{
		Account: "demo", Broker: pb, Orders: tracker,
		DefaultPolicy: stoploss.Policy{TrailPercent: decimal.NewFromInt(5)},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer sup.Close()

	_ = pb.SetPrice("AAPL", decimal.NewFromInt(100))
	_, _ = tracker.Submit(ctx, order.Request{OrderRequest: broker.OrderRequest{
		Instrument: aapl, Side: broker.Buy, Type: broker.Market,
		Quantity: decimal.NewFromInt(10), TimeInForce: broker.Day,
	}})
	show := func(rep stoploss.Report, _ error) {
		for _, e := range rep.Events {
			fmt.Printf("%s %s qty %s stop %s\n", e.Kind, e.Symbol, e.Quantity, e.StopPrice)
		}
	}
	show(sup.HandleUpdates(ctx)) // the entry's fill: a stop goes to the broker

	for _, p := range []int64{104, 110, 107, 104} {
		_ = pb.SetPrice("AAPL", decimal.NewFromInt(p))
		_, _ = tracker.Reconcile(ctx) // the host's poll reports the broker's fills
		show(sup.Sweep(ctx))
	}
	fmt.Println("stop-outs:", sup.Totals().StopOuts())
	// Output:
	// stop placed AAPL qty 10 stop 95
	// stop trailed AAPL qty 10 stop 98.8
	// stop trailed AAPL qty 10 stop 104.5
	// stopped out AAPL qty 10 stop 104.5
	// position closed AAPL qty 10 stop 0
	// stop-outs: 1
}
