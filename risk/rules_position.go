package risk

import (
	"github.com/shopspring/decimal"
)

// MaxPositionQuantity refuses an order that would take the symbol's
// worst-case absolute position ([Intent.Exposure]: the position plus every
// reserved order on the same side, this one included) above Limit units.
// Longs and shorts count alike. An order that does not raise the exposure
// (selling down a long, covering a short) is never refused, so a position
// already beyond the limit can always be reduced.
type MaxPositionQuantity struct {
	// Limit is the largest absolute position in the symbol (shares or base
	// units) once the order fills; > 0.
	Limit decimal.Decimal
}

// Name returns "max position quantity".
func (MaxPositionQuantity) Name() string { return "max position quantity" }

// Needs returns NeedPositions.
func (MaxPositionQuantity) Needs() Needs { return NeedPositions }

// Validate refuses a limit that is not positive.
func (r MaxPositionQuantity) Validate() error { return positiveLimit(r.Name(), r.Limit) }

// Check refuses a position quantity above Limit after the order.
func (r MaxPositionQuantity) Check(in Intent) error { return r.check(&in) }

func (r MaxPositionQuantity) check(in *Intent) error {
	before, after := in.exposures()
	if after.GreaterThan(r.Limit) && after.GreaterThan(before) {
		return refusal(r, in.Request.Instrument.Symbol, r.Limit.String(), after.String(),
			"absolute position after the order, reserved orders included")
	}
	return nil
}

// MaxPositionNotional refuses an order that would take the symbol's
// worst-case absolute position, valued at the order's price
// ([Intent.Price]), above Limit. Like [MaxPositionQuantity] it never refuses
// an order that does not raise the exposure.
type MaxPositionNotional struct {
	// Limit is the largest absolute value of the symbol's position at the
	// quote (in the account's currency) once the order fills; > 0.
	Limit decimal.Decimal
}

// Name returns "max position notional".
func (MaxPositionNotional) Name() string { return "max position notional" }

// Needs returns NeedPositions and NeedQuote.
func (MaxPositionNotional) Needs() Needs { return NeedPositions | NeedQuote }

// Validate refuses a limit that is not positive.
func (r MaxPositionNotional) Validate() error { return positiveLimit(r.Name(), r.Limit) }

// Check refuses a position notional above Limit after the order.
func (r MaxPositionNotional) Check(in Intent) error { return r.check(&in) }

func (r MaxPositionNotional) check(in *Intent) error {
	n, before, after, ok := in.exposureValue()
	if !after.GreaterThan(before) {
		return nil
	}
	if !ok {
		return unpriced(r, in)
	}
	if n.GreaterThan(r.Limit) {
		price, _ := in.pricing()
		return refusal(r, in.Request.Instrument.Symbol, r.Limit.String(), n.String(),
			"absolute position after the order at price "+price.String())
	}
	return nil
}

// MaxGrossExposure refuses an order that would take the gross exposure
// (the sum over symbols of the worst-case absolute position times its mark;
// the order's symbol at the order's price) above Limit. An order that does
// not raise the gross exposure is never refused.
type MaxGrossExposure struct {
	// Limit is the largest sum of every holding's absolute value at its mark
	// (in the account's currency), counted as if every working order filled;
	// > 0.
	Limit decimal.Decimal
}

// Name returns "max gross exposure".
func (MaxGrossExposure) Name() string { return "max gross exposure" }

// Needs returns NeedMarks (positions and a quote for every held symbol).
func (MaxGrossExposure) Needs() Needs { return NeedMarks | NeedPositions | NeedQuote }

// Validate refuses a limit that is not positive.
func (r MaxGrossExposure) Validate() error { return positiveLimit(r.Name(), r.Limit) }

// Check refuses a gross exposure above Limit after the order.
func (r MaxGrossExposure) Check(in Intent) error { return r.check(&in) }

func (r MaxGrossExposure) check(in *Intent) error {
	gross, before, after, ok := in.exposureValue()
	if !after.GreaterThan(before) {
		return nil
	}
	if !ok {
		return unpriced(r, in)
	}
	for _, h := range in.Others {
		gross = addExtentValue(gross, h)
	}
	if gross.GreaterThan(r.Limit) {
		return refusal(r, "", r.Limit.String(), gross.String(), "gross exposure after the order, reserved orders included")
	}
	return nil
}

// MaxConcentration refuses an order that would make the symbol's
// worst-case absolute position, valued at the order's price, more than
// Percent of the account's equity. A non-positive equity refuses every order
// that raises an exposure. An order that does not raise the exposure is never
// refused.
type MaxConcentration struct {
	Percent decimal.Decimal // 0 < Percent <= 100
}

// Name returns "max concentration".
func (MaxConcentration) Name() string { return "max concentration" }

// Needs returns NeedPositions, NeedQuote and NeedAccount.
func (MaxConcentration) Needs() Needs { return NeedPositions | NeedQuote | NeedAccount }

// Validate refuses a percentage outside (0, 100].
func (r MaxConcentration) Validate() error {
	if !r.Percent.IsPositive() || r.Percent.GreaterThan(decimal.NewFromInt(100)) {
		return configError(r.Name(), "percent must be in (0, 100], got %s", r.Percent)
	}
	return nil
}

// Check refuses a concentration above Percent after the order.
func (r MaxConcentration) Check(in Intent) error { return r.check(&in) }

func (r MaxConcentration) check(in *Intent) error {
	notional, before, after, ok := in.exposureValue()
	if !after.GreaterThan(before) {
		return nil
	}
	if !ok {
		return unpriced(r, in)
	}
	symbol, equity := in.Request.Instrument.Symbol, in.Account.Equity
	if !equity.IsPositive() {
		return refusal(r, symbol, r.Percent.String()+"%", "", "account equity is "+equity.String())
	}
	// notional/equity > Percent/100, compared without dividing; Shift(2)
	// multiplies by 100 without allocating.
	if notional.Shift(2).GreaterThan(r.Percent.Mul(equity)) {
		pct := notional.Shift(2).Div(equity)
		return refusal(r, symbol, r.Percent.String()+"%", pct.String()+"%",
			"position "+notional.String()+" of equity "+equity.String())
	}
	return nil
}

// addExtentValue returns sum plus h's extent valued at its mark. A short's
// extent is the negated low end of its range: it is subtracted rather than
// negated first, which would allocate a copy.
func addExtentValue(sum decimal.Decimal, h Holding) decimal.Decimal {
	low, high := h.Range()
	if high.Sign() <= 0 {
		return sum.Sub(low.Mul(h.Mark))
	}
	return sum.Add(extent(low, high).Mul(h.Mark))
}
