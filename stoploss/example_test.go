package stoploss_test

import (
	"context"
	"fmt"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/order"
	"github.com/arbiontrader/arbion/paper"
	"github.com/arbiontrader/arbion/risk"
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

// The whole desk: paper broker, order tracker, risk engine and stop-loss
// supervisor. With trading halted the engine refuses a new entry, but the
// supervisor still defends the position: its stop reduces the position the
// broker reports, which a halt allows.
func Example_desk() {
	ctx := context.Background()
	aapl := broker.Instrument{Symbol: "AAPL", AssetClass: broker.Equity}
	pb, _ := paper.New(paper.Config{Instruments: []broker.Instrument{aapl}})
	engine, _ := risk.NewEngine(risk.Config{
		Rules:     []risk.Rule{risk.MaxOrderQuantity{Limit: decimal.NewFromInt(100)}},
		Positions: pb, OpenOrders: pb, Location: time.UTC,
	})
	tracker, _ := order.NewTracker(order.Config{Broker: pb, Account: "desk", Checker: engine})
	sup, err := stoploss.New(stoploss.Config{
		Account: "desk", Broker: pb, Orders: tracker, Switch: engine,
		DefaultPolicy: stoploss.Policy{StopPercent: decimal.NewFromInt(5)},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer sup.Close()
	_ = pb.SetPrice("AAPL", decimal.NewFromInt(100))
	buy := func(qty int64) error {
		_, err := tracker.Submit(ctx, order.Request{OrderRequest: broker.OrderRequest{Instrument: aapl,
			Side: broker.Buy, Type: broker.Market, Quantity: decimal.NewFromInt(qty), TimeInForce: broker.Day}})
		return err
	}
	fmt.Println("buy 500:", errors.KindOf(buy(500)))
	fmt.Println("buy 10:", buy(10))
	_ = engine.SetState(ctx, risk.Halted, "operator")
	fmt.Println("buy 10 while halted:", errors.KindOf(buy(10)))
	rep, _ := sup.HandleUpdates(ctx) // the fill of the 10: a stop, even while halted
	for _, e := range rep.Events {
		fmt.Printf("%s %s qty %s stop %s\n", e.Kind, e.Symbol, e.Quantity, e.StopPrice)
	}
	// Output:
	// buy 500: risk limit exceeded
	// buy 10: <nil>
	// buy 10 while halted: trading halted
	// stop placed AAPL qty 10 stop 95
}
