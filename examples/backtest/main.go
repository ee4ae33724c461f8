// Command backtest replays recorded bars through the bot's own code: the
// moving-average crossover of examples/internal/crossover (the strategy
// examples/paperbot trades) runs bar by bar on the paper broker, with the
// order tracker, the risk engine and the stop-loss supervisor a live bot
// uses between it and the market. It prints progress, the report (every
// trade, returns, drawdown, Sharpe, buy-and-hold beside it) and draws the
// equity curve over the drawdown as a PNG. It needs no account and no
// network.
//
//	go run ./examples/backtest                          # the bundled series
//	go run ./examples/backtest -png docs/backtest.png -json report.json
//	go run ./examples/backtest -bars my.csv -symbol AAPL -interval 1h -bars-per-year 1638
//
// Without -bars it runs testdata/synthetic-daily.csv, a synthetic series
// generated deterministically (see testdata/README.md). A -bars file is CSV
// in the layout of package bars: a header naming time, open, high, low,
// close and volume. The same inputs always give the same report.
package main

import (
	"context"
	_ "embed"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"

	"github.com/arbiontrader/arbion/backtest"
	"github.com/arbiontrader/arbion/bars"
	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/paper"
	"github.com/arbiontrader/arbion/risk"
	"github.com/arbiontrader/arbion/stoploss"
	"github.com/arbiontrader/arbion/strategy/crossover"
	"github.com/shopspring/decimal"
)

//go:embed testdata/synthetic-daily.csv
var bundled string

// bundledSymbol names the bundled series.
const bundledSymbol = "SYNTH"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// options are the command's flags.
type options struct {
	barsPath, symbol, interval   string
	pngPath, jsonPath            string
	fast, slow, every            int
	quantity, cash               decimal.Decimal
	feeBps, feePerOrder, slipBps decimal.Decimal
	volumeFraction               decimal.Decimal
	stop, trail, takeProfit      decimal.Decimal
	maxPosition, barsPerYear     decimal.Decimal
}

// run is the command: it returns the exit status (0 done, 1 failed, 2 a
// usage error, 130 interrupted).
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, err := parse(args, stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return 0
	case err != nil:
		fmt.Fprintln(stderr, "backtest:", err)
		return 2
	}
	if err := backtestWith(ctx, o, stdout); err != nil {
		if errors.Is(err, context.Canceled) {
			fmt.Fprintln(stderr, "backtest: interrupted")
			return 130
		}
		fmt.Fprintln(stderr, "backtest:", err)
		return 1
	}
	return 0
}

func parse(args []string, stderr io.Writer) (options, error) {
	o := options{symbol: bundledSymbol, interval: string(broker.OneDay), pngPath: "backtest.png",
		fast: 10, slow: 40, every: 500,
		quantity: decimal.NewFromInt(200), cash: decimal.NewFromInt(100_000),
		feeBps: decimal.NewFromInt(1), feePerOrder: decimal.NewFromInt(1), slipBps: decimal.NewFromInt(2),
		volumeFraction: decimal.New(1, -2), stop: decimal.NewFromInt(4), trail: decimal.NewFromInt(6),
		maxPosition: decimal.NewFromInt(1000), barsPerYear: decimal.NewFromInt(252)}
	fs := flag.NewFlagSet("backtest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.barsPath, "bars", "", "CSV file of bars (default: the bundled synthetic daily series)")
	fs.StringVar(&o.symbol, "symbol", o.symbol, "the bars' symbol")
	fs.StringVar(&o.interval, "interval", o.interval, "the bars' interval (1m, 5m, 1h, 1d, ...)")
	fs.StringVar(&o.pngPath, "png", o.pngPath, `where to write the equity picture ("" writes none)`)
	fs.StringVar(&o.jsonPath, "json", "", `where to write the report as JSON ("" writes none)`)
	fs.IntVar(&o.fast, "fast", o.fast, "fast moving average, in bars")
	fs.IntVar(&o.slow, "slow", o.slow, "slow moving average, in bars (> fast)")
	fs.IntVar(&o.every, "every", o.every, "print progress every this many bars (0: only at the end)")
	fs.Var(decimalFlag{&o.quantity}, "qty", "quantity bought on each entry")
	fs.Var(decimalFlag{&o.cash}, "cash", "starting cash")
	fs.Var(decimalFlag{&o.feeBps}, "fee-bps", "fee in basis points of each fill's notional")
	fs.Var(decimalFlag{&o.feePerOrder}, "fee-per-order", "fixed fee per order")
	fs.Var(decimalFlag{&o.slipBps}, "slippage-bps", "slippage of market orders and stops, in basis points")
	fs.Var(decimalFlag{&o.volumeFraction}, "volume-fraction", "the most of a bar's volume that fills (0: unlimited)")
	fs.Var(decimalFlag{&o.stop}, "stop", "protective stop, in percent below the entry")
	fs.Var(decimalFlag{&o.trail}, "trail", "trailing stop, in percent below the best close since entry (0: none)")
	fs.Var(decimalFlag{&o.takeProfit}, "take-profit", "take-profit, in percent above the entry (0: none)")
	fs.Var(decimalFlag{&o.maxPosition}, "max-position", "risk: the largest position, in units")
	fs.Var(decimalFlag{&o.barsPerYear}, "bars-per-year", "bars in a year, to annualise (252 for daily bars of an exchange)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q (flags only; -h lists them)", fs.Args())
	}
	var problems []string
	if o.every < 0 {
		problems = append(problems, "-every may not be negative")
	}
	if _, ok := broker.Interval(o.interval).Duration(); !ok {
		problems = append(problems, fmt.Sprintf("-interval %q is not one of 1m 5m 10m 15m 30m 1h 2h 4h 6h 1d 1w 1mo", o.interval))
	}
	for _, f := range []struct {
		name string
		v    decimal.Decimal
	}{{"-qty", o.quantity}, {"-cash", o.cash}, {"-stop", o.stop}, {"-max-position", o.maxPosition}, {"-bars-per-year", o.barsPerYear}} {
		if !f.v.IsPositive() {
			problems = append(problems, f.name+" must be positive")
		}
	}
	for _, f := range []struct {
		name string
		v    decimal.Decimal
	}{{"-fee-bps", o.feeBps}, {"-fee-per-order", o.feePerOrder}, {"-slippage-bps", o.slipBps},
		{"-volume-fraction", o.volumeFraction}, {"-trail", o.trail}, {"-take-profit", o.takeProfit}} {
		if f.v.IsNegative() {
			problems = append(problems, f.name+" may not be negative")
		}
	}
	if len(problems) > 0 {
		return o, fmt.Errorf("%s", strings.Join(problems, "; "))
	}
	return o, nil // the rest (windows, fractions) is checked by the packages that use it
}

// decimalFlag is a flag.Value holding a decimal (no float on a money path).
type decimalFlag struct{ d *decimal.Decimal }

func (f decimalFlag) String() string {
	if f.d == nil {
		return "0"
	}
	return f.d.String()
}

func (f decimalFlag) Set(s string) error {
	v, err := decimal.NewFromString(s)
	if err != nil {
		return fmt.Errorf("not a decimal: %q", s)
	}
	*f.d = v
	return nil
}

func backtestWith(ctx context.Context, o options, stdout io.Writer) error {
	var in io.Reader = strings.NewReader(bundled)
	source := "the bundled synthetic series"
	if o.barsPath != "" {
		f, err := os.Open(o.barsPath)
		if err != nil {
			return err
		}
		defer f.Close()
		in, source = f, o.barsPath
	}
	series, err := bars.Read(in, bars.Options{Symbol: o.symbol, Interval: broker.Interval(o.interval)})
	if err != nil {
		return fmt.Errorf("%s: %w", source, err)
	}
	if len(series) == 0 {
		return fmt.Errorf("%s has no bars", source)
	}
	src, err := bars.NewSeries(series...)
	if err != nil {
		return err
	}
	inst := broker.Instrument{Symbol: o.symbol, AssetClass: broker.Equity}
	if strings.Contains(o.symbol, "-") {
		inst.AssetClass = broker.Crypto // a pair such as BTC-USD
	}
	strat, err := crossover.New(crossover.Config{Instrument: inst, Fast: o.fast, Slow: o.slow, Quantity: o.quantity})
	if err != nil {
		return err
	}
	bt, err := backtest.New(backtest.Config{
		Bars: src, Instrument: inst, Interval: broker.Interval(o.interval),
		From: series[0].Start, To: series[len(series)-1].End(),
		Strategy: strat, Cash: o.cash,
		Fill:   paper.BarFill{SlippageBps: o.slipBps, VolumeFraction: o.volumeFraction},
		FeeBps: o.feeBps, FeePerOrder: o.feePerOrder,
		Rules: []risk.Rule{
			risk.MaxOrderQuantity{Limit: o.maxPosition},
			risk.MaxPositionQuantity{Limit: o.maxPosition},
		},
		StopLoss:    stoploss.Policy{StopPercent: o.stop, TrailPercent: o.trail, TakeProfitPercent: o.takeProfit},
		BarsPerYear: o.barsPerYear,
		Progress: func(p backtest.Progress) {
			fmt.Fprintf(stdout, "bar %6d of %d  %s  equity %s\n", p.Bar, p.Bars, p.Time.Format("2006-01-02 15:04"), p.Equity.StringFixed(2))
		},
		ProgressEvery: o.every,
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "backtesting %s %s from %s: %d bars, crossover %d/%d\n", o.symbol, o.interval, source, len(series), o.fast, o.slow)
	rep, err := bt.Run(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout)
	if err := rep.WriteText(stdout); err != nil {
		return err
	}
	if err := writeFile(o.pngPath, rep.WritePNG); err != nil {
		return err
	}
	if err := writeFile(o.jsonPath, rep.WriteJSON); err != nil {
		return err
	}
	for _, p := range []string{o.pngPath, o.jsonPath} {
		if p != "" {
			fmt.Fprintln(stdout, "wrote", p)
		}
	}
	return nil
}

// writeFile writes path with write, unless path is empty.
func writeFile(path string, write func(io.Writer) error) error {
	if path == "" {
		return nil
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	return f.Close()
}
