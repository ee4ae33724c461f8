package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/arbiontrader/arbion/backtest"
	"github.com/arbiontrader/arbion/bars"
	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/paper"
	"github.com/arbiontrader/arbion/stoploss"
	"github.com/arbiontrader/arbion/strategy/crossover"
	"github.com/shopspring/decimal"
)

// decimalFlag is a flag.Value holding a decimal: no float on a money path.
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

// backtestCmd replays a CSV of bars through the paper broker, the tracker,
// the risk engine and the supervisor (package backtest) with the built-in
// moving-average crossover, prints the report and draws the equity curve.
func (c *cli) backtestCmd(args []string) error {
	fs := c.newFlags("backtest")
	var csvPath, symbol, interval, pngPath string
	var asJSON bool
	var fast, slow int
	qty, cash := decimal.NewFromInt(100), decimal.NewFromInt(100_000)
	stop, feeBps, slip, perYear := decimal.NewFromInt(5), decimal.NewFromInt(1), decimal.NewFromInt(2), decimal.NewFromInt(252)
	fs.StringVar(&csvPath, "csv", "", "CSV file of bars: a header with time, open, high, low, close, volume (required)")
	fs.StringVar(&symbol, "symbol", "", "the bars' symbol, unless the file has a symbol column")
	fs.StringVar(&interval, "interval", "1d", "the bars' interval, unless the file has an interval column")
	fs.StringVar(&pngPath, "png", "backtest.png", `where to write the equity picture ("" writes none)`)
	fs.BoolVar(&asJSON, "json", false, "print the report as JSON")
	fs.IntVar(&fast, "fast", 10, "fast moving average, in bars")
	fs.IntVar(&slow, "slow", 40, "slow moving average, in bars (> fast)")
	fs.Var(decimalFlag{&qty}, "qty", "quantity bought on each entry")
	fs.Var(decimalFlag{&cash}, "cash", "starting cash")
	fs.Var(decimalFlag{&stop}, "stop", "protective stop, in percent below the entry")
	fs.Var(decimalFlag{&feeBps}, "fee-bps", "fee, in basis points of each fill's notional")
	fs.Var(decimalFlag{&slip}, "slippage-bps", "slippage of market orders and stops, in basis points")
	fs.Var(decimalFlag{&perYear}, "bars-per-year", "bars in a year, to annualise (252 for daily bars of an exchange)")
	pos, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(pos) > 0:
		return usagef("unexpected argument %q", pos[0])
	case csvPath == "":
		return usagef("give --csv FILE")
	case fast < 1 || slow <= fast:
		return usagef("moving averages must be 1 <= --fast < --slow, got %d and %d", fast, slow)
	case !qty.IsPositive() || !cash.IsPositive() || !stop.IsPositive() || !perYear.IsPositive():
		return usagef("--qty, --cash, --stop and --bars-per-year must be positive")
	}
	f, err := os.Open(csvPath)
	if err != nil {
		return err
	}
	series, err := bars.Read(f, bars.Options{Symbol: strings.ToUpper(symbol), Interval: broker.Interval(interval)})
	f.Close()
	if err != nil {
		return fmt.Errorf("%s: %w", csvPath, err)
	}
	if len(series) == 0 {
		return fmt.Errorf("%s holds no bars", csvPath)
	}
	src, err := bars.NewSeries(series...)
	if err != nil {
		return err
	}
	first, last := series[0], series[len(series)-1]
	inst := broker.Instrument{Symbol: first.Symbol, AssetClass: broker.Equity}
	if strings.Contains(first.Symbol, "-") {
		inst.AssetClass = broker.Crypto // a pair such as BTC-USD
	}
	strat, err := crossover.New(crossover.Config{Instrument: inst, Fast: fast, Slow: slow, Quantity: qty})
	if err != nil {
		return usagef("%v", err)
	}
	bt, err := backtest.New(backtest.Config{
		Bars: src, Instrument: inst, Interval: first.Interval, From: first.Start, To: last.End(),
		Strategy: strat, Cash: cash,
		Fill: paper.BarFill{SlippageBps: slip}, FeeBps: feeBps,
		StopLoss: stoploss.Policy{StopPercent: stop}, BarsPerYear: perYear,
	})
	if err != nil {
		return err
	}
	rep, err := bt.Run(c.ctx)
	if err != nil {
		return err
	}
	if asJSON {
		err = rep.WriteJSON(c.stdout)
	} else {
		fmt.Fprintf(c.stdout, "backtest of %s %s from %s: %d bars, crossover %d/%d\n\n", inst.Symbol, first.Interval, csvPath, len(series), fast, slow)
		err = rep.WriteText(c.stdout)
	}
	if err != nil || pngPath == "" {
		return err
	}
	if err := writeFile(pngPath, rep.WritePNG); err != nil {
		return err
	}
	fmt.Fprintln(c.stderr, "wrote", pngPath)
	return nil
}

// writeFile writes path with write.
func writeFile(path string, write func(io.Writer) error) error {
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
