package sqlstore_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/clock"
	"github.com/arbiontrader/arbion/order"
	"github.com/arbiontrader/arbion/paper"
	"github.com/arbiontrader/arbion/stoploss"
	"github.com/arbiontrader/arbion/store/sqlstore"
	"github.com/shopspring/decimal"
)

// manualClock is a clock that moves only when told. After never fires: the
// tests sweep by hand and the leases are not renewed by time.
type manualClock struct {
	mu  sync.Mutex
	now time.Time
}

func newManualClock() *manualClock {
	return &manualClock{now: time.Date(2026, 11, 27, 15, 0, 0, 0, time.UTC)}
}

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// NewTimer returns a timer that never fires: these tests renew leases by
// hand (see ticker).
func (c *manualClock) NewTimer(time.Duration) clock.Timer { return heldTimer{} }

// heldTimer fires when its channel (nil: never) delivers.
type heldTimer struct{ ch <-chan time.Time }

func (t heldTimer) C() <-chan time.Time { return t.ch }
func (heldTimer) Stop() bool            { return true }

// leaseClock reads the time from a manualClock and takes its renewal
// timers from a ticker the test fires.
type leaseClock struct {
	*manualClock
	k *ticker
}

func (c leaseClock) NewTimer(time.Duration) clock.Timer { return heldTimer{c.k.After(0)} }

func (c *manualClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// gatedBroker holds Quotes calls while a gate is set, so a test can keep one
// supervisor inside its sweep.
type gatedBroker struct {
	broker.Broker
	mu      sync.Mutex
	gate    chan struct{}
	entered chan struct{}
}

func (g *gatedBroker) hold() (entered <-chan struct{}, open func()) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.gate, g.entered = make(chan struct{}), make(chan struct{}, 1)
	gate := g.gate
	return g.entered, func() { close(gate) }
}

func (g *gatedBroker) Quotes(ctx context.Context, symbols ...string) ([]broker.Quote, error) {
	g.mu.Lock()
	gate, entered := g.gate, g.entered
	g.gate, g.entered = nil, nil
	g.mu.Unlock()
	if gate != nil {
		entered <- struct{}{}
		select {
		case <-gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return g.Broker.Quotes(ctx, symbols...)
}

// replica is one bot process: its own database handle, tracker and
// supervisor, on the shared broker.
type replica struct {
	db      *sqlstore.DB
	tracker *order.Tracker
	sup     *stoploss.Supervisor
	lease   *sqlstore.Lease
}

func newReplica(t testing.TB, db *sqlstore.DB, b broker.Broker, clock *manualClock, mode stoploss.Mode) *replica {
	t.Helper()
	tracker, err := order.NewTracker(order.Config{Broker: b, Store: db.Orders(), Account: "acct", Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	lease, err := db.Lease(sqlstore.LeaseConfig{TTL: 10 * time.Second, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	sup, err := stoploss.New(stoploss.Config{
		Account: "acct", Broker: b, Orders: tracker, Store: db.Protections(), Lock: lease, Clock: clock,
		Mode:          mode,
		DefaultPolicy: stoploss.Policy{StopPercent: decimal.NewFromInt(5)},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sup.Close)
	return &replica{db: db, tracker: tracker, sup: sup, lease: lease}
}

func newPaper(t testing.TB, clock *manualClock) *paper.Broker {
	t.Helper()
	p, err := paper.New(paper.Config{Clock: clock, Cash: decimal.NewFromInt(1_000_000)})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func buy(t testing.TB, r *replica, symbol, qty string) order.Order {
	t.Helper()
	o, err := r.tracker.Submit(t.Context(), order.Request{OrderRequest: broker.OrderRequest{
		Instrument: broker.Instrument{Symbol: symbol, AssetClass: broker.Equity},
		Side:       broker.Buy, Type: broker.Market, TimeInForce: broker.Day,
		Quantity: decimal.RequireFromString(qty),
	}})
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func sweep(t testing.TB, s *stoploss.Supervisor) stoploss.Report {
	t.Helper()
	rep, err := s.Sweep(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

var symbols = []string{"AAPL", "MSFT", "SPY"}

// TestRestartFindsEverything: a tracker and a supervisor built on a reopened
// database find every order, fill and protected position, and place nothing
// again.
func TestRestartFindsEverything(t *testing.T) {
	for _, e := range engines(t) {
		t.Run(e.name, func(t *testing.T) {
			clock := newManualClock()
			p := newPaper(t, clock)
			db := e.open(t)
			first := newReplica(t, db, p, clock, stoploss.ModeNativeStop)
			entries := map[string]order.Order{}
			for _, sym := range symbols {
				p.SetPrice(sym, decimal.NewFromInt(100))
				entries[sym] = buy(t, first, sym, "10")
			}
			if rep := sweep(t, first.sup); rep.Count(stoploss.EventStopPlaced) != len(symbols) {
				t.Fatalf("first sweep placed %d stops, want %d: %+v", rep.Count(stoploss.EventStopPlaced), len(symbols), rep)
			}
			placed := len(openAt(t, p))
			first.sup.Close()
			db.Close()

			second := newReplica(t, e.reopen(t, db), p, clock, stoploss.ModeNativeStop)
			if _, err := second.tracker.Reconcile(t.Context()); err != nil {
				t.Fatal(err)
			}
			for sym, entry := range entries {
				got, err := second.tracker.Get(t.Context(), entry.LocalID)
				if err != nil {
					t.Fatalf("%s entry lost across restart: %v", sym, err)
				}
				if got.Status != broker.StatusFilled || len(got.Fills) != 1 || !got.FilledQuantity.Equal(decimal.NewFromInt(10)) {
					t.Errorf("%s entry after restart: %s, %d fills, filled %s", sym, got.Status, len(got.Fills), got.FilledQuantity)
				}
			}
			protections, err := second.db.Protections().List(t.Context(), "acct")
			if err != nil {
				t.Fatal(err)
			}
			if len(protections) != len(symbols) {
				t.Fatalf("%d protections after restart, want %d", len(protections), len(symbols))
			}
			rep := sweep(t, second.sup)
			if n := rep.Count(stoploss.EventStopPlaced) + rep.Count(stoploss.EventStopRestored); n != 0 {
				t.Errorf("restarted supervisor placed %d stops again: %+v", n, rep.Events)
			}
			if got := len(openAt(t, p)); got != placed {
				t.Errorf("%d working orders at the broker after restart, want %d", got, placed)
			}
		})
	}
}

// TestTwoSupervisorsOnePostgres: two replicas with separate connections share
// one PostgreSQL. While one sweeps the other is skipped; a holder whose
// context is cancelled mid-sweep and which never releases keeps the lease
// until it expires, then the other takes over; no position is closed twice.
func TestTwoSupervisorsOnePostgres(t *testing.T) {
	pg := postgresEngine()
	clock := newManualClock()
	p := newPaper(t, clock)
	gated := &gatedBroker{Broker: p}
	dbA := pg.open(t)
	a := newReplica(t, dbA, gated, clock, stoploss.ModeSynthetic)
	b := newReplica(t, pg.reopen(t, dbA), gated, clock, stoploss.ModeSynthetic)
	for _, sym := range symbols {
		p.SetPrice(sym, decimal.NewFromInt(100))
		buy(t, a, sym, "10")
	}

	// A is held inside its sweep; B, meanwhile, is skipped.
	entered, open := gated.hold()
	var wg sync.WaitGroup
	var repA stoploss.Report
	wg.Go(func() { repA, _ = a.sup.Sweep(context.Background()) })
	<-entered
	if repB := sweep(t, b.sup); !repB.Skipped || len(repB.Events) != 0 {
		t.Fatalf("B acted while A held the lease: %+v", repB)
	}
	open()
	wg.Wait()
	if repA.Skipped {
		t.Fatalf("A was skipped: %+v", repA)
	}

	// A crashes holding the lease: its context ends, nothing releases it.
	crashed, cancel := context.WithCancel(t.Context())
	if _, _, ok, err := a.lease.Acquire(crashed, "acct"); err != nil || !ok {
		t.Fatalf("A re-acquire: ok %v, err %v", ok, err)
	}
	cancel()
	for _, sym := range symbols {
		p.SetPrice(sym, decimal.NewFromInt(90)) // through every 5% stop
	}
	if rep := sweep(t, b.sup); !rep.Skipped {
		t.Fatalf("B acted before A's lease expired: %+v", rep)
	}
	clock.Advance(11 * time.Second)
	rep := sweep(t, b.sup)
	if rep.Skipped || rep.Count(stoploss.EventBreachClose) != len(symbols) {
		t.Fatalf("B after expiry: skipped %v, %d breach closes, want %d: %+v",
			rep.Skipped, rep.Count(stoploss.EventBreachClose), len(symbols), rep.Events)
	}

	// Both sweep again, repeatedly: nothing is closed twice, nothing flips.
	for range 3 {
		var wg sync.WaitGroup
		wg.Go(func() { _, _ = a.sup.Sweep(t.Context()) })
		wg.Go(func() { _, _ = b.sup.Sweep(t.Context()) })
		wg.Wait()
	}
	positions, err := p.Positions(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, pos := range positions {
		if !pos.Quantity.IsZero() {
			t.Errorf("%s position %s after the closes, want flat", pos.Instrument.Symbol, pos.Quantity)
		}
	}
	for _, sym := range symbols {
		if n := closesOf(t, b.tracker, sym); n != 1 {
			t.Errorf("%s closed %d times, want once", sym, n)
		}
	}
}

// closesOf counts the sell orders sent for the symbol (the entries are buys).
func closesOf(t testing.TB, tr *order.Tracker, symbol string) int {
	t.Helper()
	os, err := tr.BySymbol(t.Context(), symbol)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, o := range os {
		if o.Side == broker.Sell && o.Type == broker.Market && o.Status != broker.StatusRejected {
			n++
		}
	}
	return n
}

func openAt(t testing.TB, b broker.Broker) []broker.Order {
	t.Helper()
	os, err := b.OpenOrders(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return os
}
