package order

import (
	"testing"

	"github.com/shopspring/decimal"
)

// TestAddDecimalIsAdd: the shortcut returns exactly what Add returns, the
// exponent included (a zero of a finer exponent must still rescale).
func TestAddDecimalIsAdd(t *testing.T) {
	values := []decimal.Decimal{decimal.Zero, decimal.New(0, -2), decimal.New(0, 3), decimal.New(1, 0),
		decimal.New(9937, -2), decimal.New(-5, -4), decimal.New(7, 2), decimal.RequireFromString("123456789012345678901234.5")}
	for _, a := range values {
		for _, b := range values {
			got, want := addDecimal(a, b), a.Add(b)
			if !got.Equal(want) || got.Exponent() != want.Exponent() || got.String() != want.String() {
				t.Errorf("addDecimal(%s (exp %d), %s (exp %d)) = %s exp %d, want %s exp %d",
					a, a.Exponent(), b, b.Exponent(), got, got.Exponent(), want, want.Exponent())
			}
		}
	}
}
