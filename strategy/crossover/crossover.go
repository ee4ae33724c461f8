// Package crossover is a moving-average crossover strategy, ready to run:
// examples/backtest and `arbion backtest` replay it over recorded bars and
// examples/paperbot trades it live on the paper broker, the same value
// unchanged, through [strategy.Trader]. It is also a model of a strategy
// that survives restarts: it keeps no state of its own.
//
// On each closed bar it compares the mean close of the last Fast bars with
// that of the last Slow bars, both over the bars [strategy.Trader.History]
// returns (closed bars only). When the fast mean crosses above the slow one
// and the account holds none of the symbol, it buys Quantity at market; when
// it crosses below and the account is long, it closes the position. It keeps
// no state of its own: the signal is recomputed from History and the
// position read from the Trader, so a restarted bot decides as the one that
// stopped would have.
package crossover

import (
	"context"
	"fmt"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/order"
	"github.com/arbiontrader/arbion/strategy"
	"github.com/shopspring/decimal"
)

// MeanPlaces is the number of decimal places a moving average is rounded
// to: enough that a cross is never decided by rounding of cent prices.
const MeanPlaces = 8

// Config is the strategy's parameters.
type Config struct {
	// Instrument is what is traded; bars of other symbols are ignored.
	Instrument broker.Instrument
	// Fast and Slow are the windows, in bars: 1 <= Fast < Slow.
	Fast, Slow int
	// Quantity is bought on each entry; > 0.
	Quantity decimal.Decimal
	// StopLossPercent, when positive, asks the stop-loss supervisor for a
	// stop this percent below the entry bar's close (Request.StopLossPrice).
	StopLossPercent decimal.Decimal
	// TakeProfitPercent, when positive, asks for a take-profit this percent
	// above the entry bar's close (Request.TakeProfitPrice).
	TakeProfitPercent decimal.Decimal
}

// Exiter is implemented by a Trader whose positions are guarded by a
// stop-loss supervisor: brokers reserve a protected position's shares for
// its resting stop and refuse a plain sell, so the strategy closes through
// Exit (stoploss.Supervisor.Exit) when the Trader offers it, and with a
// market sell through Submit otherwise.
type Exiter interface {
	Exit(ctx context.Context, symbol string) error
}

// Strategy is the crossover; create it with [New]. It implements
// [strategy.Strategy].
type Strategy struct {
	cfg Config
}

var _ strategy.Strategy = (*Strategy)(nil)

// New validates cfg and returns the strategy. A bad cfg returns an error
// matching errors.ErrConfiguration.
func New(cfg Config) (*Strategy, error) {
	bad := func(format string, args ...any) (*Strategy, error) {
		return nil, &errors.BrokerError{Op: "crossover config", Kind: errors.ErrConfiguration,
			Message: fmt.Sprintf(format, args...)}
	}
	switch {
	case cfg.Instrument.Symbol == "" || !cfg.Instrument.AssetClass.Valid():
		return bad("instrument %q of asset class %s", cfg.Instrument.Symbol, cfg.Instrument.AssetClass)
	case cfg.Fast < 1 || cfg.Slow <= cfg.Fast:
		return bad("windows must be 1 <= fast < slow, got %d and %d", cfg.Fast, cfg.Slow)
	case !cfg.Quantity.IsPositive():
		return bad("quantity must be positive, got %s", cfg.Quantity)
	case cfg.StopLossPercent.IsNegative() || cfg.StopLossPercent.GreaterThanOrEqual(decimal.NewFromInt(100)):
		return bad("stop-loss percent must be within [0, 100), got %s", cfg.StopLossPercent)
	case cfg.TakeProfitPercent.IsNegative():
		return bad("take-profit percent may not be negative, got %s", cfg.TakeProfitPercent)
	}
	return &Strategy{cfg: cfg}, nil
}

// Signal is what the averages say on a bar.
type Signal int

// The signals.
const (
	Hold   Signal = iota // no cross on this bar (or too few bars yet)
	GoLong               // the fast mean crossed above the slow one
	GoFlat               // the fast mean crossed below the slow one
)

// String returns "hold", "go long" or "go flat".
func (s Signal) String() string {
	switch s {
	case GoLong:
		return "go long"
	case GoFlat:
		return "go flat"
	}
	return "hold"
}

// SignalOf returns the signal of the last of bars (oldest first) with the
// given windows: a cross between the bar before it and it. It needs
// slow+1 bars and says Hold with fewer.
func SignalOf(bars []broker.Bar, fast, slow int) Signal {
	n := len(bars)
	if fast < 1 || slow <= fast || n < slow+1 {
		return Hold
	}
	was := above(bars[n-1-slow:n-1], fast)
	is := above(bars[n-slow:], fast)
	switch {
	case is == was:
		return Hold
	case is:
		return GoLong
	default:
		return GoFlat
	}
}

// above reports whether the mean close of the last fast of window is above
// the mean close of all of it.
func above(window []broker.Bar, fast int) bool {
	return mean(window[len(window)-fast:]).GreaterThan(mean(window))
}

func mean(bars []broker.Bar) decimal.Decimal {
	sum := decimal.Zero
	for _, b := range bars {
		sum = sum.Add(b.Close)
	}
	return sum.DivRound(decimal.NewFromInt(int64(len(bars))), MeanPlaces)
}

// OnBar implements [strategy.Strategy].
func (s *Strategy) OnBar(ctx context.Context, bar broker.Bar, t strategy.Trader) error {
	sym := s.cfg.Instrument.Symbol
	if bar.Symbol != sym {
		return nil
	}
	sig := SignalOf(t.History(sym, s.cfg.Slow+1), s.cfg.Fast, s.cfg.Slow)
	if sig == Hold {
		return nil
	}
	held, err := s.held(ctx, t)
	if err != nil {
		return err
	}
	if sig == GoLong {
		if !held.IsZero() {
			return nil
		}
		if working, err := s.working(ctx, t); err != nil || working {
			return err
		}
		_, err := t.Submit(ctx, s.entry(bar))
		return refusedIsNoError(err)
	}
	if !held.IsPositive() {
		return nil
	}
	if ex, ok := t.(Exiter); ok {
		return ex.Exit(ctx, sym)
	}
	_, err = t.Submit(ctx, order.Request{OrderRequest: broker.OrderRequest{
		ClientOrderID: clientOrderID(bar, "exit"), Instrument: s.cfg.Instrument, Side: broker.Sell,
		Type: broker.Market, Quantity: held, TimeInForce: broker.Day,
	}})
	return refusedIsNoError(err)
}

// entry is the market buy placed on a GoLong bar. Its client order id is
// derived from the symbol and the bar, so a bot that runs the same bar twice
// (a restart) sends one order.
func (s *Strategy) entry(bar broker.Bar) order.Request {
	req := order.Request{OrderRequest: broker.OrderRequest{
		ClientOrderID: clientOrderID(bar, "entry"), Instrument: s.cfg.Instrument, Side: broker.Buy,
		Type: broker.Market, Quantity: s.cfg.Quantity, TimeInForce: broker.Day,
	}}
	hundred := decimal.NewFromInt(100)
	if p := s.cfg.StopLossPercent; p.IsPositive() {
		req.StopLossPrice = bar.Close.Mul(hundred.Sub(p)).Div(hundred).RoundDown(2)
	}
	if p := s.cfg.TakeProfitPercent; p.IsPositive() {
		req.TakeProfitPrice = bar.Close.Mul(hundred.Add(p)).Div(hundred).RoundUp(2)
	}
	return req
}

func clientOrderID(bar broker.Bar, what string) string {
	return broker.DeriveClientOrderID("crossover", bar.Symbol, string(bar.Interval),
		bar.Start.UTC().Format("2006-01-02T15:04:05Z"), what)
}

// held is the signed quantity of the symbol the account holds.
func (s *Strategy) held(ctx context.Context, t strategy.Trader) (decimal.Decimal, error) {
	positions, err := t.Positions(ctx)
	if err != nil {
		return decimal.Zero, err
	}
	for _, p := range positions {
		if p.Instrument.Symbol == s.cfg.Instrument.Symbol {
			return p.Quantity, nil
		}
	}
	return decimal.Zero, nil
}

// working reports whether a non-protective buy of the symbol is still
// working (an entry placed on an earlier bar that has not filled).
func (s *Strategy) working(ctx context.Context, t strategy.Trader) (bool, error) {
	open, err := t.Open(ctx)
	if err != nil {
		return false, err
	}
	for _, o := range open {
		if o.Instrument.Symbol == s.cfg.Instrument.Symbol && o.Side.IsBuy() && !o.Protective {
			return true, nil
		}
	}
	return false, nil
}

// refusedIsNoError treats a refusal by the risk engine as a decision, not a
// failure: the order was not sent and the run goes on.
func refusedIsNoError(err error) error {
	var re *errors.RiskError
	if errors.As(err, &re) {
		return nil
	}
	return err
}
