package brokertest_test

import (
	"context"
	"testing"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/broker/brokertest"
	"github.com/arbiontrader/arbion/paper"
	"github.com/shopspring/decimal"
)

// An adapter's test runs the suite against its broker. Here the paper
// broker, whose Execute method stands in for the market; an emulator-backed
// adapter passes a Fill that drives the emulator's order book.
func Example() {
	conformance := func(t *testing.T) {
		b, err := paper.New(paper.Config{QuoteBatchSize: 2})
		if err != nil {
			t.Fatal(err)
		}
		for _, sym := range []string{"AAPL", "MSFT", "SPY"} {
			_ = b.SetPrice(sym, decimal.NewFromInt(100))
		}
		brokertest.Run(t, brokertest.Harness{
			Broker:          b,
			Instrument:      broker.Instrument{Symbol: "AAPL", AssetClass: broker.Equity},
			Quantity:        decimal.NewFromInt(10),
			RestingLimitBuy: decimal.RequireFromString("90.00"),
			Fill: func(ctx context.Context, orderID string, qty, price decimal.Decimal) error {
				return b.Execute(ctx, orderID, qty, price)
			},
			QuoteSymbols: []string{"AAPL", "MSFT", "SPY"}, // more than QuoteBatchSize
		})
	}
	_ = conformance // in a _test.go file: func TestConformance(t *testing.T) { ... }
}
