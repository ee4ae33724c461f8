package live_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/arbiontrader/arbion/live"
	"github.com/arbiontrader/arbion/order"
	"github.com/arbiontrader/arbion/paper"
	"github.com/arbiontrader/arbion/stoploss"
)

// Several accounts in one process: one runner each, on shared stores
// (records are scoped by account), each protecting only its own position.
func TestTwoAccountsShareStores(t *testing.T) {
	w := newWorld(t)
	other, err := paper.New(paper.Config{Clock: w.clk})
	if err != nil {
		t.Fatal(err)
	}
	if err := other.SetPrice("AAPL", dec("100")); err != nil {
		t.Fatal(err)
	}
	orders, protections := order.NewMemoryStore(), stoploss.NewMemoryStore()
	var boughtA, boughtB atomic.Int32
	cfgA := w.config(orders, protections, buyOnce(&boughtA))
	cfgB := w.config(orders, protections, buyOnce(&boughtB))
	cfgB.Account, cfgB.Broker = "second", other
	a, err := live.New(cfgA)
	if err != nil {
		t.Fatal(err)
	}
	b, err := live.New(cfgB)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	defer b.Close()
	w.price("100")
	step(t, a)
	step(t, b)
	for name, r := range map[string]*live.Runner{"acct": a, "second": b} {
		open, err := r.Tracker().Open(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(open) != 1 || open[0].Account != name || !open[0].Protective {
			t.Errorf("%s: open orders %+v, want its own stop only", name, open)
		}
	}
	ps, _ := protections.List(context.Background(), "second")
	if len(ps) != 1 || len(w.openAtBroker()) != 1 {
		t.Errorf("protections of the second account %+v; stops at the first broker %d", ps, len(w.openAtBroker()))
	}
}
