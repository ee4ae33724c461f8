package risk

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/errors"
	"github.com/shopspring/decimal"
)

// MaxDailyLoss refuses every order once the trading day's loss (realized
// plus unrealized, from the [PnLSource]) is above Limit, and halts trading:
// the engine moves to [Halted] and stays there until the host sets another
// state. A loss of exactly Limit is allowed.
type MaxDailyLoss struct {
	Limit decimal.Decimal // a positive amount of money
}

// Name returns "max daily loss".
func (MaxDailyLoss) Name() string { return "max daily loss" }

// Needs returns NeedPnL.
func (MaxDailyLoss) Needs() Needs { return NeedPnL }

// HaltsOnBreach returns true: a daily-loss breach is a kill switch.
func (MaxDailyLoss) HaltsOnBreach() bool { return true }

// Validate refuses a limit that is not positive.
func (r MaxDailyLoss) Validate() error { return positiveLimit(r.Name(), r.Limit) }

// Check refuses when the day's loss is above Limit.
func (r MaxDailyLoss) Check(in Intent) error { return r.check(&in) }

func (r MaxDailyLoss) check(in *Intent) error {
	if !in.PnL.Realized.IsNegative() && !in.PnL.Unrealized.IsNegative() && !r.Limit.IsNegative() {
		return nil // no loss, so none above a limit that is not negative
	}
	if loss := in.PnL.Total().Neg(); loss.GreaterThan(r.Limit) {
		return refusal(r, "", r.Limit.String(), loss.String(),
			"loss since "+in.DayStart.Format(time.RFC3339)+" (realized "+in.PnL.Realized.String()+
				", unrealized "+in.PnL.Unrealized.String()+")")
	}
	return nil
}

// MaxOrderRate refuses the order that would make more than Limit orders
// within any sliding Window (orders sent or reserved, counted by the engine
// at the time they were checked). An order exactly Window old has left the
// window.
type MaxOrderRate struct {
	// Limit is how many orders may be sent in any Window; > 0.
	Limit int
	// Window is the sliding window the orders are counted over; > 0.
	Window time.Duration
}

// Name returns "max order rate".
func (MaxOrderRate) Name() string { return "max order rate" }

// Needs returns no data: the engine keeps the order times itself.
func (MaxOrderRate) Needs() Needs { return 0 }

// window tells the engine how long to keep order times (see
// [Intent.OrderTimes]).
func (r MaxOrderRate) window() time.Duration { return r.Window }

// Validate refuses a limit or a window that is not positive.
func (r MaxOrderRate) Validate() error {
	if r.Limit <= 0 || r.Window <= 0 {
		return configError(r.Name(), "limit and window must be positive, got %d per %s", r.Limit, r.Window)
	}
	return nil
}

// Check refuses the order that would bring the count in the window above Limit.
func (r MaxOrderRate) Check(in Intent) error { return r.check(&in) }

func (r MaxOrderRate) check(in *Intent) error {
	if n := in.ordersSince(in.Time.Add(-r.Window)) + 1; n > r.Limit {
		return refusal(r, "", strconv.Itoa(r.Limit)+" per "+r.Window.String(), strconv.Itoa(n),
			"orders in the last "+r.Window.String()+", this one included")
	}
	return nil
}

// PriceBand is the fat-finger check: an order's limit and stop prices must
// be within Percent of the quote's last trade (else its bid/ask midpoint).
// A market or trailing-stop order, which takes whatever price the market
// gives, needs a quote no older than MaxQuoteAge instead (zero: only the
// engine's [Config.MaxQuoteAge] applies).
type PriceBand struct {
	Percent     decimal.Decimal // > 0
	MaxQuoteAge time.Duration   // >= 0
}

// Name returns "price band".
func (PriceBand) Name() string { return "price band" }

// Needs returns NeedQuote.
func (PriceBand) Needs() Needs { return NeedQuote }

// Validate refuses a percentage that is not positive or a negative age.
func (r PriceBand) Validate() error {
	if !r.Percent.IsPositive() || r.MaxQuoteAge < 0 {
		return configError(r.Name(), "percent must be positive and max quote age not negative, got %s%% and %s",
			r.Percent, r.MaxQuoteAge)
	}
	return nil
}

// Check refuses a price outside the band, or a market order on an old quote.
func (r PriceBand) Check(in Intent) error { return r.check(&in) }

func (r PriceBand) check(in *Intent) error {
	symbol := in.Request.Instrument.Symbol
	switch in.Request.Type {
	case broker.Market, broker.TrailingStop:
		age := in.Time.Sub(in.Quote.Time)
		if r.MaxQuoteAge > 0 && age > r.MaxQuoteAge {
			return &errors.RiskError{Rule: r.Name(), Symbol: symbol, Limit: r.MaxQuoteAge.String(),
				Actual: age.String(), Reason: "quote too old for a " + in.Request.Type.String() + " order",
				Kind: errors.ErrRiskDataUnavailable}
		}
		return nil
	}
	ref, ok := markPrice(in.Quote)
	if !ok {
		return &errors.RiskError{Rule: r.Name(), Symbol: symbol, Reason: "no quote price to compare with",
			Kind: errors.ErrRiskDataUnavailable}
	}
	var errs []error
	for _, p := range [...]struct {
		name  string
		price decimal.Decimal
	}{{"limit", in.Request.LimitPrice}, {"stop", in.Request.StopPrice}} {
		if p.price.IsZero() || (p.price.Equal(ref) && !r.Percent.IsNegative()) {
			continue // no price, or no deviation: within any band
		}
		// |price-ref|/ref > Percent/100, compared without dividing.
		dev := absDiff(p.price, ref).Shift(2)
		if dev.GreaterThan(r.Percent.Mul(ref)) {
			errs = append(errs, refusal(r, symbol, r.Percent.String()+"%", dev.Div(ref).String()+"%",
				p.name+" price "+p.price.String()+" against last "+ref.String()))
		}
	}
	return errors.Join(errs...)
}

// absDiff returns |a-b|, subtracting the smaller from the larger rather
// than negating a negative difference (a second allocation).
func absDiff(a, b decimal.Decimal) decimal.Decimal {
	if a.LessThan(b) {
		return b.Sub(a)
	}
	return a.Sub(b)
}

// SymbolAllowList refuses every symbol not on its list. Build it with
// [NewSymbolAllowList]; symbols compare without regard to ASCII case.
type SymbolAllowList struct {
	symbols map[string]struct{}
}

// NewSymbolAllowList returns a rule allowing only the given symbols.
func NewSymbolAllowList(symbols ...string) SymbolAllowList {
	return SymbolAllowList{symbols: symbolSet(symbols)}
}

// Name returns "symbol allow list".
func (SymbolAllowList) Name() string { return "symbol allow list" }

// Needs returns no data.
func (SymbolAllowList) Needs() Needs { return 0 }

// Validate refuses an empty list (it would refuse every order: use
// [Halted] for that).
func (r SymbolAllowList) Validate() error {
	if len(r.symbols) == 0 {
		return configError(r.Name(), "no symbol allowed; build the rule with NewSymbolAllowList")
	}
	return nil
}

// Check refuses a symbol that is not on the list.
func (r SymbolAllowList) Check(in Intent) error { return r.check(&in) }

func (r SymbolAllowList) check(in *Intent) error {
	s := in.Request.Instrument.Symbol
	if _, ok := r.symbols[strings.ToUpper(s)]; !ok {
		return refusal(r, s, "allowed symbols only", s, "symbol is not on the allow list")
	}
	return nil
}

// SymbolDenyList refuses every symbol on its list. Build it with
// [NewSymbolDenyList]; symbols compare without regard to ASCII case.
type SymbolDenyList struct {
	symbols map[string]struct{}
}

// NewSymbolDenyList returns a rule refusing the given symbols.
func NewSymbolDenyList(symbols ...string) SymbolDenyList {
	return SymbolDenyList{symbols: symbolSet(symbols)}
}

// Name returns "symbol deny list".
func (SymbolDenyList) Name() string { return "symbol deny list" }

// Needs returns no data.
func (SymbolDenyList) Needs() Needs { return 0 }

// Validate refuses an empty list, which would be a rule that does nothing.
func (r SymbolDenyList) Validate() error {
	if len(r.symbols) == 0 {
		return configError(r.Name(), "no symbol denied; build the rule with NewSymbolDenyList")
	}
	return nil
}

// Check refuses a symbol on the list.
func (r SymbolDenyList) Check(in Intent) error { return r.check(&in) }

func (r SymbolDenyList) check(in *Intent) error {
	s := in.Request.Instrument.Symbol
	if _, ok := r.symbols[strings.ToUpper(s)]; ok {
		return refusal(r, s, "denied symbols excluded", s, "symbol is on the deny list")
	}
	return nil
}

func symbolSet(symbols []string) map[string]struct{} {
	set := make(map[string]struct{}, len(symbols))
	for _, s := range symbols {
		set[strings.ToUpper(s)] = struct{}{}
	}
	return set
}

// AssetClassAllowList refuses an instrument whose asset class is not in
// Classes. Classes must not be changed once the rule is handed to an engine.
type AssetClassAllowList struct {
	// Classes are the asset classes an order may trade; not empty.
	Classes []broker.AssetClass
}

// Name returns "asset classes".
func (AssetClassAllowList) Name() string { return "asset classes" }

// Needs returns no data.
func (AssetClassAllowList) Needs() Needs { return 0 }

// Validate refuses an empty list or an undefined class.
func (r AssetClassAllowList) Validate() error {
	if len(r.Classes) == 0 {
		return configError(r.Name(), "no asset class allowed")
	}
	for _, c := range r.Classes {
		if !c.Valid() {
			return configError(r.Name(), "undefined asset class %s", c)
		}
	}
	return nil
}

// Check refuses an asset class not in Classes.
func (r AssetClassAllowList) Check(in Intent) error { return r.check(&in) }

func (r AssetClassAllowList) check(in *Intent) error {
	c := in.Request.Instrument.AssetClass
	if !slices.Contains(r.Classes, c) {
		names := make([]string, len(r.Classes))
		for i, a := range r.Classes {
			names[i] = a.String()
		}
		return refusal(r, in.Request.Instrument.Symbol, strings.Join(names, ","), c.String(), "")
	}
	return nil
}
