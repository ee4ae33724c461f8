package main

import (
	"context"
	"strings"
	"testing"
)

func TestRunAgainstEmulator(t *testing.T) {
	t.Setenv("ARBION_TOKEN_KEY", "")
	var out strings.Builder
	if err := run(t.Context(), []string{"-emulator", "-symbols", "AAPL,MSFT,NOPE"}, strings.NewReader(""), &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"verification code (from the emulator):", "logged in", "AAPL             10 @ 132.3",
		"AAPL     bid 132.29 ask 132.31", "MSFT     bid 222.4 ask 222.45"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "NOPE") {
		t.Errorf("an unknown symbol was printed:\n%s", out.String())
	}
}

func TestRunPINFromStdin(t *testing.T) {
	t.Setenv("ARBION_TOKEN_KEY", "")
	var out strings.Builder
	// The code is unknown until the emulator shows it, so feed a wrong one:
	// the login must be refused, not crash.
	err := run(context.Background(), []string{"-emulator", "-pin-stdin"}, strings.NewReader("WRONG\n"), &out)
	if err == nil || !strings.Contains(err.Error(), "log in") {
		t.Errorf("wrong PIN: %v, want a refusal saying to log in again", err)
	}
}

func TestNoKeyFailsClosed(t *testing.T) {
	t.Setenv("ARBION_TOKEN_KEY", "")
	err := run(context.Background(), []string{"-account", "x"}, strings.NewReader(""), &strings.Builder{})
	if err == nil || !strings.Contains(err.Error(), "ARBION_TOKEN_KEY") {
		t.Errorf("no key: %v", err)
	}
}
