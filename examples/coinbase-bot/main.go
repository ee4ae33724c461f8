// Command coinbase-bot is a small bot on one Coinbase Advanced Trade
// product: it buys with a post-only limit order a little below the bid,
// protects the position with a stop-limit sell (STOP_DOWN: Coinbase spot has
// no stop-market order), takes profit with a limit sell, and starts again.
// Every order goes through arbion's risk engine first. With -supervisor,
// entries go through the order tracker and arbion's stop-loss supervisor
// protects each position with a stop-limit and a take-profit instead.
//
// With -emulator it runs against the in-process Coinbase emulator
// (coinbasetest) with a freshly generated test key and a seeded random-walk
// market, so it needs no account and no network:
//
//	go run ./examples/coinbase-bot -emulator -steps 200 -seed 7
//
// Without -emulator it trades for real with a CDP API key read from
// COINBASE_API_KEY_NAME and COINBASE_API_PRIVATE_KEY (PEM, literal \n
// accepted); the emulator's market simulation is then off and orders fill
// as the real market decides. `coinbase-bot -h` lists the flags and the
// environment. An interrupt (Ctrl-C, SIGTERM) stops it between steps; the
// orders already working at Coinbase (an entry, or the bracket protecting
// the position) stay there.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/arbiontrader/arbion/examples/internal/cli"
	"github.com/shopspring/decimal"
)

// program describes the command for its usage text and messages.
func program() cli.Program {
	return cli.Program{
		Name:    "coinbase-bot",
		Summary: "Trades one Coinbase Advanced Trade product: post-only entries, a bracket or the stop-loss supervisor, every order through the risk engine.",
		Env: []cli.Env{
			{Name: "COINBASE_API_KEY_NAME", Help: `CDP API key name, "organizations/.../apiKeys/..." (not read with -emulator)`},
			{Name: "COINBASE_API_PRIVATE_KEY", Help: `its EC private key, PEM (literal \n accepted; not read with -emulator)`},
		},
	}
}

func main() {
	ctx, stop := cli.SignalContext()
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is the whole program: it parses args, trades and returns the exit
// status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	p := program()
	fs := p.FlagSet()
	cfg, err := parse(p, fs, args)
	if err == nil {
		err = runMain(ctx, cfg, stdout)
	}
	return p.Exit(ctx, err, fs, stdout, stderr)
}

// parse reads the flags into a Config and the key from the environment.
func parse(p cli.Program, fs *flag.FlagSet, args []string) (Config, error) {
	cfg := defaultConfig()
	fs.BoolVar(&cfg.Emulator, "emulator", false, "run against the in-process emulator with a generated test key")
	fs.BoolVar(&cfg.Supervisor, "supervisor", false, "protect positions with the stop-loss supervisor (stop-limit and take-profit) instead of a bracket")
	fs.BoolVar(&cfg.Stream, "stream", false, "with -supervisor: follow Coinbase's WebSocket streams (orders and ticker); REST still reconciles each step")
	fs.StringVar(&cfg.Product, "product", cfg.Product, "product to trade, BASE-QUOTE")
	fs.IntVar(&cfg.Steps, "steps", cfg.Steps, "number of market steps, at least 1")
	fs.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "seed of the emulator's random walk")
	fs.StringVar(&cfg.Quantity, "quantity", cfg.Quantity, "base size of each entry, a positive decimal")
	if err := p.Parse(fs, args); err != nil {
		return cfg, err
	}
	if cfg.Steps < 1 {
		return cfg, cli.Usagef("-steps %d: must be at least 1", cfg.Steps)
	}
	if q, err := decimal.NewFromString(cfg.Quantity); err != nil || !q.IsPositive() {
		return cfg, cli.Usagef("-quantity %q: must be a positive decimal", cfg.Quantity)
	}
	if base, quote, ok := strings.Cut(cfg.Product, "-"); !ok || base == "" || quote == "" || strings.ContainsAny(cfg.Product, " \t") {
		return cfg, cli.Usagef("-product %q: want BASE-QUOTE, such as BTC-USD", cfg.Product)
	}
	if !cfg.Emulator {
		cfg.KeyName, cfg.PrivateKey = os.Getenv("COINBASE_API_KEY_NAME"), os.Getenv("COINBASE_API_PRIVATE_KEY")
	}
	return cfg, nil
}

func runMain(ctx context.Context, cfg Config, out io.Writer) error {
	sum, err := Run(ctx, cfg, out)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "summary: %s, %d steps: %d entries, %d stop-outs, %d take-profits, %d refused by risk, position %s, fees %s\n",
		cfg.Product, cfg.Steps, sum.Entries, sum.StopOuts, sum.TakeProfits, sum.Refused, sum.Position, sum.Fees)
	return nil
}
