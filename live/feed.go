package live

import (
	"context"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/order"
	"github.com/shopspring/decimal"
)

// feed is one strategy's bars: where the next one starts and the closed
// ones kept for History.
type feed struct {
	Strategy
	every   time.Duration
	next    time.Time // start of the next bar to hand over; zero before the first step
	history *ring
}

// feedBars hands every strategy the bars of its symbol that closed by now
// and were not handed before. A strategy's error stops it.
func (r *Runner) feedBars(ctx context.Context, now time.Time) (int, error) {
	n := 0
	for _, f := range r.feeds {
		if f.next.IsZero() {
			// The first step hands over the bar that has just closed, no
			// older one: those closed before the runner started.
			f.next = now.Add(-f.every)
		}
		bars, err := r.bars.Bars(ctx, broker.BarQuery{Symbol: f.Symbol, Interval: f.Interval, From: f.next, To: now})
		if err != nil {
			// No bars this step: the strategy waits; the next step asks again.
			r.log.Warn("live: bars failed", "symbol", f.Symbol, "error", err)
			continue
		}
		for _, b := range bars {
			if b.Provisional || b.Start.Before(f.next) || b.End().After(now) {
				continue
			}
			f.history.push(b)
			f.next = b.End()
			n++
			if err := f.Strategy.Strategy.OnBar(ctx, b, r.trader); err != nil {
				return n, &StrategyError{Symbol: f.Symbol, Bar: b.Start, Err: err}
			}
		}
	}
	return n, nil
}

// ring keeps the last cap bars.
type ring struct {
	bars  []broker.Bar
	start int // index of the oldest when full
}

func newRing(n int) *ring { return &ring{bars: make([]broker.Bar, 0, n)} }

func (r *ring) push(b broker.Bar) {
	if len(r.bars) < cap(r.bars) {
		r.bars = append(r.bars, b)
		return
	}
	r.bars[r.start] = b
	r.start = (r.start + 1) % len(r.bars)
}

// last returns up to n of the newest bars, oldest first.
func (r *ring) last(n int) []broker.Bar {
	n = min(max(n, 0), len(r.bars))
	out := make([]broker.Bar, n)
	for i := range n {
		out[i] = r.bars[(r.start+len(r.bars)-n+i)%len(r.bars)]
	}
	return out
}

// Trader is what the runner's strategies trade through: strategy.Trader,
// plus Replace and Exit for strategies that look for them.
type Trader struct{ r *Runner }

// Submit places an order through the tracker; a refusal by the risk engine
// is counted by rule in the metrics.
func (t *Trader) Submit(ctx context.Context, req order.Request) (order.Order, error) {
	o, err := t.r.tracker.Submit(ctx, req)
	t.refused(ctx, err)
	return o, err
}

// Replace replaces the tracked order localID with req.
func (t *Trader) Replace(ctx context.Context, localID string, req broker.OrderRequest) (order.Order, error) {
	o, err := t.r.tracker.Replace(ctx, localID, req)
	t.refused(ctx, err)
	return o, err
}

// Cancel cancels the tracked order localID.
func (t *Trader) Cancel(ctx context.Context, localID string) (order.Order, error) {
	return t.r.tracker.Cancel(ctx, localID)
}

// Exit closes symbol's protected position at market through the
// supervisor, which cancels the resting stop first and never closes twice
// (see stoploss.Supervisor.Exit): brokers reserve a protected position for
// its stop and refuse a plain sell.
func (t *Trader) Exit(ctx context.Context, symbol string) error {
	_, err := t.r.sup.Exit(ctx, symbol)
	return err
}

// Open returns the tracked orders that are not terminal.
func (t *Trader) Open(ctx context.Context) ([]order.Order, error) { return t.r.tracker.Open(ctx) }

// Positions returns the account's positions as the broker reports them.
func (t *Trader) Positions(ctx context.Context) ([]broker.Position, error) {
	return t.r.broker.Positions(ctx)
}

// Account returns the account's balances.
func (t *Trader) Account(ctx context.Context) (broker.Account, error) { return t.r.broker.Account(ctx) }

// History returns up to n of symbol's latest closed bars, oldest first, of
// the first strategy run on symbol; none for a symbol no strategy runs on.
func (t *Trader) History(symbol string, n int) []broker.Bar {
	for _, f := range t.r.feeds {
		if f.Symbol == symbol {
			return f.history.last(n)
		}
	}
	return nil
}

func (t *Trader) refused(ctx context.Context, err error) {
	if t.r.metrics == nil {
		return
	}
	if rules := RiskRules(err); len(rules) > 0 {
		t.r.metrics.Refused(ctx, rules)
	}
}

// markOf is a quote's last price, else its mid, else zero.
func markOf(q broker.Quote) decimal.Decimal {
	switch {
	case q.Last.IsPositive():
		return q.Last
	case q.Bid.IsPositive() && q.Ask.IsPositive():
		return q.Bid.Add(q.Ask).Div(decimal.NewFromInt(2))
	}
	return decimal.Zero
}
