package stoploss_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/clock/clocktest"
	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/order"
	"github.com/arbiontrader/arbion/paper"
	"github.com/arbiontrader/arbion/risk"
	"github.com/arbiontrader/arbion/stoploss"
	"github.com/shopspring/decimal"
)

var (
	_ stoploss.Orders        = (*order.Tracker)(nil)
	_ stoploss.TradingSwitch = (*risk.Engine)(nil)
)

func d(s string) decimal.Decimal { return decimal.RequireFromString(s) }

// newFakeClock returns the tests' manual clock, at a fixed instant.
func newFakeClock() *clocktest.Fake {
	return clocktest.New(time.Date(2026, 11, 27, 14, 30, 0, 0, time.UTC))
}

// countingBroker wraps a broker: it counts calls, records placements, can
// hide capabilities, and can hold Quotes until released.
type countingBroker struct {
	broker.Broker
	caps func(broker.Capabilities) broker.Capabilities

	mu     sync.Mutex
	calls  map[string]int
	placed []placement
	// holdQuotes, when set, is closed by the test to let a Quotes call go
	// on; quotesEntered is signalled when a Quotes call starts waiting.
	holdQuotes    chan struct{}
	quotesEntered chan struct{}
}

type placement struct {
	req     broker.OrderRequest
	orderID string
}

func (b *countingBroker) count(op string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.calls[op]++
}

func (b *countingBroker) Calls() map[string]int {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make(map[string]int, len(b.calls))
	for k, v := range b.calls {
		out[k] = v
	}
	return out
}

func (b *countingBroker) Reset() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.calls = make(map[string]int)
}

func (b *countingBroker) Capabilities() broker.Capabilities {
	c := b.Broker.Capabilities()
	if b.caps != nil {
		c = b.caps(c)
	}
	return c
}

func (b *countingBroker) PlaceOrder(ctx context.Context, req broker.OrderRequest) (broker.Ack, error) {
	b.count("PlaceOrder")
	ack, err := b.Broker.PlaceOrder(ctx, req)
	if err == nil {
		b.mu.Lock()
		b.placed = append(b.placed, placement{req: req, orderID: ack.OrderID})
		b.mu.Unlock()
	}
	return ack, err
}

func (b *countingBroker) CancelOrder(ctx context.Context, id string) error {
	b.count("CancelOrder")
	return b.Broker.CancelOrder(ctx, id)
}

func (b *countingBroker) ReplaceOrder(ctx context.Context, id string, req broker.OrderRequest) (broker.Ack, error) {
	b.count("ReplaceOrder")
	return b.Broker.ReplaceOrder(ctx, id, req)
}

func (b *countingBroker) GetOrder(ctx context.Context, id string) (broker.Order, error) {
	b.count("GetOrder")
	return b.Broker.GetOrder(ctx, id)
}

func (b *countingBroker) OpenOrders(ctx context.Context) ([]broker.Order, error) {
	b.count("OpenOrders")
	return b.Broker.OpenOrders(ctx)
}

func (b *countingBroker) Positions(ctx context.Context) ([]broker.Position, error) {
	b.count("Positions")
	return b.Broker.Positions(ctx)
}

func (b *countingBroker) Quotes(ctx context.Context, symbols ...string) ([]broker.Quote, error) {
	b.count("Quotes")
	b.mu.Lock()
	hold, entered := b.holdQuotes, b.quotesEntered
	b.holdQuotes = nil
	b.mu.Unlock()
	if hold != nil {
		entered <- struct{}{}
		<-hold
	}
	return b.Broker.Quotes(ctx, symbols...)
}

// FindOrder passes the paper broker's lookup through, so that the tracker
// can settle unknown outcomes.
func (b *countingBroker) FindOrder(ctx context.Context, q broker.FindQuery) (broker.FindResult, error) {
	return b.Broker.(broker.OrderFinder).FindOrder(ctx, q)
}

// marketCloses returns the distinct broker orders placed as market orders on
// the side that closes a position of sign long.
func (b *countingBroker) closingMarketOrders(symbol string, long bool) []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var ids []string
	for _, p := range b.placed {
		if p.req.Instrument.Symbol != symbol || p.req.Type != broker.Market || p.req.Side.IsBuy() == long {
			continue
		}
		if !slices.Contains(ids, p.orderID) {
			ids = append(ids, p.orderID)
		}
	}
	return ids
}

// env is a paper broker, a tracker and a supervisor on a fake clock.
type env struct {
	t       *testing.T
	ctx     context.Context
	clock   *clocktest.Fake
	paper   *paper.Broker
	broker  *countingBroker
	tracker *order.Tracker
	orders  *order.MemoryStore
	engine  *risk.Engine
	sup     *stoploss.Supervisor
	cfg     stoploss.Config

	mu     sync.Mutex
	alerts []error
}

// envOptions adjusts the environment before it is built.
type envOptions struct {
	paper  func(*paper.Config)
	caps   func(broker.Capabilities) broker.Capabilities
	config func(*stoploss.Config)
}

var symbols = []broker.Instrument{
	{Symbol: "AAPL", AssetClass: broker.Equity},
	{Symbol: "MSFT", AssetClass: broker.Equity},
	{Symbol: "SPY", AssetClass: broker.Equity},
	{Symbol: "BTC-USD", AssetClass: broker.Crypto},
}

func newEnv(t *testing.T, opts envOptions) *env {
	t.Helper()
	clock := newFakeClock()
	pcfg := paper.Config{Instruments: symbols, AllowShort: true, Clock: clock, Cash: d("10000000")}
	if opts.paper != nil {
		opts.paper(&pcfg)
	}
	pb, err := paper.New(pcfg)
	if err != nil {
		t.Fatal(err)
	}
	cb := &countingBroker{Broker: pb, caps: opts.caps, calls: make(map[string]int)}
	e := &env{t: t, ctx: t.Context(), clock: clock, paper: pb, broker: cb, orders: order.NewMemoryStore()}
	e.tracker = e.newTracker()
	e.engine, err = risk.NewEngine(risk.Config{Positions: pb, Location: time.UTC, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	e.cfg = stoploss.Config{
		Account: "acct-1", Broker: cb, Orders: e.tracker, Clock: clock, Switch: e.engine,
		Store: stoploss.NewMemoryStore(), Lock: stoploss.NewMemoryLock(),
		DefaultPolicy: stoploss.Policy{StopDistance: d("5")},
		Alert: func(err error) {
			e.mu.Lock()
			defer e.mu.Unlock()
			e.alerts = append(e.alerts, err)
		},
	}
	if opts.config != nil {
		opts.config(&e.cfg)
	}
	e.sup = e.newSupervisor(e.cfg)
	return e
}

func (e *env) newTracker() *order.Tracker {
	tr, err := order.NewTracker(order.Config{Broker: e.broker, Store: e.orders, Account: "acct-1", Clock: e.clock})
	if err != nil {
		e.t.Fatal(err)
	}
	return tr
}

func (e *env) newSupervisor(cfg stoploss.Config) *stoploss.Supervisor {
	e.t.Helper()
	s, err := stoploss.New(cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(s.Close)
	return s
}

func (e *env) price(sym, p string) {
	e.t.Helper()
	if err := e.paper.SetPrice(sym, d(p)); err != nil {
		e.t.Fatal(err)
	}
}

// enter sends a market order through the tracker and lets the supervisor
// handle its fills.
func (e *env) enter(sym string, side broker.Side, qty string, req order.Request) order.Order {
	e.t.Helper()
	class := broker.Equity
	if sym == "BTC-USD" {
		class = broker.Crypto
	}
	req.OrderRequest = broker.OrderRequest{Instrument: broker.Instrument{Symbol: sym, AssetClass: class},
		Side: side, Type: broker.Market, Quantity: d(qty), TimeInForce: broker.Day}
	o, err := e.tracker.Submit(e.ctx, req)
	if err != nil {
		e.t.Fatal(err)
	}
	e.handle()
	return o
}

func (e *env) handle() stoploss.Report {
	e.t.Helper()
	rep, err := e.sup.HandleUpdates(e.ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	return rep
}

func (e *env) sweep() stoploss.Report {
	e.t.Helper()
	rep, err := e.sup.Sweep(e.ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	return rep
}

// reconcile plays the host's poll of the tracker, which reports fills the
// broker made on its own (a triggered stop).
func (e *env) reconcile() {
	e.t.Helper()
	if _, err := e.tracker.Reconcile(e.ctx); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) position(sym string) decimal.Decimal {
	e.t.Helper()
	ps, err := e.paper.Positions(e.ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, p := range ps {
		if p.Instrument.Symbol == sym {
			return p.Quantity
		}
	}
	return decimal.Zero
}

// openStops returns the working orders of sym at the broker.
func (e *env) openOrders(sym string) []broker.Order {
	e.t.Helper()
	open, err := e.paper.OpenOrders(e.ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []broker.Order
	for _, o := range open {
		if o.Instrument.Symbol == sym {
			out = append(out, o)
		}
	}
	return out
}

// oneStop asserts that exactly one protective order works for sym and
// returns it.
func (e *env) oneStop(sym string) broker.Order {
	e.t.Helper()
	open := e.openOrders(sym)
	if len(open) != 1 {
		e.t.Fatalf("%s: %d working orders at the broker, want 1: %+v", sym, len(open), open)
	}
	return open[0]
}

func (e *env) record(sym string) (stoploss.Protection, bool) {
	e.t.Helper()
	p, ok, err := e.cfg.Store.Get(e.ctx, "acct-1", sym)
	if err != nil {
		e.t.Fatal(err)
	}
	return p, ok
}

func (e *env) alertsOf(kind errors.Kind) []*errors.StopLossError {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []*errors.StopLossError
	for _, err := range e.alerts {
		var se *errors.StopLossError
		if errors.Is(err, kind) && errors.As(err, &se) {
			out = append(out, se)
		}
	}
	return out
}

func wantCount(t *testing.T, rep stoploss.Report, kind stoploss.EventKind, want int) {
	t.Helper()
	if got := rep.Count(kind); got != want {
		t.Errorf("%s events = %d, want %d; report events: %+v", kind, got, want, rep.Events)
	}
}

func wantDec(t *testing.T, what string, got decimal.Decimal, want string) {
	t.Helper()
	if !got.Equal(d(want)) {
		t.Errorf("%s = %s, want %s", what, got, want)
	}
}

func synthetic(c broker.Capabilities) broker.Capabilities {
	c.NativeStop, c.StopLimit = false, false
	return c
}

func stopLimitOnly(c broker.Capabilities) broker.Capabilities {
	c.NativeStop = false
	return c
}

func noReplace(c broker.Capabilities) broker.Capabilities {
	c.Replace = false
	return c
}
