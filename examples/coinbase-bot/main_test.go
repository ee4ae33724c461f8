package main

import (
	"context"
	"os"
	"strings"
	"testing"
)

// Example runs the bot for 300 steps against the emulator: a seeded random
// walk, post-only entries below the bid, a bracket (take-profit limit and
// stop trigger) on each position, every order checked by the risk engine.
func Example() {
	cfg := defaultConfig()
	cfg.Emulator, cfg.Steps, cfg.Seed = true, 300, 7
	if err := runMain(context.Background(), cfg, os.Stdout); err != nil {
		panic(err)
	}
	// Output:
	// bought 0.01 BTC-USD @ 99955; bracket placed
	// stopped out @ 99755.09
	// bought 0.01 BTC-USD @ 99719.07; bracket placed
	// took profit @ 99918.51
	// bought 0.01 BTC-USD @ 99915.01; bracket placed
	// summary: BTC-USD, 300 steps: 3 entries, 1 stop-outs, 1 take-profits, 0 refused by risk, position 0.01, fees 19.9705072
}

// Example_supervisor runs the -supervisor mode: entries through the order
// tracker, each position protected by the stop-loss supervisor with a
// stop-limit (STOP_DOWN) and a take-profit.
func Example_supervisor() {
	cfg := defaultConfig()
	cfg.Emulator, cfg.Supervisor, cfg.Steps, cfg.Seed = true, true, 60, 1
	if err := runMain(context.Background(), cfg, os.Stdout); err != nil {
		panic(err)
	}
	// Output:
	// supervisor: stop placed BTC-USD stop 99808.96
	// supervisor: take-profit close BTC-USD stop 99808.96
	// supervisor: position closed BTC-USD stop 0
	// supervisor: stop placed BTC-USD stop 99994.54
	// summary: BTC-USD, 60 steps: 2 entries, 0 stop-outs, 1 take-profits, 0 refused by risk, position 0.01, fees 14.0216564
}

func TestRealModeNeedsAKey(t *testing.T) {
	cfg := defaultConfig()
	_, err := Run(context.Background(), cfg, os.Stdout)
	if err == nil || !strings.Contains(err.Error(), "COINBASE_API_KEY_NAME") {
		t.Fatalf("error %v, want a hint about the key", err)
	}
}

func TestBadQuantity(t *testing.T) {
	cfg := defaultConfig()
	cfg.Emulator, cfg.Quantity = true, "-1"
	if _, err := Run(context.Background(), cfg, os.Stdout); err == nil {
		t.Fatal("a negative quantity was accepted")
	}
}
