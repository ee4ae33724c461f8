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
// as the real market decides.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
)

func main() {
	cfg := defaultConfig()
	flag.BoolVar(&cfg.Emulator, "emulator", false, "run against the in-process emulator with a generated test key")
	flag.BoolVar(&cfg.Supervisor, "supervisor", false, "protect positions with the stop-loss supervisor (stop-limit and take-profit) instead of a bracket")
	flag.StringVar(&cfg.Product, "product", cfg.Product, "product to trade")
	flag.IntVar(&cfg.Steps, "steps", cfg.Steps, "number of market steps")
	flag.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "seed of the emulator's random walk")
	flag.StringVar(&cfg.Quantity, "quantity", cfg.Quantity, "base size of each entry")
	flag.Parse()
	cfg.KeyName, cfg.PrivateKey = os.Getenv("COINBASE_API_KEY_NAME"), os.Getenv("COINBASE_API_PRIVATE_KEY")

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := runMain(ctx, cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "coinbase-bot:", err)
		os.Exit(1)
	}
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
