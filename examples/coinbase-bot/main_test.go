package main

import (
	"context"
	"os"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine is left running
// once they are done.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestCommandLine runs the program as main does, on argument lists, and
// asserts the exit status and what it printed where.
func TestCommandLine(t *testing.T) {
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name     string
		ctx      context.Context // nil: a live one
		args     []string
		code     int
		stdout   []string // each printed to stdout
		stderr   []string // each printed to stderr
		noOutput bool     // stdout stays empty
		keyInEnv bool
	}{
		{name: "help", args: []string{"-h"}, code: 0,
			stdout: []string{"Usage: coinbase-bot [flags]", "-steps", "-emulator", "Environment:", "COINBASE_API_KEY_NAME", "COINBASE_API_PRIVATE_KEY"}},
		{name: "stray argument after the flags", args: []string{"-emulator", "extra"}, code: 2, noOutput: true,
			stderr: []string{`coinbase-bot: unexpected argument "extra"`, "Run 'coinbase-bot -h' for usage."}},
		{name: "stray argument before the flags", args: []string{"extra", "-emulator", "-steps", "5"}, code: 2, noOutput: true,
			stderr: []string{`unexpected argument "extra"`}},
		{name: "zero steps", args: []string{"-emulator", "-steps", "0"}, code: 2, noOutput: true, stderr: []string{"-steps 0: must be at least 1"}},
		{name: "negative steps", args: []string{"-emulator", "-steps=-3"}, code: 2, noOutput: true, stderr: []string{"-steps -3: must be at least 1"}},
		{name: "steps not a number", args: []string{"-steps", "many"}, code: 2, noOutput: true, stderr: []string{`invalid value "many" for flag -steps`}},
		{name: "negative quantity", args: []string{"-emulator", "-quantity", "-1"}, code: 2, noOutput: true, stderr: []string{`-quantity "-1": must be a positive decimal`}},
		{name: "quantity not a decimal", args: []string{"-emulator", "-quantity", "1,5"}, code: 2, noOutput: true, stderr: []string{`-quantity "1,5"`}},
		{name: "product without quote", args: []string{"-emulator", "-product", "BTCUSD"}, code: 2, noOutput: true, stderr: []string{`-product "BTCUSD": want BASE-QUOTE`}},
		{name: "undefined flag", args: []string{"-dry-run"}, code: 2, noOutput: true, stderr: []string{"flag provided but not defined: -dry-run"}},
		{name: "real mode without a key", args: []string{"-steps", "1"}, code: 1, noOutput: true,
			stderr: []string{"coinbase-bot: set COINBASE_API_KEY_NAME and COINBASE_API_PRIVATE_KEY"}},
		{name: "emulator ignores the key variables", args: []string{"-emulator", "-steps", "3"}, keyInEnv: true, code: 0,
			stdout: []string{"summary: BTC-USD, 3 steps"}},
		{name: "interrupted", ctx: canceled, args: []string{"-emulator", "-steps", "3"}, code: 130, noOutput: true,
			stderr: []string{"coinbase-bot: interrupted"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("COINBASE_API_KEY_NAME", "")
			t.Setenv("COINBASE_API_PRIVATE_KEY", "")
			if tt.keyInEnv {
				t.Setenv("COINBASE_API_KEY_NAME", "organizations/x/apiKeys/y")
				t.Setenv("COINBASE_API_PRIVATE_KEY", "not a key")
			}
			ctx := tt.ctx
			if ctx == nil {
				ctx = t.Context()
			}
			var stdout, stderr strings.Builder
			code := run(ctx, tt.args, &stdout, &stderr)
			if code != tt.code {
				t.Errorf("exit status %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.code, stdout.String(), stderr.String())
			}
			for _, want := range tt.stdout {
				if !strings.Contains(stdout.String(), want) {
					t.Errorf("stdout lacks %q:\n%s", want, stdout.String())
				}
			}
			for _, want := range tt.stderr {
				if !strings.Contains(stderr.String(), want) {
					t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
				}
			}
			if tt.noOutput && stdout.Len() > 0 {
				t.Errorf("stdout not empty:\n%s", stdout.String())
			}
			if tt.code == 0 && stderr.Len() > 0 {
				t.Errorf("stderr not empty on success:\n%s", stderr.String())
			}
		})
	}
}

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

// TestStreamsKeepTheBooks: with -stream the tracker follows the emulator's
// user channel and the supervisor its ticker. Ticks act between steps, so
// the run need not trade as the polling one does, but it trades and its
// books add up: every entry but an open position was exited once.
func TestStreamsKeepTheBooks(t *testing.T) {
	run := func(stream bool) Summary {
		cfg := defaultConfig()
		cfg.Emulator, cfg.Supervisor, cfg.Stream, cfg.Steps = true, true, stream, 300
		var out strings.Builder
		sum, err := Run(context.Background(), cfg, &out)
		if err != nil {
			t.Fatalf("stream %t: %v\n%s", stream, err, out.String())
		}
		return sum
	}
	for _, stream := range []bool{false, true} {
		sum := run(stream)
		open := 0
		if sum.Position.IsPositive() {
			open = 1
		}
		if sum.Entries < 2 || sum.Entries-sum.StopOuts-sum.TakeProfits != open || sum.Position.IsNegative() {
			t.Errorf("stream %t: %+v: want at least two entries, each exited once but an open one", stream, sum)
		}
	}
}
