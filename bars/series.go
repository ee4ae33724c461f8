package bars

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/errors"
)

// Series is an in-memory [broker.BarSource] over fixed bars: one interval
// per symbol, each symbol's bars ascending. It is immutable once made and
// safe for concurrent use.
type Series struct {
	bySymbol map[string][]broker.Bar
}

var _ broker.BarSource = (*Series)(nil)

// NewSeries returns a Series over bars, which may mix symbols (each keeps
// one interval). The bars are copied. Each symbol's bars must be strictly
// ascending and not overlap, and each bar pass [Check], or a [*RowError]
// (Line 0) says which bar is wrong.
func NewSeries(bars ...broker.Bar) (*Series, error) {
	s := &Series{bySymbol: make(map[string][]broker.Bar)}
	for i, b := range bars {
		if err := Check(b); err != nil {
			err.(*RowError).Reason = fmt.Sprintf("bar %d: %s", i, err.(*RowError).Reason)
			return nil, err
		}
		b.Start = b.Start.UTC()
		prev := s.bySymbol[b.Symbol]
		if n := len(prev); n > 0 {
			last := prev[n-1]
			if last.Interval != b.Interval {
				return nil, &RowError{Name: "interval", Reason: fmt.Sprintf("bar %d: %s has interval %s, earlier bars %s",
					i, b.Symbol, b.Interval, last.Interval)}
			}
			if err := follows(0, last, b); err != nil {
				err.(*RowError).Reason = fmt.Sprintf("bar %d: %s", i, err.(*RowError).Reason)
				return nil, err
			}
		}
		s.bySymbol[b.Symbol] = append(prev, b)
	}
	return s, nil
}

// Bars returns q.Symbol's bars with q.From <= Start < q.To, oldest first,
// in a new slice. A symbol the series does not hold has no bars; an
// interval other than the symbol's is refused with an error matching
// errors.ErrNotSupported (the series does not resample); a query without
// a range, or with To not after From, matches errors.ErrConfiguration.
func (s *Series) Bars(ctx context.Context, q broker.BarQuery) ([]broker.Bar, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if q.From.IsZero() || q.To.IsZero() || !q.To.After(q.From) {
		return nil, &errors.BrokerError{Op: "bars", Kind: errors.ErrConfiguration,
			Message: fmt.Sprintf("the range [%s, %s) is empty or unset", q.From.Format(time.RFC3339), q.To.Format(time.RFC3339))}
	}
	all := s.bySymbol[q.Symbol]
	if len(all) == 0 {
		return nil, nil
	}
	if all[0].Interval != q.Interval {
		return nil, &errors.BrokerError{Op: "bars", Kind: errors.ErrNotSupported,
			Message: fmt.Sprintf("%s is held in %s bars, not %s", q.Symbol, all[0].Interval, q.Interval)}
	}
	lo := firstAtOrAfter(all, q.From)
	hi := firstAtOrAfter(all, q.To)
	return slices.Clone(all[lo:hi]), nil
}

// All returns every bar of symbol, oldest first, in a new slice.
func (s *Series) All(symbol string) []broker.Bar { return slices.Clone(s.bySymbol[symbol]) }

// Symbols returns the symbols the series holds, sorted.
func (s *Series) Symbols() []string {
	out := make([]string, 0, len(s.bySymbol))
	for sym := range s.bySymbol {
		out = append(out, sym)
	}
	slices.Sort(out)
	return out
}

// firstAtOrAfter is the index of the first bar starting at or after t.
func firstAtOrAfter(bars []broker.Bar, t time.Time) int {
	i, _ := slices.BinarySearchFunc(bars, t, func(b broker.Bar, t time.Time) int { return b.Start.Compare(t) })
	return i
}
