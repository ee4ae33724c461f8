package risk

import (
	"context"
	"sort"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/shopspring/decimal"
)

// PositionSource returns the account's open positions, signed (negative for a
// short). broker.Broker satisfies it.
type PositionSource interface {
	Positions(ctx context.Context) ([]broker.Position, error)
}

// OpenOrderSource returns the orders working at the broker. broker.Broker
// satisfies it.
type OpenOrderSource interface {
	OpenOrders(ctx context.Context) ([]broker.Order, error)
}

// AccountSource returns the account's balances. broker.Broker satisfies it.
type AccountSource interface {
	Account(ctx context.Context) (broker.Account, error)
}

// MarketData returns quotes for symbols; a symbol it does not know is left
// out of the result. broker.Broker satisfies it.
type MarketData interface {
	Quotes(ctx context.Context, symbols ...string) ([]broker.Quote, error)
}

// StreamedMarketData is a MarketData kept from a quote stream (a book of
// the last streamed quotes, say). The engine reads its Status before each
// lookup: while the stream is not fresh (broker.StreamStatus.Fresh with
// the engine's MaxQuoteAge: disconnected, resubscribing, or silent too
// long) its quotes count as no data and an order that needs one is
// refused, fail closed. A quote that has not changed while the stream is
// fresh still holds, so only the stream's age is checked, not the quote's:
// Quotes must return only quotes received since the stream's last
// reconnect (an older one may have been overtaken by one lost in the gap).
type StreamedMarketData interface {
	MarketData
	Status() broker.StreamStatus
}

// PnLSource returns the account's profit and loss for the trading day that
// started at dayStart (midnight in the engine's time zone).
type PnLSource interface {
	DailyPnL(ctx context.Context, dayStart time.Time) (PnL, error)
}

// PnL is a trading day's profit and loss, in the account's currency.
type PnL struct {
	Realized   decimal.Decimal // closed trades since the day started
	Unrealized decimal.Decimal // open positions marked to market
}

// Total returns realized plus unrealized P&L; negative is a loss.
func (p PnL) Total() decimal.Decimal { return p.Realized.Add(p.Unrealized) }

// Needs is the set of data a rule reads from its [Intent]. The engine
// gathers only what its rules need, and refuses the order (fail closed) when
// a needed source fails. Order counts, the time and the request are always
// present.
type Needs uint8

// The data a rule may need.
const (
	// NeedQuote: a fresh quote for the order's symbol ([Intent.Quote]).
	NeedQuote Needs = 1 << iota
	// NeedPositions: the positions and reservations ([Intent.Position],
	// [Intent.Others]).
	NeedPositions
	// NeedMarks: a fresh mark price for every other held symbol
	// ([Holding.Mark]); implies NeedPositions and NeedQuote.
	NeedMarks
	// NeedAccount: the account's balances ([Intent.Account]).
	NeedAccount
	// NeedPnL: the trading day's P&L ([Intent.PnL]).
	NeedPnL
)

// Holding is the exposure in one symbol: the position the source reports
// plus the orders that may still add to it: those the engine has reserved
// and not yet settled, and (with [Config.OpenOrders]) the unfilled
// remainder of the orders working at the broker.
type Holding struct {
	Symbol      string          // the instrument's symbol
	Quantity    decimal.Decimal // signed position: negative for a short
	PendingBuy  decimal.Decimal // reserved and working buys (not negative)
	PendingSell decimal.Decimal // reserved and working sells (not negative)
	// Mark values the holding: the last trade, else the bid/ask midpoint.
	// It is set for every holding in [Intent.Others] when a rule needs
	// marks, and on [Intent.Position] when a rule needs a quote.
	Mark decimal.Decimal
}

// Range returns the lowest and highest position the symbol reaches if every
// reserved sell (for low) or every reserved buy (for high) fills.
func (h Holding) Range() (low, high decimal.Decimal) {
	low, high = h.Quantity, h.Quantity
	if !h.PendingSell.IsZero() {
		low = low.Sub(h.PendingSell)
	}
	if !h.PendingBuy.IsZero() {
		high = high.Add(h.PendingBuy)
	}
	return low, high
}

// Extent returns the largest absolute position the symbol can reach: the
// worst case of [Holding.Range].
func (h Holding) Extent() decimal.Decimal {
	return extent(h.Range())
}

// Intent is an order about to be sent and everything the rules need to judge
// it. The engine builds it ([Engine.Gather], [Engine.PreTrade]); a host may
// build one for [Engine.Check]. A rule reads it: it must not change it nor
// keep its slices after Check returns.
type Intent struct {
	Request  broker.OrderRequest // the order being checked, as it would be sent
	Time     time.Time           // the engine's clock when the intent was gathered
	DayStart time.Time           // midnight that started the trading day, in the engine's zone
	// Quote is the order symbol's quote, checked present and fresh; zero
	// unless a rule needs it.
	Quote   broker.Quote
	Account broker.Account // zero unless a rule needs it
	// Position is the order symbol's holding, before this order.
	Position Holding
	// Others are the other symbols with a position, a reservation or a
	// working order.
	Others []Holding
	// others indexes Others by symbol key while the intent is built.
	others map[string]int
	PnL    PnL // zero unless a rule needs it
	// OrdersToday counts the orders sent or reserved in this trading day,
	// this one excluded.
	OrdersToday int
	// OrderTimes are the times of the orders sent or reserved within the
	// longest [MaxOrderRate] window, ascending, this one excluded.
	OrderTimes []time.Time

	// derived holds values several rules would otherwise compute again; the
	// engine fills it once per check (see prepare).
	derived derived
}

type derived struct {
	ready         bool
	before, after decimal.Decimal // Exposure
	price         decimal.Decimal // Price
	priced        bool
	afterValue    decimal.Decimal // after × price, when priced
}

// prepare computes the values rules share, once: the engine calls it on its
// own copy of the intent before running the rules.
func (in *Intent) prepare() {
	d := derived{ready: true}
	d.before, d.after = in.exposure()
	d.price, d.priced = in.price()
	if d.priced {
		d.afterValue = d.after.Mul(d.price)
	}
	in.derived = d
}

// exposureValue returns the order symbol's worst-case absolute position
// after the order, valued at the order's price, with the exposure before
// and after; ok is false when the order has no price.
func (in *Intent) exposureValue() (value, before, after decimal.Decimal, ok bool) {
	before, after = in.exposures()
	if in.derived.ready {
		return in.derived.afterValue, before, after, in.derived.priced
	}
	price, ok := in.price()
	return after.Mul(price), before, after, ok
}

// Delta returns the order's signed quantity: positive for a buy (Buy,
// BuyToCover), negative for a sell (Sell, SellShort).
func (in Intent) Delta() decimal.Decimal {
	if in.Request.Side.IsBuy() {
		return in.Request.Quantity
	}
	return in.Request.Quantity.Neg()
}

// Price returns the price the order is valued at: its limit price, else its
// stop price, else the quote's ask for a buy or bid for a sell, else the
// quote's last trade. ok is false when none is known.
func (in Intent) Price() (price decimal.Decimal, ok bool) { return in.pricing() }

// pricing is Price by pointer. The unexported methods take the intent by
// pointer: the engine hands the built-in rules its own copy rather than a
// copy per rule (an Intent is several hundred bytes).
func (in *Intent) pricing() (price decimal.Decimal, ok bool) {
	if in.derived.ready {
		return in.derived.price, in.derived.priced
	}
	return in.price()
}

func (in *Intent) price() (decimal.Decimal, bool) {
	r := in.Request
	for _, p := range [...]decimal.Decimal{r.LimitPrice, r.StopPrice, in.sideQuote(), in.Quote.Last} {
		if p.IsPositive() {
			return p, true
		}
	}
	return decimal.Zero, false
}

func (in *Intent) sideQuote() decimal.Decimal {
	if in.Request.Side.IsBuy() {
		return in.Quote.Ask
	}
	return in.Quote.Bid
}

// Notional returns the order's value: quantity times [Intent.Price].
func (in Intent) Notional() (decimal.Decimal, bool) { return in.notional() }

func (in *Intent) notional() (decimal.Decimal, bool) {
	p, ok := in.pricing()
	return in.Request.Quantity.Mul(p), ok
}

// Exposure returns the order symbol's worst-case absolute position
// ([Holding.Extent]) before and after this order. An order that does not
// raise it (a sell that shrinks a long, a buy that covers a short) reduces
// risk, and position rules never refuse it, even beyond their limit.
func (in Intent) Exposure() (before, after decimal.Decimal) { return in.exposures() }

func (in *Intent) exposures() (before, after decimal.Decimal) {
	if in.derived.ready {
		return in.derived.before, in.derived.after
	}
	return in.exposure()
}

func (in *Intent) exposure() (before, after decimal.Decimal) {
	low, high := in.Position.Range()
	before = extent(low, high)
	if in.Request.Side.IsBuy() {
		high = high.Add(in.Request.Quantity)
	} else {
		low = low.Sub(in.Request.Quantity)
	}
	return before, extent(low, high)
}

// OrdersSince counts the orders in OrderTimes strictly after t.
func (in Intent) OrdersSince(t time.Time) int { return in.ordersSince(t) }

func (in *Intent) ordersSince(t time.Time) int {
	i := sort.Search(len(in.OrderTimes), func(i int) bool { return in.OrderTimes[i].After(t) })
	return len(in.OrderTimes) - i
}

// markPrice values a quote: the last trade, else the bid/ask midpoint, else
// whichever side is quoted.
func markPrice(q broker.Quote) (decimal.Decimal, bool) {
	switch {
	case q.Last.IsPositive():
		return q.Last, true
	case q.Bid.IsPositive() && q.Ask.IsPositive():
		return q.Bid.Add(q.Ask).Div(decimal.NewFromInt(2)), true
	case q.Ask.IsPositive():
		return q.Ask, true
	case q.Bid.IsPositive():
		return q.Bid, true
	}
	return decimal.Zero, false
}

// extent returns max(|low|, |high|) for low <= high, negating only when a
// short is the larger.
func extent(low, high decimal.Decimal) decimal.Decimal {
	switch {
	case low.Sign() >= 0:
		return high
	case high.Sign() <= 0:
		return low.Neg()
	}
	if short := low.Neg(); short.GreaterThan(high) {
		return short
	}
	return high
}
