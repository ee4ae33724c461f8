package schwabtest

import (
	"encoding/json"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

type historyAnswer struct {
	Candles []struct {
		Open, High, Low, Close json.Number
		Volume                 json.Number
		Datetime               int64
	} `json:"candles"`
	Symbol            string      `json:"symbol"`
	Empty             bool        `json:"empty"`
	PreviousClose     json.Number `json:"previousClose"`
	PreviousCloseDate int64       `json:"previousCloseDate"`
}

func (c *client) history(q url.Values) (int, historyAnswer, []byte) {
	c.t.Helper()
	resp, b := c.do("GET", "/marketdata/v1/pricehistory?"+q.Encode(), nil)
	var a historyAnswer
	if resp.StatusCode == 200 {
		if err := json.Unmarshal(b, &a); err != nil {
			c.t.Fatalf("%v in %s", err, b)
		}
	}
	return resp.StatusCode, a, b
}

func ms(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }

func historyQuery(periodType, frequencyType, frequency string, from, to time.Time) url.Values {
	return url.Values{"symbol": {"AAPL"}, "periodType": {periodType}, "period": {"1"},
		"frequencyType": {frequencyType}, "frequency": {frequency},
		"startDate": {ms(from)}, "endDate": {ms(to)}}
}

// The combination table is enforced: anything outside it is a 400 with the
// market-data errors[] body naming the parameter.
func TestPriceHistoryCombinations(t *testing.T) {
	_, _, c := newTestServer(t, Config{})
	from := start.Add(-24 * time.Hour)
	cases := []struct {
		name   string
		mod    func(url.Values)
		status int
		param  string
	}{
		{"day minute 5", func(url.Values) {}, 200, ""},
		{"day minute 30", func(q url.Values) { q.Set("frequency", "30") }, 200, ""},
		{"month daily", func(q url.Values) {
			q.Set("periodType", "month")
			q.Set("frequencyType", "daily")
			q.Set("frequency", "1")
		}, 200, ""},
		{"year monthly", func(q url.Values) {
			q.Set("periodType", "year")
			q.Set("frequencyType", "monthly")
			q.Set("frequency", "1")
		}, 200, ""},
		{"ytd weekly", func(q url.Values) {
			q.Set("periodType", "ytd")
			q.Set("frequencyType", "weekly")
			q.Set("frequency", "1")
		}, 200, ""},
		{"defaults only", func(q url.Values) { q.Del("periodType"); q.Del("period"); q.Del("frequencyType"); q.Del("frequency") }, 200, ""},
		{"day daily", func(q url.Values) { q.Set("frequencyType", "daily"); q.Set("frequency", "1") }, 400, "frequencyType"},
		{"minute 60", func(q url.Values) { q.Set("frequency", "60") }, 400, "frequency"},
		{"month minute", func(q url.Values) { q.Set("periodType", "month") }, 400, "frequencyType"},
		{"ytd monthly", func(q url.Values) {
			q.Set("periodType", "ytd")
			q.Set("frequencyType", "monthly")
			q.Set("frequency", "1")
		}, 400, "frequencyType"},
		{"daily 2", func(q url.Values) {
			q.Set("periodType", "year")
			q.Set("frequencyType", "daily")
			q.Set("frequency", "2")
		}, 400, "frequency"},
		{"day period 7", func(q url.Values) { q.Set("period", "7") }, 400, "period"},
		{"hour", func(q url.Values) { q.Set("periodType", "hour") }, 400, "periodType"},
		{"no symbol", func(q url.Values) { q.Del("symbol") }, 400, "symbol"},
		{"ISO dates", func(q url.Values) { q.Set("startDate", "2026-03-01") }, 400, "startDate"},
		{"reversed", func(q url.Values) { q.Set("startDate", ms(start)); q.Set("endDate", ms(from)) }, 400, "startDate"},
		{"bad flag", func(q url.Values) { q.Set("needExtendedHoursData", "yes") }, 400, "needExtendedHoursData"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			q := historyQuery("day", "minute", "5", from, start)
			tc.mod(q)
			status, _, body := c.history(q)
			if status != tc.status {
				t.Fatalf("status %d, want %d: %s", status, tc.status, body)
			}
			if tc.param == "" {
				return
			}
			if got := string(field(t, body, "errors", 0, "source", "parameter")); got != strconv.Quote(tc.param) {
				t.Errorf("source.parameter %s, want %q in %s", got, tc.param, body)
			}
			if got := string(field(t, body, "errors", 0, "status")); got != `"400"` {
				t.Errorf("status field %s", got)
			}
		})
	}
}

// Daily, weekly and monthly bars start at 00:00 US Central (daily on
// weekdays, weekly on Mondays, monthly on the 1st whatever its weekday, as
// the monthly AAPL capture shows); minute bars sit in the session, in ms; the same seed gives the same
// bars.
func TestPriceHistoryStampsAndDeterminism(t *testing.T) {
	_, _, c := newTestServer(t, Config{PriceHistory: PriceHistoryConfig{Seed: 7}})
	chicago, err := time.LoadLocation("America/Chicago")
	if err != nil {
		t.Fatal(err)
	}
	for _, ft := range []string{"daily", "weekly", "monthly"} {
		q := historyQuery("year", ft, "1", time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), start)
		status, a, body := c.history(q)
		if status != 200 || len(a.Candles) == 0 {
			t.Fatalf("%s: %d %s", ft, status, body)
		}
		for _, k := range a.Candles {
			at := time.UnixMilli(k.Datetime).In(chicago)
			weekend := at.Weekday() == time.Saturday || at.Weekday() == time.Sunday
			if at.Hour() != 0 || at.Minute() != 0 || weekend && ft == "daily" {
				t.Fatalf("%s bar at %v", ft, at)
			}
			if ft == "weekly" && at.Weekday() != time.Monday || ft == "monthly" && at.Day() != 1 {
				t.Fatalf("%s bar at %v", ft, at)
			}
		}
	}
	// 2025-11-03 is the first Monday after DST ended: 06:00Z; the Friday
	// before, 05:00Z.
	q := historyQuery("year", "daily", "1", time.Date(2025, 10, 31, 0, 0, 0, 0, time.UTC), time.Date(2025, 11, 4, 0, 0, 0, 0, time.UTC))
	_, a, _ := c.history(q)
	var got []string
	for _, k := range a.Candles {
		got = append(got, time.UnixMilli(k.Datetime).UTC().Format(time.RFC3339))
	}
	want := []string{"2025-10-31T05:00:00Z", "2025-11-03T06:00:00Z"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("daily stamps (-want +got):\n%s", diff)
	}
	q = historyQuery("day", "minute", "1", start.Add(-time.Hour), start)
	_, first, _ := c.history(q)
	_, second, _ := c.history(q)
	if diff := cmp.Diff(first, second); diff != "" || len(first.Candles) == 0 {
		t.Errorf("same query, different bars (%d):\n%s", len(first.Candles), diff)
	}
	_, other, _ := newTestServerHistory(t, 8, q)
	if cmp.Equal(first, other) {
		t.Error("another seed gave the same bars")
	}
}

func newTestServerHistory(t *testing.T, seed int64, q url.Values) (int, historyAnswer, []byte) {
	_, _, c := newTestServer(t, Config{PriceHistory: PriceHistoryConfig{Seed: seed}})
	return c.history(q)
}

// Minute bars go back 48 days, 5-30 minute bars nine months (both
// configurable); a range with no bar is empty:true, not an error; the
// extended session runs 07:00-20:00 ET and the regular 09:30-16:00.
func TestPriceHistoryDepthEmptyAndSessions(t *testing.T) {
	_, clock, c := newTestServer(t, Config{PriceHistory: PriceHistoryConfig{IntradayDepth: 100 * 24 * time.Hour}})
	old := start.AddDate(0, 0, -50)
	status, a, body := c.history(historyQuery("day", "minute", "1", old, old.Add(24*time.Hour)))
	if status != 200 || !a.Empty || len(a.Candles) != 0 {
		t.Fatalf("minute bars 50 days back: %d %s", status, body)
	}
	if _, a, _ = c.history(historyQuery("day", "minute", "5", old, old.Add(24*time.Hour))); a.Empty {
		t.Fatal("5-minute bars 50 days back are within the configured 100 days")
	}
	old = start.AddDate(0, 0, -101)
	if _, a, _ = c.history(historyQuery("day", "minute", "5", old, old.Add(24*time.Hour))); !a.Empty {
		t.Fatal("5-minute bars 101 days back are beyond the configured 100 days")
	}
	saturday := time.Date(2026, 2, 28, 12, 0, 0, 0, time.UTC) // Friday's post-market ends 01:00Z
	if _, a, body = c.history(historyQuery("day", "minute", "1", saturday, saturday.Add(24*time.Hour))); !a.Empty || a.Symbol != "AAPL" {
		t.Fatalf("Saturday: %s", body)
	}
	// Friday 2026-02-27, EST: regular 14:30Z-21:00Z, extended 12:00Z-01:00Z.
	friday := time.Date(2026, 2, 27, 6, 0, 0, 0, time.UTC) // after Thursday's post-market
	q := historyQuery("day", "minute", "30", friday, friday.Add(2*24*time.Hour))
	q.Set("needExtendedHoursData", "false")
	_, a, _ = c.history(q)
	if len(a.Candles) != 13 || time.UnixMilli(a.Candles[0].Datetime).UTC().Format("15:04") != "14:30" {
		t.Fatalf("regular 30-minute bars: %d, first %v", len(a.Candles), time.UnixMilli(a.Candles[0].Datetime).UTC())
	}
	q.Set("needExtendedHoursData", "true")
	_, a, _ = c.history(q)
	if len(a.Candles) != 26 || time.UnixMilli(a.Candles[0].Datetime).UTC().Format("15:04") != "12:00" {
		t.Fatalf("extended 30-minute bars: %d", len(a.Candles))
	}
	// The bar forming at now follows the clock.
	clock.Advance(90 * time.Second)
	q = historyQuery("day", "minute", "5", start.Add(-time.Hour), start.Add(time.Hour))
	_, a, _ = c.history(q)
	last := a.Candles[len(a.Candles)-1]
	if got := time.UnixMilli(last.Datetime).UTC(); !got.Equal(start) {
		t.Fatalf("last bar at %v, want the one forming at %v", got, start)
	}
	clock.Advance(2 * time.Minute)
	_, b, _ := c.history(q)
	if later := b.Candles[len(b.Candles)-1]; later.Volume == last.Volume {
		t.Errorf("forming bar unchanged after 2 minutes: %+v", later)
	}
}

// needPreviousClose adds the two fields; an option symbol is empty (or 400
// when switched); an unknown symbol can be made a 404.
func TestPriceHistorySymbols(t *testing.T) {
	_, _, c := newTestServer(t, Config{PriceHistory: PriceHistoryConfig{UnknownSymbols: []string{"NOPE"}}})
	q := historyQuery("year", "daily", "1", start.AddDate(0, -1, 0), start)
	q.Set("needPreviousClose", "true")
	_, a, body := c.history(q)
	if a.PreviousClose == "" || a.PreviousCloseDate == 0 {
		t.Fatalf("previousClose missing: %s", body)
	}
	q.Set("needPreviousClose", "false")
	if _, _, body = c.history(q); string(field(t, body, "previousClose")) != "" {
		t.Fatalf("previousClose without asking: %s", body)
	}
	q.Set("symbol", "AAPL  241018C00005000")
	if status, a, body := c.history(q); status != 200 || !a.Empty {
		t.Fatalf("option: %d %s", status, body)
	}
	q.Set("symbol", "NOPE")
	if status, _, body := c.history(q); status != 404 {
		t.Fatalf("unknown: %d %s", status, body)
	}
	_, _, c400 := newTestServer(t, Config{PriceHistory: PriceHistoryConfig{OptionSymbols400: true}})
	q.Set("symbol", "AAPL  241018C00005000")
	if status, _, body := c400.history(q); status != 400 {
		t.Fatalf("option, switched: %d %s", status, body)
	}
	c.token = ""
	if status, _, body := c.history(q); status != 400 || string(field(t, body, "errors", 0, "source", "header")) != `"Authorization"` {
		t.Fatalf("no token: %d %s", status, body)
	}
}
