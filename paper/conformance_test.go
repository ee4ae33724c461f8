package paper_test

import (
	"context"
	"testing"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/broker/brokertest"
	"github.com/arbiontrader/arbion/paper"
	"github.com/shopspring/decimal"
)

var aapl = broker.Instrument{Symbol: "AAPL", AssetClass: broker.Equity}

// harness builds a brokertest.Harness around a paper broker configured by
// cfg, with AAPL at 150 and six more quoted symbols.
func harness(t *testing.T, cfg paper.Config) brokertest.Harness {
	t.Helper()
	b, err := paper.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	symbols := []string{"AAPL", "MSFT", "SPY", "QQQ", "IWM", "GLD", "TLT"}
	for i, sym := range symbols {
		if err := b.SetPrice(sym, decimal.NewFromInt(int64(150+i))); err != nil {
			t.Fatal(err)
		}
	}
	return brokertest.Harness{
		Broker:          b,
		Instrument:      aapl,
		Quantity:        decimal.NewFromInt(10),
		RestingLimitBuy: decimal.RequireFromString("140.00"),
		Fill:            b.Execute,
		Settle: func(context.Context) error {
			// A price update at the same price confirms pending cancels
			// without filling the resting buys below it.
			p, _ := b.Price(aapl.Symbol)
			return b.SetPrice(aapl.Symbol, p)
		},
		QuoteSymbols: symbols,
	}
}

func TestConformance(t *testing.T) {
	tests := []struct {
		name string
		cfg  paper.Config
	}{
		{"default", paper.Config{QuoteBatchSize: 3}},
		{"cancel latency and fees", paper.Config{QuoteBatchSize: 3, CancelLatency: 1,
			FeeBps: decimal.NewFromInt(5), MinFee: decimal.RequireFromString("0.35")}},
		{"thin liquidity", paper.Config{MaxFillPerUpdate: decimal.NewFromInt(1)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { brokertest.Run(t, harness(t, tt.cfg)) })
	}
}
