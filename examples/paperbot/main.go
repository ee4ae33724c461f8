// Command paperbot is arbion's main job: a small moving-average crossover
// strategy trading the paper broker over a seeded random-walk price feed,
// with the whole SDK between the strategy and the broker. It needs no
// account and no network.
//
// Wired in: every order goes through the order tracker (order.Tracker) with
// the risk engine (risk.Engine: max order quantity and notional, max
// position, price band, daily loss kill switch, orders per day) as its
// pre-trade checker; the stop-loss supervisor (stoploss.Supervisor) protects
// every position with a resting stop that trails the price, and closes it at
// the take-profit; orders, fills, protections and the bot's progress persist
// in SQLite (store/sqlstore), so that a stopped bot continues where it left
// off, reconciled (see Run for exactly what a restart restores and how).
//
//	go run ./examples/paperbot -seed 7 -steps 5000 -symbol MSFT
//	go run ./examples/paperbot -db run.db      # another database file
//	go run ./examples/paperbot -memory         # nothing kept after the run
//
// The default database is paperbot.db in the working directory. -steps is
// the step the run trades up to: run it again with a larger -steps to go on
// trading, or after an interrupt (Ctrl-C, honoured between steps) to finish.
// A database remembers the configuration it was started with and refuses
// another one.
//
// It prints a progress line every -every steps and a final summary (orders,
// refusals by risk rule, stops, trailing adjustments, stop-outs,
// take-profits, fills, position, average cost, realized and unrealized P&L).
// The same seed on a fresh database always gives the same run.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"

	"github.com/arbiontrader/arbion/errors"
	"github.com/shopspring/decimal"
)

// defaultDB is the database file used without -db.
const defaultDB = "paperbot.db"

func main() {
	cfg := defaultConfig()
	cfg.DB = defaultDB
	var memory bool
	flag.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "seed of the price feed (the same seed gives the same run)")
	flag.IntVar(&cfg.Steps, "steps", cfg.Steps, "the step to trade up to (a restarted run continues after the saved step)")
	flag.StringVar(&cfg.Symbol, "symbol", cfg.Symbol, "symbol to trade (a pair such as BTC-USD trades as crypto)")
	flag.IntVar(&cfg.ProgressEvery, "every", cfg.ProgressEvery, "print a progress line every this many steps (0: never)")
	flag.StringVar(&cfg.DB, "db", cfg.DB, `SQLite file for orders, stops and progress (":memory:" keeps nothing)`)
	flag.BoolVar(&memory, "memory", false, `keep nothing after the run (same as -db=:memory:)`)
	flag.Var(decimalFlag{&cfg.StopPercent}, "stop", "protective stop, in percent below the entry")
	flag.Var(decimalFlag{&cfg.TrailPercent}, "trail", "trailing stop, in percent below the best price since entry (0: none)")
	flag.Var(decimalFlag{&cfg.TakeProfitPercent}, "take-profit", "take-profit, in percent above the entry (0: none)")
	flag.Var(decimalFlag{&cfg.MaxOrderQuantity}, "max-qty", "risk: the largest order quantity")
	flag.Var(decimalFlag{&cfg.MaxDailyLoss}, "max-daily-loss", "risk: the day's loss that halts new entries until the next day")
	flag.Parse()
	if memory {
		cfg.DB = ":memory:"
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	err := runMain(ctx, cfg, os.Stdout)
	switch {
	case err == nil:
	case errors.Is(err, context.Canceled): // interrupted between steps: Run said where it stopped
		os.Exit(130)
	default:
		fmt.Fprintln(os.Stderr, "paperbot:", err)
		os.Exit(1)
	}
}

// decimalFlag is a flag.Value holding a decimal (no float on a money path).
type decimalFlag struct{ d *decimal.Decimal }

func (f decimalFlag) String() string {
	if f.d == nil {
		return ""
	}
	return f.d.String()
}

func (f decimalFlag) Set(s string) error {
	v, err := decimal.NewFromString(s)
	if err != nil {
		return err
	}
	*f.d = v
	return nil
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
	fmt.Fprintf(w, "summary: %s, seed %d, %d steps", s.Symbol, s.Seed, s.Steps)
	if s.ResumedFrom > 0 {
		fmt.Fprintf(w, " (resumed after step %d)", s.ResumedFrom)
	}
	fmt.Fprintln(w)
	refused := fmt.Sprint(s.OrdersRefused)
	if rules := sortedRules(s.RefusedBy); len(rules) > 0 {
		refused += " (" + strings.Join(rules, ", ") + ")"
	}
	rows := []struct {
		name  string
		value any
	}{
		{"orders placed", s.OrdersPlaced},
		{"orders replaced", s.OrdersReplaced},
		{"refused by risk", refused},
		{"trading state", s.RiskState},
		{"stops placed", s.Stops.StopsPlaced},
		{"stops restored", s.Stops.StopsRestored},
		{"stops resized", s.Stops.StopsResized},
		{"trailing moves", s.Stops.TrailingAdjustments},
		{"stopped out", s.Stops.StoppedOut},
		{"emergency closes", s.Stops.BreachCloses},
		{"take-profits", s.Stops.TakeProfits},
		{"strategy exits", s.Stops.Exits},
		{"stop failures", s.Stops.Failures},
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
