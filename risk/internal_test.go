package risk

import (
	"testing"

	"github.com/shopspring/decimal"
)

// TestArithmeticShortcutsAgree: the sums and differences written to save
// allocations give what the plain formulas give (addExtentValue exactly,
// exponent included).
func TestArithmeticShortcutsAgree(t *testing.T) {
	d := decimal.RequireFromString
	values := []decimal.Decimal{d("0"), d("0.00"), d("50"), d("-50"), d("-50.5"), d("100.01"), d("-0.001"), d("7e3")}
	same := func(a, b decimal.Decimal) bool { return a.Equal(b) && a.Exponent() == b.Exponent() }
	for _, a := range values {
		for _, b := range values {
			if got, want := absDiff(a, b), a.Sub(b).Abs(); !got.Equal(want) {
				t.Errorf("absDiff(%s, %s) = %s, want %s", a, b, got, want)
			}
			for _, c := range values {
				low, high := a, b
				if low.GreaterThan(high) {
					low, high = high, low
				}
				h := Holding{Quantity: low, PendingBuy: high.Sub(low), Mark: c}
				got, want := addExtentValue(d("12.5"), h), d("12.5").Add(h.Extent().Mul(h.Mark))
				if !same(got, want) {
					t.Errorf("addExtentValue(12.5, range [%s, %s] at %s) = %s, want %s", low, high, c, got, want)
				}
			}
		}
	}
}

func TestMaxDailyLossAtTheBoundaries(t *testing.T) {
	d := decimal.RequireFromString
	tests := []struct {
		realized, unrealized, limit string
		refused                     bool
	}{
		{"0", "0", "100", false},
		{"10", "5", "100", false},
		{"-100", "0", "100", false}, // a loss of exactly Limit is allowed
		{"-100", "-0.01", "100", true},
		{"-150", "50", "100", false},
		{"50", "-150.01", "100", true},
		// Unvalidated negative limits: a gain of 15 is a loss of -15, not above -1;
		// a loss of 0 is.
		{"10", "5", "-1", false},
		{"0", "0", "-1", true},
	}
	for _, tt := range tests {
		r := MaxDailyLoss{Limit: d(tt.limit)}
		err := r.Check(Intent{PnL: PnL{Realized: d(tt.realized), Unrealized: d(tt.unrealized)}})
		if (err != nil) != tt.refused {
			t.Errorf("loss limit %s, P&L %s%+s: error %v, want refused %v", tt.limit, tt.realized, tt.unrealized, err, tt.refused)
		}
	}
}

// TestBuiltInRulesTakeTheIntentByPointer: every built-in rule skips the
// copy of the intent per rule in the engine.
func TestBuiltInRulesTakeTheIntentByPointer(t *testing.T) {
	for _, r := range []Rule{MaxOrderQuantity{}, MaxOrderNotional{}, MaxOrdersPerDay{}, MaxDailyLoss{},
		MaxOrderRate{}, PriceBand{}, SymbolAllowList{}, SymbolDenyList{}, AssetClassAllowList{},
		MaxPositionQuantity{}, MaxPositionNotional{}, MaxGrossExposure{}, MaxConcentration{}} {
		if _, ok := r.(intentChecker); !ok {
			t.Errorf("%s does not implement intentChecker", r.Name())
		}
	}
}
