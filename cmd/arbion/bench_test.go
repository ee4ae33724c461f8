package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// benchRun runs one command line b.N times against w, which must succeed.
func benchRun(b *testing.B, w *world, args ...string) {
	b.Helper()
	b.ReportAllocs()
	for b.Loop() {
		var out, errOut bytes.Buffer
		if code := run(context.Background(), args, strings.NewReader(""), &out, &errOut, w.getenv); code != exitOK {
			b.Fatalf("exit %d: %s%s", code, out.String(), errOut.String())
		}
	}
}

// BenchmarkQuote is one `arbion quote` invocation against the Schwab
// emulator: config, token file decryption, adapter, one quote request.
func BenchmarkQuote(b *testing.B) {
	w := newWorld(b, schwabName).ready()
	benchRun(b, w, "quote", "AAPL", "MSFT")
}

// BenchmarkPlace is one `arbion place --yes` invocation against the
// Coinbase emulator (which, unlike Schwab's, has no order rate limit by
// default): preview, the SQLite order store opened (schema checked), the
// order persisted, sent (a fresh JWT each request) and its answer persisted.
func BenchmarkPlace(b *testing.B) {
	w := newWorld(b, coinbaseName).ready()
	benchRun(b, w, "place", "buy", "0.01", "BTC-USD", "--limit", "100", "--tif", "gtc", "--yes")
}
