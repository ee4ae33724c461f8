// Package live runs a trading bot: it wires one account's broker, order
// tracker, risk engine, stop-loss supervisor, stores and strategies, and
// drives them on a schedule until its context ends.
//
// A [Runner] is built with [New], which validates everything, and run with
// [Runner.Run]. Each step (see [Runner.Step]) reconciles the tracker with
// the broker BEFORE the supervisor sweeps (a sweep on stale order records
// would re-place stops that already filled), then feeds the strategies the
// bars that closed since the last step, then hands the supervisor the
// updates the step caused, so an order filled at placement gets its stop
// within the step. Between steps, tracker updates (from an order stream)
// are handed to the supervisor as they arrive.
//
// Shutdown: when Run's context ends, the step in flight is finished, the
// tracker drained (no new write, the writes in flight saved), the supervisor
// closed and the leadership released. Resting stops stay at the broker.
//
// Health and metrics: [Runner.Checks] returns the readiness checks a
// health.Handler serves; Config.Metrics receives the runner's events.
package live

import (
	"cmp"
	"context"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/clock"
	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/order"
	"github.com/arbiontrader/arbion/pnl"
	"github.com/arbiontrader/arbion/risk"
	"github.com/arbiontrader/arbion/stoploss"
)

// Runner runs one account. Its methods are safe for concurrent use; steps
// run one at a time.
type Runner struct {
	cfg     Config
	clk     clock.Clock
	log     *slog.Logger
	broker  broker.Broker // Config.Broker, observed when Metrics is set
	tracker *order.Tracker
	engine  *risk.Engine
	sup     *stoploss.Supervisor
	pnl     *pnl.Source
	bars    broker.BarSource
	feeds   []*feed
	metrics Metrics
	calls   *callWatch
	trader  *Trader

	wake   chan struct{} // a tracker update arrived
	unsubs []func()

	stepMu sync.Mutex // one step at a time
	// haltDay is the start of the day a daily-loss halt tripped in (zero:
	// no such halt); a step in a later day lifts it.
	haltDay atomic.Pointer[time.Time]

	closeOnce   sync.Once
	running     atomic.Bool
	started     atomic.Bool
	lastStep    atomic.Pointer[stepMark]
	orderStream atomic.Pointer[streamRef]
	quoteStream atomic.Pointer[streamRef]
}

// stepMark is when the last step ended and its error.
type stepMark struct {
	at  time.Time
	err error
}

// streamRef holds a stream's status function (a pointer, for atomic.Pointer).
type streamRef struct{ status func() broker.StreamStatus }

// New validates cfg and wires the runner. Every problem is an error
// matching errors.ErrConfiguration.
func New(cfg Config) (*Runner, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	r := &Runner{cfg: cfg, clk: clock.Or(cfg.Clock), log: cfg.Logger, metrics: cfg.Metrics,
		wake: make(chan struct{}, 1)}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	// Every call goes through the call watch (readiness) and on to the metrics.
	r.calls = &callWatch{next: cfg.Metrics}
	var err error
	if r.broker, err = broker.WithObserver(cfg.Broker, r.calls, broker.WithObserverClock(r.clk)); err != nil {
		return nil, err
	}
	loc := cfg.Location
	if loc == nil {
		if loc, err = time.LoadLocation(DefaultLocation); err != nil {
			return nil, configError("no time zone data for " + DefaultLocation + " (import time/tzdata, or set Location)")
		}
	}
	r.cfg.Location = loc
	r.cfg.MaxQuoteAge = cmp.Or(cfg.MaxQuoteAge, stoploss.DefaultMaxQuoteAge)
	r.cfg.StepTimeout = cmp.Or(cfg.StepTimeout, DefaultStepTimeout)
	r.cfg.StreamRetry = cmp.Or(cfg.StreamRetry, DefaultStreamRetry)
	if r.cfg.Schedule == nil {
		r.cfg.Schedule = Every(DefaultSweepInterval, r.clk)
	}
	if r.pnl, err = pnl.New(pnl.Config{Quotes: r.broker, Location: loc, Clock: r.clk}); err != nil {
		return nil, err
	}
	r.engine, err = risk.NewEngine(risk.Config{
		Rules: cfg.Rules, Positions: r.broker, OpenOrders: r.broker, Account: r.broker, MarketData: r.broker,
		PnL: r.pnl, Location: loc, MaxQuoteAge: r.cfg.MaxQuoteAge, Clock: r.clk, Logger: cfg.Logger,
		StateStore: cfg.RiskState, StateAccount: cfg.Account,
	})
	if err != nil {
		return nil, err
	}
	r.tracker, err = order.NewTracker(order.Config{Broker: r.broker, Store: cfg.Orders, Checker: r.engine,
		Account: cfg.Account, Leader: cfg.Leader, Clock: r.clk, Logger: cfg.Logger, Alert: cfg.Alert})
	if err != nil {
		return nil, err
	}
	if err := r.strategies(); err != nil {
		return nil, err
	}
	r.sup, err = stoploss.New(stoploss.Config{
		Account: cfg.Account, Broker: r.broker, Orders: openOrders{r.tracker}, Store: cfg.Protections,
		Lock: cfg.Lock, Leader: cfg.Leader, Clock: r.clk, Switch: r.engine,
		DefaultPolicy: cfg.Policy, Policies: cfg.Policies, Mode: cfg.StopMode, MaxQuoteAge: r.cfg.MaxQuoteAge,
		VerifyInterval: cfg.VerifyInterval, Alert: cfg.Alert, OnSweep: r.swept, Logger: cfg.Logger,
	})
	if err != nil {
		return nil, err
	}
	r.trader = &Trader{r: r}
	r.unsubs = append(r.unsubs, r.sup.Close, r.tracker.Subscribe(r.updated), r.engine.Subscribe(r.stateChanged))
	return r, nil
}

// strategies builds the bar feeds and finds their bar source.
func (r *Runner) strategies() error {
	if len(r.cfg.Strategies) == 0 {
		return nil
	}
	r.bars = r.cfg.Bars
	if r.bars == nil {
		var ok bool
		if r.bars, ok = broker.Find[broker.BarSource](r.cfg.Broker); !ok {
			return configError("Strategies need bars: the broker has no bar source; set Config.Bars")
		}
	}
	for _, s := range r.cfg.Strategies {
		d, _ := s.Interval.Duration()
		r.feeds = append(r.feeds, &feed{Strategy: s, every: d, history: newRing(cmp.Or(s.History, DefaultHistory))})
	}
	return nil
}

// Tracker returns the account's order tracker.
func (r *Runner) Tracker() *order.Tracker { return r.tracker }

// Engine returns the account's risk engine.
func (r *Runner) Engine() *risk.Engine { return r.engine }

// Supervisor returns the account's stop-loss supervisor.
func (r *Runner) Supervisor() *stoploss.Supervisor { return r.sup }

// PnL returns the daily P&L source the risk engine reads.
func (r *Runner) PnL() *pnl.Source { return r.pnl }

// Broker returns the broker every call of the runner goes through
// (observed for readiness and Config.Metrics).
func (r *Runner) Broker() broker.Broker { return r.broker }

// Trader returns what the strategies trade through.
func (r *Runner) Trader() *Trader { return r.trader }

// Started reports whether Run finished its startup (the trading state was
// loaded and the books seeded): the startup probe.
func (r *Runner) Started() bool { return r.started.Load() }

// updated is the tracker subscription: fills to the P&L, counts to the
// metrics, and a wake-up for the supervisor.
func (r *Runner) updated(u order.Update) {
	r.pnl.Observe(u)
	if r.metrics != nil {
		r.metrics.OrderUpdate(context.Background(), u)
	}
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

func (r *Runner) swept(rep stoploss.Report) {
	if r.metrics != nil {
		r.metrics.Swept(context.Background(), rep)
	}
}

// stateChanged remembers a halt the daily loss tripped: the host's runner
// lifts it when the next trading day starts.
func (r *Runner) stateChanged(c risk.StateChange) {
	switch {
	case c.To == risk.Halted && strings.Contains(c.Reason, (risk.MaxDailyLoss{}).Name()):
		day := r.pnl.DayStart(c.Time)
		r.haltDay.Store(&day)
	case c.To != risk.Halted:
		r.haltDay.Store(nil)
	}
}

// StepReport is what one step did.
type StepReport struct {
	Time      time.Time
	Reconcile order.ReconcileReport
	Sweep     stoploss.Report
	// Bars counts the closed bars handed to the strategies.
	Bars int
}

// Step runs one step now: lift yesterday's daily-loss halt, Reconcile,
// the supervisor's pending updates, Sweep, the strategies' new bars, the
// updates they caused. It runs to its end on every error but a strategy's
// (which stops the step and is returned as is); the others are joined
// into the error returned, but for errors.ErrNotLeader when the step began
// without the leadership: a standby replica (Config.Leader not held)
// reconciles and does nothing else, quietly. A leadership lost during the
// step is an error.
func (r *Runner) Step(ctx context.Context) (StepReport, error) {
	r.stepMu.Lock()
	defer r.stepMu.Unlock()
	rep := StepReport{Time: r.clk.Now()}
	standby := r.cfg.Leader != nil && r.cfg.Leader.Err() != nil
	var errs []error
	if err := r.newDay(ctx, rep.Time); err != nil {
		errs = append(errs, err)
	}
	start := r.clk.Now()
	rec, err := r.tracker.Reconcile(ctx)
	rep.Reconcile = rec
	if r.metrics != nil {
		r.metrics.Reconciled(ctx, r.clk.Now().Sub(start), err)
	}
	if err != nil {
		errs = append(errs, err)
	}
	if _, err := r.sup.HandleUpdates(ctx); err != nil {
		errs = append(errs, err)
	}
	if rep.Sweep, err = r.sup.Sweep(ctx); err != nil {
		errs = append(errs, err)
	}
	n, serr := r.feedBars(ctx, rep.Time)
	rep.Bars = n
	if serr != nil {
		r.mark(rep.Time, serr)
		return rep, serr
	}
	if _, err := r.sup.HandleUpdates(ctx); err != nil {
		errs = append(errs, err)
	}
	r.report(ctx)
	if standby {
		errs = standbyQuiet(errs)
	}
	err = errors.Join(errs...)
	r.mark(r.clk.Now(), err)
	return rep, err
}

// standbyQuiet drops the errors that only say this process does not lead
// the account: a standby replica does nothing by design. A step that began
// as the leader keeps them: the leadership was lost during the step.
func standbyQuiet(errs []error) []error {
	out := errs[:0]
	for _, err := range errs {
		if !errors.Is(err, errors.ErrNotLeader) {
			out = append(out, err)
		}
	}
	return out
}

func (r *Runner) mark(at time.Time, err error) { r.lastStep.Store(&stepMark{at: at, err: err}) }

// report hands the metrics the step's gauges.
func (r *Runner) report(ctx context.Context) {
	if r.metrics == nil {
		return
	}
	if open, err := r.tracker.Open(ctx); err == nil {
		r.metrics.OpenOrders(ctx, len(open))
	}
	if hr, ok := broker.Find[broker.HealthReporter](r.cfg.Broker); ok {
		if h := hr.Health(ctx); len(h.RateLimitRemaining) > 0 {
			r.metrics.RateLimit(ctx, h.Broker, h.RateLimitRemaining)
		}
	}
	now := r.clk.Now()
	for name, ref := range map[string]*streamRef{"orders": r.orderStream.Load(), "quotes": r.quoteStream.Load()} {
		if ref != nil {
			r.metrics.StreamStatus(ctx, name, ref.status(), now)
		}
	}
}

// newDay lifts a halt the daily loss tripped once its day is over: the
// limit is per trading day.
func (r *Runner) newDay(ctx context.Context, now time.Time) error {
	day := r.haltDay.Load()
	if day == nil || !r.pnl.DayStart(now).After(*day) {
		return nil
	}
	if st, _ := r.engine.State(); st != risk.Halted {
		r.haltDay.Store(nil)
		return nil
	}
	return r.engine.SetState(ctx, risk.Active, "a new trading day: the daily loss limit starts again")
}

// Run starts the runner and steps on the schedule until ctx ends; between
// steps it hands tracker updates (from an order stream) to the supervisor
// as they arrive. It consumes the broker's order stream (through the
// tracker), a quote stream for the supervisor (stops trigger on ticks) and
// one for the strategies' marks when the broker has them, and polls by
// Reconcile on every step in any case: a stream is an accelerator, the
// broker's REST state is the truth.
//
// When ctx ends, or the Schedule's Wait returns io.EOF (a replay that ran
// out), Run finishes the step in flight, drains the tracker,
// closes the supervisor, releases the leadership and returns nil. A
// strategy's error also ends it (after the same shutdown) and is returned;
// the other errors of a step are logged and kept for the health checks.
// Run may be called once.
func (r *Runner) Run(ctx context.Context) error {
	if !r.running.CompareAndSwap(false, true) {
		return configError("Run was called twice")
	}
	defer r.Close()
	if err := r.Start(ctx); err != nil {
		return err
	}
	streams, stopStreams := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() { stopStreams(); wg.Wait() }()
	r.startStreams(streams, &wg)

	due, over := make(chan struct{}), make(chan error, 1)
	wg.Go(func() {
		for {
			if err := r.cfg.Schedule.Wait(streams); err != nil {
				over <- err
				return
			}
			select {
			case due <- struct{}{}:
			case <-streams.Done():
				return
			}
		}
	})
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-over:
			// A schedule that is over (io.EOF: a replay ran out) ends Run
			// as a cancelled ctx does; any other failure of it is returned.
			if ctx.Err() != nil || errors.Is(err, io.EOF) {
				return nil
			}
			return err
		case <-r.wake:
			if _, err := r.sup.HandleUpdates(ctx); err != nil {
				r.log.Warn("live: updates failed", "account", r.cfg.Account, "error", err)
			}
		case <-due:
			// The step runs to its end even if shutdown begins meanwhile.
			stepCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.cfg.StepTimeout)
			_, err := r.Step(stepCtx)
			cancel()
			var se *StrategyError
			if errors.As(err, &se) {
				r.alert(err)
				return err
			}
			if err != nil {
				r.log.Warn("live: step failed", "account", r.cfg.Account, "error", err)
			}
		}
	}
}

// Start loads the stored trading state and seeds the daily P&L with the
// broker's positions, and the startup probe passes from then on. Run calls
// it; a host that drives Step itself calls it once before the first step.
func (r *Runner) Start(ctx context.Context) error {
	if r.cfg.RiskState != nil {
		if err := r.engine.LoadState(ctx); err != nil {
			return err
		}
	}
	positions, err := r.broker.Positions(ctx)
	if err != nil {
		return err
	}
	r.pnl.Seed(positions)
	r.started.Store(true)
	return nil
}

// Close shuts the runner down: it drains the tracker (no new write; the
// writes in flight answered and saved), closes the supervisor and releases
// the leadership. Run calls it when its context ends; a host that drives
// Step itself calls it when done. It is safe to call more than once.
func (r *Runner) Close() {
	r.closeOnce.Do(r.close)
}

func (r *Runner) close() {
	ctx, cancel := context.WithTimeout(context.Background(), order.DefaultSendTimeout+time.Second)
	defer cancel()
	if err := r.tracker.Drain(ctx); err != nil {
		r.log.Warn("live: drain did not finish", "account", r.cfg.Account, "error", err)
	}
	for _, u := range r.unsubs {
		u()
	}
	if rel, ok := r.cfg.Leader.(interface{ Release() error }); ok {
		if err := rel.Release(); err != nil {
			r.log.Warn("live: release of the leadership failed", "account", r.cfg.Account, "error", err)
		}
	}
}

func (r *Runner) alert(err error) {
	if r.cfg.Alert != nil {
		r.cfg.Alert(err)
	}
}

// StrategyError is a strategy's error, which ends Run.
type StrategyError struct {
	Symbol string
	Bar    time.Time // the bar's start
	Err    error
}

func (e *StrategyError) Error() string {
	return "live: strategy on " + e.Symbol + " at the bar of " + e.Bar.Format(time.RFC3339) + ": " + e.Err.Error()
}

func (e *StrategyError) Unwrap() error { return e.Err }

// openOrders is the tracker as the supervisor sees it, but for BySymbol,
// which answers the symbol's open orders only: the supervisor reads it to
// cancel what works before a close, and the tracker's BySymbol reads the
// symbol's whole history, whose cost grows with every order ever placed.
type openOrders struct{ *order.Tracker }

func (o openOrders) BySymbol(ctx context.Context, symbol string) ([]order.Order, error) {
	open, err := o.Open(ctx)
	if err != nil {
		return nil, err
	}
	out := open[:0]
	for _, x := range open {
		if x.Instrument.Symbol == symbol {
			out = append(out, x)
		}
	}
	return out, nil
}

func itoa(n int) string { return strconv.Itoa(n) }
