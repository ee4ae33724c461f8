package coinbase

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/errors"
	"github.com/google/go-cmp/cmp"
)

// The BTC-USD capture (newest first) decodes exactly from its strings and
// sorts ascending; the docs example's single candle decodes too.
func TestCandlesFixtures(t *testing.T) {
	raw, err := decodeCandles(fixture(t, "marketdata/candles_btc_usd_one_hour.json"), "BTC-USD", broker.OneHour)
	if err != nil {
		t.Fatal(err)
	}
	q := broker.BarQuery{Symbol: "BTC-USD", Interval: broker.OneHour,
		From: time.Date(2024, 4, 4, 0, 0, 0, 0, time.UTC), To: time.Date(2024, 4, 4, 2, 0, 0, 0, time.UTC)}
	got := broker.NormalizeBars(raw, q, time.Date(2024, 4, 4, 1, 30, 0, 0, time.UTC))
	want := []broker.Bar{
		{Symbol: "BTC-USD", Start: time.Unix(1712188800, 0).UTC(), Interval: broker.OneHour,
			Open: dec("65984.18"), High: dec("66387.77"), Low: dec("65857.35"), Close: dec("66314.59"), Volume: dec("358.74851052")},
		{Symbol: "BTC-USD", Start: time.Unix(1712192400, 0).UTC(), Interval: broker.OneHour,
			Open: dec("66312.4"), High: dec("66331.99"), Low: dec("66055.14"), Close: dec("66181.6"), Volume: dec("355.82896243"),
			Provisional: true},
	}
	if diff := cmp.Diff(want, got, decimalEq); diff != "" {
		t.Errorf("bars (-want +got):\n%s", diff)
	}
	doc, err := decodeCandles(fixture(t, "marketdata/candles_docs_example.json"), "X", broker.OneMinute)
	if err != nil || len(doc) != 1 || !doc[0].Volume.Equal(dec("56437345")) || doc[0].Start.Unix() != 1639508050 {
		t.Fatalf("docs example: %+v %v", doc, err)
	}
}

func TestCandlesDecodeEdges(t *testing.T) {
	one := func(start, price string) string {
		return fmt.Sprintf(`{"candles":[{"start":%q,"low":%q,"high":"1","open":"1","close":"1","volume":"1"}]}`, start, price)
	}
	cases := []struct {
		name, body string
		bars       int
		malformed  bool
	}{
		{"empty", `{"candles":[]}`, 0, false},
		{"absent", `{}`, 0, false},
		{"ok", one("1712188800", "0.5"), 1, false},
		{"milliseconds", one("1712188800000", "1"), 0, true},
		{"number start", `{"candles":[{"start":1712188800,"low":"1","high":"1","open":"1","close":"1","volume":"1"}]}`, 0, true},
		{"number price", `{"candles":[{"start":"1712188800","low":1,"high":"1","open":"1","close":"1","volume":"1"}]}`, 0, true},
		{"empty price", one("1712188800", ""), 0, true},
		{"negative price", one("1712188800", "-1"), 0, true},
		{"huge exponent", one("1712188800", "1e999999999"), 0, true},
		{"HTML", `<html>429</html>`, 0, true},
		{"trailing", `{"candles":[]}{}`, 0, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decodeCandles([]byte(tc.body), "BTC-USD", broker.OneHour)
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

func TestCeilTo(t *testing.T) {
	for _, tc := range []struct {
		in   string
		step time.Duration
		want string
	}{
		{"2026-03-02T14:30:00Z", time.Minute, "2026-03-02T14:30:00Z"},
		{"2026-03-02T14:30:00.001Z", time.Minute, "2026-03-02T14:31:00Z"},
		{"2026-03-02T14:30:00Z", 6 * time.Hour, "2026-03-02T18:00:00Z"},
		{"2026-03-02T00:00:01+01:00", 24 * time.Hour, "2026-03-02T00:00:00Z"},
		{"2026-03-02T01:00:00Z", 24 * time.Hour, "2026-03-03T00:00:00Z"},
	} {
		in, _ := time.Parse(time.RFC3339Nano, tc.in)
		if got := ceilTo(in, tc.step).Format(time.RFC3339); got != tc.want {
			t.Errorf("ceilTo(%s, %v) = %s, want %s", tc.in, tc.step, got, tc.want)
		}
	}
}

func FuzzDecodeCandles(f *testing.F) {
	f.Add(fixture(f, "marketdata/candles_btc_usd_one_hour.json"))
	f.Add(fixture(f, "marketdata/candles_docs_example.json"))
	f.Add([]byte(`{"candles":[{"start":"-1","low":"1e-999"}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		bars, err := decodeCandles(body, "BTC-USD", broker.OneMinute)
		if err != nil {
			if !errors.Is(err, errors.ErrMalformedResponse) || strings.Contains(err.Error(), "\x00") {
				t.Fatalf("error %q", err)
			}
			return
		}
		for _, b := range bars {
			if b.Start.Year() < 2009 || b.Start.Year() >= 2200 || b.Low.IsNegative() || b.Volume.IsNegative() {
				t.Fatalf("bar %+v", b)
			}
		}
		q := broker.BarQuery{Symbol: "BTC-USD", Interval: broker.OneMinute, From: time.Unix(0, 0), To: time.Unix(1<<40, 0)}
		out := broker.NormalizeBars(bars, q, time.Unix(1<<33, 0))
		for i := 1; i < len(out); i++ {
			if !out[i-1].Start.Before(out[i].Start) {
				t.Fatalf("not ascending and unique at %d", i)
			}
		}
	})
}

// BenchmarkDecodeCandlesPage decodes a full page: 350 one-minute candles,
// newest first, shaped as the capture.
//
//	go test -run '^$' -bench DecodeCandlesPage -benchmem ./coinbase/
func BenchmarkDecodeCandlesPage(b *testing.B) {
	var sb strings.Builder
	sb.WriteString(`{"candles":[`)
	for i := range 350 {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `{"start":"%d","low":"66055.14","high":"66331.99","open":"66312.4","close":"66181.6","volume":"355.82896243"}`,
			1712192400-60*i)
	}
	sb.WriteString(`]}`)
	body := []byte(sb.String())
	q := broker.BarQuery{Symbol: "BTC-USD", Interval: broker.OneMinute, From: time.Unix(1712100000, 0), To: time.Unix(1712200000, 0)}
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		bars, err := decodeCandles(body, "BTC-USD", broker.OneMinute)
		if err != nil {
			b.Fatal(err)
		}
		if len(broker.NormalizeBars(bars, q, q.To)) != 350 {
			b.Fatal("lost candles")
		}
	}
}
