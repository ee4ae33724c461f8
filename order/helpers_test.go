package order_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/clock/clocktest"
	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/order"
	"github.com/arbiontrader/arbion/paper"
	"github.com/google/go-cmp/cmp"
	"github.com/shopspring/decimal"
)

// newClock returns a manual clock at a fixed instant.
func newClock() *clocktest.Fake { return clocktest.New(time.Date(2026, 3, 2, 14, 30, 0, 0, time.UTC)) }

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

var (
	aapl = broker.Instrument{Symbol: "AAPL", AssetClass: broker.Equity}
	btc  = broker.Instrument{Symbol: "BTC-USD", AssetClass: broker.Crypto}
)

// counting wraps a broker, counts its calls and lets a test replace some.
type counting struct {
	broker.Broker
	finder broker.OrderFinder

	place, cancel, replace, get, open, find atomic.Int64

	// placeFn, when set, answers PlaceOrder instead of the wrapped broker.
	placeFn func(ctx context.Context, req broker.OrderRequest) (broker.Ack, error)
	// replaceFn, when set, answers ReplaceOrder instead of the wrapped broker.
	replaceFn func(ctx context.Context, id string, req broker.OrderRequest) (broker.Ack, error)
}

func newCounting(b broker.Broker) *counting {
	c := &counting{Broker: b}
	c.finder, _ = b.(broker.OrderFinder)
	return c
}

func (c *counting) PlaceOrder(ctx context.Context, req broker.OrderRequest) (broker.Ack, error) {
	c.place.Add(1)
	if c.placeFn != nil {
		return c.placeFn(ctx, req)
	}
	return c.Broker.PlaceOrder(ctx, req)
}

func (c *counting) CancelOrder(ctx context.Context, id string) error {
	c.cancel.Add(1)
	return c.Broker.CancelOrder(ctx, id)
}

func (c *counting) ReplaceOrder(ctx context.Context, id string, req broker.OrderRequest) (broker.Ack, error) {
	c.replace.Add(1)
	if c.replaceFn != nil {
		return c.replaceFn(ctx, id, req)
	}
	return c.Broker.ReplaceOrder(ctx, id, req)
}

func (c *counting) GetOrder(ctx context.Context, id string) (broker.Order, error) {
	c.get.Add(1)
	return c.Broker.GetOrder(ctx, id)
}

func (c *counting) OpenOrders(ctx context.Context) ([]broker.Order, error) {
	c.open.Add(1)
	return c.Broker.OpenOrders(ctx)
}

func (c *counting) FindOrder(ctx context.Context, q broker.FindQuery) (broker.FindResult, error) {
	c.find.Add(1)
	return c.finder.FindOrder(ctx, q)
}

func (c *counting) calls() int64 {
	return c.place.Load() + c.cancel.Load() + c.replace.Load() + c.get.Load() + c.open.Load() + c.find.Load()
}

// noFinder hides a broker's OrderFinder (embedding the interface exposes
// only the Broker methods).
type noFinder struct{ broker.Broker }

// env is a paper broker with prices, a counting wrapper and a tracker.
type env struct {
	paper   *paper.Broker
	broker  *counting
	store   *order.MemoryStore
	clock   *clocktest.Fake
	tracker *order.Tracker
}

func newEnv(t *testing.T, pcfg paper.Config, mutate ...func(*order.Config)) *env {
	t.Helper()
	e := &env{clock: newClock(), store: order.NewMemoryStore()}
	if pcfg.Clock == nil {
		pcfg.Clock = e.clock
	}
	p, err := paper.New(pcfg)
	if err != nil {
		t.Fatal(err)
	}
	e.paper = p
	for sym, px := range map[string]string{"AAPL": "100", "BTC-USD": "60000"} {
		if err := p.SetPrice(sym, dec(px)); err != nil {
			t.Fatal(err)
		}
	}
	e.broker = newCounting(p)
	cfg := order.Config{Broker: e.broker, Store: e.store, Clock: e.clock, Account: "paper"}
	for _, m := range mutate {
		m(&cfg)
	}
	e.tracker, err = order.NewTracker(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func limitBuy(qty, px string) order.Request {
	return order.Request{OrderRequest: broker.OrderRequest{Instrument: aapl, Side: broker.Buy,
		Type: broker.Limit, Quantity: dec(qty), LimitPrice: dec(px), TimeInForce: broker.GTC}}
}

func marketBuy(in broker.Instrument, qty string) order.Request {
	return order.Request{OrderRequest: broker.OrderRequest{Instrument: in, Side: broker.Buy,
		Type: broker.Market, Quantity: dec(qty), TimeInForce: broker.Day}}
}

func (e *env) submit(t *testing.T, req order.Request) order.Order {
	t.Helper()
	o, err := e.tracker.Submit(t.Context(), req)
	if err != nil {
		t.Fatalf("Submit: %v", err)
	}
	return o
}

func (e *env) get(t *testing.T, localID string) order.Order {
	t.Helper()
	o, err := e.tracker.Get(t.Context(), localID)
	if err != nil {
		t.Fatalf("Get(%s): %v", localID, err)
	}
	return o
}

func (e *env) reconcile(t *testing.T) order.ReconcileReport {
	t.Helper()
	rep, err := e.tracker.Reconcile(t.Context())
	if err != nil {
		t.Fatalf("Reconcile: %v", err)
	}
	return rep
}

func (e *env) execute(t *testing.T, brokerID, qty, px string) {
	t.Helper()
	if err := e.paper.Execute(t.Context(), brokerID, dec(qty), dec(px)); err != nil {
		t.Fatalf("Execute: %v", err)
	}
}

func wantKind(t *testing.T, err error, kind errors.Kind) {
	t.Helper()
	if !errors.Is(err, kind) {
		t.Fatalf("error = %v, want one matching %q", err, kind)
	}
}

func wantStatus(t *testing.T, o order.Order, want broker.Status) {
	t.Helper()
	if o.Status != want {
		t.Fatalf("order %s status = %s, want %s", o.LocalID, o.Status, want)
	}
}

func wantDec(t *testing.T, what string, got decimal.Decimal, want string) {
	t.Helper()
	if !got.Equal(dec(want)) {
		t.Errorf("%s = %s, want %s", what, got, want)
	}
}

// cmpOrder compares records: decimals by value.
var cmpOrder = cmp.Options{
	cmp.Comparer(func(a, b decimal.Decimal) bool { return a.Equal(b) }),
}
