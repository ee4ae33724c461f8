package live_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/health"
	"github.com/arbiontrader/arbion/live"
	"github.com/arbiontrader/arbion/paper"
)

// quoteStream is a stream the test feeds and whose status it sets.
type quoteStream struct {
	symbols []string // what it was opened for
	quotes  chan broker.StreamQuote
	mu      sync.Mutex
	status  broker.StreamStatus
}

func (s *quoteStream) Quotes() <-chan broker.StreamQuote            { return s.quotes }
func (s *quoteStream) Subscribe(context.Context, ...string) error   { return nil }
func (s *quoteStream) Unsubscribe(context.Context, ...string) error { return nil }
func (s *quoteStream) Err() error                                   { return nil }
func (s *quoteStream) Status() broker.StreamStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.status
}

func (s *quoteStream) set(st broker.StreamStatus) {
	s.mu.Lock()
	s.status = st
	s.mu.Unlock()
}

// streamingPaper is paper with quote streams, one per StreamQuotes call,
// each handed to the test as it opens.
type streamingPaper struct {
	*paper.Broker
	now    func() time.Time
	opened chan *quoteStream
}

func (p *streamingPaper) StreamQuotes(ctx context.Context, symbols ...string) (broker.QuoteStream, error) {
	qs := &quoteStream{symbols: symbols, quotes: make(chan broker.StreamQuote),
		status: broker.StreamStatus{Live: true, LastMessage: p.now()}}
	go func() { <-ctx.Done(); close(qs.quotes) }()
	p.opened <- qs
	return qs, nil
}

// Run hands the supervisor a quote stream of its own and consumes another
// for the strategies' symbols; readiness follows the supervisor's.
func TestQuoteStreamFreshness(t *testing.T) {
	w := newWorld(t)
	sp := &streamingPaper{Broker: w.paper, now: w.clk.Now, opened: make(chan *quoteStream, 2)}
	var bought atomic.Int32
	cfg := w.config(nil, nil, buyOnce(&bought))
	cfg.Broker = sp
	cfg.Schedule = live.Every(time.Hour, w.clk)
	r, err := live.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h, err := health.New(health.Config{Ready: r.Checks(live.CheckConfig{StreamMaxAge: time.Minute, HeartbeatWithin: 24 * time.Hour})})
	if err != nil {
		t.Fatal(err)
	}
	streamsOK := func() bool {
		for _, c := range h.Check(context.Background()).Checks {
			if c.Name == "streams" {
				return c.OK
			}
		}
		t.Fatal("no streams check")
		return false
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	var qs, feed *quoteStream // the supervisor's, the strategies'
	for range 2 {
		s := <-sp.opened
		switch {
		case len(s.symbols) == 0:
			qs = s
		case len(s.symbols) == 1 && s.symbols[0] == "AAPL":
			feed = s
		default:
			t.Fatalf("a stream opened for %v", s.symbols)
		}
	}
	if qs == nil || feed == nil {
		t.Fatal("want one stream for the supervisor and one for AAPL")
	}
	// A quote through the feed is consumed (the send returns once taken).
	feed.quotes <- broker.StreamQuote{Quote: broker.Quote{Symbol: "AAPL", Last: dec("100"), Time: w.clk.Now()}}
	if !streamsOK() {
		t.Error("a fresh stream is red")
	}
	qs.set(broker.StreamStatus{Live: true, LastMessage: w.clk.Now().Add(-2 * time.Minute)})
	if streamsOK() {
		t.Error("a stream silent for 2 minutes is green")
	}
	qs.set(broker.StreamStatus{Live: false, LastMessage: w.clk.Now()})
	if streamsOK() {
		t.Error("a disconnected stream is green")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
