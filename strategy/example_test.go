package strategy_test

import (
	"context"
	"fmt"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/strategy"
	"github.com/shopspring/decimal"
)

// A strategy is a value with OnBar; Func turns a function into one.
func Example() {
	var s strategy.Strategy = strategy.Func(func(_ context.Context, bar broker.Bar, _ strategy.Trader) error {
		fmt.Println(bar.Symbol, bar.Start.Format(time.DateOnly), bar.Close)
		return nil
	})
	bar := broker.Bar{Symbol: "AAPL", Interval: broker.OneDay,
		Start: time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC), Close: decimal.RequireFromString("241.84")}
	_ = s.OnBar(context.Background(), bar, nil)
	// Output: AAPL 2026-03-02 241.84
}
