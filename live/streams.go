package live

import (
	"context"
	"sync"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/clock"
)

// startStreams consumes the broker's streams until ctx ends, reopening
// each after StreamRetry when it ends: the order stream through the
// tracker (which reconciles by REST on every gap), one quote stream for
// the supervisor (a stop triggers on the tick that breaches it; a sweep
// polls only the symbols whose stream is not fresh), and one for the
// strategies' symbols (marks for the daily P&L). Between the steps'
// polling and the streams, nothing waits on the other.
func (r *Runner) startStreams(ctx context.Context, wg *sync.WaitGroup) {
	if os, ok := broker.Find[broker.OrderStreamer](r.cfg.Broker); ok {
		wg.Go(func() { r.followOrders(ctx, os) })
	}
	if qs, ok := broker.Find[broker.QuoteStreamer](r.cfg.Broker); ok {
		wg.Go(func() { r.defendOnTicks(ctx, qs) })
		if len(r.feeds) > 0 {
			wg.Go(func() { r.followQuotes(ctx, qs) })
		}
	}
}

func (r *Runner) followOrders(ctx context.Context, os broker.OrderStreamer) {
	for ctx.Err() == nil {
		s, err := os.StreamOrders(ctx)
		if err == nil {
			r.orderStream.Store(&streamRef{status: s.Status})
			err = r.tracker.Follow(ctx, s)
		}
		if ctx.Err() == nil {
			r.log.Warn("live: order stream ended; polling until it is back", "account", r.cfg.Account, "error", err)
		}
		if clock.Sleep(ctx, r.clk, r.cfg.StreamRetry) != nil {
			return
		}
	}
}

// defendOnTicks hands the supervisor a quote stream of its own: it
// subscribes the protected positions' symbols itself.
func (r *Runner) defendOnTicks(ctx context.Context, qs broker.QuoteStreamer) {
	for ctx.Err() == nil {
		s, err := qs.StreamQuotes(ctx)
		if err == nil {
			r.quoteStream.Store(&streamRef{status: s.Status})
			err = r.sup.FollowQuotes(ctx, s)
		}
		if ctx.Err() == nil {
			r.log.Warn("live: the supervisor's quote stream ended; sweeps poll quotes until it is back",
				"account", r.cfg.Account, "error", err)
		}
		if clock.Sleep(ctx, r.clk, r.cfg.StreamRetry) != nil {
			return
		}
	}
}

// followQuotes marks the strategies' symbols for the daily P&L.
func (r *Runner) followQuotes(ctx context.Context, qs broker.QuoteStreamer) {
	symbols := make([]string, 0, len(r.feeds))
	for _, f := range r.feeds {
		symbols = append(symbols, f.Symbol)
	}
	for ctx.Err() == nil {
		s, err := qs.StreamQuotes(ctx, symbols...)
		if err == nil {
			for q := range s.Quotes() {
				r.pnl.Mark(q.Symbol, markOf(q.Quote), q.Time)
			}
			err = s.Err()
		}
		if ctx.Err() == nil {
			r.log.Warn("live: quote stream ended", "account", r.cfg.Account, "error", err)
		}
		if clock.Sleep(ctx, r.clk, r.cfg.StreamRetry) != nil {
			return
		}
	}
}
