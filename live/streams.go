package live

import (
	"context"
	"sync"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/clock"
)

// follower is the tracker's stream consumption, (*order.Tracker).Follow:
// it applies an order stream and reconciles on gaps. Asserted rather than
// called so that a tracker without it still builds; without it the runner
// polls only.
type follower interface {
	Follow(ctx context.Context, s broker.OrderStream) error
}

// startStreams consumes the broker's order stream (through the tracker)
// and quote stream (marks for the daily P&L) until ctx ends, reopening
// each after StreamRetry when it ends.
func (r *Runner) startStreams(ctx context.Context, wg *sync.WaitGroup) {
	if os, ok := broker.Find[broker.OrderStreamer](r.cfg.Broker); ok {
		if f, ok := any(r.tracker).(follower); ok {
			wg.Go(func() { r.followOrders(ctx, os, f) })
		}
	}
	if qs, ok := broker.Find[broker.QuoteStreamer](r.cfg.Broker); ok && len(r.feeds) > 0 {
		wg.Go(func() { r.followQuotes(ctx, qs) })
	}
}

func (r *Runner) followOrders(ctx context.Context, os broker.OrderStreamer, f follower) {
	for ctx.Err() == nil {
		s, err := os.StreamOrders(ctx)
		if err == nil {
			r.orderStream.Store(&streamRef{status: s.Status})
			err = f.Follow(ctx, s)
		}
		if ctx.Err() == nil {
			r.log.Warn("live: order stream ended; polling until it is back", "account", r.cfg.Account, "error", err)
		}
		if clock.Sleep(ctx, r.clk, r.cfg.StreamRetry) != nil {
			return
		}
	}
}

func (r *Runner) followQuotes(ctx context.Context, qs broker.QuoteStreamer) {
	symbols := make([]string, 0, len(r.feeds))
	for _, f := range r.feeds {
		symbols = append(symbols, f.Symbol)
	}
	for ctx.Err() == nil {
		s, err := qs.StreamQuotes(ctx, symbols...)
		if err == nil {
			r.quoteStream.Store(&streamRef{status: s.Status})
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
