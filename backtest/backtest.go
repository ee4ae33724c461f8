// Package backtest replays bars through the paper broker with the same
// order tracker, risk engine and stop-loss supervisor a live bot uses, and
// calls the bot's own [strategy.Strategy] after each bar closes. What it
// measures is the code that will trade, not a model of it.
//
// # One bar
//
// For each bar, oldest first, [Backtest.Run]:
//
//  1. sets the clock to the bar's start and replays the bar into the paper
//     broker ([paper.Broker.ApplyBar]): orders placed before it meet it
//     (market orders at its open, stops and limits when its range reaches
//     them; see ApplyBar for the prices);
//  2. sets the clock to the bar's end (the close is now the last price) and
//     lets the tracker reconcile the fills, the supervisor protect new
//     positions and sweep (stops trailed, take-profits and synthetic stops
//     checked against the close, as a polling bot sees quotes: a synthetic
//     stop breached inside a bar but not at its close is not seen, and its
//     market close fills at the next open);
//  3. calls the strategy's OnBar with the bar, through a [strategy.Trader]
//     whose History holds the closed bars only, up to this one;
//  4. marks the account's equity at the close.
//
// An order the strategy places on bar t therefore fills on bar t+1 at the
// earliest, and nothing the strategy can read reflects a bar before its
// close. The clock is driven by the bars' times only (no wall clock), ids
// come from counters and from the strategy, and the report holds no map:
// the same inputs give the same report, byte for byte.
//
// The Trader also offers Exit(ctx, symbol) error, which closes a protected
// position through [stoploss.Supervisor.Exit] (brokers hold a protected
// position's shares for its stop, so a plain sell would be refused).
//
// # The report
//
// [Report] lists every trade (flat to flat), the equity curve at each close,
// total and annualised return, maximum drawdown with its peak and trough,
// the Sharpe ratio, win rate, exposure, fees and buy-and-hold of the same
// bars beside it. Money is decimal throughout; see [Report] for the
// conventions. [Report.WriteText] prints it aligned, [Report.WriteJSON] as
// JSON, [Report.WritePNG] draws the equity curve over the drawdown.
package backtest

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/paper"
	"github.com/arbiontrader/arbion/risk"
	"github.com/arbiontrader/arbion/stoploss"
	"github.com/arbiontrader/arbion/strategy"
	"github.com/shopspring/decimal"
)

// Account names the simulated account in the tracker's records and the
// supervisor's protections.
const Account = "backtest"

// Config is one backtest.
type Config struct {
	// Bars is where the bars come from (a bars.Series, a broker adapter, a
	// paper broker's history). Required.
	Bars broker.BarSource
	// Instrument is what is traded: its bars are replayed. Required.
	Instrument broker.Instrument
	// Interval is the bar length asked of Bars. Required.
	Interval broker.Interval
	// From and To bound the bars replayed: From <= Start < To. Required.
	From, To time.Time
	// Strategy is the code under test. Required.
	Strategy strategy.Strategy
	// Cash is the starting cash; > 0. Required.
	Cash decimal.Decimal
	// Fill is the fill model: slippage and liquidity.
	Fill paper.BarFill
	// FeeBps, MinFee and FeePerOrder are the fees: basis points of each
	// fill's notional, at least MinFee per fill, plus FeePerOrder once per
	// order. Not negative.
	FeeBps, MinFee, FeePerOrder decimal.Decimal
	// AllowShort lets the strategy sell equities short.
	AllowShort bool
	// Rules are the risk engine's rules, checked on every order the
	// strategy submits (the supervisor's protective orders skip them, as
	// live). None: the engine applies only its trading state.
	Rules []risk.Rule
	// Location is the time zone whose midnight starts the trading day for
	// daily rules (MaxDailyLoss, MaxOrdersPerDay); UTC when nil.
	Location *time.Location
	// StopLoss is the supervisor's default policy: every position the
	// strategy opens is protected by it (an order's own StopLossPrice and
	// TakeProfitPrice take precedence, as live). It must define a stop.
	StopLoss stoploss.Policy
	// StopLossMode forces the supervisor's protection mode; ModeAuto (the
	// zero value) chooses native stops, as the paper broker has them.
	StopLossMode stoploss.Mode
	// BarsPerYear annualises returns and the Sharpe ratio: 252 for daily
	// bars of an exchange, 252×6.5 for its hourly bars. Zero takes the
	// calendar count for a market that never closes (365.25 days over the
	// interval), right for crypto and wrong for equities: set it.
	BarsPerYear decimal.Decimal
	// Progress, when set, is called after every ProgressEvery bars (and
	// after the last) with how far the run is.
	Progress      func(Progress)
	ProgressEvery int
}

// Progress is how far a run is.
type Progress struct {
	Bar, Bars int       // bars replayed, of Bars
	Time      time.Time // the close of the last bar replayed
	Equity    decimal.Decimal
}

// Backtest is a validated configuration; create it with [New].
type Backtest struct {
	cfg Config
}

// New validates cfg. A bad cfg returns an error matching
// errors.ErrConfiguration that says every problem.
func New(cfg Config) (*Backtest, error) {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	if cfg.Bars == nil {
		add("Bars is required")
	}
	if cfg.Strategy == nil {
		add("Strategy is required")
	}
	if cfg.Instrument.Symbol == "" || !cfg.Instrument.AssetClass.Valid() {
		add("Instrument %q of asset class %s is not tradable", cfg.Instrument.Symbol, cfg.Instrument.AssetClass)
	}
	if _, ok := cfg.Interval.Duration(); !ok {
		add("Interval %q is unknown", cfg.Interval)
	}
	if cfg.From.IsZero() || !cfg.To.After(cfg.From) {
		add("the range [From, To) is empty or unset")
	}
	if !cfg.Cash.IsPositive() {
		add("Cash %s must be positive", cfg.Cash)
	}
	if cfg.BarsPerYear.IsNegative() {
		add("BarsPerYear %s is negative", cfg.BarsPerYear)
	}
	if cfg.ProgressEvery < 0 {
		add("ProgressEvery %d is negative", cfg.ProgressEvery)
	}
	if len(problems) > 0 {
		return nil, configError(strings.Join(problems, "; "), nil)
	}
	// The broker, the engine and the supervisor validate the rest; build
	// them once now so that a bad fee, rule or policy fails here, not in Run.
	r, err := newRun(cfg, nil)
	if err != nil {
		return nil, err
	}
	r.close()
	return &Backtest{cfg: cfg}, nil
}

func configError(msg string, cause error) error {
	return &errors.BrokerError{Broker: "backtest", Op: "configure", Kind: errors.ErrConfiguration, Message: msg, Err: cause}
}

// Run replays the bars and returns the report. It fails when the bars
// cannot be read or are not one ascending series of the instrument and
// interval, when none are in the range (errors.ErrConfiguration), when the
// strategy's OnBar returns an error, or when the tracker or the supervisor
// fails; the error names the bar. A risk refusal is returned to the
// strategy by Submit and counted in the report; the strategy decides
// whether it stops the run. Each Run starts afresh, so Run may be called again.
func (bt *Backtest) Run(ctx context.Context) (Report, error) {
	cfg := bt.cfg
	series, err := cfg.Bars.Bars(ctx, broker.BarQuery{Symbol: cfg.Instrument.Symbol, Interval: cfg.Interval, From: cfg.From, To: cfg.To})
	if err != nil {
		return Report{}, fmt.Errorf("backtest: reading bars: %w", err)
	}
	if len(series) == 0 {
		return Report{}, configError(fmt.Sprintf("no %s bars of %s in [%s, %s)", cfg.Interval, cfg.Instrument.Symbol,
			cfg.From.Format(time.RFC3339), cfg.To.Format(time.RFC3339)), nil)
	}
	for i, b := range series {
		if b.Symbol != cfg.Instrument.Symbol || b.Interval != cfg.Interval {
			return Report{}, &errors.BrokerError{Broker: "backtest", Op: "bars", Kind: errors.ErrMalformedResponse,
				Message: fmt.Sprintf("bar %d is a %s bar of %s, not of %s %s", i, b.Interval, b.Symbol, cfg.Interval, cfg.Instrument.Symbol)}
		}
	}
	r, err := newRun(cfg, series)
	if err != nil {
		return Report{}, err
	}
	defer r.close()
	every := cfg.ProgressEvery
	for i := range series {
		if err := ctx.Err(); err != nil {
			return Report{}, err
		}
		if err := r.step(ctx, i); err != nil {
			return Report{}, fmt.Errorf("backtest: bar %d (%s): %w", i, series[i].Start.Format(time.RFC3339), err)
		}
		if cfg.Progress != nil && (every > 0 && (i+1)%every == 0 || i == len(series)-1) {
			cfg.Progress(Progress{Bar: i + 1, Bars: len(series), Time: series[i].End(), Equity: r.points[i].Equity})
		}
	}
	return r.report(ctx), nil
}
