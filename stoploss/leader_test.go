package stoploss_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/order"
	"github.com/arbiontrader/arbion/stoploss"
)

// leadership is a leader a test takes away.
type leadership struct{ lost atomic.Bool }

func (l *leadership) Err() error {
	if l.lost.Load() {
		return &errors.StopLossError{Kind: errors.ErrNotLeader, Reason: "lease taken over"}
	}
	return nil
}

// loseOnQuotes takes the leadership away while a sweep reads quotes: the
// middle of a sweep.
type loseOnQuotes struct {
	broker.Broker
	l *leadership
}

func (b loseOnQuotes) Quotes(ctx context.Context, symbols ...string) ([]broker.Quote, error) {
	b.l.lost.Store(true)
	return b.Broker.Quotes(ctx, symbols...)
}

// TestSupervisorThatLosesItsLeadershipMidSweepSendsNothing: two synthetic
// positions breach their stops in one sweep, and the leadership is lost
// while the sweep reads quotes. No close goes out (the tracker shares the
// leadership and refuses every send), and the next sweep is skipped with
// ErrNotLeader. Before, only the per-call lock existed, and a supervisor
// that lost its lease kept acting.
func TestSupervisorThatLosesItsLeadershipMidSweepSendsNothing(t *testing.T) {
	l := &leadership{}
	e := newEnv(t, envOptions{caps: synthetic})
	tr, err := order.NewTracker(order.Config{Broker: e.broker, Store: e.orders, Account: "acct-1",
		Clock: e.clock, Leader: l})
	if err != nil {
		t.Fatal(err)
	}
	e.tracker = tr
	cfg := e.cfg
	cfg.Orders, cfg.Leader = tr, l
	e.sup = e.newSupervisor(cfg)
	e.price("AAPL", "100")
	e.price("MSFT", "100")
	e.enter("AAPL", broker.Buy, "10", order.Request{})
	e.enter("MSFT", broker.Buy, "10", order.Request{})
	e.sweep()
	placed := e.broker.Calls()["PlaceOrder"]
	if placed != 2 {
		t.Fatalf("%d placements before the breach, want the 2 entries", placed)
	}

	e.sup = e.newSupervisor(withBroker(cfg, loseOnQuotes{Broker: e.broker, l: l}))
	e.price("AAPL", "80") // both through their stops (distance 5)
	e.price("MSFT", "80")
	_, _ = e.sup.Sweep(e.ctx)
	if got := e.broker.Calls()["PlaceOrder"] - placed; got != 0 {
		t.Errorf("%d orders placed after the leadership was lost, want 0", got)
	}
	_, err = e.sup.Sweep(e.ctx)
	if !errors.Is(err, errors.ErrNotLeader) {
		t.Errorf("next sweep = %v, want ErrNotLeader", err)
	}
	if e.position("AAPL").IsZero() || e.position("MSFT").IsZero() {
		t.Error("a position was closed without the leadership")
	}
}

func withBroker(c stoploss.Config, b broker.Broker) stoploss.Config {
	c.Broker = b
	return c
}

// TestUnprotectedListsWhatNothingAtTheBrokerProtects: a native stop
// protects its position without the process; a synthetic one does not.
func TestUnprotectedListsWhatNothingAtTheBrokerProtects(t *testing.T) {
	for _, tc := range []struct {
		name string
		caps func(broker.Capabilities) broker.Capabilities
		want int
	}{
		{"native stop", nil, 0},
		{"synthetic", synthetic, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, envOptions{caps: tc.caps})
			e.price("AAPL", "100")
			e.enter("AAPL", broker.Buy, "10", order.Request{})
			e.sweep()
			got, err := e.sup.Unprotected(e.ctx)
			if err != nil || len(got) != tc.want {
				t.Fatalf("Unprotected = %d positions, %v; want %d", len(got), err, tc.want)
			}
		})
	}
}

func TestTotalsAdd(t *testing.T) {
	a := stoploss.Totals{StopsPlaced: 1, StopsRestored: 2, StopsResized: 3, TrailingAdjustments: 4, StoppedOut: 5,
		BreachCloses: 6, TakeProfits: 7, Exits: 8, Failures: 9, Escalations: 10}
	b := stoploss.Totals{StopsPlaced: 10, StopsRestored: 20, StopsResized: 30, TrailingAdjustments: 40, StoppedOut: 50,
		BreachCloses: 60, TakeProfits: 70, Exits: 80, Failures: 90, Escalations: 100}
	want := stoploss.Totals{StopsPlaced: 11, StopsRestored: 22, StopsResized: 33, TrailingAdjustments: 44, StoppedOut: 55,
		BreachCloses: 66, TakeProfits: 77, Exits: 88, Failures: 99, Escalations: 110}
	if got := a.Add(b); got != want {
		t.Errorf("Add = %+v, want %+v", got, want)
	}
}

// refusing is a broker whose OrderChecker refuses some order types.
type refusing struct {
	broker.Broker
	refuse map[broker.OrderType]bool
}

func (r refusing) Unwrap() broker.Broker { return r.Broker }

func (r refusing) CheckOrder(req broker.OrderRequest) error {
	if r.refuse[req.Type] {
		return &errors.OrderError{Op: "check", Kind: errors.ErrNotSupported, Reason: "type: refused here"}
	}
	return nil
}

// TestProtectiveOrderTypeTheBrokerTakes: the supervisor asks the broker's
// OrderChecker before it rests a stop, and falls back to one the broker
// takes (stop-limit, then watching the price itself) rather than leave the
// position naked behind a refusal.
func TestProtectiveOrderTypeTheBrokerTakes(t *testing.T) {
	for _, tc := range []struct {
		name    string
		refuse  map[broker.OrderType]bool
		resting broker.OrderType // 0: none (synthetic)
	}{
		{"stop taken", nil, broker.Stop},
		{"stop refused", map[broker.OrderType]bool{broker.Stop: true}, broker.StopLimit},
		{"both refused", map[broker.OrderType]bool{broker.Stop: true, broker.StopLimit: true}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, envOptions{config: func(c *stoploss.Config) {
				c.Broker = refusing{Broker: c.Broker, refuse: tc.refuse}
			}})
			e.price("AAPL", "100")
			e.enter("AAPL", broker.Buy, "10", order.Request{})
			open := e.openOrders("AAPL")
			switch {
			case tc.resting == 0 && len(open) != 0:
				t.Errorf("%d resting orders, want none (synthetic)", len(open))
			case tc.resting != 0 && (len(open) != 1 || open[0].Type != tc.resting):
				t.Errorf("resting orders %+v, want one %s", open, tc.resting)
			}
		})
	}
}
