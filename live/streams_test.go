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
	quotes chan broker.StreamQuote
	mu     sync.Mutex
	status broker.StreamStatus
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

// streamingPaper is paper with a quote stream.
type streamingPaper struct {
	*paper.Broker
	stream *quoteStream
	opened chan []string
}

func (p *streamingPaper) StreamQuotes(ctx context.Context, symbols ...string) (broker.QuoteStream, error) {
	go func() { <-ctx.Done(); close(p.stream.quotes) }()
	p.opened <- symbols
	return p.stream, nil
}

// Run consumes the quote stream of the strategies' symbols; readiness
// follows its freshness.
func TestQuoteStreamFreshness(t *testing.T) {
	w := newWorld(t)
	qs := &quoteStream{quotes: make(chan broker.StreamQuote), status: broker.StreamStatus{Live: true, LastMessage: w.clk.Now()}}
	sp := &streamingPaper{Broker: w.paper, stream: qs, opened: make(chan []string, 1)}
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
	if syms := <-sp.opened; len(syms) != 1 || syms[0] != "AAPL" {
		t.Errorf("stream opened for %v, want [AAPL]", syms)
	}
	// A quote through the stream is consumed (the send returns once taken).
	qs.quotes <- broker.StreamQuote{Quote: broker.Quote{Symbol: "AAPL", Last: dec("100"), Time: w.clk.Now()}}
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
