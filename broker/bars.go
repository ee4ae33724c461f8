package broker

import (
	"context"
	"slices"
	"time"

	"github.com/shopspring/decimal"
)

// Interval is the length of one bar. Each adapter supports a subset, listed
// in Capabilities.BarIntervals; asking for another is an error matching
// errors.ErrNotSupported.
type Interval string

// The bar intervals arbion knows. OneDay, OneWeek and OneMonth bars start at the
// broker's session boundary (Schwab: 00:00 US Central; Coinbase: 00:00
// UTC).
const (
	OneMinute      Interval = "1m"
	FiveMinutes    Interval = "5m"
	TenMinutes     Interval = "10m"
	FifteenMinutes Interval = "15m"
	ThirtyMinutes  Interval = "30m"
	OneHour        Interval = "1h"
	TwoHours       Interval = "2h"
	FourHours      Interval = "4h"
	SixHours       Interval = "6h"
	OneDay         Interval = "1d"
	OneWeek        Interval = "1w"
	OneMonth       Interval = "1mo"
)

// Duration returns the interval's nominal length (a month counts 30 days,
// for paging arithmetic only) and false for an unknown interval.
func (iv Interval) Duration() (time.Duration, bool) {
	switch iv {
	case OneMinute:
		return time.Minute, true
	case FiveMinutes:
		return 5 * time.Minute, true
	case TenMinutes:
		return 10 * time.Minute, true
	case FifteenMinutes:
		return 15 * time.Minute, true
	case ThirtyMinutes:
		return 30 * time.Minute, true
	case OneHour:
		return time.Hour, true
	case TwoHours:
		return 2 * time.Hour, true
	case FourHours:
		return 4 * time.Hour, true
	case SixHours:
		return 6 * time.Hour, true
	case OneDay:
		return 24 * time.Hour, true
	case OneWeek:
		return 7 * 24 * time.Hour, true
	case OneMonth:
		return 30 * 24 * time.Hour, true
	}
	return 0, false
}

// Bar is one OHLCV bar.
type Bar struct {
	// Symbol is the instrument's symbol as the broker names it.
	Symbol string `json:"symbol"`
	// Start is when the bar opens, in UTC.
	Start time.Time `json:"start"`
	// Interval is the bar's length.
	Interval Interval `json:"interval"`
	// Open, High, Low and Close are prices in the quote currency.
	Open  decimal.Decimal `json:"open"`
	High  decimal.Decimal `json:"high"`
	Low   decimal.Decimal `json:"low"`
	Close decimal.Decimal `json:"close"`
	// Volume is the traded quantity (shares, or base units for crypto).
	Volume decimal.Decimal `json:"volume"`
	// Provisional marks the bar still forming (its interval has not ended):
	// its figures may change on the next request.
	Provisional bool `json:"provisional,omitempty"`
}

// End returns when the bar closes: Start plus its interval's nominal length
// (OneMonth bars: the first of the next month).
func (b Bar) End() time.Time {
	if b.Interval == OneMonth {
		return b.Start.AddDate(0, 1, 0)
	}
	d, _ := b.Interval.Duration()
	return b.Start.Add(d)
}

// BarQuery asks for the bars of one symbol over [From, To).
type BarQuery struct {
	// Symbol is the instrument (a product id such as "BTC-USD" for
	// Coinbase).
	Symbol string
	// Interval is the bar length; it must be in Capabilities.BarIntervals.
	Interval Interval
	// From and To bound the bars' start times: From <= Start < To. Both are
	// required; To after From.
	From, To time.Time
	// ExtendedHours includes pre- and post-market bars where the broker has
	// them (Schwab intraday).
	ExtendedHours bool
}

// BarSource returns price history. Bars come oldest first, one per start
// time, with no bar synthesised where the broker has none (a gap stays a
// gap). Adapters page long ranges themselves.
type BarSource interface {
	Bars(ctx context.Context, q BarQuery) ([]Bar, error)
}

// NormalizeBars puts bars as a [BarSource] returns them: sorted by start,
// one per start (the later in bars wins: a later page is fresher), only
// those with q.From <= Start < q.To, and Provisional set on the bar whose
// interval has not ended at now. It reuses bars' backing array.
func NormalizeBars(bars []Bar, q BarQuery, now time.Time) []Bar {
	slices.SortStableFunc(bars, func(a, b Bar) int { return a.Start.Compare(b.Start) })
	out := bars[:0]
	for _, bar := range bars {
		if bar.Start.Before(q.From) || !bar.Start.Before(q.To) {
			continue
		}
		if n := len(out); n > 0 && out[n-1].Start.Equal(bar.Start) {
			out[n-1] = bar
			continue
		}
		out = append(out, bar)
	}
	for i := range out {
		out[i].Provisional = now.Before(out[i].End())
	}
	return slices.Clip(out)
}
