package pollstream

import (
	"context"
	"slices"
	"sync"

	"github.com/arbiontrader/arbion/broker"
)

// StreamQuotes implements broker.QuoteStreamer: the subscribed symbols are
// read every QuotePeriod, and at once when symbols are added. The first
// read is made before it returns (a failure is returned).
func (s *Source) StreamQuotes(ctx context.Context, symbols ...string) (broker.QuoteStream, error) {
	qs := &quoteStream{src: s, out: make(chan broker.StreamQuote), wake: make(chan struct{}, 1),
		symbols: make(map[string]bool)}
	for _, sym := range symbols {
		qs.symbols[sym] = true
	}
	first, err := qs.poll(ctx)
	if err != nil {
		return nil, err
	}
	go qs.run(ctx, first)
	return qs, nil
}

type quoteStream struct {
	src  *Source
	out  chan broker.StreamQuote
	st   status
	wake chan struct{} // a symbol was added: read now

	mu      sync.Mutex
	symbols map[string]bool
}

func (qs *quoteStream) Quotes() <-chan broker.StreamQuote { return qs.out }
func (qs *quoteStream) Err() error                        { return nil }
func (qs *quoteStream) Status() broker.StreamStatus       { return qs.st.get() }

// Subscribe implements broker.QuoteStream; new symbols are read at once.
func (qs *quoteStream) Subscribe(ctx context.Context, symbols ...string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	qs.mu.Lock()
	added := false
	for _, sym := range symbols {
		if !qs.symbols[sym] {
			qs.symbols[sym], added = true, true
		}
	}
	qs.mu.Unlock()
	if added {
		select {
		case qs.wake <- struct{}{}:
		default:
		}
	}
	return nil
}

// Unsubscribe implements broker.QuoteStream.
func (qs *quoteStream) Unsubscribe(ctx context.Context, symbols ...string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	qs.mu.Lock()
	defer qs.mu.Unlock()
	for _, sym := range symbols {
		delete(qs.symbols, sym)
	}
	return nil
}

func (qs *quoteStream) run(ctx context.Context, quotes []broker.StreamQuote) {
	defer close(qs.out)
	defer qs.st.end()
	for {
		for _, q := range quotes {
			select {
			case qs.out <- q:
			case <-ctx.Done():
				return
			}
		}
		t := qs.src.clk.NewTimer(qs.src.cfg.QuotePeriod)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-qs.wake:
		case <-t.C():
		}
		t.Stop()
		var err error
		if quotes, err = qs.poll(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			qs.src.log.Warn("pollstream: quote poll failed", "broker", qs.src.b.Name(), "err", err)
			qs.st.failed(err)
		}
	}
}

// poll reads every subscribed symbol, batch by batch. A failed batch fails
// the poll (the stream is then not live: its consumers poll themselves);
// the batches read before it are returned.
func (qs *quoteStream) poll(ctx context.Context) ([]broker.StreamQuote, error) {
	s := qs.src
	qs.mu.Lock()
	syms := make([]string, 0, len(qs.symbols))
	for sym := range qs.symbols {
		syms = append(syms, sym)
	}
	qs.mu.Unlock()
	slices.Sort(syms)
	var out []broker.StreamQuote
	for batch := range slices.Chunk(syms, s.batch) {
		if err := s.wait(ctx, s.quoteLim, &s.quoteN); err != nil {
			return out, err
		}
		got, err := s.b.Quotes(ctx, batch...)
		if err != nil {
			return out, err
		}
		for _, q := range got {
			out = append(out, broker.StreamQuote{Quote: q})
		}
	}
	qs.st.ok(s.clk.Now())
	return out, nil
}
