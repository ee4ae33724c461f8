package risk_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/risk"
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

// bookSource holds a book of n positions in n symbols, each quoted: the
// market data a gross-exposure rule needs marks for.
type bookSource struct {
	positions []broker.Position
	quotes    map[string]broker.Quote
}

func newBook(n int, at time.Time) *bookSource {
	s := &bookSource{quotes: make(map[string]broker.Quote, n+1)}
	for i := range n {
		sym := fmt.Sprintf("S%05d", i)
		s.positions = append(s.positions, position(sym, "10"))
		s.quotes[sym] = quote(sym, "99", "101", "100", at)
	}
	s.quotes["AAPL"] = quote("AAPL", "199", "201", "200", at)
	return s
}

func (s *bookSource) Positions(context.Context) ([]broker.Position, error) { return s.positions, nil }

func (s *bookSource) Quotes(_ context.Context, symbols ...string) ([]broker.Quote, error) {
	out := make([]broker.Quote, 0, len(symbols))
	for _, sym := range symbols {
		if q, ok := s.quotes[sym]; ok {
			out = append(out, q)
		}
	}
	return out, nil
}

// BenchmarkPreTradeBook checks one order against a book of n positions in n
// symbols with a rule that values every holding (gross exposure): linear
// in n is the goal, at most 5 ms at 10,000.
func BenchmarkPreTradeBook(b *testing.B) {
	for _, n := range []int{100, 1_000, 10_000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			src := newBook(n, t0)
			e, err := risk.NewEngine(risk.Config{
				Rules:     []risk.Rule{risk.MaxGrossExposure{Limit: dec("1000000000")}},
				Positions: src, MarketData: src, Location: time.UTC, MaxQuoteAge: 5 * time.Second,
				Clock: newClock(t0),
			})
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			req := limitOrder(broker.Buy, "AAPL", "1", "200")
			b.ReportAllocs()
			for b.Loop() {
				settle, err := e.PreTrade(ctx, req)
				if err != nil {
					b.Fatal(err)
				}
				settle(false)
			}
		})
	}
}

// BenchmarkPreTradeHalted is the cost of a refusal while trading is halted:
// the halt is checked before anything else.
func BenchmarkPreTradeHalted(b *testing.B) {
	e := newEngine(b, fineSources(), newClock(t0), allRules()[:10]...)
	ctx := context.Background()
	if err := e.SetState(ctx, risk.Halted, "bench"); err != nil {
		b.Fatal(err)
	}
	req := fineOrder()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.PreTrade(ctx, req); err == nil {
			b.Fatal("a halted engine let an order through")
		}
	}
}
