// Command paperbot is arbion's main job in its first version: a small
// moving-average crossover strategy trading the paper broker over a seeded
// random-walk price feed. It needs no account and no network.
//
//	go run ./examples/paperbot -seed 7 -steps 5000 -symbol MSFT
//
// It prints a progress line every -every steps and a final summary (orders,
// fills, position, average cost, realized and unrealized P&L). The same seed
// always gives the same run. Later versions put the risk engine, the
// stop-loss supervisor and persistence between the strategy and the broker.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
)

func main() {
	cfg := defaultConfig()
	flag.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "seed of the price feed (the same seed gives the same run)")
	flag.IntVar(&cfg.Steps, "steps", cfg.Steps, "number of price updates to trade")
	flag.StringVar(&cfg.Symbol, "symbol", cfg.Symbol, "symbol to trade (a pair such as BTC-USD trades as crypto)")
	flag.IntVar(&cfg.ProgressEvery, "every", cfg.ProgressEvery, "print a progress line every this many steps (0: never)")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := runMain(ctx, cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "paperbot:", err)
		os.Exit(1)
	}
}

// runMain runs the bot and prints its summary.
func runMain(ctx context.Context, cfg Config, out io.Writer) error {
	sum, err := Run(ctx, cfg, out)
	if err != nil {
		return err
	}
	printSummary(out, sum)
	return nil
}

func printSummary(w io.Writer, s Summary) {
	line := strings.Repeat("-", 44)
	fmt.Fprintln(w, line)
	fmt.Fprintf(w, "summary: %s, seed %d, %d steps\n", s.Symbol, s.Seed, s.Steps)
	rows := []struct {
		name  string
		value any
	}{
		{"orders placed", s.OrdersPlaced},
		{"orders replaced", s.OrdersReplaced},
		{"fills", s.Fills},
		{"position", s.Position},
		{"average cost", s.AvgCost.StringFixed(4)},
		{"last price", s.LastPrice.StringFixed(2)},
		{"fees paid", s.Fees.StringFixed(4)},
		{"realized P&L", s.Realized.StringFixed(2)},
		{"unrealized P&L", s.Unrealized.StringFixed(2)},
		{"cash", s.Cash.StringFixed(2)},
		{"equity", s.Equity.StringFixed(2)},
		{"return", s.Equity.Sub(s.StartCash).Div(s.StartCash).Shift(2).StringFixed(3) + "%"},
	}
	for _, r := range rows {
		fmt.Fprintf(w, "  %-16s %v\n", r.name, r.value)
	}
	fmt.Fprintln(w, line)
}
