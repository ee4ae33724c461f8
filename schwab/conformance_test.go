package schwab

import (
	"context"
	"testing"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/broker/brokertest"
	"github.com/arbiontrader/arbion/schwab/schwabtest"
	"github.com/shopspring/decimal"
)

func TestConformance(t *testing.T) {
	// The emulator refuses a /quotes request of more than 3 symbols, so the
	// suite's 7 symbols pass only if the adapter batches.
	r := newRig(t, schwabtest.Config{MaxQuoteSymbols: 3}, func(c *Config) { c.QuoteBatchSize = 3 })
	r.clock.SetAutoAdvance(true) // the client-side limiters wait on the fake clock
	brokertest.Run(t, brokertest.Harness{
		Broker:          r.b,
		Instrument:      broker.Instrument{Symbol: "AAPL", AssetClass: broker.Equity},
		Quantity:        decimal.NewFromInt(10),
		RestingLimitBuy: decimal.RequireFromString("100.00"),
		Fill: func(_ context.Context, orderID string, qty, price decimal.Decimal) error {
			return r.emu.Fill(orderID, qty, price)
		},
		Settle: func(context.Context) error {
			r.emu.Settle()
			return nil
		},
		QuoteSymbols: []string{"AAPL", "MSFT", "SPY", "INTC", "GME", "QQQ", "IWM"},
		Clock:        r.clock,
	})
	sizes := r.emu.QuoteRequestSizes()
	if len(sizes) < 3 || sizes[0] != 3 || sizes[1] != 3 || sizes[2] != 1 {
		t.Errorf("quote requests carried %v symbols, want batches of 3, 3, 1 first", sizes)
	}
}
