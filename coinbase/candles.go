package coinbase

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/internal/httpx"
	"github.com/shopspring/decimal"
)

// maxCandlesPerRequest is Coinbase's cap: (end − start) / granularity may
// not exceed 350 buckets, nor limit 350.
const maxCandlesPerRequest = 350

// maxCandleRequests bounds the requests one Bars call may make (about
// 3.3 years of one-minute candles), so that a mistaken range such as one
// from 1970 cannot spend the private rate limit for hours.
const maxCandleRequests = 5000

// granularities maps the intervals Coinbase serves to its enum
// (marketdata.md §2.1). Ten minutes, a week and a month have no bucket, and
// none is built here from smaller ones.
var granularities = []struct {
	iv   broker.Interval
	wire string
}{
	{broker.OneMinute, "ONE_MINUTE"}, {broker.FiveMinutes, "FIVE_MINUTE"},
	{broker.FifteenMinutes, "FIFTEEN_MINUTE"}, {broker.ThirtyMinutes, "THIRTY_MINUTE"},
	{broker.OneHour, "ONE_HOUR"}, {broker.TwoHours, "TWO_HOUR"}, {broker.FourHours, "FOUR_HOUR"},
	{broker.SixHours, "SIX_HOUR"}, {broker.OneDay, "ONE_DAY"},
}

func granularity(iv broker.Interval) (string, bool) {
	for _, g := range granularities {
		if g.iv == iv {
			return g.wire, true
		}
	}
	return "", false
}

// candleIntervals lists the served intervals in a slice the caller may keep.
func candleIntervals() []broker.Interval {
	out := make([]broker.Interval, len(granularities))
	for i, g := range granularities {
		out[i] = g.iv
	}
	return out
}

// Bars returns the candles of product q.Symbol ("BTC-USD") over
// [q.From, q.To), oldest first, one per bucket start, from GET
// /products/{product_id}/candles (authenticated). Buckets start at
// multiples of the interval in UTC (ONE_DAY at 00:00 UTC). A range longer
// than 349 buckets is fetched in consecutive pages of 349 buckets, each
// asked for with one more bucket on either side (whether Coinbase's bounds
// are inclusive is not documented, so neighbouring requests overlap), and
// merged by start time: no bucket is lost or repeated at a seam. A bucket without trades has no candle and stays a
// gap. The bucket containing the adapter's clock is marked Provisional: its
// close and volume still change.
//
// Ten-minute, weekly and monthly bars are errors matching
// errors.ErrNotSupported; an empty product id or range, or one needing
// more than 5000 requests, matches errors.ErrInvalidOrder. Nothing is
// sent for either. ExtendedHours has no meaning for crypto and is ignored.
func (b *Broker) Bars(ctx context.Context, q broker.BarQuery) ([]broker.Bar, error) {
	gran, step, err := checkCandleQuery(q)
	if err != nil {
		return nil, err
	}
	first := ceilTo(q.From, step)
	last := ceilTo(q.To, step).Add(-step) // the last bucket starting before To
	var all []broker.Bar
	for ws := first; !ws.After(last); {
		we := ws.Add((maxCandlesPerRequest - 2) * step)
		if we.After(last) {
			we = last
		}
		// Asking from one bucket before ws to one after we gets ws..we
		// whether each bound is inclusive or not, in 350 buckets at most.
		page, err := b.candlePage(ctx, q, gran, ws.Add(-step), we.Add(step))
		if err != nil {
			return nil, err
		}
		all = append(all, page...)
		ws = we.Add(step)
	}
	return broker.NormalizeBars(all, q, b.now()), nil
}

func checkCandleQuery(q broker.BarQuery) (string, time.Duration, error) {
	refuse := func(kind errors.Kind, msg string) error {
		return &errors.BrokerError{Broker: brokerName, Op: "candles", Kind: kind, Message: msg}
	}
	gran, ok := granularity(q.Interval)
	step, _ := q.Interval.Duration()
	switch {
	case !ok:
		return "", 0, refuse(errors.ErrNotSupported, fmt.Sprintf("no %q candles: Coinbase has 1, 5, 15 and 30 minute, 1, 2, 4 and 6 hour and daily buckets", q.Interval))
	case q.Symbol == "":
		return "", 0, refuse(errors.ErrInvalidOrder, "bar query without a product id")
	case q.From.IsZero() || q.To.IsZero() || !q.From.Before(q.To):
		return "", 0, refuse(errors.ErrInvalidOrder, "bar query needs From before To")
	case q.To.Sub(q.From)/step/(maxCandlesPerRequest-1) >= maxCandleRequests:
		return "", 0, refuse(errors.ErrInvalidOrder, fmt.Sprintf("range of %v in %q candles needs more than %d requests; ask for less",
			q.To.Sub(q.From), q.Interval, maxCandleRequests))
	}
	return gran, step, nil
}

// ceilTo rounds t up to a multiple of step in UTC. Truncate counts from
// year 1, a whole number of days before the UNIX epoch, so for every
// granularity (a divisor of a day) that is Coinbase's alignment.
func ceilTo(t time.Time, step time.Duration) time.Time {
	r := t.Truncate(step)
	if r.Before(t) {
		r = r.Add(step)
	}
	return r.UTC()
}

// candlePage asks for the buckets between start and end.
func (b *Broker) candlePage(ctx context.Context, q broker.BarQuery, gran string, start, end time.Time) ([]broker.Bar, error) {
	v := url.Values{
		"start":       {strconv.FormatInt(start.Unix(), 10)},
		"end":         {strconv.FormatInt(end.Unix(), 10)},
		"granularity": {gran},
		"limit":       {strconv.Itoa(maxCandlesPerRequest)},
	}
	resp, err := b.do(ctx, httpx.Request{Op: "candles", Method: http.MethodGet,
		Path: "/products/" + url.PathEscape(q.Symbol) + "/candles", Query: v, Idempotent: true}, nil)
	if err != nil {
		return nil, err
	}
	return decodeCandles(resp.Body, q.Symbol, q.Interval)
}

// wireCandle is one bucket: every value a JSON string, start in UNIX
// seconds, volume in the base currency.
type wireCandle struct {
	Start  string `json:"start"`
	Low    string `json:"low"`
	High   string `json:"high"`
	Open   string `json:"open"`
	Close  string `json:"close"`
	Volume string `json:"volume"`
}

// decodeCandles reads a candles answer into bars, in the answer's order
// (newest first at Coinbase). No candles is no bars; a candle whose start
// or prices cannot be read is a malformed answer.
func decodeCandles(body []byte, product string, iv broker.Interval) ([]broker.Bar, error) {
	var w struct {
		Candles []wireCandle `json:"candles"`
	}
	// One scan, no decoder buffer; trailing data is an error here too.
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, candleMalformed(err.Error())
	}
	out := make([]broker.Bar, 0, len(w.Candles))
	for _, c := range w.Candles {
		sec, err := strconv.ParseInt(c.Start, 10, 64)
		if err != nil || sec < minCandleSeconds || sec > maxCandleSeconds {
			return nil, candleMalformed(fmt.Sprintf("candle start %q is not a UNIX time in seconds", truncate(c.Start, 40)))
		}
		bar := broker.Bar{Symbol: product, Start: time.Unix(sec, 0).UTC(), Interval: iv}
		for _, f := range []struct {
			dst  *decimal.Decimal
			name string
			src  string
		}{{&bar.Open, "open", c.Open}, {&bar.High, "high", c.High}, {&bar.Low, "low", c.Low},
			{&bar.Close, "close", c.Close}, {&bar.Volume, "volume", c.Volume}} {
			d, err := candleDecimal(f.src)
			if err != nil {
				return nil, candleMalformed(fmt.Sprintf("candle %s: %v", f.name, err))
			}
			*f.dst = d
		}
		out = append(out, bar)
	}
	return out, nil
}

// Candle times before 2009 (no crypto market) or after 2200 are garbage,
// or milliseconds where seconds belong.
var (
	minCandleSeconds = time.Date(2009, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	maxCandleSeconds = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
)

// candleDecimal parses a non-negative decimal string of sane size: no
// price or volume needs 64 characters or an exponent beyond ±40, and
// arithmetic on 1e999999999 would not finish.
func candleDecimal(s string) (decimal.Decimal, error) {
	if s == "" || len(s) > 64 {
		return decimal.Decimal{}, fmt.Errorf("%q is not a decimal", truncate(s, 40))
	}
	if d, ok := plainDecimal(s); ok {
		return d, nil
	}
	d, err := decimal.NewFromString(s)
	if err != nil || d.IsNegative() || d.Exponent() > 40 || d.Exponent() < -40 {
		return decimal.Decimal{}, fmt.Errorf("%q is not a non-negative decimal", truncate(s, 40))
	}
	return d, nil
}

// plainDecimal reads the form every candle value takes, digits[.digits]
// with at most 18 digits, exactly and without the general parser's big
// integers; anything else reports false.
func plainDecimal(s string) (decimal.Decimal, bool) {
	var v int64
	digits, scale, dot := 0, int32(0), false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			if digits == 18 {
				return decimal.Decimal{}, false
			}
			v = v*10 + int64(c-'0')
			digits++
			if dot {
				scale++
			}
		case c == '.' && !dot && digits > 0:
			dot = true
		default:
			return decimal.Decimal{}, false
		}
	}
	if digits == 0 || dot && scale == 0 {
		return decimal.Decimal{}, false
	}
	return decimal.New(v, -scale), true
}

func candleMalformed(msg string) error {
	return &errors.BrokerError{Broker: brokerName, Op: "candles", Kind: errors.ErrMalformedResponse,
		Message: msg}
}
