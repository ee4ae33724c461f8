package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestEmulatorRun(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"-emulator", "-symbols", "AAPL,MSFT,NOPE"}, strings.NewReader(""), &out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	got := out.String()
	for _, want := range []string{"tokens saved encrypted", "AAPL", "38", "227.81", "SPY", "MSFT", "415.10", "authenticated: true"} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "NOPE") {
		t.Errorf("an unknown symbol was printed:\n%s", got)
	}
}

func TestRealModeNeedsKeyAndCredentials(t *testing.T) {
	t.Setenv("SCHWAB_APP_KEY", "")
	t.Setenv("SCHWAB_APP_SECRET", "")
	var out bytes.Buffer
	if err := run(context.Background(), []string{"-account", "1"}, strings.NewReader(""), &out); err == nil {
		t.Error("ran without credentials")
	}
	t.Setenv("SCHWAB_APP_KEY", "k")
	t.Setenv("SCHWAB_APP_SECRET", "s")
	t.Setenv("ARBION_TOKEN_KEY", "")
	if err := run(context.Background(), []string{"-account", "1"}, strings.NewReader(""), &out); err == nil ||
		!strings.Contains(err.Error(), "ARBION_TOKEN_KEY") {
		t.Errorf("ran without a token key: %v", err)
	}
}
