package schwab

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/internal/httpx"
)

// barIntervals are the bar lengths /pricehistory serves (marketdata.md
// §1.1): minute bars of 1, 5, 10, 15 and 30 minutes, and daily, weekly and
// monthly bars. There is no hourly bar, and none is built here from
// smaller ones: a bar the broker did not send is never synthesised.
var barIntervals = []broker.Interval{
	broker.OneMinute, broker.FiveMinutes, broker.TenMinutes, broker.FifteenMinutes, broker.ThirtyMinutes,
	broker.OneDay, broker.OneWeek, broker.OneMonth,
}

// historyParams is one row of Schwab's table of valid combinations.
type historyParams struct {
	periodType, period, frequencyType, frequency string
	// window is the span one request covers: the spec's paging advice
	// (minute bars ≤ 10 days, 5–30 minutes ≤ 1 month, daily ≤ 20 years).
	window time.Duration
}

// historyCombination maps an interval to the query Schwab accepts for it.
// With explicit startDate and endDate the period is ignored; it is still
// sent, valid for its periodType, as schwab-py does.
func historyCombination(iv broker.Interval) (historyParams, bool) {
	const day = 24 * time.Hour
	minute := func(n string, window time.Duration) historyParams {
		return historyParams{"day", "1", "minute", n, window}
	}
	long := func(freq string) historyParams { return historyParams{"year", "20", freq, "1", 20 * 365 * day} }
	switch iv {
	case broker.OneMinute:
		return minute("1", 10*day), true
	case broker.FiveMinutes:
		return minute("5", 31*day), true
	case broker.TenMinutes:
		return minute("10", 31*day), true
	case broker.FifteenMinutes:
		return minute("15", 31*day), true
	case broker.ThirtyMinutes:
		return minute("30", 31*day), true
	case broker.OneDay:
		return long("daily"), true
	case broker.OneWeek:
		return long("weekly"), true
	case broker.OneMonth:
		return long("monthly"), true
	}
	return historyParams{}, false
}

// maxHistoryRequests bounds the requests one Bars call may make (400
// windows: eleven years of minute bars, far beyond Schwab's depth of about
// 48 days), so that a mistaken range cannot spend the 120-a-minute budget
// for a quarter of an hour.
const maxHistoryRequests = 400

// Bars returns the bars of q.Symbol over [q.From, q.To), oldest first, one
// per start time, from GET /marketdata/v1/pricehistory. Long ranges are
// fetched in consecutive windows, each overlapping its neighbours by a
// millisecond at both ends (whether Schwab's bounds are inclusive is not
// documented), and the answers are merged by start time. Intraday bars
// include the pre- and post-market sessions when q.ExtendedHours is set.
// The bar still forming at the adapter's clock is marked Provisional.
//
// An interval Schwab does not serve (hourly and longer intraday bars) or
// an option symbol (Schwab keeps no option history) is an error matching
// errors.ErrNotSupported; an empty symbol or range matches
// errors.ErrInvalidOrder. Nothing is sent for either.
func (b *Broker) Bars(ctx context.Context, q broker.BarQuery) ([]broker.Bar, error) {
	p, err := checkBarQuery(q)
	if err != nil {
		return nil, err
	}
	var all []broker.Bar
	for ws := q.From; ws.Before(q.To); ws = ws.Add(p.window) {
		we := ws.Add(p.window)
		if we.After(q.To) {
			we = q.To
		}
		bars, err := b.historyWindow(ctx, q, p, ws.Add(-time.Millisecond), we)
		if err != nil {
			return nil, err
		}
		all = append(all, bars...)
	}
	return broker.NormalizeBars(all, q, b.clock.Now()), nil
}

func checkBarQuery(q broker.BarQuery) (historyParams, error) {
	refuse := func(kind errors.Kind, msg string) error {
		return &errors.BrokerError{Broker: Name, Op: "price history", Kind: kind, Message: msg}
	}
	p, ok := historyCombination(q.Interval)
	switch {
	case !ok:
		return p, refuse(errors.ErrNotSupported, fmt.Sprintf("no %q bars: Schwab serves 1, 5, 10, 15 and 30 minute, daily, weekly and monthly bars", q.Interval))
	case q.Symbol == "":
		return p, refuse(errors.ErrInvalidOrder, "bar query without a symbol")
	case isOptionSymbol(q.Symbol):
		return p, refuse(errors.ErrNotSupported, "Schwab keeps no price history for options")
	case q.From.IsZero() || q.To.IsZero() || !q.From.Before(q.To):
		return p, refuse(errors.ErrInvalidOrder, "bar query needs From before To")
	case q.To.Sub(q.From)/p.window >= maxHistoryRequests:
		return p, refuse(errors.ErrInvalidOrder, fmt.Sprintf("range of %v in %q bars needs more than %d requests; ask for less",
			q.To.Sub(q.From), q.Interval, maxHistoryRequests))
	}
	return p, nil
}

// isOptionSymbol reports the OSI form Schwab gives options: a root padded
// with spaces to six characters, yymmdd, C or P, and the strike in eight
// digits ("AAPL  241018C00005000").
func isOptionSymbol(s string) bool {
	if len(s) != 21 || (s[12] != 'C' && s[12] != 'P') {
		return false
	}
	for _, c := range []byte(s[6:12] + s[13:]) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// historyWindow asks for the bars of [start, end] (bounds in epoch ms).
func (b *Broker) historyWindow(ctx context.Context, q broker.BarQuery, p historyParams, start, end time.Time) ([]broker.Bar, error) {
	v := url.Values{
		"symbol":                {q.Symbol},
		"periodType":            {p.periodType},
		"period":                {p.period},
		"frequencyType":         {p.frequencyType},
		"frequency":             {p.frequency},
		"startDate":             {strconv.FormatInt(start.UnixMilli(), 10)},
		"endDate":               {strconv.FormatInt(end.UnixMilli(), 10)},
		"needExtendedHoursData": {strconv.FormatBool(q.ExtendedHours)},
		"needPreviousClose":     {"false"},
	}
	resp, err := b.do(ctx, httpx.Request{Op: "price history", Path: "/marketdata/v1/pricehistory", Query: v,
		Bucket: b.readBucket, Idempotent: true})
	if err != nil {
		return nil, err
	}
	return decodeCandles(resp.Body, q.Symbol, q.Interval)
}

// wireCandleList is /pricehistory's CandleList. previousClose and its date
// come only with needPreviousClose=true and are not read.
type wireCandleList struct {
	Candles []wireCandle `json:"candles"`
	Symbol  string       `json:"symbol"`
	Empty   bool         `json:"empty"`
}

type wireCandle struct {
	Open     num         `json:"open"`
	High     num         `json:"high"`
	Low      num         `json:"low"`
	Close    num         `json:"close"`
	Volume   num         `json:"volume"`
	Datetime json.Number `json:"datetime"` // epoch ms of the bar's start
}

// decodeCandles reads a CandleList into bars of symbol and iv, in the
// answer's order. An answer saying empty, or with no candles, is no bars,
// not an error; a candle without a usable start time is a malformed answer.
func decodeCandles(body []byte, symbol string, iv broker.Interval) ([]broker.Bar, error) {
	var w wireCandleList
	if err := decodeStrict(body, &w); err != nil {
		return nil, malformed("price history", err)
	}
	if w.Empty && len(w.Candles) == 0 {
		return nil, nil
	}
	out := make([]broker.Bar, 0, len(w.Candles))
	for _, c := range w.Candles {
		ms, err := strconv.ParseInt(string(c.Datetime), 10, 64)
		// Bars before 1971 or after 2200 are no market's: a seconds value
		// read as milliseconds lands in 1970 (spec pitfall 5), or garbage.
		if err != nil || ms < minBarMillis || ms > maxBarMillis {
			return nil, malformed("price history", fmt.Errorf("candle datetime %q is not an epoch-millisecond time", c.Datetime))
		}
		out = append(out, broker.Bar{Symbol: symbol, Start: time.UnixMilli(ms).UTC(), Interval: iv,
			Open: c.Open.Decimal, High: c.High.Decimal, Low: c.Low.Decimal, Close: c.Close.Decimal, Volume: c.Volume.Decimal})
	}
	return out, nil
}

var (
	minBarMillis = time.Date(1971, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	maxBarMillis = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
)

// barIntervalsCopy returns the served intervals in a slice the caller may
// keep.
func barIntervalsCopy() []broker.Interval { return slices.Clone(barIntervals) }
