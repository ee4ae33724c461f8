package live_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/health"
	"github.com/arbiontrader/arbion/live"
	"github.com/arbiontrader/arbion/order"
	"github.com/arbiontrader/arbion/risk"
	"github.com/arbiontrader/arbion/stoploss"
)

func step(t *testing.T, r *live.Runner) live.StepReport {
	t.Helper()
	rep, err := r.Step(context.Background())
	if err != nil {
		t.Fatalf("step: %v", err)
	}
	return rep
}

// Orders, fills, stops and a stop-out, end to end on paper.
func TestOrderFillStopAndStopOut(t *testing.T) {
	w := newWorld(t)
	var bought atomic.Int32
	r, err := live.New(w.config(nil, nil, buyOnce(&bought)))
	if err != nil {
		t.Fatal(err)
	}
	w.price("100")
	rep := step(t, r)
	if rep.Bars != 1 || !w.position().Equal(dec("10")) {
		t.Fatalf("after the first bar: %d bars, position %s; want 1 and 10", rep.Bars, w.position())
	}
	open := w.openAtBroker()
	if len(open) != 1 || open[0].Type != broker.Stop || !open[0].StopPrice.Equal(dec("99")) {
		t.Fatalf("the stop was not placed within the step: open at the broker %+v", open)
	}
	if got := r.Supervisor().Totals().StopsPlaced; got != 1 {
		t.Errorf("stops placed = %d, want 1", got)
	}
	w.price("98.5") // the resting stop fills at the broker
	step(t, r)
	if !w.position().IsZero() || len(w.openAtBroker()) != 0 {
		t.Errorf("after the stop-out: position %s, open %+v", w.position(), w.openAtBroker())
	}
	if got := r.Supervisor().Totals().StoppedOut; got != 1 {
		t.Errorf("stopped out = %d, want 1", got)
	}
	// The daily P&L is the runner's own: 10 × (98.5 - 100), paper charges no fee.
	p, err := r.PnL().DailyPnL(context.Background(), r.PnL().DayStart(w.clk.Now()))
	if err != nil || !p.Total().Equal(dec("-15")) {
		t.Errorf("daily P&L = %+v, %v; want -15", p, err)
	}
}

// A runner stopped in the middle and a new one on the same stores go on
// without a second order or a second stop.
func TestRestartInTheMiddle(t *testing.T) {
	w := newWorld(t)
	orders, protections := order.NewMemoryStore(), stoploss.NewMemoryStore()
	var bought atomic.Int32
	r1, err := live.New(w.config(orders, protections, buyOnce(&bought)))
	if err != nil {
		t.Fatal(err)
	}
	w.price("100")
	step(t, r1)
	runUntilFirstWait(t, w, r1)
	if _, err := r1.Tracker().Submit(context.Background(), buy1()); !errors.Is(err, errors.ErrShuttingDown) {
		t.Errorf("a drained tracker took an order: %v", err)
	}

	r2, err := live.New(w.config(orders, protections, buyOnce(&bought)))
	if err != nil {
		t.Fatal(err)
	}
	w.price("101")
	rep := step(t, r2)
	if rep.Reconcile.Checked != 1 || rep.Reconcile.Updated != 0 {
		t.Errorf("reconcile after restart: %+v, want the stop checked and nothing changed", rep.Reconcile)
	}
	if open := w.openAtBroker(); len(open) != 1 || !w.position().Equal(dec("10")) {
		t.Errorf("after restart: position %s, open %+v; want 10 and one stop", w.position(), open)
	}
	if got := r2.Supervisor().Totals(); got.StopsPlaced != 0 || got.StopsRestored != 0 {
		t.Errorf("the restarted supervisor placed stops again: %+v", got)
	}
}

// An outage turns readiness red and refuses new orders; the position keeps
// its stop at the broker; readiness is green again once the broker is back.
func TestBrokerOutage(t *testing.T) {
	w := newWorld(t)
	var bought atomic.Int32
	r, err := live.New(w.config(nil, nil, buyOnce(&bought)))
	if err != nil {
		t.Fatal(err)
	}
	w.price("100")
	step(t, r)
	h, err := health.New(health.Config{Ready: r.Checks(live.CheckConfig{HeartbeatWithin: 5 * time.Minute})})
	if err != nil {
		t.Fatal(err)
	}
	ready := func() int {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/health/ready", nil))
		return rec.Code
	}
	if code := ready(); code != http.StatusOK {
		t.Fatalf("ready before the outage = %d: %+v", code, h.Check(context.Background()))
	}

	w.down.Store(true)
	w.price("100.5")
	if _, err := r.Step(context.Background()); err == nil {
		t.Error("a step during the outage reported no error")
	}
	if code := ready(); code != http.StatusServiceUnavailable {
		t.Errorf("ready during the outage = %d, want 503", code)
	}
	_, err = r.Trader().Submit(context.Background(), buy1())
	if !errors.Is(err, errors.ErrRiskDataUnavailable) {
		t.Errorf("a new order during the outage: %v, want refused with ErrRiskDataUnavailable", err)
	}

	w.down.Store(false)
	w.price("101")
	step(t, r)
	if code := ready(); code != http.StatusOK {
		t.Errorf("ready after the outage = %d: %+v", code, h.Check(context.Background()))
	}
	if open := w.openAtBroker(); len(open) != 1 || open[0].Type != broker.Stop || !w.position().Equal(dec("10")) {
		t.Errorf("the position lost its stop: position %s, open %+v", w.position(), open)
	}
}

// A daily-loss halt refuses new entries for the rest of the day and is
// lifted by the first step of the next day.
func TestDailyLossHaltLiftedNextDay(t *testing.T) {
	w := newWorld(t)
	var bought atomic.Int32
	r, err := live.New(w.config(nil, nil, buyOnce(&bought)))
	if err != nil {
		t.Fatal(err)
	}
	w.price("100")
	step(t, r)
	w.price("94") // through the stop: stopped out at 94, a loss of 60 > 50
	step(t, r)
	if _, err := r.Trader().Submit(context.Background(), buy1()); !errors.Is(err, errors.ErrRiskLimitExceeded) && !errors.Is(err, errors.ErrTradingHalted) {
		t.Fatalf("an entry after a loss of 60: %v, want refused", err)
	}
	if st, _ := r.Engine().State(); st != risk.Halted {
		t.Fatalf("state after the daily loss = %v, want halted", st)
	}
	w.clk.Set(time.Date(2026, 1, 6, 15, 0, 0, 0, time.UTC))
	w.price("94")
	step(t, r)
	if st, why := r.Engine().State(); st != risk.Active {
		t.Errorf("state on the next day = %v (%s), want active", st, why)
	}
}

// Run steps on the schedule, driven by the fake clock, and shuts down
// cleanly when its context ends.
func TestRunOnTheScheduleAndShutdown(t *testing.T) {
	w := newWorld(t)
	var bought atomic.Int32
	cfg := w.config(nil, nil, buyOnce(&bought))
	cfg.Schedule = live.Every(time.Minute, w.clk)
	r, err := live.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	if err := w.clk.WaitForWaiters(context.Background(), 1); err != nil { // the first step ran; the schedule waits
		t.Fatal(err)
	}
	w.price("100") // advances the clock a minute: the second step is due
	// The schedule hands a step over before it waits again, and a step runs
	// to its end: once it waits, the second step has begun and will finish.
	if err := w.clk.WaitForWaiters(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run = %v, want nil after a clean shutdown", err)
	}
	if hb := r.Supervisor().Heartbeat(); hb.Sweeps != 2 {
		t.Errorf("sweeps = %d, want 2 (one at once, one a minute later)", hb.Sweeps)
	}
	if !r.Started() || !w.position().Equal(dec("10")) || len(w.openAtBroker()) != 1 {
		t.Errorf("started %v, position %s, open %+v", r.Started(), w.position(), w.openAtBroker())
	}
}

// runUntilFirstWait runs r until its schedule waits after the first step,
// then shuts it down.
func runUntilFirstWait(t *testing.T, w *world, r *live.Runner) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	if err := w.clk.WaitForWaiters(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run = %v", err)
	}
}

func TestNewValidates(t *testing.T) {
	w := newWorld(t)
	good := w.config(nil, nil, nil)
	cases := map[string]func(*live.Config){
		"no account":        func(c *live.Config) { c.Account = "" },
		"no broker":         func(c *live.Config) { c.Broker = nil },
		"no stop policy":    func(c *live.Config) { c.Policy = stoploss.Policy{} },
		"negative timeout":  func(c *live.Config) { c.StepTimeout = -1 },
		"strategy, no func": func(c *live.Config) { c.Strategies = []live.Strategy{{Symbol: "AAPL", Interval: broker.OneMinute}} },
		"bad interval": func(c *live.Config) {
			c.Strategies = []live.Strategy{{Symbol: "AAPL", Interval: "7m", Strategy: buyOnce(new(atomic.Int32))}}
		},
		"bad rule": func(c *live.Config) { c.Rules = []risk.Rule{risk.MaxOrderQuantity{}} },
		"no bars": func(c *live.Config) {
			c.Bars = nil
			c.Broker = struct{ broker.Broker }{c.Broker} // only the Broker methods: no bar source
			c.Strategies = []live.Strategy{{Symbol: "AAPL", Interval: broker.OneMinute, Strategy: buyOnce(new(atomic.Int32))}}
		},
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			cfg := good
			mutate(&cfg)
			if _, err := live.New(cfg); !errors.Is(err, errors.ErrConfiguration) {
				t.Errorf("err = %v, want ErrConfiguration", err)
			}
		})
	}
}

func buy1() order.Request {
	return order.Request{OrderRequest: broker.OrderRequest{Instrument: broker.Instrument{Symbol: "AAPL", AssetClass: broker.Equity},
		Side: broker.Buy, Type: broker.Market, Quantity: dec("1"), TimeInForce: broker.Day}}
}
