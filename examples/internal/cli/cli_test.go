package cli_test

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/arbiontrader/arbion/auth"
	"github.com/arbiontrader/arbion/broker"
	arbionerrors "github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/examples/internal/cli"
	"github.com/shopspring/decimal"
	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine is left running
// once they are done.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var testProgram = cli.Program{Name: "demo", Summary: "Demonstrates.", Env: []cli.Env{{Name: "DEMO_KEY", Help: "the key"}}}

// runDemo is a program with one flag, run as the examples run.
func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := testProgram.FlagSet()
	n := fs.Int("n", 1, "how many, at least 1")
	err := testProgram.Parse(fs, args)
	if err == nil && *n < 1 {
		err = cli.Usagef("-n %d: must be at least 1", *n)
	}
	if err == nil && *n == 99 {
		err = errors.New("ninety-nine refused")
	}
	if err == nil && *n == 7 {
		<-ctx.Done()
		err = ctx.Err()
	}
	return testProgram.Exit(ctx, err, fs, stdout, stderr)
}

func TestExit(t *testing.T) {
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name           string
		ctx            context.Context
		args           []string
		code           int
		stdout, stderr string // exact
	}{
		{"ok", nil, []string{"-n", "2"}, 0, "", ""},
		{"help", nil, []string{"-h"}, 0, "Usage: demo [flags]\n\nDemonstrates.\n\nFlags:\n  -n int\n    \thow many, at least 1 (default 1)\n\nEnvironment:\n  DEMO_KEY  the key\n", ""},
		{"long help", nil, []string{"-help"}, 0, "Usage: demo [flags]\n\nDemonstrates.\n\nFlags:\n  -n int\n    \thow many, at least 1 (default 1)\n\nEnvironment:\n  DEMO_KEY  the key\n", ""},
		{"positional", nil, []string{"x", "-n", "2"}, 2, "", "demo: unexpected argument \"x\" (demo takes flags only)\nRun 'demo -h' for usage.\n"},
		{"positional after the flags", nil, []string{"-n", "2", "x"}, 2, "", "demo: unexpected argument \"x\" (demo takes flags only)\nRun 'demo -h' for usage.\n"},
		{"bad value", nil, []string{"-n", "two"}, 2, "", "demo: invalid value \"two\" for flag -n: parse error\nRun 'demo -h' for usage.\n"},
		{"out of range", nil, []string{"-n", "0"}, 2, "", "demo: -n 0: must be at least 1\nRun 'demo -h' for usage.\n"},
		{"undefined flag", nil, []string{"-m"}, 2, "", "demo: flag provided but not defined: -m\nRun 'demo -h' for usage.\n"},
		{"failure", nil, []string{"-n", "99"}, 1, "", "demo: ninety-nine refused\n"},
		{"interrupted", canceled, []string{"-n", "7"}, 130, "", "demo: interrupted\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := tt.ctx
			if ctx == nil {
				ctx = t.Context()
			}
			var stdout, stderr strings.Builder
			if code := runDemo(ctx, tt.args, &stdout, &stderr); code != tt.code {
				t.Errorf("exit status %d, want %d", code, tt.code)
			}
			if stdout.String() != tt.stdout {
				t.Errorf("stdout:\n%q\nwant:\n%q", stdout.String(), tt.stdout)
			}
			if stderr.String() != tt.stderr {
				t.Errorf("stderr:\n%q\nwant:\n%q", stderr.String(), tt.stderr)
			}
		})
	}
}

// TestSignalContext sends the process each signal the programs stop on:
// the context ends, and the process is not killed.
func TestSignalContext(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			ctx, stop := cli.SignalContext()
			defer stop()
			if err := syscall.Kill(os.Getpid(), sig); err != nil {
				t.Fatal(err)
			}
			select {
			case <-ctx.Done():
			case <-time.After(10 * time.Second): // a deadline for a failing test, not a synchronisation
				t.Fatalf("%s did not cancel the context", sig)
			}
		})
	}
}

func TestTokenKey(t *testing.T) {
	good := base64.StdEncoding.EncodeToString(make([]byte, auth.KeySize))
	dir := t.TempDir()
	file := filepath.Join(dir, "key")
	if err := os.WriteFile(file, []byte(good+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, env, path string
		kind            arbionerrors.Kind // "" for success
		hint            string
	}{
		{"from the environment", good, "", "", ""},
		{"from a file, which wins", "", file, "", ""},
		{"unset", "", "", arbionerrors.ErrEncryptionKeyMissing, "openssl rand -base64 32"},
		{"hex refused", strings.Repeat("ab", auth.KeySize), "", arbionerrors.ErrConfiguration, "hex"},
		{"missing file", good, filepath.Join(dir, "none"), arbionerrors.ErrEncryptionKeyMissing, "openssl rand -base64 32"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(auth.KeyEnv, tt.env)
			key, err := cli.TokenKey(tt.path)
			if tt.kind == "" {
				if err != nil || len(key) != auth.KeySize {
					t.Fatalf("TokenKey = %d bytes, %v", len(key), err)
				}
				return
			}
			if !arbionerrors.Is(err, tt.kind) || !strings.Contains(err.Error(), tt.hint) {
				t.Fatalf("TokenKey error = %v, want %s mentioning %q", err, tt.kind, tt.hint)
			}
		})
	}
}

func TestReadLine(t *testing.T) {
	for _, tt := range []struct{ in, want string }{{"abc\n", "abc"}, {"abc\r\nrest", "abc"}, {"no newline", "no newline"}} {
		if got, err := cli.ReadLine(t.Context(), strings.NewReader(tt.in)); err != nil || got != tt.want {
			t.Errorf("ReadLine(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	if _, err := cli.ReadLine(t.Context(), strings.NewReader("")); !errors.Is(err, io.EOF) {
		t.Errorf("ReadLine of nothing: %v, want EOF", err)
	}
	// Nothing is typed; the interrupt ends the wait. Closing the pipe (stdin
	// at exit) then ends the read.
	r, w := io.Pipe()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := cli.ReadLine(ctx, r); !errors.Is(err, context.Canceled) {
		t.Errorf("ReadLine after an interrupt: %v", err)
	}
	w.Close()
}

func TestPrintPortfolio(t *testing.T) {
	d := decimal.RequireFromString
	var out strings.Builder
	err := cli.PrintPortfolio(&out,
		[]broker.Position{{Instrument: broker.Instrument{Symbol: "AAPL"}, Quantity: d("38"), AvgCost: d("227.8")},
			{Instrument: broker.Instrument{Symbol: "BTC-USD"}, Quantity: d("0.015"), AvgCost: d("99719.0725")}},
		[]broker.Quote{{Symbol: "AAPL", Bid: d("229.98"), Ask: d("230.02"), Last: d("230")}})
	want := "POSITION  QUANTITY  AVG COST\n" +
		"AAPL      38        227.80\n" +
		"BTC-USD   0.015     99719.0725\n" +
		"\n" +
		"QUOTE  BID     ASK     LAST\n" +
		"AAPL   229.98  230.02  230.00\n"
	if err != nil || out.String() != want {
		t.Errorf("PrintPortfolio = %v\n%s\nwant:\n%s", err, out.String(), want)
	}
	out.Reset()
	if err := cli.PrintPortfolio(&out, nil, nil); err != nil || out.String() != "POSITION  QUANTITY  AVG COST\n(none)\n\nQUOTE  BID  ASK  LAST\n" {
		t.Errorf("empty PrintPortfolio = %v %q", err, out.String())
	}
}

func TestSymbols(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    []string
		wantErr string
	}{
		{in: "AAPL", want: []string{"AAPL"}},
		{in: "AAPL,MSFT", want: []string{"AAPL", "MSFT"}},
		{in: "", wantErr: `-symbols "": want symbols separated by commas`},
		{in: "AAPL,", wantErr: `-symbols "AAPL,": want symbols`},
		{in: "AAPL, MSFT", wantErr: `-symbols "AAPL, MSFT": want symbols`},
	} {
		got, err := cli.Symbols("symbols", tc.in)
		var usage *cli.UsageError
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("Symbols(%q): %v", tc.in, err)
		case tc.wantErr != "" && (!errors.As(err, &usage) || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("Symbols(%q) error %v, want a usage error containing %q", tc.in, err, tc.wantErr)
		case strings.Join(got, "|") != strings.Join(tc.want, "|"):
			t.Errorf("Symbols(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
