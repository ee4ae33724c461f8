package stoploss

import (
	"context"
	"log/slog"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/clock"
	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/order"
	"github.com/arbiontrader/arbion/risk"
	"github.com/shopspring/decimal"
)

// Defaults for [Config].
const (
	// DefaultMaxQuoteAge is how old a quote may be before it counts as stale.
	DefaultMaxQuoteAge = time.Minute
	// DefaultEscalateAfter is how many consecutive sweeps a problem may last
	// before the supervisor escalates.
	DefaultEscalateAfter = 3
)

// DefaultStopLimitSlippagePercent is how far beyond the stop a native
// stop-limit order's limit sits, in percent of the stop (a constant: a
// decimal cannot be one, and an exported variable could be changed by any
// importer).
const DefaultStopLimitSlippagePercent = 1

// Orders is what the supervisor needs from the order tracker;
// *order.Tracker satisfies it. Every order the supervisor submits is
// Protective.
type Orders interface {
	Submit(ctx context.Context, req order.Request) (order.Order, error)
	Cancel(ctx context.Context, localID string) (order.Order, error)
	Replace(ctx context.Context, localID string, req broker.OrderRequest) (order.Order, error)
	Get(ctx context.Context, localID string) (order.Order, error)
	ByClientOrderID(ctx context.Context, clientOrderID string) (order.Order, error)
	BySymbol(ctx context.Context, symbol string) ([]order.Order, error)
	Subscribe(fn func(order.Update)) (cancel func())
}

// TradingSwitch is the risk engine's trading-state control, which the
// supervisor uses to escalate; *risk.Engine satisfies it.
type TradingSwitch interface {
	State() (risk.State, string)
	SetState(ctx context.Context, s risk.State, reason string) error
}

// Config configures a [Supervisor]. Zero values take the documented defaults.
type Config struct {
	// Account names the account the supervisor protects: it keys the store
	// records and the lock, and is part of every derived client order id.
	// Required.
	Account string
	// Broker is the account's broker: capabilities, quotes, positions and
	// open orders are read from it directly. Required.
	Broker broker.Broker
	// Orders is the account's order tracker: every order goes through it
	// and its updates drive the supervisor. Required.
	Orders Orders
	// Store keeps the protection records; a new MemoryStore when nil.
	Store Store
	// Lock lets one supervisor act for the account at a time; a new
	// MemoryLock (private to this supervisor) when nil. Replicas must share
	// one.
	Lock Lock
	// Leader, when set, is this process's leadership of the account, held
	// for the life of the process (the runner takes it): every sweep,
	// HandleUpdates and Exit checks it first and does nothing without it,
	// and Lock is not used. Give the account's tracker the same Leader, so
	// that a leader that loses it mid-sweep sends nothing more.
	Leader order.Leader
	// Clock is where the supervisor reads the time and waits between
	// sweeps; nil means clock.Real.
	Clock clock.Clock
	// Switch is put in EscalateTo when a problem lasts EscalateAfter sweeps;
	// escalation only alerts when nil.
	Switch TradingSwitch
	// EscalateTo is the state escalation sets: risk.ReduceOnly or
	// risk.Halted (the default, also when left at risk.Active). A switch
	// already in a stricter state is left alone.
	EscalateTo risk.State
	// EscalateAfter is how many consecutive sweeps quotes may be missing or
	// stale, or a stop fail to be placed, before escalation;
	// DefaultEscalateAfter when 0.
	EscalateAfter int
	// Alert receives every escalation and every breach, as a
	// *errors.StopLossError (kind ErrRiskDataUnavailable, ErrStopNotPlaced
	// or ErrStopLossBreach). It is called with the supervisor's lock held
	// and must not call the supervisor.
	Alert func(error)
	// OnSweep, when set, receives every sweep's report, and the report of
	// every HandleUpdates call that did something.
	OnSweep func(Report)
	// Logger receives diagnostics; silent when nil.
	Logger *slog.Logger

	// DefaultPolicy protects every symbol without its own policy. It must
	// define a stop.
	DefaultPolicy Policy
	// Policies are per-symbol policies.
	Policies map[string]Policy
	// Mode forces a protection mode; ModeAuto chooses from the broker's
	// capabilities.
	Mode Mode
	// StopLimitSlippagePercent sets a stop-limit's limit this far beyond
	// the stop; DefaultStopLimitSlippagePercent when zero.
	StopLimitSlippagePercent decimal.Decimal
	// MaxQuoteAge is how old a quote may be; DefaultMaxQuoteAge when 0.
	MaxQuoteAge time.Duration
	// StreamMaxAge is how long the quote stream given to FollowQuotes may
	// stay silent before its quotes count as no data (the sweep then polls
	// Quotes for them); DefaultStreamMaxAge when 0.
	StreamMaxAge time.Duration
	// VerifyInterval is how often a sweep verifies the protective orders and
	// positions at the broker (one OpenOrders and one Positions call). 0
	// verifies on every sweep; the first sweep always verifies.
	VerifyInterval time.Duration
}

func configError(reason string) error {
	return &errors.StopLossError{Kind: errors.ErrConfiguration, Reason: reason}
}

// withDefaults validates c and fills its defaults.
func (c Config) withDefaults() (Config, error) {
	switch {
	case c.Account == "":
		return c, configError("Account is required")
	case c.Broker == nil:
		return c, configError("Broker is required")
	case c.Orders == nil:
		return c, configError("Orders is required")
	case c.EscalateAfter < 0:
		return c, configError("EscalateAfter must not be negative")
	case c.MaxQuoteAge < 0 || c.VerifyInterval < 0 || c.StreamMaxAge < 0:
		return c, configError("MaxQuoteAge, StreamMaxAge and VerifyInterval must not be negative")
	case c.StopLimitSlippagePercent.IsNegative() || c.StopLimitSlippagePercent.GreaterThanOrEqual(hundred):
		return c, configError("StopLimitSlippagePercent must be within [0, 100)")
	case c.EscalateTo != risk.Active && c.EscalateTo != risk.ReduceOnly && c.EscalateTo != risk.Halted:
		return c, configError("EscalateTo must be risk.ReduceOnly or risk.Halted")
	case c.Mode > ModeSynthetic:
		return c, configError("Mode is undefined")
	}
	if err := c.DefaultPolicy.validate("default"); err != nil {
		return c, err
	}
	for sym, p := range c.Policies {
		if err := p.validate(sym); err != nil {
			return c, err
		}
	}
	if c.Store == nil {
		c.Store = NewMemoryStore()
	}
	if c.Lock == nil {
		c.Lock = NewMemoryLock()
	}
	c.Clock = clock.Or(c.Clock)
	if c.EscalateTo == risk.Active {
		c.EscalateTo = risk.Halted
	}
	if c.EscalateAfter == 0 {
		c.EscalateAfter = DefaultEscalateAfter
	}
	if c.MaxQuoteAge == 0 {
		c.MaxQuoteAge = DefaultMaxQuoteAge
	}
	if c.StreamMaxAge == 0 {
		c.StreamMaxAge = DefaultStreamMaxAge
	}
	if c.StopLimitSlippagePercent.IsZero() {
		c.StopLimitSlippagePercent = decimal.NewFromInt(DefaultStopLimitSlippagePercent)
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c, nil
}

// chooseMode picks the protection mode from the broker's capabilities.
func chooseMode(forced Mode, caps broker.Capabilities) Mode {
	switch {
	case forced != ModeAuto:
		return forced
	case caps.NativeStop && caps.GTC:
		return ModeNativeStop
	case caps.StopLimit && caps.GTC:
		return ModeNativeStopLimit
	}
	return ModeSynthetic
}
