// Command paperbot is arbion's main job: the moving-average crossover
// (examples/internal/crossover) trading the paper broker over a seeded
// random-walk price feed, on the live runner (package live) with the whole
// SDK between the strategy and the broker. It needs no account and no
// network.
//
// Wired in: every order goes through the order tracker with the risk
// engine (max order quantity and notional, max position, price band, daily
// loss kill switch from the runner's daily P&L, orders per day) as its
// pre-trade checker; the stop-loss supervisor protects every position with
// a resting stop that trails the price, and closes it at the take-profit;
// orders, fills, protections and the bot's progress persist in SQLite
// (store/sqlstore) under the account's lease, so that a stopped bot
// continues where it left off (see Run for exactly what a restart restores
// and how), even one killed in the middle of a step.
//
//	go run ./examples/paperbot -seed 7 -steps 5000 -symbol MSFT
//	go run ./examples/paperbot -db run.db      # another database file
//	go run ./examples/paperbot -memory         # nothing kept after the run
//	go run ./examples/paperbot -http 127.0.0.1:8080 -steps 200000
//
// With -http it serves /health, /health/ready, /health/live,
// /health/startup and /health/metrics (the supervisor's totals, the risk
// refusals by rule, the trading state, as JSON) while it trades. For the
// OpenTelemetry metrics through a Prometheus exporter see
// examples/prometheus: arbion's own module takes the metric API only.
//
// The default database is paperbot.db in the working directory. -steps is
// the step the run trades up to: run it again with a larger -steps to go on
// trading, or after an interrupt (Ctrl-C or SIGTERM, honoured between
// steps) to finish. A database remembers the configuration it was started
// with and refuses another one.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/health"
	"github.com/arbiontrader/arbion/live"
	"github.com/shopspring/decimal"
)

// defaultDB is the database file used without -db.
const defaultDB = "paperbot.db"

// The environment variables paperbot reads: defaults its flags override.
const (
	envDB   = "PAPERBOT_DB"
	envHTTP = "PAPERBOT_HTTP"
)

func main() {
	cfg, addr, err := parseFlags(os.Args[1:], os.Getenv, os.Stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		os.Exit(0)
	case err != nil:
		fmt.Fprintln(os.Stderr, "paperbot:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err = runMain(ctx, cfg, addr, os.Stdout)
	switch {
	case err == nil:
	case errors.Is(err, context.Canceled): // interrupted between steps: Run said where it stopped
		os.Exit(130)
	default:
		fmt.Fprintln(os.Stderr, "paperbot:", err)
		os.Exit(1)
	}
}

// parseFlags reads the flags (after the environment's defaults). -h prints
// the usage and the environment variables to usage and returns
// flag.ErrHelp.
func parseFlags(args []string, getenv func(string) string, usage io.Writer) (Config, string, error) {
	cfg := defaultConfig()
	cfg.DB = defaultDB
	if v := getenv(envDB); v != "" {
		cfg.DB = v
	}
	addr := getenv(envHTTP)
	var memory bool
	fs := flag.NewFlagSet("paperbot", flag.ContinueOnError)
	fs.SetOutput(usage)
	fs.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "seed of the price feed (the same seed gives the same run)")
	fs.IntVar(&cfg.Steps, "steps", cfg.Steps, "the step to trade up to, at least 1 (a restarted run continues after the saved step)")
	fs.StringVar(&cfg.Symbol, "symbol", cfg.Symbol, "symbol to trade (a pair such as BTC-USD trades as crypto)")
	fs.IntVar(&cfg.ProgressEvery, "every", cfg.ProgressEvery, "print a progress line every this many steps (0: never)")
	fs.StringVar(&cfg.DB, "db", cfg.DB, `SQLite file for orders, stops and progress (":memory:" keeps nothing)`)
	fs.BoolVar(&memory, "memory", false, `keep nothing after the run (same as -db=:memory:)`)
	fs.StringVar(&addr, "http", addr, "serve health and metrics on this address, e.g. 127.0.0.1:8080 (empty: none)")
	fs.DurationVar(&cfg.LeaseTTL, "lease-ttl", cfg.LeaseTTL, "the account lease's lifetime: how long a killed bot keeps the database")
	fs.Var(decimalFlag{&cfg.StopPercent}, "stop", "protective stop, in percent below the entry")
	fs.Var(decimalFlag{&cfg.TrailPercent}, "trail", "trailing stop, in percent below the best price since entry (0: none)")
	fs.Var(decimalFlag{&cfg.TakeProfitPercent}, "take-profit", "take-profit, in percent above the entry (0: none)")
	fs.Var(decimalFlag{&cfg.MaxOrderQuantity}, "max-qty", "risk: the largest order quantity")
	fs.Var(decimalFlag{&cfg.MaxDailyLoss}, "max-daily-loss", "risk: the day's loss that halts new entries until the next day")
	fs.Usage = func() {
		fmt.Fprintln(usage, "usage: paperbot [flags]\n\nA moving-average bot on the paper broker; no account needed.\n\nflags:")
		fs.PrintDefaults()
		fmt.Fprintf(usage, "\nenvironment (the flags override it):\n  %s\tthe database file (default %s)\n  %s\tthe -http address (default none)\n",
			envDB, defaultDB, envHTTP)
	}
	if err := fs.Parse(args); err != nil {
		return cfg, "", err
	}
	if fs.NArg() > 0 {
		return cfg, "", fmt.Errorf("unexpected argument %q: paperbot takes flags only (see -h)", fs.Arg(0))
	}
	if memory {
		cfg.DB = ":memory:"
	}
	return cfg, addr, cfg.validate()
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

// runMain runs the bot, serving health and metrics on addr when it is set,
// and prints its summary.
func runMain(ctx context.Context, cfg Config, addr string, out io.Writer) error {
	if addr != "" {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("-http %s: %w", addr, err)
		}
		srv := &http.Server{ReadHeaderTimeout: 5 * time.Second}
		defer func() {
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = srv.Shutdown(sctx)
		}()
		cfg.serve = func(r *live.Runner, refused func() map[string]int) {
			h, err := health.New(health.Config{Ready: r.Checks(live.CheckConfig{}), Started: r.Started})
			if err != nil {
				fmt.Fprintln(out, "health:", err)
				return
			}
			mux := http.NewServeMux()
			mux.Handle("/health", h)
			mux.Handle("/health/", h)
			mux.HandleFunc("GET /health/metrics", func(w http.ResponseWriter, req *http.Request) {
				open, err := r.Tracker().Open(req.Context())
				if err != nil {
					http.Error(w, "open orders: "+err.Error(), http.StatusServiceUnavailable)
					return
				}
				st, why := r.Engine().State()
				w.Header().Set("Content-Type", "application/json")
				_ = json.NewEncoder(w).Encode(map[string]any{
					"open_orders": len(open), "stops": r.Supervisor().Totals(), "refused_by_rule": refused(),
					"trading_state": st.String(), "trading_reason": why, "heartbeat": r.Supervisor().Heartbeat(),
				})
			})
			srv.Handler = mux
			go func() { _ = srv.Serve(ln) }()
			fmt.Fprintf(out, "serving health and metrics on http://%s/health\n", ln.Addr())
		}
	}
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
