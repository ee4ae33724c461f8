package broker

import (
	"context"
	"sync"
	"time"

	"github.com/arbiontrader/arbion/clock"
	"github.com/arbiontrader/arbion/errors"
)

// QuoteCacheOption configures [NewQuoteCache].
type QuoteCacheOption func(*quoteCache)

// WithCacheClock sets the clock the cache ages entries by (default
// clock.Real); tests use a fake one.
func WithCacheClock(c clock.Clock) QuoteCacheOption {
	return func(q *quoteCache) { q.clock = clock.Or(c) }
}

// NewQuoteCache returns b with its quotes cached per symbol for ttl. A quote fetched at t is served
// until, and not including, t+ttl: never past its TTL. The symbols of one
// Quotes call that miss are fetched in a single upstream Quotes call (which
// the broker splits into its own batches), and concurrent misses for one
// symbol share one upstream call. Symbols the broker does not quote are not
// cached. Every other method passes through.
//
// The result is a [Wrapper]: [Find] reaches b's optional capabilities
// through it. A nil b or a ttl that is not positive returns an error matching
// errors.ErrConfiguration.
func NewQuoteCache(b Broker, ttl time.Duration, opts ...QuoteCacheOption) (Broker, error) {
	if b == nil || ttl <= 0 {
		return nil, &errors.BrokerError{Op: "quote cache", Kind: errors.ErrConfiguration,
			Message: "need a broker and a positive ttl, got ttl " + ttl.String()}
	}
	c := &quoteCache{Broker: b, ttl: ttl, clock: clock.Real(),
		entries: make(map[string]cachedQuote), inflight: make(map[string]*quoteFlight)}
	for _, opt := range opts {
		opt(c)
	}
	return c, nil
}

// Unwrap implements [Wrapper].
func (c *quoteCache) Unwrap() Broker { return c.Broker }

// quoteCache is a Broker whose Quotes are served from a TTL cache.
type quoteCache struct {
	Broker // every method but Quotes passes through
	ttl    time.Duration
	clock  clock.Clock

	mu       sync.Mutex
	entries  map[string]cachedQuote
	inflight map[string]*quoteFlight // symbols being fetched right now
}

type cachedQuote struct {
	quote     Quote
	fetchedAt time.Time // when the upstream call that got it started
}

// quoteFlight is one upstream fetch of a symbol that other callers wait on.
type quoteFlight struct {
	done  chan struct{} // closed when the fields below are set
	quote Quote
	found bool
	err   error
}

// Quotes serves fresh cached quotes, waits for fetches already under way,
// and fetches the remaining symbols in one upstream call. The quotes come
// back in the order asked, each symbol once; unknown symbols are left out.
func (c *quoteCache) Quotes(ctx context.Context, symbols ...string) ([]Quote, error) {
	if len(symbols) == 0 {
		return nil, nil
	}
	results := make(map[string]Quote, len(symbols))
	waits := make(map[string]*quoteFlight)
	own := make(map[string]*quoteFlight)
	var fetch []string

	c.mu.Lock()
	now := c.clock.Now()
	for _, sym := range symbols {
		if _, ok := results[sym]; ok || waits[sym] != nil || own[sym] != nil {
			continue // asked twice
		}
		switch e, ok := c.entries[sym]; {
		case ok && now.Sub(e.fetchedAt) < c.ttl:
			results[sym] = e.quote
		case c.inflight[sym] != nil:
			waits[sym] = c.inflight[sym]
		default:
			f := &quoteFlight{done: make(chan struct{})}
			c.inflight[sym] = f
			own[sym] = f
			fetch = append(fetch, sym)
		}
	}
	c.mu.Unlock()

	if len(fetch) > 0 {
		c.fetch(ctx, now, fetch, own)
		for sym, f := range own {
			waits[sym] = f
		}
	}
	for sym, f := range waits {
		select {
		case <-f.done:
		case <-ctx.Done():
			return nil, &errors.BrokerError{Broker: c.Name(), Op: OpQuotes, Kind: errors.ErrTimeout,
				Message: "context done while waiting for a quote", Err: ctx.Err()}
		}
		if f.err != nil {
			return nil, f.err
		}
		if f.found {
			results[sym] = f.quote
		}
	}

	out := make([]Quote, 0, len(results))
	for _, sym := range symbols {
		if q, ok := results[sym]; ok {
			out = append(out, q)
			delete(results, sym) // each symbol once
		}
	}
	return out, nil
}

// fetch makes one upstream call for symbols, caches what it got as fetched
// at start, and completes the flights.
// The flights complete even if the upstream call panics, so that no waiter
// is left blocked.
func (c *quoteCache) fetch(ctx context.Context, start time.Time, symbols []string, flights map[string]*quoteFlight) {
	var quotes []Quote
	err := error(&errors.BrokerError{Broker: c.Name(), Op: OpQuotes, Kind: errors.ErrBrokerUnavailable,
		Message: "the upstream quote call did not return"})
	defer func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		if err == nil {
			for _, q := range quotes {
				if f, ok := flights[q.Symbol]; ok && !f.found {
					f.quote, f.found = q, true
					c.entries[q.Symbol] = cachedQuote{quote: q, fetchedAt: start}
				}
			}
		}
		for sym, f := range flights {
			f.err = err
			delete(c.inflight, sym)
			close(f.done)
		}
	}()
	quotes, err = c.Broker.Quotes(ctx, symbols...)
}
