package stoploss_test

import (
	"context"
	"testing"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/order"
	"github.com/arbiontrader/arbion/stoploss"
)

// TestRun: Run sweeps at once and then on the injected clock, applies
// tracker updates as they come, and returns when its context ends.
func TestRun(t *testing.T) {
	sweeps := make(chan stoploss.Report, 16)
	e := newEnv(t, envOptions{config: func(c *stoploss.Config) {
		c.OnSweep = func(r stoploss.Report) { sweeps <- r }
	}})
	e.price("AAPL", "100")
	ctx, cancel := context.WithCancel(e.ctx)
	done := make(chan error, 1)
	go func() { done <- e.sup.Run(ctx, 10*time.Second) }()
	waitOnClock(t, e) // the first sweep ran; Run waits on the clock
	if first := <-sweeps; !first.Verified || first.Checked != 0 {
		t.Errorf("first sweep = %+v, want a verification of nothing", first)
	}

	// A fill arrives between sweeps: Run places the stop without a sweep.
	req := order.Request{OrderRequest: broker.OrderRequest{Instrument: symbols[0], Side: broker.Buy,
		Type: broker.Market, Quantity: d("3"), TimeInForce: broker.Day}}
	if _, err := e.tracker.Submit(ctx, req); err != nil {
		t.Fatal(err)
	}
	rep := <-sweeps
	wantCount(t, rep, stoploss.EventStopPlaced, 1)

	e.clock.Advance(10 * time.Second)
	rep = <-sweeps
	if rep.Checked != 1 {
		t.Errorf("timed sweep checked %d positions, want 1", rep.Checked)
	}
	waitOnClock(t, e)
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Run returned %v, want context.Canceled", err)
	}
	hb := e.sup.Heartbeat()
	if hb.Sweeps < 2 || hb.LastSweepEnd.IsZero() {
		t.Errorf("heartbeat = %+v, want at least two sweeps", hb)
	}
	if hb.Overdue(e.clock.Now(), 30*time.Second) {
		t.Error("heartbeat overdue right after a sweep")
	}
	if !hb.Overdue(e.clock.Now().Add(time.Minute), 30*time.Second) {
		t.Error("heartbeat not overdue a minute after the last sweep")
	}
	if !(stoploss.Heartbeat{}).Overdue(e.clock.Now(), time.Hour) {
		t.Error("a supervisor that never swept is not overdue")
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	e := newEnv(t, envOptions{})
	tests := map[string]func(*stoploss.Config){
		"no account":        func(c *stoploss.Config) { c.Account = "" },
		"no broker":         func(c *stoploss.Config) { c.Broker = nil },
		"no orders":         func(c *stoploss.Config) { c.Orders = nil },
		"no stop in policy": func(c *stoploss.Config) { c.DefaultPolicy = stoploss.Policy{} },
		"bad symbol policy": func(c *stoploss.Config) {
			c.Policies = map[string]stoploss.Policy{"AAPL": {StopPercent: d("120")}}
		},
		"negative escalation": func(c *stoploss.Config) { c.EscalateAfter = -1 },
		"escalate to state":   func(c *stoploss.Config) { c.EscalateTo = 9 },
		"undefined mode":      func(c *stoploss.Config) { c.Mode = 42 },
	}
	for name, change := range tests {
		t.Run(name, func(t *testing.T) {
			cfg := e.cfg
			change(&cfg)
			s, err := stoploss.New(cfg)
			var se *errors.StopLossError
			if s != nil || !errors.Is(err, errors.ErrConfiguration) || !errors.As(err, &se) {
				t.Errorf("New = %v, %v; want a configuration error", s, err)
			}
		})
	}
	if err := e.sup.Run(e.ctx, 0); !errors.Is(err, errors.ErrConfiguration) {
		t.Errorf("Run(0) = %v, want a configuration error", err)
	}
}

// waitOnClock returns once Run is parked on the clock's timer.
func waitOnClock(t *testing.T, e *env) {
	t.Helper()
	if err := e.clock.WaitForWaiters(e.ctx, 1); err != nil {
		t.Fatal(err)
	}
}
