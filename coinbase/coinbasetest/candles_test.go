package coinbasetest_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/arbiontrader/arbion/clock/clocktest"
	"github.com/arbiontrader/arbion/coinbase/coinbasetest"
	"github.com/google/go-cmp/cmp"
)

type candle struct {
	Start, Low, High, Open, Close, Volume string
}

func getCandles(t *testing.T, srv *coinbasetest.Server, path string, q url.Values) (int, []candle, string) {
	t.Helper()
	resp, err := srv.Client().Get(srv.URL() + coinbasetest.APIPrefix + path + "?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var out struct{ Candles []candle }
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(body, &out); err != nil {
			t.Fatalf("%v in %s", err, body)
		}
	}
	return resp.StatusCode, out.Candles, string(body)
}

func candleQuery(gran string, from, to time.Time) url.Values {
	return url.Values{"start": {strconv.FormatInt(from.Unix(), 10)}, "end": {strconv.FormatInt(to.Unix(), 10)},
		"granularity": {gran}}
}

const publicCandles = "/market/products/BTC-USD/candles"

// Newest first, aligned buckets, string values, minutes without trades left
// out, nothing after now; the public path needs no token, the private one
// does.
func TestCandlesShape(t *testing.T) {
	clock := clocktest.New(start)
	srv := coinbasetest.NewServer(coinbasetest.Config{Clock: clock})
	t.Cleanup(srv.Close)
	status, cs, body := getCandles(t, srv, publicCandles, candleQuery("ONE_MINUTE", start.Add(-5*time.Hour), start.Add(40*time.Minute)))
	if status != 200 || len(cs) == 0 {
		t.Fatalf("%d %s", status, body)
	}
	// 301 minutes from 09:30Z to 14:30Z inclusive; a few have no trade.
	if len(cs) >= 301 || len(cs) < 250 {
		t.Errorf("%d candles for 301 minutes: want gaps, not many", len(cs))
	}
	prev := int64(1 << 62)
	for _, c := range cs {
		s, err := strconv.ParseInt(c.Start, 10, 64)
		if err != nil || s%60 != 0 || s >= prev || s > start.Unix() {
			t.Fatalf("start %q after %d (now %d)", c.Start, prev, start.Unix())
		}
		prev = s
	}
	if cs[0].Start != strconv.FormatInt(start.Unix(), 10) {
		t.Errorf("newest bucket %s, want the forming one at %d", cs[0].Start, start.Unix())
	}
	resp, err := srv.Client().Get(srv.URL() + coinbasetest.APIPrefix + "/products/BTC-USD/candles?" +
		candleQuery("ONE_HOUR", start.Add(-5*time.Hour), start).Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("private path without a JWT: %d", resp.StatusCode)
	}
}

// 350 buckets pass, 351 are a 400 INVALID_ARGUMENT; so are an unknown
// granularity (or FOUR_HOUR when switched off), an unknown product, a bad
// limit and reversed bounds.
func TestCandlesRefusals(t *testing.T) {
	clock := clocktest.New(start)
	srv := coinbasetest.NewServer(coinbasetest.Config{Clock: clock})
	t.Cleanup(srv.Close)
	old := coinbasetest.NewServer(coinbasetest.Config{Clock: clock, Candles: coinbasetest.CandlesConfig{NoFourHour: true}})
	t.Cleanup(old.Close)
	from := start.Add(-1000 * time.Hour)
	cases := []struct {
		name   string
		srv    *coinbasetest.Server
		path   string
		q      url.Values
		status int
	}{
		{"350 minutes", srv, publicCandles, candleQuery("ONE_MINUTE", from, from.Add(350*time.Minute)), 200},
		{"351 minutes", srv, publicCandles, candleQuery("ONE_MINUTE", from, from.Add(351*time.Minute)), 400},
		{"351 days", srv, publicCandles, candleQuery("ONE_DAY", from, from.Add(351*24*time.Hour)), 400},
		{"four hours", srv, publicCandles, candleQuery("FOUR_HOUR", from, from.Add(100*time.Hour)), 200},
		{"four hours, old API", old, publicCandles, candleQuery("FOUR_HOUR", from, from.Add(100*time.Hour)), 400},
		{"unknown granularity", srv, publicCandles, candleQuery("UNKNOWN_GRANULARITY", from, from.Add(time.Hour)), 400},
		{"ten minutes", srv, publicCandles, candleQuery("TEN_MINUTE", from, from.Add(time.Hour)), 400},
		{"unknown product", srv, "/market/products/NOPE-USD/candles", candleQuery("ONE_HOUR", from, from.Add(time.Hour)), 400},
		{"reversed", srv, publicCandles, candleQuery("ONE_HOUR", from.Add(time.Hour), from), 400},
		{"milliseconds", srv, publicCandles, url.Values{"start": {"1712188800000.5"}, "end": {"1712192400"}, "granularity": {"ONE_HOUR"}}, 400},
		{"limit 351", srv, publicCandles, func() url.Values {
			q := candleQuery("ONE_HOUR", from, from.Add(time.Hour))
			q.Set("limit", "351")
			return q
		}(), 400},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, _, body := getCandles(t, tc.srv, tc.path, tc.q)
			if status != tc.status {
				t.Fatalf("status %d, want %d: %s", status, tc.status, body)
			}
			if status == 400 {
				var e struct{ Error string }
				if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error != "INVALID_ARGUMENT" {
					t.Errorf("body %s", body)
				}
			}
		})
	}
	_, _, body := getCandles(t, srv, publicCandles, cases[1].q)
	var e struct{ Message string }
	_ = json.Unmarshal([]byte(body), &e)
	if e.Message != "start and end must be within 350 candles" {
		t.Errorf("351 buckets: %s", body)
	}
}

// Closed buckets are the same on every call; the forming one changes
// between calls even when the clock stands still.
func TestCandlesFormingBucket(t *testing.T) {
	clock := clocktest.New(start.Add(20 * time.Minute))
	srv := coinbasetest.NewServer(coinbasetest.Config{Clock: clock})
	t.Cleanup(srv.Close)
	q := candleQuery("ONE_HOUR", start.Add(-10*time.Hour), start.Add(2*time.Hour))
	_, first, _ := getCandles(t, srv, publicCandles, q)
	_, second, _ := getCandles(t, srv, publicCandles, q)
	// 05:00Z (the first whole hour after 04:30Z) to 14:00Z, forming at 14:20Z.
	if len(first) != 10 || len(second) != 10 {
		t.Fatalf("%d and %d hourly candles, want 10", len(first), len(second))
	}
	if cmp.Equal(first[0], second[0]) {
		t.Errorf("forming bucket unchanged between calls: %+v", first[0])
	}
	if diff := cmp.Diff(first[1:], second[1:]); diff != "" {
		t.Errorf("closed buckets changed (-first +second):\n%s", diff)
	}
	ex := coinbasetest.NewServer(coinbasetest.Config{Clock: clock, Candles: coinbasetest.CandlesConfig{ExclusiveEnd: true}})
	t.Cleanup(ex.Close)
	q = candleQuery("ONE_HOUR", start.Add(-10*time.Hour-30*time.Minute), start.Add(-5*time.Hour-30*time.Minute)) // 04:00Z-09:00Z
	if _, cs, _ := getCandles(t, ex, publicCandles, q); len(cs) != 5 {
		t.Errorf("exclusive end: %d candles, want 5", len(cs))
	}
	if _, cs, _ := getCandles(t, srv, publicCandles, q); len(cs) != 6 {
		t.Errorf("inclusive end: %d candles, want 6", len(cs))
	}
}
