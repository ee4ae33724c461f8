package live_test

import (
	"context"
	"testing"
	"time"

	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/health"
	"github.com/arbiontrader/arbion/live"
	"github.com/arbiontrader/arbion/order"
	"github.com/arbiontrader/arbion/risk"
)

// failingOpen is a memory store whose Open fails while broken is set.
type failingOpen struct {
	*order.MemoryStore
	broken bool
}

func (s *failingOpen) Open(ctx context.Context, account string) ([]order.Order, error) {
	if s.broken {
		return nil, &errors.OrderError{Kind: errors.ErrStorage, Reason: "database gone"}
	}
	return s.MemoryStore.Open(ctx, account)
}

// Each readiness check goes red on its own failure, and only it.
func TestEachCheckRed(t *testing.T) {
	w := newWorld(t)
	store := &failingOpen{MemoryStore: order.NewMemoryStore()}
	r, err := live.New(w.config(store, nil, nil))
	if err != nil {
		t.Fatal(err)
	}
	h, err := health.New(health.Config{Ready: r.Checks(live.CheckConfig{HeartbeatWithin: 5 * time.Minute})})
	if err != nil {
		t.Fatal(err)
	}
	red := func() map[string]bool {
		out := map[string]bool{}
		for _, c := range h.Check(context.Background()).Checks {
			if !c.OK {
				out[c.Name] = true
			}
		}
		return out
	}
	expect := func(when string, want ...string) {
		t.Helper()
		got := red()
		if len(got) != len(want) {
			t.Errorf("%s: red %v, want %v", when, got, want)
			return
		}
		for _, n := range want {
			if !got[n] {
				t.Errorf("%s: red %v, want %v", when, got, want)
			}
		}
	}
	expect("before the first sweep", "supervisor")
	step(t, r)
	expect("after a step")
	w.clk.Advance(6 * time.Minute)
	expect("sweeps overdue", "supervisor")
	step(t, r)
	store.broken = true
	expect("store failing", "store")
	store.broken = false
	if err := r.Engine().SetState(context.Background(), risk.Halted, "operator"); err != nil {
		t.Fatal(err)
	}
	expect("halted", "trading")
}
