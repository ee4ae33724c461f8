package main

import (
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/coinbase"
	"github.com/arbiontrader/arbion/order"
	"github.com/arbiontrader/arbion/risk"
	"github.com/arbiontrader/arbion/stoploss"
	"github.com/shopspring/decimal"
)

// supervised is the -supervisor mode: entries go through the order tracker
// (with the risk engine as its pre-trade check) and the stop-loss
// supervisor protects each position: Coinbase spot has no stop-market
// order, so it rests a stop-limit (STOP_DOWN), and it closes at market when
// the take-profit is reached.
//
// The stop is fixed, not trailing: a trailing stop is moved by editing the
// order in place (Coinbase keeps the order id), and the supervisor does not
// yet follow a second in-place edit (it reuses the client order id of the
// first; reported to the stoploss package). supervisor_test.go shows one
// trail working.
type supervised struct {
	cfg     Config
	b       *coinbase.Broker
	tracker *order.Tracker
	sup     *stoploss.Supervisor
	market  market
	out     io.Writer
	qty     decimal.Decimal

	mu  sync.Mutex // note runs on the ticker's goroutine too (-stream)
	sum Summary
}

func newSupervised(cfg Config, b *coinbase.Broker, engine *risk.Engine, mkt market, out io.Writer, qty decimal.Decimal) (*supervised, error) {
	tracker, err := order.NewTracker(order.Config{Broker: b, Checker: engine, Account: "coinbase-bot"})
	if err != nil {
		return nil, err
	}
	s := &supervised{cfg: cfg, b: b, tracker: tracker, market: mkt, out: out, qty: qty}
	sup, err := stoploss.New(stoploss.Config{Account: "coinbase-bot", Broker: b, Orders: tracker,
		OnSweep: s.note, // every report: sweeps, updates and (with -stream) ticks
		// A fixed stop, not a trailing one: see the package comment.
		DefaultPolicy: stoploss.Policy{StopPercent: cfg.StopLoss.Shift(2), TakeProfitPercent: cfg.TakeProfit.Shift(2)}})
	if err != nil {
		return nil, err
	}
	s.sup = sup
	return s, nil
}

func (s *supervised) close() { s.sup.Close() }

// follow starts the streams: the tracker applies the user channel's events
// (reconciling by REST on every gap) and the supervisor watches the ticker
// (a stop or take-profit acts on the tick). stop ends both and waits.
func (s *supervised) follow(ctx context.Context) (stop func(), err error) {
	ctx, cancel := context.WithCancel(ctx)
	orders, err := s.b.StreamOrders(ctx)
	if err != nil {
		cancel()
		return nil, err
	}
	quotes, err := s.b.StreamQuotes(ctx)
	if err != nil {
		cancel()
		return nil, err
	}
	var wg sync.WaitGroup
	wg.Go(func() { _ = s.tracker.Follow(ctx, orders) })
	wg.Go(func() { _ = s.sup.FollowQuotes(ctx, quotes) })
	var once sync.Once
	return func() { once.Do(func() { cancel(); wg.Wait() }) }, nil
}

func (s *supervised) step(ctx context.Context) error {
	if err := s.market.Move(ctx); err != nil {
		return err
	}
	working, err := s.b.OpenOrders(ctx)
	if err != nil {
		return err
	}
	if err := s.market.Cross(ctx, working); err != nil {
		return err
	}
	if _, err := s.tracker.Reconcile(ctx); err != nil {
		return err
	}
	if _, err := s.sup.HandleUpdates(ctx); err != nil {
		return err
	}
	if _, err := s.sup.Sweep(ctx); err != nil {
		return err
	}
	return s.enterIfFlat(ctx)
}

// note prints the supervisor's events and counts the exits.
func (s *supervised) note(rep stoploss.Report) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range rep.Events {
		switch e.Kind {
		case stoploss.EventStopPlaced:
			s.sum.Entries++
		case stoploss.EventStoppedOut, stoploss.EventBreachClose:
			s.sum.StopOuts++
		case stoploss.EventTakeProfitClose:
			s.sum.TakeProfits++
		}
		fmt.Fprintf(s.out, "supervisor: %s %s stop %s%s\n", e.Kind, e.Symbol, e.StopPrice, errSuffix(e.Err))
	}
}

// enterIfFlat rests a limit buy below the bid when there is neither a
// position nor a working order.
func (s *supervised) enterIfFlat(ctx context.Context) error {
	working, err := s.b.OpenOrders(ctx)
	if err != nil || len(working) > 0 {
		return err
	}
	positions, err := s.b.Positions(ctx)
	if err != nil {
		return err
	}
	for _, p := range positions {
		if p.Instrument.Symbol == s.cfg.Product && p.Quantity.IsPositive() {
			return nil
		}
	}
	quotes, err := s.b.Quotes(ctx, s.cfg.Product)
	if err != nil || len(quotes) == 0 || !quotes[0].Bid.IsPositive() {
		return err // no bid: stay flat (fail closed)
	}
	price := quotes[0].Bid.Mul(decimal.NewFromInt(1).Sub(s.cfg.EntryDiscount))
	_, err = s.tracker.Submit(ctx, order.Request{OrderRequest: broker.OrderRequest{
		ClientOrderID: broker.NewClientOrderID(), Instrument: broker.Instrument{Symbol: s.cfg.Product, AssetClass: broker.Crypto},
		Side: broker.Buy, Type: broker.Limit, Quantity: s.qty, LimitPrice: price, TimeInForce: broker.GTC}})
	if err != nil {
		s.sum.Refused++
		fmt.Fprintf(s.out, "entry refused: %v\n", err)
	}
	return nil
}

func errSuffix(err error) string {
	if err == nil {
		return ""
	}
	return ": " + err.Error()
}
