package risk

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/clock"
	"github.com/arbiontrader/arbion/errors"
	"github.com/shopspring/decimal"
)

// Config configures an [Engine]. Sources are required when a rule needs
// their data (see [Needs]); [NewEngine] says which one is missing.
type Config struct {
	// Rules are checked in order on every order; all of them run, and every
	// refusal is reported. With none, the engine applies only the trading
	// state.
	Rules []Rule
	// Positions is always required: [ReduceOnly] needs it.
	Positions PositionSource
	// OpenOrders, when set, is asked whenever Positions is, and the unfilled
	// remainder of every working order counts like a reservation
	// ([Holding.PendingBuy], [Holding.PendingSell]). Without it an order
	// stops counting once settled as sent, until its fills show in
	// Positions, so resting limit orders could together exceed a position
	// limit. Recommended; a broker.Broker satisfies it.
	OpenOrders OpenOrderSource
	// Account is required by rules that need NeedAccount.
	Account AccountSource
	// MarketData is required by rules that need NeedQuote or NeedMarks.
	MarketData MarketData
	// PnL is required by rules that need NeedPnL.
	PnL PnLSource
	// Location is the time zone whose midnight starts the trading day (for
	// [MaxDailyLoss] and [MaxOrdersPerDay]): America/New_York for US
	// equities, time.UTC for crypto. Required: no zone is assumed, because a
	// wrong one moves the daily reset by hours.
	Location *time.Location
	// MaxQuoteAge is the oldest quote the engine accepts (older is refused
	// with errors.ErrRiskDataUnavailable). Required (> 0) when a rule needs
	// quotes.
	MaxQuoteAge time.Duration
	// Clock is the time source (the trading day, quote age, state
	// changes); nil means clock.Real.
	Clock clock.Clock
	// Logger receives state changes; nil means silent.
	Logger *slog.Logger
	// StateStore, when set, keeps the trading state of StateAccount, so that
	// a halt survives a restart and is shared by every replica. The engine
	// then starts Halted until [Engine.LoadState] has read the stored
	// state, saves every change before it takes effect (a halt takes
	// effect even when the save fails: fail closed), and re-reads it on
	// every LoadState call. Nil keeps the state in this engine only.
	StateStore StateStore
	// StateAccount is the account's key in StateStore; required with it.
	StateAccount string
}

// Engine checks orders against its rules and trading state. It is safe for
// concurrent use and starts no goroutine.
type Engine struct {
	rules       []Rule
	checkers    []intentChecker // checkers[i]: rules[i] as a built-in rule, else nil
	halts       []bool          // halts[i]: a breach of rules[i] halts trading
	needs       Needs
	horizon     time.Duration // how long order times are kept, for rate rules
	positions   PositionSource
	openOrders  OpenOrderSource
	account     AccountSource
	market      MarketData
	pnl         PnLSource
	loc         *time.Location
	maxQuoteAge time.Duration
	now         func() time.Time
	log         *slog.Logger
	states      StateStore // nil: the state lives in this engine only
	stateKey    string

	mu      sync.Mutex
	scratch Intent // the intent being checked, handed to the built-in rules by pointer
	state   State
	reason  string
	pending map[uint64]*reservation
	nextRes uint64
	// sentSeq numbers the settle(true) calls. A gather remembers the number
	// it started at; an order settled as sent after that may be missing from
	// what the sources answered it (they were asked before the broker had
	// it), so it keeps counting for that gather: recent holds those orders
	// while a gather older than them is in flight (inflight: gathers by
	// starting number).
	sentSeq   uint64
	recent    []*reservation
	inflight  map[uint64]int
	day       time.Time   // start of the current trading day
	sentToday int         // orders settled as sent in the current day
	sentTimes []time.Time // times of orders settled as sent within horizon, ascending

	subs       []subscriber
	nextSub    uint64
	queue      []StateChange
	delivering bool
	seq        uint64
}

// reservation is the effect of an order that passed the checks and has not
// been settled: it counts in exposures and order counts until then.
type reservation struct {
	clientOrderID string
	symbol        string
	buy           bool
	qty           decimal.Decimal
	price         decimal.Decimal // the order's price when checked; zero if unknown
	at            time.Time
	day           time.Time
	// sentSeq is the engine's sentSeq when the order was settled as sent.
	sentSeq uint64
}

// NewEngine validates cfg and returns an engine in the [Active] state. Every
// problem is an error matching errors.ErrConfiguration.
func NewEngine(cfg Config) (*Engine, error) {
	e := &Engine{
		positions: cfg.Positions, openOrders: cfg.OpenOrders, account: cfg.Account, market: cfg.MarketData, pnl: cfg.PnL,
		loc: cfg.Location, maxQuoteAge: cfg.MaxQuoteAge, now: clock.Or(cfg.Clock).Now, log: cfg.Logger,
		pending: make(map[uint64]*reservation), inflight: make(map[uint64]int),
		states: cfg.StateStore, stateKey: cfg.StateAccount,
	}
	if e.states != nil {
		// Fail closed until the stored state was read: a restart must not
		// resume trading after a halt.
		e.state, e.reason = Halted, notLoadedReason
	}
	var errs []error
	for i, r := range cfg.Rules {
		if r == nil {
			errs = append(errs, configError(fmt.Sprintf("rule %d", i), "nil rule"))
			continue
		}
		if v, ok := r.(interface{ Validate() error }); ok {
			if err := v.Validate(); err != nil {
				errs = append(errs, err)
			}
		}
		h, ok := r.(Halter)
		c, _ := r.(intentChecker)
		e.rules = append(e.rules, r)
		e.checkers = append(e.checkers, c)
		e.halts = append(e.halts, ok && h.HaltsOnBreach())
		e.needs |= r.Needs()
		if w, ok := r.(interface{ window() time.Duration }); ok {
			e.horizon = max(e.horizon, w.window())
		}
	}
	if e.needs&NeedMarks != 0 {
		e.needs |= NeedPositions | NeedQuote
	}
	errs = append(errs, e.checkSources()...)
	if cfg.StateStore != nil && cfg.StateAccount == "" {
		errs = append(errs, configError("StateAccount", "required with StateStore"))
	}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return e, nil
}

func (e *Engine) checkSources() []error {
	var errs []error
	missing := func(what string) {
		errs = append(errs, fmt.Errorf("risk: config: %s is required: %w", what, errors.ErrConfiguration))
	}
	if e.positions == nil {
		missing("Positions (reduce-only needs it)")
	}
	if e.loc == nil {
		missing("Location (the trading day's time zone)")
	}
	if e.needs&NeedAccount != 0 && e.account == nil {
		missing("Account (a rule needs the account's equity)")
	}
	if e.needs&NeedPnL != 0 && e.pnl == nil {
		missing("PnL (a rule needs the day's P&L)")
	}
	if e.needs&NeedQuote != 0 {
		if e.market == nil {
			missing("MarketData (a rule needs quotes)")
		}
		if e.maxQuoteAge <= 0 {
			missing("MaxQuoteAge > 0 (a rule needs quotes)")
		}
	}
	return errs
}

// PreTrade checks req and, when every rule passes, reserves its effect
// (position and exposure, order counts) until settle is called, so that
// orders checked at the same time cannot together exceed a limit.
//
// The caller must call settle exactly once when the broker has answered:
// settle(true) when the order was sent (accepted, or outcome unknown), which
// counts it against the per-day and rate limits and releases its exposure
// reservation, because from then on the sources show it (its fills in
// Positions, its remainder in OpenOrders); a check whose sources were asked
// before the settle still counts it. settle(false) when it was refused or
// never sent, which forgets it. Further calls are no-ops.
//
// A refusal is a *errors.RiskError or several joined; an invalid request is
// refused with the error of [broker.OrderRequest.Validate]. When trading is
// [Halted] the order is refused at once, without asking any source.
func (e *Engine) PreTrade(ctx context.Context, req broker.OrderRequest) (settle func(sent bool), err error) {
	if err := e.refuseIfHalted(req); err != nil {
		return nil, err
	}
	if err := req.Validate(); err != nil {
		return nil, err
	}
	return e.reserve(ctx, req, true, func(Intent) bool { return false })
}

// reserve builds the intent for req, reserves it when exempt says so or
// when the trading state and every rule allow it, and returns its settle.
// A breach that halted trading is saved and delivered.
func (e *Engine) reserve(ctx context.Context, req broker.OrderRequest, stopIfHalted bool,
	exempt func(Intent) bool, extra ...Needs) (func(sent bool), error) {
	var id uint64
	var changed bool
	err := e.withIntent(ctx, req, stopIfHalted, func(in Intent) error {
		var err error
		if !exempt(in) {
			changed, err = e.evaluateLocked(in)
		}
		if err == nil {
			id = e.reserveLocked(in)
		}
		return err
	}, extra...)
	if changed {
		e.saveTrip(ctx)
		e.deliver(ctx)
	}
	if err != nil {
		return nil, err
	}
	return func(sent bool) { e.settle(id, sent) }, nil
}

// refuseIfHalted is the first check of PreTrade: a halted engine refuses
// at once, asking no source and validating nothing.
func (e *Engine) refuseIfHalted(req broker.OrderRequest) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.state == Halted {
		return haltedError(req, e.reason)
	}
	return nil
}

// PreTradeProtective checks an order meant to defend a position (a stop, a
// take-profit, an emergency close), with settle as for [Engine.PreTrade].
// One that reduces the position the broker reports (the other side, at
// most its size) is allowed in every trading state, halted included, and
// no rule can refuse it: it can only lower exposure. Any other order
// marked protective is checked like an ordinary one, so it is refused
// while trading is halted and must satisfy every rule otherwise. Positions
// is always asked; when it fails, the order is refused (errors.ErrRiskDataUnavailable).
func (e *Engine) PreTradeProtective(ctx context.Context, req broker.OrderRequest) (settle func(sent bool), err error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	return e.reserve(ctx, req, false, reducesReported, NeedPositions)
}

// reducesReported reports whether the order is on the other side of the
// position the broker reports and no larger than it.
func reducesReported(in Intent) bool {
	pos, q := in.Position.Quantity, in.Request.Quantity
	switch {
	case pos.IsPositive():
		return !in.Request.Side.IsBuy() && q.LessThanOrEqual(pos)
	case pos.IsNegative():
		return in.Request.Side.IsBuy() && q.LessThanOrEqual(pos.Neg())
	}
	return false
}

// Gather builds the intent for req as [Engine.PreTrade] would, reservations
// included, without checking or reserving anything. It fails closed like
// PreTrade when a needed source fails.
func (e *Engine) Gather(ctx context.Context, req broker.OrderRequest) (Intent, error) {
	var out Intent
	err := e.withIntent(ctx, req, false, func(in Intent) error {
		out = in
		return nil
	})
	return out, err
}

// withIntent asks the sources without holding the lock, then builds the
// intent and calls fn with it in one critical section, so that what fn
// decides (a reservation) is consistent with every other check. When
// stopIfHalted is set and trading is halted, it refuses at once.
func (e *Engine) withIntent(ctx context.Context, req broker.OrderRequest, stopIfHalted bool, fn func(Intent) error, extra ...Needs) error {
	now := e.now()
	e.mu.Lock()
	if stopIfHalted && e.state == Halted {
		err := haltedError(req, e.reason)
		e.mu.Unlock()
		return err
	}
	snap := e.beginGatherLocked()
	for _, n := range extra {
		snap.needs |= n
	}
	e.mu.Unlock()
	ended := false
	defer func() {
		if !ended { // a source panicked: do not keep settled orders for it forever
			e.mu.Lock()
			e.endGatherLocked(snap.gen)
			e.mu.Unlock()
		}
	}()
	g, err := e.gather(ctx, req, now, snap)

	e.mu.Lock()
	defer e.mu.Unlock()
	ended = true
	defer e.endGatherLocked(snap.gen) // after the intent is built: it reads e.recent
	if err != nil {
		return err
	}
	return fn(e.intentLocked(req, now, g))
}

// Check judges an intent (from [Engine.Gather], or built by the caller)
// against the trading state and every rule, and reports every refusal. It
// reserves nothing: use [Engine.PreTrade] before sending an order. A breach
// of a rule that halts trading ([MaxDailyLoss]) halts the engine.
func (e *Engine) Check(ctx context.Context, in Intent) error {
	if err := ctx.Err(); err != nil {
		return &errors.RiskError{Rule: "check", Symbol: in.Request.Instrument.Symbol,
			Reason: "context done before the check", Kind: errors.ErrRiskDataUnavailable, Err: err}
	}
	if err := in.Request.Validate(); err != nil {
		return err
	}
	e.mu.Lock()
	changed, err := e.evaluateLocked(in)
	e.mu.Unlock()
	if changed {
		e.saveTrip(ctx)
		e.deliver(ctx)
	}
	return err
}

// evaluateLocked runs the state check and every rule. changed reports that a
// breach halted trading (the caller delivers the event after unlocking).
func (e *Engine) evaluateLocked(intent Intent) (changed bool, err error) {
	e.scratch = intent
	defer func() { e.scratch = Intent{} }() // keep no caller data
	in := &e.scratch
	in.prepare()
	var errs []error
	switch e.state {
	case Halted:
		errs = append(errs, haltedError(in.Request, e.reason))
	case ReduceOnly:
		if err := reduceOnly(*in, e.reason); err != nil {
			errs = append(errs, err)
		}
	}
	trip := ""
	for i, r := range e.rules {
		if err := e.check(i, r, in); err != nil {
			errs = append(errs, err)
			if e.halts[i] && trip == "" {
				trip = err.Error()
			}
		}
	}
	if trip != "" {
		changed = e.setStateLocked(Halted, trip)
	}
	if len(errs) == 1 {
		return changed, errs[0]
	}
	return changed, errors.Join(errs...)
}

// intentChecker is implemented by the built-in rules: Check with the
// intent by pointer. Handing every rule its own copy of an Intent (several
// hundred bytes) was a large share of a check.
type intentChecker interface {
	check(in *Intent) error
}

// check runs rule i on the engine's intent.
func (e *Engine) check(i int, r Rule, in *Intent) error {
	if c := e.checkers[i]; c != nil {
		return c.check(in)
	}
	return r.Check(*in)
}

func haltedError(req broker.OrderRequest, reason string) *errors.RiskError {
	// No Actual: formatting the order's size costs more than the whole
	// refusal may (the order's own error names it).
	return &errors.RiskError{Rule: "trading halted", Symbol: req.Instrument.Symbol,
		Limit: "no new orders", Reason: reason, Kind: errors.ErrTradingHalted}
}

// reduceOnly refuses an order that does not shrink an existing position, or
// that would flip it (reserved orders on the same side count as filled).
func reduceOnly(in Intent, reason string) error {
	pos, q := in.Position.Quantity, in.Request.Quantity
	low, high := in.Position.Range()
	buy := in.Request.Side.IsBuy()
	var after decimal.Decimal
	var why string
	switch {
	case pos.IsZero():
		after, why = in.Delta(), "no position to reduce"
	case pos.IsPositive() && buy:
		after, why = high.Add(q), "a buy would add to the long position"
	case pos.IsNegative() && !buy:
		after, why = low.Sub(q), "a sell would add to the short position"
	case pos.IsPositive():
		if after = low.Sub(q); after.IsNegative() {
			why = "the sell would flip the position from long to short (reserved sells included)"
		}
	default:
		if after = high.Add(q); after.IsPositive() {
			why = "the buy would flip the position from short to long (reserved buys included)"
		}
	}
	if why == "" {
		return nil
	}
	if reason != "" {
		why += "; reduce-only: " + reason
	}
	return &errors.RiskError{Rule: "reduce only", Symbol: in.Request.Instrument.Symbol,
		Limit: "between 0 and " + pos.String(), Actual: after.String(), Reason: why,
		Kind: errors.ErrTradingHalted}
}

// reserveLocked records the order's effect until it is settled.
func (e *Engine) reserveLocked(in Intent) uint64 {
	e.nextRes++
	price, _ := in.Price()
	e.pending[e.nextRes] = &reservation{
		clientOrderID: in.Request.ClientOrderID, symbol: in.Request.Instrument.Symbol, buy: in.Request.Side.IsBuy(),
		qty: in.Request.Quantity, price: price, at: in.Time, day: in.DayStart,
	}
	return e.nextRes
}

// gatherSnapshot is what a gather takes from the engine's state.
type gatherSnapshot struct {
	gen            uint64 // sentSeq when the gather started
	needs          Needs
	pendingSymbols []string // symbols that need a mark, besides the sources'
}

// beginGatherLocked registers a gather in flight.
func (e *Engine) beginGatherLocked() gatherSnapshot {
	e.inflight[e.sentSeq]++
	snap := gatherSnapshot{gen: e.sentSeq, needs: e.needs}
	if e.state == ReduceOnly {
		snap.needs |= NeedPositions
	}
	if e.needs&NeedMarks != 0 {
		for _, r := range e.pending {
			snap.pendingSymbols = append(snap.pendingSymbols, r.symbol)
		}
		for _, r := range e.recent {
			snap.pendingSymbols = append(snap.pendingSymbols, r.symbol)
		}
	}
	return snap
}

// endGatherLocked unregisters a gather and forgets the sent orders that no
// gather in flight can have missed.
func (e *Engine) endGatherLocked(gen uint64) {
	if e.inflight[gen]--; e.inflight[gen] <= 0 {
		delete(e.inflight, gen)
	}
	if len(e.inflight) == 0 {
		clear(e.recent)
		e.recent = e.recent[:0]
		return
	}
	oldest := uint64(math.MaxUint64)
	for g := range e.inflight {
		oldest = min(oldest, g)
	}
	e.recent = slices.DeleteFunc(e.recent, func(r *reservation) bool { return r.sentSeq <= oldest })
}

// settle ends a reservation; a second call finds none and does nothing.
func (e *Engine) settle(id uint64, sent bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	r, ok := e.pending[id]
	if !ok {
		return
	}
	delete(e.pending, id)
	if !sent {
		return
	}
	e.sentSeq++
	if len(e.inflight) > 0 {
		r.sentSeq = e.sentSeq
		e.recent = append(e.recent, r)
	}
	if r.day.Equal(e.rollDayLocked(e.now())) {
		e.sentToday++
	}
	if e.horizon > 0 {
		i, _ := slices.BinarySearchFunc(e.sentTimes, r.at, time.Time.Compare)
		e.sentTimes = slices.Insert(e.sentTimes, i, r.at)
	}
}

// rollDayLocked moves to the trading day containing now (never back) and
// returns its start.
func (e *Engine) rollDayLocked(now time.Time) time.Time {
	if d := dayStart(now, e.loc); d.After(e.day) {
		e.day, e.sentToday = d, 0
	}
	return e.day
}

// dayStart returns the midnight that starts t's day in loc. time.Date
// normalizes a midnight that a DST change skips.
func dayStart(t time.Time, loc *time.Location) time.Time {
	y, m, d := t.In(loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, loc)
}
