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
	b, err := broker.WithObserver(inner, rec, broker.WithObserverClock(funcClock((&steppingClock{now: t0, step: 5 * time.Millisecond}).Now)))
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

func TestFindReachesOptionalInterfacesThroughDecorators(t *testing.T) {
	ctx := context.Background()
	p, err := paper.New(paper.Config{})
	if err != nil {
		t.Fatal(err)
	}
	rec := &recordingObserver{}
	observed, err := broker.WithObserver(p, rec)
	if err != nil {
		t.Fatal(err)
	}
	cached, err := broker.NewQuoteCache(observed, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string]broker.Broker{"observer": observed, "cache over observer": cached} {
		t.Run(name, func(t *testing.T) {
			// The decorators themselves do not claim the optional interfaces:
			// a type assertion would fake them over a broker without them.
			if _, ok := b.(broker.OrderFinder); ok {
				t.Error("the decorator itself claims OrderFinder")
			}
			finder, ok := broker.Find[broker.OrderFinder](b)
			if !ok {
				t.Fatal("broker.Find did not reach paper's OrderFinder")
			}
			res, err := finder.FindOrder(ctx, broker.FindQuery{Request: broker.OrderRequest{ClientOrderID: "never-sent"}})
			if err != nil {
				t.Fatalf("FindOrder: %v", err)
			}
			if diff := cmp.Diff(broker.FindResult{Complete: true}, res); diff != "" {
				t.Errorf("FindOrder of a never-sent id (-want +got)\n%s", diff)
			}
			if _, ok := broker.Find[broker.OrderLister](b); !ok {
				t.Error("broker.Find did not reach paper's OrderLister")
			}
			h, ok := broker.Find[broker.HealthReporter](b)
			if !ok || h.Health(ctx).Broker != "paper" {
				t.Error("broker.Find did not reach paper's HealthReporter")
			}
		})
	}
	// Calls to capabilities reached through Find go to paper directly.
	if len(rec.got) != 0 {
		t.Errorf("observations of optional calls = %+v, want none", rec.got)
	}

	plain, _ := broker.WithObserver(&countingBroker{}, rec)
	if _, ok := broker.Find[broker.OrderFinder](plain); ok {
		t.Error("broker.Find claims OrderFinder over a broker without it")
	}
	if _, ok := broker.Find[broker.HealthReporter](plain); ok {
		t.Error("broker.Find claims HealthReporter over a broker without it")
	}
}
