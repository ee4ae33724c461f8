package brokertest

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/paper"
	"github.com/shopspring/decimal"
)

// recorder is a tb that records failures instead of failing the test, so
// that the suite can be run against brokers that must fail it.
type recorder struct {
	name     string
	ctx      context.Context
	log      *failureLog
	failed   bool
	cleanups []func()
}

type failureLog struct {
	mu       sync.Mutex
	failures []string // "check/name: message"
}

func (r *recorder) Helper()             {}
func (r *recorder) Logf(string, ...any) {}
func (r *recorder) Errorf(format string, args ...any) {
	r.failed = true
	r.log.mu.Lock()
	defer r.log.mu.Unlock()
	r.log.failures = append(r.log.failures, r.name+": "+fmt.Sprintf(format, args...))
}
func (r *recorder) Fatalf(format string, args ...any) {
	r.Errorf(format, args...)
	runtime.Goexit()
}
func (r *recorder) Skipf(string, ...any)     { runtime.Goexit() }
func (r *recorder) Context() context.Context { return r.ctx }
func (r *recorder) Cleanup(f func())         { r.cleanups = append(r.cleanups, f) }

// Run runs f on a child recorder in its own goroutine, as testing.T does,
// so that Fatalf and Skipf end only the child.
func (r *recorder) Run(name string, f func(tb)) bool {
	child := &recorder{name: strings.TrimPrefix(r.name+"/"+name, "/"), ctx: r.ctx, log: r.log}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer child.runCleanups()
		f(child)
	}()
	<-done
	if child.failed {
		r.failed = true
	}
	return !child.failed
}

func (r *recorder) runCleanups() {
	for i := len(r.cleanups) - 1; i >= 0; i-- {
		r.cleanups[i]()
	}
}

// runRecorded runs the suite against h and returns the failures it reported.
func runRecorded(t *testing.T, h Harness) []string {
	root := &recorder{ctx: t.Context(), log: &failureLog{}}
	root.Run("", func(t tb) { run(t, h) })
	return root.log.failures
}

// paperHarness returns a harness around a fresh paper broker and the broker.
func paperHarness(t *testing.T) (Harness, *paper.Broker) {
	t.Helper()
	b, err := paper.New(paper.Config{QuoteBatchSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	symbols := []string{"AAPL", "MSFT", "SPY", "QQQ", "IWM"}
	for _, sym := range symbols {
		if err := b.SetPrice(sym, decimal.NewFromInt(100)); err != nil {
			t.Fatal(err)
		}
	}
	return Harness{
		Broker:          b,
		Instrument:      broker.Instrument{Symbol: "AAPL", AssetClass: broker.Equity},
		Quantity:        decimal.NewFromInt(4),
		RestingLimitBuy: decimal.RequireFromString("90.00"),
		Fill:            b.Execute,
		QuoteSymbols:    symbols,
	}, b
}

// doubleCounting reports the last fill of an order twice.
type doubleCounting struct{ *paper.Broker }

func (d doubleCounting) GetOrder(ctx context.Context, id string) (broker.Order, error) {
	o, err := d.Broker.GetOrder(ctx, id)
	if n := len(o.Fills); err == nil && n > 0 {
		last := o.Fills[n-1]
		o.Fills = append(o.Fills, last)
		o.FilledQuantity = o.FilledQuantity.Add(last.Quantity)
	}
	return o, err
}

// duplicating places a second order for a repeated client order id.
type duplicating struct {
	*paper.Broker
	mu   sync.Mutex
	seen map[string]int
}

func (d *duplicating) PlaceOrder(ctx context.Context, req broker.OrderRequest) (broker.Ack, error) {
	d.mu.Lock()
	d.seen[req.ClientOrderID]++
	n := d.seen[req.ClientOrderID]
	d.mu.Unlock()
	if n > 1 {
		req.ClientOrderID = broker.DeriveClientOrderID(req.ClientOrderID, fmt.Sprint(n))
	}
	return d.Broker.PlaceOrder(ctx, req)
}

// hiddenDuplicate answers a repeated client order id with the first order's
// Ack but still creates a second order behind it.
type hiddenDuplicate struct{ duplicating }

func (d *hiddenDuplicate) PlaceOrder(ctx context.Context, req broker.OrderRequest) (broker.Ack, error) {
	first, err := d.Broker.PlaceOrder(ctx, req)
	if err != nil {
		return first, err
	}
	_, _ = d.duplicating.PlaceOrder(ctx, req) // counts the id; the second call places a copy
	return first, nil
}

// unclassified returns plain errors for unknown orders.
type unclassified struct{ *paper.Broker }

func (u unclassified) GetOrder(ctx context.Context, id string) (broker.Order, error) {
	o, err := u.Broker.GetOrder(ctx, id)
	if err != nil {
		return o, fmt.Errorf("no such order %s", id)
	}
	return o, nil
}

// cancelsAnything accepts a cancel of a filled order.
type cancelsAnything struct{ *paper.Broker }

func (c cancelsAnything) CancelOrder(ctx context.Context, id string) error {
	if o, err := c.Broker.GetOrder(ctx, id); err == nil && o.Status == broker.StatusFilled {
		return nil
	}
	return c.Broker.CancelOrder(ctx, id)
}

// oneBatch answers only the first batch of a quote request.
type oneBatch struct{ *paper.Broker }

func (o oneBatch) Quotes(ctx context.Context, symbols ...string) ([]broker.Quote, error) {
	if n := o.Capabilities().QuoteBatchSize; len(symbols) > n {
		symbols = symbols[:n]
	}
	return o.Broker.Quotes(ctx, symbols...)
}

// keepsReplaced leaves a replaced order in OpenOrders.
type keepsReplaced struct {
	*paper.Broker
	mu       sync.Mutex
	replaced []string
}

func (k *keepsReplaced) ReplaceOrder(ctx context.Context, id string, req broker.OrderRequest) (broker.Ack, error) {
	k.mu.Lock()
	k.replaced = append(k.replaced, id)
	k.mu.Unlock()
	return k.Broker.ReplaceOrder(ctx, id, req)
}

func (k *keepsReplaced) OpenOrders(ctx context.Context) ([]broker.Order, error) {
	open, err := k.Broker.OpenOrders(ctx)
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, id := range k.replaced {
		o, _ := k.Broker.GetOrder(ctx, id)
		o.Status = broker.StatusNew
		open = append(open, o)
	}
	return open, err
}

// claimingFinder forgets an order once a lookup has reported it, as an
// adapter that adopts what it finds would.
type claimingFinder struct {
	*paper.Broker
	mu      sync.Mutex
	claimed map[string]bool
}

func (c *claimingFinder) FindOrder(ctx context.Context, q broker.FindQuery) (broker.FindResult, error) {
	res, err := c.Broker.FindOrder(ctx, q)
	c.mu.Lock()
	defer c.mu.Unlock()
	var kept []broker.Order
	for _, o := range res.Candidates {
		if !c.claimed[o.OrderID] {
			kept = append(kept, o)
		}
		c.claimed[o.OrderID] = true
	}
	res.Candidates = kept
	return res, err
}

// validatingFinder refuses to look up a request it would not send.
type validatingFinder struct{ *paper.Broker }

func (v validatingFinder) FindOrder(ctx context.Context, q broker.FindQuery) (broker.FindResult, error) {
	if !q.Request.Quantity.IsPositive() {
		return broker.FindResult{}, &errors.BrokerError{Broker: "paper", Kind: errors.ErrInvalidOrder, Message: "quantity"}
	}
	return v.Broker.FindOrder(ctx, q)
}

// incompleteFinder never claims a complete search.
type incompleteFinder struct{ *paper.Broker }

func (f incompleteFinder) FindOrder(ctx context.Context, q broker.FindQuery) (broker.FindResult, error) {
	res, err := f.Broker.FindOrder(ctx, q)
	res.Complete = false
	return res, err
}

// shortLister drops the newest order of every listing.
type shortLister struct{ *paper.Broker }

func (s shortLister) Orders(ctx context.Context, q broker.OrderQuery) ([]broker.Order, error) {
	orders, err := s.Broker.Orders(ctx, q)
	if n := len(orders); n > 0 {
		orders = orders[:n-1]
	}
	return orders, err
}

// unfilteredLister ignores the query's filter.
type unfilteredLister struct{ *paper.Broker }

func (u unfilteredLister) Orders(ctx context.Context, q broker.OrderQuery) ([]broker.Order, error) {
	q.Filter = broker.FilterAll
	return u.Broker.Orders(ctx, q)
}

// leavesOnTerminal reports the order's quantity as still working after it
// ended.
type leavesOnTerminal struct{ *paper.Broker }

func (l leavesOnTerminal) GetOrder(ctx context.Context, id string) (broker.Order, error) {
	o, err := l.Broker.GetOrder(ctx, id)
	if o.Status.Terminal() {
		o.LeavesQuantity = o.Quantity
	}
	return o, err
}

// refusingChecker refuses every request.
type refusingChecker struct{ *paper.Broker }

func (refusingChecker) CheckOrder(broker.OrderRequest) error {
	return &errors.BrokerError{Broker: "paper", Kind: errors.ErrNotSupported, Message: "everything"}
}

// placingPreviewer places the order it was asked to preview.
type placingPreviewer struct{ *paper.Broker }

func (p placingPreviewer) PreviewOrder(ctx context.Context, req broker.OrderRequest) (broker.Preview, error) {
	if _, err := p.Broker.PlaceOrder(ctx, req); err != nil {
		return broker.Preview{}, err
	}
	return p.Broker.PreviewOrder(ctx, req)
}

func TestSuitePassesPaper(t *testing.T) {
	h, _ := paperHarness(t)
	if failures := runRecorded(t, h); len(failures) != 0 {
		t.Errorf("the suite failed the paper broker:\n%s", strings.Join(failures, "\n"))
	}
}

func TestSuiteCatchesBrokenBrokers(t *testing.T) {
	tests := []struct {
		name      string
		wrap      func(*paper.Broker) broker.Broker
		wantCheck string // a check that must report a failure
	}{
		{"double-counted fill", func(b *paper.Broker) broker.Broker { return doubleCounting{b} }, "partial-then-full-fill"},
		{"duplicate client order id", func(b *paper.Broker) broker.Broker {
			return &duplicating{Broker: b, seen: map[string]int{}}
		}, "idempotent-client-order-id"},
		{"hidden duplicate order", func(b *paper.Broker) broker.Broker {
			return &hiddenDuplicate{duplicating{Broker: b, seen: map[string]int{}}}
		}, "idempotent-client-order-id"},
		{"unclassified not found", func(b *paper.Broker) broker.Broker { return unclassified{b} }, "errors-classified"},
		{"cancel of a filled order accepted", func(b *paper.Broker) broker.Broker { return cancelsAnything{b} }, "partial-then-full-fill"},
		{"quotes of the first batch only", func(b *paper.Broker) broker.Broker { return oneBatch{b} }, "quotes"},
		{"replaced order still open", func(b *paper.Broker) broker.Broker { return &keepsReplaced{Broker: b} }, "replace"},
		{"lookup claims what it found", func(b *paper.Broker) broker.Broker {
			return &claimingFinder{Broker: b, claimed: map[string]bool{}}
		}, "find-order"},
		{"lookup validates the request", func(b *paper.Broker) broker.Broker { return validatingFinder{b} }, "errors-classified"},
		{"lookup never complete", func(b *paper.Broker) broker.Broker { return incompleteFinder{b} }, "find-order"},
		{"listing cut short", func(b *paper.Broker) broker.Broker { return shortLister{b} }, "order-lister"},
		{"listing ignores the filter", func(b *paper.Broker) broker.Broker { return unfilteredLister{b} }, "order-lister"},
		{"leaves quantity on a terminal order", func(b *paper.Broker) broker.Broker { return leavesOnTerminal{b} }, "place-get-cancel"},
		{"checker refuses a plain limit order", func(b *paper.Broker) broker.Broker { return refusingChecker{b} }, "order-checker"},
		{"preview places the order", func(b *paper.Broker) broker.Broker { return placingPreviewer{b} }, "preview"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, b := paperHarness(t)
			h.Broker = tt.wrap(b)
			failures := runRecorded(t, h)
			caught := false
			for _, f := range failures {
				caught = caught || strings.HasPrefix(f, tt.wantCheck+":")
			}
			if !caught {
				t.Errorf("the suite did not report %s in check %s; failures:\n%s", tt.name, tt.wantCheck, strings.Join(failures, "\n"))
			}
			t.Logf("reported:\n%s", strings.Join(failures, "\n"))
		})
	}
}

func TestHarnessMissingFieldsFail(t *testing.T) {
	h, _ := paperHarness(t)
	tests := map[string]func(*Harness){
		"no broker":          func(h *Harness) { h.Broker = nil },
		"no fill":            func(h *Harness) { h.Fill = nil },
		"no symbol":          func(h *Harness) { h.Instrument.Symbol = "" },
		"zero quantity":      func(h *Harness) { h.Quantity = decimal.Zero },
		"negative limit buy": func(h *Harness) { h.RestingLimitBuy = decimal.NewFromInt(-1) },
	}
	for name, breakIt := range tests {
		t.Run(name, func(t *testing.T) {
			broken := h
			breakIt(&broken)
			if failures := runRecorded(t, broken); len(failures) != 1 || !strings.Contains(failures[0], "Harness.") {
				t.Errorf("failures = %q, want one naming the Harness field", failures)
			}
		})
	}
}
