package coinbase

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/shopspring/decimal"
)

// This file holds the Advanced Trade WebSocket frames as the adapter reads
// and writes them (streaming.md §2.2–2.5). Every number is a string on the
// wire; heartbeat_counter is a string in the docs and an integer on the live
// feed, so it is read with num, which takes both.

// wsSubscribe is one subscribe or unsubscribe message: one channel each.
type wsSubscribe struct {
	Type       string   `json:"type"`
	ProductIDs []string `json:"product_ids,omitempty"`
	Channel    string   `json:"channel"`
	JWT        string   `json:"jwt,omitempty"`
}

// wsMessage is one server frame. An error frame has type "error" and no
// channel; a data frame has channel, timestamp, sequence_num and events.
type wsMessage struct {
	Type        string    `json:"type"`
	Message     string    `json:"message"`
	Reason      string    `json:"reason"`
	Channel     string    `json:"channel"`
	Timestamp   stamp     `json:"timestamp"`
	SequenceNum num       `json:"sequence_num"`
	Events      []wsEvent `json:"events"`
}

// wsEvent is one event of a frame; which members are set depends on the
// channel (orders: user; tickers: ticker; counter: heartbeats).
type wsEvent struct {
	Type             string     `json:"type"`
	Orders           []wsOrder  `json:"orders"`
	Tickers          []wsTicker `json:"tickers"`
	HeartbeatCounter num        `json:"heartbeat_counter"`
}

// wsOrder is one order of the user channel: cumulative totals only, no
// execution data.
type wsOrder struct {
	OrderID            string `json:"order_id"`
	ClientOrderID      string `json:"client_order_id"`
	ProductID          string `json:"product_id"`
	OrderSide          string `json:"order_side"`
	OrderType          string `json:"order_type"`
	Status             string `json:"status"`
	TimeInForce        string `json:"time_in_force"`
	CumulativeQuantity num    `json:"cumulative_quantity"`
	LeavesQuantity     num    `json:"leaves_quantity"`
	AvgPrice           num    `json:"avg_price"`
	FilledValue        num    `json:"filled_value"`
	TotalFees          num    `json:"total_fees"`
	NumberOfFills      num    `json:"number_of_fills"`
	LimitPrice         num    `json:"limit_price"`
	StopPrice          num    `json:"stop_price"`
	CancelReason       string `json:"cancel_reason"`
	RejectReason       string `json:"reject_reason"`
	// RejectReasonTable is the spelling of the docs' field table.
	RejectReasonTable string `json:"reject_Reason"`
	CreationTime      stamp  `json:"creation_time"`
}

// wsTicker is one ticker entry.
type wsTicker struct {
	ProductID       string `json:"product_id"`
	Price           num    `json:"price"`
	BestBid         num    `json:"best_bid"`
	BestBidQuantity num    `json:"best_bid_quantity"`
	BestAsk         num    `json:"best_ask"`
	BestAskQuantity num    `json:"best_ask_quantity"`
}

// decodeStreamMessage decodes one frame. A frame that is not a JSON object
// of this shape is an error (the caller treats the connection as broken);
// unknown channels and members decode to nothing.
func decodeStreamMessage(raw []byte) (wsMessage, error) {
	var m wsMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return wsMessage{}, fmt.Errorf("undecodable stream frame: %s", truncate(err.Error(), 120))
	}
	if m.Type == "" && m.Channel == "" {
		return wsMessage{}, fmt.Errorf("stream frame has neither type nor channel")
	}
	return m, nil
}

// seq is the frame's sequence number.
func (m *wsMessage) seq() int64 { return m.SequenceNum.IntPart() }

// streamOrder maps a user-channel order onto a snapshot. FilledQuantity is
// cumulative_quantity, in base units whatever the order was sized in.
// LeavesQuantity is taken only for limit and stop-limit orders, which
// Coinbase sizes in base; a market order may be sized in quote currency, so
// its leaves_quantity is not comparable and stays zero.
func streamOrder(w wsOrder, at time.Time, last broker.Status) broker.Order {
	o := broker.Order{
		OrderID: w.OrderID, ClientOrderID: w.ClientOrderID,
		Instrument: broker.Instrument{Symbol: w.ProductID, AssetClass: broker.Crypto},
		Side:       mapSide(w.OrderSide), Type: streamOrderType(w.OrderType), TimeInForce: streamTIF(w.TimeInForce),
		LimitPrice: w.LimitPrice.Decimal, StopPrice: w.StopPrice.Decimal,
		RawStatus: w.Status, FilledQuantity: w.CumulativeQuantity.Decimal, AvgFillPrice: w.AvgPrice.Decimal,
		Fees: w.TotalFees.Decimal, CreatedAt: w.CreationTime.Time, UpdatedAt: at,
		RejectReason: firstNonEmpty(w.RejectReason, w.RejectReasonTable),
	}
	o.Status = mapStatus(w.Status, o.FilledQuantity, false)
	if o.Status == broker.StatusUnknown && last != broker.StatusUnknown {
		o.Status = last
	}
	if o.Type == broker.Limit || o.Type == broker.StopLimit {
		o.LeavesQuantity = w.LeavesQuantity.Decimal
	}
	if o.Status.Terminal() || o.LeavesQuantity.IsNegative() {
		o.LeavesQuantity = decimal.Zero
	}
	if !o.FilledQuantity.IsPositive() {
		o.AvgFillPrice = decimal.Zero
	}
	return o
}

// streamOrderType reads order_type, whose case varies ("Limit", "LIMIT").
func streamOrderType(s string) broker.OrderType {
	switch strings.ToUpper(s) {
	case "LIMIT":
		return broker.Limit
	case "MARKET":
		return broker.Market
	case "STOP_LIMIT":
		return broker.StopLimit
	}
	return 0
}

func streamTIF(s string) broker.TimeInForce {
	switch s {
	case "GOOD_UNTIL_CANCELLED":
		return broker.GTC
	case "GOOD_UNTIL_DATE_TIME":
		return broker.Day
	case "IMMEDIATE_OR_CANCEL":
		return broker.IOC
	case "FILL_OR_KILL":
		return broker.FOK
	}
	return 0
}

// streamQuote maps a ticker entry; at is the frame's timestamp.
func streamQuote(t wsTicker, at time.Time) broker.StreamQuote {
	return broker.StreamQuote{
		Quote:   broker.Quote{Symbol: t.ProductID, Bid: t.BestBid.Decimal, Ask: t.BestAsk.Decimal, Last: t.Price.Decimal, Time: at},
		BidSize: t.BestBidQuantity.Decimal, AskSize: t.BestAskQuantity.Decimal,
	}
}
