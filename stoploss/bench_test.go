package stoploss_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/order"
	"github.com/arbiontrader/arbion/paper"
	"github.com/arbiontrader/arbion/stoploss"
)

const benchPositions = 10_000

// BenchmarkSweepQuiet sweeps 10,000 protected positions on the paper broker
// when nothing needs doing, and reports the broker calls per sweep: the goal
// is ceil(10,000 / QuoteBatchSize) quote calls and no other call. The
// "verify" variants verify at the broker on every sweep (one OpenOrders and
// one Positions call more).
//
//	go test -run '^$' -bench SweepQuiet -benchtime 20x ./stoploss
func BenchmarkSweepQuiet(b *testing.B) {
	for _, bc := range []struct {
		name   string
		caps   func(broker.Capabilities) broker.Capabilities
		verify time.Duration
	}{
		{"native", nil, time.Hour},
		{"synthetic", synthetic, time.Hour},
		{"native-verify-every-sweep", nil, 0},
	} {
		b.Run(bc.name, func(b *testing.B) {
			e := benchEnv(b, bc.caps, bc.verify)
			e.broker.Reset()
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				rep, err := e.sup.Sweep(e.ctx)
				if err != nil || rep.Checked != benchPositions || len(rep.Events) != 0 {
					b.Fatalf("sweep: checked %d, %d events, err %v", rep.Checked, len(rep.Events), err)
				}
			}
			b.StopTimer()
			calls := e.broker.Calls()
			total := 0
			for op, n := range calls {
				total += n
				if op != "Quotes" && bc.verify != 0 {
					b.Errorf("%s calls in quiet sweeps: %d, want 0", op, n)
				}
			}
			b.ReportMetric(float64(calls["Quotes"])/float64(b.N), "quotecalls/op")
			b.ReportMetric(float64(total-calls["Quotes"])/float64(b.N), "othercalls/op")
		})
	}
}

// benchEnv opens benchPositions positions of one share and protects them;
// its first sweep verifies, so the benchmark's sweeps are the quiet ones.
func benchEnv(b *testing.B, caps func(broker.Capabilities) broker.Capabilities, verify time.Duration) *env {
	b.Helper()
	clock := newFakeClock()
	instruments := make([]broker.Instrument, benchPositions)
	for i := range instruments {
		instruments[i] = broker.Instrument{Symbol: fmt.Sprintf("S%05d", i), AssetClass: broker.Equity}
	}
	pb, err := paper.New(paper.Config{Instruments: instruments, Clock: clock, Cash: d("1000000000")})
	if err != nil {
		b.Fatal(err)
	}
	cb := &countingBroker{Broker: pb, caps: caps, calls: make(map[string]int)}
	tracker, err := order.NewTracker(order.Config{Broker: cb, Account: "bench", Clock: clock})
	if err != nil {
		b.Fatal(err)
	}
	ctx := b.Context()
	for _, in := range instruments {
		if err := pb.SetPrice(in.Symbol, d("100")); err != nil {
			b.Fatal(err)
		}
		if _, err := tracker.Submit(ctx, order.Request{OrderRequest: broker.OrderRequest{Instrument: in,
			Side: broker.Buy, Type: broker.Market, Quantity: d("1"), TimeInForce: broker.Day}}); err != nil {
			b.Fatal(err)
		}
	}
	store := stoploss.NewMemoryStore()
	sup, err := stoploss.New(stoploss.Config{Account: "bench", Broker: cb, Orders: tracker, Store: store,
		Clock: clock, DefaultPolicy: stoploss.Policy{StopPercent: d("5")}, VerifyInterval: verify})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(sup.Close)
	// The entries filled before the supervisor subscribed: its first
	// (verifying) sweep adopts every position and places its stop.
	rep, err := sup.Sweep(ctx)
	if err != nil || rep.Count(stoploss.EventPositionAdopted) != benchPositions {
		b.Fatalf("setup sweep: %d adopted, err %v", rep.Count(stoploss.EventPositionAdopted), err)
	}
	return &env{ctx: ctx, clock: clock, paper: pb, broker: cb, tracker: tracker, sup: sup}
}
