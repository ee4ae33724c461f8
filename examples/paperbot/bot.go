package main

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/live"
	"github.com/arbiontrader/arbion/metrics"
	"github.com/arbiontrader/arbion/order"
	"github.com/arbiontrader/arbion/paper"
	"github.com/arbiontrader/arbion/risk"
	"github.com/arbiontrader/arbion/stoploss"
	"github.com/arbiontrader/arbion/strategy/crossover"
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
	// LeaseTTL is the account lease's lifetime: a bot killed without a
	// shutdown holds the database for this long.
	LeaseTTL time.Duration

	StartPrice   decimal.Decimal
	StartCash    decimal.Decimal
	Quantity     decimal.Decimal // bought on each entry
	MaxStepCents int64           // the random walk's largest move per step
	Fast, Slow   int             // moving-average windows, in steps
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

	// serve, when set, is handed the runner once it is built and the
	// refusals by rule so far (main serves them over HTTP).
	serve func(r *live.Runner, refused func() map[string]int)
	// afterStep, when set, is called after each traded step (tests look at
	// the bot's books there).
	afterStep func(ctx context.Context, bt *bot, step int) error
}

func defaultConfig() Config {
	return Config{
		Seed: 1, Steps: 2000, Symbol: "AAPL", ProgressEvery: 250, DB: ":memory:", LeaseTTL: 15 * time.Second,
		StartPrice: decimal.NewFromInt(100), StartCash: decimal.NewFromInt(100_000),
		Quantity: decimal.NewFromInt(50), MaxStepCents: 25, Fast: 5, Slow: 20,
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
	if c.Steps < 1 {
		problems = append(problems, fmt.Sprintf("steps must be at least 1, got %d", c.Steps))
	}
	if c.Fast < 1 || c.Slow <= c.Fast {
		problems = append(problems, fmt.Sprintf("windows must be 1 <= fast < slow, got %d and %d", c.Fast, c.Slow))
	}
	if !c.Quantity.IsPositive() || !c.StartPrice.IsPositive() || c.MaxStepCents < 0 {
		problems = append(problems, "quantity and start price must be positive, the step not negative")
	}
	if c.ProgressEvery < 0 {
		problems = append(problems, "every may not be negative")
	}
	if c.DB == "" {
		problems = append(problems, `a database file is required (or ":memory:")`)
	}
	if c.LeaseTTL <= 0 {
		problems = append(problems, "the lease TTL must be positive")
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
	return fmt.Sprint("v2 seed=", c.Seed, " symbol=", c.Symbol, " start=", c.StartPrice, " cash=", c.StartCash,
		" qty=", c.Quantity, " step=", c.MaxStepCents, " ma=", c.Fast, "/", c.Slow, " fee=", c.FeeBps, "/", c.MinFee,
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

// bot trades one symbol on a paper broker through a live.Runner (order
// tracker, risk engine, stop-loss supervisor, daily P&L) driven step by
// step on a simulated clock, with the crossover strategy fed one-minute
// bars.
type bot struct {
	cfg    Config
	out    io.Writer
	in     broker.Instrument
	clk    *simClock
	broker *paper.Broker
	feed   *walk
	bars   *lastBar
	runner *live.Runner
	meter  *refusals

	// The books: the database's stores, or scratch memory stores while a
	// restart replays the market (see run.go).
	orders      *swapOrders
	protections *swapProtections
}

func newBot(cfg Config, out io.Writer, leader order.Leader) (*bot, error) {
	bt := &bot{cfg: cfg, out: out, clk: &simClock{now: epoch},
		in:          broker.Instrument{Symbol: cfg.Symbol, AssetClass: assetClass(cfg.Symbol)},
		feed:        newWalk(cfg.Seed, cfg.StartPrice, cfg.MaxStepCents),
		orders:      newSwapOrders(order.NewMemoryStore()),
		protections: newSwapProtections(stoploss.NewMemoryStore()),
	}
	bt.bars = &lastBar{}
	m, err := metrics.New(nil) // the example counts refusals; a host passes its MeterProvider
	if err != nil {
		return nil, err
	}
	bt.meter = &refusals{Metrics: m, byRule: map[string]int{}}
	bt.broker, err = paper.New(paper.Config{Cash: cfg.StartCash, FeeBps: cfg.FeeBps, MinFee: cfg.MinFee,
		Seed: cfg.Seed, Clock: bt.clk})
	if err != nil {
		return nil, err
	}
	if err := bt.broker.SetPrice(cfg.Symbol, bt.feed.price); err != nil {
		return nil, err
	}
	strat, err := crossover.New(crossover.Config{Instrument: bt.in, Fast: cfg.Fast, Slow: cfg.Slow, Quantity: cfg.Quantity})
	if err != nil {
		return nil, err
	}
	bt.runner, err = live.New(live.Config{
		Account: account, Broker: bt.broker, Orders: bt.orders, Protections: bt.protections, Leader: leader,
		Rules: cfg.riskRules(), Policy: cfg.policy(), Clock: bt.clk, Metrics: bt.meter,
		// The paper market has no sessions: the trading day is the UTC day.
		Location: time.UTC, MaxQuoteAge: 2 * time.Minute,
		Strategies: []live.Strategy{{Symbol: cfg.Symbol, Interval: broker.OneMinute, Strategy: strat, History: cfg.Slow + 1}},
		Bars:       bt.bars,
		// Verify on every sweep: the paper broker is cheap, and a restart then
		// sweeps exactly as before.
		VerifyInterval: 0,
	})
	if err != nil {
		return nil, err
	}
	return bt, nil
}

func assetClass(symbol string) broker.AssetClass {
	if strings.Contains(symbol, "-") {
		return broker.Crypto
	}
	return broker.Equity
}

// step moves the market to its next price at step i (one simulated minute
// later), closes that minute's bar, and runs one runner step: reconcile,
// sweep, the strategy on the closed bar, the stops its orders need.
func (bt *bot) step(ctx context.Context, i int) error {
	open := bt.feed.price
	price := bt.feed.next()
	bt.clk.set(epoch.Add(time.Duration(i) * time.Minute))
	bt.bars.set(broker.Bar{Symbol: bt.in.Symbol, Interval: broker.OneMinute,
		Start: epoch.Add(time.Duration(i-1) * time.Minute), Open: open, Close: price,
		High: decimal.Max(open, price), Low: decimal.Min(open, price), Volume: bt.cfg.Quantity})
	if err := bt.broker.SetPrice(bt.in.Symbol, price); err != nil {
		return err
	}
	_, err := bt.runner.Step(ctx)
	return err
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

func (bt *bot) progress(ctx context.Context, i int) error {
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
	st, _ := bt.runner.Engine().State()
	_, err = fmt.Fprintf(bt.out, "step %6d  price %9s  position %6s  stop %8s  refused %3d  %-11s realized %10s  unrealized %9s\n",
		i, bt.feed.price.StringFixed(2), held, stop, bt.meter.total(), st, realized.StringFixed(2), unrealized.StringFixed(2))
	return err
}

// summary reads the run's outcome back from the tracker's books and the
// broker (once, at the end: it reads the symbol's whole history).
func (bt *bot) summary(ctx context.Context, steps, resumedFrom int) (Summary, error) {
	st, _ := bt.runner.Engine().State()
	s := Summary{Symbol: bt.in.Symbol, Seed: bt.cfg.Seed, Steps: steps, ResumedFrom: resumedFrom,
		OrdersRefused: bt.meter.total(), RefusedBy: bt.meter.rules(), RiskState: st.String(),
		StartCash: bt.cfg.StartCash, Stops: bt.runner.Supervisor().Totals()}
	orders, err := bt.runner.Tracker().BySymbol(ctx, bt.in.Symbol)
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

// refusals is the runner's metrics, counting the risk refusals by rule for
// the summary as well.
type refusals struct {
	*metrics.Metrics
	mu     sync.Mutex // the HTTP server reads them while the bot trades
	byRule map[string]int
	n      int
}

// Refused counts one refused order and passes it on.
func (r *refusals) Refused(ctx context.Context, rules []string) {
	r.mu.Lock()
	r.n++
	for _, name := range rules {
		r.byRule[name]++
	}
	r.mu.Unlock()
	r.Metrics.Refused(ctx, rules)
}

func (r *refusals) total() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n
}

func (r *refusals) rules() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]int, len(r.byRule))
	for k, v := range r.byRule {
		out[k] = v
	}
	return out
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
