package bars

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/errors"
	"github.com/shopspring/decimal"
)

// Options names what the input's columns do not say.
type Options struct {
	// Symbol is the series' symbol; required unless the input has a symbol
	// column, and then it must match every row's when set.
	Symbol string
	// Interval is the series' bar length; required unless the input has an
	// interval column, and then it must match every row's when set.
	Interval broker.Interval
}

// The columns of the layout.
const (
	colTime = iota
	colOpen
	colHigh
	colLow
	colClose
	colVolume
	colSymbol
	colInterval
	columns
)

var columnNames = [columns]string{"time", "open", "high", "low", "close", "volume", "symbol", "interval"}

// required is how many of the columns (the first ones) must be present.
const required = colVolume + 1

// Read reads one series of bars in the layout of the package doc from r,
// oldest first. Any bad row stops the read with a [*RowError]; an input
// without a header, or with neither a symbol column nor Options.Symbol,
// returns one with Line 0 or 1.
func Read(r io.Reader, opt Options) ([]broker.Bar, error) {
	if opt.Interval != "" {
		if _, ok := opt.Interval.Duration(); !ok {
			return nil, &RowError{Reason: fmt.Sprintf("unknown interval %q", opt.Interval)}
		}
	}
	cr := csv.NewReader(r)
	cr.ReuseRecord = true
	cr.FieldsPerRecord = -1 // checked here, to name the line in our own words
	header, err := cr.Read()
	if err == io.EOF {
		return nil, &RowError{Line: 1, Reason: "no header row"}
	}
	if err != nil {
		return nil, csvError(err)
	}
	idx, width, err := parseHeader(header)
	if err != nil {
		return nil, err
	}
	if idx[colSymbol] < 0 && opt.Symbol == "" {
		return nil, &RowError{Line: 1, Reason: "no symbol column and no symbol given"}
	}
	if idx[colInterval] < 0 && opt.Interval == "" {
		return nil, &RowError{Line: 1, Reason: "no interval column and no interval given"}
	}
	p := parser{idx: idx, opt: opt}
	var out []broker.Bar
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, csvError(err)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) != width {
			return nil, &RowError{Line: line, Reason: fmt.Sprintf("%d fields, the header has %d", len(rec), width)}
		}
		bar, err := p.row(line, rec)
		if err != nil {
			return nil, err
		}
		if n := len(out); n > 0 {
			if err := follows(line, out[n-1], bar); err != nil {
				return nil, err
			}
		}
		out = append(out, bar)
	}
}

// csvError turns a CSV syntax error into a RowError naming its line and
// column.
func csvError(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return &RowError{Line: pe.StartLine, Column: pe.Column, Reason: "bad CSV", Err: pe.Err}
	}
	return &RowError{Reason: "reading", Err: err}
}

// parseHeader maps the columns of the layout to their positions in the
// header (-1 when absent).
func parseHeader(header []string) (idx [columns]int, width int, err error) {
	for i := range idx {
		idx[i] = -1
	}
	for i, h := range header {
		name := strings.ToLower(strings.TrimSpace(h))
		if i == 0 {
			name = strings.TrimPrefix(name, "\ufeff") // a byte order mark some tools write
		}
		for c, want := range columnNames {
			if name != want {
				continue
			}
			if idx[c] >= 0 {
				return idx, 0, &RowError{Line: 1, Column: i + 1, Name: name, Reason: "the column appears twice"}
			}
			idx[c] = i
		}
	}
	for c := range required {
		if idx[c] < 0 {
			return idx, 0, &RowError{Line: 1, Reason: fmt.Sprintf("the header has no %q column", columnNames[c])}
		}
	}
	return idx, len(header), nil
}

type parser struct {
	idx [columns]int
	opt Options
}

// row parses one record into a bar and checks its own consistency.
func (p *parser) row(line int, rec []string) (broker.Bar, error) {
	bad := func(c int, reason string, cause error) error {
		return &RowError{Line: line, Column: p.idx[c] + 1, Name: columnNames[c], Reason: reason, Err: cause}
	}
	field := func(c int) string { return strings.TrimSpace(rec[p.idx[c]]) }

	var bar broker.Bar
	start, err := parseTime(field(colTime))
	if err != nil {
		return bar, bad(colTime, "not RFC 3339 nor epoch seconds", err)
	}
	bar.Start = start
	bar.Symbol, bar.Interval = p.opt.Symbol, p.opt.Interval
	if p.idx[colSymbol] >= 0 {
		s := field(colSymbol)
		switch {
		case s == "":
			return bar, bad(colSymbol, "empty symbol", nil)
		case p.opt.Symbol != "" && s != p.opt.Symbol:
			return bar, bad(colSymbol, fmt.Sprintf("symbol %q, the series is %q", s, p.opt.Symbol), nil)
		}
		bar.Symbol = s
	}
	if p.idx[colInterval] >= 0 {
		iv := broker.Interval(field(colInterval))
		if _, ok := iv.Duration(); !ok {
			return bar, bad(colInterval, fmt.Sprintf("unknown interval %q", iv), nil)
		}
		if p.opt.Interval != "" && iv != p.opt.Interval {
			return bar, bad(colInterval, fmt.Sprintf("interval %q, the series is %q", iv, p.opt.Interval), nil)
		}
		bar.Interval = iv
	}
	prices := [...]*decimal.Decimal{colOpen: &bar.Open, colHigh: &bar.High, colLow: &bar.Low, colClose: &bar.Close, colVolume: &bar.Volume}
	for c := colOpen; c <= colVolume; c++ {
		d, err := decimal.NewFromString(field(c))
		if err != nil {
			return bar, bad(c, "not a decimal", err)
		}
		*prices[c] = d
	}
	if err := Check(bar); err != nil {
		var re *RowError
		if errors.As(err, &re) {
			re.Line = line
			if re.Name != "" {
				for c, n := range columnNames {
					if n == re.Name {
						re.Column = p.idx[c] + 1
					}
				}
			}
		}
		return bar, err
	}
	return bar, nil
}

// parseTime reads RFC 3339 or integer epoch seconds, into UTC.
func parseTime(s string) (time.Time, error) {
	if s != "" && strings.IndexFunc(s, func(r rune) bool { return r < '0' || r > '9' }) < 0 {
		sec, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return time.Time{}, err
		}
		return time.Unix(sec, 0).UTC(), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, err
	}
	return t.UTC(), nil
}

// Check refuses a bar that is not self-consistent: an unknown interval, no
// symbol, a non-positive price, a negative volume, a high below the open or
// the close, a low above either. The error is a [*RowError] with Line 0 and
// the offending column's Name.
func Check(b broker.Bar) error {
	bad := func(name, format string, args ...any) error {
		return &RowError{Name: name, Reason: fmt.Sprintf(format, args...)}
	}
	switch {
	case b.Symbol == "":
		return bad("symbol", "no symbol")
	case !known(b.Interval):
		return bad("interval", "unknown interval %q", b.Interval)
	case !b.Low.IsPositive():
		return bad("low", "low %s is not positive", b.Low)
	case b.Volume.IsNegative():
		return bad("volume", "volume %s is negative", b.Volume)
	case b.High.LessThan(decimal.Max(b.Open, b.Close)):
		return bad("high", "high %s is below the open %s or the close %s", b.High, b.Open, b.Close)
	case b.Low.GreaterThan(decimal.Min(b.Open, b.Close)):
		return bad("low", "low %s is above the open %s or the close %s", b.Low, b.Open, b.Close)
	}
	return nil
}

func known(iv broker.Interval) bool {
	_, ok := iv.Duration()
	return ok
}

// follows refuses next unless it starts at or after prev's end.
func follows(line int, prev, next broker.Bar) error {
	switch {
	case !next.Start.After(prev.Start):
		return &RowError{Line: line, Reason: fmt.Sprintf("starts at %s, not after the previous bar (%s): rows must be strictly ascending",
			next.Start.Format(time.RFC3339), prev.Start.Format(time.RFC3339))}
	case next.Start.Before(prev.End()):
		return &RowError{Line: line, Reason: fmt.Sprintf("starts at %s, before the previous bar ends (%s)",
			next.Start.Format(time.RFC3339), prev.End().Format(time.RFC3339))}
	}
	return nil
}
