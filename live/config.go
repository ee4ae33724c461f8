package live

import (
	"context"
	"log/slog"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/clock"
	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/order"
	"github.com/arbiontrader/arbion/risk"
	"github.com/arbiontrader/arbion/stoploss"
	"github.com/arbiontrader/arbion/strategy"
)

// Defaults for [Config].
const (
	// DefaultSweepInterval is the default schedule's period: the seed's
	// monitor swept every minute.
	DefaultSweepInterval = 60 * time.Second
	// DefaultStepTimeout bounds one step once shutdown began (a step is
	// finished, not cut off, but not waited for forever).
	DefaultStepTimeout = 30 * time.Second
	// DefaultHistory is how many closed bars a strategy's Trader.History
	// keeps per symbol.
	DefaultHistory = 200
	// DefaultLocation is the zone whose midnight starts the trading day.
	DefaultLocation = "America/New_York"
	// DefaultStreamRetry is how long the runner waits before it opens a
	// stream again after it ended; the step's polling covers the gap.
	DefaultStreamRetry = 5 * time.Second
)

// Config configures a [Runner]: one account at one broker. Run several
// runners for several accounts or brokers (they may share stores: records
// are scoped by Account).
type Config struct {
	// Account names the account in the stores, the lease and every derived
	// client order id. Required.
	Account string
	// Broker is the account's broker. Required.
	Broker broker.Broker
	// Orders keeps the tracker's records; in memory when nil.
	Orders order.Store
	// Protections keeps the supervisor's records; in memory when nil.
	Protections stoploss.Store
	// Leader is this process's leadership of the account when several
	// replicas share the stores (sqlstore Lease.Lead); nil for a single
	// process. The tracker sends nothing and the supervisor acts not
	// without it. When it also has a Release() error method (as
	// *sqlstore.Leadership has), Run releases it at shutdown. Take it on a
	// context that outlives Run's (context.WithoutCancel): Lead loses the
	// leadership as soon as its context ends, and the step in flight at
	// shutdown must finish as the leader.
	Leader order.Leader
	// Lock is the supervisor's lock when there is no Leader; a private
	// in-process lock when nil.
	Lock stoploss.Lock
	// Rules are the pre-trade risk rules; with none only the trading state
	// is enforced.
	Rules []risk.Rule
	// RiskState keeps the trading state (halts) across restarts and
	// replicas; nil keeps it in memory.
	RiskState risk.StateStore
	// Location is the zone whose midnight starts the trading day (daily
	// loss, orders per day); America/New_York when nil. Crypto hosts may set
	// time.UTC.
	Location *time.Location
	// MaxQuoteAge is the oldest quote the risk engine and the supervisor
	// accept; stoploss.DefaultMaxQuoteAge when 0.
	MaxQuoteAge time.Duration
	// Policy protects every position without a policy of its own. It must
	// define a stop.
	Policy stoploss.Policy
	// Policies are per-symbol stop-loss policies.
	Policies map[string]stoploss.Policy
	// StopMode forces a protection mode; stoploss.ModeAuto chooses from the
	// broker's capabilities.
	StopMode stoploss.Mode
	// VerifyInterval is how often a sweep verifies the stops at the broker
	// (see stoploss.Config.VerifyInterval); 0 verifies on every sweep.
	VerifyInterval time.Duration
	// Strategies are fed the closed bars of their symbol and interval on
	// every step.
	Strategies []Strategy
	// Bars is where the strategies' bars come from; the broker's
	// broker.BarSource (found with broker.Find) when nil.
	Bars broker.BarSource
	// Schedule says when a step is due; Every(DefaultSweepInterval) on Clock
	// when nil.
	Schedule Schedule
	// Clock is the time source; the real clock when nil.
	Clock clock.Clock
	// StepTimeout bounds a step that runs on after shutdown began;
	// DefaultStepTimeout when 0.
	StepTimeout time.Duration
	// StreamRetry is the wait before a stream that ended is opened again;
	// DefaultStreamRetry when 0.
	StreamRetry time.Duration
	// Metrics, when set, observes every broker call and the runner's
	// events (the metrics package's *Metrics satisfies it).
	Metrics Metrics
	// Alert receives what a human must look at: unsettled orders, stop
	// failures and escalations, strategy errors. It must not block.
	Alert func(error)
	// Logger receives diagnostics; silent when nil.
	Logger *slog.Logger
}

// Strategy is one strategy run on the closed bars of one symbol.
type Strategy struct {
	Symbol   string
	Interval broker.Interval
	Strategy strategy.Strategy
	// History is how many closed bars Trader.History keeps;
	// DefaultHistory when 0.
	History int
}

// Metrics is what the runner reports to; the metrics package's *Metrics
// satisfies it. Every method must be quick and safe for concurrent use.
type Metrics interface {
	broker.Observer
	// OrderUpdate is each tracker update (a status change or a fill).
	OrderUpdate(ctx context.Context, u order.Update)
	// OpenOrders is the number of tracked open orders after a step.
	OpenOrders(ctx context.Context, n int)
	// Refused is one order the risk engine refused, with the rules that
	// refused it.
	Refused(ctx context.Context, rules []string)
	// Swept is each supervisor report (sweeps and update batches).
	Swept(ctx context.Context, rep stoploss.Report)
	// Reconciled is one Reconcile call: how long it took and its error.
	Reconciled(ctx context.Context, d time.Duration, err error)
	// RateLimit is the broker's client-side rate-limit headroom by bucket
	// (broker.Health.RateLimitRemaining), reported on every step.
	RateLimit(ctx context.Context, brokerName string, remaining map[string]int)
	// StreamStatus is a stream's status, reported on every step.
	StreamStatus(ctx context.Context, stream string, st broker.StreamStatus, now time.Time)
}

func configError(reason string) error {
	return &errors.BrokerError{Op: "live config", Kind: errors.ErrConfiguration, Message: "live: " + reason}
}

// validate checks what the runner itself needs; the tracker, the engine and
// the supervisor check the rest.
func (c Config) validate() error {
	switch {
	case c.Account == "":
		return configError("Account is required")
	case c.Broker == nil:
		return configError("Broker is required")
	case c.MaxQuoteAge < 0 || c.StepTimeout < 0 || c.StreamRetry < 0 || c.VerifyInterval < 0:
		return configError("MaxQuoteAge, StepTimeout, StreamRetry and VerifyInterval must not be negative")
	}
	for i, s := range c.Strategies {
		switch {
		case s.Strategy == nil:
			return configError("Strategies[" + itoa(i) + "]: Strategy is required")
		case s.Symbol == "":
			return configError("Strategies[" + itoa(i) + "]: Symbol is required")
		case !validInterval(s.Interval):
			return configError("Strategies[" + itoa(i) + "]: Interval " + string(s.Interval) + " is not an interval")
		case s.History < 0:
			return configError("Strategies[" + itoa(i) + "]: History must not be negative")
		}
	}
	return nil
}

func validInterval(iv broker.Interval) bool {
	d, ok := iv.Duration()
	return ok && d > 0
}
