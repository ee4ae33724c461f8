package risk_test

import (
	"context"
	"testing"
)

// The benchmarks run the first ten rules of allRules: order quantity and
// notional, position quantity and notional, gross exposure, concentration,
// daily loss, orders per day, order rate and price band, against a book of
// two positions (a long and a short).

func BenchmarkCheckTenRules(b *testing.B) {
	e := newEngine(b, fineSources(), newClock(t0), allRules()[:10]...)
	ctx := context.Background()
	in, err := e.Gather(ctx, fineOrder())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := e.Check(ctx, in); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPreTradeTenRules adds gathering from in-memory sources, the
// reservation and its settlement.
func BenchmarkPreTradeTenRules(b *testing.B) {
	e := newEngine(b, fineSources(), newClock(t0), allRules()[:10]...)
	ctx := context.Background()
	req := fineOrder()
	b.ReportAllocs()
	for b.Loop() {
		settle, err := e.PreTrade(ctx, req)
		if err != nil {
			b.Fatal(err)
		}
		settle(false)
	}
}
