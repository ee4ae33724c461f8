package schwabtest

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// StreamFaultKind is what goes wrong with the next ACCT_ACTIVITY item.
type StreamFaultKind int

// Faults applied to ACCT_ACTIVITY items, one item each, in queue order.
const (
	// StreamDuplicate sends the item twice with the same seq.
	StreamDuplicate StreamFaultKind = iota + 1
	// StreamDuplicateNewSeq sends the item twice, the copy with a new seq.
	StreamDuplicateNewSeq
	// StreamReorder holds the item back and sends it after the next one.
	StreamReorder
	// StreamSkip never sends the item; its seq is used up all the same, so
	// the book (and REST) shows a change the stream did not tell.
	StreamSkip
)

// String names the fault kind.
func (k StreamFaultKind) String() string {
	switch k {
	case StreamDuplicate:
		return "duplicate"
	case StreamDuplicateNewSeq:
		return "duplicate-new-seq"
	case StreamReorder:
		return "reorder"
	case StreamSkip:
		return "skip"
	}
	return "stream-fault(?)"
}

// StreamFault is one injected ACCT_ACTIVITY failure.
type StreamFault struct{ Kind StreamFaultKind }

// InjectStreamFault queues faults for the next ACCT_ACTIVITY items.
func (s *Server) InjectStreamFault(faults ...StreamFault) {
	st := &s.stream
	st.mu.Lock()
	defer st.mu.Unlock()
	st.faults = append(st.faults, faults...)
}

// SendActivity pushes one ACCT_ACTIVITY item of any message type (field 2)
// with inner as field 3, for types the order book does not produce
// (OrderMonitorUpdated, ERROR, a type Schwab adds tomorrow).
func (s *Server) SendActivity(accountNumber, messageType, inner string) {
	s.stream.pub.Lock()
	defer s.stream.pub.Unlock()
	s.publishActivity(activityItem{account: accountNumber, kind: messageType, inner: inner})
}

type activityItem struct {
	account string
	kind    string // field 2
	inner   string // field 3
}

type orderMark struct {
	status string
	fills  int // FILL activities already published
}

// publishBook turns what changed in the order book since the last call into
// ACCT_ACTIVITY items and sends them to the subscribed connections. Every
// handler and test hook that changes the book calls it once the book lock is
// released.
func (s *Server) publishBook() {
	st := &s.stream
	st.pub.Lock()
	defer st.pub.Unlock()
	s.mu.Lock()
	items := s.bookItemsLocked()
	s.mu.Unlock()
	for _, it := range items {
		s.publishActivity(it)
	}
}

func (s *Server) bookItemsLocked() []activityItem {
	st := &s.stream
	if st.marks == nil {
		st.marks = map[int64]orderMark{}
		st.execSeq = map[int64]int{}
	}
	var items []activityItem
	for _, o := range s.orderSeq {
		if o.container {
			continue
		}
		ev := eventBuilder{o: o, now: s.clock.Now()}
		m, seen := st.marks[o.id]
		if !seen {
			ev.created(&items)
		}
		var fills []activity
		for i := len(o.activities) - 1; i >= 0; i-- {
			if o.activities[i].execType == "FILL" {
				fills = append(fills, o.activities[i])
			}
		}
		for i := m.fills; i < len(fills); i++ {
			ev.fill(&items, fills[:i+1])
		}
		m.fills = len(fills)
		if o.status != m.status {
			ev.status(&items)
			m.status = o.status
		}
		st.marks[o.id] = m
	}
	return items
}

// publishActivity sends one item to every connection subscribed to
// ACCT_ACTIVITY, through the fault queue. Callers hold stream.pub.
func (s *Server) publishActivity(it activityItem) {
	st := &s.stream
	st.mu.Lock()
	var fault *StreamFault
	if len(st.faults) > 0 {
		f := st.faults[0]
		st.faults = st.faults[1:]
		fault = &f
	}
	held := st.held
	st.held = nil
	if fault != nil && fault.Kind == StreamReorder {
		st.held = &it
	}
	conns := append([]*streamConn(nil), st.conns...)
	st.mu.Unlock()
	now := s.clock.Now()
	for _, c := range conns {
		c.mu.Lock()
		sub := c.subs["ACCT_ACTIVITY"]
		if sub == nil || !c.loggedIn {
			c.mu.Unlock()
			continue
		}
		key := sub.keys[0] // "only first key is used" (guide)
		next := func() int { c.seq++; return c.seq }
		var frames [][]byte
		switch {
		case fault != nil && fault.Kind == StreamSkip:
			next()
		case fault != nil && fault.Kind == StreamReorder:
			// held back until the next item
		case fault != nil && fault.Kind == StreamDuplicate:
			seq := next()
			frames = append(frames, activityFrame(now, key, it, seq), activityFrame(now, key, it, seq))
		case fault != nil && fault.Kind == StreamDuplicateNewSeq:
			frames = append(frames, activityFrame(now, key, it, next()), activityFrame(now, key, it, next()))
		default:
			// the held item keeps the seq it would have had: it arrives late
			if held != nil {
				hs := next()
				frames = append(frames, activityFrame(now, key, it, next()), activityFrame(now, key, *held, hs))
			} else {
				frames = append(frames, activityFrame(now, key, it, next()))
			}
		}
		c.mu.Unlock()
		for _, f := range frames {
			c.send(f)
		}
	}
}

func activityFrame(now time.Time, key string, it activityItem, seq int) []byte {
	b, _ := json.Marshal(map[string]any{"data": []any{map[string]any{
		"service": "ACCT_ACTIVITY", "timestamp": now.UnixMilli(), "command": "SUBS",
		"content": []any{map[string]any{"1": it.account, "2": it.kind, "3": it.inner, "seq": seq, "key": key}}}}})
	return b
}

// eastern is Schwab's DateTimeString zone (streaming.md §1.8 pitfall 6).
var eastern = func() *time.Location {
	if loc, err := time.LoadLocation("America/New_York"); err == nil {
		return loc
	}
	return time.FixedZone("EST", -5*3600)
}()

func dts(t time.Time) map[string]any {
	return map[string]any{"DateTimeString": t.In(eastern).Format("2006-01-02 15:04:05.000")}
}

// bcl encodes d as the protobuf-net decimal Schwab sends inside field 3:
// {"lo": mantissa, "signScale": scale<<1 | sign}; zero has no lo.
func bcl(d decimal.Decimal) map[string]any {
	scale := int32(6)
	if e := -d.Exponent(); e > scale {
		scale = e
	}
	m := d.Shift(scale).Truncate(0).BigInt()
	sign := 0
	if m.Sign() < 0 {
		sign = 1
		m.Neg(m)
	}
	out := map[string]any{"signScale": int(scale)<<1 | sign}
	if m.Sign() != 0 {
		out["lo"] = m.String()
	}
	return out
}

// camel turns a REST enum (BUY_TO_OPEN, GOOD_TILL_CANCEL) into the
// stream's spelling (BuyToOpen, GoodTillCancel).
func camel(v string) string {
	var b strings.Builder
	for _, w := range strings.Split(strings.ToLower(v), "_") {
		if w != "" {
			b.WriteString(strings.ToUpper(w[:1]) + w[1:])
		}
	}
	return b.String()
}

type eventBuilder struct {
	o   *order
	now time.Time
}

func (e eventBuilder) item(kind, payloadKey string, payload map[string]any) activityItem {
	payload["EventType"] = kind
	id := idString(e.o.id)
	b, _ := json.Marshal(map[string]any{"SchwabOrderID": id, "AccountNumber": e.o.acct.number,
		"BaseEvent": map[string]any{"EventType": kind, payloadKey: payload}})
	return activityItem{account: e.o.acct.number, kind: kind, inner: string(b)}
}

func (e eventBuilder) leg() (symbol, instruction string) {
	if len(e.o.body.OrderLegCollection) > 0 {
		l := e.o.body.OrderLegCollection[0]
		return l.Instrument.Symbol, l.Instruction
	}
	return "", ""
}

func (e eventBuilder) route(kind string) map[string]any {
	return map[string]any{"RouteName": "EMU_NMS_EQ", "RouteSequenceNumber": 1, "RouteRequestedType": kind,
		"RoutedQuantity": bcl(e.o.quantity), "RoutedPrice": bcl(e.o.body.Price.value), "RouteStatus": "RouteCreated",
		"ClientOrderID": idString(e.o.id) + ".1", "RoutedTime": dts(e.now), "RouteTimeInForce": camel(e.o.body.Duration)}
}

func (e eventBuilder) created(items *[]activityItem) {
	sym, instr := e.leg()
	id := idString(e.o.id)
	asset := "MajorAssetType_Equity"
	if len(e.o.body.OrderLegCollection) > 0 && e.o.body.OrderLegCollection[0].Instrument.AssetType == "OPTION" {
		asset = "MajorAssetType_EquityOption"
	}
	order := map[string]any{"SchwabOrderID": id, "AccountNumber": e.o.acct.number, "Order": map[string]any{
		"LifecycleSchwabOrderID": id, "EntryTimestamp": dts(e.now), "SourceOMS": "ngOMS",
		"AssetOrderEquityOrderLeg": map[string]any{
			"OrderInstruction": map[string]any{"ExecutionStrategy": map[string]any{"Type": "ES_" + camel(e.o.body.OrderType),
				"LimitExecutionStrategy": map[string]any{"LimitPrice": bcl(e.o.body.Price.value)}}},
			"AssetType": asset, "TimeInForce": camel(e.o.body.Duration), "OrderTypeCode": camel(e.o.body.OrderType),
			"OrderLegs": []any{map[string]any{"LegID": id, "LegParentSchwabOrderID": id, "Quantity": bcl(e.o.quantity),
				"LeavesQuantity": bcl(e.o.quantity), "BuySellCode": camel(instr),
				"Security": map[string]any{"Symbol": sym, "UnderlyingSymbol": sym, "MajorAssetType": asset}}},
		}}}
	*items = append(*items,
		e.item("OrderCreated", "OrderCreatedEventEquityOrder", map[string]any{"Order": order}),
		e.item("OrderAccepted", "OrderAcceptedEvent", map[string]any{"CreatedTimeStamp": dts(e.now), "Status": "Open"}),
		e.item("ExecutionRequested", "ExecutionRequestedEventRoutedInfo", map[string]any{"RouteSequenceNumber": 1,
			"RouteInfo": e.route("New"), "RouteRequestedBy": "RR_Broker", "LegId": id}),
		e.item("ExecutionRequestCreated", "ExecutionRequestCreatedEvent", map[string]any{"LegId": id,
			"RouteName": "EMU_NMS_EQ", "RouteRequestType": "New", "RouteSequenceNumber": 1, "RouteStatus": "RouteFixAcknowledged",
			"RoutedTime": dts(e.now), "ClientOrderID": id + ".1"}),
		e.item("ExecutionRequestCompleted", "ExecutionRequestCompletedEvent", map[string]any{"LegId": id,
			"ResponseType": "Accepted", "ExecutionTime": dts(e.now), "RouteSequenceNumber": 1,
			"RouteStatus": "RouteVenueAccepted", "ClientOrderID": id + ".1"}))
}

// fill publishes the last of fills (oldest first, all of the order's so far).
func (e eventBuilder) fill(items *[]activityItem, fills []activity) {
	a := fills[len(fills)-1]
	var cum, value decimal.Decimal
	for _, f := range fills {
		cum = cum.Add(f.quantity)
		if len(f.legs) > 0 {
			value = value.Add(f.quantity.Mul(f.legs[0].price))
		}
	}
	var price decimal.Decimal
	at := e.now
	if len(a.legs) > 0 {
		price, at = a.legs[0].price, a.legs[0].at
	}
	avg := decimal.Zero
	if cum.IsPositive() {
		avg = value.DivRound(cum, 6)
	}
	execID := fmt.Sprintf("%s-EST-ngOMS-%d", at.In(eastern).Format("20060102"), a.id)
	legStatus, sub := "LegOpen", "LegSubStatusPartiallyFilled"
	if !a.remaining.IsPositive() {
		legStatus, sub = "LegClosed", "LegSubStatusFilled"
	}
	sym, instr := e.leg()
	zero := bcl(decimal.Zero)
	*items = append(*items, e.item("OrderFillCompleted", "OrderFillCompletedEventOrderLegQuantityInfo", map[string]any{
		"LegId": idString(e.o.id), "LegStatus": legStatus, "LegSubStatus": sub,
		"QuantityInfo": map[string]any{"ExecutionID": execID, "CumulativeQuantity": bcl(cum),
			"LeavesQuantity": bcl(a.remaining), "AveragePrice": bcl(avg)},
		"ExecutionInfo": map[string]any{"ExecutionSequenceNumber": len(fills), "ExecutionId": execID,
			"ExecutionQuantity": bcl(a.quantity), "ExecutionPrice": bcl(price), "ExecutionTimeStamp": dts(at),
			"ExecutionTransType": "Fill", "ActualChargedCommissionAmount": zero,
			"ActualChargedFeesCommissionAndTax": map[string]any{"SECFees": zero, "TAF": zero, "ORF": zero,
				"FTT": zero, "CommissionAmount": zero}},
		"OrderInfoForTransactionPosting": map[string]any{"LimitPrice": bcl(e.o.body.Price.value),
			"OrderTypeCode": camel(e.o.body.OrderType), "BuySellCode": camel(instr), "Quantity": bcl(e.o.quantity),
			"Symbol": sym},
	}))
}

func (e eventBuilder) status(items *[]activityItem) {
	id := idString(e.o.id)
	unfilled := e.o.quantity.Sub(e.o.filled)
	urout := func(kind string, extra map[string]any) activityItem {
		p := map[string]any{"LegId": id, "LeavesQuantity": bcl(decimal.Zero), "CancelQuantity": bcl(unfilled),
			"LegStatus": "LegClosed", "LegSubStatus": "LegSubStatusCancelled", "OutCancelType": kind,
			"ExecutionTimeStamp": dts(e.now)}
		for k, v := range extra {
			p[k] = v
		}
		return e.item("OrderUROutCompleted", "OrderUROutCompletedEvent", p)
	}
	switch e.o.status {
	case "PENDING_CANCEL":
		*items = append(*items,
			e.item("CancelAccepted", "CancelAcceptedEvent", map[string]any{"LifecycleSchwabOrderID": id,
				"CancelTimeStamp": dts(e.now), "CancelRequestType": "ClientCancel",
				"LegCancelRequestInfoList": []any{map[string]any{"LegID": id, "IntendedOrderQuantity": bcl(e.o.quantity),
					"RequestedAmount": bcl(unfilled), "LegStatus": "LegOpen", "LegSubStatus": "LegSubStatusCancelled",
					"CancelAcceptedTime": dts(e.now)}}}),
			e.item("ExecutionRequested", "ExecutionRequestedEventRoutedInfo", map[string]any{"RouteSequenceNumber": 2,
				"RouteInfo": e.route("Cancel"), "RouteRequestedBy": "RR_Broker", "LegId": id}))
	case "PENDING_REPLACE":
		if e.o.replacedBy == nil {
			return
		}
		// Field names from community code only (streaming.md §1.6.1): assumed.
		*items = append(*items, e.item("CancelAccepted", "CancelAcceptedEvent", map[string]any{
			"LifecycleSchwabOrderID": id, "CancelTimeStamp": dts(e.now), "CancelRequestType": "ClientCancelReplace",
			"LegCancelRequestInfoList": []any{map[string]any{"LegID": id, "IntendedOrderQuantity": bcl(e.o.quantity),
				"RequestedAmount": bcl(unfilled), "LegStatus": "LegOpen", "LegSubStatus": "LegSubStatusCancelled",
				"ChangedNewSchwabOrderId": idString(e.o.replacedBy.id), "CancelAcceptedTime": dts(e.now)}}}))
	case "CANCELED":
		*items = append(*items,
			e.item("ExecutionRequestCompleted", "ExecutionRequestCompletedEvent", map[string]any{"LegId": id,
				"ResponseType": 7, "ExecutionTime": dts(e.now), "RouteSequenceNumber": 2, "RouteStatus": 8,
				"ClientOrderID": id + ".1"}),
			e.item("ExecutionCreated", "ExecutionCreatedEventExecutionInfo", map[string]any{"LegId": id,
				"ExecutionInfo": map[string]any{"ExecutionSequenceNumber": 1, "ExecutionQuantity": bcl(unfilled),
					"ExecutionTimeStamp": dts(e.now), "ExecutionTransType": "UROut", "CancelType": "ClientCancel",
					"ClientOrderID": id + ".1"}}),
			urout("ClientCancel", nil))
	case "REPLACED":
		*items = append(*items, urout("ClientCancel", nil))
	case "REJECTED":
		*items = append(*items, urout("SystemReject", map[string]any{"ValidationDetail": []any{map[string]any{
			"NgOMSRuleName": "EmulatorReject", "NgOMSRuleDescription": e.o.statusDescription}}}))
	case "EXPIRED":
		*items = append(*items, e.item("OrderExpired", "OrderExpiredEvent", map[string]any{"LegId": id,
			"ExpirationType": "DayOrderExpiry", "LeavesQuantity": bcl(decimal.Zero), "CancelQuantity": bcl(unfilled),
			"LegSubStatus": "LegSubStatusExpired", "ExpiredTimeStamp": dts(e.now)}))
	}
}
