package bars_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/arbiontrader/arbion/bars"
	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/errors"
	"github.com/google/go-cmp/cmp"
	"github.com/shopspring/decimal"
)

func d(s string) decimal.Decimal { return decimal.RequireFromString(s) }

// cmpDecimal compares decimals by value (1.0 equals 1.00).
var cmpDecimal = cmp.Comparer(func(a, b decimal.Decimal) bool { return a.Equal(b) })

func bar(sym string, iv broker.Interval, start time.Time, o, h, l, c, v string) broker.Bar {
	return broker.Bar{Symbol: sym, Interval: iv, Start: start, Open: d(o), High: d(h), Low: d(l), Close: d(c), Volume: d(v)}
}

var t0 = time.Date(2026, 3, 2, 14, 30, 0, 0, time.UTC)

func TestRead(t *testing.T) {
	tests := []struct {
		name string
		in   string
		opt  bars.Options
		want []broker.Bar
	}{
		{"RFC 3339 with an offset, symbol and interval given",
			"time,open,high,low,close,volume\n2026-03-02T09:30:00-05:00,10.00,10.50,9.90,10.25,1200\n2026-03-02T09:31:00-05:00,10.25,10.30,10.10,10.10,800.5\n",
			bars.Options{Symbol: "AAPL", Interval: broker.OneMinute},
			[]broker.Bar{bar("AAPL", "1m", t0, "10.00", "10.50", "9.90", "10.25", "1200"),
				bar("AAPL", "1m", t0.Add(time.Minute), "10.25", "10.30", "10.10", "10.10", "800.5")}},
		{"epoch seconds, columns in another order, symbol and interval columns, extra column, blank line",
			"Symbol,Interval,Volume,Close,Low,High,Open,Time,note\nBTC-USD,1h,0.5,100,99,101,100,1772461800,x\n\nBTC-USD,1h,0,100.1,100,100.2,100,1772465400,y\n",
			bars.Options{},
			[]broker.Bar{bar("BTC-USD", "1h", t0, "100", "101", "99", "100", "0.5"),
				bar("BTC-USD", "1h", t0.Add(time.Hour), "100", "100.2", "100", "100.1", "0")}},
		{"a gap stays a gap", "time,open,high,low,close,volume\n1772461800,1,1,1,1,1\n1772548200,2,2,2,2,2\n",
			bars.Options{Symbol: "X", Interval: broker.OneMinute},
			[]broker.Bar{bar("X", "1m", t0, "1", "1", "1", "1", "1"), bar("X", "1m", t0.Add(24*time.Hour), "2", "2", "2", "2", "2")}},
		{"header only", "time,open,high,low,close,volume\n", bars.Options{Symbol: "X", Interval: "1d"}, nil},
		{"byte order mark and spaces", "\ufefftime, open ,high,low,close,volume\n1772461800, 1 ,1,1,1,1\n",
			bars.Options{Symbol: "X", Interval: "1d"}, []broker.Bar{bar("X", "1d", t0, "1", "1", "1", "1", "1")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := bars.Read(strings.NewReader(tt.in), tt.opt)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, cmpDecimal); diff != "" {
				t.Errorf("Read (-want +got):\n%s", diff)
			}
		})
	}
}

// A precision no float64 holds survives the read.
func TestReadKeepsDecimalText(t *testing.T) {
	got, err := bars.Read(strings.NewReader("time,open,high,low,close,volume\n1772461800,0.1,0.30000000000000001,0.1,0.2,1\n"),
		bars.Options{Symbol: "X", Interval: "1d"})
	if err != nil {
		t.Fatal(err)
	}
	if s := got[0].High.String(); s != "0.30000000000000001" {
		t.Errorf("high = %s", s)
	}
}

func TestReadRefusesBadRows(t *testing.T) {
	const h = "time,open,high,low,close,volume\n"
	const ok = "1772461800,10,11,9,10,100\n"
	opt := bars.Options{Symbol: "AAPL", Interval: broker.OneMinute}
	tests := []struct {
		name      string
		in        string
		opt       bars.Options
		line, col int
		reasonHas string
	}{
		{"empty input", "", opt, 1, 0, "no header"},
		{"missing column", "time,open,high,low,close\n", opt, 1, 0, `no "volume"`},
		{"duplicate column", "time,open,high,low,close,volume,open\n", opt, 1, 7, "twice"},
		{"no symbol", h, bars.Options{Interval: "1m"}, 1, 0, "no symbol"},
		{"no interval", h, bars.Options{Symbol: "X"}, 1, 0, "no interval"},
		{"unknown interval option", h, bars.Options{Symbol: "X", Interval: "3m"}, 0, 0, "unknown interval"},
		{"bad time", h + ok + "yesterday,10,11,9,10,100\n", opt, 3, 1, "RFC 3339"},
		{"float text in a price", h + "1772461800,10,1e400x,9,10,100\n", opt, 2, 3, "not a decimal"},
		{"empty price", h + "1772461800,10,11,,10,100\n", opt, 2, 4, "not a decimal"},
		{"high below close", h + "1772461800,10,11,9,12,100\n", opt, 2, 3, "high 11 is below"},
		{"low above open", h + "1772461800,10,11,10.5,11,100\n", opt, 2, 4, "low 10.5 is above"},
		{"zero low", h + "1772461800,0,1,0,1,100\n", opt, 2, 4, "not positive"},
		{"negative volume", h + "1772461800,10,11,9,10,-1\n", opt, 2, 6, "negative"},
		{"duplicate start", h + ok + ok, opt, 3, 0, "strictly ascending"},
		{"out of order", h + "1772461860,10,11,9,10,100\n" + ok, opt, 3, 0, "strictly ascending"},
		{"overlapping", h + ok + "1772461830,10,11,9,10,100\n", opt, 3, 0, "before the previous bar ends"},
		{"short row", h + ok + "1772461860,10,11,9,10\n", opt, 3, 0, "5 fields"},
		{"bad quoting", h + ok + "1772461860,\"10,11,9,10,100\n", opt, 3, 0, "bad CSV"},
		{"symbol disagrees", "time,open,high,low,close,volume,symbol\n1772461800,10,11,9,10,100,MSFT\n", opt, 2, 7, `"MSFT"`},
		{"bad interval column", "time,open,high,low,close,volume,interval\n1772461800,10,11,9,10,100,2m\n",
			bars.Options{Symbol: "X"}, 2, 7, "unknown interval"},
		{"empty symbol column", "time,open,high,low,close,volume,symbol\n1772461800,10,11,9,10,100,\n",
			bars.Options{Interval: "1m"}, 2, 7, "empty symbol"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := bars.Read(strings.NewReader(tt.in), tt.opt)
			if !errors.Is(err, bars.ErrMalformedBars) {
				t.Fatalf("Read = %v, want ErrMalformedBars", err)
			}
			var re *bars.RowError
			if !errors.As(err, &re) {
				t.Fatalf("Read = %T, want *bars.RowError", err)
			}
			if re.Line != tt.line || (tt.col != 0 && re.Column != tt.col) {
				t.Errorf("line %d column %d, want line %d column %d (%v)", re.Line, re.Column, tt.line, tt.col, err)
			}
			if !strings.Contains(err.Error(), tt.reasonHas) {
				t.Errorf("error %q does not say %q", err, tt.reasonHas)
			}
		})
	}
}

func TestSeries(t *testing.T) {
	a := []broker.Bar{bar("A", "1m", t0, "1", "1", "1", "1", "1"), bar("A", "1m", t0.Add(time.Minute), "2", "2", "2", "2", "2"),
		bar("A", "1m", t0.Add(3*time.Minute), "3", "3", "3", "3", "3")}
	b := bar("B", "1d", t0, "5", "5", "5", "5", "5")
	s, err := bars.NewSeries(a[0], b, a[1], a[2])
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"A", "B"}, s.Symbols()); diff != "" {
		t.Errorf("Symbols: %s", diff)
	}
	tests := []struct {
		name string
		q    broker.BarQuery
		want []broker.Bar
	}{
		{"all", broker.BarQuery{Symbol: "A", Interval: "1m", From: t0, To: t0.Add(time.Hour)}, a},
		{"From inclusive, To exclusive", broker.BarQuery{Symbol: "A", Interval: "1m", From: t0.Add(time.Minute), To: t0.Add(3 * time.Minute)}, a[1:2]},
		{"between bars", broker.BarQuery{Symbol: "A", Interval: "1m", From: t0.Add(90 * time.Second), To: t0.Add(3 * time.Minute)}, nil},
		{"unknown symbol", broker.BarQuery{Symbol: "C", Interval: "1m", From: t0, To: t0.Add(time.Hour)}, nil},
		{"other symbol", broker.BarQuery{Symbol: "B", Interval: "1d", From: t0, To: t0.Add(time.Hour)}, []broker.Bar{b}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.Bars(context.Background(), tt.q)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, cmpDecimal, cmp.Comparer(func(x, y []broker.Bar) bool { return len(x) == 0 && len(y) == 0 || cmp.Equal(x, y, cmpDecimal) })); diff != "" {
				t.Errorf("Bars (-want +got):\n%s", diff)
			}
		})
	}
	for _, tt := range []struct {
		q    broker.BarQuery
		kind errors.Kind
	}{
		{broker.BarQuery{Symbol: "A", Interval: "5m", From: t0, To: t0.Add(time.Hour)}, errors.ErrNotSupported},
		{broker.BarQuery{Symbol: "A", Interval: "1m", From: t0, To: t0}, errors.ErrConfiguration},
		{broker.BarQuery{Symbol: "A", Interval: "1m", To: t0}, errors.ErrConfiguration},
	} {
		if _, err := s.Bars(context.Background(), tt.q); !errors.Is(err, tt.kind) {
			t.Errorf("Bars(%+v) = %v, want %s", tt.q, err, tt.kind)
		}
	}
}

func TestNewSeriesRefuses(t *testing.T) {
	ok := bar("A", "1m", t0, "1", "1", "1", "1", "1")
	tests := map[string][]broker.Bar{
		"bad bar":          {bar("A", "1m", t0, "2", "1", "1", "1", "1")},
		"duplicate":        {ok, ok},
		"mixed intervals":  {ok, bar("A", "5m", t0.Add(time.Hour), "1", "1", "1", "1", "1")},
		"unknown interval": {bar("A", "7m", t0, "1", "1", "1", "1", "1")},
	}
	for name, in := range tests {
		if _, err := bars.NewSeries(in...); !errors.Is(err, bars.ErrMalformedBars) {
			t.Errorf("%s: NewSeries = %v, want ErrMalformedBars", name, err)
		}
	}
}
