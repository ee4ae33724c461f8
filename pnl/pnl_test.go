package pnl

import (
	"context"
	"testing"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/risk"
	"github.com/shopspring/decimal"
)

// quoter answers the prices it was given, stamped at its time.
type quoter struct {
	prices map[string]string
	at     time.Time
	err    error
}

func (q *quoter) Quotes(_ context.Context, symbols ...string) ([]broker.Quote, error) {
	if q.err != nil {
		return nil, q.err
	}
	var out []broker.Quote
	for _, s := range symbols {
		if p, ok := q.prices[s]; ok {
			out = append(out, broker.Quote{Symbol: s, Last: decimal.RequireFromString(p), Time: q.at})
		}
	}
	return out, nil
}

func d(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func ny(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skip("no tzdata:", err)
	}
	return loc
}

// step is one event of a scenario, then the P&L expected for the day of
// `at` (hand-computed in the comments).
type step struct {
	name     string
	at       time.Time
	side     broker.Side // zero with a mark only
	qty, px  string
	fee      string
	mark     string // the quote answered afterwards
	realized string
	unreal   string
}

func TestDailyPnLAcrossDayBoundary(t *testing.T) {
	loc := ny(t)
	day1 := func(h, m int) time.Time { return time.Date(2026, 1, 5, h, m, 0, 0, loc) }
	day2 := func(h, m int) time.Time { return time.Date(2026, 1, 6, h, m, 0, 0, loc) }
	steps := []step{
		// buy 100 @ 10, fee 1; marked 11: realized -1, unrealized 100×(11-10) = 100
		{name: "open long", at: day1(10, 0), side: broker.Buy, qty: "100", px: "10", fee: "1", mark: "11", realized: "-1", unreal: "100"},
		// sell 40 @ 12, fee 1: realized -1 + 40×(12-10) - 1 = 78; 60 left, marked 12: 60×2 = 120
		{name: "partial close", at: day1(15, 0), side: broker.Sell, qty: "40", px: "12", fee: "1", mark: "12", realized: "78", unreal: "120"},
		// 22:00 New York is 03:00 UTC the next day: still day 1 in New York
		{name: "late evening is the same day", at: day1(22, 0), mark: "12", realized: "78", unreal: "120"},
		// day 2: the basis is yesterday's last mark, 12; marked 11.5: 60×(11.5-12) = -30
		{name: "new day resets", at: day2(9, 31), mark: "11.5", realized: "0", unreal: "-30"},
		// sell 100 @ 11, fee 2: closes 60 at 11 against 12 (-60), fee -2 = -62; short 40 @ 11
		{name: "flip to short", at: day2(10, 0), side: broker.Sell, qty: "100", px: "11", fee: "2", mark: "11", realized: "-62", unreal: "0"},
		// marked 10.5: short 40 gains 40×0.5 = 20
		{name: "short gains", at: day2(11, 0), mark: "10.5", realized: "-62", unreal: "20"},
		// buy 40 @ 10.25 covers: 40×(11-10.25) = 30 → -32; flat
		{name: "cover", at: day2(12, 0), side: broker.BuyToCover, qty: "40", px: "10.25", fee: "0", mark: "10.25", realized: "-32", unreal: "0"},
	}
	q := &quoter{prices: map[string]string{}}
	src, err := New(Config{Quotes: q, Location: loc})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range steps {
		if s.qty != "" {
			src.Record("AAPL", s.side, broker.Fill{ExecID: s.name, Quantity: d(s.qty), Price: d(s.px), Fee: d(s.fee), Time: s.at})
		}
		q.prices["AAPL"], q.at = s.mark, s.at
		got, err := src.DailyPnL(context.Background(), src.DayStart(s.at))
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if !got.Realized.Equal(d(s.realized)) || !got.Unrealized.Equal(d(s.unreal)) {
			t.Errorf("%s: realized %s unrealized %s, want %s and %s", s.name, got.Realized, got.Unrealized, s.realized, s.unreal)
		}
	}
}

func TestUTCDayStartsAtUTCMidnight(t *testing.T) {
	loc := ny(t)
	q := &quoter{prices: map[string]string{"BTC-USD": "100"}}
	src, err := New(Config{Quotes: q, Location: time.UTC})
	if err != nil {
		t.Fatal(err)
	}
	evening := time.Date(2026, 1, 5, 22, 0, 0, 0, loc) // 03:00 UTC on the 6th
	src.Record("BTC-USD", broker.Buy, broker.Fill{ExecID: "1", Quantity: d("1"), Price: d("90"), Time: evening.Add(-6 * time.Hour)})
	q.at = evening
	got, err := src.DailyPnL(context.Background(), src.DayStart(evening))
	if err != nil {
		t.Fatal(err)
	}
	// The UTC day rolled at 19:00 New York with the last mark 90: only the move to 100 counts.
	if want := (risk.PnL{Realized: decimal.Zero, Unrealized: d("10")}); !got.Realized.Equal(want.Realized) || !got.Unrealized.Equal(want.Unrealized) {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestFailsClosed(t *testing.T) {
	day := time.Date(2026, 1, 5, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		name string
		q    *quoter
	}{
		{"quote error", &quoter{err: errors.New("down")}},
		{"no quote for a held symbol", &quoter{prices: map[string]string{}}},
		{"zero price", &quoter{prices: map[string]string{"AAPL": "0"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src, err := New(Config{Quotes: c.q, Location: time.UTC})
			if err != nil {
				t.Fatal(err)
			}
			src.Record("AAPL", broker.Buy, broker.Fill{ExecID: "1", Quantity: d("1"), Price: d("10"), Time: day})
			_, err = src.DailyPnL(context.Background(), src.DayStart(day))
			if !errors.Is(err, errors.ErrRiskDataUnavailable) {
				t.Fatalf("err = %v, want ErrRiskDataUnavailable", err)
			}
		})
	}
	src, _ := New(Config{Quotes: &quoter{}, Location: time.UTC})
	src.Mark("AAPL", d("10"), day)
	if _, err := src.DailyPnL(context.Background(), src.DayStart(day.Add(-24*time.Hour))); !errors.Is(err, errors.ErrRiskDataUnavailable) {
		t.Errorf("a past day: err = %v, want ErrRiskDataUnavailable", err)
	}
}

func TestSeedAndConfig(t *testing.T) {
	if _, err := New(Config{}); !errors.Is(err, errors.ErrConfiguration) {
		t.Errorf("no quoter: err = %v, want ErrConfiguration", err)
	}
	day := time.Date(2026, 1, 5, 12, 0, 0, 0, time.UTC)
	src, _ := New(Config{Quotes: &quoter{prices: map[string]string{"AAPL": "9"}, at: day}, Location: time.UTC})
	src.Seed([]broker.Position{{Instrument: broker.Instrument{Symbol: "AAPL"}, Quantity: d("10"), AvgCost: d("10")}})
	got, err := src.DailyPnL(context.Background(), src.DayStart(day))
	if err != nil {
		t.Fatal(err)
	}
	if !got.Total().Equal(d("-10")) {
		t.Errorf("seeded position marked 9 from cost 10: total %s, want -10", got.Total())
	}
}
