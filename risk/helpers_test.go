package risk_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/clock/clocktest"
	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/risk"
	"github.com/shopspring/decimal"
)

// t0 is a fixed instant for tests: 2026-06-15 14:30:00 UTC (10:30 in New York).
var t0 = time.Date(2026, 6, 15, 14, 30, 0, 0, time.UTC)

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

// newClock returns a manual clock at t.
func newClock(t time.Time) *clocktest.Fake { return clocktest.New(t) }

// sources is an in-memory PositionSource, AccountSource, MarketData and
// PnLSource whose answers and failures a test sets.
type sources struct {
	mu        sync.Mutex
	positions []broker.Position
	open      []broker.Order
	account   broker.Account
	quotes    []broker.Quote
	pnl       risk.PnL
	posErr    error
	openErr   error
	accErr    error
	quoteErr  error
	pnlErr    error
	// onPositions, when set, runs once after Positions has taken its answer
	// and before it returns it: what happens meanwhile is not in the answer.
	onPositions func()
	calls       int         // calls to any source
	days        []time.Time // the dayStart each DailyPnL call received
}

func (s *sources) Positions(ctx context.Context) ([]broker.Position, error) {
	s.mu.Lock()
	s.calls++
	answer, err := append([]broker.Position(nil), s.positions...), s.posErr
	hook := s.onPositions
	s.onPositions = nil
	s.mu.Unlock()
	if hook != nil {
		hook()
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		return nil, ctxErr
	}
	return answer, err
}

func (s *sources) OpenOrders(context.Context) ([]broker.Order, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	return append([]broker.Order(nil), s.open...), s.openErr
}

func (s *sources) Account(context.Context) (broker.Account, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	return s.account, s.accErr
}

func (s *sources) Quotes(_ context.Context, symbols ...string) ([]broker.Quote, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if s.quoteErr != nil {
		return nil, s.quoteErr
	}
	var out []broker.Quote
	for _, q := range s.quotes {
		for _, sym := range symbols {
			if q.Symbol == sym {
				out = append(out, q)
			}
		}
	}
	return out, nil
}

func (s *sources) DailyPnL(_ context.Context, dayStart time.Time) (risk.PnL, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	s.days = append(s.days, dayStart)
	return s.pnl, s.pnlErr
}

func (s *sources) set(f func(s *sources)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s)
}

func (s *sources) callCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

func position(symbol, qty string) broker.Position {
	return broker.Position{Instrument: broker.Instrument{Symbol: symbol, AssetClass: broker.Equity}, Quantity: dec(qty)}
}

func quote(symbol, bid, ask, last string, at time.Time) broker.Quote {
	return broker.Quote{Symbol: symbol, Bid: dec(bid), Ask: dec(ask), Last: dec(last), Time: at}
}

// limitOrder returns a valid limit order request.
func limitOrder(side broker.Side, symbol, qty, price string) broker.OrderRequest {
	return broker.OrderRequest{
		ClientOrderID: "T1",
		Instrument:    broker.Instrument{Symbol: symbol, AssetClass: broker.Equity},
		Side:          side, Type: broker.Limit, Quantity: dec(qty), LimitPrice: dec(price),
		TimeInForce: broker.Day,
	}
}

// marketOrder returns a valid market order request.
func marketOrder(side broker.Side, symbol, qty string) broker.OrderRequest {
	r := limitOrder(side, symbol, qty, "0")
	r.Type, r.LimitPrice = broker.Market, decimal.Zero
	return r
}

// riskErrors returns every *errors.RiskError in err's tree, depth first.
func riskErrors(err error) []*errors.RiskError {
	var out []*errors.RiskError
	var walk func(error)
	walk = func(err error) {
		if err == nil {
			return
		}
		if re, ok := err.(*errors.RiskError); ok {
			out = append(out, re)
		}
		switch u := err.(type) {
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				walk(e)
			}
		case interface{ Unwrap() error }:
			walk(u.Unwrap())
		}
	}
	walk(err)
	return out
}

// ruleNames returns the Rule of every RiskError in err.
func ruleNames(err error) []string {
	var names []string
	for _, re := range riskErrors(err) {
		names = append(names, re.Rule)
	}
	return names
}

// newEngine builds an engine over src and clk, failing the test on error.
func newEngine(t testing.TB, src *sources, clk *clocktest.Fake, rules ...risk.Rule) *risk.Engine {
	t.Helper()
	e, err := risk.NewEngine(risk.Config{
		Rules: rules, Positions: src, OpenOrders: src, Account: src, MarketData: src, PnL: src,
		Location: time.UTC, MaxQuoteAge: 5 * time.Second, Clock: clk,
	})
	if err != nil {
		t.Fatalf("NewEngine: %v", err)
	}
	return e
}
