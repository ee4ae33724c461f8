package stoploss

import (
	"fmt"

	"github.com/arbiontrader/arbion/errors"
	"github.com/shopspring/decimal"
)

var (
	hundred     = decimal.NewFromInt(100)
	defaultTick = decimal.New(1, -2) // 0.01
)

// Policy says where a position's stop and take-profit sit. Exactly one way of
// deriving the stop must be set: a fixed StopPrice, a StopDistance or a
// StopPercent from the entry price, or a trail (TrailAmount or TrailPercent);
// a trail may also be combined with a fixed or distance stop, and then the
// tighter of the two protects the position. The take-profit is optional.
//
// Distances apply in the position's favour: below the entry for a long, above
// it for a short. A fixed price on the wrong side of the entry (a long's stop
// above its entry) is refused for that position and reported.
type Policy struct {
	StopPrice    decimal.Decimal // fixed stop price
	StopDistance decimal.Decimal // stop at this distance from the entry price
	StopPercent  decimal.Decimal // stop at this percent of the entry price away from it
	// TrailAmount and TrailPercent make the stop follow the best price since
	// entry at that distance; it only ever moves in the position's favour.
	TrailAmount  decimal.Decimal
	TrailPercent decimal.Decimal
	// TakeProfitPrice or TakeProfitPercent (of the entry) close the position
	// when the price reaches it.
	TakeProfitPrice   decimal.Decimal
	TakeProfitPercent decimal.Decimal
	// Tick is the price increment stops are rounded to; default 0.01.
	Tick decimal.Decimal
}

// validate checks the policy; name says which one for the error.
func (p Policy) validate(name string) error {
	bad := func(format string, args ...any) error {
		return &errors.StopLossError{Symbol: name, Kind: errors.ErrConfiguration,
			Reason: "policy: " + fmt.Sprintf(format, args...)}
	}
	fields := []struct {
		name string
		v    decimal.Decimal
	}{{"StopPrice", p.StopPrice}, {"StopDistance", p.StopDistance}, {"StopPercent", p.StopPercent},
		{"TrailAmount", p.TrailAmount}, {"TrailPercent", p.TrailPercent},
		{"TakeProfitPrice", p.TakeProfitPrice}, {"TakeProfitPercent", p.TakeProfitPercent}, {"Tick", p.Tick}}
	for _, f := range fields {
		if f.v.IsNegative() {
			return bad("%s %s is negative", f.name, f.v)
		}
	}
	base := count(p.StopPrice, p.StopDistance, p.StopPercent)
	trail := count(p.TrailAmount, p.TrailPercent)
	switch {
	case base > 1:
		return bad("set at most one of StopPrice, StopDistance and StopPercent")
	case trail > 1:
		return bad("set at most one of TrailAmount and TrailPercent")
	case base+trail == 0:
		return bad("no stop: set StopPrice, StopDistance, StopPercent, TrailAmount or TrailPercent")
	case count(p.TakeProfitPrice, p.TakeProfitPercent) > 1:
		return bad("set at most one of TakeProfitPrice and TakeProfitPercent")
	case p.StopPercent.GreaterThanOrEqual(hundred) || p.TrailPercent.GreaterThanOrEqual(hundred):
		return bad("a percent stop or trail must be below 100")
	}
	return nil
}

func count(vs ...decimal.Decimal) int {
	n := 0
	for _, v := range vs {
		if v.IsPositive() {
			n++
		}
	}
	return n
}

func (p Policy) tick() decimal.Decimal {
	if p.Tick.IsPositive() {
		return p.Tick
	}
	return defaultTick
}

// round rounds price to the policy's tick.
func (p Policy) round(price decimal.Decimal) decimal.Decimal {
	t := p.tick()
	return price.Div(t).Round(0).Mul(t)
}

// away moves from price by distance against the position: down for a long,
// up for a short.
func away(price, distance decimal.Decimal, long bool) decimal.Decimal {
	if long {
		return price.Sub(distance)
	}
	return price.Add(distance)
}

// baseStop is the stop that does not trail, zero when the policy has none.
func (p Policy) baseStop(entry decimal.Decimal, long bool) decimal.Decimal {
	switch {
	case p.StopPrice.IsPositive():
		return p.StopPrice
	case p.StopDistance.IsPositive():
		return p.round(away(entry, p.StopDistance, long))
	case p.StopPercent.IsPositive():
		return p.round(away(entry, entry.Mul(p.StopPercent).Div(hundred), long))
	}
	return decimal.Zero
}

// trails reports whether the policy has a trailing stop.
func (p Policy) trails() bool { return p.TrailAmount.IsPositive() || p.TrailPercent.IsPositive() }

// trailStop is the trailing stop for the best price seen, zero without a trail.
func (p Policy) trailStop(best decimal.Decimal, long bool) decimal.Decimal {
	switch {
	case p.TrailAmount.IsPositive():
		return p.round(away(best, p.TrailAmount, long))
	case p.TrailPercent.IsPositive():
		return p.round(away(best, best.Mul(p.TrailPercent).Div(hundred), long))
	}
	return decimal.Zero
}

// initialStop is the stop for a position entered at entry. override is the
// entry order's own stop-loss price (zero if none), which replaces the
// policy's base stop. The result is refused when it is not strictly on the
// protective side of the entry or not positive.
func (p Policy) initialStop(entry, override decimal.Decimal, long bool) (decimal.Decimal, error) {
	stop := p.baseStop(entry, long)
	if override.IsPositive() {
		stop = override
	}
	stop = tighter(stop, p.trailStop(entry, long), long)
	if !stop.IsPositive() || !protectiveSide(stop, entry, long) {
		return decimal.Zero, fmt.Errorf("stop %s is not on the protective side of entry %s", stop, entry)
	}
	return stop, nil
}

// takeProfit is the take-profit price for an entry, zero when none. override
// is the entry order's own take-profit price.
func (p Policy) takeProfit(entry, override decimal.Decimal, long bool) decimal.Decimal {
	switch {
	case override.IsPositive():
		return override
	case p.TakeProfitPrice.IsPositive():
		return p.TakeProfitPrice
	case p.TakeProfitPercent.IsPositive():
		return p.round(away(entry, entry.Mul(p.TakeProfitPercent).Div(hundred), !long))
	}
	return decimal.Zero
}

// protectiveSide reports whether stop lies strictly below the entry of a long
// or above the entry of a short.
func protectiveSide(stop, entry decimal.Decimal, long bool) bool {
	if long {
		return stop.LessThan(entry)
	}
	return stop.GreaterThan(entry)
}

// tighter returns the stop closer to the market: the higher for a long, the
// lower for a short. A zero stop counts as none.
func tighter(a, b decimal.Decimal, long bool) decimal.Decimal {
	switch {
	case a.IsZero():
		return b
	case b.IsZero():
		return a
	case long == a.GreaterThan(b):
		return a
	}
	return b
}

// better reports whether price is better for the position than best (higher
// for a long, lower for a short).
func better(price, best decimal.Decimal, long bool) bool {
	if best.IsZero() {
		return true
	}
	if long {
		return price.GreaterThan(best)
	}
	return price.LessThan(best)
}

// breached reports whether price is at or through the stop.
func breached(price, stop decimal.Decimal, long bool) bool {
	if long {
		return price.LessThanOrEqual(stop)
	}
	return price.GreaterThanOrEqual(stop)
}

// reached reports whether price is at or beyond the take-profit.
func reached(price, target decimal.Decimal, long bool) bool {
	if target.IsZero() {
		return false
	}
	if long {
		return price.GreaterThanOrEqual(target)
	}
	return price.LessThanOrEqual(target)
}
