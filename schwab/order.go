package schwab

import (
	"cmp"
	"slices"
	"strconv"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/errors"
	"github.com/shopspring/decimal"
)

// avgPricePlaces is the number of decimal places of an average fill price
// whose exact value has no finite decimal expansion (1/3 of a cent...).
const avgPricePlaces = 16

// statusMap maps every order status of the spec (§6.11) to the normalized
// status. Statuses in the "new" group become partially filled when the
// order has fills. A status not in the map (UNKNOWN, or one Schwab adds
// later) is broker.StatusUnknown: not terminal, kept and polled.
var statusMap = map[string]broker.Status{
	"AWAITING_PARENT_ORDER":   broker.StatusNew,
	"AWAITING_CONDITION":      broker.StatusNew,
	"AWAITING_STOP_CONDITION": broker.StatusNew,
	"AWAITING_MANUAL_REVIEW":  broker.StatusNew,
	"ACCEPTED":                broker.StatusNew,
	"PENDING_ACTIVATION":      broker.StatusNew,
	"QUEUED":                  broker.StatusNew,
	"WORKING":                 broker.StatusNew,
	"NEW":                     broker.StatusNew,
	"AWAITING_RELEASE_TIME":   broker.StatusNew,
	"PENDING_ACKNOWLEDGEMENT": broker.StatusNew,
	"PENDING_RECALL":          broker.StatusNew,
	"PENDING_CANCEL":          broker.StatusPendingCancel,
	"PENDING_REPLACE":         broker.StatusPendingReplace,
	"AWAITING_UR_OUT":         broker.StatusPendingReplace,
	"FILLED":                  broker.StatusFilled,
	"CANCELED":                broker.StatusCanceled,
	"EXPIRED":                 broker.StatusExpired,
	"REPLACED":                broker.StatusReplaced,
	"REJECTED":                broker.StatusRejected,
	"UNKNOWN":                 broker.StatusUnknown,
}

// mapStatus returns the normalized status of a raw Schwab status for an
// order with filled > 0 or not, and whether the raw status is one the spec
// lists ("UNKNOWN" is listed; it still maps to StatusUnknown).
func mapStatus(raw string, filled decimal.Decimal) (broker.Status, bool) {
	st, known := statusMap[raw]
	if st == broker.StatusNew && filled.IsPositive() {
		st = broker.StatusPartiallyFilled
	}
	return st, known
}

var sideOf = map[string]broker.Side{
	"BUY": broker.Buy, "BUY_TO_OPEN": broker.Buy,
	"SELL": broker.Sell, "SELL_TO_CLOSE": broker.Sell,
	"SELL_SHORT": broker.SellShort, "SELL_SHORT_EXEMPT": broker.SellShort, "SELL_TO_OPEN": broker.SellShort,
	"BUY_TO_COVER": broker.BuyToCover, "BUY_TO_CLOSE": broker.BuyToCover,
}

var orderTypeOf = map[string]broker.OrderType{
	"MARKET": broker.Market, "LIMIT": broker.Limit, "STOP": broker.Stop,
	"STOP_LIMIT": broker.StopLimit, "TRAILING_STOP": broker.TrailingStop,
}

var tifOf = map[string]broker.TimeInForce{
	"DAY": broker.Day, "GOOD_TILL_CANCEL": broker.GTC,
	"IMMEDIATE_OR_CANCEL": broker.IOC, "FILL_OR_KILL": broker.FOK,
}

// assetClassOf maps an instrument's assetType. ETFs are ordered as EQUITY
// but held as COLLECTIVE_INVESTMENT; a missing or other type is left unset.
func assetClassOf(assetType string) broker.AssetClass {
	switch assetType {
	case "EQUITY", "COLLECTIVE_INVESTMENT":
		return broker.Equity
	case "OPTION":
		return broker.Option
	}
	return 0
}

// decodeOrder decodes one Order payload into a snapshot.
func decodeOrder(body []byte) (broker.Order, error) {
	var w wireOrder
	if err := decodeStrict(body, &w); err != nil {
		return broker.Order{}, &errors.BrokerError{Broker: Name, Op: "decode order", Kind: errors.ErrMalformedResponse,
			Message: "order payload could not be decoded", Err: err}
	}
	return w.toOrder(), nil
}

// decodeOrderList decodes an array of Order payloads (GET .../orders).
func decodeOrderList(body []byte) ([]wireOrder, error) {
	var list []wireOrder
	err := decodeStrict(body, &list)
	return list, err
}

// toOrder converts the wire order. It never fails: missing fields are zero,
// an unknown status is StatusUnknown with RawStatus kept.
func (w *wireOrder) toOrder() broker.Order {
	o := broker.Order{
		OrderID:     string(w.OrderID),
		Type:        orderTypeOf[w.OrderType],
		TimeInForce: tifOf[w.Duration],
		Quantity:    w.Quantity.Decimal,
		LimitPrice:  w.Price.Decimal,
		StopPrice:   w.StopPrice.Decimal,
		RawStatus:   w.Status,
		CreatedAt:   w.EnteredTime.Time,
	}
	if len(w.OrderLegCollection) > 0 {
		leg := w.OrderLegCollection[0]
		o.Instrument = broker.Instrument{Symbol: leg.Instrument.Symbol, AssetClass: assetClassOf(leg.Instrument.AssetType)}
		o.Side = sideOf[leg.Instruction]
		if o.Quantity.IsZero() {
			o.Quantity = leg.Quantity.Decimal
		}
	}
	if w.OrderType == "TRAILING_STOP" && w.StopPriceLinkType == "VALUE" {
		o.StopPrice = decimal.Zero // the trail is an offset, not a stop price
	}
	o.Fills = w.fills()
	o.FilledQuantity = w.FilledQuantity.Decimal
	if o.FilledQuantity.IsZero() {
		o.FilledQuantity = sumQuantities(o.Fills)
	}
	o.AvgFillPrice = averagePrice(o.Fills)
	o.Status, _ = mapStatus(w.Status, o.FilledQuantity)
	if o.Status == broker.StatusRejected {
		o.RejectReason = w.StatusDescription
	}
	if len(w.ReplacingOrderCollection) > 0 {
		o.ReplacedBy = string(w.ReplacingOrderCollection[0].OrderID)
	}
	o.UpdatedAt = latest(o.CreatedAt, w.CloseTime.Time, o.Fills)
	o.LeavesQuantity = leaves(o, w.RemainingQuantity.Decimal)
	for _, f := range o.Fills {
		if f.Time.After(o.LastFillAt) {
			o.LastFillAt = f.Time
		}
	}
	return o
}

// leaves is the quantity still working: nothing on a terminal order (a
// cancelled order's remainingQuantity is what never filled, not what
// works), Schwab's remainingQuantity where it sent a positive one, else
// the quantity less what filled.
func leaves(o broker.Order, remaining decimal.Decimal) decimal.Decimal {
	switch {
	case o.Status.Terminal():
		return decimal.Zero
	case remaining.IsPositive():
		return remaining
	}
	return decimal.Max(o.Quantity.Sub(o.FilledQuantity), decimal.Zero)
}

// fills returns the order's executions, oldest first. Only EXECUTION
// activities of executionType FILL count: a canceled order carries a
// CANCELED pseudo-execution at price 0 that is not a fill. A single-leg
// order gets one fill per execution leg (exec id "<activityId>-<legId>"); a
// multi-leg order one fill per activity at the net price per spread unit.
func (w *wireOrder) fills() []broker.Fill {
	type keyed struct {
		fill  broker.Fill
		actID int64
	}
	var out []keyed
	n := len(w.OrderActivityCollection)
	multiLeg := len(w.OrderLegCollection) > 1
	for i, a := range w.OrderActivityCollection {
		if a.ActivityType != "EXECUTION" || a.ExecutionType != "FILL" {
			continue
		}
		// Schwab prepends activities (newest first), so a position counted
		// from the end stays the same as the list grows.
		pos := n - 1 - i
		actID, _ := strconv.ParseInt(string(a.ActivityID), 10, 64)
		if multiLeg {
			if f, ok := w.spreadFill(a, pos); ok {
				out = append(out, keyed{f, actID})
			}
			continue
		}
		for j, leg := range a.ExecutionLegs {
			if !leg.Quantity.IsPositive() {
				continue
			}
			out = append(out, keyed{broker.Fill{ExecID: execID(a, leg, pos, j), Quantity: leg.Quantity.Decimal,
				Price: leg.Price.Decimal, Time: leg.Time.Time}, actID})
		}
	}
	slices.SortStableFunc(out, func(a, b keyed) int {
		if c := a.fill.Time.Compare(b.fill.Time); c != 0 {
			return c
		}
		return cmp.Compare(a.actID, b.actID)
	})
	if len(out) == 0 {
		return nil
	}
	fills := make([]broker.Fill, len(out))
	for i, k := range out {
		fills[i] = k.fill
	}
	return fills
}

// execID is the dedup key of one execution leg: activity id and leg id. When
// Schwab leaves the activity id out (its schema does), the key falls back to
// what identifies the leg deterministically across polls.
func execID(a wireActivity, leg wireExecLeg, pos, legIndex int) string {
	if a.ActivityID != "" && a.ActivityID != "0" {
		return string(a.ActivityID) + "-" + legKey(leg.LegID, legIndex)
	}
	return "t" + strconv.FormatInt(leg.Time.Unix(), 10) + "-" + legKey(leg.LegID, legIndex) + "-" +
		leg.Quantity.String() + "@" + leg.Price.String() + "-p" + strconv.Itoa(pos)
}

func legKey(id flexID, index int) string {
	if id != "" {
		return string(id)
	}
	return "i" + strconv.Itoa(index)
}

// spreadFill is one activity of a multi-leg order as a fill of the spread
// in the direction of the first leg (the order's Side): quantity = the
// activity's quantity, price = Σ over legs of ±(leg price × leg ratio), +
// for legs in the first leg's direction and − for the others.
func (w *wireOrder) spreadFill(a wireActivity, pos int) (broker.Fill, bool) {
	if !a.Quantity.IsPositive() {
		return broker.Fill{}, false
	}
	firstBuys := sideOf[w.OrderLegCollection[0].Instruction].IsBuy()
	sign := make(map[flexID]decimal.Decimal, len(w.OrderLegCollection))
	for _, l := range w.OrderLegCollection {
		s := decimal.NewFromInt(1)
		if sideOf[l.Instruction].IsBuy() != firstBuys {
			s = s.Neg()
		}
		sign[l.LegID] = s
	}
	net := decimal.Zero
	var at broker.Fill
	for _, leg := range a.ExecutionLegs {
		s, ok := sign[leg.LegID]
		if !ok {
			s = decimal.NewFromInt(1)
		}
		net = net.Add(s.Mul(leg.Price.Decimal).Mul(leg.Quantity.Decimal).Div(a.Quantity.Decimal))
		if leg.Time.After(at.Time) {
			at.Time = leg.Time.Time
		}
	}
	id := string(a.ActivityID)
	if id == "" || id == "0" {
		id = "t" + strconv.FormatInt(at.Time.Unix(), 10) + "-" + a.Quantity.String() + "-p" + strconv.Itoa(pos)
	}
	return broker.Fill{ExecID: id, Quantity: a.Quantity.Decimal, Price: net, Time: at.Time}, true
}

func sumQuantities(fills []broker.Fill) decimal.Decimal {
	total := decimal.Zero
	for _, f := range fills {
		total = total.Add(f.Quantity)
	}
	return total
}

// averagePrice is the quantity-weighted mean price of the fills, exact when
// the mean has a finite decimal expansion within avgPricePlaces places and
// rounded half-even to that many places otherwise; zero without fills.
func averagePrice(fills []broker.Fill) decimal.Decimal {
	qty, notional := decimal.Zero, decimal.Zero
	for _, f := range fills {
		qty = qty.Add(f.Quantity)
		notional = notional.Add(f.Quantity.Mul(f.Price))
	}
	if !qty.IsPositive() {
		return decimal.Zero
	}
	return notional.DivRound(qty, avgPricePlaces)
}

// latest returns the latest of the order's times: entry, close and fills.
func latest(created, closed time.Time, fills []broker.Fill) time.Time {
	t := created
	if closed.After(t) {
		t = closed
	}
	for _, f := range fills {
		if f.Time.After(t) {
			t = f.Time
		}
	}
	return t
}
