package paper

import (
	"fmt"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/clock"
	"github.com/arbiontrader/arbion/errors"
	"github.com/shopspring/decimal"
)

// defaultCash is the starting cash of an account whose Config leaves Cash
// zero.
var defaultCash = decimal.NewFromInt(100_000)

// DefaultQuoteBatchSize is the QuoteBatchSize reported when Config leaves it
// zero.
const DefaultQuoteBatchSize = 100

// Config configures a paper [Broker]. The zero value is a usable account of
// 100,000 USD with no fees, unlimited liquidity, immediate cancels and no
// faults.
type Config struct {
	// AccountID is reported by Account; default "paper".
	AccountID string
	// Currency is the account's currency; default "USD".
	Currency string
	// Cash is the starting cash; zero means 100,000. It may not be negative.
	Cash decimal.Decimal
	// Instruments registers symbols the broker knows before any price is
	// set, with their asset class (which decides whether they may be sold
	// short). A symbol is also known once it has a price (SetPrice).
	Instruments []broker.Instrument
	// AllowShort lets equities be sold short (SellShort). Crypto can never go
	// short, options neither.
	AllowShort bool
	// MaxFillPerUpdate is the most quantity one order fills per price update
	// (and at placement), to simulate thin liquidity; zero is unlimited.
	MaxFillPerUpdate decimal.Decimal
	// FeeBps is the fee rate in basis points of each fill's notional.
	FeeBps decimal.Decimal
	// MinFee is the least fee charged per fill (when FeeBps gives less).
	MinFee decimal.Decimal
	// FeePerOrder is a fixed fee charged once per order, on its first fill.
	FeePerOrder decimal.Decimal
	// Bars configures the fill model of bar replay (ApplyBar).
	Bars BarFill
	// QuoteBatchSize is reported in Capabilities; default 100.
	QuoteBatchSize int
	// CancelLatency is how many price updates of the order's symbol pass
	// between a cancel request and its confirmation. Until then the order is
	// pending_cancel and can still fill, as at a real broker. Zero cancels at
	// once.
	CancelLatency int
	// Seed seeds every random choice (the fault injector's); the same seed,
	// configuration and calls give the same results.
	Seed uint64
	// Clock is the time source for order and fill times; nil means
	// clock.Real.
	Clock clock.Clock
	// Faults injects failures and latency; the zero value injects nothing.
	Faults Faults
}

// Op names an operation of the paper broker, as it appears in
// errors.BrokerError.Op and in fault decisions.
type Op string

// The operations: broker's operation names, typed for fault decisions.
const (
	OpPlaceOrder   Op = broker.OpPlaceOrder
	OpCancelOrder  Op = broker.OpCancelOrder
	OpReplaceOrder Op = broker.OpReplaceOrder
	OpGetOrder     Op = broker.OpGetOrder
	OpOpenOrders   Op = broker.OpOpenOrders
	OpPositions    Op = broker.OpPositions
	OpAccount      Op = broker.OpAccount
	OpQuotes       Op = broker.OpQuotes
	OpFindOrder    Op = broker.OpFindOrder
	OpOrders       Op = broker.OpOrders
	OpPreviewOrder Op = broker.OpPreviewOrder
)

// changesState reports whether op acts on orders (its lost answer leaves the
// outcome unknown rather than merely timed out).
func (op Op) changesState() bool {
	return op == OpPlaceOrder || op == OpCancelOrder || op == OpReplaceOrder
}

// Fault is what the fault injector does to one call.
type Fault uint8

// The faults.
const (
	// NoFault lets the call through.
	NoFault Fault = iota
	// FaultUnavailable fails the call before it takes effect with an error
	// matching errors.ErrBrokerUnavailable (as a 503 would).
	FaultUnavailable
	// FaultNetwork fails the call before it takes effect with an error
	// matching errors.ErrNetwork.
	FaultNetwork
	// FaultLoseAnswer lets the call take effect, then loses its answer: a
	// call that changes state returns an error matching
	// errors.ErrOutcomeUnknown, a read one matching errors.ErrTimeout.
	FaultLoseAnswer
)

// Faults configures fault injection. Decisions come from Inject when it is
// set, else from the rates, drawn from a generator seeded by Config.Seed.
type Faults struct {
	// ErrorRate is the probability, in [0, 1], that a call fails before it
	// takes effect (FaultUnavailable or FaultNetwork, evenly).
	ErrorRate float64
	// LostAnswerRate is the probability, in [0, 1], that a call takes effect
	// and its answer is lost (FaultLoseAnswer).
	LostAnswerRate float64
	// Ops limits the rates to these operations; empty means every one.
	Ops []Op
	// Inject, when set, decides the fault for each call instead of the
	// rates: a deterministic hook for tests ("lose the answer of the next
	// place"). It runs with the broker's lock held, so it must not call the
	// broker.
	Inject func(op Op) Fault
	// Latency is waited, on Config.Clock, before every call (a test's
	// auto-advancing clocktest.Fake makes it free).
	Latency time.Duration
	// Stream, when set, decides the fault for each message of each order
	// and quote stream, numbered from 1 per stream (see StreamFaultEvery).
	// It runs with the broker's lock held, so it must not call the broker.
	Stream func(seq uint64) StreamFault
}

// withDefaults validates c and fills in its defaults.
func (c Config) withDefaults() (Config, error) {
	bad := func(format string, args ...any) (Config, error) {
		return c, &errors.BrokerError{Broker: Name, Op: "configure", Kind: errors.ErrConfiguration,
			Message: fmt.Sprintf(format, args...)}
	}
	switch {
	case c.Cash.IsNegative():
		return bad("Cash %s is negative", c.Cash)
	case c.MaxFillPerUpdate.IsNegative():
		return bad("MaxFillPerUpdate %s is negative", c.MaxFillPerUpdate)
	case c.FeeBps.IsNegative() || c.MinFee.IsNegative() || c.FeePerOrder.IsNegative():
		return bad("FeeBps %s, MinFee %s and FeePerOrder %s may not be negative", c.FeeBps, c.MinFee, c.FeePerOrder)
	case c.QuoteBatchSize < 0:
		return bad("QuoteBatchSize %d is negative", c.QuoteBatchSize)
	case c.CancelLatency < 0:
		return bad("CancelLatency %d is negative", c.CancelLatency)
	case !(c.Faults.ErrorRate >= 0 && c.Faults.ErrorRate <= 1) ||
		!(c.Faults.LostAnswerRate >= 0 && c.Faults.LostAnswerRate <= 1):
		return bad("fault rates must be within [0, 1], got %v and %v", c.Faults.ErrorRate, c.Faults.LostAnswerRate)
	case c.Faults.Latency < 0:
		return bad("Faults.Latency %s is negative", c.Faults.Latency)
	}
	if err := c.Bars.validate(); err != nil {
		return bad("%v", err)
	}
	for _, in := range c.Instruments {
		if in.Symbol == "" || !in.AssetClass.Valid() {
			return bad("instrument %q has asset class %s", in.Symbol, in.AssetClass)
		}
	}
	if c.AccountID == "" {
		c.AccountID = "paper"
	}
	if c.Currency == "" {
		c.Currency = "USD"
	}
	if c.Cash.IsZero() {
		c.Cash = defaultCash
	}
	if c.QuoteBatchSize == 0 {
		c.QuoteBatchSize = DefaultQuoteBatchSize
	}
	c.Clock = clock.Or(c.Clock)
	return c, nil
}
