package stoploss_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/broker/pollstream"
	"github.com/arbiontrader/arbion/order"
	"github.com/arbiontrader/arbion/paper"
	"github.com/arbiontrader/arbion/stoploss"
	"github.com/shopspring/decimal"
)

// stopSpy wraps the paper broker and tells when a protective stop request
// arrives.
type stopSpy struct {
	broker.Broker
	arrived chan time.Time
}

func (s *stopSpy) PlaceOrder(ctx context.Context, req broker.OrderRequest) (broker.Ack, error) {
	if req.Type == broker.Stop || req.Type == broker.StopLimit {
		defer func() { s.arrived <- time.Now() }()
	}
	return s.Broker.PlaceOrder(ctx, req)
}

// BenchmarkFillToStopLatency measures, on loopback, the time from a fill
// made at the paper broker to the protective stop request arriving there:
// the tracker learns the fill from the broker's order stream (paper's
// native stream, or a polling source: with its defaults, 2 s while an order
// works and 30 s while none does, or 2 s always), the supervisor (Run)
// places the stop. Each iteration fills an entry of a new symbol. Reports
// p50 and p99 in microseconds.
//
//	go test -run '^$' -bench FillToStopLatency/stream -benchtime 200x ./stoploss
//	go test -run '^$' -bench FillToStopLatency/poll -benchtime 20x ./stoploss
func BenchmarkFillToStopLatency(b *testing.B) {
	for _, mode := range []string{"stream", "poll-default", "poll-2s-no-idle-backoff"} {
		b.Run(mode, func(b *testing.B) {
			p, err := paper.New(paper.Config{Cash: decimal.New(1, 12)})
			if err != nil {
				b.Fatal(err)
			}
			spy := &stopSpy{Broker: p, arrived: make(chan time.Time, 1)}
			tr, err := order.NewTracker(order.Config{Broker: spy, Account: "a"})
			if err != nil {
				b.Fatal(err)
			}
			sup, err := stoploss.New(stoploss.Config{Account: "a", Broker: spy, Orders: tr,
				DefaultPolicy: stoploss.Policy{StopDistance: d("5")}, VerifyInterval: time.Hour})
			if err != nil {
				b.Fatal(err)
			}
			defer sup.Close()
			ctx, cancel := context.WithCancel(context.Background())
			var streamer broker.OrderStreamer = p
			if mode != "stream" {
				cfg := pollstream.Config{Broker: p}
				if mode == "poll-2s-no-idle-backoff" {
					cfg.IdleOrderPeriod = pollstream.DefaultOrderPeriod
				}
				if streamer, err = pollstream.New(cfg); err != nil {
					b.Fatal(err)
				}
			}
			os, err := streamer.StreamOrders(ctx)
			if err != nil {
				b.Fatal(err)
			}
			var wg sync.WaitGroup
			wg.Add(2)
			go func() { defer wg.Done(); _ = tr.Follow(ctx, os) }()
			go func() { defer wg.Done(); _ = sup.Run(ctx, time.Hour) }()
			defer func() { cancel(); wg.Wait() }()
			var lat []time.Duration
			i := 0
			for b.Loop() {
				i++
				sym := fmt.Sprintf("S%06d", i)
				if err := p.SetPrice(sym, d("100")); err != nil {
					b.Fatal(err)
				}
				o, err := tr.Submit(ctx, order.Request{OrderRequest: broker.OrderRequest{
					Instrument: broker.Instrument{Symbol: sym, AssetClass: broker.Equity}, Side: broker.Buy,
					Type: broker.Limit, LimitPrice: d("99"), Quantity: d("1"), TimeInForce: broker.GTC}})
				if err != nil {
					b.Fatal(err)
				}
				start := time.Now()
				if err := p.Execute(ctx, o.BrokerOrderID, d("1"), d("99")); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, (<-spy.arrived).Sub(start))
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
		})
	}
}
