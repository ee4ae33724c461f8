package main

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/clock"
	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/order"
	"github.com/arbiontrader/arbion/paper"
	"github.com/arbiontrader/arbion/risk"
	"github.com/arbiontrader/arbion/stoploss"
	"github.com/shopspring/decimal"
)

// account names the paper account in the tracker's records, the supervisor's
// protection records and its lease.
const account = "paperbot"

// Config is one run of the bot.
type Config struct {
	Seed          uint64
	Steps         int    // the step the run trades up to (a resumed run starts after the saved one)
	Symbol        string // a pair with a dash (BTC-USD) trades as crypto, anything else as an equity
	ProgressEvery int    // steps between progress lines; 0 prints none
	// DB is the SQLite file the orders, protections and the bot's progress
	// are kept in; ":memory:" keeps them in a private in-memory database
	// (nothing survives the process).
	DB string

	StartPrice   decimal.Decimal
	StartCash    decimal.Decimal
	Quantity     decimal.Decimal // bought on each entry
	MaxStepCents int64           // the random walk's largest move per step
	Fast, Slow   int             // moving-average windows, in steps
	EntryOffset  decimal.Decimal // an entry is a limit buy this far below the price
	RepriceAfter int             // steps an unfilled entry waits before it is moved to the price
	FeeBps       decimal.Decimal
	MinFee       decimal.Decimal

	// The risk engine's limits (see riskRules).
	MaxOrderQuantity decimal.Decimal
	MaxOrderNotional decimal.Decimal
	MaxPosition      decimal.Decimal // units
	MaxDailyLoss     decimal.Decimal // halts new entries for the rest of the (UTC) day
	PriceBandPercent decimal.Decimal
	MaxOrdersPerDay  int

	// The stop-loss policy of every position, in percent of the entry.
	StopPercent       decimal.Decimal
	TrailPercent      decimal.Decimal // zero: no trailing stop
	TakeProfitPercent decimal.Decimal // zero: no take-profit

	// afterStep, when set, is called after each traded step (tests look at
	// the bot's books there).
	afterStep func(ctx context.Context, bt *bot, step int) error
}

func defaultConfig() Config {
	return Config{
		Seed: 1, Steps: 2000, Symbol: "AAPL", ProgressEvery: 250, DB: ":memory:",
		StartPrice: decimal.NewFromInt(100), StartCash: decimal.NewFromInt(100_000),
		Quantity: decimal.NewFromInt(50), MaxStepCents: 25, Fast: 5, Slow: 20,
		EntryOffset: decimal.New(5, -2), RepriceAfter: 10,
		FeeBps: decimal.NewFromInt(1), MinFee: decimal.New(1, -2),

		MaxOrderQuantity: decimal.NewFromInt(100), MaxOrderNotional: decimal.NewFromInt(25_000),
		MaxPosition: decimal.NewFromInt(100), MaxDailyLoss: decimal.NewFromInt(400),
		PriceBandPercent: decimal.NewFromInt(5), MaxOrdersPerDay: 200,

		StopPercent: decimal.NewFromInt(1), TrailPercent: decimal.New(6, -1),
		TakeProfitPercent: decimal.NewFromInt(2),
	}
}

func (c Config) validate() error {
	var problems []string
	if c.Steps < 0 {
		problems = append(problems, "steps may not be negative")
	}
	if c.Fast < 1 || c.Slow <= c.Fast {
		problems = append(problems, fmt.Sprintf("windows must be 1 <= fast < slow, got %d and %d", c.Fast, c.Slow))
	}
	if !c.Quantity.IsPositive() || !c.StartPrice.IsPositive() || c.MaxStepCents < 0 {
		problems = append(problems, "quantity and start price must be positive, the step not negative")
	}
	if c.ProgressEvery < 0 || c.RepriceAfter < 1 {
		problems = append(problems, "every may not be negative and reprice-after must be positive")
	}
	if c.DB == "" {
		problems = append(problems, `a database file is required (or ":memory:")`)
	}
	if !c.StopPercent.IsPositive() || c.TrailPercent.IsNegative() || c.TakeProfitPercent.IsNegative() {
		problems = append(problems, "the stop percent must be positive, trail and take-profit not negative")
	}
	if len(problems) > 0 {
		return &errors.BrokerError{Op: "paperbot config", Kind: errors.ErrConfiguration, Message: strings.Join(problems, "; ")}
	}
	return nil
}

// riskRules is the bot's rule set: fat fingers (quantity, notional, price
// band), exposure (position), a daily loss kill switch and a runaway-loop
// guard (orders per day). The supervisor's protective orders skip them.
func (c Config) riskRules() []risk.Rule {
	return []risk.Rule{
		risk.MaxOrderQuantity{Limit: c.MaxOrderQuantity},
		risk.MaxOrderNotional{Limit: c.MaxOrderNotional},
		risk.MaxPositionQuantity{Limit: c.MaxPosition},
		risk.PriceBand{Percent: c.PriceBandPercent},
		risk.MaxDailyLoss{Limit: c.MaxDailyLoss},
		risk.MaxOrdersPerDay{Limit: c.MaxOrdersPerDay},
	}
}

func (c Config) policy() stoploss.Policy {
	return stoploss.Policy{StopPercent: c.StopPercent, TrailPercent: c.TrailPercent, TakeProfitPercent: c.TakeProfitPercent}
}

// fingerprint identifies what a database's run was started with: a restart
// must trade the same market with the same rules, or the replay that rebuilds
// the paper broker would not be the market the saved orders met.
func (c Config) fingerprint() string {
	return fmt.Sprint("seed=", c.Seed, " symbol=", c.Symbol, " start=", c.StartPrice, " cash=", c.StartCash,
		" qty=", c.Quantity, " step=", c.MaxStepCents, " ma=", c.Fast, "/", c.Slow, " offset=", c.EntryOffset,
		" reprice=", c.RepriceAfter, " fee=", c.FeeBps, "/", c.MinFee,
		" risk=", c.MaxOrderQuantity, "/", c.MaxOrderNotional, "/", c.MaxPosition, "/", c.MaxDailyLoss, "/",
		c.PriceBandPercent, "/", c.MaxOrdersPerDay,
		" stop=", c.StopPercent, "/", c.TrailPercent, "/", c.TakeProfitPercent)
}

// Summary is the outcome of a run. Money and quantities are decimals.
type Summary struct {
	Symbol string
	Seed   uint64
	Steps  int
	// ResumedFrom is the step a restarted run found saved (0: a fresh run).
	ResumedFrom    int
	OrdersPlaced   int // orders that reached the broker, replacements and protective orders included
	OrdersReplaced int
	OrdersRefused  int            // refused by the risk engine, nothing sent
	RefusedBy      map[string]int // refusals per risk rule (an order may break several)
	RiskState      string         // the engine's trading state at the end
	Fills          int
	NetFilled      decimal.Decimal // bought less sold, over every fill
	Position       decimal.Decimal
	AvgCost        decimal.Decimal
	LastPrice      decimal.Decimal
	Fees           decimal.Decimal
	Realized       decimal.Decimal // net of fees
	Unrealized     decimal.Decimal
	StartCash      decimal.Decimal
	Cash           decimal.Decimal
	Equity         decimal.Decimal
	Stops          stoploss.Totals // what the supervisor did
}

// epoch is the simulated time of step 0; each step is one minute.
var epoch = time.Date(2026, 1, 5, 14, 30, 0, 0, time.UTC)

// bot trades one symbol on a paper broker through the order tracker, with
// the risk engine as its pre-trade checker and the stop-loss supervisor
// protecting every position.
type bot struct {
	cfg      Config
	out      io.Writer
	in       broker.Instrument
	now      time.Time // the simulated clock everything reads
	broker   *paper.Broker
	engine   *risk.Engine
	pnl      *dailyPnL
	feed     *walk
	strategy *crossover

	// The books: attached to the database's stores, or to scratch memory
	// stores while a restart replays the market (see run.go).
	tracker     *order.Tracker
	supervisor  *stoploss.Supervisor
	protections stoploss.Store

	entry        string // client order id of the working entry, "" if none
	entrySince   int    // the step the entry was placed or last moved
	haltedByLoss bool   // the daily loss halted the engine; a new day resets it
	replacements int
	refusals     int
	refusedBy    map[string]int
	stopTotals   stoploss.Totals // of supervisors already detached
	replayed     *replayed       // the scratch books of a restart's replay, until checked
}

func newBot(cfg Config, out io.Writer) (*bot, error) {
	bt := &bot{cfg: cfg, out: out, strategy: newCrossover(cfg.Fast, cfg.Slow), now: epoch,
		in:        broker.Instrument{Symbol: cfg.Symbol, AssetClass: assetClass(cfg.Symbol)},
		feed:      newWalk(cfg.Seed, cfg.StartPrice, cfg.MaxStepCents),
		refusedBy: map[string]int{}}
	var err error
	bt.broker, err = paper.New(paper.Config{Cash: cfg.StartCash, FeeBps: cfg.FeeBps, MinFee: cfg.MinFee,
		Seed: cfg.Seed, Clock: botClock{bt}})
	if err != nil {
		return nil, err
	}
	if err := bt.broker.SetPrice(cfg.Symbol, bt.feed.price); err != nil {
		return nil, err
	}
	bt.pnl = &dailyPnL{broker: bt.broker, symbol: cfg.Symbol}
	bt.pnl.roll(bt.now)
	bt.engine, err = risk.NewEngine(risk.Config{
		Rules: cfg.riskRules(), Positions: bt.broker, OpenOrders: bt.broker, Account: bt.broker,
		MarketData: bt.broker, PnL: bt.pnl,
		// The paper market has no sessions: the trading day is the UTC day.
		Location: time.UTC, MaxQuoteAge: 2 * time.Minute, Clock: botClock{bt},
	})
	if err != nil {
		return nil, err
	}
	return bt, nil
}

// attach builds the tracker and the supervisor on the given stores.
func (bt *bot) attach(orders order.Store, protections stoploss.Store, lock stoploss.Lock) error {
	tracker, err := order.NewTracker(order.Config{Broker: bt.broker, Store: orders, Checker: bt.engine,
		Account: account, Clock: botClock{bt}})
	if err != nil {
		return err
	}
	sup, err := stoploss.New(stoploss.Config{
		Account: account, Broker: bt.broker, Orders: tracker, Store: protections, Lock: lock,
		Clock: botClock{bt}, Switch: bt.engine, EscalateTo: risk.Halted, DefaultPolicy: bt.cfg.policy(),
		VerifyInterval: 0, // every sweep: the paper broker is cheap, and a restart then sweeps exactly as before
	})
	if err != nil {
		return err
	}
	bt.tracker, bt.supervisor, bt.protections = tracker, sup, protections
	return nil
}

// detach closes the supervisor and keeps its totals.
func (bt *bot) detach() {
	if bt.supervisor == nil {
		return
	}
	bt.supervisor.Close()
	bt.stopTotals = bt.stopTotals.Add(bt.supervisor.Totals())
	bt.tracker, bt.supervisor, bt.protections = nil, nil, nil
}

func (bt *bot) totals() stoploss.Totals {
	if bt.supervisor == nil {
		return bt.stopTotals
	}
	return bt.stopTotals.Add(bt.supervisor.Totals())
}

// botClock is the simulated clock every part reads. The bot moves it step
// by step and drives Sweep itself, so a timer (which nothing here waits on)
// fires at once.
type botClock struct{ bt *bot }

func (c botClock) Now() time.Time { return c.bt.now }

func (c botClock) NewTimer(d time.Duration) clock.Timer {
	fired := make(chan time.Time, 1)
	fired <- c.bt.now.Add(d)
	return firedTimer(fired)
}

// firedTimer is a timer that has already fired.
type firedTimer <-chan time.Time

func (t firedTimer) C() <-chan time.Time { return t }
func (firedTimer) Stop() bool            { return false }

// dailyPnL is the risk engine's P&L source: the symbol's P&L since the start
// of the simulated UTC day, from the paper broker.
type dailyPnL struct {
	broker                 *paper.Broker
	symbol                 string
	day                    time.Time
	realized0, unrealized0 decimal.Decimal
}

// roll starts a new day when now is in one.
func (p *dailyPnL) roll(now time.Time) bool {
	day := now.UTC().Truncate(24 * time.Hour)
	if day.Equal(p.day) {
		return false
	}
	p.day = day
	p.realized0, p.unrealized0 = p.broker.PnL(p.symbol)
	return true
}

// DailyPnL implements risk.PnLSource.
func (p *dailyPnL) DailyPnL(_ context.Context, dayStart time.Time) (risk.PnL, error) {
	if !dayStart.Equal(p.day) {
		return risk.PnL{}, &errors.RiskError{Rule: "max daily loss", Kind: errors.ErrRiskDataUnavailable,
			Reason: fmt.Sprintf("no P&L recorded for the day starting %s", dayStart)}
	}
	realized, unrealized := p.broker.PnL(p.symbol)
	return risk.PnL{Realized: realized.Sub(p.realized0), Unrealized: unrealized.Sub(p.unrealized0)}, nil
}

func assetClass(symbol string) broker.AssetClass {
	if strings.Contains(symbol, "-") {
		return broker.Crypto
	}
	return broker.Equity
}

// step moves the market to price, lets the tracker and the supervisor catch
// up with it, and acts on the strategy's signal.
func (bt *bot) step(ctx context.Context, i int, price decimal.Decimal) (signalKind, error) {
	bt.now = epoch.Add(time.Duration(i) * time.Minute)
	if err := bt.newDay(ctx); err != nil {
		return hold, err
	}
	if err := bt.broker.SetPrice(bt.in.Symbol, price); err != nil {
		return hold, err
	}
	if _, err := bt.tracker.Reconcile(ctx); err != nil {
		return hold, fmt.Errorf("reconcile: %w", err)
	}
	if err := bt.sweep(ctx); err != nil {
		return hold, err
	}
	if err := bt.forgetFinishedEntry(ctx); err != nil {
		return hold, err
	}
	sig := bt.strategy.next(price)
	var err error
	switch {
	case sig == goLong:
		err = bt.enter(ctx, i, price)
	case sig == goFlat:
		err = bt.exit(ctx, i)
	case bt.entry != "" && i-bt.entrySince >= bt.cfg.RepriceAfter:
		err = bt.reprice(ctx, i, price)
	}
	if err != nil {
		return sig, err
	}
	// An order that filled at placement gets its stop within the step.
	_, err = bt.supervisor.HandleUpdates(ctx)
	return sig, err
}

// newDay resets the daily P&L and lifts a halt the daily loss caused: the
// bot is the host that decides a loss limit is per day.
func (bt *bot) newDay(ctx context.Context) error {
	if !bt.pnl.roll(bt.now) || !bt.haltedByLoss {
		return nil
	}
	bt.haltedByLoss = false
	if st, _ := bt.engine.State(); st != risk.Halted {
		return nil
	}
	return bt.engine.SetState(ctx, risk.Active, "a new trading day")
}

// sweep runs the supervisor's periodic monitor. A sweep skipped because
// another process holds the account's lease fails the run: two bots on one
// database would trade against each other.
func (bt *bot) sweep(ctx context.Context) error {
	rep, err := bt.supervisor.Sweep(ctx)
	if err != nil {
		return fmt.Errorf("sweep: %w", err)
	}
	if rep.Skipped {
		return &errors.StopLossError{Account: account, Kind: errors.ErrConfiguration,
			Reason: "another supervisor holds the account's lease in this database: another paperbot runs on it, " +
				"or one was killed less than the lease's expiry (15 s) ago"}
	}
	return nil
}

// forgetFinishedEntry clears the working entry once it is no longer working.
func (bt *bot) forgetFinishedEntry(ctx context.Context) error {
	if bt.entry == "" {
		return nil
	}
	o, err := bt.tracker.ByClientOrderID(ctx, bt.entry)
	if err != nil {
		return err
	}
	if o.Terminal() {
		bt.entry = ""
	}
	return nil
}

// enter places a limit buy just below the price, unless already long or
// entering. A refusal by the risk engine is counted, not an error.
func (bt *bot) enter(ctx context.Context, i int, price decimal.Decimal) error {
	held, _, err := bt.position(ctx)
	if err != nil || bt.entry != "" || !held.IsZero() {
		return err
	}
	o, err := bt.tracker.Submit(ctx, order.Request{OrderRequest: bt.entryRequest(i, price)})
	if bt.refused(err) {
		return nil
	}
	if err != nil {
		return err
	}
	bt.entry, bt.entrySince = o.ClientOrderID, i
	return nil
}

// reprice moves an entry that waited too long to just below the price.
func (bt *bot) reprice(ctx context.Context, i int, price decimal.Decimal) error {
	old, err := bt.tracker.ByClientOrderID(ctx, bt.entry)
	if err != nil {
		return err
	}
	o, err := bt.tracker.Replace(ctx, old.LocalID, bt.entryRequest(i, price))
	switch {
	case errors.Is(err, errors.ErrOrderNotCancelable):
		bt.entry = "" // it filled meanwhile
		return nil
	case bt.refused(err):
		bt.entrySince = i // the old entry keeps working; try again later
		return nil
	case err != nil:
		return err
	}
	bt.replacements++
	bt.entry, bt.entrySince = o.ClientOrderID, i
	return nil
}

// exit cancels a working entry and closes the position through the
// supervisor, which cancels the protective stop first (a broker holds the
// shares for it) and never closes twice.
func (bt *bot) exit(ctx context.Context, i int) error {
	if bt.entry != "" {
		o, err := bt.tracker.ByClientOrderID(ctx, bt.entry)
		if err != nil {
			return err
		}
		if _, err := bt.tracker.Cancel(ctx, o.LocalID); err != nil && !errors.Is(err, errors.ErrOrderNotCancelable) {
			return err
		}
		bt.entry = ""
	}
	held, _, err := bt.position(ctx)
	if err != nil || !held.IsPositive() {
		return err
	}
	if _, err := bt.supervisor.HandleUpdates(ctx); err != nil {
		return err
	}
	_, err = bt.supervisor.Exit(ctx, bt.in.Symbol)
	if !errors.Is(err, errors.ErrInvalidOrder) {
		return err
	}
	// Not protected (it cannot happen while the supervisor works): sell
	// through the risk engine like any other order.
	_, err = bt.tracker.Submit(ctx, order.Request{OrderRequest: broker.OrderRequest{
		ClientOrderID: bt.clientOrderID(i, "exit"), Instrument: bt.in, Side: broker.Sell,
		Type: broker.Market, Quantity: held, TimeInForce: broker.Day,
	}})
	if bt.refused(err) {
		return nil
	}
	return err
}

// refused counts a risk refusal by rule and reports whether err is one.
func (bt *bot) refused(err error) bool {
	rules := riskRulesIn(err)
	if len(rules) == 0 {
		return false
	}
	bt.refusals++
	for _, r := range rules {
		bt.refusedBy[r]++
		if r == (risk.MaxDailyLoss{}).Name() {
			bt.haltedByLoss = true
		}
	}
	return true
}

// riskRulesIn returns the names of the rules in every *errors.RiskError err
// holds (a refusal by several rules joins several).
func riskRulesIn(err error) []string {
	if err == nil {
		return nil
	}
	var names []string
	if re, ok := err.(*errors.RiskError); ok {
		name := re.Rule
		if name == "" {
			name = re.Kind.Error()
		}
		names = append(names, name)
	}
	switch u := err.(type) {
	case interface{ Unwrap() []error }:
		for _, e := range u.Unwrap() {
			names = append(names, riskRulesIn(e)...)
		}
	case interface{ Unwrap() error }:
		names = append(names, riskRulesIn(u.Unwrap())...)
	}
	return names
}

func (bt *bot) entryRequest(i int, price decimal.Decimal) broker.OrderRequest {
	limit := decimal.Max(price.Sub(bt.cfg.EntryOffset), decimal.New(1, -2))
	return broker.OrderRequest{
		ClientOrderID: bt.clientOrderID(i, "entry"), Instrument: bt.in, Side: broker.Buy,
		Type: broker.Limit, Quantity: bt.cfg.Quantity, LimitPrice: limit, TimeInForce: broker.GTC,
	}
}

// clientOrderID derives the id from the run and the step, so that a rerun
// of the same seed sends the same ids, and a restarted bot too.
func (bt *bot) clientOrderID(step int, what string) string {
	return broker.DeriveClientOrderID("paperbot", bt.in.Symbol, fmt.Sprint(bt.cfg.Seed), fmt.Sprint(step), what)
}

// position returns the signed quantity held and its average cost.
func (bt *bot) position(ctx context.Context) (qty, avgCost decimal.Decimal, err error) {
	positions, err := bt.broker.Positions(ctx)
	if err != nil {
		return decimal.Zero, decimal.Zero, err
	}
	for _, p := range positions {
		if p.Instrument.Symbol == bt.in.Symbol {
			return p.Quantity, p.AvgCost, nil
		}
	}
	return decimal.Zero, decimal.Zero, nil
}

func (bt *bot) progress(ctx context.Context, i int, price decimal.Decimal, sig signalKind) error {
	held, _, err := bt.position(ctx)
	if err != nil {
		return err
	}
	stop := "-"
	if p, found, err := bt.protections.Get(ctx, account, bt.in.Symbol); err != nil {
		return err
	} else if found {
		stop = p.StopPrice.StringFixed(2)
	}
	realized, unrealized := bt.broker.PnL(bt.in.Symbol)
	_, err = fmt.Fprintf(bt.out, "step %6d  price %9s  signal %-7s  position %6s  stop %8s  refused %3d  realized %10s  unrealized %9s\n",
		i, price.StringFixed(2), sig, held, stop, bt.refusals, realized.StringFixed(2), unrealized.StringFixed(2))
	return err
}

// summary reads the run's outcome back from the tracker's books and the
// broker.
func (bt *bot) summary(ctx context.Context, steps, resumedFrom int) (Summary, error) {
	st, _ := bt.engine.State()
	s := Summary{Symbol: bt.in.Symbol, Seed: bt.cfg.Seed, Steps: steps, ResumedFrom: resumedFrom,
		OrdersRefused: bt.refusals, RefusedBy: map[string]int{}, RiskState: st.String(),
		StartCash: bt.cfg.StartCash, Stops: bt.totals()}
	for r, n := range bt.refusedBy {
		s.RefusedBy[r] = n
	}
	orders, err := bt.tracker.BySymbol(ctx, bt.in.Symbol)
	if err != nil {
		return s, err
	}
	for _, o := range orders {
		if o.BrokerOrderID == "" {
			continue // refused before it was sent
		}
		s.OrdersPlaced++
		if o.Replaces != "" {
			s.OrdersReplaced++
		}
		s.Fills += len(o.Fills)
		s.Fees = s.Fees.Add(o.Fees)
		if o.Side.IsBuy() {
			s.NetFilled = s.NetFilled.Add(o.FilledQuantity)
		} else {
			s.NetFilled = s.NetFilled.Sub(o.FilledQuantity)
		}
	}
	if s.Position, s.AvgCost, err = bt.position(ctx); err != nil {
		return s, err
	}
	s.LastPrice, _ = bt.broker.Price(bt.in.Symbol)
	s.Realized, s.Unrealized = bt.broker.PnL(bt.in.Symbol)
	acct, err := bt.broker.Account(ctx)
	if err != nil {
		return s, err
	}
	s.Cash, s.Equity = acct.Cash, acct.Equity
	return s, nil
}

// sortedRules lists the refusal counts by rule name.
func sortedRules(m map[string]int) []string {
	var rows []string
	for r, n := range m {
		rows = append(rows, fmt.Sprintf("%s: %d", r, n))
	}
	sort.Strings(rows)
	return rows
}
