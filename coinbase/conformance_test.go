package coinbase_test

import (
	"context"
	"testing"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/broker/brokertest"
	"github.com/arbiontrader/arbion/coinbase"
	"github.com/arbiontrader/arbion/coinbase/coinbasetest"
	"github.com/shopspring/decimal"
)

func harness(e *env) brokertest.Harness {
	return brokertest.Harness{
		Broker:          e.b,
		Instrument:      broker.Instrument{Symbol: "BTC-USD", AssetClass: broker.Crypto},
		Quantity:        decimal.RequireFromString("0.01"),
		RestingLimitBuy: decimal.RequireFromString("50000.00"),
		PriceTick:       decimal.RequireFromString("0.01"),
		Fill: func(_ context.Context, orderID string, qty, price decimal.Decimal) error {
			return e.srv.Fill(orderID, qty, price)
		},
		QuoteSymbols:   []string{"BTC-USD", "ETH-USD", "SOL-USD", "ADA-USD", "LTC-USD", "DOGE-USD", "AVAX-USD", "LINK-USD"},
		UnknownSymbol:  "ZZZZ-USD",
		UnknownOrderID: "7f0d1c3e-0000-4000-8000-000000000000",
		Clock:          e.clock,
		ReplaceKeepsID: true,
	}
}

func TestConformance(t *testing.T) {
	e := newEnv(t, coinbasetest.Config{}, false, func(c *coinbase.Config) { c.QuoteBatchSize = 3 })
	brokertest.Run(t, harness(e))
}

// TestConformanceCancelQueued runs the suite with cancels that are only
// queued until the emulator settles them (pending_cancel, CANCEL_QUEUED).
func TestConformanceCancelQueued(t *testing.T) {
	e := newEnv(t, coinbasetest.Config{CancelQueued: true}, false, func(c *coinbase.Config) { c.QuoteBatchSize = 3 })
	h := harness(e)
	h.Settle = func(context.Context) error { e.srv.Settle(); return nil }
	brokertest.Run(t, h)
}
