package order_test

import (
	"context"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/order"
	"github.com/arbiontrader/arbion/paper"
	"github.com/google/go-cmp/cmp"
	"github.com/shopspring/decimal"
)

// streamRun places n orders through a tracker that follows the paper
// broker's order stream under fault, fills each at random in one to three
// executions, and returns once the tracker's records equal the broker's
// orders (or fails after a deadline, with the difference).
func streamRun(t *testing.T, n int, fault func(uint64) paper.StreamFault, seed uint64) order.StreamStats {
	t.Helper()
	clk := newClock()
	p, err := paper.New(paper.Config{Clock: clk, Cash: decimal.New(1, 9), Faults: paper.Faults{Stream: fault}})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.SetPrice("AAPL", dec("100")); err != nil {
		t.Fatal(err)
	}
	tr, err := order.NewTracker(order.Config{Broker: p, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	s, err := p.StreamOrders(ctx)
	if err != nil {
		t.Fatal(err)
	}
	changed := make(chan struct{}, 1)
	defer tr.Subscribe(func(order.Update) {
		select {
		case changed <- struct{}{}:
		default:
		}
	})()
	followed := make(chan error, 1)
	go func() { followed <- tr.Follow(ctx, s) }()
	defer func() {
		cancel()
		if err := <-followed; err != context.Canceled {
			t.Errorf("Follow = %v, want context.Canceled", err)
		}
	}()

	rng := rand.New(rand.NewPCG(seed, 1))
	ids := make([]string, 0, n)
	for i := range n {
		qty := int64(1 + rng.IntN(10))
		o, err := tr.Submit(ctx, limitBuy(strconv.FormatInt(qty, 10), "99"))
		if err != nil {
			t.Fatalf("order %d: %v", i, err)
		}
		ids = append(ids, o.LocalID)
		for left := qty; left > 0; {
			q := min(left, int64(1+rng.IntN(int(qty))))
			px := decimal.New(9800+int64(rng.IntN(100)), -2)
			if err := p.Execute(ctx, o.BrokerOrderID, decimal.NewFromInt(q), px); err != nil {
				t.Fatal(err)
			}
			left -= q
			clk.Advance(time.Millisecond)
		}
	}
	// A last order, cancelled, flushes a message a reorder holds back.
	last, err := tr.Submit(ctx, limitBuy("1", "50"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Cancel(ctx, last.LocalID); err != nil {
		t.Fatal(err)
	}
	ids = append(ids, last.LocalID)

	deadline := time.NewTimer(20 * time.Second) // a failure bound, not a synchronisation
	defer deadline.Stop()
	for {
		diff := compareWithBroker(t, tr, p, ids)
		if diff == "" {
			return tr.StreamStats()
		}
		select {
		case <-changed:
		case <-deadline.C:
			t.Fatalf("tracker never matched the broker (-broker +tracker):\n%s", diff)
		}
	}
}

type orderSums struct {
	Status           broker.Status
	Filled, Notional string
	Fees             string
	ExecIDs          []string
}

// compareWithBroker returns the difference between the tracker's records
// and the broker's orders, "" when equal.
func compareWithBroker(t *testing.T, tr *order.Tracker, p *paper.Broker, ids []string) string {
	var want, got []orderSums
	for _, id := range ids {
		o, err := tr.Get(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		b, err := p.GetOrder(t.Context(), o.BrokerOrderID)
		if err != nil {
			t.Fatal(err)
		}
		notional := decimal.Zero
		var bIDs, oIDs []string
		for _, f := range b.Fills {
			bIDs = append(bIDs, f.ExecID)
			notional = notional.Add(f.Quantity.Mul(f.Price))
		}
		for _, f := range o.Fills {
			oIDs = append(oIDs, f.ExecID)
		}
		slices.Sort(oIDs)
		want = append(want, orderSums{b.Status, b.FilledQuantity.String(), notional.String(), b.Fees.String(), bIDs})
		got = append(got, orderSums{o.Status, o.FilledQuantity.String(), o.Notional.String(), o.Fees.String(), oIDs})
	}
	return cmp.Diff(want, got)
}

func TestFollowEndsEqualToTheBrokerUnderEachStreamFault(t *testing.T) {
	cases := []struct {
		name  string
		fault func(uint64) paper.StreamFault
	}{
		{"no fault", nil},
		{"drop every 5th", paper.StreamFaultEvery(paper.StreamDrop, 5)},
		{"duplicate every 3rd", paper.StreamFaultEvery(paper.StreamDuplicate, 3)},
		{"reorder every 4th", paper.StreamFaultEvery(paper.StreamReorder, 4)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := streamRun(t, 40, tc.fault, 7)
			if tc.name == "drop every 5th" && st.Gaps == 0 {
				t.Errorf("stats = %+v: no gap seen", st)
			}
			if st.Failed != 0 {
				t.Errorf("stats = %+v: events refused", st)
			}
		})
	}
}

// TestStreamSoak: ARBION_STREAM_SOAK_ORDERS orders (default 1000) with
// random fills over a paper stream that drops every 7th message: the
// tracker ends with every fill once (no loss, no duplicate), equal to the
// broker, and Follow leaves no goroutine (the package's goleak TestMain).
func TestStreamSoak(t *testing.T) {
	n := 1000
	if v := os.Getenv("ARBION_STREAM_SOAK_ORDERS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			t.Fatalf("ARBION_STREAM_SOAK_ORDERS=%q: want a positive integer", v)
		}
	}
	if testing.Short() {
		n = min(n, 100)
	}
	st := streamRun(t, n, paper.StreamFaultEvery(paper.StreamDrop, 7), 42)
	t.Logf("%d orders: %+v", n, st)
	if st.Gaps == 0 {
		t.Error("the soak saw no gap")
	}
}
