package main

import (
	"context"
	"sync"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/clock"
	"github.com/arbiontrader/arbion/order"
	"github.com/arbiontrader/arbion/stoploss"
)

// simClock is the simulated time every part reads: the bot sets it at each
// step. Nothing waits on it (the bot drives the runner's steps itself), so
// its timers fire at once.
type simClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *simClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *simClock) set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

func (c *simClock) NewTimer(time.Duration) clock.Timer {
	ch := make(chan time.Time, 1)
	ch <- c.Now()
	return firedTimer{ch}
}

type firedTimer struct{ ch chan time.Time }

func (t firedTimer) C() <-chan time.Time { return t.ch }
func (t firedTimer) Stop() bool          { return false }

// lastBar is the strategy's bar source: the bar of the minute that has just
// closed, and only it, so that a step costs the same at step 200,000 as at
// step 2.
type lastBar struct {
	mu  sync.Mutex
	bar broker.Bar
}

func (l *lastBar) set(b broker.Bar) {
	l.mu.Lock()
	l.bar = b
	l.mu.Unlock()
}

// Bars implements broker.BarSource.
func (l *lastBar) Bars(_ context.Context, q broker.BarQuery) ([]broker.Bar, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.bar
	if b.Symbol != q.Symbol || b.Interval != q.Interval || b.Start.Before(q.From) || !b.Start.Before(q.To) {
		return nil, nil
	}
	return []broker.Bar{b}, nil
}

// swapOrders is an order.Store whose backing store is swapped once: the
// scratch memory store a restart replays the market on, then the database.
// The runner (its tracker, risk engine, daily P&L and supervisor) lives
// through the swap, so what the replay rebuilt in memory (the day's order
// counts, a halt, the P&L) carries on.
type swapOrders struct {
	mu  sync.RWMutex
	cur order.Store
}

func newSwapOrders(s order.Store) *swapOrders { return &swapOrders{cur: s} }

func (s *swapOrders) use(st order.Store) {
	s.mu.Lock()
	s.cur = st
	s.mu.Unlock()
}

func (s *swapOrders) store() order.Store {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.cur
}

func (s *swapOrders) Create(ctx context.Context, o order.Order) (order.Order, error) {
	return s.store().Create(ctx, o)
}
func (s *swapOrders) Update(ctx context.Context, o order.Order) (order.Order, error) {
	return s.store().Update(ctx, o)
}
func (s *swapOrders) Get(ctx context.Context, id string) (order.Order, error) {
	return s.store().Get(ctx, id)
}
func (s *swapOrders) ByClientOrderID(ctx context.Context, account, id string) (order.Order, error) {
	return s.store().ByClientOrderID(ctx, account, id)
}
func (s *swapOrders) ByBrokerOrderID(ctx context.Context, account, id string) (order.Order, error) {
	return s.store().ByBrokerOrderID(ctx, account, id)
}
func (s *swapOrders) BySymbol(ctx context.Context, account, symbol string) ([]order.Order, error) {
	return s.store().BySymbol(ctx, account, symbol)
}
func (s *swapOrders) Open(ctx context.Context, account string) ([]order.Order, error) {
	return s.store().Open(ctx, account)
}

// swapProtections is swapOrders for the supervisor's store.
type swapProtections struct {
	mu  sync.RWMutex
	cur stoploss.Store
}

func newSwapProtections(s stoploss.Store) *swapProtections { return &swapProtections{cur: s} }

func (s *swapProtections) use(st stoploss.Store) {
	s.mu.Lock()
	s.cur = st
	s.mu.Unlock()
}

func (s *swapProtections) store() stoploss.Store {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.cur
}

func (s *swapProtections) Get(ctx context.Context, account, symbol string) (stoploss.Protection, bool, error) {
	return s.store().Get(ctx, account, symbol)
}
func (s *swapProtections) List(ctx context.Context, account string) ([]stoploss.Protection, error) {
	return s.store().List(ctx, account)
}
func (s *swapProtections) Save(ctx context.Context, p stoploss.Protection) (stoploss.Protection, error) {
	return s.store().Save(ctx, p)
}
func (s *swapProtections) Delete(ctx context.Context, account, symbol string, version int64) error {
	return s.store().Delete(ctx, account, symbol, version)
}
