package live_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/live"
	"github.com/arbiontrader/arbion/order"
	"github.com/arbiontrader/arbion/stoploss"
)

// leader is a leadership the test takes away; Release counts.
type leader struct {
	lost     atomic.Bool
	released atomic.Int32
}

func (l *leader) Err() error {
	if l.lost.Load() {
		return &errors.StopLossError{Kind: errors.ErrNotLeader, Reason: "lost"}
	}
	return nil
}

func (l *leader) Release() error { l.released.Add(1); return nil }

// Two replicas share the stores; only the one holding the account's
// leadership sends orders and acts on positions. Close releases it.
func TestOneActingReplica(t *testing.T) {
	w := newWorld(t)
	orders, protections := order.NewMemoryStore(), stoploss.NewMemoryStore()
	active, standby := &leader{}, &leader{}
	standby.lost.Store(true)
	newReplica := func(l *leader) *live.Runner {
		cfg := w.config(orders, protections, nil)
		cfg.Leader = l
		r, err := live.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	a, b := newReplica(active), newReplica(standby)
	if _, err := b.Trader().Submit(context.Background(), buy1()); !errors.Is(err, errors.ErrNotLeader) {
		t.Fatalf("the standby sent an order: %v", err)
	}
	if _, err := a.Trader().Submit(context.Background(), buy1()); err != nil {
		t.Fatal(err)
	}
	step(t, b) // the standby's sweep does nothing
	if open := w.openAtBroker(); len(open) != 0 {
		t.Fatalf("the standby placed a stop: %+v", open)
	}
	step(t, a)
	if open := w.openAtBroker(); len(open) != 1 || open[0].Type != broker.Stop {
		t.Fatalf("the leader did not protect the position: %+v", open)
	}
	a.Close()
	a.Close()
	if n := active.released.Load(); n != 1 {
		t.Errorf("the leadership was released %d times, want once", n)
	}
	b.Close()
}
