package etradetest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"

	"github.com/shopspring/decimal"
)

// orderSpec is an order's terms as the server normalizes them from a
// request body, so that a place can be compared with its preview however
// each spelled its scalars ("false" or false, "1" or 1, "" or 0).
type orderSpec struct {
	priceType, orderTerm, marketSession string
	allOrNone                           bool
	limitPrice, stopPrice               decimal.Decimal
	stopLimitPrice                      decimal.Decimal
	legs                                []leg
}

type leg struct {
	symbol, securityType, action, quantityType string
	quantity                                   decimal.Decimal
}

func (a orderSpec) equal(b orderSpec) bool {
	if a.priceType != b.priceType || a.orderTerm != b.orderTerm || a.marketSession != b.marketSession ||
		a.allOrNone != b.allOrNone || !a.limitPrice.Equal(b.limitPrice) || !a.stopPrice.Equal(b.stopPrice) ||
		!a.stopLimitPrice.Equal(b.stopLimitPrice) || len(a.legs) != len(b.legs) {
		return false
	}
	for i := range a.legs {
		x, y := a.legs[i], b.legs[i]
		if x.symbol != y.symbol || x.securityType != y.securityType || x.action != y.action ||
			x.quantityType != y.quantityType || !x.quantity.Equal(y.quantity) {
			return false
		}
	}
	return true
}

// orderRequest is a parsed PreviewOrderRequest or PlaceOrderRequest.
type orderRequest struct {
	orderType     string
	clientOrderID string
	spec          orderSpec
	previewIDs    []int64
	hasPreviewIDs bool // the exact key "PreviewIds" was present
}

// badRequest is a 400 with an Error body.
func badRequest(code int, format string, args ...any) *apiError {
	return &apiError{status: http.StatusBadRequest, code: code, message: fmt.Sprintf(format, args...)}
}

// decodeObject decodes body into generic JSON with numbers kept as text.
func decodeObject(body []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	return m, nil
}

// scalar reads a JSON scalar the lenient way E*TRADE does: strings,
// numbers and booleans all as text; absent or null as "".
func scalar(v any) (string, bool) {
	switch t := v.(type) {
	case nil:
		return "", true
	case string:
		return t, true
	case json.Number:
		return t.String(), true
	case bool:
		return strconv.FormatBool(t), true
	}
	return "", false
}

func decimalField(obj map[string]any, name string) (decimal.Decimal, error) {
	s, ok := scalar(obj[name])
	if !ok {
		return decimal.Zero, fmt.Errorf("%s is not a scalar", name)
	}
	if s == "" {
		return decimal.Zero, nil
	}
	d, err := decimal.NewFromString(s)
	if err != nil {
		return decimal.Zero, fmt.Errorf("%s %q is not a number", name, s)
	}
	return d, nil
}

func stringField(obj map[string]any, name string) string {
	s, _ := scalar(obj[name])
	return s
}

// parseOrderRequest reads the body (JSON, or XML when xmlBody) under root.
func parseOrderRequest(body []byte, xmlBody bool, root string) (orderRequest, *apiError) {
	var out orderRequest
	decode := decodeObject
	if xmlBody {
		decode = xmlToJSONShape
	}
	m, err := decode(body)
	if err != nil {
		return out, badRequest(1001, "Invalid request body: %v", err)
	}
	obj, ok := m[root].(map[string]any)
	if !ok {
		return out, badRequest(1001, "Missing %s", root)
	}
	out.orderType = stringField(obj, "orderType")
	out.clientOrderID = stringField(obj, "clientOrderId")
	if ids, present := obj["PreviewIds"]; present {
		out.hasPreviewIDs = true
		list, ok := ids.([]any)
		if !ok {
			list = []any{ids}
		}
		for _, e := range list {
			em, ok := e.(map[string]any)
			if !ok {
				return out, badRequest(101, "%s", previewTimedOut)
			}
			s, _ := scalar(em["previewId"])
			id, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				return out, badRequest(101, "%s", previewTimedOut)
			}
			out.previewIDs = append(out.previewIDs, id)
		}
	}
	orders, ok := obj["Order"].([]any)
	if !ok || len(orders) != 1 {
		return out, badRequest(1001, "Order must be an array of one order")
	}
	om, ok := orders[0].(map[string]any)
	if !ok {
		return out, badRequest(1001, "Order must be an object")
	}
	spec, aerr := parseSpec(om)
	if aerr != nil {
		return out, aerr
	}
	out.spec = spec
	return out, nil
}

func parseSpec(om map[string]any) (orderSpec, *apiError) {
	var spec orderSpec
	spec.priceType = stringField(om, "priceType")
	spec.orderTerm = stringField(om, "orderTerm")
	spec.marketSession = stringField(om, "marketSession")
	aon := stringField(om, "allOrNone")
	if aon != "" && aon != "true" && aon != "false" {
		return spec, badRequest(1001, "allOrNone must be true or false")
	}
	spec.allOrNone = aon == "true"
	var err error
	if spec.limitPrice, err = decimalField(om, "limitPrice"); err != nil {
		return spec, badRequest(1001, "%v", err)
	}
	if spec.stopPrice, err = decimalField(om, "stopPrice"); err != nil {
		return spec, badRequest(1001, "%v", err)
	}
	if spec.stopLimitPrice, err = decimalField(om, "stopLimitPrice"); err != nil {
		return spec, badRequest(1001, "%v", err)
	}
	instruments, ok := om["Instrument"].([]any)
	if !ok || len(instruments) == 0 {
		return spec, badRequest(1001, "Instrument must be an array")
	}
	for _, e := range instruments {
		im, ok := e.(map[string]any)
		if !ok {
			return spec, badRequest(1001, "Instrument must be an object")
		}
		product, _ := im["Product"].(map[string]any)
		if product == nil {
			return spec, badRequest(1001, "Product is missing")
		}
		q, err := decimalField(im, "quantity")
		if err != nil {
			return spec, badRequest(1001, "%v", err)
		}
		spec.legs = append(spec.legs, leg{
			symbol: stringField(product, "symbol"), securityType: stringField(product, "securityType"),
			action: stringField(im, "orderAction"), quantityType: stringField(im, "quantityType"), quantity: q,
		})
	}
	return spec, nil
}

const previewTimedOut = "For your protection, we have timed out your original order request. If you would like to place this order, please resubmit it now."

var (
	priceTypes = map[string]bool{"MARKET": true, "LIMIT": true, "STOP": true, "STOP_LIMIT": true,
		"TRAILING_STOP_CNST": true, "TRAILING_STOP_PRCT": true}
	orderTerms = map[string]bool{"GOOD_FOR_DAY": true, "GOOD_UNTIL_CANCEL": true,
		"IMMEDIATE_OR_CANCEL": true, "FILL_OR_KILL": true}
	actions = map[string]bool{"BUY": true, "SELL": true, "SELL_SHORT": true, "BUY_TO_COVER": true}
)

// validate checks a preview's terms. Caller holds s.mu.
func (s *Server) validate(req orderRequest) *apiError {
	if req.orderType != "EQ" {
		return badRequest(1001, "orderType %q is not supported by this emulator", req.orderType)
	}
	if !validClientOrderID(req.clientOrderID) {
		return badRequest(1016, "clientOrderId must be 1 to 20 alphanumeric characters")
	}
	if _, used := s.state.clientIDs[req.clientOrderID]; used {
		return badRequest(1082, "An order with this clientOrderId has already been submitted.")
	}
	sp := req.spec
	switch {
	case !priceTypes[sp.priceType]:
		return badRequest(1001, "Invalid priceType %q", sp.priceType)
	case !orderTerms[sp.orderTerm]:
		return badRequest(1001, "Invalid orderTerm %q", sp.orderTerm)
	case sp.marketSession != "REGULAR" && sp.marketSession != "EXTENDED":
		return badRequest(1001, "Invalid marketSession %q", sp.marketSession)
	// pyetrade's documentation of E*TRADE's rules: IOC and FOK are for
	// LIMIT orders only, and so is the extended session.
	case (sp.orderTerm == "IMMEDIATE_OR_CANCEL" || sp.orderTerm == "FILL_OR_KILL") && sp.priceType != "LIMIT":
		return badRequest(1001, "orderTerm %s is for LIMIT orders only", sp.orderTerm)
	case sp.marketSession == "EXTENDED" && sp.priceType != "LIMIT":
		return badRequest(1001, "the EXTENDED session takes LIMIT orders only")
	}
	needLimit := sp.priceType == "LIMIT" || sp.priceType == "STOP_LIMIT"
	needStop := sp.priceType != "MARKET" && sp.priceType != "LIMIT"
	if needLimit != sp.limitPrice.IsPositive() || (!needLimit && !sp.limitPrice.IsZero()) {
		return badRequest(1001, "limitPrice does not fit priceType %s", sp.priceType)
	}
	if needStop != sp.stopPrice.IsPositive() || (!needStop && !sp.stopPrice.IsZero()) {
		return badRequest(1001, "stopPrice does not fit priceType %s", sp.priceType)
	}
	if len(sp.legs) != 1 {
		return badRequest(1001, "equity orders have one Instrument")
	}
	l := sp.legs[0]
	switch {
	case l.securityType != "EQ":
		return badRequest(1001, "Invalid securityType %q", l.securityType)
	case !actions[l.action]:
		return badRequest(1001, "Invalid orderAction %q", l.action)
	case l.quantityType != "QUANTITY":
		return badRequest(1001, "Invalid quantityType %q", l.quantityType)
	case !l.quantity.IsPositive() || !l.quantity.IsInteger():
		return badRequest(1001, "Quantity must be a positive whole number")
	}
	if _, known := s.state.quotes[l.symbol]; !known {
		return badRequest(1033, "Invalid symbol %s", l.symbol)
	}
	if l.action == "SELL" {
		held := decimal.Zero
		if p := s.state.positions[l.symbol]; p != nil {
			held = p.quantity
		}
		if held.LessThan(l.quantity) {
			return badRequest(1037, "We did not find enough available shares of this security in your account.")
		}
	}
	return nil
}

func validClientOrderID(id string) bool {
	if id == "" || len(id) > 20 {
		return false
	}
	for _, c := range []byte(id) {
		if !('0' <= c && c <= '9' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z') {
			return false
		}
	}
	return true
}
