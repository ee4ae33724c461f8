package order_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/order"
	"github.com/arbiontrader/arbion/paper"
	"github.com/shopspring/decimal"
)

// BenchmarkApplyFill applies one new fill event to a tracked order held in
// the memory store: lookup by broker id, dedup, VWAP, persist. The store
// holds 1,024 working orders; each takes fillsPerOrder fills (the last one
// fills it), then all are reset with the timer stopped. The cost grows with
// the fills already on the order, which are copied (copy on write) once for
// the save and once for the record returned.
func BenchmarkApplyFill(b *testing.B) {
	for _, fillsPerOrder := range []int{1, 10, 100} {
		b.Run("fills="+strconv.Itoa(fillsPerOrder), func(b *testing.B) { benchmarkApplyFill(b, fillsPerOrder) })
	}
}

func benchmarkApplyFill(b *testing.B, fillsPerOrder int) {
	const orders = 1024
	p, err := paper.New(paper.Config{})
	if err != nil {
		b.Fatal(err)
	}
	store := order.NewMemoryStore()
	tracker, err := order.NewTracker(order.Config{Broker: p, Store: store})
	if err != nil {
		b.Fatal(err)
	}
	ctx := b.Context()
	brokerIDs := make([]string, orders)
	for i := range orders {
		id := strconv.Itoa(i)
		brokerIDs[i] = "B" + id
		if _, err := store.Create(ctx, order.Order{LocalID: "L" + id, ClientOrderID: "C" + id,
			BrokerOrderID: brokerIDs[i], Instrument: aapl, Side: broker.Buy, Type: broker.Limit,
			Quantity: decimal.NewFromInt(int64(fillsPerOrder)), LimitPrice: dec("100"),
			TimeInForce: broker.GTC, Status: broker.StatusNew}); err != nil {
			b.Fatal(err)
		}
	}
	perRound := orders * fillsPerOrder
	execIDs := make([]string, perRound)
	for i := range execIDs {
		execIDs[i] = "E" + strconv.Itoa(i)
	}
	// Prices alternate, as they would in a real market.
	qty, prices := dec("1"), [2]decimal.Decimal{dec("99.37"), dec("99.38")}
	b.ReportAllocs()
	b.ResetTimer()
	var cpu time.Duration
	for done := 0; done < b.N; {
		round := min(perRound, b.N-done)
		cpu0, _ := processCPU()
		for i := range round {
			_, err := tracker.Apply(ctx, order.Event{Kind: order.EventFill, BrokerOrderID: brokerIDs[i%orders],
				Fill: broker.Fill{ExecID: execIDs[i], Quantity: qty, Price: prices[(i/orders)%2]}})
			if err != nil {
				b.Fatal(err)
			}
		}
		cpu1, _ := processCPU()
		cpu += cpu1 - cpu0
		done += round
		b.StopTimer()
		resetOrders(b, store, orders)
		b.StartTimer()
	}
	b.ReportMetric(float64(cpu)/float64(b.N), "cpu-ns/op")
}

// resetOrders takes every order of the benchmark back to new, without fills.
func resetOrders(b *testing.B, store *order.MemoryStore, orders int) {
	for i := range orders {
		o, err := store.Get(b.Context(), "L"+strconv.Itoa(i))
		if err != nil {
			b.Fatal(err)
		}
		o.Fills, o.Status = nil, broker.StatusNew
		o.FilledQuantity, o.Notional, o.AvgFillPrice, o.Fees = decimal.Zero, decimal.Zero, decimal.Zero, decimal.Zero
		if _, err := store.Update(b.Context(), o); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReconcile10000OpenOrders reconciles 10,000 working orders
// against the paper broker and reports the broker calls made per reconcile
// (counted by a wrapper). In "1% filled since", 100 of them were filled at
// the broker before each reconcile (and 100 new ones placed, with the timer
// stopped), so that the reconcile reads those 100 one by one.
func BenchmarkReconcile10000OpenOrders(b *testing.B) {
	b.Run("unchanged", func(b *testing.B) { benchmarkReconcile(b, 0) })
	b.Run("1% filled since", func(b *testing.B) { benchmarkReconcile(b, 100) })
}

func benchmarkReconcile(b *testing.B, fillPerRound int) {
	const open = 10_000
	p, err := paper.New(paper.Config{Cash: dec("1000000000")})
	if err != nil {
		b.Fatal(err)
	}
	if err := p.SetPrice("AAPL", dec("100")); err != nil {
		b.Fatal(err)
	}
	counted := newCounting(p)
	tracker, err := order.NewTracker(order.Config{Broker: counted})
	if err != nil {
		b.Fatal(err)
	}
	ctx := b.Context()
	var working []string // broker ids, oldest first
	submit := func(n int) {
		for range n {
			o, err := tracker.Submit(ctx, limitBuy("1", "50."+strconv.Itoa(len(working)%1000)))
			if err != nil {
				b.Fatal(err)
			}
			working = append(working, o.BrokerOrderID)
		}
	}
	submit(open)
	b.ReportAllocs()
	b.ResetTimer()
	var cpu time.Duration
	var calls int64
	for range b.N {
		b.StopTimer()
		for _, id := range working[:fillPerRound] {
			if err := p.Execute(ctx, id, dec("1"), dec("50")); err != nil {
				b.Fatal(err)
			}
		}
		working = working[fillPerRound:]
		submit(fillPerRound)
		calls0 := counted.calls()
		cpu0, _ := processCPU()
		b.StartTimer()
		rep, err := tracker.Reconcile(ctx)
		b.StopTimer()
		cpu1, _ := processCPU()
		cpu += cpu1 - cpu0
		calls += counted.calls() - calls0
		if err != nil {
			b.Fatal(err)
		}
		if rep.Checked != open+fillPerRound || rep.Updated != fillPerRound {
			b.Fatalf("report %+v", rep)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(cpu)/float64(b.N), "cpu-ns/op")
	b.ReportMetric(float64(calls)/float64(b.N), "brokercalls/op")
}

// BenchmarkDuplicateFill applies a fill the record already holds (a
// duplicated stream message, a REST listing after the stream): the tracker
// must see it is known and change nothing.
func BenchmarkDuplicateFill(b *testing.B) {
	p, err := paper.New(paper.Config{})
	if err != nil {
		b.Fatal(err)
	}
	store := order.NewMemoryStore()
	tracker, err := order.NewTracker(order.Config{Broker: p, Store: store})
	if err != nil {
		b.Fatal(err)
	}
	ctx := b.Context()
	if _, err := store.Create(ctx, order.Order{LocalID: "L1", ClientOrderID: "C1", BrokerOrderID: "B1",
		Instrument: aapl, Side: broker.Buy, Type: broker.Limit, Quantity: dec("10"), LimitPrice: dec("100"),
		TimeInForce: broker.GTC, Status: broker.StatusNew}); err != nil {
		b.Fatal(err)
	}
	ev := order.Event{Kind: order.EventFill, BrokerOrderID: "B1",
		Fill: broker.Fill{ExecID: "E1", Quantity: dec("1"), Price: dec("99.5")}}
	if _, err := tracker.Apply(ctx, ev); err != nil {
		b.Fatal(err)
	}
	one := dec("1") // parsed once: the loop measures the tracker, not the test's parsing
	b.ReportAllocs()
	for b.Loop() {
		o, err := tracker.Apply(ctx, ev)
		if err != nil || !o.FilledQuantity.Equal(one) {
			b.Fatalf("duplicate fill: filled %s, %v", o.FilledQuantity, err)
		}
	}
}
