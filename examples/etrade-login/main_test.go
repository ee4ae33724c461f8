package main

import (
	"encoding/base64"
	"path/filepath"
	"strings"
	"testing"

	"github.com/arbiontrader/arbion/auth"
	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine is left running
// once they are done.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestRunAgainstEmulator(t *testing.T) {
	var stdout, stderr strings.Builder
	if code := run(t.Context(), []string{"-emulator", "-symbols", "AAPL,MSFT,NOPE"}, strings.NewReader(""), &stdout, &stderr); code != 0 {
		t.Fatalf("exit status %d\n%s%s", code, stdout.String(), stderr.String())
	}
	for _, want := range []string{"throwaway key", "verification code (from the emulator):", "logged in",
		"POSITION  QUANTITY  AVG COST\nAAPL      10        132.30\n",
		"QUOTE  BID     ASK     LAST\nAAPL   132.29  132.31  ", "MSFT   222.40  222.45  "} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, stdout.String())
		}
	}
	if strings.Contains(stdout.String(), "NOPE") {
		t.Errorf("an unknown symbol was printed:\n%s", stdout.String())
	}
}

// TestCommandLine runs the program as main does and asserts the exit status
// and what it printed where. No case reaches the network: each stops
// before the first request.
func TestCommandLine(t *testing.T) {
	goodKey := base64.StdEncoding.EncodeToString(make([]byte, auth.KeySize))
	tokens := filepath.Join(t.TempDir(), "tokens")
	creds := map[string]string{"ETRADE_CONSUMER_KEY": "k", "ETRADE_CONSUMER_SECRET": "s"}
	tests := []struct {
		name           string
		args           []string
		env            map[string]string
		stdin          string
		code           int
		stdout, stderr []string
	}{
		{name: "help", args: []string{"-h"}, code: 0, stdout: []string{"Usage: etrade-login [flags]", "-account", "-pin-stdin", "-token-key-file",
			"Environment:", "ETRADE_CONSUMER_KEY", "ETRADE_CONSUMER_SECRET", "ARBION_TOKEN_KEY", "openssl rand -base64 32"}},
		{name: "stray argument", args: []string{"-emulator", "extra"}, code: 2, stderr: []string{`etrade-login: unexpected argument "extra"`, "Run 'etrade-login -h'"}},
		{name: "stray argument first", args: []string{"extra", "-emulator"}, code: 2, stderr: []string{`unexpected argument "extra"`}},
		{name: "empty symbol", args: []string{"-emulator", "-symbols", "AAPL, MSFT"}, code: 2, stderr: []string{`-symbols "AAPL, MSFT"`}},
		{name: "bad bool", args: []string{"-emulator=maybe"}, code: 2, stderr: []string{`invalid boolean value "maybe" for -emulator`}},
		{name: "no account", args: nil, code: 2, stderr: []string{"-account is required"}},
		{name: "pin-stdin without the emulator", args: []string{"-account", "a", "-pin-stdin"}, code: 2, stderr: []string{"-pin-stdin is for -emulator"}},
		{name: "sandbox with the emulator", args: []string{"-emulator", "-sandbox"}, code: 2, stderr: []string{"no use with -emulator"}},
		{name: "token file with the emulator", args: []string{"-emulator", "-token-file", tokens}, code: 2, stderr: []string{"no use with -emulator"}},
		{name: "no credentials", args: []string{"-account", "a", "-token-file", tokens}, env: map[string]string{auth.KeyEnv: goodKey}, code: 1,
			stderr: []string{"etrade-login: set ETRADE_CONSUMER_KEY and ETRADE_CONSUMER_SECRET"}},
		{name: "no token key", args: []string{"-account", "a", "-token-file", tokens}, env: creds, code: 1,
			stderr: []string{"ARBION_TOKEN_KEY", "tokens are never stored unencrypted", "openssl rand -base64 32"}},
		{name: "token key of 16 bytes", args: []string{"-account", "a", "-token-file", tokens},
			env:  map[string]string{"ETRADE_CONSUMER_KEY": "k", "ETRADE_CONSUMER_SECRET": "s", auth.KeyEnv: base64.StdEncoding.EncodeToString(make([]byte, 16))},
			code: 1, stderr: []string{"decodes to 16 bytes, want 32"}},
		{name: "missing key file", args: []string{"-account", "a", "-token-file", tokens, "-token-key-file", filepath.Join(t.TempDir(), "none")},
			env: creds, code: 1, stderr: []string{"cannot read the key file", "openssl rand -base64 32"}},
		{name: "wrong PIN typed", args: []string{"-emulator", "-pin-stdin"}, stdin: "WRONG\n", code: 1,
			stdout: []string{"the emulator's page shows the code", "verification code: "}, stderr: []string{"etrade-login: ", "log in"}},
		{name: "nothing typed", args: []string{"-emulator", "-pin-stdin"}, code: 1,
			stderr: []string{"etrade-login: reading the verification code: EOF"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, name := range []string{"ETRADE_CONSUMER_KEY", "ETRADE_CONSUMER_SECRET", auth.KeyEnv} {
				t.Setenv(name, tt.env[name])
			}
			var stdout, stderr strings.Builder
			code := run(t.Context(), tt.args, strings.NewReader(tt.stdin), &stdout, &stderr)
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
			if tt.code == 2 && stdout.Len() > 0 {
				t.Errorf("stdout not empty on a usage error:\n%s", stdout.String())
			}
		})
	}
}
