package backtest_test

import (
	"context"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/arbiontrader/arbion/backtest"
	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/order"
	"github.com/arbiontrader/arbion/paper"
	"github.com/arbiontrader/arbion/risk"
	"github.com/arbiontrader/arbion/stoploss"
	"github.com/arbiontrader/arbion/strategy"
	"github.com/shopspring/decimal"
)

// smaCross is a 5/20 moving-average crossover from History, exiting
// through the supervisor: the shape of the examples' strategy.
func smaCross() strategy.Strategy {
	mean := func(bs []broker.Bar) decimal.Decimal {
		s := decimal.Zero
		for _, b := range bs {
			s = s.Add(b.Close)
		}
		return s.DivRound(decimal.NewFromInt(int64(len(bs))), 8)
	}
	return strategy.Func(func(ctx context.Context, bar broker.Bar, t strategy.Trader) error {
		h := t.History(bar.Symbol, 21)
		if len(h) < 21 {
			return nil
		}
		was := mean(h[15:20]).GreaterThan(mean(h[:20]))
		is := mean(h[16:]).GreaterThan(mean(h[1:]))
		if was == is {
			return nil
		}
		pos, err := t.Positions(ctx)
		if err != nil {
			return err
		}
		held := len(pos) > 0 && !pos[0].Quantity.IsZero()
		switch {
		case is && !held:
			_, err = t.Submit(ctx, order.Request{OrderRequest: broker.OrderRequest{
				ClientOrderID: broker.DeriveClientOrderID("sma", bar.Start.Format(time.RFC3339)),
				Instrument:    spy, Side: broker.Buy, Type: broker.Market, Quantity: decimal.NewFromInt(10), TimeInForce: broker.Day}})
			return err
		case !is && held:
			return t.(exiter).Exit(ctx, bar.Symbol)
		}
		return nil
	})
}

// BenchmarkBacktest replays BACKTEST_BENCH_BARS (default 20,000) one-minute
// bars of one symbol with the tracker, three risk rules and the supervisor
// (native stops, trailing) on, and reports bars per second and the bytes
// the report holds per bar, and bars per CPU second of the process: with a strategy that buys once and holds (the
// supervisor trails its stop on every bar), and with a 5/20 moving-average
// crossover that trades several hundred times.
func BenchmarkBacktest(b *testing.B) {
	b.Run("hold", func(b *testing.B) { benchmarkBacktest(b, script("10", []int{0}, nil)) })
	b.Run("sma-crossover", func(b *testing.B) { benchmarkBacktest(b, smaCross()) })
}

func benchmarkBacktest(b *testing.B, strat strategy.Strategy) {
	n := 20_000
	if s := os.Getenv("BACKTEST_BENCH_BARS"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil {
			b.Fatal(err)
		}
	}
	bs := walk(b, n, broker.OneMinute)
	cfg := config(b, bs, strat)
	cfg.FeeBps, cfg.Fill = decimal.NewFromInt(1), paper.BarFill{SlippageBps: decimal.NewFromInt(2)}
	cfg.StopLoss = stoploss.Policy{StopPercent: decimal.NewFromInt(2), TrailPercent: decimal.NewFromInt(1)}
	cfg.Rules = []risk.Rule{risk.MaxOrderQuantity{Limit: decimal.NewFromInt(100)},
		risk.MaxPositionQuantity{Limit: decimal.NewFromInt(100)}, risk.MaxOrdersPerDay{Limit: 10_000}}
	bt, err := backtest.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	var before, after runtime.MemStats
	var rep backtest.Report
	cpu0, haveCPU := processCPU()
	b.ResetTimer()
	for b.Loop() {
		runtime.GC()
		runtime.ReadMemStats(&before)
		rep, err = bt.Run(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "bars/s")
	if cpu1, ok := processCPU(); ok && haveCPU {
		// The machine is shared: bars per second of this process's CPU
		// (GC workers included) is the figure that does not depend on load.
		b.ReportMetric(float64(n)*float64(b.N)/(cpu1-cpu0).Seconds(), "bars/cpu-s")
	}
	b.ReportMetric(float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/float64(n), "B/bar-held")
	if len(rep.Trades) == 0 {
		b.Fatal("the benchmark strategy never traded")
	}
	b.ReportMetric(float64(len(rep.Trades)), "trades")
}
