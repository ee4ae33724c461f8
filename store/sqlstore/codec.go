package sqlstore

import (
	"database/sql"
	"encoding"
	"fmt"
	"time"

	"github.com/arbiontrader/arbion/errors"
	"github.com/shopspring/decimal"
)

// decText formats d so that reading it back gives the same value and the
// same number of decimal places ("1.50" stays "1.50"; decimal.String would
// write "1.5").
func decText(d decimal.Decimal) string {
	if exp := d.Exponent(); exp < 0 {
		return d.StringFixed(-exp)
	}
	return d.String()
}

// decScan reads a decimal column (NUMERIC or TEXT) exactly.
type decScan struct {
	dst *decimal.Decimal
}

func (s decScan) Scan(src any) error {
	var text string
	switch v := src.(type) {
	case string:
		text = v
	case []byte:
		text = string(v)
	case int64:
		*s.dst = decimal.NewFromInt(v)
		return nil
	default:
		return fmt.Errorf("sqlstore: decimal column holds %T: %w", src, errors.ErrMalformedResponse)
	}
	d, err := decimal.NewFromString(text)
	if err != nil {
		return fmt.Errorf("sqlstore: decimal column %q: %w", text, errors.ErrMalformedResponse)
	}
	*s.dst = d
	return nil
}

// nanos stores a time as Unix nanoseconds, exact and zone-free; the zero
// time is NULL.
func nanos(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixNano(), Valid: true}
}

// timeScan reads what nanos wrote, in UTC.
type timeScan struct {
	dst *time.Time
}

func (s timeScan) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*s.dst = time.Time{}
	case int64:
		*s.dst = time.Unix(0, v).UTC()
	default:
		return fmt.Errorf("sqlstore: time column holds %T: %w", src, errors.ErrMalformedResponse)
	}
	return nil
}

// enumText stores an enum by its text form.
func enumText(v encoding.TextMarshaler) (string, error) {
	b, err := v.MarshalText()
	return string(b), err
}

// enumScan reads an enum stored by enumText.
type enumScan struct {
	dst encoding.TextUnmarshaler
}

func (s enumScan) Scan(src any) error {
	switch v := src.(type) {
	case string:
		return s.dst.UnmarshalText([]byte(v))
	case []byte:
		return s.dst.UnmarshalText(v)
	}
	return fmt.Errorf("sqlstore: enum column holds %T: %w", src, errors.ErrMalformedResponse)
}
