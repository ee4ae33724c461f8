// Package restart_test is the restart matrix: for each broker (paper and the
// three emulators), each point where a placement can fail, with and without
// an identical twin order, and with one or two restarts, it counts what is
// at the broker and what the store says, and requires exactly-once: no
// duplicate, no order at the broker missing from the store, no live order
// recorded as never placed, filled quantity and VWAP exact.
//
// `go test -v ./tests/restart` prints the counts.
package restart_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/clock"
	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/order"
	"github.com/shopspring/decimal"
)

// rig is one broker under test: a fresh adapter per process over the same
// broker state (an emulator, or paper itself).
type rig interface {
	// connect returns the adapter a new process would build.
	connect(t *testing.T) broker.Broker
	// fill executes qty at price on the broker's order.
	fill(t *testing.T, orderID string, qty, price decimal.Decimal)
	// orders lists every order at the broker (for counting).
	orders(t *testing.T) []broker.Order
	// now is the clock the broker and the trackers share.
	clock() clock.Clock
	advance(d time.Duration)
	instrument() broker.Instrument
	quantity() decimal.Decimal
	limitPrice() decimal.Decimal
}

// fault is where a placement fails.
type fault int

const (
	beforeSend  fault = iota // the request never reached the broker; the error reads as a lost answer
	answerLost               // the broker placed it; the answer was lost
	ackNotSaved              // the broker acknowledged it; the process died before saving the answer
	faultsCount              //
)

func (f fault) String() string {
	return [...]string{"before send", "answer lost", "ack not saved"}[f]
}

// faulty injects one fault into the next placement. It is a Wrapper, so the
// tracker still finds the adapter's OrderFinder through it.
type faulty struct {
	broker.Broker
	next  atomic.Int64 // fault+1 for the next placement, 0 for none
	store *dying       // the process's store, which ackNotSaved kills
}

func (f *faulty) Unwrap() broker.Broker { return f.Broker }

func (f *faulty) PlaceOrder(ctx context.Context, req broker.OrderRequest) (broker.Ack, error) {
	switch fault(f.next.Swap(0) - 1) {
	case beforeSend:
		return broker.Ack{}, &errors.BrokerError{Broker: f.Name(), Op: broker.OpPlaceOrder,
			Kind: errors.ErrOutcomeUnknown, Message: "timeout before any byte was sent (the tracker cannot know)"}
	case answerLost:
		if _, err := f.Broker.PlaceOrder(ctx, req); err != nil {
			return broker.Ack{}, err
		}
		return broker.Ack{}, &errors.BrokerError{Broker: f.Name(), Op: broker.OpPlaceOrder,
			Kind: errors.ErrOutcomeUnknown, Message: "connection reset after the request was sent"}
	case ackNotSaved:
		// The process dies between the broker's answer and its save: from
		// here on it writes nothing, and the next process finds the record
		// as it was before the send.
		ack, err := f.Broker.PlaceOrder(ctx, req)
		f.store.dead.Store(true)
		return ack, err
	}
	return f.Broker.PlaceOrder(ctx, req)
}

// dying is a store that stops writing when its process "dies".
type dying struct {
	*order.MemoryStore
	dead atomic.Bool
}

func (d *dying) Update(ctx context.Context, o order.Order) (order.Order, error) {
	if d.dead.Load() {
		return order.Order{}, &errors.OrderError{Op: "store update", Kind: errors.ErrStorage, Reason: "process dead"}
	}
	return d.MemoryStore.Update(ctx, o)
}

// counts is what one case found.
type counts struct {
	atBroker, duplicates, missingFromStore, liveNeverPlaced, wrongFills int
}

func (c *counts) add(o counts) {
	c.atBroker += o.atBroker
	c.duplicates += o.duplicates
	c.missingFromStore += o.missingFromStore
	c.liveNeverPlaced += o.liveNeverPlaced
	c.wrongFills += o.wrongFills
}

// runCase places the intent (and its twin), faults the intent's placement,
// restarts `restarts` times reconciling in between, fills every order at
// the broker, reconciles once more and counts.
func runCase(t *testing.T, r rig, f fault, twin bool, restarts int) counts {
	t.Helper()
	mem := order.NewMemoryStore()
	var wrapped *faulty
	start := func() *order.Tracker {
		wrapped = &faulty{Broker: r.connect(t), store: &dying{MemoryStore: mem}}
		tr, err := order.NewTracker(order.Config{Broker: wrapped, Store: wrapped.store, Clock: r.clock(), Account: "acct"})
		if err != nil {
			t.Fatal(err)
		}
		return tr
	}
	tr := start()
	req := order.Request{OrderRequest: broker.OrderRequest{Instrument: r.instrument(), Side: broker.Buy,
		Type: broker.Limit, Quantity: r.quantity(), LimitPrice: r.limitPrice(), TimeInForce: broker.GTC}}
	ctx := t.Context()
	if twin {
		if _, err := tr.Submit(ctx, req); err != nil {
			t.Fatalf("twin: %v", err)
		}
	}
	wrapped.next.Store(int64(f) + 1)
	if _, err := tr.Submit(ctx, req); !errors.Is(err, errors.ErrOutcomeUnknown) {
		t.Fatalf("faulted placement = %v, want outcome unknown", err)
	}
	for range restarts {
		tr = start()
		settle(t, r, tr)
	}
	for _, o := range r.orders(t) {
		if !o.Status.Terminal() {
			r.fill(t, o.OrderID, o.Quantity, r.limitPrice())
		}
	}
	settle(t, r, tr)
	return count(t, r, mem)
}

// settle reconciles over the tracker's whole unknown-outcome window.
func settle(t *testing.T, r rig, tr *order.Tracker) {
	t.Helper()
	for range order.DefaultUnknownOutcomeLookups + 1 {
		if _, err := tr.Reconcile(t.Context()); err != nil {
			t.Fatalf("Reconcile: %v", err)
		}
		r.advance(order.DefaultUnknownOutcomeWindow)
	}
}

func count(t *testing.T, r rig, store *order.MemoryStore) counts {
	t.Helper()
	var c counts
	records, err := store.BySymbol(t.Context(), "acct", r.instrument().Symbol)
	if err != nil {
		t.Fatal(err)
	}
	byBroker := map[string]order.Order{}
	for _, o := range records {
		if o.BrokerOrderID != "" {
			if _, dup := byBroker[o.BrokerOrderID]; dup {
				c.duplicates++
			}
			byBroker[o.BrokerOrderID] = o
		}
	}
	for _, b := range r.orders(t) {
		c.atBroker++
		rec, ok := byBroker[b.OrderID]
		if !ok {
			c.missingFromStore++
			continue
		}
		if rec.Status == broker.StatusRejected {
			c.liveNeverPlaced++
		}
		if !rec.FilledQuantity.Equal(b.FilledQuantity) || (b.FilledQuantity.IsPositive() && !rec.AvgFillPrice.Equal(b.AvgFillPrice)) {
			c.wrongFills++
		}
	}
	// Each intent at most once: the broker holds no more orders than the
	// store has records (one per intent).
	if c.atBroker > len(records) {
		c.duplicates += c.atBroker - len(records)
	}
	return c
}

func runMatrix(t *testing.T, name string, newRig func(t *testing.T) rig) {
	var total counts
	cases := 0
	for f := fault(0); f < faultsCount; f++ {
		for _, twin := range []bool{false, true} {
			for restarts := 1; restarts <= 2; restarts++ {
				t.Run(fmt.Sprintf("%s/twin=%v/restarts=%d", f, twin, restarts), func(t *testing.T) {
					c := runCase(t, newRig(t), f, twin, restarts)
					if c.duplicates+c.missingFromStore+c.liveNeverPlaced+c.wrongFills != 0 {
						t.Errorf("counts %+v: want 0 duplicates, 0 missing, 0 live never placed, 0 wrong fills", c)
					}
					total.add(c)
					cases++
				})
			}
		}
	}
	t.Logf("%s: %d cases, %d orders at the broker: %d duplicates, %d missing from the store, "+
		"%d live recorded never placed, %d with wrong fills", name, cases, total.atBroker, total.duplicates,
		total.missingFromStore, total.liveNeverPlaced, total.wrongFills)
}
