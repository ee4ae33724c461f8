package etrade

import (
	"context"
	"testing"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/broker/brokertest"
	"github.com/shopspring/decimal"
)

func TestConformance(t *testing.T) {
	e := newEnv(t, envOptions{})
	symbols := []string{"AAPL", "MSFT", "SPY", "PLTR", "COCP"}
	for i := 0; len(symbols) < 30; i++ {
		sym := "SYM" + string(rune('A'+i/26)) + string(rune('A'+i%26))
		e.srv.SetQuote(sym, quote("10.00", "10.02", "10.01"))
		symbols = append(symbols, sym)
	}
	brokertest.Run(t, brokertest.Harness{
		Broker:          e.b,
		Instrument:      broker.Instrument{Symbol: "AAPL", AssetClass: broker.Equity},
		Quantity:        decimal.NewFromInt(10),
		RestingLimitBuy: dec("100.00"),
		Fill: func(_ context.Context, orderID string, qty, price decimal.Decimal) error {
			return e.srv.Fill(id64(t, orderID), qty, price)
		},
		Settle: func(context.Context) error {
			e.srv.Settle()
			return nil
		},
		QuoteSymbols: symbols,
	})
}
