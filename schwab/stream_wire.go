package schwab

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/shopspring/decimal"
)

// Wire types and decoders of the Schwab Streamer (streaming.md §1): the
// envelopes, the LEVELONE field tables and the ACCT_ACTIVITY messages whose
// field 3 is JSON inside a string with {lo, signScale} numbers.

// Streamer services and response codes (streaming.md §1.4, §1.5).
const (
	svcAdmin    = "ADMIN"
	svcActivity = "ACCT_ACTIVITY"
	svcEquities = "LEVELONE_EQUITIES"
	svcOptions  = "LEVELONE_OPTIONS"

	codeSuccess      = 0
	codeLoginDenied  = 3
	codeCloseConn    = 12
	codeSymbolLimit  = 19
	codeConnNotFound = 20
	codeStopStream   = 30
)

// activityKey is the ACCT_ACTIVITY subscription key Schwab echoes back.
const activityKey = "Account Activity"

// Fields requested per LEVELONE service: 0 always, then what a
// broker.StreamQuote carries (streaming.md §1.6.2, §1.6.3).
const (
	equityFields = "0,1,2,3,4,5,8,9,33,34,35"
	optionFields = "0,2,3,4,16,17,18,37,38,39"
)

// stRequest is one element of {"requests": [...]}.
type stRequest struct {
	Service    string            `json:"service"`
	Command    string            `json:"command"`
	RequestID  string            `json:"requestid"`
	CustomerID string            `json:"SchwabClientCustomerId"`
	CorrelID   string            `json:"SchwabClientCorrelId"`
	Parameters map[string]string `json:"parameters"`
}

type stRequests struct {
	Requests []stRequest `json:"requests"`
}

// streamFrame is one frame from the server: exactly one of its lists is set
// on a well-formed frame, but a frame with several is read whole.
type streamFrame struct {
	Response []stResponse `json:"response"`
	Notify   []stNotify   `json:"notify"`
	Data     []stData     `json:"data"`
}

type stContent struct {
	Code *int   `json:"code"`
	Msg  string `json:"msg"`
}

type stResponse struct {
	Service   string    `json:"service"`
	Command   string    `json:"command"`
	RequestID flexID    `json:"requestid"`
	Timestamp int64     `json:"timestamp"`
	Content   stContent `json:"content"`
}

type stNotify struct {
	Heartbeat string    `json:"heartbeat"`
	Service   string    `json:"service"`
	Timestamp int64     `json:"timestamp"`
	Content   stContent `json:"content"`
}

type stData struct {
	Service   string            `json:"service"`
	Timestamp int64             `json:"timestamp"`
	Command   string            `json:"command"`
	Content   []json.RawMessage `json:"content"`
}

// decodeFrame reads one server frame; a frame that is not a JSON object of
// the three known lists is an error (Schwab sends such frames for some
// error conditions, schwab-py notes).
func decodeFrame(b []byte) (streamFrame, error) {
	var f streamFrame
	if err := json.Unmarshal(b, &f); err != nil {
		return streamFrame{}, fmt.Errorf("streamer frame is not JSON: %w", err)
	}
	if f.Response == nil && f.Notify == nil && f.Data == nil {
		return streamFrame{}, fmt.Errorf("streamer frame has none of response, notify, data")
	}
	return f, nil
}

// code returns the response code; a missing code is an unknown failure.
func (c stContent) code() int {
	if c.Code == nil {
		return -1
	}
	return *c.Code
}

// stActivityItem is one ACCT_ACTIVITY content item.
type stActivityItem struct {
	Seq     *int64 `json:"seq"`
	Key     string `json:"key"`
	Account flexID `json:"1"`
	Type    string `json:"2"`
	Data    any    `json:"3"` // a JSON string (decoded twice), null, or text for ERROR
}

// activityItem is a decoded ACCT_ACTIVITY item.
type activityItem struct {
	Seq     int64 // 0 when absent
	HasSeq  bool
	Key     string
	Account string
	Type    string
	Data    string // field 3 as sent (its inner JSON, or text)
}

func decodeActivityItem(raw json.RawMessage) (activityItem, error) {
	var w stActivityItem
	if err := json.Unmarshal(raw, &w); err != nil {
		return activityItem{}, fmt.Errorf("account activity item: %w", err)
	}
	it := activityItem{Key: w.Key, Account: string(w.Account), Type: w.Type}
	if w.Seq != nil {
		it.Seq, it.HasSeq = *w.Seq, true
	}
	switch d := w.Data.(type) {
	case string:
		it.Data = d
	case nil:
	default:
		// an object where a string was expected: keep its JSON text
		b, _ := json.Marshal(d)
		it.Data = string(b)
	}
	return it, nil
}

// bclNum is the protobuf-net bcl.Decimal Schwab puts in field 3:
// {"lo":"<uint64>","hi":<uint32>,"signScale":<uint32>}; bit 0 of signScale
// is the sign, the bits above it the decimal scale. {} means "not set".
type bclNum struct {
	decimal.Decimal
	Set bool
}

func (n *bclNum) UnmarshalJSON(b []byte) error {
	if string(bytes.TrimSpace(b)) == "null" {
		return nil
	}
	var w struct {
		Lo        flexID  `json:"lo"`
		Hi        flexID  `json:"hi"`
		SignScale *uint32 `json:"signScale"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	if w.SignScale == nil && w.Lo == "" && w.Hi == "" {
		return nil // {}: not set
	}
	var ss uint32
	if w.SignScale != nil {
		ss = *w.SignScale
	}
	scale := ss >> 1
	if scale > 28 {
		return fmt.Errorf("decimal scale %d out of range", scale)
	}
	m := new(big.Int)
	if w.Lo != "" {
		lo, err := strconv.ParseUint(string(w.Lo), 10, 64)
		if err != nil {
			return fmt.Errorf("decimal lo %q: %w", w.Lo, err)
		}
		m.SetUint64(lo)
	}
	if w.Hi != "" {
		hi, err := strconv.ParseUint(string(w.Hi), 10, 32)
		if err != nil {
			return fmt.Errorf("decimal hi %q: %w", w.Hi, err)
		}
		m.Add(m, new(big.Int).Lsh(new(big.Int).SetUint64(hi), 64))
	}
	if ss&1 == 1 {
		m.Neg(m)
	}
	n.Decimal, n.Set = decimal.NewFromBigInt(m, -int32(scale)), true
	return nil
}

// stDTS is {"DateTimeString": "2025-03-20 13:43:45.620"}, US Eastern
// local time without a zone (streaming.md §1.8 pitfall 6).
type stDTS struct {
	DateTimeString string `json:"DateTimeString"`
}

func (d stDTS) in(loc *time.Location) time.Time {
	s := strings.TrimSpace(d.DateTimeString)
	for _, layout := range []string{"2006-01-02 15:04:05", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}

// stActivity is field 3 of an ACCT_ACTIVITY item.
type stActivity struct {
	SchwabOrderID flexID                     `json:"SchwabOrderID"`
	AccountNumber flexID                     `json:"AccountNumber"`
	BaseEvent     map[string]json.RawMessage `json:"BaseEvent"`
}

type stLegCancel struct {
	LegID                   flexID `json:"LegID"`
	ChangedNewSchwabOrderID flexID `json:"ChangedNewSchwabOrderId"`
	ChangedNewOrderID       flexID `json:"ChangedNewOrderID"`
	CancelAcceptedTime      stDTS  `json:"CancelAcceptedTime"`
}

type stExecInfo struct {
	ExecutionID                       flexID            `json:"ExecutionId"`
	ExecutionQuantity                 bclNum            `json:"ExecutionQuantity"`
	ExecutionPrice                    bclNum            `json:"ExecutionPrice"`
	ExecutionTimeStamp                stDTS             `json:"ExecutionTimeStamp"`
	ExecutionTransType                string            `json:"ExecutionTransType"`
	ActualChargedCommissionAmount     bclNum            `json:"ActualChargedCommissionAmount"`
	ActualChargedFeesCommissionAndTax map[string]bclNum `json:"ActualChargedFeesCommissionAndTax"`
}

type stQuantityInfo struct {
	CumulativeQuantity bclNum `json:"CumulativeQuantity"`
	LeavesQuantity     bclNum `json:"LeavesQuantity"`
	AveragePrice       bclNum `json:"AveragePrice"`
}

type stPosting struct {
	LimitPrice    bclNum `json:"LimitPrice"`
	OrderTypeCode string `json:"OrderTypeCode"`
	BuySellCode   string `json:"BuySellCode"`
	Quantity      bclNum `json:"Quantity"`
	Symbol        string `json:"Symbol"`
}

// stPayload is the union of the BaseEvent payloads arbion reads; each
// message type fills the fields it has.
type stPayload struct {
	EventType string `json:"EventType"`
	// OrderAccepted
	CreatedTimeStamp stDTS  `json:"CreatedTimeStamp"`
	Status           string `json:"Status"`
	// OrderFillCompleted
	ExecutionInfo                  *stExecInfo     `json:"ExecutionInfo"`
	QuantityInfo                   *stQuantityInfo `json:"QuantityInfo"`
	LegStatus                      string          `json:"LegStatus"`
	OrderInfoForTransactionPosting *stPosting      `json:"OrderInfoForTransactionPosting"`
	// CancelAccepted, ChangeCreated, ChangeAccepted
	CancelRequestType        string        `json:"CancelRequestType"`
	CancelTimeStamp          stDTS         `json:"CancelTimeStamp"`
	LegCancelRequestInfoList []stLegCancel `json:"LegCancelRequestInfoList"`
	ChangedNewSchwabOrderID  flexID        `json:"ChangedNewSchwabOrderId"`
	ChangedNewOrderID        flexID        `json:"ChangedNewOrderID"`
	ParentSchwabOrderID      flexID        `json:"ParentSchwabOrderID"`
	// OrderUROutCompleted, OrderExpired
	OutCancelType      string `json:"OutCancelType"`
	LeavesQuantity     bclNum `json:"LeavesQuantity"`
	CancelQuantity     bclNum `json:"CancelQuantity"`
	ExecutionTimeStamp stDTS  `json:"ExecutionTimeStamp"`
	ValidationDetail   []struct {
		RuleName        string `json:"NgOMSRuleName"`
		RuleDescription string `json:"NgOMSRuleDescription"`
	} `json:"ValidationDetail"`
	ExpirationType string `json:"ExpirationType"`
}

// activityOutcome is what one ACCT_ACTIVITY item means to the adapter.
type activityOutcome struct {
	// Event is set when the item maps to an order event.
	Event *broker.OrderEvent
	// Lookup names an order whose message the adapter does not understand:
	// its state is read by REST (a snapshot), or a gap is reported.
	Lookup string
	// Resubscribe: the subscription died (an ERROR item); subscribe again
	// and report a gap.
	Resubscribe bool
	// Ignored: a known message that changes nothing (routing, creation).
	Ignored bool
}

// Message types that carry no state change (streaming.md §4.1).
var routingOnly = map[string]bool{
	"SUBSCRIBED": true, "OrderCreated": true, "ExecutionRequested": true,
	"ExecutionRequestCreated": true, "ExecutionRequestCompleted": true, "ExecutionCreated": true,
}

// mapActivity maps one item to an outcome; envelopeMS is the data
// element's timestamp, the event time when the payload has none.
func mapActivity(it activityItem, envelopeMS int64, eastern *time.Location) (activityOutcome, error) {
	if it.Type == "ERROR" {
		return activityOutcome{Resubscribe: true}, nil
	}
	if routingOnly[it.Type] {
		return activityOutcome{Ignored: true}, nil
	}
	var w stActivity
	if err := json.Unmarshal([]byte(it.Data), &w); err != nil {
		if it.Data == "" {
			return activityOutcome{}, fmt.Errorf("account activity %s without data", it.Type)
		}
		return activityOutcome{}, fmt.Errorf("account activity %s: %w", it.Type, err)
	}
	id := string(w.SchwabOrderID)
	var p stPayload
	for k, raw := range w.BaseEvent {
		if k == "EventType" {
			continue
		}
		if err := json.Unmarshal(raw, &p); err != nil {
			return activityOutcome{}, fmt.Errorf("account activity %s payload: %w", it.Type, err)
		}
		break
	}
	ev := broker.OrderEvent{OrderID: id, RawStatus: it.Type}
	if envelopeMS > 0 {
		ev.Time = time.UnixMilli(envelopeMS).UTC()
	}
	at := func(d stDTS) {
		if t := d.in(eastern); !t.IsZero() {
			ev.Time = t
		}
	}
	lookup := activityOutcome{Lookup: id}
	switch it.Type {
	case "OrderAccepted":
		ev.Kind = broker.OrderEventAccepted
		at(p.CreatedTimeStamp)
	case "OrderFillCompleted":
		x := p.ExecutionInfo
		if x == nil || x.ExecutionID == "" || !x.ExecutionQuantity.IsPositive() || !x.ExecutionPrice.Set {
			return lookup, nil // a zero-leg fill: REST knows what happened
		}
		ev.Kind = broker.OrderEventFill
		fee := decimal.Zero
		_, hasCommission := x.ActualChargedFeesCommissionAndTax["CommissionAmount"]
		for _, f := range x.ActualChargedFeesCommissionAndTax {
			fee = fee.Add(f.Decimal)
		}
		if !hasCommission {
			fee = fee.Add(x.ActualChargedCommissionAmount.Decimal)
		}
		at(x.ExecutionTimeStamp)
		ev.Fill = broker.Fill{ExecID: string(x.ExecutionID), Quantity: x.ExecutionQuantity.Decimal,
			Price: x.ExecutionPrice.Decimal, Fee: fee, Time: ev.Time}
		ev.Snapshot.OrderID = id
		if q := p.QuantityInfo; q != nil {
			ev.Snapshot.FilledQuantity = q.CumulativeQuantity.Decimal
			ev.Snapshot.LeavesQuantity = q.LeavesQuantity.Decimal
			ev.Snapshot.AvgFillPrice = q.AveragePrice.Decimal
		}
		if o := p.OrderInfoForTransactionPosting; o != nil {
			ev.Snapshot.Instrument.Symbol = o.Symbol
			ev.Snapshot.Quantity = o.Quantity.Decimal
			ev.Snapshot.LimitPrice = o.LimitPrice.Decimal
			switch o.BuySellCode {
			case "Buy", "BuyToCover", "BuyToOpen", "BuyToClose":
				ev.Snapshot.Side = broker.Buy
			case "Sell", "SellShort", "SellShortExempt", "SellToOpen", "SellToClose":
				ev.Snapshot.Side = broker.Sell
			}
		}
		ev.Snapshot.LastFillAt = ev.Time
	case "CancelAccepted", "ChangeCreated", "ChangeAccepted":
		at(p.CancelTimeStamp)
		newID := firstID(p.ChangedNewSchwabOrderID, p.ChangedNewOrderID)
		for _, l := range p.LegCancelRequestInfoList {
			newID = firstID(flexID(newID), l.ChangedNewSchwabOrderID, l.ChangedNewOrderID)
		}
		if it.Type != "CancelAccepted" {
			// ChangeCreated/ChangeAccepted name the old order as parent and
			// are sent under the new one (community code; unverified).
			if p.ParentSchwabOrderID != "" && string(p.ParentSchwabOrderID) != id {
				newID = firstID(flexID(newID), flexID(id))
				ev.OrderID = string(p.ParentSchwabOrderID)
			}
			if newID == "" {
				return lookup, nil
			}
		}
		if newID != "" && newID != ev.OrderID {
			ev.Kind, ev.NewOrderID = broker.OrderEventReplaced, newID
		} else {
			ev.Kind = broker.OrderEventCancelRequested
		}
	case "OrderUROutCompleted":
		at(p.ExecutionTimeStamp)
		switch p.OutCancelType {
		case "ClientCancel":
			ev.Kind = broker.OrderEventCanceled
		case "SystemReject":
			ev.Kind = broker.OrderEventRejected
			var reasons []string
			for _, v := range p.ValidationDetail {
				reasons = append(reasons, strings.TrimSpace(strings.TrimSpace(v.RuleName)+" "+strings.TrimSpace(v.RuleDescription)))
			}
			ev.Reason = strings.Join(reasons, "; ")
		default:
			return lookup, nil
		}
		ev.Snapshot.LeavesQuantity = p.LeavesQuantity.Decimal
	case "OrderExpired":
		ev.Kind = broker.OrderEventExpired
		at(p.ExecutionTimeStamp)
		ev.Snapshot.LeavesQuantity = p.LeavesQuantity.Decimal
	default:
		return lookup, nil
	}
	if ev.OrderID == "" {
		return activityOutcome{}, fmt.Errorf("account activity %s without SchwabOrderID", it.Type)
	}
	return activityOutcome{Event: &ev}, nil
}

func firstID(ids ...flexID) string {
	for _, id := range ids {
		if id != "" {
			return string(id)
		}
	}
	return ""
}

// levelOneLayout says where a service keeps the quote's fields.
type levelOneLayout struct{ bid, ask, last, bidSize, askSize, lastSize, quoteTime string }

var levelOneLayouts = map[string]levelOneLayout{
	svcEquities: {bid: "1", ask: "2", last: "3", bidSize: "4", askSize: "5", lastSize: "9", quoteTime: "34"},
	svcOptions:  {bid: "2", ask: "3", last: "4", bidSize: "16", askSize: "17", lastSize: "18", quoteTime: "38"},
}

// optionSymbol matches the OSI option keys LEVELONE_OPTIONS takes: root
// padded to 6, yymmdd, C or P, strike × 1000 in 8 digits.
var optionSymbol = regexp.MustCompile(`^[A-Z0-9./ ]{6}[0-9]{6}[CP][0-9]{8}$`)

func serviceFor(symbol string) string {
	if optionSymbol.MatchString(symbol) {
		return svcOptions
	}
	return svcEquities
}

// mergeLevelOne merges one LEVELONE item into prev (the last quote of that
// key; zero for the first) and returns the complete quote. Absent fields
// keep their value: Schwab sends only what changed.
func mergeLevelOne(service string, raw json.RawMessage, last func(symbol string) broker.StreamQuote) (broker.StreamQuote, error) {
	layout, ok := levelOneLayouts[service]
	if !ok {
		return broker.StreamQuote{}, fmt.Errorf("unknown quote service %q", service)
	}
	var item map[string]json.RawMessage
	if err := json.Unmarshal(raw, &item); err != nil {
		return broker.StreamQuote{}, fmt.Errorf("%s item: %w", service, err)
	}
	var sym string
	if k, ok := item["key"]; ok {
		if err := json.Unmarshal(k, &sym); err != nil {
			return broker.StreamQuote{}, fmt.Errorf("%s item key: %w", service, err)
		}
	}
	if sym == "" {
		return broker.StreamQuote{}, fmt.Errorf("%s item without key", service)
	}
	prev := last(sym)
	q := prev
	q.Symbol = sym
	for _, f := range []struct {
		field string
		dst   *decimal.Decimal
	}{{layout.bid, &q.Bid}, {layout.ask, &q.Ask}, {layout.last, &q.Last},
		{layout.bidSize, &q.BidSize}, {layout.askSize, &q.AskSize}, {layout.lastSize, &q.LastSize}} {
		v, ok := item[f.field]
		if !ok {
			continue
		}
		var n num
		if err := n.UnmarshalJSON(v); err != nil {
			return prev, fmt.Errorf("%s field %s: %w", service, f.field, err)
		}
		*f.dst = n.Decimal
	}
	if v, ok := item[layout.quoteTime]; ok {
		var n num
		if err := n.UnmarshalJSON(v); err != nil || !n.IsInteger() {
			return prev, fmt.Errorf("%s field %s: not epoch milliseconds", service, layout.quoteTime)
		}
		q.Time = time.UnixMilli(n.IntPart()).UTC()
	}
	return q, nil
}
