package broker

import (
	"github.com/arbiontrader/arbion/errors"
	"github.com/shopspring/decimal"
)

// Validate checks the request before anything is sent. Every problem is an
// *errors.OrderError matching errors.ErrInvalidOrder whose reason names the
// field; when several fields are wrong, all of them are reported (joined).
func (r OrderRequest) Validate() error {
	var errs []error
	bad := func(reason string) {
		errs = append(errs, &errors.OrderError{
			Op: "validate", ClientOrderID: r.ClientOrderID, Symbol: r.Instrument.Symbol,
			Reason: reason, Kind: errors.ErrInvalidOrder,
		})
	}
	if err := ValidateClientOrderID(r.ClientOrderID); err != nil {
		bad(err.Error())
	}
	if r.Instrument.Symbol == "" {
		bad("instrument.symbol is empty")
	} else if !printableSymbol(r.Instrument.Symbol) {
		bad("instrument.symbol has characters no broker accepts")
	}
	if !r.Instrument.AssetClass.Valid() {
		bad("instrument.asset_class is " + r.Instrument.AssetClass.String())
	}
	if !r.Side.Valid() {
		bad("side is " + r.Side.String())
	}
	if !r.TimeInForce.Valid() {
		bad("time_in_force is " + r.TimeInForce.String())
	}
	for name, v := range map[string]decimal.Decimal{"quantity": r.Quantity, "limit_price": r.LimitPrice,
		"stop_price": r.StopPrice, "trail_amount": r.TrailAmount, "trail_percent": r.TrailPercent} {
		if !inRange(v) {
			bad(name + " is out of range")
		}
	}
	if len(errs) > 0 && !inRange(r.Quantity, r.LimitPrice, r.StopPrice, r.TrailAmount, r.TrailPercent) {
		// Formatting a decimal with an absurd exponent would build a huge
		// string; the range errors above say enough.
		return errors.Join(errs...)
	}
	if !r.Quantity.IsPositive() {
		bad("quantity must be positive, got " + r.Quantity.String())
	}
	for _, reason := range r.priceProblems() {
		bad(reason)
	}
	return errors.Join(errs...)
}

// inRange reports whether every value is within what any order could carry:
// at most 40 digits and an exponent within ±40. A decimal built in code can
// hold an exponent of billions, and printing it would allocate gigabytes.
func inRange(vs ...decimal.Decimal) bool {
	for _, v := range vs {
		if v.IsZero() {
			continue
		}
		if e := v.Exponent(); e < -40 || e > 40 || v.NumDigits() > 40 {
			return false
		}
	}
	return true
}

// priceProblems checks the prices the order type needs and refuses the ones
// it does not use, so that a caller never believes a price was sent that was
// silently ignored.
func (r OrderRequest) priceProblems() []string {
	var out []string
	need := func(name string, v decimal.Decimal) {
		if !v.IsPositive() {
			out = append(out, name+" must be positive for a "+r.Type.String()+" order, got "+v.String())
		}
	}
	unused := func(name string, v decimal.Decimal) {
		if !v.IsZero() {
			out = append(out, name+" is not used by a "+r.Type.String()+" order")
		}
	}
	switch r.Type {
	case Market:
		unused("limit_price", r.LimitPrice)
		unused("stop_price", r.StopPrice)
	case Limit:
		need("limit_price", r.LimitPrice)
		unused("stop_price", r.StopPrice)
	case Stop:
		need("stop_price", r.StopPrice)
		unused("limit_price", r.LimitPrice)
	case StopLimit:
		need("limit_price", r.LimitPrice)
		need("stop_price", r.StopPrice)
	case TrailingStop:
		unused("limit_price", r.LimitPrice)
		unused("stop_price", r.StopPrice)
		switch {
		case r.TrailAmount.IsZero() == r.TrailPercent.IsZero():
			out = append(out, "a trailing_stop order needs exactly one of trail_amount and trail_percent")
		case r.TrailAmount.IsNegative() || r.TrailPercent.IsNegative():
			out = append(out, "trail must be positive")
		case r.TrailPercent.GreaterThanOrEqual(decimal.NewFromInt(100)):
			out = append(out, "trail_percent must be below 100, got "+r.TrailPercent.String())
		}
		return out
	default:
		out = append(out, "type is "+r.Type.String())
	}
	if !r.TrailAmount.IsZero() || !r.TrailPercent.IsZero() {
		out = append(out, "trail is only used by a trailing_stop order")
	}
	return out
}

func printableSymbol(s string) bool {
	if len(s) > 64 {
		return false
	}
	for _, c := range []byte(s) {
		if c <= ' ' || c >= 0x7f {
			return false
		}
	}
	return true
}
