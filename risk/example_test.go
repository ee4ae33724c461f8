package risk_test

import (
	"context"
	"fmt"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/clock/clocktest"
	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/risk"
	"github.com/shopspring/decimal"
)

// market is a fixed book for the example: no positions, one AAPL quote.
type market struct{ now time.Time }

func (market) Positions(context.Context) ([]broker.Position, error) { return nil, nil }

func (m market) Quotes(_ context.Context, symbols ...string) ([]broker.Quote, error) {
	return []broker.Quote{{Symbol: "AAPL", Bid: decimal.RequireFromString("99.95"),
		Ask: decimal.RequireFromString("100.05"), Last: decimal.RequireFromString("100"), Time: m.now}}, nil
}

func Example() {
	now := time.Date(2026, 6, 15, 14, 30, 0, 0, time.UTC)
	src := market{now: now}
	engine, err := risk.NewEngine(risk.Config{
		Rules: []risk.Rule{
			risk.MaxOrderQuantity{Limit: decimal.NewFromInt(100)},
			risk.PriceBand{Percent: decimal.NewFromInt(5)},
			risk.MaxOrdersPerDay{Limit: 50},
		},
		Positions:   src,
		MarketData:  src,
		Location:    time.UTC, // crypto; US equities would use America/New_York
		MaxQuoteAge: 5 * time.Second,
		Clock:       clocktest.New(now),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	order := broker.OrderRequest{
		ClientOrderID: broker.NewClientOrderID(),
		Instrument:    broker.Instrument{Symbol: "AAPL", AssetClass: broker.Equity},
		Side:          broker.Buy, Type: broker.Limit, TimeInForce: broker.Day,
		Quantity: decimal.NewFromInt(150), LimitPrice: decimal.RequireFromString("120"),
	}

	// A fat finger: too many shares, far above the market. Both are reported.
	_, err = engine.PreTrade(context.Background(), order)
	fmt.Println(errors.Is(err, errors.ErrRiskLimitExceeded))
	fmt.Println(err)

	// Fixed: checked, reserved, sent, settled.
	order.Quantity, order.LimitPrice = decimal.NewFromInt(100), decimal.RequireFromString("100.05")
	settle, err := engine.PreTrade(context.Background(), order)
	if err != nil {
		fmt.Println(err)
		return
	}
	settle(true) // the broker accepted the order
	fmt.Println("sent")
	// Output:
	// true
	// risk: max order quantity [AAPL]: risk limit exceeded: limit 100, actual 150
	// risk: price band [AAPL]: risk limit exceeded: limit 5%, actual 20%: limit price 120 against last 100
	// sent
}

func ExampleEngine_SetState() {
	engine, err := risk.NewEngine(risk.Config{Positions: market{}, Location: time.UTC})
	if err != nil {
		fmt.Println(err)
		return
	}
	stop := engine.Subscribe(func(ev risk.StateChange) {
		fmt.Printf("%d: %s -> %s (%s)\n", ev.Seq, ev.From, ev.To, ev.Reason)
	})
	defer stop()

	_ = engine.SetState(context.Background(), risk.Halted, "operator kill switch")
	_, err = engine.PreTrade(context.Background(), broker.OrderRequest{
		ClientOrderID: "K1", Instrument: broker.Instrument{Symbol: "AAPL", AssetClass: broker.Equity},
		Side: broker.Buy, Type: broker.Market, TimeInForce: broker.Day, Quantity: decimal.NewFromInt(1),
	})
	fmt.Println(errors.Is(err, errors.ErrTradingHalted))
	_ = engine.SetState(context.Background(), risk.Active, "reviewed")
	// Output:
	// 1: active -> halted (operator kill switch)
	// true
	// 2: halted -> active (reviewed)
}
