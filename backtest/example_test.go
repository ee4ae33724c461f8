package backtest_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/arbiontrader/arbion/backtest"
	"github.com/arbiontrader/arbion/bars"
	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/order"
	"github.com/arbiontrader/arbion/stoploss"
	"github.com/arbiontrader/arbion/strategy"
	"github.com/shopspring/decimal"
)

// Backtest a strategy that buys on its first bar, protected by a 5 % stop,
// over four daily bars; the third gaps down through the stop.
func Example() {
	const csv = `time,open,high,low,close,volume
2026-01-05T00:00:00Z,100,100,100,100,1000
2026-01-06T00:00:00Z,100,102,99,101,1000
2026-01-07T00:00:00Z,93,94,92,93,1000
2026-01-08T00:00:00Z,93,96,93,95,1000
`
	series, err := bars.Read(strings.NewReader(csv), bars.Options{Symbol: "SPY", Interval: broker.OneDay})
	if err != nil {
		fmt.Println(err)
		return
	}
	src, _ := bars.NewSeries(series...)
	spy := broker.Instrument{Symbol: "SPY", AssetClass: broker.Equity}
	bought := false
	buyOnce := strategy.Func(func(ctx context.Context, bar broker.Bar, t strategy.Trader) error {
		if bought {
			return nil
		}
		bought = true
		_, err := t.Submit(ctx, order.Request{OrderRequest: broker.OrderRequest{ClientOrderID: "entry",
			Instrument: spy, Side: broker.Buy, Type: broker.Market, Quantity: decimal.NewFromInt(10), TimeInForce: broker.Day}})
		return err
	})
	bt, err := backtest.New(backtest.Config{
		Bars: src, Instrument: spy, Interval: broker.OneDay,
		From: series[0].Start, To: series[len(series)-1].End(),
		Strategy: buyOnce, Cash: decimal.NewFromInt(10_000), FeePerOrder: decimal.NewFromInt(1),
		StopLoss:    stoploss.Policy{StopPercent: decimal.NewFromInt(5)},
		BarsPerYear: decimal.NewFromInt(252),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	rep, err := bt.Run(context.Background())
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, t := range rep.Trades {
		fmt.Printf("%s %s at %s on %s, out by %s at %s on %s: %s\n", t.Side, t.Quantity, t.EntryPrice,
			t.Entry.Format(time.DateOnly), t.ExitBy, t.ExitPrice, t.Exit.Format(time.DateOnly), t.PnL)
	}
	fmt.Println("return", rep.TotalReturn, "max drawdown", rep.MaxDrawdown.Amount, "buy and hold", rep.BuyHold.TotalReturn)
	_ = rep.WriteText(os.Stdout)
	// Output:
	// long 10 at 100 on 2026-01-06, out by stop at 93 on 2026-01-07: -72
	// return -0.0072 max drawdown 81 buy and hold -0.05
	// SPY 1d: 4 bars from 2026-01-05 00:00 to 2026-01-09 00:00
	//
	//                                       strategy      buy and hold
	//                   start cash          10000.00          10000.00
	//                   end equity           9928.00           9500.00
	//                 total return           -0.72 %           -5.00 %
	//            annualised return          -36.57 %          -96.05 %
	//                 max drawdown            0.81 %            7.92 %
	//              drawdown amount             81.00            800.00
	//                drawdown peak  2026-01-06 00:00  2026-01-06 00:00
	//              drawdown trough  2026-01-07 00:00  2026-01-07 00:00
	//    sharpe (annualised, rf 0)             -6.77             -4.14
	//                       trades                 1
	//                     win rate            0.00 %  (0 won, 1 lost)
	//                     exposure           25.00 %
	//                         fees              2.00
	//        orders sent / refused             2 / 0
	//   stops placed / stopped out             1 / 1
	//
	//   #  side             entry              exit  quantity  entry price  exit price  exit by  fees     P&L
	//   1  long  2026-01-06 00:00  2026-01-07 00:00        10       100.00       93.00     stop  2.00  -72.00
}
