package pollstream_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/broker/pollstream"
	"github.com/arbiontrader/arbion/clock/clocktest"
	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/paper"
	"github.com/google/go-cmp/cmp"
	"github.com/shopspring/decimal"
	"golang.org/x/time/rate"
)

var (
	epoch = time.Date(2026, 3, 2, 14, 30, 0, 0, time.UTC)
	aapl  = broker.Instrument{Symbol: "AAPL", AssetClass: broker.Equity}
)

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

// recording wraps a broker, records the time of each call by module and
// can fail OpenOrders.
type recording struct {
	broker.Broker
	clk        *clocktest.Fake
	mu         sync.Mutex
	orderCalls []time.Time
	quoteCalls []time.Time
	failOpen   atomic.Bool
}

func (r *recording) note(list *[]time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	*list = append(*list, r.clk.Now())
}

func (r *recording) OpenOrders(ctx context.Context) ([]broker.Order, error) {
	r.note(&r.orderCalls)
	if r.failOpen.Load() {
		return nil, &errors.BrokerError{Broker: "test", Op: "open orders", Kind: errors.ErrBrokerUnavailable}
	}
	return r.Broker.OpenOrders(ctx)
}

func (r *recording) GetOrder(ctx context.Context, id string) (broker.Order, error) {
	r.note(&r.orderCalls)
	return r.Broker.GetOrder(ctx, id)
}

func (r *recording) Quotes(ctx context.Context, syms ...string) ([]broker.Quote, error) {
	r.note(&r.quoteCalls)
	return r.Broker.Quotes(ctx, syms...)
}

// withLister adds the paper broker's order history to a recording broker.
type withLister struct{ *recording }

func (w withLister) Orders(ctx context.Context, q broker.OrderQuery) ([]broker.Order, error) {
	w.note(&w.orderCalls)
	return w.Broker.(broker.OrderLister).Orders(ctx, q)
}

func newPaper(t *testing.T, clk *clocktest.Fake) *paper.Broker {
	t.Helper()
	p, err := paper.New(paper.Config{Clock: clk, Cash: dec("1000000"), QuoteBatchSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	for _, sym := range []string{"AAPL", "MSFT", "IBM"} {
		if err := p.SetPrice(sym, dec("100")); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

func place(t *testing.T, p *paper.Broker, qty, px string) string {
	t.Helper()
	ack, err := p.PlaceOrder(t.Context(), broker.OrderRequest{ClientOrderID: broker.NewClientOrderID(),
		Instrument: aapl, Side: broker.Buy, Type: broker.Limit, Quantity: dec(qty), LimitPrice: dec(px),
		TimeInForce: broker.GTC})
	if err != nil {
		t.Fatal(err)
	}
	return ack.OrderID
}

type summary struct {
	Kind   string
	ID     string
	Status broker.Status
	Filled string
}

func next(t *testing.T, s broker.OrderStream) summary {
	t.Helper()
	ev, ok := <-s.Events()
	if !ok {
		t.Fatal("stream ended")
	}
	return summary{ev.Kind.String(), ev.OrderID, ev.Snapshot.Status, ev.Snapshot.FilledQuantity.String()}
}

func TestStreamOrdersEmitsWhatChanged(t *testing.T) {
	for _, lister := range []bool{false, true} {
		t.Run(map[bool]string{false: "GetOrder", true: "OrderLister"}[lister], func(t *testing.T) {
			clk := clocktest.New(epoch)
			p := newPaper(t, clk)
			rec := &recording{Broker: p, clk: clk}
			var b broker.Broker = rec
			if lister {
				b = withLister{rec}
			}
			// No budget waits here (TestBudgetIsKept checks them): each
			// poll runs at the tick that starts it.
			src, err := pollstream.New(pollstream.Config{Broker: b, Clock: clk, OrderRate: rate.Inf})
			if err != nil {
				t.Fatal(err)
			}
			id1 := place(t, p, "10", "99")
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			s, err := src.StreamOrders(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(summary{"snapshot", id1, broker.StatusNew, "0"}, next(t, s)); diff != "" {
				t.Errorf("baseline (-want +got):\n%s", diff)
			}
			tick := func() {
				t.Helper()
				if err := clk.WaitForWaiters(t.Context(), 1); err != nil {
					t.Fatal(err)
				}
				clk.Advance(pollstream.DefaultOrderPeriod)
			}
			// Nothing changed: a poll emits nothing; then a partial fill.
			tick()
			if err := clk.WaitForWaiters(t.Context(), 1); err != nil { // the quiet poll is done
				t.Fatal(err)
			}
			if err := p.Execute(ctx, id1, dec("4"), dec("99")); err != nil {
				t.Fatal(err)
			}
			tick()
			if diff := cmp.Diff(summary{"snapshot", id1, broker.StatusPartiallyFilled, "4"}, next(t, s)); diff != "" {
				t.Errorf("after a fill (-want +got):\n%s", diff)
			}
			// The order fills and leaves the open list.
			if err := p.Execute(ctx, id1, dec("6"), dec("99")); err != nil {
				t.Fatal(err)
			}
			tick()
			if diff := cmp.Diff(summary{"snapshot", id1, broker.StatusFilled, "10"}, next(t, s)); diff != "" {
				t.Errorf("after the last fill (-want +got):\n%s", diff)
			}
			// A failed poll: not live; the next good one reports a gap.
			rec.failOpen.Store(true)
			if err := clk.WaitForWaiters(t.Context(), 1); err != nil {
				t.Fatal(err)
			}
			clk.Advance(pollstream.DefaultIdleOrderPeriod)
			if err := clk.WaitForWaiters(t.Context(), 1); err != nil {
				t.Fatal(err)
			}
			if st := s.Status(); st.Live || st.LastError == nil {
				t.Errorf("status after a failed poll = %+v, want not live with the error", st)
			}
			rec.failOpen.Store(false)
			clk.Advance(pollstream.DefaultIdleOrderPeriod)
			if got := next(t, s); got.Kind != "gap" {
				t.Errorf("after recovery got %+v, want a gap", got)
			}
			if st := s.Status(); !st.Live || st.Reconnects != 1 {
				t.Errorf("status after recovery = %+v, want live, 1 reconnect", st)
			}
			cancel()
			for range s.Events() {
			}
		})
	}
}

// TestBudgetIsKept polls as fast as the budget allows (tiny periods, an
// auto-advancing clock), one module at a time, and checks the spacing of
// the calls: never more than the per-second limit within a second, and
// spread so that no hour can hold more than the hourly limit.
func TestBudgetIsKept(t *testing.T) {
	check := func(t *testing.T, calls []time.Time, perSecond int, perHour float64) {
		t.Helper()
		if len(calls) < 20 {
			t.Fatalf("only %d calls", len(calls))
		}
		minGap := time.Duration(float64(time.Second) / (perHour / 3600))
		for i := 1; i < len(calls); i++ {
			if gap := calls[i].Sub(calls[i-1]); gap < minGap {
				t.Fatalf("calls %d and %d are %s apart, the budget needs %s", i-1, i, gap, minGap)
			}
			if i >= perSecond && calls[i].Sub(calls[i-perSecond]) < time.Second {
				t.Fatalf("more than %d calls within a second", perSecond)
			}
		}
	}
	t.Run("orders", func(t *testing.T) {
		clk := clocktest.NewAuto(epoch)
		p := newPaper(t, clk)
		rec := &recording{Broker: p, clk: clk}
		src, err := pollstream.New(pollstream.Config{Broker: withLister{rec}, Clock: clk, OrderPeriod: time.Millisecond,
			IdleOrderPeriod: time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		s, err := src.StreamOrders(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for range 30 { // each new order is seen by a later poll
			id := place(t, p, "1", "50")
			for ev := range s.Events() {
				if ev.OrderID == id {
					break
				}
			}
		}
		cancel()
		for range s.Events() {
		}
		rec.mu.Lock()
		defer rec.mu.Unlock()
		check(t, rec.orderCalls, 2, 7000)
		if got := src.Requests(); got.Orders != int64(len(rec.orderCalls)) {
			t.Errorf("Requests = %+v, recorded %d order calls", got, len(rec.orderCalls))
		}
	})
	t.Run("quotes", func(t *testing.T) {
		clk := clocktest.NewAuto(epoch)
		p := newPaper(t, clk)
		rec := &recording{Broker: p, clk: clk}
		src, err := pollstream.New(pollstream.Config{Broker: rec, Clock: clk, QuotePeriod: time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		qs, err := src.StreamQuotes(ctx, "AAPL", "MSFT", "IBM") // two batches of 2
		if err != nil {
			t.Fatal(err)
		}
		for range 60 {
			<-qs.Quotes()
		}
		cancel()
		for range qs.Quotes() {
		}
		rec.mu.Lock()
		defer rec.mu.Unlock()
		check(t, rec.quoteCalls, 4, 14000)
		if got := src.Requests(); got.Quotes != int64(len(rec.quoteCalls)) {
			t.Errorf("Requests = %+v, recorded %d quote calls", got, len(rec.quoteCalls))
		}
	})
}

func TestStreamQuotesFollowsSubscriptions(t *testing.T) {
	clk := clocktest.New(epoch)
	p := newPaper(t, clk)
	rec := &recording{Broker: p, clk: clk}
	src, err := pollstream.New(pollstream.Config{Broker: rec, Clock: clk, QuoteRate: rate.Inf})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	qs, err := src.StreamQuotes(ctx, "AAPL")
	if err != nil {
		t.Fatal(err)
	}
	if q := <-qs.Quotes(); q.Symbol != "AAPL" {
		t.Fatalf("first quote %+v", q)
	}
	if !qs.Status().Fresh(clk.Now(), time.Second) {
		t.Errorf("status %+v not fresh after a poll", qs.Status())
	}
	if err := qs.Subscribe(ctx, "MSFT"); err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for range 2 { // read at once, without waiting for the period
		got[(<-qs.Quotes()).Symbol] = true
	}
	if !got["AAPL"] || !got["MSFT"] {
		t.Errorf("after Subscribe got %v, want AAPL and MSFT", got)
	}
	if err := qs.Unsubscribe(ctx, "AAPL"); err != nil {
		t.Fatal(err)
	}
	if err := clk.WaitForWaiters(t.Context(), 1); err != nil {
		t.Fatal(err)
	}
	clk.Advance(pollstream.DefaultQuotePeriod)
	if q := <-qs.Quotes(); q.Symbol != "MSFT" {
		t.Errorf("after Unsubscribe got %s, want MSFT", q.Symbol)
	}
	if qs.Status().Fresh(clk.Now().Add(time.Minute), 30*time.Second) {
		t.Error("status fresh a minute after the last poll")
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	clk := clocktest.New(epoch)
	p := newPaper(t, clk)
	for _, cfg := range []pollstream.Config{{}, {Broker: p, OrderPeriod: -1}, {Broker: p, QuoteRate: -1}} {
		if _, err := pollstream.New(cfg); !errors.Is(err, errors.ErrConfiguration) {
			t.Errorf("New(%+v) = %v, want ErrConfiguration", cfg, err)
		}
	}
}
