package live_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/clock/clocktest"
	"github.com/arbiontrader/arbion/live"
	"github.com/arbiontrader/arbion/order"
	"github.com/arbiontrader/arbion/paper"
	"github.com/arbiontrader/arbion/risk"
	"github.com/arbiontrader/arbion/stoploss"
	"github.com/arbiontrader/arbion/strategy"
	"github.com/shopspring/decimal"
)

// start is a Monday, 10:00 in New York.
var start = time.Date(2026, 1, 5, 15, 0, 0, 0, time.UTC)

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

// world is one paper account on a fake clock with an outage switch, and
// the bars the strategies see (one per minute, closing at each price set).
type world struct {
	t     *testing.T
	clk   *clocktest.Fake
	paper *paper.Broker
	down  atomic.Bool

	mu   sync.Mutex
	bars []broker.Bar
}

func newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{t: t, clk: clocktest.New(start)}
	var err error
	w.paper, err = paper.New(paper.Config{Clock: w.clk, Faults: paper.Faults{Inject: func(paper.Op) paper.Fault {
		if w.down.Load() {
			return paper.FaultUnavailable
		}
		return paper.NoFault
	}}})
	if err != nil {
		t.Fatal(err)
	}
	w.price("100")
	return w
}

// price moves the clock a minute on, closes that minute's bar at p and sets
// the paper price.
func (w *world) price(p string) {
	w.t.Helper()
	w.mu.Lock()
	w.bars = append(w.bars, broker.Bar{Symbol: "AAPL", Interval: broker.OneMinute, Start: w.clk.Now(),
		Open: dec(p), High: dec(p), Low: dec(p), Close: dec(p), Volume: dec("1")})
	w.mu.Unlock()
	w.clk.Advance(time.Minute)
	if err := w.paper.SetPrice("AAPL", dec(p)); err != nil {
		w.t.Fatal(err)
	}
}

// Bars implements broker.BarSource over the bars set so far.
func (w *world) Bars(_ context.Context, q broker.BarQuery) ([]broker.Bar, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []broker.Bar
	for _, b := range w.bars {
		if b.Symbol == q.Symbol && !b.Start.Before(q.From) && b.Start.Before(q.To) {
			out = append(out, b)
		}
	}
	return out, nil
}

// buyOnce buys 10 AAPL at market on the first bar it sees.
func buyOnce(bought *atomic.Int32) strategy.Strategy {
	return strategy.Func(func(ctx context.Context, bar broker.Bar, t strategy.Trader) error {
		if bought.Add(1) != 1 {
			return nil
		}
		_, err := t.Submit(ctx, order.Request{OrderRequest: broker.OrderRequest{
			ClientOrderID: broker.DeriveClientOrderID("test", bar.Start.String()),
			Instrument:    broker.Instrument{Symbol: "AAPL", AssetClass: broker.Equity},
			Side:          broker.Buy, Type: broker.Market, Quantity: dec("10"), TimeInForce: broker.Day,
		}})
		return err
	})
}

func (w *world) config(orders order.Store, protections stoploss.Store, s strategy.Strategy) live.Config {
	cfg := live.Config{
		Account: "acct", Broker: w.paper, Orders: orders, Protections: protections, Clock: w.clk,
		Location: time.UTC, MaxQuoteAge: 5 * time.Minute,
		Rules:  []risk.Rule{risk.MaxOrderQuantity{Limit: dec("100")}, risk.MaxDailyLoss{Limit: dec("50")}},
		Policy: stoploss.Policy{StopPercent: dec("1")}, Bars: w,
	}
	if s != nil {
		cfg.Strategies = []live.Strategy{{Symbol: "AAPL", Interval: broker.OneMinute, Strategy: s}}
	}
	return cfg
}

func (w *world) position() decimal.Decimal {
	w.t.Helper()
	ps, err := w.paper.Positions(context.Background())
	if err != nil {
		w.t.Fatal(err)
	}
	for _, p := range ps {
		if p.Instrument.Symbol == "AAPL" {
			return p.Quantity
		}
	}
	return decimal.Zero
}

func (w *world) openAtBroker() []broker.Order {
	w.t.Helper()
	os, err := w.paper.OpenOrders(context.Background())
	if err != nil {
		w.t.Fatal(err)
	}
	return os
}
