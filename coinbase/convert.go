package coinbase

import (
	"github.com/arbiontrader/arbion/broker"
	"github.com/shopspring/decimal"
)

// mapStatus normalizes Coinbase's order status (ORDER_STATES.md). Coinbase
// has no partially-filled status: a working order with fills is partially
// filled. An unknown status is broker.StatusUnknown (not terminal); the
// caller keeps RawStatus and reports it.
func mapStatus(raw string, filled decimal.Decimal, pendingCancel bool) broker.Status {
	switch raw {
	case "PENDING", "QUEUED", "OPEN":
		if pendingCancel {
			return broker.StatusPendingCancel
		}
		if filled.IsPositive() {
			return broker.StatusPartiallyFilled
		}
		return broker.StatusNew
	case "CANCEL_QUEUED":
		return broker.StatusPendingCancel
	case "EDIT_QUEUED":
		return broker.StatusPendingReplace
	case "FILLED":
		return broker.StatusFilled
	case "CANCELLED":
		return broker.StatusCanceled
	case "EXPIRED":
		return broker.StatusExpired
	case "FAILED":
		return broker.StatusRejected
	}
	return broker.StatusUnknown
}

func mapSide(s string) broker.Side {
	switch s {
	case "BUY":
		return broker.Buy
	case "SELL":
		return broker.Sell
	}
	return 0
}

// orderShape is what the order_configuration says about the request.
type orderShape struct {
	typ                   broker.OrderType
	tif                   broker.TimeInForce
	size, quoteSize       decimal.Decimal
	limitPrice, stopPrice decimal.Decimal
}

func sizeOf(n *num) decimal.Decimal {
	if n == nil {
		return decimal.Zero
	}
	return n.Decimal
}

// shape reads the single configuration variant of an order. ok is false
// when there is none, more than one, or an unknown one.
func (c *wireOrderConfig) shape() (s orderShape, ok bool) {
	if c == nil || c.variantCount() != 1 || len(c.unknownFields) > 0 {
		return s, false
	}
	limit := func(l *wireLimit, tif broker.TimeInForce) orderShape {
		return orderShape{typ: broker.Limit, tif: tif, size: sizeOf(l.BaseSize), quoteSize: sizeOf(l.QuoteSize), limitPrice: l.LimitPrice.Decimal}
	}
	stop := func(l *wireStopLimit, tif broker.TimeInForce) orderShape {
		return orderShape{typ: broker.StopLimit, tif: tif, size: l.BaseSize.Decimal, limitPrice: l.LimitPrice.Decimal, stopPrice: l.StopPrice.Decimal}
	}
	bracket := func(l *wireBracket, tif broker.TimeInForce) orderShape {
		return orderShape{typ: broker.Limit, tif: tif, size: sizeOf(l.BaseSize), limitPrice: l.LimitPrice.Decimal, stopPrice: l.StopTriggerPrice.Decimal}
	}
	switch {
	case c.MarketIOC != nil:
		s = orderShape{typ: broker.Market, tif: broker.IOC, size: sizeOf(c.MarketIOC.BaseSize), quoteSize: sizeOf(c.MarketIOC.QuoteSize)}
	case c.MarketFOK != nil:
		s = orderShape{typ: broker.Market, tif: broker.FOK, size: sizeOf(c.MarketFOK.BaseSize), quoteSize: sizeOf(c.MarketFOK.QuoteSize)}
	case c.SorLimitIOC != nil:
		s = limit(c.SorLimitIOC, broker.IOC)
	case c.LimitGTC != nil:
		s = limit(c.LimitGTC, broker.GTC)
	case c.LimitGTD != nil:
		s = limit(c.LimitGTD, broker.Day)
	case c.LimitFOK != nil:
		s = limit(c.LimitFOK, broker.FOK)
	case c.StopLimitGTC != nil:
		s = stop(c.StopLimitGTC, broker.GTC)
	case c.StopLimitGTD != nil:
		s = stop(c.StopLimitGTD, broker.Day)
	case c.BracketGTC != nil:
		s = bracket(c.BracketGTC, broker.GTC)
	case c.BracketGTD != nil:
		s = bracket(c.BracketGTD, broker.Day)
	}
	return s, true
}

// orderFromWire maps an order. The quantity is the base size asked for; a
// quote-sized order has no base size, so its quantity is what filled (its
// remaining quantity is not meaningful in base units).
func orderFromWire(w wireOrder) (broker.Order, bool) {
	o := broker.Order{
		OrderID: w.OrderID, ClientOrderID: w.ClientOrderID,
		Instrument: broker.Instrument{Symbol: w.ProductID, AssetClass: broker.Crypto},
		Side:       mapSide(w.Side), RawStatus: w.Status,
		Status:         mapStatus(w.Status, w.FilledSize.Decimal, w.PendingCancel),
		FilledQuantity: w.FilledSize.Decimal, AvgFillPrice: w.AverageFilledPrice.Decimal,
		Fees: w.TotalFees.Decimal, CreatedAt: w.CreatedTime.Time, UpdatedAt: w.CreatedTime.Time,
	}
	if !w.LastFillTime.IsZero() {
		o.UpdatedAt = w.LastFillTime.Time
	}
	if n := len(w.EditHistory); n > 0 && w.EditHistory[n-1].ReplaceAcceptTimestamp.After(o.UpdatedAt) {
		o.UpdatedAt = w.EditHistory[n-1].ReplaceAcceptTimestamp.Time
	}
	if !o.FilledQuantity.IsPositive() {
		o.AvgFillPrice = decimal.Zero
	}
	if informative(w.RejectReason) && w.RejectReason != "REJECT_REASON_UNSPECIFIED" || w.RejectMessage != "" {
		o.RejectReason = firstNonEmpty(joinNonEmpty(w.RejectReason, w.RejectMessage), w.RejectReason)
	}
	shape, ok := w.OrderConfiguration.shape()
	o.Type, o.TimeInForce = shape.typ, shape.tif
	o.Quantity, o.LimitPrice, o.StopPrice = shape.size, shape.limitPrice, shape.stopPrice
	quoteSized := w.SizeInQuote || shape.quoteSize.IsPositive() && shape.size.IsZero()
	if quoteSized {
		o.Quantity = o.FilledQuantity
	}
	o.LeavesQuantity = leaves(o, quoteSized)
	o.LastFillAt = w.LastFillTime.Time
	return o, ok
}

// leaves derives the working quantity: Coinbase's REST orders carry no
// leaves field. A terminal order leaves nothing; a base-sized one leaves its
// base size less what filled. A quote-sized order asked for an amount of
// quote currency, so what it leaves is unknown in base units: it is left
// zero, and Order.Remaining falls back to Quantity less FilledQuantity
// (zero here too, since Quantity is what filled); read status and
// completion_percentage for such orders instead.
func leaves(o broker.Order, quoteSized bool) decimal.Decimal {
	if o.Status.Terminal() || quoteSized {
		return decimal.Zero
	}
	if r := o.Quantity.Sub(o.FilledQuantity); r.IsPositive() {
		return r
	}
	return decimal.Zero
}

func joinNonEmpty(a, b string) string {
	switch {
	case a == "" || a == "REJECT_REASON_UNSPECIFIED":
		return b
	case b == "":
		return a
	}
	return a + ": " + b
}

// Execution is one fill as Coinbase lists it, with the base quantity
// already converted for quote-sized orders.
type Execution struct {
	broker.Fill        // ExecID is Coinbase's trade_id; Quantity in base units
	OrderID     string // Coinbase's order id
	Symbol      string // product id
	Side        broker.Side
	Liquidity   string // MAKER, TAKER or UNKNOWN_LIQUIDITY_INDICATOR
	// TradeType is FILL for an execution; anything else (REVERSAL,
	// CORRECTION, SYNTHETIC) is an adjustment the host must review.
	TradeType string
	// QuoteSize is the fill's size in quote units when Coinbase reported it
	// so (size_in_quote), zero otherwise.
	QuoteSize decimal.Decimal
}

// baseDivisionPlaces is the precision of quote→base conversions, beyond
// any product's base_increment.
const baseDivisionPlaces = 18

func executionFromWire(w wireFill) Execution {
	e := Execution{
		Fill: broker.Fill{ExecID: w.TradeID, Quantity: w.Size.Decimal, Price: w.Price.Decimal,
			Fee: w.Commission.Decimal, Time: w.TradeTime.Time},
		OrderID: w.OrderID, Symbol: w.ProductID, Side: mapSide(w.Side),
		Liquidity: w.LiquidityIndicator, TradeType: w.TradeType,
	}
	if w.SizeInQuote {
		// size is in the quote currency (the commission is a percentage of
		// it): base = size / price.
		e.QuoteSize = w.Size.Decimal
		if w.Price.IsPositive() {
			e.Quantity = w.Size.DivRound(w.Price.Decimal, baseDivisionPlaces)
		}
	}
	return e
}
