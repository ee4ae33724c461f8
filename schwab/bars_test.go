package schwab

import (
	"context"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/schwab/schwabtest"
	"github.com/google/go-cmp/cmp"
)

func bar(sym string, iv broker.Interval, ms int64, o, h, l, c, v string) broker.Bar {
	return broker.Bar{Symbol: sym, Start: time.UnixMilli(ms).UTC(), Interval: iv,
		Open: dec(o), High: dec(h), Low: dec(l), Close: dec(c), Volume: dec(v)}
}

// The official minute example decodes to its seven bars, exact to the
// literal, oldest first; previousClose is ignored.
func TestPriceHistoryMinuteFixture(t *testing.T) {
	got, err := decodeCandles(fixture(t, "marketdata/pricehistory_minute_official.json"), "AAPL", broker.OneMinute)
	if err != nil {
		t.Fatal(err)
	}
	want := []broker.Bar{
		bar("AAPL", broker.OneMinute, 1639137600000, "175.01", "175.15", "175.01", "175.04", "10719"),
		bar("AAPL", broker.OneMinute, 1639137660000, "175.08", "175.09", "175.05", "175.05", "500"),
		bar("AAPL", broker.OneMinute, 1640307300000, "176.22", "176.27", "176.22", "176.25", "3395"),
		bar("AAPL", broker.OneMinute, 1640307360000, "176.26", "176.27", "176.26", "176.26", "2174"),
		bar("AAPL", broker.OneMinute, 1640307420000, "176.26", "176.31", "176.26", "176.3", "15401"),
		bar("AAPL", broker.OneMinute, 1640307480000, "176.3", "176.3", "176.3", "176.3", "1700"),
		bar("AAPL", broker.OneMinute, 1640307540000, "176.3", "176.5", "176.3", "176.32", "5941"),
	}
	if diff := cmp.Diff(want, got, decimalEqual); diff != "" {
		t.Errorf("bars (-want +got):\n%s", diff)
	}
	// 07:00 ET: the pre-market's first minute.
	if s := got[0].Start.Format(time.RFC3339); s != "2021-12-10T12:00:00Z" {
		t.Errorf("first bar at %s", s)
	}
}

// The monthly capture (Nov 2023 – Oct 2024, taken in October) keeps its
// sub-penny prices and Central-midnight stamps; at a clock inside October
// the October bar is the forming one, and only it.
func TestPriceHistoryMonthlyFixture(t *testing.T) {
	raw, err := decodeCandles(fixture(t, "marketdata/pricehistory_monthly_aapl.json"), "AAPL", broker.OneMonth)
	if err != nil {
		t.Fatal(err)
	}
	if len(raw) != 12 {
		t.Fatalf("%d bars", len(raw))
	}
	q := broker.BarQuery{Symbol: "AAPL", Interval: broker.OneMonth,
		From: time.Date(2023, 11, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2024, 11, 1, 0, 0, 0, 0, time.UTC)}
	got := broker.NormalizeBars(raw, q, time.Date(2024, 10, 15, 16, 0, 0, 0, time.UTC))
	want := []broker.Bar{
		bar("AAPL", broker.OneMonth, 1698814800000, "171.0", "192.93", "170.12", "189.95", "1099760711"),
		bar("AAPL", broker.OneMonth, 1701410400000, "190.33", "199.62", "187.4511", "192.53", "1063181128"),
	}
	if diff := cmp.Diff(want, got[:2], decimalEqual); diff != "" {
		t.Errorf("first bars (-want +got):\n%s", diff)
	}
	if !got[5].Low.Equal(dec("164.075")) {
		t.Errorf("April low %s, want 164.075", got[5].Low)
	}
	for i, b := range got {
		if b.Provisional != (i == len(got)-1) {
			t.Errorf("bar %d (%s) provisional %v", i, b.Start.Format(time.DateOnly), b.Provisional)
		}
	}
	// 1698814800000 is 2023-11-01 00:00 CDT, 1701410400000 2023-12-01 00:00 CST.
	chicago, err := time.LoadLocation("America/Chicago")
	if err != nil {
		t.Skip("no tz database:", err)
	}
	for _, b := range got {
		if c := b.Start.In(chicago); c.Day() != 1 || c.Hour() != 0 {
			t.Errorf("monthly bar at %v Chicago", c)
		}
	}
}

func TestPriceHistoryDecodeEdges(t *testing.T) {
	cases := []struct {
		name, body string
		bars       int
		malformed  bool
	}{
		{"empty true", `{"candles":[],"symbol":"AAPL","empty":true}`, 0, false},
		{"empty without candles", `{"symbol":"AAPL","empty":true}`, 0, false},
		{"price as string", `{"candles":[{"open":"1.5","high":2,"low":1,"close":1.75,"volume":3,"datetime":1639137600000}]}`, 1, false},
		{"seconds date", `{"candles":[{"open":1,"high":1,"low":1,"close":1,"volume":1,"datetime":1639137600}]}`, 0, true},
		{"no date", `{"candles":[{"open":1,"high":1,"low":1,"close":1,"volume":1}]}`, 0, true},
		{"fractional date", `{"candles":[{"open":1,"high":1,"low":1,"close":1,"volume":1,"datetime":1639137600000.5}]}`, 0, true},
		{"huge exponent", `{"candles":[{"open":1e999999999,"high":1,"low":1,"close":1,"volume":1,"datetime":1639137600000}]}`, 0, true},
		{"not JSON", `<html>`, 0, true},
		{"trailing junk", `{"candles":[]} x`, 0, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decodeCandles([]byte(tc.body), "AAPL", broker.OneMinute)
			if tc.malformed {
				if !errors.Is(err, errors.ErrMalformedResponse) {
					t.Fatalf("err %v, want ErrMalformedResponse", err)
				}
				return
			}
			if err != nil || len(got) != tc.bars {
				t.Fatalf("%d bars, %v", len(got), err)
			}
		})
	}
}

// Sorting, de-duplication (the later answer wins) and the [From, To)
// filter.
func TestFinishBars(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 14, 30, 0, 0, time.UTC)
	mk := func(min int, close string) broker.Bar {
		return broker.Bar{Symbol: "X", Interval: broker.OneMinute, Start: t0.Add(time.Duration(min) * time.Minute),
			Open: dec("1"), High: dec("1"), Low: dec("1"), Close: dec(close), Volume: dec("1")}
	}
	in := []broker.Bar{mk(3, "3"), mk(1, "1"), mk(2, "2"), mk(-1, "9"), mk(2, "2.5"), mk(5, "5"), mk(4, "4")}
	q := broker.BarQuery{Symbol: "X", Interval: broker.OneMinute, From: t0, To: t0.Add(5 * time.Minute)}
	got := broker.NormalizeBars(in, q, t0.Add(4*time.Minute+30*time.Second))
	var closes []string
	var prov []bool
	for _, b := range got {
		closes = append(closes, b.Close.String())
		prov = append(prov, b.Provisional)
	}
	if diff := cmp.Diff([]string{"1", "2.5", "3", "4"}, closes); diff != "" {
		t.Errorf("closes (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]bool{false, false, false, true}, prov); diff != "" {
		t.Errorf("provisional (-want +got):\n%s", diff)
	}
}

// What Schwab would refuse, or cannot serve, is refused before sending.
func TestBarsRefusedLocally(t *testing.T) {
	r := newRig(t, schwabtest.Config{}, nil)
	from := testStart.Add(-24 * time.Hour)
	cases := []struct {
		name string
		q    broker.BarQuery
		kind errors.Kind
	}{
		{"hourly", broker.BarQuery{Symbol: "AAPL", Interval: broker.OneHour, From: from, To: testStart}, errors.ErrNotSupported},
		{"four hours", broker.BarQuery{Symbol: "AAPL", Interval: broker.FourHours, From: from, To: testStart}, errors.ErrNotSupported},
		{"unknown interval", broker.BarQuery{Symbol: "AAPL", Interval: "3m", From: from, To: testStart}, errors.ErrNotSupported},
		{"option", broker.BarQuery{Symbol: "AAPL  241018C00005000", Interval: broker.OneDay, From: from, To: testStart}, errors.ErrNotSupported},
		{"no symbol", broker.BarQuery{Interval: broker.OneDay, From: from, To: testStart}, errors.ErrInvalidOrder},
		{"no range", broker.BarQuery{Symbol: "AAPL", Interval: broker.OneDay}, errors.ErrInvalidOrder},
		{"reversed", broker.BarQuery{Symbol: "AAPL", Interval: broker.OneDay, From: testStart, To: from}, errors.ErrInvalidOrder},
		{"empty range", broker.BarQuery{Symbol: "AAPL", Interval: broker.OneDay, From: from, To: from}, errors.ErrInvalidOrder},
		{"decades of minutes", broker.BarQuery{Symbol: "AAPL", Interval: broker.OneMinute, From: testStart.AddDate(-12, 0, 0), To: testStart}, errors.ErrInvalidOrder},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			bars, err := r.b.Bars(context.Background(), tc.q)
			var be *errors.BrokerError
			if !errors.Is(err, tc.kind) || !errors.As(err, &be) || be.Broker != Name || bars != nil {
				t.Fatalf("Bars = %d bars, %v; want %s", len(bars), err, tc.kind)
			}
		})
	}
	if n := r.emu.Count(schwabtest.RoutePriceHistory); n != 0 {
		t.Errorf("%d requests sent for refused queries", n)
	}
}

// Eleven days of regular-session minute bars arrive in two windows and
// merge into exactly 7 weekdays × 390 bars, ascending, unique, in range;
// each request carries the full combination with ms bounds.
func TestBarsMinuteWindowsEndToEnd(t *testing.T) {
	r := newRig(t, schwabtest.Config{}, nil)
	r.clock.SetAutoAdvance(true) // the 120-a-minute limiter spaces the windows on the fake clock
	q := broker.BarQuery{Symbol: "AAPL", Interval: broker.OneMinute,
		From: time.Date(2026, 2, 19, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)}
	bars, err := r.b.Bars(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	if len(bars) != 7*390 {
		t.Fatalf("%d bars, want %d", len(bars), 7*390)
	}
	checkBars(t, bars, q)
	reqs := r.emu.Requests()
	var sent []url.Values
	for _, rr := range reqs {
		if rr.Route == schwabtest.RoutePriceHistory {
			v, _ := url.ParseQuery(rr.Query)
			sent = append(sent, v)
		}
	}
	if len(sent) != 2 {
		t.Fatalf("%d requests, want 2 windows of at most 10 days", len(sent))
	}
	ms := func(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }
	want := url.Values{"symbol": {"AAPL"}, "periodType": {"day"}, "period": {"1"}, "frequencyType": {"minute"},
		"frequency": {"1"}, "startDate": {ms(q.From.Add(-time.Millisecond))}, "endDate": {ms(q.From.AddDate(0, 0, 10))},
		"needExtendedHoursData": {"false"}, "needPreviousClose": {"false"}}
	if diff := cmp.Diff(want, sent[0]); diff != "" {
		t.Errorf("first request (-want +got):\n%s", diff)
	}
	if got := sent[1].Get("startDate"); got != ms(q.From.AddDate(0, 0, 10).Add(-time.Millisecond)) {
		t.Errorf("second window starts %s: not 1 ms before the first one's end", got)
	}
	if got := sent[1].Get("endDate"); got != ms(q.To) {
		t.Errorf("last window ends %s, want %s", got, ms(q.To))
	}
}

// A window that covers the bar forming now marks it, and only it,
// provisional; the extended session's bars come with ExtendedHours.
func TestBarsFormingAndExtended(t *testing.T) {
	r := newRig(t, schwabtest.Config{}, nil)
	r.clock.Advance(2*time.Minute + 30*time.Second) // 15:02:30Z, 10:02:30 ET
	q := broker.BarQuery{Symbol: "MSFT", Interval: broker.FiveMinutes, From: testStart.Add(-4 * time.Hour),
		To: testStart.Add(time.Hour), ExtendedHours: true}
	bars, err := r.b.Bars(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	checkBars(t, bars, q)
	// 11:00Z (06:00 ET) to 15:00Z: pre-market from 12:00Z, 36 bars, plus
	// the one forming at 15:00Z.
	if len(bars) != 37 || bars[0].Start != time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC) {
		t.Fatalf("%d bars from %v", len(bars), bars[0].Start)
	}
	for i, b := range bars {
		if b.Provisional != (i == len(bars)-1) {
			t.Errorf("bar %v provisional %v", b.Start, b.Provisional)
		}
	}
}

// Daily bars carry the Central-midnight stamps, one per weekday.
func TestBarsDailyEndToEnd(t *testing.T) {
	r := newRig(t, schwabtest.Config{}, nil)
	q := broker.BarQuery{Symbol: "SPY", Interval: broker.OneDay,
		From: time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)}
	bars, err := r.b.Bars(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	checkBars(t, bars, q)
	if len(bars) != 20 {
		t.Fatalf("%d daily bars in February 2026, want 20", len(bars))
	}
	for _, b := range bars {
		if b.Start.Hour() != 6 || b.Start.Minute() != 0 || b.Provisional { // 00:00 CST
			t.Errorf("daily bar %v provisional %v", b.Start, b.Provisional)
		}
	}
}

// No bars (a weekend, a symbol without history) is no error; Schwab's error
// answers come back classified through the adapter's decoder.
func TestBarsEmptyAndErrors(t *testing.T) {
	r := newRig(t, schwabtest.Config{PriceHistory: schwabtest.PriceHistoryConfig{UnknownSymbols: []string{"NOPE"}}}, nil)
	r.clock.SetAutoAdvance(true) // limiter spacing and retry backoff run on the fake clock
	ctx := context.Background()
	sat := time.Date(2026, 2, 28, 12, 0, 0, 0, time.UTC)
	bars, err := r.b.Bars(ctx, broker.BarQuery{Symbol: "AAPL", Interval: broker.OneMinute, From: sat, To: sat.Add(12 * time.Hour)})
	if err != nil || len(bars) != 0 {
		t.Fatalf("weekend: %d bars, %v", len(bars), err)
	}
	_, err = r.b.Bars(ctx, broker.BarQuery{Symbol: "NOPE", Interval: broker.OneDay, From: sat.AddDate(0, -1, 0), To: sat})
	var be *errors.BrokerError
	if !errors.As(err, &be) || be.HTTPStatus != http.StatusNotFound || !errors.Is(err, errors.ErrOrderNotFound) {
		t.Fatalf("unknown symbol: %v", err)
	}
	// A combination outside Schwab's table (the adapter never builds one)
	// is the emulator's 400, decoded with its detail.
	_, err = r.b.historyWindow(ctx, broker.BarQuery{Symbol: "AAPL", Interval: broker.OneHour},
		historyParams{"day", "1", "hourly", "1", time.Hour}, sat.Add(-time.Hour), sat)
	if !errors.As(err, &be) || be.HTTPStatus != http.StatusBadRequest || be.Detail == "" || !errors.Is(err, errors.ErrInvalidOrder) {
		t.Fatalf("bad combination: %v (%+v)", err, be)
	}
	r.emu.SetFaultFunc(schwabtest.RoutePriceHistory, func(*http.Request) *schwabtest.Fault {
		return &schwabtest.Fault{Kind: schwabtest.FaultServerError}
	})
	if _, err = r.b.Bars(ctx, broker.BarQuery{Symbol: "AAPL", Interval: broker.OneDay, From: sat.AddDate(0, -1, 0), To: sat}); !errors.Is(err, errors.ErrBrokerUnavailable) {
		t.Fatalf("500s: %v", err)
	}
}

func checkBars(t *testing.T, bars []broker.Bar, q broker.BarQuery) {
	t.Helper()
	for i, b := range bars {
		if b.Start.Before(q.From) || !b.Start.Before(q.To) || b.Symbol != q.Symbol || b.Interval != q.Interval ||
			b.Start.Location() != time.UTC {
			t.Fatalf("bar %d %+v outside %v–%v", i, b, q.From, q.To)
		}
		if i > 0 && !bars[i-1].Start.Before(b.Start) {
			t.Fatalf("bar %d at %v after %v: not ascending or duplicate", i, b.Start, bars[i-1].Start)
		}
		if b.High.LessThan(b.Low) || b.Open.GreaterThan(b.High) || b.Close.LessThan(b.Low) || !b.Volume.IsPositive() {
			t.Fatalf("bar %d incoherent: %+v", i, b)
		}
	}
}

func FuzzDecodeCandles(f *testing.F) {
	for _, name := range []string{"pricehistory_minute_official.json", "pricehistory_monthly_aapl.json"} {
		f.Add(fixture(f, filepath.Join("marketdata", name)))
	}
	f.Add([]byte(`{"candles":[],"empty":true}`))
	f.Add([]byte(`{"candles":[{"open":"x","datetime":-1}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		bars, err := decodeCandles(body, "AAPL", broker.OneMinute)
		if err != nil {
			if !errors.Is(err, errors.ErrMalformedResponse) {
				t.Fatalf("error %v is not ErrMalformedResponse", err)
			}
			return
		}
		for _, b := range bars {
			if b.Start.Year() < 1971 || b.Start.Year() >= 2200 || b.Start.Location() != time.UTC {
				t.Fatalf("bar start %v", b.Start)
			}
		}
		q := broker.BarQuery{Symbol: "AAPL", Interval: broker.OneMinute, From: time.Unix(0, 0), To: time.Unix(1<<40, 0)}
		out := broker.NormalizeBars(bars, q, time.Unix(1<<33, 0))
		for i := 1; i < len(out); i++ {
			if !out[i-1].Start.Before(out[i].Start) {
				t.Fatalf("NormalizeBars left %v before %v", out[i-1].Start, out[i].Start)
			}
		}
	})
}

// BenchmarkDecodePriceHistory decodes the official minute answer.
func BenchmarkDecodePriceHistory(b *testing.B) {
	body := fixture(b, "marketdata/pricehistory_minute_official.json")
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := decodeCandles(body, "AAPL", broker.OneMinute); err != nil {
			b.Fatal(err)
		}
	}
}

// Capabilities lists exactly the served intervals, and the BarSource is
// found through a decorator.
func TestBarsCapabilities(t *testing.T) {
	r := newRig(t, schwabtest.Config{}, nil)
	want := []broker.Interval{broker.OneMinute, broker.FiveMinutes, broker.TenMinutes, broker.FifteenMinutes,
		broker.ThirtyMinutes, broker.OneDay, broker.OneWeek, broker.OneMonth}
	caps := r.b.Capabilities()
	if diff := cmp.Diff(want, caps.BarIntervals); diff != "" {
		t.Errorf("BarIntervals (-want +got):\n%s", diff)
	}
	caps.BarIntervals[0] = "x" // the caller's copy
	if r.b.Capabilities().BarIntervals[0] != broker.OneMinute {
		t.Error("Capabilities shares its interval slice")
	}
	for _, iv := range want {
		if _, ok := historyCombination(iv); !ok {
			t.Errorf("%s listed but not served", iv)
		}
	}
	cached, err := broker.NewQuoteCache(r.b, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if src, ok := broker.Find[broker.BarSource](cached); !ok || src != broker.BarSource(r.b) {
		t.Error("the adapter's BarSource is hidden by a decorator")
	}
}
