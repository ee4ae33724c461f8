package risk

import (
	"fmt"
	"strconv"

	"github.com/arbiontrader/arbion/errors"
	"github.com/shopspring/decimal"
)

// Rule is one pre-trade check with its limit. A rule is a value: it holds no
// state of its own (the engine keeps order counts and reservations and hands
// them in through the [Intent]), so one rule can be tested alone and rules
// compose by listing them in [Config.Rules].
//
// Check returns nil to let the order through, or a *errors.RiskError (or
// several, joined) naming the rule, the limit and the value the order would
// reach. A rule may also implement Validate() error, called by [NewEngine],
// and HaltsOnBreach() bool (see [Halter]).
type Rule interface {
	// Name is the rule's name as it appears in refusals, e.g. "max order notional".
	Name() string
	// Needs says which data the engine must gather for Check.
	Needs() Needs
	// Check judges the intent. It must be fast and must not block.
	Check(in Intent) error
}

// Halter is implemented by a rule whose breach halts trading: the engine
// moves to [Halted] until the host sets another state.
type Halter interface {
	HaltsOnBreach() bool
}

// refusal builds a limit breach.
func refusal(r Rule, symbol, limit, actual, reason string) *errors.RiskError {
	return &errors.RiskError{Rule: r.Name(), Symbol: symbol, Limit: limit, Actual: actual,
		Reason: reason, Kind: errors.ErrRiskLimitExceeded}
}

// unpriced is the fail-closed refusal of a rule that needs the order's
// price and has none.
func unpriced(r Rule, in *Intent) *errors.RiskError {
	return &errors.RiskError{Rule: r.Name(), Symbol: in.Request.Instrument.Symbol,
		Reason: "no price to value the order (no limit or stop price and no usable quote)",
		Kind:   errors.ErrRiskDataUnavailable}
}

func configError(rule, format string, args ...any) error {
	return fmt.Errorf("risk: %s: %s: %w", rule, fmt.Sprintf(format, args...), errors.ErrConfiguration)
}

func positiveLimit(rule string, limit decimal.Decimal) error {
	if !limit.IsPositive() {
		return configError(rule, "limit must be positive, got %s", limit)
	}
	return nil
}

// MaxOrderQuantity refuses an order for more than Limit units.
type MaxOrderQuantity struct {
	// Limit is the largest quantity (shares, contracts or base units) one
	// order may ask for; > 0.
	Limit decimal.Decimal
}

// Name returns "max order quantity".
func (MaxOrderQuantity) Name() string { return "max order quantity" }

// Needs returns no data: the request is enough.
func (MaxOrderQuantity) Needs() Needs { return 0 }

// Validate refuses a limit that is not positive.
func (r MaxOrderQuantity) Validate() error { return positiveLimit(r.Name(), r.Limit) }

// Check refuses an order quantity above Limit.
func (r MaxOrderQuantity) Check(in Intent) error { return r.check(&in) }

func (r MaxOrderQuantity) check(in *Intent) error {
	if q := in.Request.Quantity; q.GreaterThan(r.Limit) {
		return refusal(r, in.Request.Instrument.Symbol, r.Limit.String(), q.String(), "")
	}
	return nil
}

// MaxOrderNotional refuses an order worth more than Limit (quantity times
// [Intent.Price]).
type MaxOrderNotional struct {
	// Limit is the largest notional (quantity × price, in the account's
	// currency) one order may have; > 0.
	Limit decimal.Decimal
}

// Name returns "max order notional".
func (MaxOrderNotional) Name() string { return "max order notional" }

// Needs returns NeedQuote: a market order is valued at the quote.
func (MaxOrderNotional) Needs() Needs { return NeedQuote }

// Validate refuses a limit that is not positive.
func (r MaxOrderNotional) Validate() error { return positiveLimit(r.Name(), r.Limit) }

// Check refuses an order notional above Limit.
func (r MaxOrderNotional) Check(in Intent) error { return r.check(&in) }

func (r MaxOrderNotional) check(in *Intent) error {
	n, ok := in.notional()
	if !ok {
		return unpriced(r, in)
	}
	if n.GreaterThan(r.Limit) {
		return refusal(r, in.Request.Instrument.Symbol, r.Limit.String(), n.String(), "")
	}
	return nil
}

// MaxOrdersPerDay refuses the order that would make more than Limit orders
// in one trading day (sent or reserved, counted by the engine; the day starts
// at midnight in [Config.Location]).
type MaxOrdersPerDay struct {
	// Limit is how many orders may be sent in one trading day (in the
	// engine's Location); > 0.
	Limit int
}

// Name returns "max orders per day".
func (MaxOrdersPerDay) Name() string { return "max orders per day" }

// Needs returns no data: the engine counts orders itself.
func (MaxOrdersPerDay) Needs() Needs { return 0 }

// Validate refuses a limit that is not positive.
func (r MaxOrdersPerDay) Validate() error {
	if r.Limit <= 0 {
		return configError(r.Name(), "limit must be positive, got %d", r.Limit)
	}
	return nil
}

// Check refuses the order that would bring the day's count above Limit.
func (r MaxOrdersPerDay) Check(in Intent) error { return r.check(&in) }

func (r MaxOrdersPerDay) check(in *Intent) error {
	if n := in.OrdersToday + 1; n > r.Limit {
		return refusal(r, "", strconv.Itoa(r.Limit), strconv.Itoa(n), "orders in the trading day, this one included")
	}
	return nil
}
