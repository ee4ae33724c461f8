package main

import (
	"bytes"
	"context"
	"testing"
)

// TestQuickstartTrades: the README's first program replays the recorded
// series through the live runner and ends with the same books every time
// (the clock is the bars'), having traded.
func TestQuickstartTrades(t *testing.T) {
	t.Chdir("../..")
	var out bytes.Buffer
	if err := run(context.Background(), &out); err != nil {
		t.Fatal(err)
	}
	const want = "2600 bars, equity 110699.00, cash 110699.00\n"
	if out.String() != want {
		t.Errorf("quickstart printed %q, want %q", out.String(), want)
	}
}
