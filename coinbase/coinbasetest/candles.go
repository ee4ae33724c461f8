package coinbasetest

import (
	"encoding/binary"
	"hash/fnv"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// CandlesConfig tunes the candles endpoints, GET /products/{id}/candles
// (authenticated) and GET /market/products/{id}/candles (public). The
// zero value is usable.
type CandlesConfig struct {
	// Seed picks the series: the same seed and product always give the
	// same closed buckets.
	Seed int64
	// NoFourHour refuses FOUR_HOUR as older API versions did (the
	// granularity is missing from older client lists).
	NoFourHour bool
	// ExclusiveEnd leaves out the bucket starting exactly at end; by
	// default both bounds are inclusive. Coinbase documents neither.
	ExclusiveEnd bool
	// ListedAt, if set, is the product's listing: no bucket before it.
	ListedAt time.Time
	// Dense gives every minute a trade; by default about one minute in
	// twelve has none, so its ONE_MINUTE bucket is missing (Coinbase
	// omits buckets without trades rather than zero-filling them).
	Dense bool
}

// candleState is what the candles endpoints remember between calls.
type candleState struct {
	calls int64 // answers served: the forming bucket moves with each
}

// candleGranularities are the granularity enum values and their seconds.
var candleGranularities = map[string]int64{
	"ONE_MINUTE": 60, "FIVE_MINUTE": 300, "FIFTEEN_MINUTE": 900, "THIRTY_MINUTE": 1800,
	"ONE_HOUR": 3600, "TWO_HOUR": 7200, "FOUR_HOUR": 14400, "SIX_HOUR": 21600, "ONE_DAY": 86400,
}

var candleQuery = []string{"start", "end", "granularity", "limit"}

// matchCandles routes the two candles paths (rest is the path after
// APIPrefix).
func matchCandles(rest string) (route, map[string]string, bool) {
	public := false
	if p, ok := strings.CutPrefix(rest, "/market"); ok {
		rest, public = p, true
	}
	id, ok := strings.CutPrefix(rest, "/products/")
	if !ok {
		return route{}, nil, false
	}
	id, ok = strings.CutSuffix(id, "/candles")
	if !ok || id == "" || strings.Contains(id, "/") {
		return route{}, nil, false
	}
	return route{public: public, handler: (*Server).handleCandles}, map[string]string{"id": id}, true
}

func (s *Server) handleCandles(c *call) response {
	q := c.r.URL.Query()
	for k := range q {
		if !slices.Contains(candleQuery, k) {
			c.rec.UnknownKeys = append(c.rec.UnknownKeys, k)
		}
	}
	cfg := s.cfg.Candles
	p, ok := s.products[c.params["id"]]
	if !ok {
		return apiError(http.StatusBadRequest, "INVALID_ARGUMENT", "ProductID is invalid")
	}
	g, ok := candleGranularities[q.Get("granularity")]
	if !ok || cfg.NoFourHour && q.Get("granularity") == "FOUR_HOUR" {
		return apiError(http.StatusBadRequest, "INVALID_ARGUMENT", "granularity "+strconv.Quote(q.Get("granularity"))+" is not supported")
	}
	start, err1 := strconv.ParseInt(q.Get("start"), 10, 64)
	end, err2 := strconv.ParseInt(q.Get("end"), 10, 64)
	if err1 != nil || err2 != nil {
		return apiError(http.StatusBadRequest, "INVALID_ARGUMENT", "start and end are required UNIX times in seconds")
	}
	if end < start {
		return apiError(http.StatusBadRequest, "INVALID_ARGUMENT", "end must be after start")
	}
	limit := int64(350)
	if v := q.Get("limit"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 || n > 350 {
			return apiError(http.StatusBadRequest, "INVALID_ARGUMENT", "limit must be between 1 and 350")
		}
		limit = n
	}
	if (end-start)/g > 350 {
		return apiError(http.StatusBadRequest, "INVALID_ARGUMENT", "start and end must be within 350 candles")
	}
	s.candles.calls++
	now := s.clock.Now().Unix()
	series := newCandleSeries(cfg.Seed, p)
	first := (start + g - 1) / g * g
	if start < 0 {
		first = start / g * g
	}
	last := end
	if cfg.ExclusiveEnd {
		last = end - 1
	}
	if last > now {
		last = now
	}
	out := []wireCandleOut{}
	for t := last / g * g; t >= first && int64(len(out)) < limit; t -= g {
		if !cfg.ListedAt.IsZero() && t < cfg.ListedAt.Unix() {
			break
		}
		if g == 60 && !cfg.Dense && series.quiet(t) {
			continue // no trade in that minute: no bucket
		}
		out = append(out, series.candle(t, g, now, s.candles.calls))
	}
	return jsonResponse(http.StatusOK, struct {
		Candles []wireCandleOut `json:"candles"`
	}{out})
}

// wireCandleOut keeps Coinbase's field order.
type wireCandleOut struct {
	Start  string `json:"start"`
	Low    string `json:"low"`
	High   string `json:"high"`
	Open   string `json:"open"`
	Close  string `json:"close"`
	Volume string `json:"volume"`
}

// candleSeries is one product's deterministic path, in price increments.
type candleSeries struct {
	seed uint64
	base int64
	tick decimal.Decimal
}

func newCandleSeries(seed int64, p *product) candleSeries {
	h := fnv.New64a()
	_ = binary.Write(h, binary.LittleEndian, seed)
	_, _ = h.Write([]byte(p.ID))
	sd := h.Sum64()
	tick := p.priceIncrement()
	if !tick.IsPositive() {
		tick = decimal.New(1, -2)
	}
	return candleSeries{seed: sd, base: 10_000 + int64(sd%40_000), tick: tick}
}

func (s candleSeries) mix(n int64) uint64 {
	x := s.seed ^ uint64(n)*0x9E3779B97F4A7C15
	x ^= x >> 31
	x *= 0xBF58476D1CE4E5B9
	x ^= x >> 29
	return x
}

// quiet reports a minute without trades (about one in twelve).
func (s candleSeries) quiet(t int64) bool { return s.mix(t/60+7)%12 == 0 }

// level is the price at second t, in ticks: a triangle wave of ±5% over
// two days plus a per-minute jitter.
func (s candleSeries) level(t int64) int64 {
	const wave = 2 * 24 * 60
	m := t / 60
	phase := ((m % wave) + wave) % wave
	tri := min(phase, wave-phase)
	amp := s.base / 20
	v := s.base - amp + 2*amp*tri/(wave/2)
	j := s.base / 500
	return max(v+int64(s.mix(m)%uint64(2*j+1))-j, 1)
}

func (s candleSeries) price(ticks int64) string {
	return s.tick.Mul(decimal.NewFromInt(ticks)).String()
}

// candle builds the bucket [t, t+g); the one containing now closes at a
// level that moves with every call, and its volume grows with the clock.
func (s candleSeries) candle(t, g, now, call int64) wireCandleOut {
	open, closing := s.level(t), s.level(t+g-60)
	volume := decimal.New(int64(s.mix(t+1)%1_000_000_000)+1, -8).Mul(decimal.NewFromInt(g / 60))
	if now < t+g {
		closing = max(s.level(now)+call%5-2, 1)
		volume = volume.Mul(decimal.NewFromInt(now - t + 1)).Div(decimal.NewFromInt(g)).Round(8).
			Add(decimal.New(call, -8))
	}
	spread := int64(s.mix(t+2)%uint64(s.base/300+1)) + 1
	return wireCandleOut{
		Start: strconv.FormatInt(t, 10),
		Low:   s.price(max(min(open, closing)-spread, 1)), High: s.price(max(open, closing) + spread),
		Open: s.price(open), Close: s.price(closing), Volume: volume.String(),
	}
}
