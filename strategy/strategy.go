// Package strategy declares what a trading strategy is to arbion: ordinary
// Go code that receives closed bars and places orders through a [Trader].
// The backtest package and the live runner call a Strategy the same way, so
// the value that was backtested is the value that trades, unchanged.
//
// Walk-forward safety is in the shape of the API: a strategy is handed each
// bar only after the bar has closed, and [Trader.History] returns closed bars
// only, so no strategy can read a bar before its close.
package strategy

import (
	"context"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/order"
)

// Strategy decides on orders from bars.
type Strategy interface {
	// OnBar is called once per closed bar, bars of one symbol in time order,
	// after the bar's close. It places, replaces or cancels orders through
	// t; an error stops the run that called it.
	OnBar(ctx context.Context, bar broker.Bar, t Trader) error
}

// Func adapts a function to [Strategy].
type Func func(ctx context.Context, bar broker.Bar, t Trader) error

// OnBar calls f.
func (f Func) OnBar(ctx context.Context, bar broker.Bar, t Trader) error { return f(ctx, bar, t) }

// Trader is what a strategy may do: the same in a backtest and live. Orders
// go through the order tracker, the risk engine and the stop-loss supervisor
// of whoever runs the strategy.
type Trader interface {
	// Submit places an order through the tracker (risk checked, persisted
	// before it is sent, settled if its answer is lost).
	Submit(ctx context.Context, req order.Request) (order.Order, error)
	// Cancel cancels the tracked order localID.
	Cancel(ctx context.Context, localID string) (order.Order, error)
	// Open returns the tracked orders that are not terminal.
	Open(ctx context.Context) ([]order.Order, error)
	// Positions returns the account's positions as the broker reports them.
	Positions(ctx context.Context) ([]broker.Position, error)
	// Account returns the account's balances.
	Account(ctx context.Context) (broker.Account, error)
	// History returns up to n of symbol's most recent closed bars of the
	// interval being run, oldest first; fewer at the start of a run.
	History(symbol string, n int) []broker.Bar
}
