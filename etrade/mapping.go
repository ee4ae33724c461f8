package etrade

import (
	"strconv"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/shopspring/decimal"
)

// statusOf maps an E*TRADE status to the normalized one (docs/ORDER_STATES.md).
// Working statuses are refined by the fills: nothing filled is new, some
// filled is partially filled. known is false for a status the adapter does
// not recognise (INVALID, option lifecycle events, anything new): it is
// reported as StatusUnknown and never ends an order.
func statusOf(raw string, filled, ordered decimal.Decimal, replaced bool) (st broker.Status, known bool) {
	working := func() broker.Status {
		switch {
		case filled.IsZero():
			return broker.StatusNew
		case filled.GreaterThanOrEqual(ordered):
			return broker.StatusFilled
		default:
			return broker.StatusPartiallyFilled
		}
	}
	switch raw {
	case "OPEN", "INDIVIDUAL_FILLS", "PARTIAL":
		return working(), true
	case "CANCEL_REQUESTED":
		return broker.StatusPendingCancel, true
	case "EXECUTED", "DONE_TRADE_EXECUTED":
		return broker.StatusFilled, true
	case "CANCELLED":
		if replaced {
			return broker.StatusReplaced, true
		}
		return broker.StatusCanceled, true
	case "EXPIRED":
		return broker.StatusExpired, true
	case "REJECTED":
		return broker.StatusRejected, true
	}
	// INVALID, OPTION_EXERCISE, OPTION_ASSIGNMENT, DO_NOT_EXERCISE and any
	// status E*TRADE adds later: surfaced as unknown, never guessed.
	return broker.StatusUnknown, false
}

var sides = map[string]broker.Side{
	"BUY": broker.Buy, "SELL": broker.Sell, "SELL_SHORT": broker.SellShort, "BUY_TO_COVER": broker.BuyToCover,
	"BUY_OPEN": broker.Buy, "SELL_CLOSE": broker.Sell, "SELL_OPEN": broker.SellShort, "BUY_CLOSE": broker.BuyToCover,
}

var orderTypes = map[string]broker.OrderType{
	"MARKET": broker.Market, "LIMIT": broker.Limit, "STOP": broker.Stop, "STOP_LIMIT": broker.StopLimit,
	"TRAILING_STOP_CNST": broker.TrailingStop, "TRAILING_STOP_PRCT": broker.TrailingStop,
}

var terms = map[string]broker.TimeInForce{
	"GOOD_FOR_DAY": broker.Day, "GOOD_UNTIL_CANCEL": broker.GTC,
	"IMMEDIATE_OR_CANCEL": broker.IOC, "FILL_OR_KILL": broker.FOK,
}

// instrumentOf maps a Product: equities by symbol, options by their OSI
// symbol when E*TRADE gives it.
func instrumentOf(p wireProduct) broker.Instrument {
	if p.SecurityType == "OPTN" {
		sym := p.ProductID.Symbol
		if sym == "" {
			sym = p.Symbol
		}
		return broker.Instrument{Symbol: sym, AssetClass: broker.Option}
	}
	return broker.Instrument{Symbol: p.Symbol, AssetClass: broker.Equity}
}

// orderOf maps one order of a list or detail answer. The second result is
// false when the status was not recognised.
func orderOf(w wireOrder) (broker.Order, bool) {
	d := w.OrderDetail[0]
	ordered, filled, notional := decimal.Zero, decimal.Zero, decimal.Zero
	for _, in := range d.Instrument {
		q := in.OrderedQuantity.d
		if q.IsZero() {
			q = in.Quantity.d
		}
		ordered = ordered.Add(q)
		filled = filled.Add(in.FilledQuantity.d)
		if in.AverageExecutionPrice != nil {
			notional = notional.Add(in.FilledQuantity.d.Mul(in.AverageExecutionPrice.d))
		}
	}
	first := d.Instrument[0]
	o := broker.Order{
		OrderID:        strconv.FormatInt(w.OrderID.v, 10),
		Instrument:     instrumentOf(first.Product),
		Side:           sides[first.OrderAction],
		Type:           orderTypes[d.PriceType],
		TimeInForce:    terms[d.OrderTerm],
		Quantity:       ordered,
		LimitPrice:     d.LimitPrice.d,
		StopPrice:      d.StopPrice.d,
		RawStatus:      d.Status,
		FilledQuantity: filled,
		CreatedAt:      msTime(d.PlacedTime.v),
	}
	if o.Type != broker.Limit && o.Type != broker.StopLimit {
		o.LimitPrice = decimal.Zero
	}
	if o.Type == broker.TrailingStop {
		o.StopPrice = decimal.Zero // the stopPrice field carries the trail, not a stop price
	}
	if filled.IsPositive() {
		o.AvgFillPrice = notional.Div(filled)
		if len(d.Instrument) == 1 && first.AverageExecutionPrice != nil {
			o.AvgFillPrice = first.AverageExecutionPrice.d
		}
		// executedTime means something only once something filled.
		o.UpdatedAt = msTime(d.ExecutedTime.v)
	}
	if o.UpdatedAt.IsZero() || o.UpdatedAt.Before(o.CreatedAt) {
		o.UpdatedAt = o.CreatedAt
	}
	if d.ReplacedByOrderID.v != 0 {
		o.ReplacedBy = strconv.FormatInt(d.ReplacedByOrderID.v, 10)
	}
	var known bool
	o.Status, known = statusOf(d.Status, filled, ordered, d.ReplacedByOrderID.v != 0)
	if filled.IsPositive() {
		o.LastFillAt = msTime(d.ExecutedTime.v)
	}
	// E*TRADE sends no leaves figure: a working order leaves what was
	// ordered less what filled, a terminal one nothing.
	if r := ordered.Sub(filled); !o.Status.Terminal() && r.IsPositive() {
		o.LeavesQuantity = r
	}
	if o.Status == broker.StatusRejected {
		for _, m := range d.Messages.Message {
			o.RejectReason = m.text()
			break
		}
	}
	return o, known
}

func msTime(ms int64) time.Time {
	if ms <= 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}
