package schwabtest

import (
	"encoding/binary"
	"encoding/json"
	"hash/fnv"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/shopspring/decimal"
)

// RoutePriceHistory is GET /marketdata/v1/pricehistory.
const RoutePriceHistory Route = "pricehistory"

// PriceHistoryConfig tunes GET /marketdata/v1/pricehistory. The zero value
// is usable: Schwab's reported depths and empty answers for options.
type PriceHistoryConfig struct {
	// Seed picks the series: the same seed and symbol always give the same
	// bars (the forming bar aside, which follows the clock).
	Seed int64
	// MinuteDepth is how far back 1-minute bars go from now; default 48
	// days (schwab-py's observation).
	MinuteDepth time.Duration
	// IntradayDepth is how far back 5- to 30-minute bars go; default 270
	// days (about nine months).
	IntradayDepth time.Duration
	// OptionSymbols400 answers an option symbol with 400 instead of the
	// default 200 empty: Schwab keeps no option history and which of the
	// two it answers is not known.
	OptionSymbols400 bool
	// UnknownSymbols are answered 404 (symbol not found), as a real
	// unknown symbol may be; every other symbol has a series.
	UnknownSymbols []string
}

func (c PriceHistoryConfig) minuteDepth() time.Duration {
	if c.MinuteDepth > 0 {
		return c.MinuteDepth
	}
	return 48 * 24 * time.Hour
}

func (c PriceHistoryConfig) intradayDepth() time.Duration {
	if c.IntradayDepth > 0 {
		return c.IntradayDepth
	}
	return 270 * 24 * time.Hour
}

// historyTable is the spec's table of valid combinations: per periodType,
// its periods (the first is the default), its frequency types (the first
// is the default) and, per frequency type, its frequencies.
var historyTable = map[string]struct {
	periods, frequencyTypes []string
}{
	"day":   {[]string{"10", "1", "2", "3", "4", "5"}, []string{"minute"}},
	"month": {[]string{"1", "2", "3", "6"}, []string{"weekly", "daily"}},
	"year":  {[]string{"1", "2", "3", "5", "10", "15", "20"}, []string{"monthly", "daily", "weekly"}},
	"ytd":   {[]string{"1"}, []string{"weekly", "daily"}},
}

var historyFrequencies = map[string][]string{
	"minute":  {"1", "5", "10", "15", "30"},
	"daily":   {"1"},
	"weekly":  {"1"},
	"monthly": {"1"},
}

// historyRequest is a validated /pricehistory query.
type historyRequest struct {
	symbol        string
	periodType    string
	period        int
	frequencyType string
	frequency     int
	start, end    time.Time // inclusive, as Schwab's bounds are read here
	extended      bool
	previousClose bool
}

func badParam(name, detail string) response {
	return gatewayError(http.StatusBadRequest, "400", "Bad Request", detail, map[string]any{"parameter": name})
}

func (s *Server) priceHistory(r *http.Request, _ []byte) response {
	cfg := s.cfg.PriceHistory
	req, bad := s.parseHistory(r)
	if bad.status != 0 {
		return bad
	}
	if slices.Contains(cfg.UnknownSymbols, req.symbol) {
		return gatewayError(http.StatusNotFound, "404", "Not Found", "Symbol not found: "+req.symbol,
			map[string]any{"parameter": "symbol"})
	}
	if isOSI(req.symbol) {
		if cfg.OptionSymbols400 {
			return badParam("symbol", "Price history is not available for options")
		}
		return jsonResponse(http.StatusOK, map[string]any{"candles": []any{}, "symbol": req.symbol, "empty": true})
	}
	zones, err := loadZones()
	if err != nil {
		return gatewayError(http.StatusInternalServerError, 500, "Internal Server Error", "time zones unavailable", nil)
	}
	now := s.clock.Now()
	series := newSeries(cfg.Seed, req.symbol)
	candles := []any{}
	for _, b := range series.bars(req, zones, now, s.historyFloor(req, now)) {
		candles = append(candles, b.json())
	}
	out := map[string]any{"candles": candles, "symbol": req.symbol, "empty": len(candles) == 0}
	if req.previousClose {
		day := previousWeekday(req.start.In(zones.chicago))
		out["previousClose"] = price(series.level(day.Add(15*time.Hour + 59*time.Minute)))
		out["previousCloseDate"] = day.UnixMilli()
	}
	return jsonResponse(http.StatusOK, out)
}

// historyFloor is the oldest bar start the emulated history holds for the
// request's frequency.
func (s *Server) historyFloor(req historyRequest, now time.Time) time.Time {
	if req.frequencyType != "minute" {
		return time.Time{}
	}
	if req.frequency == 1 {
		return now.Add(-s.cfg.PriceHistory.minuteDepth())
	}
	return now.Add(-s.cfg.PriceHistory.intradayDepth())
}

// parseHistory checks the query against the combination table and fills
// Schwab's defaults; a zero response means it is valid.
func (s *Server) parseHistory(r *http.Request) (historyRequest, response) {
	q := r.URL.Query()
	req := historyRequest{symbol: q.Get("symbol"), periodType: q.Get("periodType"), frequencyType: q.Get("frequencyType")}
	if req.symbol == "" {
		return req, badParam("symbol", "symbol is required")
	}
	if req.periodType == "" {
		req.periodType = "day"
	}
	row, ok := historyTable[req.periodType]
	if !ok {
		return req, badParam("periodType", "Invalid periodType: "+req.periodType)
	}
	period := q.Get("period")
	if period == "" {
		period = row.periods[0]
	}
	if !slices.Contains(row.periods, period) {
		return req, badParam("period", "Invalid period "+period+" for periodType "+req.periodType)
	}
	req.period, _ = strconv.Atoi(period)
	if req.frequencyType == "" {
		req.frequencyType = row.frequencyTypes[0]
	}
	if !slices.Contains(row.frequencyTypes, req.frequencyType) {
		return req, badParam("frequencyType", "Invalid frequencyType "+req.frequencyType+" for periodType "+req.periodType)
	}
	freq := q.Get("frequency")
	if freq == "" {
		freq = "1"
	}
	if !slices.Contains(historyFrequencies[req.frequencyType], freq) {
		return req, badParam("frequency", "Invalid frequency "+freq+" for frequencyType "+req.frequencyType)
	}
	req.frequency, _ = strconv.Atoi(freq)
	for _, name := range []string{"needExtendedHoursData", "needPreviousClose"} {
		if v := q.Get(name); v != "" && v != "true" && v != "false" {
			return req, badParam(name, "Invalid value for "+name+": "+v)
		}
	}
	req.extended = q.Get("needExtendedHoursData") != "false"
	req.previousClose = q.Get("needPreviousClose") == "true"
	now := s.clock.Now()
	req.end = now
	if v := q.Get("endDate"); v != "" {
		ms, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return req, badParam("endDate", "Invalid endDate: "+v)
		}
		req.end = time.UnixMilli(ms)
	}
	if v := q.Get("startDate"); v != "" {
		ms, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return req, badParam("startDate", "Invalid startDate: "+v)
		}
		req.start = time.UnixMilli(ms)
	} else {
		req.start = periodBefore(req.end, req.periodType, req.period)
	}
	if req.start.After(req.end) {
		return req, badParam("startDate", "startDate must be before endDate")
	}
	return req, response{}
}

// periodBefore is end minus period periodType units (ytd: the year's start).
func periodBefore(end time.Time, periodType string, period int) time.Time {
	switch periodType {
	case "month":
		return end.AddDate(0, -period, 0)
	case "year":
		return end.AddDate(-period, 0, 0)
	case "ytd":
		return time.Date(end.Year(), 1, 1, 0, 0, 0, 0, end.Location())
	}
	return end.AddDate(0, 0, -period)
}

// isOSI reports an option symbol in Schwab's OSI form: root padded with
// spaces to six, yymmdd, C or P, eight strike digits.
func isOSI(sym string) bool {
	if len(sym) != 21 || (sym[12] != 'C' && sym[12] != 'P') {
		return false
	}
	digits := sym[6:12] + sym[13:]
	for i := range len(digits) {
		if digits[i] < '0' || digits[i] > '9' {
			return false
		}
	}
	return true
}

type zones struct{ newYork, chicago *time.Location }

func loadZones() (zones, error) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		return zones{}, err
	}
	chi, err := time.LoadLocation("America/Chicago")
	return zones{ny, chi}, err
}

// series is one symbol's deterministic price path, in cents.
type series struct {
	seed uint64
	base int64
}

func newSeries(seed int64, symbol string) series {
	h := fnv.New64a()
	_ = binary.Write(h, binary.LittleEndian, seed)
	_, _ = h.Write([]byte(symbol))
	sd := h.Sum64()
	return series{seed: sd, base: 5_000 + int64(sd%45_000)} // 50.00 to 499.99
}

// mix hashes the series seed with a number: the dice of one minute.
func (s series) mix(n int64) uint64 {
	x := s.seed ^ uint64(n)*0x9E3779B97F4A7C15
	x ^= x >> 31
	x *= 0xBF58476D1CE4E5B9
	x ^= x >> 29
	return x
}

// level is the price at t in cents: a slow triangle wave of ±5% around the
// base with a jitter of up to ±0.25%, the same for every request.
func (s series) level(t time.Time) int64 {
	m := t.Unix() / 60
	const wave = 3 * 24 * 60 // minutes per cycle
	phase := m % wave
	if phase < 0 {
		phase += wave
	}
	tri := phase
	if tri > wave/2 {
		tri = wave - tri
	}
	amp := s.base / 20
	v := s.base - amp + 2*amp*tri/(wave/2)
	j := s.base / 400
	if j > 0 {
		v += int64(s.mix(m)%uint64(2*j+1)) - j
	}
	return max(v, 1)
}

// emuBar is one generated bar.
type emuBar struct {
	start                  time.Time
	open, high, low, close int64 // cents
	volume                 int64
}

func price(cents int64) json.Number { return json.Number(decimal.New(cents, -2).String()) }

func (b emuBar) json() map[string]any {
	return map[string]any{"open": price(b.open), "high": price(b.high), "low": price(b.low),
		"close": price(b.close), "volume": b.volume, "datetime": b.start.UnixMilli()}
}

// bar builds the bar [start, end); one still forming at now closes at
// now's level with the volume traded so far.
func (s series) bar(start, end, now time.Time) emuBar {
	last := end.Add(-time.Minute)
	formingFrac := int64(1000)
	if now.Before(end) {
		last = now
		formingFrac = max(1, now.Sub(start).Milliseconds()*1000/end.Sub(start).Milliseconds())
	}
	b := emuBar{start: start, open: s.level(start), close: s.level(last)}
	if now.Before(end) {
		b.close += int64(now.Second()%7) - 3 // moves with the clock inside a minute too
		b.close = max(b.close, 1)
	}
	spread := int64(s.mix(start.Unix())%uint64(s.base/200+1)) + 1
	b.high = max(b.open, b.close) + spread
	b.low = max(min(b.open, b.close)-spread, 1)
	minutes := max(int64(end.Sub(start)/time.Minute), 1)
	b.volume = (100 + int64(s.mix(start.Unix()+1)%10_000)) * minutes * formingFrac / 1000
	return b
}

// bars generates the bars of req that exist at now, not older than floor.
func (s series) bars(req historyRequest, z zones, now, floor time.Time) []emuBar {
	end := req.end
	if now.Before(end) {
		end = now
	}
	if end.Before(req.start) {
		return nil
	}
	from := req.start
	if from.Before(floor) {
		from = floor
	}
	var out []emuBar
	in := func(t time.Time) bool { return !t.Before(from) && !t.After(end) }
	if req.frequencyType == "minute" {
		step := time.Duration(req.frequency) * time.Minute
		for day := startOfDay(from.In(z.newYork)); !day.After(end); day = day.AddDate(0, 0, 1) {
			if !isWeekday(day) {
				continue
			}
			open, closeAt := day.Add(9*time.Hour+30*time.Minute), day.Add(16*time.Hour)
			if req.extended {
				open, closeAt = day.Add(7*time.Hour), day.Add(20*time.Hour)
			}
			for t := day.Add(open.Sub(day) / step * step); t.Before(closeAt); t = t.Add(step) {
				if t.Before(open) || !in(t) {
					continue
				}
				// Quiet extended-hours minutes have no trade, so no bar.
				if req.frequency == 1 && !s.regular(t, day) && s.mix(t.Unix()+2)%8 == 0 {
					continue
				}
				out = append(out, s.bar(t, t.Add(step), now))
			}
		}
		return out
	}
	for t := s.firstPeriod(from.In(z.chicago), req.frequencyType); !t.After(end); t = nextPeriod(t, req.frequencyType) {
		if req.frequencyType == "daily" && !isWeekday(t) {
			continue
		}
		if in(t) {
			out = append(out, s.bar(t, nextPeriod(t, req.frequencyType), now))
		}
	}
	return out
}

func (s series) regular(t, day time.Time) bool {
	return !t.Before(day.Add(9*time.Hour+30*time.Minute)) && t.Before(day.Add(16*time.Hour))
}

// firstPeriod is the start, at 00:00 US Central, of the day, week (Monday)
// or month containing t.
func (series) firstPeriod(t time.Time, frequencyType string) time.Time {
	d := startOfDay(t)
	switch frequencyType {
	case "weekly":
		return d.AddDate(0, 0, -((int(d.Weekday()) + 6) % 7))
	case "monthly":
		return d.AddDate(0, 0, 1-d.Day())
	}
	return d
}

func nextPeriod(t time.Time, frequencyType string) time.Time {
	switch frequencyType {
	case "weekly":
		return t.AddDate(0, 0, 7)
	case "monthly":
		return t.AddDate(0, 1, 0)
	}
	return t.AddDate(0, 0, 1)
}

func startOfDay(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, t.Location())
}

func isWeekday(t time.Time) bool { return t.Weekday() != time.Saturday && t.Weekday() != time.Sunday }

func previousWeekday(t time.Time) time.Time {
	d := startOfDay(t).AddDate(0, 0, -1)
	for !isWeekday(d) {
		d = d.AddDate(0, 0, -1)
	}
	return d
}
