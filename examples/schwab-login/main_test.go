package main

import (
	"context"
	"encoding/base64"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/arbiontrader/arbion/auth"
	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine is left running
// once they are done.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestEmulatorRun(t *testing.T) {
	var stdout, stderr strings.Builder
	if code := run(t.Context(), []string{"-emulator", "-symbols", "AAPL,MSFT,NOPE"}, strings.NewReader(""), &stdout, &stderr); code != 0 {
		t.Fatalf("exit status %d\n%s%s", code, stdout.String(), stderr.String())
	}
	got := stdout.String()
	for _, want := range []string{"throwaway key", "the tokens are stored encrypted",
		"POSITION  QUANTITY  AVG COST\nAAPL      38        227.81\nSPY       2         571.22\n",
		"QUOTE  BID     ASK     LAST\nAAPL   229.98  230.02  230.00\nMSFT   415.10  415.16  415.12\n", "authenticated: true"} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "NOPE") {
		t.Errorf("an unknown symbol was printed:\n%s", got)
	}
}

// TestCommandLine runs the program as main does and asserts the exit status
// and what it printed where. No case reaches the network: each stops
// before the first request.
func TestCommandLine(t *testing.T) {
	goodKey := base64.StdEncoding.EncodeToString(make([]byte, auth.KeySize))
	tokens := filepath.Join(t.TempDir(), "tokens.enc")
	tests := []struct {
		name           string
		args           []string
		env            map[string]string
		code           int
		stdout, stderr []string
	}{
		{name: "help", args: []string{"-h"}, code: 0, stdout: []string{"Usage: schwab-login [flags]", "-account", "-token-key-file",
			"Environment:", "SCHWAB_APP_KEY", "SCHWAB_APP_SECRET", "ARBION_TOKEN_KEY", "openssl rand -base64 32"}},
		{name: "stray argument", args: []string{"-emulator", "extra"}, code: 2, stderr: []string{`schwab-login: unexpected argument "extra"`, "Run 'schwab-login -h'"}},
		{name: "stray argument first", args: []string{"extra", "-emulator"}, code: 2, stderr: []string{`unexpected argument "extra"`}},
		{name: "empty symbol", args: []string{"-emulator", "-symbols", "AAPL,,MSFT"}, code: 2, stderr: []string{`-symbols "AAPL,,MSFT"`}},
		{name: "http redirect", args: []string{"-account", "1", "-redirect", "http://127.0.0.1/cb"}, code: 2, stderr: []string{`-redirect "http://127.0.0.1/cb"`}},
		{name: "no account", args: nil, code: 2, stderr: []string{"-account is required"}},
		{name: "account with the emulator", args: []string{"-emulator", "-account", "1"}, code: 2, stderr: []string{"-account has no use with -emulator"}},
		{name: "token file with the emulator", args: []string{"-emulator", "-token-file", tokens}, code: 2, stderr: []string{"no use with -emulator"}},
		{name: "undefined flag", args: []string{"-store", "x"}, code: 2, stderr: []string{"flag provided but not defined: -store"}},
		{name: "no credentials", args: []string{"-account", "1", "-token-file", tokens}, code: 1,
			stderr: []string{"schwab-login: set SCHWAB_APP_KEY and SCHWAB_APP_SECRET"}},
		{name: "no token key", args: []string{"-account", "1", "-token-file", tokens}, env: map[string]string{"SCHWAB_APP_KEY": "k", "SCHWAB_APP_SECRET": "s"},
			code: 1, stderr: []string{"ARBION_TOKEN_KEY", "tokens are never stored unencrypted", "openssl rand -base64 32"}},
		{name: "hex token key", args: []string{"-account", "1", "-token-file", tokens},
			env:  map[string]string{"SCHWAB_APP_KEY": "k", "SCHWAB_APP_SECRET": "s", "ARBION_TOKEN_KEY": strings.Repeat("0f", 32)},
			code: 1, stderr: []string{"looks like a hex key"}},
		{name: "missing key file", args: []string{"-account", "1", "-token-file", tokens, "-token-key-file", filepath.Join(t.TempDir(), "none")},
			env:  map[string]string{"SCHWAB_APP_KEY": "k", "SCHWAB_APP_SECRET": "s", "ARBION_TOKEN_KEY": goodKey},
			code: 1, stderr: []string{"cannot read the key file", "openssl rand -base64 32"}},
		{name: "nothing pasted", args: []string{"-account", "1", "-token-file", tokens},
			env:  map[string]string{"SCHWAB_APP_KEY": "k", "SCHWAB_APP_SECRET": "s", "ARBION_TOKEN_KEY": goodKey},
			code: 1, stdout: []string{"open this URL", "redirect URL: "}, stderr: []string{"schwab-login: reading the redirect URL: EOF"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, name := range []string{"SCHWAB_APP_KEY", "SCHWAB_APP_SECRET", auth.KeyEnv} {
				t.Setenv(name, tt.env[name])
			}
			var stdout, stderr strings.Builder
			code := run(t.Context(), tt.args, strings.NewReader(""), &stdout, &stderr)
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
			if tt.code != 0 && len(tt.stdout) == 0 && stdout.Len() > 0 {
				t.Errorf("stdout not empty on a refusal:\n%s", stdout.String())
			}
		})
	}
}

// TestInterruptWhileWaitingForThePaste: the signal ends the wait for the
// pasted URL (a blocking read of stdin would not), with status 130.
func TestInterruptWhileWaitingForThePaste(t *testing.T) {
	t.Setenv("SCHWAB_APP_KEY", "k")
	t.Setenv("SCHWAB_APP_SECRET", "s")
	t.Setenv(auth.KeyEnv, base64.StdEncoding.EncodeToString(make([]byte, auth.KeySize)))
	stdin, typing := io.Pipe()
	defer typing.Close() // stdin closing at exit ends the abandoned read
	ctx, interrupt := context.WithCancel(t.Context())
	defer interrupt()
	stdout := &promptWatch{prompt: "redirect URL: ", seen: make(chan struct{})}
	var stderr strings.Builder
	code := make(chan int, 1)
	go func() {
		code <- run(ctx, []string{"-account", "1", "-token-file", filepath.Join(t.TempDir(), "t.enc")}, stdin, stdout, &stderr)
	}()
	<-stdout.seen
	interrupt()
	if c := <-code; c != 130 || stderr.String() != "schwab-login: interrupted\n" {
		t.Errorf("exit status %d, stderr %q; want 130 and an interrupted line", c, stderr.String())
	}
}

// promptWatch is a stdout that closes seen once prompt was written.
type promptWatch struct {
	mu     sync.Mutex
	buf    strings.Builder
	prompt string
	seen   chan struct{}
	once   sync.Once
}

func (w *promptWatch) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if strings.Contains(w.buf.String(), w.prompt) {
		w.once.Do(func() { close(w.seen) })
	}
	return len(p), nil
}
