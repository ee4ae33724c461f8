package stoploss_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/order"
	"github.com/arbiontrader/arbion/paper"
	"github.com/arbiontrader/arbion/stoploss"
)

// spyQuotes wraps a quote stream and reports each subscription change.
type spyQuotes struct {
	broker.QuoteStream
	changes chan string // "+SYM" or "-SYM"
}

func (s *spyQuotes) Subscribe(ctx context.Context, syms ...string) error {
	err := s.QuoteStream.Subscribe(ctx, syms...)
	for _, sym := range syms {
		s.changes <- "+" + sym
	}
	return err
}

func (s *spyQuotes) Unsubscribe(ctx context.Context, syms ...string) error {
	err := s.QuoteStream.Unsubscribe(ctx, syms...)
	for _, sym := range syms {
		s.changes <- "-" + sym
	}
	return err
}

// fakeQuotes is a quote stream whose status the test sets.
type fakeQuotes struct {
	ch      chan broker.StreamQuote
	mu      sync.Mutex
	status  broker.StreamStatus
	changes chan string
}

func newFakeQuotes(now time.Time) *fakeQuotes {
	return &fakeQuotes{ch: make(chan broker.StreamQuote), changes: make(chan string, 16),
		status: broker.StreamStatus{Live: true, LastMessage: now}}
}

func (f *fakeQuotes) Quotes() <-chan broker.StreamQuote { return f.ch }
func (f *fakeQuotes) Err() error                        { return nil }
func (f *fakeQuotes) Status() broker.StreamStatus {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.status
}
func (f *fakeQuotes) set(fn func(*broker.StreamStatus)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(&f.status)
}
func (f *fakeQuotes) Subscribe(_ context.Context, syms ...string) error {
	for _, s := range syms {
		f.changes <- "+" + s
	}
	return nil
}
func (f *fakeQuotes) Unsubscribe(_ context.Context, syms ...string) error {
	for _, s := range syms {
		f.changes <- "-" + s
	}
	return nil
}

// startedStream tells when FollowQuotes, having taken the stream and
// subscribed the positions it found, starts reading its quotes.
type startedStream struct {
	broker.QuoteStream
	once    sync.Once
	started chan struct{}
}

func (s *startedStream) Quotes() <-chan broker.StreamQuote {
	s.once.Do(func() { close(s.started) })
	return s.QuoteStream.Quotes()
}

// follow runs FollowQuotes on qs until the test ends; it returns once the
// supervisor follows the stream, so that every later position change is
// seen by it.
func follow(t *testing.T, sup *stoploss.Supervisor, qs broker.QuoteStream) {
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	ss := &startedStream{QuoteStream: qs, started: make(chan struct{})}
	go func() { done <- sup.FollowQuotes(ctx, ss) }()
	select {
	case <-ss.started:
	case err := <-done:
		t.Fatalf("FollowQuotes ended before following: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		// nil when the stream ended first (its own context), cleanly.
		if err := <-done; err != nil && err != context.Canceled {
			t.Errorf("FollowQuotes = %v, want a clean end", err)
		}
	})
}

func TestTickThatBreachesClosesAtOnce(t *testing.T) {
	cases := []struct {
		name  string
		caps  func(broker.Capabilities) broker.Capabilities
		price string
		want  stoploss.EventKind
	}{
		{"synthetic stop", synthetic, "94", stoploss.EventBreachClose},
		{"take-profit", synthetic, "111", stoploss.EventTakeProfitClose},
		{"native stop, breached through", nil, "94", stoploss.EventPositionClosed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			reports := make(chan stoploss.Report, 16)
			e := newEnv(t, envOptions{caps: tc.caps, config: func(c *stoploss.Config) {
				c.OnSweep = func(r stoploss.Report) { reports <- r }
			}})
			e.price("AAPL", "100")
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			ps, err := e.paper.StreamQuotes(ctx)
			if err != nil {
				t.Fatal(err)
			}
			spy := &spyQuotes{QuoteStream: ps, changes: make(chan string, 16)}
			follow(t, e.sup, spy)
			e.enter("AAPL", broker.Buy, "10", order.Request{TakeProfitPrice: d("110")})
			if got := <-spy.changes; got != "+AAPL" {
				t.Fatalf("subscription = %s, want +AAPL", got)
			}
			for len(reports) > 0 {
				<-reports
			}
			e.broker.Reset()
			e.price("AAPL", tc.price) // the tick; no sweep is run
			var seen []stoploss.EventKind
			for !slices.Contains(seen, tc.want) {
				for _, ev := range (<-reports).Events {
					seen = append(seen, ev.Kind)
				}
			}
			if got := e.position("AAPL"); !got.IsZero() {
				t.Errorf("position %s after the tick, want flat", got)
			}
			if n := e.broker.Calls()["Quotes"]; n != 0 {
				t.Errorf("%d Quotes calls, want none: the tick decided", n)
			}
		})
	}
}

func TestSweepUsesFreshStreamedQuotesOnly(t *testing.T) {
	cases := []struct {
		name      string
		status    func(*broker.StreamStatus, time.Time)
		wantCalls int
	}{
		{"fresh", func(*broker.StreamStatus, time.Time) {}, 0},
		{"silent too long", func(s *broker.StreamStatus, now time.Time) { s.LastMessage = now.Add(-time.Minute) }, 1},
		{"not live", func(s *broker.StreamStatus, _ time.Time) { s.Live = false }, 1},
		{"reconnected since the quote", func(s *broker.StreamStatus, _ time.Time) { s.Reconnects++ }, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, envOptions{})
			e.price("AAPL", "100")
			fq := newFakeQuotes(e.clock.Now())
			follow(t, e.sup, fq)
			e.enter("AAPL", broker.Buy, "10", order.Request{})
			<-fq.changes
			q := broker.StreamQuote{Quote: broker.Quote{Symbol: "AAPL", Bid: d("100"), Ask: d("100"), Last: d("100"), Time: e.clock.Now()}}
			fq.ch <- q
			fq.ch <- q // the first is recorded once the second is taken
			e.sweep()  // the first sweep verifies; quotes are what is counted
			e.clock.Advance(10 * time.Second)
			now := e.clock.Now()
			fq.set(func(s *broker.StreamStatus) { s.LastMessage = now; tc.status(s, now) })
			if rep := e.sweep(); rep.QuoteCalls != tc.wantCalls {
				t.Errorf("sweep made %d quote calls, want %d", rep.QuoteCalls, tc.wantCalls)
			}
			rec, _ := e.record("AAPL")
			if rec.CloseReason != "" {
				t.Errorf("position closing (%s) in a quiet market", rec.CloseReason)
			}
		})
	}
}

func TestSubscriptionsFollowThePositions(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.price("AAPL", "100")
	e.price("MSFT", "300")
	fq := newFakeQuotes(e.clock.Now())
	follow(t, e.sup, fq)
	e.enter("AAPL", broker.Buy, "10", order.Request{})
	e.enter("MSFT", broker.Buy, "5", order.Request{})
	if _, err := e.sup.Exit(e.ctx, "AAPL"); err != nil {
		t.Fatal(err)
	}
	e.handle() // the close filled: flat
	var got []string
	for range 3 {
		got = append(got, <-fq.changes)
	}
	if want := []string{"+AAPL", "+MSFT", "-AAPL"}; !slices.Equal(got, want) {
		t.Errorf("subscriptions %v, want %v", got, want)
	}
}

// TestStopStateExactUnderStreamFaults runs the tracker on the paper
// broker's order stream and the supervisor on its quote stream, both under
// one fault: a filled entry gets exactly one resting stop of its size, and
// the price falling through it leaves the position flat (never
// oversold) and nothing working.
func TestStopStateExactUnderStreamFaults(t *testing.T) {
	cases := []struct {
		name  string
		fault func(uint64) paper.StreamFault
	}{
		{"no fault", nil},
		{"drop", paper.StreamFaultEvery(paper.StreamDrop, 2)},
		{"duplicate", paper.StreamFaultEvery(paper.StreamDuplicate, 2)},
		{"reorder", paper.StreamFaultEvery(paper.StreamReorder, 2)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			changed := make(chan struct{}, 1)
			poke := func() {
				select {
				case changed <- struct{}{}:
				default:
				}
			}
			e := newEnv(t, envOptions{paper: func(c *paper.Config) { c.Faults.Stream = tc.fault },
				config: func(c *stoploss.Config) { c.OnSweep = func(stoploss.Report) { poke() } }})
			e.price("AAPL", "100")
			ctx, cancel := context.WithCancel(t.Context())
			os, err := e.paper.StreamOrders(ctx)
			if err != nil {
				t.Fatal(err)
			}
			qs, err := e.paper.StreamQuotes(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer e.tracker.Subscribe(func(order.Update) { poke() })()
			var wg sync.WaitGroup
			wg.Add(3)
			go func() { defer wg.Done(); _ = e.tracker.Follow(ctx, os) }()
			go func() { defer wg.Done(); _ = e.sup.FollowQuotes(ctx, qs) }()
			go func() { defer wg.Done(); _ = e.sup.Run(ctx, time.Minute) }()
			defer func() { cancel(); wg.Wait() }()

			deadline := time.NewTimer(10 * time.Second) // a failure bound only
			defer deadline.Stop()
			waitFor := func(what string, cond func() bool) {
				t.Helper()
				for !cond() {
					select {
					case <-changed:
					case <-deadline.C:
						t.Fatalf("never reached: %s (orders %+v)", what, e.openOrders("AAPL"))
					}
				}
			}
			if _, err := e.tracker.Submit(ctx, order.Request{OrderRequest: broker.OrderRequest{
				Instrument: symbols[0], Side: broker.Buy, Type: broker.Market, Quantity: d("10"), TimeInForce: broker.Day}}); err != nil {
				t.Fatal(err)
			}
			waitFor("one stop of 10 at 95", func() bool {
				open := e.openOrders("AAPL")
				rec, ok := e.record("AAPL")
				return len(open) == 1 && open[0].Quantity.Equal(d("10")) && open[0].StopPrice.Equal(d("95")) &&
					ok && rec.StopOrderID != "" && rec.StopQuantity.Equal(d("10"))
			})
			e.price("AAPL", "94")
			e.price("AAPL", "93") // a second tick flushes one held back
			// A stream event the fault held back with nothing behind it is
			// the sweep's to catch up (REST is the truth): each wait lets
			// one more timed sweep run.
			flat := func() bool {
				_, ok := e.record("AAPL")
				return e.position("AAPL").IsZero() && len(e.openOrders("AAPL")) == 0 && !ok
			}
			for !flat() {
				e.clock.Advance(time.Minute)
				select {
				case <-changed:
				case <-deadline.C:
					t.Fatalf("never reached: flat with nothing working (orders %+v)", e.openOrders("AAPL"))
				}
			}
			if got := e.position("AAPL"); !got.IsZero() {
				t.Errorf("position %s, want flat", got)
			}
		})
	}
}
