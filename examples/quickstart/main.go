// Command quickstart is the README's first program: a live bot (package
// live) trading the moving-average crossover on the paper broker. It steps
// once per recorded daily bar instead of once a minute, so the ten years of
// examples/backtest/testdata replay in a moment; put schwab.New (or
// coinbase.New, etrade.New) where paper.New is, call r.Run(ctx) instead of
// the replay loop, and the same bot trades for real. Run it from the repository's root:
//
//	go run ./examples/quickstart
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/arbiontrader/arbion/bars"
	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/clock/clocktest"
	"github.com/arbiontrader/arbion/live"
	"github.com/arbiontrader/arbion/paper"
	"github.com/arbiontrader/arbion/risk"
	"github.com/arbiontrader/arbion/stoploss"
	"github.com/arbiontrader/arbion/strategy/crossover"
	"github.com/shopspring/decimal"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, out io.Writer) error {
	f, err := os.Open("examples/backtest/testdata/synthetic-daily.csv")
	if err != nil {
		return err
	}
	defer f.Close()
	series, err := bars.Read(f, bars.Options{Symbol: "SYNTH", Interval: broker.OneDay})
	if err != nil {
		return err
	}
	// The replay's clock is the bars' own: each step happens at its bar's close.
	clk := clocktest.New(series[0].Start)
	b, err := paper.New(paper.Config{Cash: decimal.NewFromInt(100_000), Clock: clk})
	if err != nil {
		return err
	}
	synth := broker.Instrument{Symbol: "SYNTH", AssetClass: broker.Equity}
	bot, err := crossover.New(crossover.Config{Instrument: synth, Fast: 10, Slow: 40, Quantity: decimal.NewFromInt(100)})
	if err != nil {
		return err
	}
	r, err := live.New(live.Config{
		Account: "quickstart", Broker: b, Clock: clk,
		Rules:      []risk.Rule{risk.MaxOrderQuantity{Limit: decimal.NewFromInt(500)}},
		Policy:     stoploss.Policy{StopPercent: decimal.NewFromInt(8)},
		Strategies: []live.Strategy{{Symbol: "SYNTH", Interval: broker.OneDay, Strategy: bot}},
	})
	if err != nil {
		return err
	}
	// Live, r.Run(ctx) steps every minute until ctx ends. The replay steps
	// once per recorded bar instead, at the bar's close.
	if err := r.Start(ctx); err != nil {
		return err
	}
	defer r.Close()
	for _, bar := range series {
		clk.Set(bar.End())
		if err := b.ApplyBar(bar); err != nil {
			return err
		}
		if _, err := r.Step(ctx); err != nil {
			return err
		}
	}
	acct, err := b.Account(context.Background())
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "%d bars, equity %s, cash %s\n", len(series), acct.Equity.StringFixed(2), acct.Cash.StringFixed(2))
	return nil
}
