package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/arbiontrader/arbion/backtest"
	"github.com/arbiontrader/arbion/bars"
	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/clock/clocktest"
	"github.com/arbiontrader/arbion/order"
	"github.com/arbiontrader/arbion/paper"
	"github.com/arbiontrader/arbion/stoploss"
	"github.com/arbiontrader/arbion/strategy/crossover"
	"github.com/google/go-cmp/cmp"
	"github.com/shopspring/decimal"
)

// paperTrader is the plainest live Trader: a tracker on a paper broker fed
// bar by bar.
type paperTrader struct {
	tracker *order.Tracker
	broker  *paper.Broker
	bars    []broker.Bar
}

func (p *paperTrader) Submit(ctx context.Context, req order.Request) (order.Order, error) {
	return p.tracker.Submit(ctx, req)
}
func (p *paperTrader) Cancel(ctx context.Context, id string) (order.Order, error) {
	return p.tracker.Cancel(ctx, id)
}
func (p *paperTrader) Open(ctx context.Context) ([]order.Order, error) { return p.tracker.Open(ctx) }
func (p *paperTrader) Positions(ctx context.Context) ([]broker.Position, error) {
	return p.broker.Positions(ctx)
}
func (p *paperTrader) Account(ctx context.Context) (broker.Account, error) {
	return p.broker.Account(ctx)
}
func (p *paperTrader) History(_ string, n int) []broker.Bar { return p.bars[max(0, len(p.bars)-n):] }

// The crossover trades the bundled series the same in the backtest (with
// the supervisor, its stop too far to trigger) and on a paper broker fed the
// same bars with nothing but a tracker between them.
func TestCrossoverBacktestMatchesPaper(t *testing.T) {
	ctx := context.Background()
	series, err := bars.Read(strings.NewReader(bundled), bars.Options{Symbol: bundledSymbol, Interval: broker.OneDay})
	if err != nil {
		t.Fatal(err)
	}
	series = series[:800]
	inst := broker.Instrument{Symbol: bundledSymbol, AssetClass: broker.Equity}
	strat, err := crossover.New(crossover.Config{Instrument: inst, Fast: 10, Slow: 40, Quantity: decimal.NewFromInt(100)})
	if err != nil {
		t.Fatal(err)
	}
	fill := paper.BarFill{SlippageBps: decimal.NewFromInt(2)}
	src, _ := bars.NewSeries(series...)
	bt, err := backtest.New(backtest.Config{Bars: src, Instrument: inst, Interval: broker.OneDay,
		From: series[0].Start, To: series[len(series)-1].End(), Strategy: strat, Cash: decimal.NewFromInt(100_000),
		Fill: fill, FeeBps: decimal.NewFromInt(1), StopLoss: stoploss.Policy{StopPercent: decimal.NewFromInt(90)}})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := bt.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}

	clk := clocktest.New(series[0].Start)
	pb, err := paper.New(paper.Config{Cash: decimal.NewFromInt(100_000), FeeBps: decimal.NewFromInt(1), Bars: fill, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	tracker, err := order.NewTracker(order.Config{Broker: pb, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	live := &paperTrader{tracker: tracker, broker: pb}
	for _, bar := range series {
		clk.Set(bar.Start)
		if err := pb.ApplyBar(bar); err != nil {
			t.Fatal(err)
		}
		clk.Set(bar.End())
		if _, err := tracker.Reconcile(ctx); err != nil {
			t.Fatal(err)
		}
		live.bars = append(live.bars, bar)
		if err := strat.OnBar(ctx, bar, live); err != nil {
			t.Fatal(err)
		}
	}
	type fillOf struct {
		Buy        bool
		Qty, Price decimal.Decimal
		Time       time.Time
	}
	var want, got []fillOf
	orders, _ := tracker.BySymbol(ctx, bundledSymbol)
	for _, o := range orders {
		for _, f := range o.Fills {
			want = append(want, fillOf{o.Side.IsBuy(), f.Quantity, f.Price, f.Time})
		}
	}
	for _, tr := range rep.Trades {
		got = append(got, fillOf{true, tr.Quantity, tr.EntryPrice, tr.Entry})
		if !tr.Open {
			got = append(got, fillOf{false, tr.Quantity, tr.ExitPrice, tr.Exit})
		}
	}
	if len(got) < 10 {
		t.Fatalf("only %d fills: too few to compare", len(got))
	}
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b decimal.Decimal) bool { return a.Equal(b) })); diff != "" {
		t.Errorf("paper (-) and backtest (+) fills differ:\n%s", diff)
	}
}
