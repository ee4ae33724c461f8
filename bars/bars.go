// Package bars reads bar series from text and serves them as a
// [broker.BarSource]: the input of a backtest, or a test's price history.
//
// # The CSV layout
//
// [Read] takes CSV from any io.Reader. The first row is a header naming the
// columns, in any order, case-insensitively:
//
//	time      required: the bar's start, RFC 3339 ("2026-03-02T14:30:00Z",
//	          any offset, kept in UTC) or integer epoch seconds ("1772461800")
//	open      required: decimal text ("241.84"); never read through a float
//	high      required: at least max(open, close)
//	low       required: at most min(open, close), positive
//	close     required
//	volume    required: not negative
//	symbol    optional: the row's symbol
//	interval  optional: the row's interval ("1m", "1d", as broker.Interval)
//
// Other columns are ignored. One input holds one series: where the symbol
// or the interval is not a column, the caller names it in [Options]; where
// it is both, they must agree on every row. Rows must be strictly ascending
// by time and may not overlap (a bar starts no earlier than the previous
// one ends); a gap between bars stays a gap. Blank lines are skipped.
//
// A bad row is refused with a [*RowError] naming the line and the column,
// which matches [ErrMalformedBars] with errors.Is.
package bars

import (
	"fmt"

	"github.com/arbiontrader/arbion/errors"
)

// ErrMalformedBars is the kind of every error that refuses bar data: a row
// that does not parse, or bars that break the rules of the layout.
const ErrMalformedBars errors.Kind = "malformed bars"

// RowError is a refused row.
type RowError struct {
	// Line is the 1-based line of the input the row starts on (the header
	// is line 1); 0 when the error is about the input as a whole.
	Line int
	// Column is the 1-based column of the bad field, 0 when the row as a
	// whole is bad (out of order, high below low, ...).
	Column int
	// Name is the column's header name, empty with Column 0.
	Name string
	// Reason says what is wrong, for a human.
	Reason string
	// Err is the underlying cause (a parse error), if any.
	Err error
}

// Error formats the refusal: "bars: line 7, column 3 (high): ...".
func (e *RowError) Error() string {
	where := "bars: "
	switch {
	case e.Line > 0 && e.Column > 0:
		where += fmt.Sprintf("line %d, column %d (%s): ", e.Line, e.Column, e.Name)
	case e.Line > 0:
		where += fmt.Sprintf("line %d: ", e.Line)
	}
	if e.Err != nil {
		return where + e.Reason + ": " + e.Err.Error()
	}
	return where + e.Reason
}

// Is matches [ErrMalformedBars].
func (e *RowError) Is(target error) bool { return target == ErrMalformedBars }

// Unwrap returns the underlying cause.
func (e *RowError) Unwrap() error { return e.Err }
