package broker_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/clock"
	"github.com/arbiontrader/arbion/errors"
	"github.com/google/go-cmp/cmp"
	"github.com/shopspring/decimal"
)

// countingBroker is a fake Broker that quotes the symbols in prices and
// records every upstream Quotes call. Its other methods answer fixed values.
type countingBroker struct {
	mu      sync.Mutex
	prices  map[string]string
	calls   [][]string      // the symbols of each Quotes call
	release <-chan struct{} // when set, Quotes waits for it
	entered chan<- struct{} // when set, Quotes signals on it first
	err     error           // returned by every call when set
}

func (f *countingBroker) Name() string { return "fake" }
func (f *countingBroker) Capabilities() broker.Capabilities {
	return broker.Capabilities{QuoteBatchSize: 2}
}
func (f *countingBroker) PlaceOrder(context.Context, broker.OrderRequest) (broker.Ack, error) {
	return broker.Ack{OrderID: "1"}, f.err
}
func (f *countingBroker) CancelOrder(context.Context, string) error { return f.err }
func (f *countingBroker) ReplaceOrder(context.Context, string, broker.OrderRequest) (broker.Ack, error) {
	return broker.Ack{OrderID: "2"}, f.err
}
func (f *countingBroker) GetOrder(_ context.Context, id string) (broker.Order, error) {
	return broker.Order{OrderID: id}, f.err
}
func (f *countingBroker) OpenOrders(context.Context) ([]broker.Order, error) {
	return []broker.Order{{OrderID: "1"}}, f.err
}
func (f *countingBroker) Positions(context.Context) ([]broker.Position, error) { return nil, f.err }
func (f *countingBroker) Account(context.Context) (broker.Account, error) {
	return broker.Account{ID: "acct"}, f.err
}

func (f *countingBroker) Quotes(ctx context.Context, symbols ...string) ([]broker.Quote, error) {
	f.mu.Lock()
	f.calls = append(f.calls, slices.Clone(symbols))
	f.mu.Unlock()
	if f.entered != nil {
		f.entered <- struct{}{}
	}
	if f.release != nil {
		<-f.release
	}
	if f.err != nil {
		return nil, f.err
	}
	var out []broker.Quote
	for _, s := range symbols {
		if p, ok := f.prices[s]; ok {
			out = append(out, broker.Quote{Symbol: s, Last: decimal.RequireFromString(p)})
		}
	}
	return out, nil
}

func (f *countingBroker) callCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls)
}

// settableClock is a clock a test sets by hand.
type settableClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *settableClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *settableClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

var t0 = time.Date(2026, 3, 2, 14, 30, 0, 0, time.UTC)

func symbolsOf(quotes []broker.Quote) []string {
	out := make([]string, len(quotes))
	for i, q := range quotes {
		out[i] = q.Symbol
	}
	return out
}

func newCache(t *testing.T, inner broker.Broker, ttl time.Duration, clock *settableClock) broker.Broker {
	t.Helper()
	c, err := broker.NewQuoteCache(inner, ttl, broker.WithCacheClock(funcClock(clock.Now)))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestQuoteCacheTTLBoundary(t *testing.T) {
	const ttl = 60 * time.Second
	ctx := context.Background()
	inner := &countingBroker{prices: map[string]string{"AAPL": "150"}}
	clock := &settableClock{now: t0}
	c := newCache(t, inner, ttl, clock)
	steps := []struct {
		at        time.Duration
		wantCalls int
	}{
		{0, 1},                     // miss
		{ttl - time.Nanosecond, 1}, // served from the cache
		{ttl, 2},                   // expired exactly at the TTL: refetched
		{ttl + ttl - 1, 2},         // the refetched entry is fresh for its own TTL
		{ttl + ttl, 3},             // and expires too
		{10 * ttl, 4},              // long after
		{10*ttl + time.Millisecond, 4},
	}
	for _, s := range steps {
		clock.Set(t0.Add(s.at))
		quotes, err := c.Quotes(ctx, "AAPL")
		if err != nil || len(quotes) != 1 || quotes[0].Symbol != "AAPL" {
			t.Fatalf("at +%s: Quotes = %v, %v", s.at, quotes, err)
		}
		if got := inner.callCount(); got != s.wantCalls {
			t.Errorf("at +%s: %d upstream calls, want %d", s.at, got, s.wantCalls)
		}
	}
}

func TestQuoteCacheBatchesMisses(t *testing.T) {
	ctx := context.Background()
	inner := &countingBroker{prices: map[string]string{"AAPL": "150", "MSFT": "400", "SPY": "500", "QQQ": "430"}}
	clock := &settableClock{now: t0}
	c := newCache(t, inner, time.Minute, clock)
	if _, err := c.Quotes(ctx, "AAPL"); err != nil {
		t.Fatal(err)
	}
	quotes, err := c.Quotes(ctx, "MSFT", "AAPL", "NOPE", "SPY", "MSFT", "QQQ")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"MSFT", "AAPL", "SPY", "QQQ"}, symbolsOf(quotes)); diff != "" {
		t.Errorf("quotes (-want +got)\n%s", diff)
	}
	want := [][]string{{"AAPL"}, {"MSFT", "NOPE", "SPY", "QQQ"}}
	if diff := cmp.Diff(want, inner.calls); diff != "" {
		t.Errorf("upstream calls (-want +got)\n%s", diff)
	}
	// The unknown symbol is not cached: asking again asks upstream again.
	if quotes, _ := c.Quotes(ctx, "NOPE", "SPY"); len(quotes) != 1 || inner.callCount() != 3 {
		t.Errorf("unknown symbol: %v, %d calls; want SPY alone and a third call for NOPE", symbolsOf(quotes), inner.callCount())
	}
	if quotes, err := c.Quotes(ctx); quotes != nil || err != nil {
		t.Errorf("Quotes() = %v, %v; want nothing", quotes, err)
	}
}

func TestQuoteCacheMissStormMakesOneCall(t *testing.T) {
	const callers = 100
	release := make(chan struct{})
	inner := &countingBroker{prices: map[string]string{"AAPL": "150"}, release: release}
	// Every caller reads the clock once, under the cache's lock, while it
	// decides to fetch or to wait: after the 100th read every caller has
	// decided, and only then is the upstream call let go.
	decided := make(chan struct{}, callers)
	c, err := broker.NewQuoteCache(inner, time.Minute, broker.WithCacheClock(funcClock(func() time.Time {
		decided <- struct{}{}
		return t0
	})))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	got := make([][]broker.Quote, callers)
	errs := make([]error, callers)
	for i := range callers {
		wg.Go(func() { got[i], errs[i] = c.Quotes(context.Background(), "AAPL") })
	}
	for range callers {
		<-decided
	}
	close(release)
	wg.Wait()
	if n := inner.callCount(); n != 1 {
		t.Errorf("%d callers missing on one symbol made %d upstream calls, want 1", callers, n)
	}
	for i := range callers {
		if errs[i] != nil || len(got[i]) != 1 || !got[i][0].Last.Equal(decimal.NewFromInt(150)) {
			t.Fatalf("caller %d: %v, %v", i, got[i], errs[i])
		}
	}
}

func TestQuoteCacheErrors(t *testing.T) {
	ctx := context.Background()
	boom := &errors.BrokerError{Broker: "fake", Op: "quotes", Kind: errors.ErrRateLimited}
	inner := &countingBroker{prices: map[string]string{"AAPL": "150"}, err: boom}
	clock := &settableClock{now: t0}
	c := newCache(t, inner, time.Minute, clock)
	if _, err := c.Quotes(ctx, "AAPL"); !errors.Is(err, errors.ErrRateLimited) {
		t.Errorf("upstream failure: %v, want it returned", err)
	}
	inner.err = nil
	if quotes, err := c.Quotes(ctx, "AAPL"); err != nil || len(quotes) != 1 || inner.callCount() != 2 {
		t.Errorf("after a failure: %v, %v, %d calls; want a fresh fetch (failures are not cached)", quotes, err, inner.callCount())
	}

	// A caller waiting on another's fetch gives up with its own context.
	release := make(chan struct{})
	entered := make(chan struct{}, 1)
	slow := &countingBroker{prices: map[string]string{"AAPL": "150"}, release: release, entered: entered}
	c = newCache(t, slow, time.Minute, clock)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = c.Quotes(context.Background(), "AAPL")
	}()
	<-entered
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := c.Quotes(cancelled, "AAPL"); !errors.Is(err, context.Canceled) || !errors.Is(err, errors.ErrTimeout) {
		t.Errorf("waiting with a cancelled context: %v, want context.Canceled as ErrTimeout", err)
	}
	close(release)
	<-done
}

func TestQuoteCachePassesThrough(t *testing.T) {
	ctx := context.Background()
	inner := &countingBroker{}
	c := newCache(t, inner, time.Minute, &settableClock{now: t0})
	if c.Name() != "fake" || c.Capabilities().QuoteBatchSize != 2 {
		t.Errorf("Name/Capabilities not passed through")
	}
	if ack, err := c.PlaceOrder(ctx, broker.OrderRequest{}); err != nil || ack.OrderID != "1" {
		t.Errorf("PlaceOrder = %v, %v", ack, err)
	}
	if o, err := c.GetOrder(ctx, "7"); err != nil || o.OrderID != "7" {
		t.Errorf("GetOrder = %v, %v", o, err)
	}
	if acct, err := c.Account(ctx); err != nil || acct.ID != "acct" {
		t.Errorf("Account = %v, %v", acct, err)
	}
	if _, ok := broker.Find[broker.OrderFinder](c); ok {
		t.Errorf("the cache claims OrderFinder over a broker without it")
	}
}

func TestDecoratorConfiguration(t *testing.T) {
	inner := &countingBroker{}
	if _, err := broker.NewQuoteCache(nil, time.Minute); !errors.Is(err, errors.ErrConfiguration) {
		t.Errorf("nil broker: %v", err)
	}
	for _, ttl := range []time.Duration{0, -time.Second} {
		if _, err := broker.NewQuoteCache(inner, ttl); !errors.Is(err, errors.ErrConfiguration) {
			t.Errorf("ttl %s: %v", ttl, err)
		}
	}
	if _, err := broker.WithObserver(nil, broker.ObserverFunc(func(context.Context, broker.Observation) {})); !errors.Is(err, errors.ErrConfiguration) {
		t.Errorf("nil broker: %v", err)
	}
	if b, err := broker.WithObserver(inner, nil); err != nil || b != broker.Broker(inner) {
		t.Errorf("nil observer: %v, %v; want the broker itself", b, err)
	}
}

// funcClock is a clock.Clock reading the time from a function, for tests
// that count or step the reads; its timers are real (the cache and the
// observer make none).
type funcClock func() time.Time

func (f funcClock) Now() time.Time { return f() }

func (funcClock) NewTimer(d time.Duration) clock.Timer { return clock.Real().NewTimer(d) }
