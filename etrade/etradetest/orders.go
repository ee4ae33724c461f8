package etradetest

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// Message is an entry of a messages.Message list.
type Message struct {
	Code        int
	Description string
	Type        string // WARNING, INFO, INFO_HOLD, ERROR
}

type preview struct {
	id       int64
	req      orderRequest
	at       time.Time
	used     bool
	changeOf int64 // the order a change preview replaces; 0 for a new order
}

type order struct {
	id              int64
	clientOrderID   string
	orderType       string
	spec            orderSpec
	status          string
	placedMs        int64
	cancelAt        time.Time // when a cancel was requested
	fills           []fill
	replacesID      int64
	replacedByID    int64
	junkExecutedMs  int64 // the meaningless executedTime E*TRADE shows on some unfilled closed orders
	lastExecutionMs int64
}

type fill struct {
	qty, price decimal.Decimal
}

func (o *order) filled() decimal.Decimal {
	total := decimal.Zero
	for _, f := range o.fills {
		total = total.Add(f.qty)
	}
	return total
}

func (o *order) avgPrice() decimal.Decimal {
	total, notional := decimal.Zero, decimal.Zero
	for _, f := range o.fills {
		total = total.Add(f.qty)
		notional = notional.Add(f.qty.Mul(f.price))
	}
	if total.IsZero() {
		return decimal.Zero
	}
	return notional.DivRound(total, 4) // E*TRADE shows at most 4 decimals
}

func (o *order) working() bool {
	return o.status == "OPEN" || o.status == "INDIVIDUAL_FILLS" || o.status == "PARTIAL"
}

// OrderRecord is what the server holds about one order, for inspection.
type OrderRecord struct {
	OrderID           int64
	ClientOrderID     string
	Symbol            string
	Action            string
	Quantity          decimal.Decimal
	PriceType         string
	LimitPrice        decimal.Decimal
	StopPrice         decimal.Decimal
	OrderTerm         string
	Status            string
	FilledQuantity    decimal.Decimal
	AveragePrice      decimal.Decimal
	ReplacesOrderID   int64
	ReplacedByOrderID int64
	PlacedTime        time.Time
}

// Orders returns every order the server accepted, oldest first.
func (s *Server) Orders() []OrderRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.confirmCancels()
	out := make([]OrderRecord, 0, len(s.state.orders))
	for _, o := range s.state.orders {
		l := o.spec.legs[0]
		out = append(out, OrderRecord{
			OrderID: o.id, ClientOrderID: o.clientOrderID, Symbol: l.symbol, Action: l.action,
			Quantity: l.quantity, PriceType: o.spec.priceType, LimitPrice: o.spec.limitPrice,
			StopPrice: o.spec.stopPrice, OrderTerm: o.spec.orderTerm, Status: o.status,
			FilledQuantity: o.filled(), AveragePrice: o.avgPrice(), ReplacesOrderID: o.replacesID,
			ReplacedByOrderID: o.replacedByID, PlacedTime: time.UnixMilli(o.placedMs),
		})
	}
	slices.SortFunc(out, func(a, b OrderRecord) int { return int(a.OrderID - b.OrderID) })
	return out
}

// SetPreviewMessage makes previews of symbol carry m (a warning that does
// not refuse the order).
func (s *Server) SetPreviewMessage(symbol string, m Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.state.previewMsgs[symbol] = append(s.state.previewMsgs[symbol], m)
}

// readBody reads a JSON or XML request body; isXML tells which.
func readBody(r *http.Request) (body []byte, isXML bool, aerr *apiError) {
	ct := r.Header.Get("Content-Type")
	switch {
	case strings.HasPrefix(ct, "application/json"):
	case strings.HasPrefix(ct, "application/xml"), strings.HasPrefix(ct, "text/xml"):
		isXML = true
	default:
		return nil, false, badRequest(1001, "unsupported Content-Type %q", ct)
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return nil, false, badRequest(1001, "unreadable body")
	}
	return body, isXML, nil
}

func (s *Server) preview(r *http.Request) result { return s.previewFor(r, 0) }

func (s *Server) changePreview(r *http.Request) result {
	id, err := strconv.ParseInt(trimJSON(r.PathValue("id")), 10, 64)
	if err != nil {
		return fail(http.StatusBadRequest, 5002, "Invalid order number")
	}
	o := s.state.orders[id]
	if o == nil {
		return fail(http.StatusBadRequest, 5002, "Invalid order number")
	}
	if !o.working() {
		return fail(http.StatusBadRequest, 5004, "This order cannot be changed.")
	}
	return s.previewFor(r, id)
}

func (s *Server) previewFor(r *http.Request, changeOf int64) result {
	if e := s.accountOK(r); e != nil {
		return result{err: e}
	}
	body, isXML, aerr := readBody(r)
	if aerr != nil {
		return result{err: aerr}
	}
	req, aerr := parseOrderRequest(body, isXML, "PreviewOrderRequest")
	if aerr == nil {
		aerr = s.validate(req)
	}
	if aerr != nil {
		return result{err: aerr}
	}
	p := &preview{id: s.state.nextPreviewID, req: req, at: s.now(), changeOf: changeOf}
	s.state.nextPreviewID++
	s.state.previews[p.id] = p
	sp := req.spec
	l := sp.legs[0]
	value := s.estimatedValue(sp)
	return ok(map[string]any{"PreviewOrderResponse": map[string]any{
		"orderType": req.orderType, "totalOrderValue": num(value), "previewTime": p.at.UnixMilli(),
		"dstFlag": s.isDST(), "accountId": s.cfg.AccountID, "optionLevelCd": 2,
		"marginLevelCd": "CASH_TRADING_ALLOWED",
		"cashBpDetails": map[string]any{
			"settled":          map[string]any{"currentBp": num(s.state.cash), "currentOor": 0, "currentNetBp": num(s.state.cash), "currentOrderImpact": num(value.Abs()), "netBp": num(s.state.cash.Sub(value))},
			"settledUnsettled": map[string]any{"currentBp": num(s.state.cash), "currentOor": 0, "currentNetBp": num(s.state.cash), "currentOrderImpact": num(value.Abs()), "netBp": num(s.state.cash.Sub(value))},
		},
		"Order":      []any{s.echoOrder(sp, value, s.state.previewMsgs[l.symbol], "EG_QUAL_NOT_IN_FORCE")},
		"PreviewIds": []any{map[string]any{"previewId": p.id}},
		"Disclosure": map[string]any{"ehDisclosureFlag": false, "ahDisclosureFlag": false,
			"conditionalDisclosureFlag": true, "aoDisclosureFlag": false},
	}})
}

// estimatedValue is the order's estimated amount: negative for sells, as in
// preview and place answers.
func (s *Server) estimatedValue(sp orderSpec) decimal.Decimal {
	l := sp.legs[0]
	price := sp.limitPrice
	if price.IsZero() {
		price = s.state.quotes[l.symbol].Last
	}
	v := price.Mul(l.quantity)
	if l.action == "SELL" || l.action == "SELL_SHORT" {
		v = v.Neg()
	}
	return v
}

func (s *Server) isDST() bool { return s.now().In(s.loc).IsDST() }

// echoOrder is the Order element of preview and place answers.
func (s *Server) echoOrder(sp orderSpec, value decimal.Decimal, msgs []Message, egQual string) map[string]any {
	l := sp.legs[0]
	o := map[string]any{
		"orderTerm": sp.orderTerm, "priceType": sp.priceType, "limitPrice": num(sp.limitPrice),
		"stopPrice": num(sp.stopPrice), "marketSession": sp.marketSession, "allOrNone": sp.allOrNone,
		"egQual": egQual, "estimatedCommission": 0, "estimatedTotalAmount": num(value),
		"netPrice": 0, "netBid": 0, "netAsk": 0, "gcd": 0, "ratio": "",
		"Instrument": []any{map[string]any{
			"symbolDescription": s.state.quotes[l.symbol].Description, "orderAction": l.action,
			"quantityType": l.quantityType, "quantity": num(l.quantity), "cancelQuantity": floatNum(decimal.Zero),
			"reserveOrder": true, "reserveQuantity": floatNum(decimal.Zero),
			"Product": map[string]any{"symbol": l.symbol, "securityType": l.securityType},
		}},
	}
	if len(msgs) > 0 {
		list := make([]any, len(msgs))
		for i, m := range msgs {
			list[i] = map[string]any{"description": m.Description, "code": m.Code, "type": m.Type}
		}
		o["messages"] = map[string]any{"Message": list}
	}
	return o
}

func (s *Server) place(r *http.Request) result { return s.placeFor(r, 0) }

func (s *Server) changePlace(r *http.Request) result {
	id, err := strconv.ParseInt(trimJSON(r.PathValue("id")), 10, 64)
	if err != nil || s.state.orders[id] == nil {
		return fail(http.StatusBadRequest, 5002, "Invalid order number")
	}
	if !s.state.orders[id].working() {
		return fail(http.StatusBadRequest, 5004, "This order cannot be changed.")
	}
	return s.placeFor(r, id)
}

func (s *Server) placeFor(r *http.Request, changeOf int64) result {
	if e := s.accountOK(r); e != nil {
		return result{err: e}
	}
	body, isXML, aerr := readBody(r)
	if aerr != nil {
		return result{err: aerr}
	}
	req, aerr := parseOrderRequest(body, isXML, "PlaceOrderRequest")
	if aerr != nil {
		return result{err: aerr}
	}
	timedOut := fail(http.StatusBadRequest, 101, previewTimedOut)
	if !req.hasPreviewIDs || len(req.previewIDs) != 1 {
		return timedOut
	}
	p := s.state.previews[req.previewIDs[0]]
	switch {
	case p == nil, p.used, p.changeOf != changeOf, s.now().Sub(p.at) > s.cfg.PreviewValidity:
		return timedOut
	case p.req.clientOrderID != req.clientOrderID, p.req.orderType != req.orderType, !p.req.spec.equal(req.spec):
		return timedOut
	}
	if _, used := s.state.clientIDs[req.clientOrderID]; used {
		return fail(http.StatusBadRequest, 1082, "An order with this clientOrderId has already been submitted.")
	}
	p.used = true
	now := s.now()
	placed := now.UnixMilli()
	if placed <= s.state.lastPlacedMs {
		placed = s.state.lastPlacedMs + 1 // keeps placedTime (the list marker) strictly increasing
	}
	s.state.lastPlacedMs = placed
	o := &order{id: s.state.nextOrderID, clientOrderID: req.clientOrderID, orderType: req.orderType,
		spec: req.spec, status: "OPEN", placedMs: placed, replacesID: changeOf}
	s.state.nextOrderID++
	s.state.orders[o.id] = o
	s.state.clientIDs[o.clientOrderID] = o.id
	if changeOf != 0 {
		old := s.state.orders[changeOf]
		old.status, old.replacedByID = "CANCELLED", o.id
	}
	msg := Message{Code: 1027, Type: "WARNING", Description: "200|The market was closed when we received your order. It has been entered into our system and will be reviewed prior to market open on the next regular trading day. After market open, please check to make sure your order was accepted."}
	if s.cfg.MarketOpen {
		msg = Message{Code: 1026, Type: "WARNING", Description: "200|Your order was successfully entered during market hours."}
	}
	return ok(map[string]any{"PlaceOrderResponse": map[string]any{
		"orderType": o.orderType, "dstFlag": s.isDST(), "optionLevelCd": 2, "marginLevelCd": "CASH_TRADING_ALLOWED",
		"placedTime": placed, "accountId": s.cfg.AccountID,
		"Order":    []any{s.echoOrder(o.spec, s.estimatedValue(o.spec), []Message{msg}, "EG_QUAL_UNSPECIFIED")},
		"OrderIds": []any{map[string]any{"orderId": o.id}},
	}})
}

func (s *Server) cancel(r *http.Request) result {
	if e := s.accountOK(r); e != nil {
		return result{err: e}
	}
	body, isXML, aerr := readBody(r)
	if aerr != nil {
		return result{err: aerr}
	}
	decode := decodeObject
	if isXML {
		decode = xmlToJSONShape
	}
	m, err := decode(body)
	if err != nil {
		return fail(http.StatusBadRequest, 1001, "Invalid JSON")
	}
	obj, _ := m["CancelOrderRequest"].(map[string]any)
	idText, _ := scalar(obj["orderId"])
	id, err := strconv.ParseInt(idText, 10, 64)
	s.confirmCancels()
	o := s.state.orders[id]
	switch {
	case obj == nil || err != nil || o == nil:
		return fail(http.StatusBadRequest, 5002, "Invalid order number") // code assumed
	case o.status == "EXECUTED" || o.status == "REJECTED":
		return fail(http.StatusBadRequest, 5001, "This order is currently being executed or rejected. It cannot be cancelled.")
	case !o.working():
		return fail(http.StatusBadRequest, 5004, "This order has already been cancelled or expired.") // code assumed
	}
	o.status, o.cancelAt = "CANCEL_REQUESTED", s.now()
	s.confirmCancels()
	return ok(map[string]any{"CancelOrderResponse": map[string]any{
		"accountId": s.cfg.AccountID, "orderId": o.id, "cancelTime": o.cancelAt.UnixMilli(),
		"Messages": map[string]any{"Message": []any{map[string]any{
			"description": "200|Your request to cancel your order is being processed.", "code": 5011, "type": "WARNING"}}},
	}})
}

// confirmCancels moves CANCEL_REQUESTED orders to CANCELLED once
// CancelConfirmAfter has passed (never when it is zero: see Settle).
// Caller holds s.mu.
func (s *Server) confirmCancels() {
	if s.cfg.CancelConfirmAfter <= 0 {
		return
	}
	for _, o := range s.state.orders {
		if o.status == "CANCEL_REQUESTED" && !s.now().Before(o.cancelAt.Add(s.cfg.CancelConfirmAfter)) {
			o.status = "CANCELLED"
		}
	}
}

// Settle confirms every requested cancel: CANCEL_REQUESTED becomes CANCELLED.
func (s *Server) Settle() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, o := range s.state.orders {
		if o.status == "CANCEL_REQUESTED" {
			o.status = "CANCELLED"
		}
	}
}

func (s *Server) getOrder(r *http.Request) result {
	if e := s.accountOK(r); e != nil {
		return result{err: e}
	}
	s.confirmCancels()
	id, err := strconv.ParseInt(trimJSON(r.PathValue("id")), 10, 64)
	o := s.state.orders[id]
	if err != nil || o == nil {
		return fail(http.StatusBadRequest, 5002, "Invalid order number") // code assumed
	}
	return ok(map[string]any{"OrdersResponse": map[string]any{"Order": []any{s.orderJSON(o)}}})
}

func (s *Server) listOrders(r *http.Request) result {
	if e := s.accountOK(r); e != nil {
		return result{err: e}
	}
	s.confirmCancels()
	q := r.URL.Query()
	count := 25
	if c := q.Get("count"); c != "" {
		n, err := strconv.Atoi(c)
		if err != nil || n < 1 {
			return fail(http.StatusBadRequest, 1001, "Invalid count")
		}
		count = min(n, 100)
	}
	if s.cfg.MaxPageSize > 0 {
		count = min(count, s.cfg.MaxPageSize)
	}
	var marker int64
	if m := q.Get("marker"); m != "" {
		v, err := strconv.ParseInt(m, 10, 64)
		if err != nil {
			return fail(http.StatusBadRequest, 1001, "Invalid marker")
		}
		marker = v
	}
	from, to, aerr := s.dateRange(q.Get("fromDate"), q.Get("toDate"))
	if aerr != nil {
		return result{err: aerr}
	}
	symbols := map[string]bool{}
	if sym := q.Get("symbol"); sym != "" {
		for _, x := range strings.Split(sym, ",") {
			symbols[x] = true
		}
	}
	var match []*order
	for _, o := range s.state.orders {
		switch {
		case marker != 0 && o.placedMs >= marker:
		case q.Get("status") != "" && q.Get("status") != o.status:
		case len(symbols) > 0 && !symbols[o.spec.legs[0].symbol]:
		case !from.IsZero() && (o.placedMs < from.UnixMilli() || o.placedMs >= to.UnixMilli()):
		default:
			match = append(match, o)
		}
	}
	if len(match) == 0 {
		return noContent()
	}
	slices.SortFunc(match, func(a, b *order) int { return int(b.placedMs - a.placedMs) }) // newest first
	resp := map[string]any{}
	if len(match) > count {
		match = match[:count]
		last := match[count-1].placedMs
		resp["marker"] = strconv.FormatInt(last, 10)
		resp["next"] = fmt.Sprintf("%s/v1/accounts/%s/orders?marker=%d", s.URL(), s.cfg.AccountIDKey, last)
	}
	list := make([]any, len(match))
	for i, o := range match {
		list[i] = s.orderJSON(o)
	}
	resp["Order"] = list
	return ok(map[string]any{"OrdersResponse": resp})
}

// dateRange reads fromDate/toDate (MMDDYYYY, US Eastern): both or neither.
func (s *Server) dateRange(from, to string) (time.Time, time.Time, *apiError) {
	if from == "" && to == "" {
		return time.Time{}, time.Time{}, nil
	}
	f, err1 := time.ParseInLocation("01022006", from, s.loc)
	t, err2 := time.ParseInLocation("01022006", to, s.loc)
	if err1 != nil || err2 != nil || t.Before(f) {
		return time.Time{}, time.Time{}, badRequest(1001, "Invalid fromDate/toDate")
	}
	return f, t.AddDate(0, 0, 1), nil
}

// orderJSON is one element of OrdersResponse.Order.
func (s *Server) orderJSON(o *order) map[string]any {
	sp, l := o.spec, o.spec.legs[0]
	filled := o.filled()
	detail := map[string]any{
		"placedTime": o.placedMs, "orderValue": num(s.estimatedValue(sp).Abs()), "status": o.status,
		"orderTerm": sp.orderTerm, "priceType": sp.priceType, "limitPrice": num(sp.limitPrice),
		"stopPrice": num(sp.stopPrice), "marketSession": sp.marketSession, "allOrNone": sp.allOrNone,
		"netPrice": 0, "netBid": 0, "netAsk": 0, "gcd": 0, "ratio": "",
	}
	switch {
	case filled.IsPositive():
		detail["executedTime"] = o.lastExecutionMs
	case o.junkExecutedMs != 0:
		detail["executedTime"] = o.junkExecutedMs
	}
	if o.replacedByID != 0 {
		detail["replacedByOrderId"] = o.replacedByID
	}
	if o.replacesID != 0 {
		detail["replacesOrderId"] = o.replacesID
	}
	inst := map[string]any{
		"symbolDescription": s.state.quotes[l.symbol].Description, "orderAction": l.action,
		"quantityType": l.quantityType, "orderedQuantity": num(l.quantity), "filledQuantity": floatNum(filled),
		"estimatedCommission": 0, "estimatedFees": floatNum(decimal.Zero),
		"Product": map[string]any{"symbol": l.symbol, "securityType": l.securityType},
	}
	if filled.IsPositive() {
		inst["averageExecutionPrice"] = num(o.avgPrice())
	}
	detail["Instrument"] = []any{inst}
	return map[string]any{
		"orderId": o.id, "details": fmt.Sprintf("%s/v1/accounts/%s/orders/%d.json", s.URL(), s.cfg.AccountIDKey, o.id),
		"orderType": o.orderType, "OrderDetail": []any{detail},
	}
}
