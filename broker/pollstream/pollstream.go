// Package pollstream derives order and quote streams by polling, for
// brokers that push nothing (E*TRADE): a [Source] wraps any broker.Broker
// and implements broker.OrderStreamer and broker.QuoteStreamer, so that
// the layers above (the order tracker, the stop-loss supervisor, the risk
// engine) consume one kind of stream whatever the broker.
//
// Orders: one OpenOrders call per period (one call covers every order of
// the account), shorter while any order is working; an order that left the
// list is read once more (by the broker's OrderLister when it has one,
// which also finds orders born and ended between two polls, else by
// GetOrder). Each order whose status or cumulative fields changed is
// emitted as an OrderEventSnapshot: the tracker turns it into fills and
// status changes as it does a REST reconcile. A poll that fails marks the
// stream not live; the first one that succeeds after emits an
// OrderEventGap, so that the consumer reconciles.
//
// Quotes: the subscribed symbols are read every period in batches of the
// broker's QuoteBatchSize (one request per batch).
//
// Every request waits for the budget of its module (orders, market),
// measured on the configured clock.
package pollstream

import (
	"cmp"
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/clock"
	"github.com/arbiontrader/arbion/errors"
	"golang.org/x/time/rate"
)

// Defaults for [Config], from E*TRADE's published limits (per user and
// consumer key: Order module 2 requests/s and 7000/hour, Market module 4/s
// and 14000/hour; one multi-symbol quote is one request). A rate of the
// hourly figure spread evenly, with a burst of one, keeps within both.
const (
	DefaultOrderRate       rate.Limit = 7000.0 / 3600
	DefaultQuoteRate       rate.Limit = 14000.0 / 3600
	DefaultOrderPeriod                = 2 * time.Second  // while any order is working
	DefaultIdleOrderPeriod            = 30 * time.Second // while none is
	DefaultQuotePeriod                = 5 * time.Second
	// DefaultLookback is how far before the last poll the order history is
	// read, for orders that were born and ended between two polls.
	DefaultLookback = time.Minute
)

// Config configures a [Source]. Zero values take the documented defaults.
type Config struct {
	// Broker is polled. Required. Its OrderLister, when it has one (found
	// through wrappers with broker.Find), replaces per-order GetOrder calls.
	Broker broker.Broker
	// Clock paces the polls and the budget; the real clock when nil.
	Clock clock.Clock
	// OrderPeriod is the time between order polls while any order is
	// working; DefaultOrderPeriod when 0.
	OrderPeriod time.Duration
	// IdleOrderPeriod is the time between order polls while none is;
	// DefaultIdleOrderPeriod when 0.
	IdleOrderPeriod time.Duration
	// QuotePeriod is the time between quote polls; DefaultQuotePeriod when 0.
	QuotePeriod time.Duration
	// Lookback widens the order-history window; DefaultLookback when 0.
	Lookback time.Duration
	// OrderRate and QuoteRate are the request budgets, in requests per
	// second, of order reads and quote reads; DefaultOrderRate and
	// DefaultQuoteRate when 0. The burst is one request.
	OrderRate, QuoteRate rate.Limit
	// Logger receives diagnostics; silent when nil.
	Logger *slog.Logger
}

// Source polls one broker account. It is safe for concurrent use; the
// budgets are shared by every stream it starts.
type Source struct {
	b      broker.Broker
	lister broker.OrderLister // nil when the broker has none
	clk    clock.Clock
	cfg    Config
	log    *slog.Logger

	mu             sync.Mutex // orders reservations so that each waits its turn
	orderLim       *rate.Limiter
	quoteLim       *rate.Limiter
	orderN, quoteN atomic.Int64
	batch          int // the broker's QuoteBatchSize
}

var (
	_ broker.OrderStreamer = (*Source)(nil)
	_ broker.QuoteStreamer = (*Source)(nil)
)

// New validates cfg and returns a source. A missing broker or a negative
// setting is an error matching errors.ErrConfiguration.
func New(cfg Config) (*Source, error) {
	bad := func(reason string) error {
		return &errors.BrokerError{Broker: "pollstream", Op: "new", Kind: errors.ErrConfiguration, Message: reason}
	}
	switch {
	case cfg.Broker == nil:
		return nil, bad("Broker is required")
	case cfg.OrderPeriod < 0 || cfg.IdleOrderPeriod < 0 || cfg.QuotePeriod < 0 || cfg.Lookback < 0:
		return nil, bad("periods must not be negative")
	case cfg.OrderRate < 0 || cfg.QuoteRate < 0:
		return nil, bad("rates must not be negative")
	}
	cfg.Clock = clock.Or(cfg.Clock)
	cfg.OrderPeriod = cmp.Or(cfg.OrderPeriod, DefaultOrderPeriod)
	cfg.IdleOrderPeriod = cmp.Or(cfg.IdleOrderPeriod, DefaultIdleOrderPeriod)
	cfg.QuotePeriod = cmp.Or(cfg.QuotePeriod, DefaultQuotePeriod)
	cfg.Lookback = cmp.Or(cfg.Lookback, DefaultLookback)
	cfg.OrderRate = cmp.Or(cfg.OrderRate, DefaultOrderRate)
	cfg.QuoteRate = cmp.Or(cfg.QuoteRate, DefaultQuoteRate)
	s := &Source{b: cfg.Broker, clk: cfg.Clock, cfg: cfg, log: cfg.Logger,
		batch: cfg.Broker.Capabilities().QuoteBatchSize}
	if s.batch <= 0 {
		return nil, bad("the broker reports no QuoteBatchSize")
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.lister, _ = broker.Find[broker.OrderLister](cfg.Broker)
	// The limiters read no clock of their own: every reservation passes
	// the source's clock's time.
	s.orderLim = rate.NewLimiter(cfg.OrderRate, 1)
	s.quoteLim = rate.NewLimiter(cfg.QuoteRate, 1)
	return s, nil
}

// Requests counts the requests the source made so far, by module.
type Requests struct {
	Orders int64 // OpenOrders, Orders and GetOrder calls
	Quotes int64 // Quotes calls (one per batch)
}

// Requests returns the requests made so far.
func (s *Source) Requests() Requests {
	return Requests{Orders: s.orderN.Load(), Quotes: s.quoteN.Load()}
}

// wait takes one request from lim's budget, waiting on the clock.
func (s *Source) wait(ctx context.Context, lim *rate.Limiter, n *atomic.Int64) error {
	s.mu.Lock()
	now := s.clk.Now()
	d := lim.ReserveN(now, 1).DelayFrom(now)
	s.mu.Unlock()
	if err := clock.Sleep(ctx, s.clk, d); err != nil {
		return err
	}
	n.Add(1) // the request is made
	return nil
}

// status is a stream's health, shared by its goroutine and its readers.
type status struct {
	mu sync.Mutex
	s  broker.StreamStatus
}

func (st *status) get() broker.StreamStatus {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.s
}

// ok records a successful poll; it reports whether the stream was down.
func (st *status) ok(now time.Time) (recovered bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	recovered = !st.s.Live && !st.s.LastMessage.IsZero()
	if recovered {
		st.s.Reconnects++
	}
	st.s.Live, st.s.LastMessage = true, now
	return recovered
}

func (st *status) failed(err error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.s.Live, st.s.LastError = false, err
}

func (st *status) end() {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.s.Live = false
}
