package risk_test

import (
	"context"
	"testing"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/risk"
)

// TestProtectiveOrdersWhileHalted: a protective order passes a halt only
// when it reduces the position the broker reports: the other side, never
// larger. Before, a protective order skipped the engine entirely, so one
// that increased a position went out while halted.
func TestProtectiveOrdersWhileHalted(t *testing.T) {
	tests := []struct {
		name     string
		position string // AAPL, signed
		order    broker.OrderRequest
		want     errors.Kind // "" allowed
	}{
		{"sell stop for the long", "10", stopOrder(broker.Sell, "10"), ""},
		{"sell part of the long", "10", stopOrder(broker.Sell, "4"), ""},
		{"buy to cover the short", "-10", stopOrder(broker.Buy, "10"), ""},
		{"larger than the long", "10", stopOrder(broker.Sell, "11"), errors.ErrTradingHalted},
		{"adds to the long", "10", stopOrder(broker.Buy, "5"), errors.ErrTradingHalted},
		{"adds to the short", "-10", stopOrder(broker.Sell, "1"), errors.ErrTradingHalted},
		{"no position", "0", stopOrder(broker.Sell, "1"), errors.ErrTradingHalted},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := &sources{positions: []broker.Position{position("AAPL", tc.position)}}
			e := newEngine(t, src, newClock(time.Date(2026, 3, 2, 15, 0, 0, 0, time.UTC)),
				risk.MaxOrderQuantity{Limit: dec("1")}) // a rule every order here breaks
			if err := e.SetState(t.Context(), risk.Halted, "daily loss"); err != nil {
				t.Fatal(err)
			}
			settle, err := e.PreTradeProtective(t.Context(), tc.order)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				settle(true)
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("error = %v, want %q", err, tc.want)
			}
		})
	}
}

// TestProtectiveOrderThatDoesNotReduceIsAnOrdinaryOrder: while active, a
// "protective" order that would not reduce the position meets every rule.
func TestProtectiveOrderThatDoesNotReduceIsAnOrdinaryOrder(t *testing.T) {
	src := &sources{positions: []broker.Position{position("AAPL", "10")}}
	e := newEngine(t, src, newClock(time.Now()), risk.MaxOrderQuantity{Limit: dec("5")})
	_, err := e.PreTradeProtective(t.Context(), stopOrder(broker.Buy, "6"))
	if !errors.Is(err, errors.ErrRiskLimitExceeded) {
		t.Fatalf("error = %v, want the max order quantity refusal", err)
	}
	if _, err := e.PreTradeProtective(t.Context(), stopOrder(broker.Sell, "10")); err != nil {
		t.Fatalf("a reducing stop over the quantity limit: %v", err)
	}
}

// TestProtectiveOrderWithoutPositionsIsRefused: fail closed when the
// broker's positions cannot be read.
func TestProtectiveOrderWithoutPositionsIsRefused(t *testing.T) {
	src := &sources{posErr: errors.New("timeout")}
	e := newEngine(t, src, newClock(time.Now()))
	if _, err := e.PreTradeProtective(t.Context(), stopOrder(broker.Sell, "1")); !errors.Is(err, errors.ErrRiskDataUnavailable) {
		t.Fatalf("error = %v, want ErrRiskDataUnavailable", err)
	}
}

// TestHaltSurvivesARestart: an engine with a StateStore starts halted until
// it has read the stored state; a halt (by the host or tripped by a rule)
// is stored, so the next engine on the same store stays halted, and a
// resume is stored too. Before, a new engine started active.
func TestHaltSurvivesARestart(t *testing.T) {
	store := risk.NewMemoryStateStore()
	src := &sources{pnl: risk.PnL{Realized: dec("-600")}}
	clk := newClock(time.Date(2026, 3, 2, 15, 0, 0, 0, time.UTC))
	start := func() *risk.Engine {
		e, err := risk.NewEngine(risk.Config{Positions: src, PnL: src, Location: time.UTC, Clock: clk,
			Rules: []risk.Rule{risk.MaxDailyLoss{Limit: dec("500")}}, StateStore: store, StateAccount: "acct"})
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	wantState := func(e *risk.Engine, want risk.State) {
		t.Helper()
		if s, reason := e.State(); s != want {
			t.Fatalf("state %s (%s), want %s", s, reason, want)
		}
	}
	e := start()
	wantState(e, risk.Halted) // not loaded yet
	if err := e.LoadState(t.Context()); err != nil {
		t.Fatal(err)
	}
	wantState(e, risk.Active) // nothing stored: a first start
	if _, err := e.PreTrade(t.Context(), limitOrder(broker.Buy, "AAPL", "1", "100")); !errors.Is(err, errors.ErrRiskLimitExceeded) {
		t.Fatalf("PreTrade over the daily loss = %v", err)
	}
	wantState(e, risk.Halted) // tripped

	e = start() // the restart
	if err := e.LoadState(t.Context()); err != nil {
		t.Fatal(err)
	}
	wantState(e, risk.Halted)
	if _, err := e.PreTrade(t.Context(), limitOrder(broker.Buy, "AAPL", "1", "100")); !errors.Is(err, errors.ErrTradingHalted) {
		t.Fatalf("PreTrade after the restart = %v, want ErrTradingHalted", err)
	}
	src.set(func(s *sources) { s.pnl = risk.PnL{} })
	if err := e.SetState(t.Context(), risk.Active, "new day"); err != nil {
		t.Fatal(err)
	}
	other := start() // a replica
	if err := other.LoadState(t.Context()); err != nil {
		t.Fatal(err)
	}
	wantState(other, risk.Active)
}

// failingStateStore refuses every save.
type failingStateStore struct{ *risk.MemoryStateStore }

func (failingStateStore) SaveTradingState(context.Context, string, risk.State, string) error {
	return errors.New("disk full")
}

// TestStateChangesFailClosed: a resume that cannot be saved does not take
// effect; a halt that cannot be saved takes effect all the same.
func TestStateChangesFailClosed(t *testing.T) {
	e, err := risk.NewEngine(risk.Config{Positions: &sources{}, Location: time.UTC,
		StateStore: failingStateStore{risk.NewMemoryStateStore()}, StateAccount: "acct"})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.LoadState(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := e.SetState(t.Context(), risk.Halted, "operator"); !errors.Is(err, errors.ErrStorage) {
		t.Fatalf("halt with a failing store = %v, want ErrStorage", err)
	}
	if s, _ := e.State(); s != risk.Halted {
		t.Fatalf("state %s after a halt whose save failed, want halted", s)
	}
	if err := e.SetState(t.Context(), risk.Active, "operator"); !errors.Is(err, errors.ErrStorage) {
		t.Fatalf("resume with a failing store = %v, want ErrStorage", err)
	}
	if s, _ := e.State(); s != risk.Halted {
		t.Fatalf("state %s after a resume whose save failed, want still halted", s)
	}
}

// TestHaltedRefusesBeforeValidating: a halted engine refuses at once,
// whatever the request.
func TestHaltedRefusesBeforeValidating(t *testing.T) {
	src := &sources{}
	e := newEngine(t, src, newClock(time.Now()))
	if err := e.SetState(t.Context(), risk.Halted, "x"); err != nil {
		t.Fatal(err)
	}
	_, err := e.PreTrade(t.Context(), broker.OrderRequest{})
	if !errors.Is(err, errors.ErrTradingHalted) || src.callCount() != 0 {
		t.Fatalf("error = %v after %d source calls; want ErrTradingHalted and none", err, src.callCount())
	}
}

func stopOrder(side broker.Side, qty string) broker.OrderRequest {
	r := limitOrder(side, "AAPL", qty, "0")
	r.Type, r.LimitPrice, r.StopPrice, r.TimeInForce = broker.Stop, dec("0"), dec("95"), broker.GTC
	return r
}
