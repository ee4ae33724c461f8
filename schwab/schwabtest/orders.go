package schwabtest

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"time"

	"github.com/shopspring/decimal"
)

const orderTimeLayout = "2006-01-02T15:04:05-0700" // "+0000", no colon, seconds

type order struct {
	id                int64
	acct              *account
	body              orderBody
	rawBody           []byte
	status            string
	statusDescription string
	quantity          decimal.Decimal
	filled            decimal.Decimal
	activities        []activity // newest first, as Schwab lists them
	entered, closed   time.Time
	replacedBy        *order
	replaces          *order
	parent            *order
	children          []*order
	container         bool // an OCO container: no legs, no status of its own
}

type activity struct {
	id        int64
	execType  string // FILL or CANCELED
	quantity  decimal.Decimal
	remaining decimal.Decimal
	legs      []execLeg
}

type execLeg struct {
	legID    int
	quantity decimal.Decimal
	price    decimal.Decimal
	at       time.Time
}

func (o *order) final() bool { return slices.Contains(finalStatuses, o.status) }

// OrderRecord is the emulator's view of one order it received, for tests.
type OrderRecord struct {
	ID            string
	AccountNumber string
	ParentID      string // the TRIGGER parent or OCO container, if any
	Strategy      string // SINGLE, OCO, TRIGGER
	Symbol        string // first leg
	Instruction   string // first leg
	Quantity      decimal.Decimal
	OrderType     string
	Price         decimal.Decimal
	StopPrice     decimal.Decimal
	Duration      string
	Session       string
	Status        string
	Filled        decimal.Decimal
	EnteredAt     time.Time
	ReplacedBy    string
	Replaces      string
	Body          []byte // the request body that created it (top-level orders)
}

// Orders returns every order the emulator holds (children included), in the
// order they were created.
func (s *Server) Orders() []OrderRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]OrderRecord, 0, len(s.orderSeq))
	for _, o := range s.orderSeq {
		out = append(out, recordOf(o))
	}
	return out
}

// Order returns one order by id.
func (s *Server) Order(orderID string) (OrderRecord, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, err := s.lookupLocked(orderID)
	if err != nil {
		return OrderRecord{}, false
	}
	return recordOf(o), true
}

func recordOf(o *order) OrderRecord {
	r := OrderRecord{ID: idString(o.id), AccountNumber: o.acct.number, Strategy: o.body.OrderStrategyType,
		Quantity: o.quantity, OrderType: o.body.OrderType, Price: o.body.Price.value, StopPrice: o.body.StopPrice.value,
		Duration: o.body.Duration, Session: o.body.Session, Status: o.status, Filled: o.filled,
		EnteredAt: o.entered, Body: o.rawBody}
	if len(o.body.OrderLegCollection) > 0 {
		r.Symbol = o.body.OrderLegCollection[0].Instrument.Symbol
		r.Instruction = o.body.OrderLegCollection[0].Instruction
	}
	if o.parent != nil {
		r.ParentID = idString(o.parent.id)
	}
	if o.replacedBy != nil {
		r.ReplacedBy = idString(o.replacedBy.id)
	}
	if o.replaces != nil {
		r.Replaces = idString(o.replaces.id)
	}
	return r
}

func idString(id int64) string { return strconv.FormatInt(id, 10) }

// OrderJSON returns the order exactly as GET .../orders/{id} would answer it.
func (s *Server) OrderJSON(orderID string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, err := s.lookupLocked(orderID)
	if err != nil {
		return nil, err
	}
	return jsonResponse(http.StatusOK, s.orderJSONLocked(o)).body, nil
}

func (s *Server) lookupLocked(orderID string) (*order, error) {
	id, err := strconv.ParseInt(orderID, 10, 64)
	if err != nil {
		return nil, fmt.Errorf("schwabtest: bad order id %q", orderID)
	}
	o := s.orders[id]
	if o == nil {
		return nil, fmt.Errorf("schwabtest: no order %s", orderID)
	}
	return o, nil
}

func (s *Server) newOrderLocked(acct *account, body orderBody, parent *order, status string) *order {
	o := &order{id: s.nextID, acct: acct, body: body, parent: parent, entered: s.clock.Now(), status: status}
	s.nextID++
	if len(body.OrderLegCollection) > 0 {
		o.quantity = body.OrderLegCollection[0].Quantity.value
	}
	s.orders[o.id] = o
	s.orderSeq = append(s.orderSeq, o)
	switch body.OrderStrategyType {
	case "OCO":
		o.container, o.status = true, ""
		for _, c := range body.ChildOrderStrategies {
			o.children = append(o.children, s.newOrderLocked(acct, c, o, status))
		}
	case "TRIGGER":
		for _, c := range body.ChildOrderStrategies {
			o.children = append(o.children, s.newOrderLocked(acct, c, o, "AWAITING_PARENT_ORDER"))
		}
	}
	return o
}

func (s *Server) accountFor(r *http.Request) (*account, response) {
	a := s.byHash[r.PathValue("hash")]
	if a == nil {
		return nil, messageError(http.StatusBadRequest, "Invalid account number")
	}
	return a, response{}
}

// targetLocked resolves the account hash and order id of the path.
func (s *Server) targetLocked(r *http.Request) (*account, *order, response) {
	a, bad := s.accountFor(r)
	if a == nil {
		return nil, nil, bad
	}
	o, bad := s.orderFor(r, a)
	return a, o, bad
}

func (s *Server) orderFor(r *http.Request, a *account) (*order, response) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return nil, messageError(http.StatusBadRequest, "Invalid order id")
	}
	o := s.orders[id]
	if o == nil || o.acct != a {
		return nil, messageError(http.StatusNotFound, "Order not found")
	}
	return o, response{}
}

func (s *Server) placeOrder(r *http.Request, body []byte) response {
	ob, problem := decodeOrderBody(body)
	s.mu.Lock()
	defer s.mu.Unlock()
	a, bad := s.accountFor(r)
	if a == nil {
		return bad
	}
	if problem != "" {
		return jsonResponse(http.StatusBadRequest, map[string]any{"message": problem, "errors": []string{problem}})
	}
	o := s.newOrderLocked(a, ob, nil, s.cfg.InitialStatus)
	o.rawBody = append([]byte(nil), body...)
	return s.created(a, o)
}

func (s *Server) created(a *account, o *order) response {
	resp := emptyResponse(http.StatusCreated)
	resp.header.Set("Location", s.URL()+"/trader/v1/accounts/"+a.hash+"/orders/"+idString(o.id))
	return resp
}

func (s *Server) getOrder(r *http.Request, _ []byte) response {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, o, bad := s.targetLocked(r)
	if o == nil {
		return bad
	}
	return jsonResponse(http.StatusOK, s.orderJSONLocked(o))
}

func (s *Server) cancelOrder(r *http.Request, _ []byte) response {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, o, bad := s.targetLocked(r)
	if o == nil {
		return bad
	}
	switch {
	case o.status == "PENDING_CANCEL":
		return emptyResponse(http.StatusOK) // already asked
	case o.final() || o.status == "PENDING_REPLACE":
		return messageError(http.StatusBadRequest, "Order "+idString(o.id)+" cannot be canceled in status "+o.status)
	}
	s.requestCancelLocked(o)
	return emptyResponse(http.StatusOK)
}

func (s *Server) requestCancelLocked(o *order) {
	if !o.container {
		o.status = "PENDING_CANCEL"
	}
	for _, c := range o.children {
		if !c.final() {
			s.requestCancelLocked(c)
		}
	}
}

func (s *Server) replaceOrder(r *http.Request, body []byte) response {
	ob, problem := decodeOrderBody(body)
	s.mu.Lock()
	defer s.mu.Unlock()
	a, old, bad := s.targetLocked(r)
	if old == nil {
		return bad
	}
	if problem != "" {
		return jsonResponse(http.StatusBadRequest, map[string]any{"message": problem, "errors": []string{problem}})
	}
	if old.final() || old.container || old.status == "PENDING_CANCEL" || old.status == "PENDING_REPLACE" {
		return messageError(http.StatusBadRequest, "Order "+idString(old.id)+" cannot be replaced in status "+old.status)
	}
	n := s.newOrderLocked(a, ob, nil, s.cfg.InitialStatus)
	n.rawBody = append([]byte(nil), body...)
	n.replaces = old
	old.replacedBy = n
	old.status = "PENDING_REPLACE"
	return s.created(a, n)
}

// Settle confirms what the emulator holds pending, as the venue would:
// PENDING_CANCEL becomes CANCELED (with the CANCELED pseudo-execution) and
// PENDING_REPLACE becomes REPLACED.
func (s *Server) Settle() {
	defer s.publishBook()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, o := range s.orderSeq {
		switch o.status {
		case "PENDING_CANCEL":
			s.cancelNowLocked(o)
		case "PENDING_REPLACE":
			o.status = "REPLACED"
			o.closed = s.clock.Now()
		}
	}
}

func (s *Server) cancelNowLocked(o *order) {
	now := s.clock.Now()
	if unfilled := o.quantity.Sub(o.filled); unfilled.IsPositive() {
		s.activityID++
		o.activities = append([]activity{{id: s.activityID, execType: "CANCELED", quantity: unfilled,
			legs: []execLeg{{legID: 1, quantity: unfilled, at: now}}}}, o.activities...)
	}
	o.status = "CANCELED"
	o.closed = now
	for _, c := range o.children {
		if !c.final() {
			s.cancelNowLocked(c)
		}
	}
}

// Fill executes qty of the order at price, as the market would: a FILL
// activity is prepended (newest first), the account's cash and position
// move, and the order becomes FILLED once nothing is left. A TRIGGER
// parent's children start working when it is filled; an OCO sibling is
// canceled. An order pending cancel or replace can still fill (the fill wins
// the race).
func (s *Server) Fill(orderID string, qty, price decimal.Decimal) error {
	defer s.publishBook()
	s.mu.Lock()
	defer s.mu.Unlock()
	o, err := s.lookupLocked(orderID)
	if err != nil {
		return err
	}
	switch {
	case o.container:
		return fmt.Errorf("schwabtest: order %s is an OCO container; fill a child", orderID)
	case o.final() || o.status == "AWAITING_PARENT_ORDER":
		return fmt.Errorf("schwabtest: order %s is %s and cannot fill", orderID, o.status)
	case !qty.IsPositive() || !price.IsPositive():
		return fmt.Errorf("schwabtest: fill of %s at %s: quantity and price must be positive", qty, price)
	case o.filled.Add(qty).GreaterThan(o.quantity):
		return fmt.Errorf("schwabtest: fill of %s would overfill order %s (%s of %s filled)", qty, orderID, o.filled, o.quantity)
	}
	now := s.clock.Now()
	o.filled = o.filled.Add(qty)
	s.activityID++
	act := activity{id: s.activityID, execType: "FILL", quantity: qty, remaining: o.quantity.Sub(o.filled)}
	for i, leg := range o.body.OrderLegCollection {
		act.legs = append(act.legs, execLeg{legID: i + 1, quantity: qty, price: price, at: now})
		o.acct.applyFill(leg.Instrument.Symbol, leg.Instrument.AssetType, leg.Instruction, qty, price)
	}
	o.activities = append([]activity{act}, o.activities...)
	if o.filled.Equal(o.quantity) {
		o.status, o.closed = "FILLED", now
		s.afterFilledLocked(o)
	}
	return nil
}

func (s *Server) afterFilledLocked(o *order) {
	if o.replacedBy != nil && o.replacedBy.status != "" && !o.replacedBy.final() {
		s.cancelNowLocked(o.replacedBy) // the fill won: the replacement dies
	}
	for _, c := range o.children {
		s.activateLocked(c)
	}
	if p := o.parent; p != nil && p.container {
		for _, sib := range p.children {
			if sib != o && !sib.final() {
				s.cancelNowLocked(sib)
			}
		}
	}
}

func (s *Server) activateLocked(o *order) {
	if o.status == "AWAITING_PARENT_ORDER" {
		o.status = s.cfg.InitialStatus
	}
	for _, c := range o.children {
		if o.container {
			s.activateLocked(c)
		}
	}
}

// Reject moves a working order to REJECTED with reason as its
// statusDescription, as Schwab does after a 201.
func (s *Server) Reject(orderID, reason string) error {
	return s.finish(orderID, func(o *order) {
		o.status, o.statusDescription = "REJECTED", reason
	})
}

// Expire moves a working order to EXPIRED (its time in force ran out).
func (s *Server) Expire(orderID string) error {
	return s.finish(orderID, func(o *order) { o.status = "EXPIRED" })
}

// CancelBehindBack cancels a working order without the client asking (the
// user did it in another app, or Schwab did).
func (s *Server) CancelBehindBack(orderID string) error {
	return s.finish(orderID, func(o *order) { s.cancelNowLocked(o) })
}

func (s *Server) finish(orderID string, f func(*order)) error {
	defer s.publishBook()
	s.mu.Lock()
	defer s.mu.Unlock()
	o, err := s.lookupLocked(orderID)
	if err != nil {
		return err
	}
	if o.final() {
		return fmt.Errorf("schwabtest: order %s is already %s", orderID, o.status)
	}
	f(o)
	if o.closed.IsZero() {
		o.closed = s.clock.Now()
	}
	return nil
}

// SetStatus sets an order's raw status to any string (UNKNOWN, a status
// Schwab may add tomorrow, ...), leaving everything else as it is.
func (s *Server) SetStatus(orderID, status string) error {
	defer s.publishBook()
	s.mu.Lock()
	defer s.mu.Unlock()
	o, err := s.lookupLocked(orderID)
	if err != nil {
		return err
	}
	o.status = status
	return nil
}

func (s *Server) orderJSONLocked(o *order) map[string]any {
	b := o.body
	m := map[string]any{
		"orderStrategyType": b.OrderStrategyType,
		"orderId":           o.id,
		"enteredTime":       o.entered.UTC().Format(orderTimeLayout),
		"tag":               "TA_schwabtest",
		"accountNumber":     accountNumberJSON(o.acct.number),
		"cancelable":        !o.final() && !o.container && o.status != "PENDING_CANCEL",
		"editable":          !o.final() && !o.container && o.status != "PENDING_CANCEL" && o.status != "PENDING_REPLACE",
	}
	if !o.container {
		s.singleOrderFields(o, m)
	}
	if len(o.children) > 0 {
		kids := make([]any, 0, len(o.children))
		for _, c := range o.children {
			kids = append(kids, s.orderJSONLocked(c))
		}
		m["childOrderStrategies"] = kids
	}
	if o.replacedBy != nil && o.status == "REPLACED" {
		m["replacingOrderCollection"] = []any{map[string]any{"orderId": o.replacedBy.id,
			"enteredTime": o.replacedBy.entered.UTC().Format(orderTimeLayout), "status": o.replacedBy.status}}
	}
	return m
}

func (s *Server) singleOrderFields(o *order, m map[string]any) {
	b := o.body
	remaining := o.quantity.Sub(o.filled)
	if o.final() {
		remaining = decimal.Zero // "still working", not "unfilled"
	}
	m["session"], m["duration"], m["orderType"] = b.Session, b.Duration, b.OrderType
	m["complexOrderStrategyType"] = orDefault(b.ComplexOrderStrategyType, "NONE")
	m["quantity"], m["filledQuantity"], m["remainingQuantity"] = num(o.quantity), num(o.filled), num(remaining)
	m["requestedDestination"], m["destinationLinkName"] = "AUTO", "AutoRoute"
	m["status"] = o.status
	if b.Price.set {
		m["price"] = num(b.Price.value)
	}
	if b.StopPrice.set {
		m["stopPrice"] = num(b.StopPrice.value)
	}
	if b.StopPriceLinkBasis != "" {
		m["stopPriceLinkBasis"], m["stopPriceLinkType"] = b.StopPriceLinkBasis, b.StopPriceLinkType
		m["stopPriceOffset"] = num(b.StopPriceOffset.value)
	}
	if o.statusDescription != "" {
		m["statusDescription"] = o.statusDescription
	}
	if !o.closed.IsZero() && o.final() {
		m["closeTime"] = o.closed.UTC().Format(orderTimeLayout)
	}
	legs := make([]any, 0, len(b.OrderLegCollection))
	for i, l := range b.OrderLegCollection {
		legs = append(legs, map[string]any{
			"orderLegType": l.Instrument.AssetType,
			"legId":        i + 1,
			"instrument": map[string]any{"assetType": l.Instrument.AssetType, "cusip": "000000000",
				"symbol": l.Instrument.Symbol, "instrumentId": ssidOf(l.Instrument.Symbol)},
			"instruction":    l.Instruction,
			"positionEffect": positionEffect(l.Instruction),
			"quantity":       num(l.Quantity.value),
		})
	}
	m["orderLegCollection"] = legs
	if len(o.activities) > 0 {
		acts := make([]any, 0, len(o.activities))
		for _, a := range o.activities {
			acts = append(acts, activityJSON(a, b))
		}
		m["orderActivityCollection"] = acts
	}
}

func activityJSON(a activity, b orderBody) map[string]any {
	legs := make([]any, 0, len(a.legs))
	for _, l := range a.legs {
		sym := ""
		if l.legID-1 < len(b.OrderLegCollection) {
			sym = b.OrderLegCollection[l.legID-1].Instrument.Symbol
		}
		legs = append(legs, map[string]any{"legId": l.legID, "quantity": num(l.quantity), "mismarkedQuantity": num(decimal.Zero),
			"price": num(l.price), "time": l.at.UTC().Format(orderTimeLayout), "instrumentId": ssidOf(sym)})
	}
	return map[string]any{"activityType": "EXECUTION", "activityId": a.id, "executionType": a.execType,
		"quantity": num(a.quantity), "orderRemainingQuantity": num(a.remaining), "executionLegs": legs}
}

// accountNumberJSON writes the account number as a JSON number, as order
// objects do (it is a string everywhere else).
func accountNumberJSON(n string) any {
	if v, err := strconv.ParseInt(n, 10, 64); err == nil {
		return v
	}
	return n
}

func positionEffect(instruction string) string {
	switch instruction {
	case "BUY", "SELL_SHORT", "SELL_SHORT_EXEMPT", "BUY_TO_OPEN", "SELL_TO_OPEN":
		return "OPENING"
	}
	return "CLOSING"
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// enteredTimePattern is the only query-date form Schwab accepts: UTC with
// optional milliseconds (no microseconds, no offsets).
var enteredTimePattern = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?Z$`)

func parseEnteredParam(q url.Values, name string) (time.Time, string) {
	v := q.Get(name)
	if v == "" {
		return time.Time{}, name + " is required"
	}
	if !enteredTimePattern.MatchString(v) {
		return time.Time{}, fmt.Sprintf("'%s' is not a valid value for %s", v, name)
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, fmt.Sprintf("'%s' is not a valid value for %s", v, name)
	}
	return t, ""
}

type listQuery struct {
	from, to   time.Time
	maxResults int
	status     string
}

func (s *Server) parseListQuery(r *http.Request, allAccounts bool) (listQuery, string) {
	q := r.URL.Query()
	var lq listQuery
	var problem string
	if lq.from, problem = parseEnteredParam(q, "fromEnteredTime"); problem != "" {
		return lq, problem
	}
	if lq.to, problem = parseEnteredParam(q, "toEnteredTime"); problem != "" {
		return lq, problem
	}
	switch {
	case lq.to.Before(lq.from):
		return lq, "toEnteredTime must not be before fromEnteredTime"
	case allAccounts && s.clock.Now().Sub(lq.from) > 60*24*time.Hour:
		return lq, "fromEnteredTime must be within 60 days from today"
	case !allAccounts && lq.to.Sub(lq.from) > 365*24*time.Hour:
		return lq, "maximum date range is 1 year"
	}
	lq.maxResults = s.cfg.MaxResults
	if v := q.Get("maxResults"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return lq, fmt.Sprintf("'%s' is not a valid value for maxResults", v)
		}
		lq.maxResults = min(n, s.cfg.MaxResults)
	}
	if v := q.Get("status"); v != "" {
		if !slices.Contains(allStatuses, v) {
			return lq, fmt.Sprintf("'%s' is not a valid value for status", v)
		}
		lq.status = v
	}
	return lq, ""
}

func (s *Server) listAccountOrders(r *http.Request, _ []byte) response {
	lq, problem := s.parseListQuery(r, false)
	s.mu.Lock()
	defer s.mu.Unlock()
	a, bad := s.accountFor(r)
	if a == nil {
		return bad
	}
	if problem != "" {
		return messageError(http.StatusBadRequest, problem)
	}
	return jsonResponse(http.StatusOK, s.listLocked(lq, a))
}

func (s *Server) listAllOrders(r *http.Request, _ []byte) response {
	lq, problem := s.parseListQuery(r, true)
	if problem != "" {
		return messageError(http.StatusBadRequest, problem)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return jsonResponse(http.StatusOK, s.listLocked(lq, nil))
}

// listLocked returns top-level orders (children nested) entered in the
// window, newest first, filtered by status, truncated at maxResults.
func (s *Server) listLocked(lq listQuery, a *account) []any {
	out := []any{}
	for i := len(s.orderSeq) - 1; i >= 0 && len(out) < lq.maxResults; i-- {
		o := s.orderSeq[i]
		// Entry times are compared at the resolution Schwab reports them.
		entered := o.entered.Truncate(time.Second)
		switch {
		case o.parent != nil, a != nil && o.acct != a:
		case entered.Before(lq.from.Truncate(time.Second)) || entered.After(lq.to):
		case lq.status != "" && o.status != lq.status:
		default:
			out = append(out, s.orderJSONLocked(o))
		}
	}
	return out
}
