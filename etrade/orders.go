package etrade

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/internal/httpx"
	"github.com/shopspring/decimal"
)

// Request body types. Scalars are strings, as in E*TRADE's own sample.
type reqProduct struct {
	SecurityType string `json:"securityType"`
	Symbol       string `json:"symbol"`
}

type reqInstrument struct {
	Product      reqProduct `json:"Product"`
	OrderAction  string     `json:"orderAction"`
	QuantityType string     `json:"quantityType"`
	Quantity     string     `json:"quantity"`
}

type reqOrder struct {
	AllOrNone     string          `json:"allOrNone"`
	PriceType     string          `json:"priceType"`
	OrderTerm     string          `json:"orderTerm"`
	MarketSession string          `json:"marketSession"`
	StopPrice     string          `json:"stopPrice"`
	LimitPrice    string          `json:"limitPrice"`
	Instrument    []reqInstrument `json:"Instrument"`
}

type previewIDJSON struct {
	PreviewID int64 `json:"previewId"`
}

type orderRequestJSON struct {
	OrderType     string          `json:"orderType"`
	ClientOrderID string          `json:"clientOrderId"`
	PreviewIDs    []previewIDJSON `json:"PreviewIds,omitempty"`
	Order         json.RawMessage `json:"Order"`
}

// intent is one client order id this adapter has sent (or is sending).
type intent struct {
	clientOrderID string
	state         intentState
	orderID       int64
	sentAt        time.Time
	order         reqOrder
	warnings      []string
}

type intentState int

const (
	intentInFlight intentState = iota + 1 // preview or place under way
	intentPlaced                          // E*TRADE gave an order id
	intentUnknown                         // a place was sent and its answer lost
)

// buildOrder checks req against what E*TRADE equities accept and returns
// the Order element to send.
func buildOrder(req broker.OrderRequest) (reqOrder, error) {
	if err := req.Validate(); err != nil {
		return reqOrder{}, err
	}
	bad := func(reason string, kind errors.Kind) error {
		return &errors.OrderError{Op: "submit", ClientOrderID: req.ClientOrderID, Symbol: req.Instrument.Symbol,
			Reason: reason, Kind: kind}
	}
	if !req.Quantity.IsInteger() {
		return reqOrder{}, bad("E*TRADE equity orders take whole shares", errors.ErrInvalidOrder)
	}
	if err := checkRequest(req); err != nil {
		return reqOrder{}, err
	}
	o := reqOrder{
		AllOrNone: "false", MarketSession: "REGULAR",
		Instrument: []reqInstrument{{
			Product:     reqProduct{SecurityType: "EQ", Symbol: req.Instrument.Symbol},
			OrderAction: actionOf[req.Side], QuantityType: "QUANTITY", Quantity: req.Quantity.String(),
		}},
	}
	if req.ExtendedHours {
		o.MarketSession = "EXTENDED"
	}
	for tif, name := range termNames {
		if tif == req.TimeInForce {
			o.OrderTerm = name
		}
	}
	price := func(d decimal.Decimal) (string, error) {
		places := int32(2)
		if d.LessThan(decimal.NewFromInt(1)) {
			places = 4
		}
		if !d.Round(places).Equal(d) {
			return "", bad(fmt.Sprintf("price %s has more than %d decimals", d, places), errors.ErrInvalidOrder)
		}
		return d.String(), nil
	}
	var err error
	switch req.Type {
	case broker.Market:
		o.PriceType = "MARKET"
	case broker.Limit:
		o.PriceType = "LIMIT"
		o.LimitPrice, err = price(req.LimitPrice)
	case broker.Stop:
		o.PriceType = "STOP"
		o.StopPrice, err = price(req.StopPrice)
	case broker.StopLimit:
		o.PriceType = "STOP_LIMIT"
		if o.LimitPrice, err = price(req.LimitPrice); err == nil {
			o.StopPrice, err = price(req.StopPrice)
		}
	case broker.TrailingStop:
		if !req.TrailAmount.IsZero() {
			o.PriceType = "TRAILING_STOP_CNST"
			o.StopPrice, err = price(req.TrailAmount)
		} else {
			if !req.TrailPercent.IsInteger() {
				return reqOrder{}, bad("E*TRADE takes a whole-number trail percent", errors.ErrInvalidOrder)
			}
			o.PriceType = "TRAILING_STOP_PRCT"
			o.StopPrice = req.TrailPercent.String()
		}
	}
	return o, err
}

// shapeOf is the Order element req would be sent as, without any check:
// what a lookup compares listed orders with (prices in their own form:
// matching compares decimals).
func shapeOf(req broker.OrderRequest) reqOrder {
	o := reqOrder{AllOrNone: "false", MarketSession: "REGULAR", OrderTerm: termNames[req.TimeInForce],
		Instrument: []reqInstrument{{
			Product:     reqProduct{SecurityType: "EQ", Symbol: req.Instrument.Symbol},
			OrderAction: actionOf[req.Side], QuantityType: "QUANTITY", Quantity: req.Quantity.String(),
		}}}
	if req.ExtendedHours {
		o.MarketSession = "EXTENDED"
	}
	switch req.Type {
	case broker.Market:
		o.PriceType = "MARKET"
	case broker.Limit:
		o.PriceType, o.LimitPrice = "LIMIT", req.LimitPrice.String()
	case broker.Stop:
		o.PriceType, o.StopPrice = "STOP", req.StopPrice.String()
	case broker.StopLimit:
		o.PriceType, o.LimitPrice, o.StopPrice = "STOP_LIMIT", req.LimitPrice.String(), req.StopPrice.String()
	case broker.TrailingStop:
		o.PriceType, o.StopPrice = "TRAILING_STOP_PRCT", req.TrailPercent.String()
		if !req.TrailAmount.IsZero() {
			o.PriceType, o.StopPrice = "TRAILING_STOP_CNST", req.TrailAmount.String()
		}
	}
	return o
}

var actionOf = map[broker.Side]string{
	broker.Buy: "BUY", broker.Sell: "SELL", broker.SellShort: "SELL_SHORT", broker.BuyToCover: "BUY_TO_COVER",
}

var termNames = map[broker.TimeInForce]string{
	broker.Day: "GOOD_FOR_DAY", broker.GTC: "GOOD_UNTIL_CANCEL", broker.IOC: "IMMEDIATE_OR_CANCEL", broker.FOK: "FILL_OR_KILL",
}

// PlaceOrder previews the order, then places it with the same
// clientOrderId, the same Order array and the PreviewIds of the preview.
// A second PlaceOrder of a ClientOrderID this adapter already placed is
// refused with errors.ErrDuplicateOrder (E*TRADE keeps the id unique per
// account too); one whose answer was lost is resolved by lookup, never sent
// again.
func (b *Broker) PlaceOrder(ctx context.Context, req broker.OrderRequest) (broker.Ack, error) {
	order, err := buildOrder(req)
	if err != nil {
		return broker.Ack{}, err
	}
	in, prev := b.claim(req.ClientOrderID, order)
	if prev != nil {
		return b.againFor(ctx, req, prev)
	}
	return b.previewAndPlace(ctx, req, in, "", notHere)
}

// notHere is the resolution of a lost placement inside the adapter: none.
// Matching by fields cannot tell this process's order from one another
// process placed with the same fields; the order tracker settles it with
// FindOrder, against the store's record of which broker orders are taken.
func notHere(context.Context, error) (broker.Order, error) {
	return broker.Order{}, &errors.OrderError{Op: "place", Kind: errors.ErrOutcomeUnknown,
		Reason: "settled by the tracker's lookup (FindOrder), never by the adapter"}
}

// againFor answers a PlaceOrder of a client order id already known.
func (b *Broker) againFor(ctx context.Context, req broker.OrderRequest, in *intent) (broker.Ack, error) {
	b.mu.Lock()
	state, id := in.state, in.orderID
	b.mu.Unlock()
	switch state {
	case intentPlaced:
		return broker.Ack{}, &errors.OrderError{Op: "submit", ClientOrderID: req.ClientOrderID,
			OrderID: strconv.FormatInt(id, 10), Symbol: req.Instrument.Symbol,
			Reason: "this client order id was already placed", Kind: errors.ErrDuplicateOrder}
	case intentUnknown:
		return broker.Ack{}, b.unknownErr(req, "an earlier placement's answer was lost; not resent", nil)
	}
	return broker.Ack{}, &errors.OrderError{Op: "submit", ClientOrderID: req.ClientOrderID,
		Symbol: req.Instrument.Symbol, Reason: "this client order id is being placed", Kind: errors.ErrDuplicateOrder}
}

// claim registers an intent, or returns the existing one.
func (b *Broker) claim(clientOrderID string, order reqOrder) (*intent, *intent) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if in, ok := b.intents[clientOrderID]; ok {
		return nil, in
	}
	b.pruneIntents()
	in := &intent{clientOrderID: clientOrderID, state: intentInFlight, order: order}
	b.intents[clientOrderID] = in
	return in, nil
}

// pruneIntents drops the placed intents sent before FindWindow, oldest
// first from b.placed (in placement order), so each claim costs O(1)
// amortised however many orders the process has placed; unresolved intents
// are never in b.placed and stay until resolved. Caller holds b.mu.
func (b *Broker) pruneIntents() {
	cutoff := b.clock.Now().Add(-b.cfg.FindWindow)
	n := 0
	for n < len(b.placed) && b.placed[n].sentAt.Before(cutoff) {
		in := b.placed[n]
		if b.intents[in.clientOrderID] == in {
			delete(b.intents, in.clientOrderID)
		}
		b.placed[n] = nil
		n++
	}
	b.placed = b.placed[n:]
}

func (b *Broker) forget(clientOrderID string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.intents, clientOrderID)
}

func (b *Broker) setState(in *intent, state intentState, orderID int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if state == intentPlaced && in.state != intentPlaced {
		b.placed = append(b.placed, in)
	}
	in.state = state
	if orderID != 0 {
		in.orderID = orderID
	}
}

// previewAndPlace runs preview then place for a new order (changeOf "") or
// a change of an order. A code 101 (preview timed out or mismatched: nothing
// placed) gets one more preview and place; a lost answer is resolved with
// resolve, never by sending again.
func (b *Broker) previewAndPlace(ctx context.Context, req broker.OrderRequest, in *intent, changeOf string,
	resolve func(context.Context, error) (broker.Order, error)) (broker.Ack, error) {
	op, previewPath, placePath, method := "place order", b.apiPath("/orders/preview.json"), b.apiPath("/orders/place.json"), http.MethodPost
	if changeOf != "" {
		op = "change order"
		previewPath = b.apiPath("/orders/" + changeOf + "/change/preview.json")
		placePath = b.apiPath("/orders/" + changeOf + "/change/place.json")
		method = http.MethodPut
	}
	orderJSON, err := json.Marshal([]reqOrder{in.order})
	if err != nil {
		b.forget(req.ClientOrderID)
		return broker.Ack{}, err
	}
	for round := 1; ; round++ {
		pv, ok := b.takePreview(req.ClientOrderID, orderJSON, round, changeOf)
		if !ok {
			pv, err = b.preview(ctx, op, method, previewPath, req.ClientOrderID, orderJSON)
		}
		if err != nil {
			b.forget(req.ClientOrderID)
			return broker.Ack{}, err
		}
		warnings := make([]string, 0, len(pv.warnings))
		for _, m := range pv.warnings {
			warnings = append(warnings, m.text())
		}
		body, _ := json.Marshal(map[string]orderRequestJSON{"PlaceOrderRequest": {
			OrderType: "EQ", ClientOrderID: req.ClientOrderID, Order: orderJSON,
			PreviewIDs: []previewIDJSON{{PreviewID: pv.previewIDs[0]}},
		}})
		b.mu.Lock()
		in.sentAt, in.warnings = b.clock.Now(), warnings
		b.mu.Unlock()
		resp, err := b.call(ctx, httpx.Request{Op: op, Method: method, Path: placePath, Body: body, Bucket: bucketOrders})
		var placed placeResult
		if err == nil {
			if placed, err = decodePlace(resp.Body); err != nil {
				// E*TRADE answered 200, so it acted; what it did is unknown.
				err = &errors.BrokerError{Broker: brokerName, Op: op, HTTPStatus: resp.Status,
					Kind: errors.ErrOutcomeUnknown, Message: "place answer unreadable", Err: err}
			}
		}
		switch {
		case err == nil:
			b.setState(in, intentPlaced, placed.orderID)
			for _, m := range placed.messages {
				warnings = append(warnings, m.text())
			}
			return broker.Ack{OrderID: strconv.FormatInt(placed.orderID, 10), ClientOrderID: req.ClientOrderID,
				Status: broker.StatusNew, RawStatus: "OPEN", AcceptedAt: msTime(placed.placedMs), Warnings: warnings}, nil
		case errors.Is(err, errors.ErrOutcomeUnknown):
			b.setState(in, intentUnknown, 0)
			if ctx.Err() != nil {
				return broker.Ack{}, b.unknownErr(req, "the place was sent and its answer lost", err)
			}
			o, ferr := resolve(ctx, err)
			if ferr != nil {
				return broker.Ack{}, b.unknownErr(req, "the place was sent, its answer lost, and the order is not found yet", errors.Join(err, ferr))
			}
			return b.ackFound(req, in, o), nil
		case brokerCode(err) == codePreviewTimedOut && round == 1:
			continue // nothing was placed: preview again, place at most once more
		default:
			b.forget(req.ClientOrderID)
			return broker.Ack{}, err
		}
	}
}

// preview sends a PreviewOrderRequest (safe to retry: it changes nothing).
func (b *Broker) preview(ctx context.Context, op, method, path, clientOrderID string, orderJSON []byte) (previewResult, error) {
	body, _ := json.Marshal(map[string]orderRequestJSON{"PreviewOrderRequest": {
		OrderType: "EQ", ClientOrderID: clientOrderID, Order: orderJSON,
	}})
	resp, err := b.call(ctx, httpx.Request{Op: op + " (preview)", Method: method, Path: path, Body: body,
		Bucket: bucketOrders, Idempotent: true})
	if err != nil {
		return previewResult{}, err
	}
	pv, err := decodePreview(resp.Body)
	return pv, withOp(err, op+" (preview)")
}

func (b *Broker) unknownErr(req broker.OrderRequest, reason string, cause error) error {
	return &errors.OrderError{Op: "submit", ClientOrderID: req.ClientOrderID, Symbol: req.Instrument.Symbol,
		Reason: reason + "; resolve it with FindOrder, never by placing again", Kind: errors.ErrOutcomeUnknown, Err: cause}
}

func (b *Broker) ackFound(req broker.OrderRequest, in *intent, o broker.Order) broker.Ack {
	id, _ := strconv.ParseInt(o.OrderID, 10, 64)
	b.setState(in, intentPlaced, id)
	b.mu.Lock()
	warnings := in.warnings
	b.mu.Unlock()
	return broker.Ack{OrderID: o.OrderID, ClientOrderID: req.ClientOrderID, Status: o.Status,
		RawStatus: o.RawStatus, AcceptedAt: o.CreatedAt, Warnings: warnings}
}

// matches compares a listed order with the Order element that was sent.
func matches(w wireOrder, o reqOrder) bool {
	d := w.OrderDetail[0]
	if len(d.Instrument) != 1 || len(o.Instrument) != 1 {
		return false
	}
	in, want := d.Instrument[0], o.Instrument[0]
	dec := func(s string) decimal.Decimal { v, _ := decimal.NewFromString(s); return v }
	return d.PriceType == o.PriceType && d.OrderTerm == o.OrderTerm && d.MarketSession == o.MarketSession &&
		in.Product.Symbol == want.Product.Symbol && in.OrderAction == want.OrderAction &&
		in.OrderedQuantity.d.Equal(dec(want.Quantity)) && d.LimitPrice.d.Equal(dec(o.LimitPrice)) &&
		d.StopPrice.d.Equal(dec(o.StopPrice))
}

// FindOrder looks for the orders a lost placement may have created.
// E*TRADE takes a clientOrderId but never returns it, so the candidates are
// the orders whose fields (symbol, side, type, term, session, quantity,
// limit, stop) are the request's and whose placed time is within
// [q.From, q.To]: orders.json with fromDate/toDate (whole US Eastern days)
// paged by marker to the end, then filtered to the millisecond. The request
// is not validated and nothing found is claimed or remembered. Complete is
// true only when every page was read; a failed page is an error.
func (b *Broker) FindOrder(ctx context.Context, q broker.FindQuery) (broker.FindResult, error) {
	to := q.To
	if to.IsZero() {
		to = b.clock.Now()
	}
	from := q.From
	if from.IsZero() {
		from = to.Add(-b.cfg.FindWindow)
	}
	want := shapeOf(q.Request)
	orders, err := b.listOrders(ctx, b.dateQuery(url.Values{"symbol": {q.Request.Instrument.Symbol}}, from, to), nil)
	if err != nil {
		return broker.FindResult{}, err
	}
	res := broker.FindResult{Complete: true}
	for _, w := range orders {
		placed := msTime(w.OrderDetail[0].PlacedTime.v)
		if !placed.Before(from) && !placed.After(to) && matches(w, want) {
			res.Candidates = append(res.Candidates, b.mapOrder(w))
		}
	}
	broker.SortOldestFirst(res.Candidates)
	return res, nil
}

// dateQuery adds fromDate/toDate (MMDDYYYY in US Eastern, both inclusive
// days) covering [from, to].
func (b *Broker) dateQuery(q url.Values, from, to time.Time) url.Values {
	q.Set("fromDate", from.In(b.eastern).Format("01022006"))
	q.Set("toDate", to.In(b.eastern).Format("01022006"))
	return q
}

// mapOrder maps an order and reports a status it does not know.
func (b *Broker) mapOrder(w wireOrder) broker.Order {
	o, known := orderOf(w)
	if !known {
		b.log.Warn("etrade: unknown order status; reported as unknown", "order_id", o.OrderID, "status", o.RawStatus)
	}
	return o
}

// parseOrderID reads E*TRADE's numeric order id.
func parseOrderID(op, orderID string) (int64, error) {
	id, err := strconv.ParseInt(orderID, 10, 64)
	if err != nil || id <= 0 {
		return 0, &errors.OrderError{Op: op, OrderID: orderID, Reason: "E*TRADE order ids are positive integers",
			Kind: errors.ErrOrderNotFound}
	}
	return id, nil
}

// GetOrder returns one order with its cumulative fills.
func (b *Broker) GetOrder(ctx context.Context, orderID string) (broker.Order, error) {
	id, err := parseOrderID("get", orderID)
	if err != nil {
		return broker.Order{}, err
	}
	resp, err := b.call(ctx, httpx.Request{Op: "get order", Path: b.apiPath("/orders/" + strconv.FormatInt(id, 10) + ".json"),
		Bucket: bucketOrders, Idempotent: true})
	if err != nil {
		if notFound(err) {
			return broker.Order{}, &errors.OrderError{Op: "get", OrderID: orderID, Kind: errors.ErrOrderNotFound, Err: err}
		}
		return broker.Order{}, err
	}
	if resp.Status == http.StatusNoContent || len(resp.Body) == 0 {
		return broker.Order{}, &errors.OrderError{Op: "get", OrderID: orderID, Kind: errors.ErrOrderNotFound, Reason: "no content"}
	}
	orders, _, err := decodeOrders(resp.Body)
	if err != nil {
		return broker.Order{}, withOp(err, "get order")
	}
	for _, w := range orders {
		if w.OrderID.v == id {
			return b.mapOrder(w), nil
		}
	}
	return broker.Order{}, &errors.OrderError{Op: "get", OrderID: orderID, Kind: errors.ErrOrderNotFound, Reason: "not in the answer"}
}

// notFound reports a 400 business error on an order read: E*TRADE has no
// documented code for an unknown order id.
func notFound(err error) bool {
	var be *errors.BrokerError
	return errors.As(err, &be) && be.HTTPStatus == http.StatusBadRequest &&
		(be.Kind == errors.ErrOrderRejected || be.Kind == errors.ErrInvalidOrder || be.Kind == errors.ErrOrderNotFound)
}

// OpenOrders returns every order that is not terminal: OPEN,
// INDIVIDUAL_FILLS and CANCEL_REQUESTED, each list read to its end. A
// listing that fails is an error matching errors.ErrIncompleteListing,
// never a short list.
func (b *Broker) OpenOrders(ctx context.Context) ([]broker.Order, error) {
	return b.Orders(ctx, broker.OrderQuery{Filter: broker.FilterOpen})
}

// Orders lists the orders q selects, oldest first: one orders.json listing
// per E*TRADE status of the filter, with symbol, and fromDate/toDate when
// q.From is set (whole US Eastern days, so the window is applied again to
// the placed time), each paged by marker to the end. Without q.From no
// dates are sent and E*TRADE's default window (undocumented) applies. A
// page that fails is an error matching errors.ErrIncompleteListing.
func (b *Broker) Orders(ctx context.Context, q broker.OrderQuery) ([]broker.Order, error) {
	var out []broker.Order
	seen := map[string]bool{}
	for _, status := range listStatuses[q.Filter] {
		v := url.Values{}
		if status != "" {
			v.Set("status", status)
		}
		if q.Symbol != "" {
			v.Set("symbol", q.Symbol)
		}
		if !q.From.IsZero() {
			to := q.To
			if to.IsZero() {
				to = b.clock.Now()
			}
			b.dateQuery(v, q.From, to)
		}
		orders, err := b.listOrders(ctx, v, nil)
		if err != nil {
			return nil, &errors.BrokerError{Broker: brokerName, Op: "list orders",
				Message: "the listing could not be read to the end", Kind: errors.ErrIncompleteListing, Err: err}
		}
		for _, w := range orders {
			o := b.mapOrder(w)
			if !seen[o.OrderID] && q.Filter.Match(o) && inWindow(o.CreatedAt, q.From, q.To) {
				seen[o.OrderID] = true
				out = append(out, o)
			}
		}
	}
	broker.SortOldestFirst(out)
	return out, nil
}

// listStatuses are the E*TRADE statuses listed per filter ("" = all).
var listStatuses = map[broker.OrderFilter][]string{
	broker.FilterAll:      {""},
	broker.FilterOpen:     {"OPEN", "INDIVIDUAL_FILLS", "CANCEL_REQUESTED"},
	broker.FilterFilled:   {"EXECUTED"},
	broker.FilterCanceled: {"CANCELLED", "EXPIRED"},
}

func inWindow(t, from, to time.Time) bool {
	return (from.IsZero() || !t.Before(from)) && (to.IsZero() || t.Before(to))
}

// listOrders reads the account's orders page by page (100 per page) until
// the marker runs out or stop says enough, de-duplicated by order id. It
// never follows the answer's "next" URL, which drops .json and the filters.
func (b *Broker) listOrders(ctx context.Context, query url.Values, stop func(page []wireOrder) bool) ([]wireOrder, error) {
	var out []wireOrder
	seen := map[int64]bool{}
	markers := map[string]bool{}
	marker := ""
	for {
		q := url.Values{"count": {"100"}}
		for k, v := range query {
			q[k] = v
		}
		if marker != "" {
			q.Set("marker", marker)
		}
		resp, err := b.call(ctx, httpx.Request{Op: "list orders", Path: b.apiPath("/orders.json"), Query: q,
			Bucket: bucketOrders, Idempotent: true})
		if err != nil {
			return nil, err
		}
		if resp.Status == http.StatusNoContent || len(resp.Body) == 0 {
			return out, nil
		}
		page, next, err := decodeOrders(resp.Body)
		if err != nil {
			return nil, withOp(err, "list orders")
		}
		for _, w := range page {
			if !seen[w.OrderID.v] {
				seen[w.OrderID.v] = true
				out = append(out, w)
			}
		}
		if next == "" || len(page) == 0 || (stop != nil && stop(page)) {
			return out, nil
		}
		if markers[next] {
			return nil, malformed("list orders: the marker repeats", nil)
		}
		markers[next], marker = true, next
	}
}

// CancelOrder asks E*TRADE to cancel the order (by its order id). A nil
// error means the cancel was accepted (code 5011), not done: GetOrder tells
// when it is. When E*TRADE refuses, the order is read again: a filled or
// closed order is errors.ErrOrderNotCancelable, an unknown one
// errors.ErrOrderNotFound.
func (b *Broker) CancelOrder(ctx context.Context, orderID string) error {
	id, err := parseOrderID("cancel", orderID)
	if err != nil {
		return err
	}
	body, _ := json.Marshal(map[string]map[string]int64{"CancelOrderRequest": {"orderId": id}})
	resp, err := b.call(ctx, httpx.Request{Op: "cancel order", Method: http.MethodPut, Path: b.apiPath("/orders/cancel.json"),
		Body: body, Bucket: bucketOrders, Idempotent: true})
	if err == nil {
		_, derr := decodeCancel(resp.Body)
		return withOp(derr, "cancel order")
	}
	var be *errors.BrokerError
	if !errors.As(err, &be) || be.HTTPStatus != http.StatusBadRequest || errors.Is(err, errors.ErrRateLimited) ||
		errors.Is(err, errors.ErrUnauthenticated) || errors.Is(err, errors.ErrTokenExpired) {
		return err
	}
	o, gerr := b.GetOrder(ctx, orderID)
	switch {
	case errors.Is(gerr, errors.ErrOrderNotFound):
		return &errors.OrderError{Op: "cancel", OrderID: orderID, Kind: errors.ErrOrderNotFound, Err: err}
	case gerr != nil:
		return errors.Join(err, gerr)
	case o.Status.Terminal() || brokerCode(err) == codeCancelTooLate:
		return &errors.OrderError{Op: "cancel", OrderID: orderID, Symbol: o.Instrument.Symbol,
			Reason: "the order is " + o.Status.String() + " (" + o.RawStatus + ")", Kind: errors.ErrOrderNotCancelable, Err: err}
	}
	return err
}

// ReplaceOrder changes a working order: a change preview and a change place
// with req (a new ClientOrderID). E*TRADE gives the changed order a new id
// and cancels the old one (it then reads as replaced).
func (b *Broker) ReplaceOrder(ctx context.Context, orderID string, req broker.OrderRequest) (broker.Ack, error) {
	id, err := parseOrderID("replace", orderID)
	if err != nil {
		return broker.Ack{}, err
	}
	order, err := buildOrder(req)
	if err != nil {
		return broker.Ack{}, err
	}
	in, prev := b.claim(req.ClientOrderID, order)
	if prev != nil {
		return b.againFor(ctx, req, prev)
	}
	old := strconv.FormatInt(id, 10)
	return b.previewAndPlace(ctx, req, in, old, func(ctx context.Context, _ error) (broker.Order, error) {
		o, err := b.GetOrder(ctx, old)
		if err == nil && o.ReplacedBy != "" { // the old order names its replacement: proof
			return b.GetOrder(ctx, o.ReplacedBy)
		}
		return notHere(ctx, err)
	})
}
