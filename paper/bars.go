package paper

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/errors"
	"github.com/shopspring/decimal"
)

// OpBars names [Broker.Bars] in errors and fault decisions.
const OpBars Op = "bars"

// BarFill configures the bar-driven fill model of [Broker.ApplyBar]. The
// zero value fills without slippage and with unlimited liquidity.
type BarFill struct {
	// SlippageBps is what a market order, and a stop once triggered, pays
	// beyond the price it meets (the bar's open, or the stop), in basis
	// points of that price: a buy fills higher, a sell lower. A limit never
	// fills beyond its limit and pays none. Not negative.
	SlippageBps decimal.Decimal
	// VolumeFraction, in (0, 1], is the most of a bar's volume the orders
	// of its symbol may fill on that bar together, served oldest first; the
	// rest waits for the next bar. Zero is unlimited liquidity.
	VolumeFraction decimal.Decimal
}

func (f BarFill) validate() error {
	switch {
	case f.SlippageBps.IsNegative():
		return fmt.Errorf("Bars.SlippageBps %s is negative", f.SlippageBps)
	case f.VolumeFraction.IsNegative() || f.VolumeFraction.GreaterThan(decimal.NewFromInt(1)):
		return fmt.Errorf("Bars.VolumeFraction %s is not within [0, 1]", f.VolumeFraction)
	}
	return nil
}

// ApplyBar replays one closed bar of its symbol. From the first bar on, the
// symbol is bar-driven: an order placed on it rests until the next bar
// (nothing is known of a price between two bars), and each bar fills the
// working orders, oldest first, as follows (a buy's "worse" is the higher
// price, a sell's the lower):
//
//   - market: at the bar's open, plus slippage;
//   - limit: when the bar's range reaches the limit (low <= limit for a
//     buy), at the limit: the worse of the limit and the open, so a gap
//     through a limit earns no price improvement;
//   - stop and trailing stop: triggered when the range reaches the stop,
//     at the worse of the stop and the open (a gap through a stop fills at
//     the open), plus slippage. A trailing stop's trail moves with the
//     bar's extreme after the trigger check: the path inside a bar is not
//     known, so a bar never both moves a stop and triggers it;
//   - stop-limit: triggered as a stop; it fills at the trigger price when
//     that is within the limit, else rests as a limit for the rest of the
//     bar;
//   - IOC and FOK orders meet one bar and are then cancelled (FOK entirely
//     unless all of it fills).
//
// A fill at the open is stamped with the bar's start, one inside the bar
// with its end. Liquidity is limited by Config.MaxFillPerUpdate per order
// and Config.Bars.VolumeFraction per bar. Then the last price becomes the
// bar's close (as of its end), pending cancels advance by one update, and
// the bar joins the history [Broker.Bars] serves.
//
// A bar that is provisional, inconsistent (high below the open or the
// close, low above either, a price not positive, a negative volume), of an
// unknown interval, of another interval than the symbol's earlier bars, or
// starting before the previous bar's end is refused with an error matching
// errors.ErrInvalidOrder, and changes nothing.
func (b *Broker) ApplyBar(bar broker.Bar) error {
	const op = "apply bar"
	if err := checkSymbol(bar.Symbol); err != nil {
		return b.fail(op, errors.ErrInvalidOrder, err.Error())
	}
	if err := checkBar(bar); err != nil {
		return b.fail(op, errors.ErrInvalidOrder, fmt.Sprintf("bar of %s at %s: %v", bar.Symbol, bar.Start.Format(time.RFC3339), err))
	}
	bar.Start = bar.Start.UTC()
	b.mu.Lock()
	defer b.mu.Unlock()
	hist := b.bars[bar.Symbol]
	if n := len(hist); n > 0 {
		prev := hist[n-1]
		switch {
		case prev.Interval != bar.Interval:
			return b.fail(op, errors.ErrInvalidOrder, fmt.Sprintf("bar of %s is %s, earlier bars %s", bar.Symbol, bar.Interval, prev.Interval))
		case bar.Start.Before(prev.End()):
			return b.fail(op, errors.ErrInvalidOrder, fmt.Sprintf("bar of %s at %s starts before the previous bar ends (%s)",
				bar.Symbol, bar.Start.Format(time.RFC3339), prev.End().Format(time.RFC3339)))
		}
	}
	liquidity, limited := decimal.Zero, b.cfg.Bars.VolumeFraction.IsPositive()
	if limited {
		liquidity = bar.Volume.Mul(b.cfg.Bars.VolumeFraction)
	}
	for _, o := range b.openOf(bar.Symbol) {
		if p, at, ok := b.barPrice(o, bar); ok {
			qty := b.fillable(o)
			if limited {
				qty = decimal.Min(qty, liquidity)
			}
			if o.snap.TimeInForce == broker.FOK && !qty.Equal(o.snap.Remaining()) {
				qty = decimal.Zero
				o.snap.RejectReason = "fill or kill: not fillable in full on the bar"
			}
			if qty.IsPositive() {
				b.fill(o, qty, p, at)
				liquidity = liquidity.Sub(qty)
			}
		}
		if tif := o.snap.TimeInForce; (tif == broker.IOC || tif == broker.FOK) && !o.snap.Status.Terminal() {
			b.close(o, broker.StatusCanceled, bar.End())
		}
		b.advanceCancel(o, bar.End())
	}
	b.prices[bar.Symbol] = price{value: bar.Close, at: bar.End()}
	b.bars[bar.Symbol] = append(hist, bar)
	return nil
}

// checkBar refuses a bar the fill model cannot trust.
func checkBar(bar broker.Bar) error {
	if _, ok := bar.Interval.Duration(); !ok {
		return fmt.Errorf("unknown interval %q", bar.Interval)
	}
	for _, v := range []decimal.Decimal{bar.Open, bar.High, bar.Low, bar.Close, bar.Volume} {
		if !sane(v) {
			return fmt.Errorf("a figure is out of range")
		}
	}
	switch {
	case bar.Provisional:
		return fmt.Errorf("the bar is provisional: only closed bars are replayed")
	case !bar.Low.IsPositive():
		return fmt.Errorf("low %s is not positive", bar.Low)
	case bar.Volume.IsNegative():
		return fmt.Errorf("volume %s is negative", bar.Volume)
	case bar.High.LessThan(decimal.Max(bar.Open, bar.Close)) || bar.Low.GreaterThan(decimal.Min(bar.Open, bar.Close)):
		return fmt.Errorf("open %s and close %s are not within low %s and high %s", bar.Open, bar.Close, bar.Low, bar.High)
	}
	return nil
}

// barPrice decides whether o trades on bar and at what price and time,
// triggering a stop that the bar reaches and moving a trail that it does
// not.
func (b *Broker) barPrice(o *order, bar broker.Bar) (p decimal.Decimal, at time.Time, ok bool) {
	buy := o.snap.Side.IsBuy()
	if !o.triggered {
		stop := o.snap.StopPrice
		if buy && bar.High.LessThan(stop) || !buy && bar.Low.GreaterThan(stop) {
			if o.snap.Type == broker.TrailingStop {
				b.updateTrail(o, extreme(bar, buy))
			}
			return decimal.Zero, time.Time{}, false
		}
		o.triggered = true
		met, at := worse(stop, bar.Open, buy), bar.End()
		if met.Equal(bar.Open) {
			at = bar.Start
		}
		if o.snap.Type != broker.StopLimit {
			return b.slip(met, buy), at, true
		}
		if within(met, o.snap.LimitPrice, buy) {
			return met, at, true
		}
		return b.limitOnBar(o, bar, false)
	}
	switch o.snap.Type {
	case broker.Limit, broker.StopLimit:
		return b.limitOnBar(o, bar, true)
	}
	// A market order, or a stop triggered on an earlier bar that did not
	// fill in full.
	return b.slip(bar.Open, buy), bar.Start, true
}

// limitOnBar fills a limit at its limit when the bar reaches it; atOpen
// says the order worked from the bar's start (an open within the limit
// then fills at the start).
func (b *Broker) limitOnBar(o *order, bar broker.Bar, atOpen bool) (decimal.Decimal, time.Time, bool) {
	buy, limit := o.snap.Side.IsBuy(), o.snap.LimitPrice
	if !within(extreme(bar, buy), limit, buy) {
		return decimal.Zero, time.Time{}, false
	}
	if atOpen && within(bar.Open, limit, buy) {
		return limit, bar.Start, true
	}
	return limit, bar.End(), true
}

// extreme is the bar's best price for a buyer (its low) or a seller (its
// high).
func extreme(bar broker.Bar, buy bool) decimal.Decimal {
	if buy {
		return bar.Low
	}
	return bar.High
}

// worse is the worse of two prices for the side.
func worse(a, c decimal.Decimal, buy bool) decimal.Decimal {
	if buy {
		return decimal.Max(a, c)
	}
	return decimal.Min(a, c)
}

// within reports whether p is no worse than limit for the side.
func within(p, limit decimal.Decimal, buy bool) bool {
	if buy {
		return p.LessThanOrEqual(limit)
	}
	return p.GreaterThanOrEqual(limit)
}

// slip moves p against the side by the configured slippage.
func (b *Broker) slip(p decimal.Decimal, buy bool) decimal.Decimal {
	bps := b.cfg.Bars.SlippageBps
	if bps.IsZero() {
		return p
	}
	d := p.Mul(bps).Shift(-4)
	if buy {
		return p.Add(d)
	}
	return p.Sub(d)
}

// barDriven reports whether symbol has had a bar: its orders then wait for
// the next bar instead of meeting the last price at placement.
func (b *Broker) barDriven(symbol string) bool { return len(b.bars[symbol]) > 0 }

// Bars implements [broker.BarSource] over the bars ApplyBar has replayed
// (closed bars only): q.Symbol's bars with q.From <= Start < q.To, oldest
// first. A symbol without bars has none; another interval than the
// symbol's is refused with an error matching errors.ErrNotSupported (paper
// does not resample), an empty range with errors.ErrInvalidOrder.
func (b *Broker) Bars(ctx context.Context, q broker.BarQuery) ([]broker.Bar, error) {
	var out []broker.Bar
	err := b.call(ctx, OpBars, func() error {
		if q.From.IsZero() || q.To.IsZero() || !q.To.After(q.From) {
			return b.fail(OpBars, errors.ErrInvalidOrder, "the range is empty or unset")
		}
		hist := b.bars[q.Symbol]
		if len(hist) == 0 {
			return nil
		}
		if hist[0].Interval != q.Interval {
			return b.fail(OpBars, errors.ErrNotSupported, fmt.Sprintf("%s has %s bars, not %s", q.Symbol, hist[0].Interval, q.Interval))
		}
		cmpStart := func(bar broker.Bar, t time.Time) int { return bar.Start.Compare(t) }
		lo, _ := slices.BinarySearchFunc(hist, q.From, cmpStart)
		hi, _ := slices.BinarySearchFunc(hist, q.To, cmpStart)
		out = slices.Clone(hist[lo:hi])
		return nil
	})
	return out, err
}

// barIntervals lists the intervals of the bars replayed, for Capabilities.
func (b *Broker) barIntervals() []broker.Interval {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []broker.Interval
	for _, hist := range b.bars {
		if !slices.Contains(out, hist[0].Interval) {
			out = append(out, hist[0].Interval)
		}
	}
	slices.Sort(out)
	return out
}
