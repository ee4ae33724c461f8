package paper

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/errors"
	"github.com/shopspring/decimal"
)

var hundred = decimal.NewFromInt(100)

// order is the broker's record of one order. Every field is guarded by the
// broker's mutex.
type order struct {
	seq  uint64
	snap broker.Order // the public snapshot, kept current
	// notional is the sum of fill quantity × price, for the average price.
	notional decimal.Decimal
	// reservePrice is the price per unit a buy reserves buying power at.
	reservePrice decimal.Decimal
	// triggered is true once a stop has triggered (always for market and
	// limit orders).
	triggered bool
	// best is a trailing stop's best price since placement: the highest for
	// a sell, the lowest for a buy; zero until the first price.
	best decimal.Decimal
	// trailAmount and trailPercent are a trailing stop's trail (one is zero).
	trailAmount, trailPercent decimal.Decimal
	// cancelIn counts the price updates left before a pending cancel is
	// confirmed.
	cancelIn int
}

func (o *order) ack() broker.Ack {
	return broker.Ack{OrderID: o.snap.OrderID, ClientOrderID: o.snap.ClientOrderID,
		Status: o.snap.Status, RawStatus: o.snap.RawStatus, AcceptedAt: o.snap.CreatedAt}
}

func (o *order) snapshot() broker.Order {
	s := o.snap
	s.Fills = slices.Clone(o.snap.Fills)
	s.LeavesQuantity = decimal.Zero
	if !s.Status.Terminal() {
		s.LeavesQuantity = s.Quantity.Sub(s.FilledQuantity)
	}
	if n := len(s.Fills); n > 0 {
		s.LastFillAt = s.Fills[n-1].Time
	}
	return s
}

// commitment is the buying power a working buy order holds.
func (o *order) commitment() decimal.Decimal {
	if !o.snap.Side.IsBuy() || o.snap.Status.Terminal() {
		return decimal.Zero
	}
	return o.snap.Remaining().Mul(o.reservePrice)
}

func (o *order) setStatus(s broker.Status, now time.Time) {
	o.snap.Status = s
	o.snap.RawStatus = strings.ToUpper(s.String())
	o.snap.UpdatedAt = now
}

// admit checks that req may be placed: a known symbol, the side allowed for
// its asset class, and enough buying power or position. replacing is the
// order req replaces, whose reservations it may reuse, or nil.
func (b *Broker) admit(op Op, req broker.OrderRequest, replacing *order) error {
	sym := req.Instrument.Symbol
	class, registered := b.classes[sym]
	last, priced := b.prices[sym]
	switch {
	case !registered && !priced:
		return b.fail(op, errors.ErrInvalidOrder, fmt.Sprintf("unknown symbol %q", sym))
	case registered && class != req.Instrument.AssetClass:
		return b.fail(op, errors.ErrInvalidOrder,
			fmt.Sprintf("instrument.asset_class is %s, but %s is %s", req.Instrument.AssetClass, sym, class))
	}
	if req.Side == broker.SellShort {
		if req.Instrument.AssetClass != broker.Equity {
			return b.fail(op, errors.ErrInvalidOrder, fmt.Sprintf("side sell_short: %s %s cannot be sold short", req.Instrument.AssetClass, sym))
		}
		if !b.cfg.AllowShort {
			return b.fail(op, errors.ErrOrderRejected, "short selling is not enabled for this account")
		}
	}
	held := decimal.Zero
	if p, ok := b.positions[sym]; ok {
		held = p.quantity
	}
	switch req.Side {
	case broker.Sell:
		if avail := held.Sub(b.pending(sym, broker.Sell, replacing)); req.Quantity.GreaterThan(avail) {
			return b.fail(op, errors.ErrInsufficientFunds,
				fmt.Sprintf("sell of %s %s exceeds the %s held and not already offered", req.Quantity, sym, avail))
		}
	case broker.BuyToCover:
		if avail := held.Neg().Sub(b.pending(sym, broker.BuyToCover, replacing)); req.Quantity.GreaterThan(avail) {
			return b.fail(op, errors.ErrInsufficientFunds,
				fmt.Sprintf("buy to cover of %s %s exceeds the short of %s not already covered", req.Quantity, sym, avail))
		}
	}
	ref, ok := reservePrice(req, last.value)
	if !ok {
		return b.fail(op, errors.ErrInvalidOrder, fmt.Sprintf("no price for %s yet to value a %s order", sym, req.Type))
	}
	if req.Side == broker.Sell {
		return nil
	}
	notional := req.Quantity.Mul(ref)
	power := b.buyingPower()
	if replacing != nil {
		power = power.Add(replacing.commitment())
	}
	if need := notional.Add(b.fee(notional)).Add(b.cfg.FeePerOrder); need.GreaterThan(power) {
		return b.fail(op, errors.ErrInsufficientFunds,
			fmt.Sprintf("order needs %s, buying power is %s", need, power))
	}
	return nil
}

// pending is the remaining quantity of working side orders of symbol, other
// than except.
func (b *Broker) pending(symbol string, side broker.Side, except *order) decimal.Decimal {
	total := decimal.Zero
	for _, o := range b.bySymbol[symbol].working() {
		if o != except && o.snap.Side == side {
			total = total.Add(o.snap.Remaining())
		}
	}
	return total
}

// reservePrice is the price per unit req is valued at for buying power:
// its limit, or the last price (the stop if higher, plus the trail for a
// trailing stop). ok is false when it needs a last price and there is none.
func reservePrice(req broker.OrderRequest, last decimal.Decimal) (ref decimal.Decimal, ok bool) {
	switch req.Type {
	case broker.Limit, broker.StopLimit:
		return req.LimitPrice, true
	case broker.Stop:
		return decimal.Max(req.StopPrice, last), true
	}
	if last.IsZero() {
		return decimal.Zero, false
	}
	if req.Type == broker.TrailingStop {
		return last.Add(trail(req.TrailAmount, req.TrailPercent, last)), true
	}
	return last, true
}

// trail is a trailing stop's distance from the reference price.
func trail(amount, percent, ref decimal.Decimal) decimal.Decimal {
	if amount.IsPositive() {
		return amount
	}
	return ref.Mul(percent).Div(hundred)
}

// newOrder records a working order for an admitted req.
func (b *Broker) newOrder(req broker.OrderRequest, now time.Time) *order {
	b.orderSeq++
	last := b.prices[req.Instrument.Symbol].value
	ref, _ := reservePrice(req, last)
	o := &order{
		seq:          b.orderSeq,
		reservePrice: ref,
		triggered:    req.Type == broker.Market || req.Type == broker.Limit,
		snap: broker.Order{
			OrderID:       fmt.Sprintf("P%09d", b.orderSeq),
			ClientOrderID: req.ClientOrderID,
			Instrument:    req.Instrument,
			Side:          req.Side,
			Type:          req.Type,
			TimeInForce:   req.TimeInForce,
			Quantity:      req.Quantity,
			LimitPrice:    req.LimitPrice,
			StopPrice:     req.StopPrice,
			CreatedAt:     now,
		},
	}
	o.setStatus(broker.StatusNew, now)
	b.orders[o.snap.OrderID] = o
	b.byClientID[req.ClientOrderID] = o
	sym := req.Instrument.Symbol
	if b.bySymbol[sym] == nil {
		b.bySymbol[sym] = &queue{}
	}
	b.bySymbol[sym].push(o)
	b.working.push(o)
	b.committed = b.committed.Add(o.commitment())
	b.emitOrder(broker.OrderEventAccepted, o, nil)
	if req.Type == broker.TrailingStop {
		o.trailAmount, o.trailPercent = req.TrailAmount, req.TrailPercent
		if last.IsPositive() {
			b.updateTrail(o, last)
		}
	}
	return o
}

// matchAtPlacement lets a new order meet the current price, then applies
// its time in force: IOC cancels what did not fill, FOK fills in full or
// not at all.
func (b *Broker) matchAtPlacement(o *order, now time.Time) {
	if b.barDriven(o.snap.Instrument.Symbol) {
		return // it meets the next bar (ApplyBar), time in force included
	}
	last, priced := b.prices[o.snap.Instrument.Symbol]
	tif := o.snap.TimeInForce
	if tif == broker.FOK {
		if !priced || !b.executable(o, last.value) || !b.fillable(o).Equal(o.snap.Remaining()) {
			o.snap.RejectReason = "fill or kill: not fillable in full at once"
			b.close(o, broker.StatusCanceled, now)
			return
		}
	}
	if priced {
		b.match(o, last.value, now)
	}
	if (tif == broker.IOC || tif == broker.FOK) && !o.snap.Status.Terminal() {
		b.close(o, broker.StatusCanceled, now)
	}
}

// match fills what o can fill at price p.
func (b *Broker) match(o *order, p decimal.Decimal, now time.Time) {
	if o.snap.Status.Terminal() || !b.executable(o, p) {
		return
	}
	b.fill(o, b.fillable(o), p, now)
}

// executable updates o's trail and trigger at price p and reports whether o
// would trade at p.
func (b *Broker) executable(o *order, p decimal.Decimal) bool {
	side := o.snap.Side
	if o.snap.Type == broker.TrailingStop {
		b.updateTrail(o, p)
	}
	if !o.triggered {
		stop := o.snap.StopPrice
		o.triggered = side.IsBuy() && p.GreaterThanOrEqual(stop) || !side.IsBuy() && p.LessThanOrEqual(stop)
		if !o.triggered {
			return false
		}
	}
	if o.snap.Type != broker.Limit && o.snap.Type != broker.StopLimit {
		return true
	}
	limit := o.snap.LimitPrice
	return side.IsBuy() && p.LessThanOrEqual(limit) || !side.IsBuy() && p.GreaterThanOrEqual(limit)
}

// updateTrail moves a trailing stop's best price and stop with price p.
func (b *Broker) updateTrail(o *order, p decimal.Decimal) {
	if o.triggered {
		return
	}
	buy := o.snap.Side.IsBuy()
	if o.best.IsZero() || buy && p.LessThan(o.best) || !buy && p.GreaterThan(o.best) {
		o.best = p
	}
	if buy {
		o.snap.StopPrice = o.best.Add(trail(o.trailAmount, o.trailPercent, o.best))
	} else {
		o.snap.StopPrice = o.best.Sub(trail(o.trailAmount, o.trailPercent, o.best))
	}
}

// fillable is how much o fills in one price update.
func (b *Broker) fillable(o *order) decimal.Decimal {
	qty := o.snap.Remaining()
	if limit := b.cfg.MaxFillPerUpdate; limit.IsPositive() && qty.GreaterThan(limit) {
		return limit
	}
	return qty
}

// fill executes qty of o at price p: the order, cash and position move.
func (b *Broker) fill(o *order, qty, p decimal.Decimal, now time.Time) {
	before := o.commitment()
	b.execSeq++
	notional := qty.Mul(p)
	fee := b.fee(notional)
	if len(o.snap.Fills) == 0 {
		fee = fee.Add(b.cfg.FeePerOrder)
	}
	o.snap.Fills = append(o.snap.Fills, broker.Fill{
		ExecID: fmt.Sprintf("E%09d", b.execSeq), Quantity: qty, Price: p, Fee: fee, Time: now,
	})
	o.snap.FilledQuantity = o.snap.FilledQuantity.Add(qty)
	o.notional = o.notional.Add(notional)
	o.snap.Fees = o.snap.Fees.Add(fee)
	o.snap.AvgFillPrice = o.notional.DivRound(o.snap.FilledQuantity, 16)
	switch {
	case o.snap.FilledQuantity.GreaterThanOrEqual(o.snap.Quantity):
		b.close(o, broker.StatusFilled, now)
	case o.snap.Status == broker.StatusPendingCancel:
		o.snap.UpdatedAt = now // the cancel is still pending
	default:
		o.setStatus(broker.StatusPartiallyFilled, now)
	}
	b.committed = b.committed.Add(o.commitment()).Sub(before)

	signed := qty
	if !o.snap.Side.IsBuy() {
		signed = qty.Neg()
	}
	b.cash = b.cash.Sub(signed.Mul(p)).Sub(fee)
	b.position(o.snap.Instrument).apply(signed, p, fee)
	b.emitOrder(broker.OrderEventFill, o, &o.snap.Fills[len(o.snap.Fills)-1])
}

// close ends o with a terminal status and releases what it reserved.
func (b *Broker) close(o *order, s broker.Status, now time.Time) {
	before := o.commitment()
	o.setStatus(s, now)
	o.cancelIn = 0
	b.committed = b.committed.Add(o.commitment()).Sub(before)
	if s == broker.StatusCanceled {
		b.emitOrder(broker.OrderEventCanceled, o, nil)
	}
	sym := o.snap.Instrument.Symbol
	b.working.ended()
	if q := b.bySymbol[sym]; q.ended() == 0 {
		delete(b.bySymbol, sym)
	}
}

// advanceCancel counts one price update against o's pending cancel and
// confirms it when the latency has passed.
func (b *Broker) advanceCancel(o *order, now time.Time) {
	if o.snap.Status != broker.StatusPendingCancel {
		return
	}
	o.cancelIn--
	if o.cancelIn <= 0 {
		b.close(o, broker.StatusCanceled, now)
	}
}

// fee is the fee on a fill of notional.
func (b *Broker) fee(notional decimal.Decimal) decimal.Decimal {
	return decimal.Max(notional.Abs().Mul(b.cfg.FeeBps).Shift(-4), b.cfg.MinFee)
}

func (b *Broker) position(in broker.Instrument) *position {
	p, ok := b.positions[in.Symbol]
	if !ok {
		p = &position{instrument: in}
		b.positions[in.Symbol] = p
	}
	return p
}

// position is a signed holding with its cost basis and realized P&L.
type position struct {
	instrument broker.Instrument
	quantity   decimal.Decimal // signed: negative for a short
	// cost is the cost basis of quantity: what was paid for a long (positive),
	// what was received for a short (negative).
	cost     decimal.Decimal
	realized decimal.Decimal // net of fees
}

// apply books a fill of signed quantity d (positive buys) at price p with
// fee. The part that reduces the position realizes P&L against the average
// cost; the rest opens or adds at p. Cash change always equals the change of
// realized P&L plus the change of (quantity × p − cost), so the books stay
// exact.
func (p *position) apply(d, price, fee decimal.Decimal) {
	p.realized = p.realized.Sub(fee)
	if !p.quantity.IsZero() && p.quantity.Sign() != d.Sign() {
		closing := decimal.Min(d.Abs(), p.quantity.Abs())
		if d.IsNegative() {
			closing = closing.Neg()
		}
		removed := p.cost.Mul(closing.Abs()).DivRound(p.quantity.Abs(), 16)
		if closing.Abs().Equal(p.quantity.Abs()) {
			removed = p.cost
		}
		p.realized = p.realized.Sub(closing.Mul(price)).Sub(removed)
		p.cost = p.cost.Sub(removed)
		p.quantity = p.quantity.Add(closing)
		d = d.Sub(closing)
	}
	p.cost = p.cost.Add(d.Mul(price))
	p.quantity = p.quantity.Add(d)
}

func (p *position) public() broker.Position {
	return broker.Position{Instrument: p.instrument, Quantity: p.quantity,
		AvgCost: p.cost.DivRound(p.quantity, 8)}
}

// queue holds working orders in time priority (placement order). An order
// that ends stays in the slice until enough have ended to compact it, so
// that ending costs O(1) and a scan costs O(working orders), amortized.
type queue struct {
	orders []*order
	done   int // orders in the slice that have ended
}

func (q *queue) push(o *order) { q.orders = append(q.orders, o) }

// ended records that one of q's orders has ended and returns how many are
// still working.
func (q *queue) ended() int {
	q.done++
	if q.done > 32 && 2*q.done > len(q.orders) {
		q.orders = slices.DeleteFunc(q.orders, func(o *order) bool { return o.snap.Status.Terminal() })
		q.done = 0
	}
	return len(q.orders) - q.done
}

// working returns q's working orders, oldest first, in a new slice (the
// caller may end orders while it walks it). A nil q has none.
func (q *queue) working() []*order {
	if q == nil {
		return nil
	}
	out := make([]*order, 0, len(q.orders)-q.done)
	for _, o := range q.orders {
		if !o.snap.Status.Terminal() {
			out = append(out, o)
		}
	}
	return out
}
