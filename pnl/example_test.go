package pnl_test

import (
	"context"
	"fmt"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/paper"
	"github.com/arbiontrader/arbion/pnl"
	"github.com/shopspring/decimal"
)

// A daily P&L source for risk.MaxDailyLoss on the paper broker: fills in,
// quotes for the marks.
func Example() {
	b, _ := paper.New(paper.Config{})
	_ = b.SetPrice("BTC-USD", decimal.NewFromInt(100))
	src, _ := pnl.New(pnl.Config{Quotes: b, Location: time.UTC})
	now := time.Now()
	src.Record("BTC-USD", broker.Buy, broker.Fill{ExecID: "1", Quantity: decimal.NewFromInt(2),
		Price: decimal.NewFromInt(110), Fee: decimal.NewFromInt(1), Time: now})
	p, err := src.DailyPnL(context.Background(), src.DayStart(now))
	fmt.Println(p.Realized, p.Unrealized, err)
	// Output: -1 -20 <nil>
}
