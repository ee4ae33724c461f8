package coinbase_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/coinbase"
	"github.com/arbiontrader/arbion/coinbase/coinbasetest"
	"github.com/arbiontrader/arbion/errors"
	"github.com/google/go-cmp/cmp"
)

// candlePages returns the candles requests the emulator received.
func candlePages(srv *coinbasetest.Server) []url.Values {
	var out []url.Values
	for _, r := range srv.Requests() {
		if r.Path == coinbasetest.APIPrefix+"/products/BTC-USD/candles" {
			out = append(out, r.Query)
		}
	}
	return out
}

// 10,000 one-minute candles arrive in 29 pages of at most 350 buckets and
// merge into exactly 10,000 bars, one a minute, ascending: no gap and no
// duplicate at any of the 28 seams, whichever way Coinbase reads its end
// bound.
func TestBarsPagesTenThousandMinutes(t *testing.T) {
	for _, exclusive := range []bool{false, true} {
		t.Run("exclusive end "+strconv.FormatBool(exclusive), func(t *testing.T) {
			e := newEnv(t, coinbasetest.Config{Candles: coinbasetest.CandlesConfig{Dense: true, ExclusiveEnd: exclusive}}, false, nil)
			q := broker.BarQuery{Symbol: "BTC-USD", Interval: broker.OneMinute, From: start.Add(-10_000 * time.Minute), To: start}
			bars, err := e.b.Bars(ctx(t), q)
			if err != nil {
				t.Fatal(err)
			}
			if len(bars) != 10_000 {
				t.Fatalf("%d bars, want 10000", len(bars))
			}
			for i, b := range bars {
				if want := q.From.Add(time.Duration(i) * time.Minute); !b.Start.Equal(want) || b.Provisional ||
					b.Symbol != "BTC-USD" || b.Interval != broker.OneMinute {
					t.Fatalf("bar %d: %+v, want start %v, closed", i, b, want)
				}
			}
			pages := candlePages(e.srv)
			if len(pages) != 29 {
				t.Errorf("%d pages, want 29", len(pages))
			}
			for i, p := range pages {
				s, _ := strconv.ParseInt(p.Get("start"), 10, 64)
				en, _ := strconv.ParseInt(p.Get("end"), 10, 64)
				if (en-s)/60 > 350 || p.Get("granularity") != "ONE_MINUTE" || p.Get("limit") != "350" {
					t.Fatalf("page %d: %v", i, p)
				}
				if i > 0 {
					prevEnd, _ := strconv.ParseInt(pages[i-1].Get("end"), 10, 64)
					if s != prevEnd-60 {
						t.Fatalf("page %d starts at %d, previous ended at %d: want the requests to overlap", i, s, prevEnd)
					}
				}
			}
		})
	}
}

// With minutes that have no trade, the merged result is exactly what a
// plain client reading the public endpoint in disjoint windows sees: the
// same buckets and values, gaps kept as gaps.
func TestBarsKeepGapsAsGaps(t *testing.T) {
	e := newEnv(t, coinbasetest.Config{}, false, nil)
	q := broker.BarQuery{Symbol: "BTC-USD", Interval: broker.OneMinute, From: start.Add(-1000 * time.Minute), To: start}
	bars, err := e.b.Bars(ctx(t), q)
	if err != nil {
		t.Fatal(err)
	}
	type row struct{ Start, Open, High, Low, Close, Volume string }
	var want []row
	for ws := q.From; ws.Before(q.To); ws = ws.Add(200 * time.Minute) {
		u := e.srv.URL() + coinbasetest.APIPrefix + "/market/products/BTC-USD/candles?" + url.Values{
			"start": {strconv.FormatInt(ws.Unix(), 10)}, "end": {strconv.FormatInt(ws.Add(199*time.Minute).Unix(), 10)},
			"granularity": {"ONE_MINUTE"}}.Encode()
		resp, err := e.srv.Client().Get(u)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var page struct{ Candles []row }
		if err := json.Unmarshal(body, &page); err != nil {
			t.Fatal(err)
		}
		for i := len(page.Candles) - 1; i >= 0; i-- {
			want = append(want, page.Candles[i])
		}
	}
	var got []row
	for _, b := range bars {
		got = append(got, row{strconv.FormatInt(b.Start.Unix(), 10), b.Open.String(), b.High.String(), b.Low.String(),
			b.Close.String(), b.Volume.String()})
	}
	if len(want) >= 1000 {
		t.Fatalf("the emulator left no gap in %d minutes", len(want))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("bars (-plain client +adapter):\n%s", diff)
	}
}

// The bucket containing the clock is the last bar and the only provisional
// one; daily buckets start at 00:00 UTC.
func TestBarsFormingAndDaily(t *testing.T) {
	e := newEnv(t, coinbasetest.Config{}, false, nil)
	e.clock.Advance(20 * time.Minute) // 14:50Z
	q := broker.BarQuery{Symbol: "BTC-USD", Interval: broker.OneHour, From: start.Add(-24 * time.Hour), To: start.Add(24 * time.Hour)}
	bars, err := e.b.Bars(ctx(t), q)
	if err != nil {
		t.Fatal(err)
	}
	if len(bars) != 24 || !bars[len(bars)-1].Start.Equal(start.Truncate(time.Hour)) {
		t.Fatalf("%d hourly bars ending %v", len(bars), bars[len(bars)-1].Start)
	}
	for i, b := range bars {
		if b.Provisional != (i == len(bars)-1) {
			t.Errorf("bar %v provisional %v", b.Start, b.Provisional)
		}
	}
	days, err := e.b.Bars(ctx(t), broker.BarQuery{Symbol: "BTC-USD", Interval: broker.OneDay,
		From: start.AddDate(-2, 0, 0), To: start})
	if err != nil {
		t.Fatal(err)
	}
	if len(days) < 729 || len(days) > 731 {
		t.Fatalf("%d daily bars in two years", len(days))
	}
	for _, d := range days {
		if d.Start.Hour() != 0 || d.Start.Minute() != 0 {
			t.Fatalf("daily bar at %v", d.Start)
		}
	}
	if !days[len(days)-1].Provisional || days[len(days)-2].Provisional {
		t.Error("today's bucket, and only it, is provisional")
	}
}

// What Coinbase cannot serve, or would refuse, is refused without a
// request; Coinbase's own refusals arrive classified.
func TestBarsRefusals(t *testing.T) {
	e := newEnv(t, coinbasetest.Config{}, false, nil)
	from := start.Add(-time.Hour)
	for _, tc := range []struct {
		name string
		q    broker.BarQuery
		kind errors.Kind
	}{
		{"ten minutes", broker.BarQuery{Symbol: "BTC-USD", Interval: broker.TenMinutes, From: from, To: start}, errors.ErrNotSupported},
		{"weekly", broker.BarQuery{Symbol: "BTC-USD", Interval: broker.OneWeek, From: from, To: start}, errors.ErrNotSupported},
		{"monthly", broker.BarQuery{Symbol: "BTC-USD", Interval: broker.OneMonth, From: from, To: start}, errors.ErrNotSupported},
		{"no product", broker.BarQuery{Interval: broker.OneHour, From: from, To: start}, errors.ErrInvalidOrder},
		{"no range", broker.BarQuery{Symbol: "BTC-USD", Interval: broker.OneHour}, errors.ErrInvalidOrder},
		{"reversed", broker.BarQuery{Symbol: "BTC-USD", Interval: broker.OneHour, From: start, To: from}, errors.ErrInvalidOrder},
		{"since 1970", broker.BarQuery{Symbol: "BTC-USD", Interval: broker.OneMinute, From: time.Unix(0, 0), To: start}, errors.ErrInvalidOrder},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bars, err := e.b.Bars(ctx(t), tc.q)
			var be *errors.BrokerError
			if !errors.Is(err, tc.kind) || !errors.As(err, &be) || be.Broker != "coinbase" || bars != nil {
				t.Fatalf("Bars = %d bars, %v; want %s", len(bars), err, tc.kind)
			}
		})
	}
	if n := len(e.srv.Requests()); n != 0 {
		t.Fatalf("%d requests for refused queries", n)
	}
	_, err := e.b.Bars(ctx(t), broker.BarQuery{Symbol: "NOPE-USD", Interval: broker.OneHour, From: from, To: start})
	var be *errors.BrokerError
	if !errors.As(err, &be) || be.HTTPStatus != http.StatusBadRequest || be.Code != "INVALID_ARGUMENT" {
		t.Fatalf("unknown product: %v", err)
	}
	old := newEnv(t, coinbasetest.Config{Candles: coinbasetest.CandlesConfig{NoFourHour: true}}, false, nil)
	_, err = old.b.Bars(ctx(t), broker.BarQuery{Symbol: "BTC-USD", Interval: broker.FourHours, From: start.Add(-48 * time.Hour), To: start})
	if !errors.As(err, &be) || be.HTTPStatus != http.StatusBadRequest {
		t.Fatalf("FOUR_HOUR refused by the server: %v", err)
	}
	// A range shorter than a bucket holds no bucket start: no request.
	bars, err := e.b.Bars(ctx(t), broker.BarQuery{Symbol: "BTC-USD", Interval: broker.OneHour,
		From: start.Add(time.Minute), To: start.Add(2 * time.Minute)})
	if err != nil || len(bars) != 0 {
		t.Fatalf("sub-bucket range: %d bars, %v", len(bars), err)
	}
}

func TestBarsCapabilities(t *testing.T) {
	e := newEnv(t, coinbasetest.Config{}, false, nil)
	want := []broker.Interval{broker.OneMinute, broker.FiveMinutes, broker.FifteenMinutes, broker.ThirtyMinutes,
		broker.OneHour, broker.TwoHours, broker.FourHours, broker.SixHours, broker.OneDay}
	if diff := cmp.Diff(want, e.b.Capabilities().BarIntervals); diff != "" {
		t.Errorf("BarIntervals (-want +got):\n%s", diff)
	}
	if _, ok := broker.Find[broker.BarSource](e.b); !ok {
		t.Error("*coinbase.Broker is not found as a BarSource")
	}
	var _ broker.BarSource = (*coinbase.Broker)(nil)
}
