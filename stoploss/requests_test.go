package stoploss_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/broker/pollstream"
	"github.com/arbiontrader/arbion/clock/clocktest"
	"github.com/arbiontrader/arbion/order"
	"github.com/arbiontrader/arbion/paper"
	"github.com/arbiontrader/arbion/stoploss"
	"golang.org/x/time/rate"
)

// TestRequestsPerProtectedPositionPerHour counts, on a fake clock, the
// broker requests one protected position costs in an hour of quiet market
// (the price never moves) with a sweep every minute and verification every
// 5 minutes:
//
//   - polling: no stream, each sweep polls Quotes;
//   - streaming: the broker pushes quotes (a stream kept fresh by its
//     heartbeats), so sweeps poll nothing;
//   - polling source (E*TRADE): the supervisor follows a pollstream quote
//     stream (one quote request per 5 s for up to QuoteBatchSize symbols)
//     and the tracker a pollstream order stream (one open-orders and one
//     history request per poll, for the whole account: every 2 s, since
//     the resting stop is a working order).
func TestRequestsPerProtectedPositionPerHour(t *testing.T) {
	type counts struct{ quotes, orders, verify int }
	run := func(t *testing.T, mode string) counts {
		clk := clocktest.New(time.Date(2026, 11, 27, 14, 30, 0, 0, time.UTC))
		p, err := paper.New(paper.Config{Clock: clk, Cash: d("1000000")})
		if err != nil {
			t.Fatal(err)
		}
		if err := p.SetPrice("AAPL", d("100")); err != nil {
			t.Fatal(err)
		}
		cb := &countingBroker{Broker: p, calls: make(map[string]int)}
		tr, err := order.NewTracker(order.Config{Broker: cb, Account: "a", Clock: clk})
		if err != nil {
			t.Fatal(err)
		}
		sup, err := stoploss.New(stoploss.Config{Account: "a", Broker: cb, Orders: tr, Clock: clk,
			DefaultPolicy: stoploss.Policy{StopDistance: d("5")}, VerifyInterval: 5 * time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		defer sup.Close()
		ctx, cancel := context.WithCancel(t.Context())
		var wg sync.WaitGroup
		defer func() { cancel(); wg.Wait() }()
		if _, err := tr.Submit(ctx, order.Request{OrderRequest: broker.OrderRequest{Instrument: symbols[0],
			Side: broker.Buy, Type: broker.Market, Quantity: d("10"), TimeInForce: broker.Day}}); err != nil {
			t.Fatal(err)
		}
		if _, err := sup.HandleUpdates(ctx); err != nil {
			t.Fatal(err)
		}
		var fq *fakeQuotes
		var src *pollstream.Source
		switch mode {
		case "streaming":
			fq = newFakeQuotes(clk.Now())
			wg.Add(1)
			go func() { defer wg.Done(); _ = sup.FollowQuotes(ctx, fq) }()
			<-fq.changes
			q := broker.StreamQuote{Quote: broker.Quote{Symbol: "AAPL", Bid: d("100"), Ask: d("100"), Last: d("100"), Time: clk.Now()}}
			fq.ch <- q
			fq.ch <- q // the first is recorded once the second is taken
		case "polling source":
			// Unbounded rates: the default periods decide the counts.
			src, err = pollstream.New(pollstream.Config{Broker: withHistory{cb, p}, Clock: clk,
				OrderRate: rate.Inf, QuoteRate: rate.Inf})
			if err != nil {
				t.Fatal(err)
			}
			qs, err := src.StreamQuotes(ctx)
			if err != nil {
				t.Fatal(err)
			}
			os, err := src.StreamOrders(ctx)
			if err != nil {
				t.Fatal(err)
			}
			wg.Add(2)
			go func() { defer wg.Done(); _ = sup.FollowQuotes(ctx, qs) }()
			go func() { defer wg.Done(); _ = tr.Follow(ctx, os) }()
			if err := clk.WaitForWaiters(ctx, 2); err != nil { // both polls parked
				t.Fatal(err)
			}
		}
		if _, err := sup.Sweep(ctx); err != nil { // the first sweep verifies
			t.Fatal(err)
		}
		cb.Reset()
		var before pollstream.Requests
		if src != nil {
			before = src.Requests()
		}
		for range 3600 { // an hour in steps of 1 s
			if src != nil {
				if err := clk.WaitForWaiters(ctx, 2); err != nil { // both polls parked
					t.Fatal(err)
				}
			}
			clk.Advance(time.Second)
			if fq != nil {
				now := clk.Now()
				fq.set(func(s *broker.StreamStatus) { s.LastMessage = now }) // a heartbeat
			}
			if clk.Now().Unix()%60 != 0 {
				continue
			}
			if src != nil { // the polls of this instant are done
				if err := clk.WaitForWaiters(ctx, 2); err != nil {
					t.Fatal(err)
				}
			}
			if mode == "polling" { // the quiet market's quote is re-taken, unchanged
				if err := p.SetPrice("AAPL", d("100")); err != nil {
					t.Fatal(err)
				}
			}
			rep, err := sup.Sweep(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Events) != 0 {
				t.Fatalf("%s: a quiet sweep reported %+v", mode, rep.Events)
			}
		}
		calls := cb.Calls()
		c := counts{quotes: calls["Quotes"], verify: calls["OpenOrders"] + calls["Positions"]}
		if src != nil {
			// The source's calls went through cb too: its open-orders polls
			// are its order requests less its history reads.
			c.orders = int(src.Requests().Orders - before.Orders)
			c.verify -= c.orders - calls["Orders"]
		}
		return c
	}
	want := map[string]counts{
		"polling":   {quotes: 60, verify: 24},
		"streaming": {quotes: 0, verify: 24},
		// The resting stop is a working order: orders are polled every
		// 2 s (open orders, then the history), never at the idle 30 s.
		"polling source": {quotes: 720, orders: 3600, verify: 24},
	}
	for _, mode := range []string{"polling", "streaming", "polling source"} {
		t.Run(mode, func(t *testing.T) {
			got := run(t, mode)
			t.Logf("%s: per protected position per hour: %d quote requests, %d order-stream requests; per account: %d verification requests",
				mode, got.quotes, got.orders, got.verify)
			w := want[mode]
			if mode != "polling source" {
				if got != w {
					t.Errorf("%s: got %+v, want %+v", mode, got, w)
				}
				return
			}
			// The polling source's goroutines run beside the test's clock:
			// a poll that wakes late is timed from its waking, so the hour
			// may hold a few polls fewer, or one more at its last instant.
			if got.verify != w.verify || got.quotes > w.quotes+1 || got.orders > w.orders+1 ||
				got.quotes < w.quotes*95/100 || got.orders < w.orders*95/100 {
				t.Errorf("%s: got %+v, want within 5%% of %+v (and at most one more)", mode, got, w)
			}
		})
	}
}

// withHistory gives the counting broker the paper broker's order history,
// counted as "Orders".
type withHistory struct {
	*countingBroker
	p *paper.Broker
}

func (w withHistory) Orders(ctx context.Context, q broker.OrderQuery) ([]broker.Order, error) {
	w.count("Orders")
	return w.p.Orders(ctx, q)
}
