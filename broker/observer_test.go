package broker_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/paper"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// recordingObserver keeps every observation.
type recordingObserver struct {
	mu  sync.Mutex
	got []broker.Observation
}

func (r *recordingObserver) Observe(_ context.Context, ev broker.Observation) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, ev)
}

// steppingClock advances by step at every reading, so that each observed
// call lasts exactly one step.
type steppingClock struct {
	mu   sync.Mutex
	now  time.Time
	step time.Duration
}

func (c *steppingClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(c.step)
	return c.now
}

func TestWithObserverReportsEveryCall(t *testing.T) {
	ctx := context.Background()
	notFound := &errors.BrokerError{Broker: "fake", Op: "get order", Kind: errors.ErrOrderNotFound}
	inner := &countingBroker{prices: map[string]string{"AAPL": "1"}}
	rec := &recordingObserver{}
	b, err := broker.WithObserver(inner, rec, broker.WithObserverClock((&steppingClock{now: t0, step: 5 * time.Millisecond}).Now))
	if err != nil {
		t.Fatal(err)
	}
	_, _ = b.PlaceOrder(ctx, broker.OrderRequest{})
	_ = b.CancelOrder(ctx, "1")
	_, _ = b.ReplaceOrder(ctx, "1", broker.OrderRequest{})
	_, _ = b.OpenOrders(ctx)
	_, _ = b.Positions(ctx)
	_, _ = b.Account(ctx)
	_, _ = b.Quotes(ctx, "AAPL")
	inner.err = notFound
	_, _ = b.GetOrder(ctx, "9")
	_ = b.Name()
	_ = b.Capabilities()

	ok := func(op string) broker.Observation {
		return broker.Observation{Broker: "fake", Op: op, Latency: 5 * time.Millisecond}
	}
	want := []broker.Observation{
		ok(broker.OpPlaceOrder), ok(broker.OpCancelOrder), ok(broker.OpReplaceOrder), ok(broker.OpOpenOrders),
		ok(broker.OpPositions), ok(broker.OpAccount), ok(broker.OpQuotes),
		{Broker: "fake", Op: broker.OpGetOrder, Latency: 5 * time.Millisecond, Kind: errors.ErrOrderNotFound, Err: notFound},
	}
	if diff := cmp.Diff(want, rec.got, cmpopts.EquateErrors()); diff != "" {
		t.Errorf("observations (-want +got)\n%s", diff)
	}
}

func TestWithObserverKeepsOptionalInterfaces(t *testing.T) {
	ctx := context.Background()
	p, err := paper.New(paper.Config{})
	if err != nil {
		t.Fatal(err)
	}
	rec := &recordingObserver{}
	b, err := broker.WithObserver(p, rec)
	if err != nil {
		t.Fatal(err)
	}
	finder, ok := b.(broker.OrderFinder)
	if !ok {
		t.Fatal("observed paper broker lost OrderFinder")
	}
	if _, err := finder.FindOrder(ctx, broker.OrderRequest{ClientOrderID: "x"}); !errors.Is(err, errors.ErrOrderNotFound) {
		t.Errorf("FindOrder: %v, want ErrOrderNotFound", err)
	}
	if len(rec.got) != 1 || rec.got[0].Op != broker.OpFindOrder || rec.got[0].Kind != errors.ErrOrderNotFound || rec.got[0].Broker != "paper" {
		t.Errorf("FindOrder observation = %+v", rec.got)
	}
	if h, ok := b.(broker.HealthReporter); !ok || h.Health(ctx).Broker != "paper" {
		t.Errorf("observed paper broker lost HealthReporter")
	}

	cached, err := broker.NewQuoteCache(b, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := cached.(broker.OrderFinder); !ok {
		t.Error("a cache over an observed paper broker lost OrderFinder")
	}
	if _, ok := cached.(broker.HealthReporter); !ok {
		t.Error("a cache over an observed paper broker lost HealthReporter")
	}

	plain, _ := broker.WithObserver(&countingBroker{}, rec)
	if _, ok := plain.(broker.OrderFinder); ok {
		t.Error("the observer claims OrderFinder over a broker without it")
	}
	if _, ok := plain.(broker.HealthReporter); ok {
		t.Error("the observer claims HealthReporter over a broker without it")
	}
}
