package coinbasetest

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// variantFields lists, per order_configuration key, the string fields it
// takes (post_only, the one boolean, is handled apart) and which are
// required.
var variantFields = map[string]struct{ required, optional []string }{
	"market_market_ioc":         {nil, []string{"quote_size", "base_size"}},
	"market_market_fok":         {nil, []string{"quote_size", "base_size"}},
	"sor_limit_ioc":             {[]string{"base_size", "limit_price"}, nil},
	"limit_limit_gtc":           {[]string{"base_size", "limit_price"}, nil},
	"limit_limit_gtd":           {[]string{"base_size", "limit_price", "end_time"}, nil},
	"limit_limit_fok":           {[]string{"base_size", "limit_price"}, nil},
	"stop_limit_stop_limit_gtc": {[]string{"base_size", "limit_price", "stop_price", "stop_direction"}, nil},
	"stop_limit_stop_limit_gtd": {[]string{"base_size", "limit_price", "stop_price", "stop_direction", "end_time"}, nil},
	"trigger_bracket_gtc":       {[]string{"base_size", "limit_price", "stop_trigger_price"}, nil},
	"trigger_bracket_gtd":       {[]string{"base_size", "limit_price", "stop_trigger_price", "end_time"}, nil},
}

// orderBody is a decoded create (or preview) body.
type orderBody struct {
	clientID, productID, side string
	configKey                 string
	config                    map[string]any
	baseSize, quoteSize       decimal.Decimal
	limitPrice, stopPrice     decimal.Decimal
	stopDirection             string
	endTime                   time.Time
	postOnly                  bool
	retailPortfolio           string
}

// badRequest is a malformed body: 400 INVALID_ARGUMENT.
type badRequest string

// parseOrderBody decodes and checks the shape of a create body. Unknown
// top-level or variant keys are noted, not refused.
func parseOrderBody(raw []byte, needClientID bool, c *call) (orderBody, badRequest) {
	var top map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&top); err != nil {
		return orderBody{}, "body is not a JSON object"
	}
	known := []string{"client_order_id", "product_id", "side", "order_configuration", "self_trade_prevention_id",
		"leverage", "margin_type", "retail_portfolio_id", "preview_id", "attached_order_configuration"}
	for k := range top {
		if !slices.Contains(known, k) {
			c.rec.UnknownKeys = append(c.rec.UnknownKeys, k)
		}
	}
	var b orderBody
	str := func(name string, dst *string) bool { return json.Unmarshal(top[name], dst) == nil && *dst != "" }
	if needClientID && (!str("client_order_id", &b.clientID) || len(b.clientID) > 128) {
		return b, "client_order_id is required (a string of at most 128 characters)"
	}
	if !str("product_id", &b.productID) {
		return b, "product_id is required"
	}
	if !str("side", &b.side) || (b.side != "BUY" && b.side != "SELL") {
		return b, "side must be BUY or SELL"
	}
	if _, ok := top["retail_portfolio_id"]; ok {
		_ = json.Unmarshal(top["retail_portfolio_id"], &b.retailPortfolio)
	}
	var conf map[string]map[string]json.RawMessage
	if json.Unmarshal(top["order_configuration"], &conf) != nil || len(conf) != 1 {
		return b, "order_configuration must hold exactly one variant"
	}
	for key, fields := range conf {
		spec, ok := variantFields[key]
		if !ok {
			return b, badRequest("unknown order_configuration " + key)
		}
		b.configKey, b.config = key, map[string]any{}
		for name, v := range fields {
			if name == "post_only" || name == "rfq_disabled" {
				var flag bool
				if json.Unmarshal(v, &flag) != nil {
					return b, badRequest(name + " must be a boolean")
				}
				b.config[name] = flag
				b.postOnly = b.postOnly || name == "post_only" && flag
				continue
			}
			var sv string
			if json.Unmarshal(v, &sv) != nil {
				return b, badRequest(name + " must be a string")
			}
			if !slices.Contains(spec.required, name) && !slices.Contains(spec.optional, name) {
				c.rec.UnknownKeys = append(c.rec.UnknownKeys, key+"."+name)
			}
			b.config[name] = sv
		}
		for _, name := range spec.required {
			if _, ok := b.config[name]; !ok {
				return b, badRequest(key + "." + name + " is required")
			}
		}
		if spec.optional != nil {
			_, q := b.config["quote_size"]
			_, s := b.config["base_size"]
			if q == s {
				return b, badRequest(key + " needs exactly one of quote_size and base_size")
			}
		}
		if msg := b.decodeValues(); msg != "" {
			return b, msg
		}
	}
	return b, ""
}

func (b *orderBody) decodeValues() badRequest {
	num := func(name string, dst *decimal.Decimal) badRequest {
		v, ok := b.config[name].(string)
		if !ok {
			return ""
		}
		n, err := decimal.NewFromString(v)
		if err != nil || !n.IsPositive() {
			return badRequest(name + " must be a positive decimal string")
		}
		*dst = n
		return ""
	}
	for name, dst := range map[string]*decimal.Decimal{
		"base_size": &b.baseSize, "quote_size": &b.quoteSize, "limit_price": &b.limitPrice,
		"stop_price": &b.stopPrice, "stop_trigger_price": &b.stopPrice,
	} {
		if msg := num(name, dst); msg != "" {
			return msg
		}
	}
	if v, ok := b.config["end_time"].(string); ok {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return "end_time must be RFC 3339"
		}
		b.endTime = t
	}
	if v, ok := b.config["stop_direction"].(string); ok {
		if v != "STOP_DIRECTION_STOP_UP" && v != "STOP_DIRECTION_STOP_DOWN" {
			return "stop_direction must be STOP_DIRECTION_STOP_UP or STOP_DIRECTION_STOP_DOWN"
		}
		b.stopDirection = v
	}
	return ""
}

// rejection is a business refusal, answered as HTTP 200 success:false.
type rejection struct {
	errorCode, preview, newOrder, message string
}

func reject(newOrder, preview, message string) *rejection {
	code := newOrder
	if code == "" {
		code = strings.TrimPrefix(preview, "PREVIEW_")
	}
	return &rejection{errorCode: code, preview: preview, newOrder: newOrder, message: message}
}

// check applies the product's rules, precision, stop side and funds.
// It returns the quote price a marketable order executes at (zero: rests).
func (s *Server) check(b orderBody) (*product, decimal.Decimal, *rejection) {
	p, ok := s.products[b.productID]
	if !ok {
		return nil, decimal.Zero, reject("INVALID_PRODUCT_ID", "PREVIEW_INVALID_PRODUCT_ID", "ProductID is invalid")
	}
	market := strings.HasPrefix(b.configKey, "market_")
	switch {
	case p.TradingDisabled || p.CancelOnly:
		return p, decimal.Zero, reject("ORDER_ENTRY_DISABLED", "", "product is not accepting orders")
	case market && p.LimitOnly:
		return p, decimal.Zero, reject("UNSUPPORTED_ORDER_CONFIGURATION", "", "product is limit only")
	case b.quoteSize.IsPositive() && b.side == "SELL":
		return p, decimal.Zero, reject("UNSUPPORTED_ORDER_CONFIGURATION", "PREVIEW_INVALID_ORDER_CONFIG", "quote_size is for buys")
	}
	if r := checkPrecision(p, b); r != nil {
		return p, decimal.Zero, r
	}
	if r := checkStop(p, b); r != nil {
		return p, decimal.Zero, r
	}
	touch := p.Ask
	if b.side == "SELL" {
		touch = p.Bid
	}
	marketable := market || b.limitPrice.IsPositive() && b.stopPrice.IsZero() && touch.IsPositive() &&
		(b.side == "BUY" && b.limitPrice.GreaterThanOrEqual(touch) || b.side == "SELL" && b.limitPrice.LessThanOrEqual(touch))
	switch {
	case marketable && (b.postOnly || p.PostOnly):
		return p, decimal.Zero, reject("INVALID_LIMIT_PRICE_POST_ONLY", "PREVIEW_INVALID_LIMIT_PRICE_POST_ONLY", "post-only order would cross")
	case market && !touch.IsPositive():
		return p, decimal.Zero, reject("INVALID_NO_LIQUIDITY", "PREVIEW_INVALID_NO_LIQUIDITY", "no liquidity")
	}
	if !marketable {
		touch = decimal.Zero
	}
	if r := s.checkFunds(p, b, touch); r != nil {
		return p, decimal.Zero, r
	}
	return p, touch, nil
}

func checkPrecision(p *product, b orderBody) *rejection {
	onGrid := func(v, inc decimal.Decimal) bool { return v.IsZero() || !inc.IsPositive() || v.Mod(inc).IsZero() }
	switch {
	case !onGrid(b.baseSize, p.BaseIncrement):
		return reject("INVALID_SIZE_PRECISION", "PREVIEW_INVALID_SIZE_PRECISION", "base_size is off base_increment")
	case !onGrid(b.quoteSize, p.QuoteIncrement):
		return reject("", "PREVIEW_INVALID_QUOTE_SIZE_PRECISION", "quote_size is off quote_increment")
	case !onGrid(b.limitPrice, p.priceIncrement()), !onGrid(b.stopPrice, p.priceIncrement()):
		return reject("INVALID_PRICE_PRECISION", "PREVIEW_INVALID_PRICE_PRECISION", "price is off price_increment")
	case b.baseSize.IsPositive() && b.baseSize.LessThan(p.BaseMinSize):
		return reject("", "PREVIEW_INVALID_BASE_SIZE_TOO_SMALL", "base_size below base_min_size")
	case b.baseSize.IsPositive() && p.BaseMaxSize.IsPositive() && b.baseSize.GreaterThan(p.BaseMaxSize):
		return reject("", "PREVIEW_INVALID_BASE_SIZE_TOO_LARGE", "base_size above base_max_size")
	case b.quoteSize.IsPositive() && b.quoteSize.LessThan(p.QuoteMinSize):
		return reject("", "PREVIEW_INVALID_QUOTE_SIZE_TOO_SMALL", "quote_size below quote_min_size")
	}
	return nil
}

func checkStop(p *product, b orderBody) *rejection {
	if b.stopDirection == "" || !p.Last.IsPositive() {
		return nil
	}
	if b.stopDirection == "STOP_DIRECTION_STOP_DOWN" && b.stopPrice.GreaterThanOrEqual(p.Last) {
		return reject("", "PREVIEW_STOP_PRICE_ABOVE_LAST_TRADE_PRICE", "stop price is above the last trade price")
	}
	if b.stopDirection == "STOP_DIRECTION_STOP_UP" && b.stopPrice.LessThanOrEqual(p.Last) {
		return reject("", "PREVIEW_STOP_PRICE_BELOW_LAST_TRADE_PRICE", "stop price is below the last trade price")
	}
	return nil
}

// holdFor is what an order reserves: quote (with the taker fee) for a buy,
// base for a sell.
func (s *Server) holdFor(p *product, b orderBody, touch decimal.Decimal) (string, decimal.Decimal) {
	if b.side == "SELL" {
		return p.Base, b.baseSize
	}
	if b.quoteSize.IsPositive() {
		return p.Quote, b.quoteSize
	}
	price := b.limitPrice
	if price.IsZero() {
		price = touch
	}
	return p.Quote, b.baseSize.Mul(price).Mul(decimal.NewFromInt(1).Add(s.cfg.TakerFeeRate))
}

func (s *Server) checkFunds(p *product, b orderBody, touch decimal.Decimal) *rejection {
	currency, need := s.holdFor(p, b, touch)
	if s.accountFor(currency).available.LessThan(need) {
		return reject("", "PREVIEW_INSUFFICIENT_FUND", "Insufficient balance in source account")
	}
	return nil
}

func echoConfig(b orderBody) obj {
	conf := obj{}
	for k, v := range b.config {
		conf[k] = v
	}
	if _, ok := conf["rfq_disabled"]; !ok && strings.HasPrefix(b.configKey, "limit_") {
		conf["rfq_disabled"] = false
	}
	return obj{b.configKey: conf}
}

func rejectedCreate(newOrder, preview, message string, echo obj) response {
	if newOrder == "" && preview == "" {
		newOrder = "UNKNOWN_FAILURE_REASON"
	}
	r := reject(newOrder, preview, message)
	er := obj{"error": r.errorCode, "message": r.message, "error_details": ""}
	if r.preview != "" {
		er["preview_failure_reason"] = r.preview
	}
	if r.newOrder != "" {
		er["new_order_failure_reason"] = r.newOrder
	}
	var conf any
	if echo != nil {
		conf = echo
	}
	return jsonResponse(http.StatusOK, obj{"success": false, "error_response": er, "order_configuration": conf})
}

func (s *Server) handleCreateOrder(c *call) response {
	b, bad := parseOrderBody(c.body, true, c)
	if bad != "" {
		s.creates = append(s.creates, CreateAttempt{ClientOrderID: b.clientID, Body: string(c.body), Outcome: "invalid: " + string(bad)})
		return apiError(http.StatusBadRequest, "INVALID_ARGUMENT", string(bad))
	}
	if c.who.oauth != nil && b.retailPortfolio == "" {
		s.creates = append(s.creates, CreateAttempt{ClientOrderID: b.clientID, Body: string(c.body), Outcome: "invalid: retail_portfolio_id missing"})
		return apiError(http.StatusBadRequest, "INVALID_ARGUMENT", "retail_portfolio_id is required for OAuth spot orders")
	}
	if o, ok := s.byClient[b.clientID]; ok {
		// Coinbase returns the existing order for a known client_order_id,
		// echoing the new request (ISS-49): nothing is created or moved.
		s.creates = append(s.creates, CreateAttempt{ClientOrderID: b.clientID, Body: string(c.body), Outcome: "existing", OrderID: o.id})
		return s.createdResponse(o, b)
	}
	p, touch, rej := s.check(b)
	if rej != nil {
		s.creates = append(s.creates, CreateAttempt{ClientOrderID: b.clientID, Body: string(c.body), Outcome: "rejected: " + rej.errorCode})
		resp := rejectedCreate(rej.newOrder, rej.preview, rej.message, echoConfig(b))
		if s.cfg.LegacyCreateResponse {
			var m obj
			_ = json.Unmarshal(resp.body, &m)
			m["failure_reason"], m["order_id"] = "UNKNOWN_FAILURE_REASON", ""
			resp.body = mustJSON(m)
		}
		return resp
	}
	o := s.accept(p, b, touch)
	s.creates = append(s.creates, CreateAttempt{ClientOrderID: b.clientID, Body: string(c.body), Outcome: "accepted", OrderID: o.id})
	return s.createdResponse(o, b)
}

func (s *Server) createdResponse(o *order, b orderBody) response {
	p := s.products[o.productID]
	echoID := o.productID
	if p != nil && p.EchoAs != "" {
		echoID = p.EchoAs
	}
	sr := obj{"order_id": o.id, "product_id": echoID, "side": b.side, "client_order_id": b.clientID, "attached_order_id": ""}
	if s.cfg.LegacyCreateResponse {
		delete(sr, "attached_order_id")
		return jsonResponse(http.StatusOK, obj{"success": true, "failure_reason": "UNKNOWN_FAILURE_REASON",
			"order_id": o.id, "success_response": sr, "order_configuration": nil})
	}
	return jsonResponse(http.StatusOK, obj{"success": true, "success_response": sr, "order_configuration": echoConfig(b)})
}

// accept books a new order: holds funds, then executes it at once when it
// is marketable (market, or a limit through the touch) and ends IOC/FOK
// remainders.
func (s *Server) accept(p *product, b orderBody, touch decimal.Decimal) *order {
	if _, ok := b.config["rfq_disabled"]; !ok && strings.HasPrefix(b.configKey, "limit_") {
		b.config["rfq_disabled"] = false // what GET shows for limit orders
	}
	o := &order{
		id: newUUID(), clientID: b.clientID, productID: b.productID, side: b.side,
		configKey: b.configKey, config: b.config, baseSize: b.baseSize, quoteSize: b.quoteSize,
		limitPrice: b.limitPrice, stopPrice: b.stopPrice, stopDirection: b.stopDirection,
		endTime: b.endTime, postOnly: b.postOnly, status: "OPEN", triggerStatus: "INVALID_ORDER_TYPE",
		created: s.clock.Now(), seq: s.nextSeq(), retailPortfolio: b.retailPortfolio,
	}
	if b.stopPrice.IsPositive() {
		o.triggerStatus = "STOP_PENDING"
	}
	o.holdCurrency, o.holdLeft = s.holdFor(p, b, touch)
	a := s.accountFor(o.holdCurrency)
	a.available = a.available.Sub(o.holdLeft)
	a.hold = a.hold.Add(o.holdLeft)
	s.orders = append(s.orders, o)
	if !o.endTime.IsZero() {
		s.gtd = append(s.gtd, o)
	}
	s.byID[o.id] = o
	s.byClient[o.clientID] = o

	switch {
	case b.quoteSize.IsPositive():
		// Quote-sized buy: the quote amount covers the fee.
		value := b.quoteSize.DivRound(decimal.NewFromInt(1).Add(s.cfg.TakerFeeRate), 16)
		fee := b.quoteSize.Sub(value)
		size := value.DivRound(touch, 16)
		s.book(o, p, size, value, fee, touch, "TAKER", true)
		s.close(o, "FILLED", "")
	case touch.IsPositive():
		s.execute(o, o.baseSize, touch, s.cfg.TakerFeeRate, "TAKER")
	case b.configKey == "sor_limit_ioc" || b.configKey == "limit_limit_fok" || b.configKey == "market_market_fok":
		s.close(o, "CANCELLED", "")
	}
	return o
}

func (s *Server) handlePreviewOrder(c *call) response {
	b, bad := parseOrderBody(c.body, false, c)
	if bad != "" {
		return apiError(http.StatusBadRequest, "INVALID_ARGUMENT", string(bad))
	}
	errs := []string{}
	p, touch, rej := s.check(b)
	if rej != nil {
		errs = append(errs, firstNonEmpty(rej.preview, "PREVIEW_"+rej.errorCode))
	}
	out := obj{"order_total": "0", "commission_total": "0", "errs": errs, "warning": []string{},
		"quote_size": b.quoteSize.String(), "base_size": b.baseSize.String(), "is_max": false,
		"preview_id": newUUID(), "best_bid": "", "best_ask": ""}
	if p != nil {
		out["best_bid"], out["best_ask"] = p.Bid.String(), p.Ask.String()
		price := b.limitPrice
		if touch.IsPositive() {
			price = touch
		}
		total := b.baseSize.Mul(price)
		fee := total.Mul(s.cfg.TakerFeeRate)
		out["order_total"], out["commission_total"] = total.Add(fee).String(), fee.String()
	}
	return jsonResponse(http.StatusOK, out)
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

func (s *Server) handleBatchCancel(c *call) response {
	var req struct {
		OrderIDs []string `json:"order_ids"`
	}
	if json.Unmarshal(c.body, &req) != nil || len(req.OrderIDs) == 0 {
		return apiError(http.StatusBadRequest, "INVALID_ARGUMENT", "order_ids is required")
	}
	results := make([]obj, 0, len(req.OrderIDs))
	for _, id := range req.OrderIDs {
		o, ok := s.byID[id]
		switch {
		case !ok || o.terminal():
			results = append(results, obj{"success": false, "failure_reason": "UNKNOWN_CANCEL_ORDER", "order_id": id})
		case o.status == "CANCEL_QUEUED":
			results = append(results, obj{"success": false, "failure_reason": "DUPLICATE_CANCEL_REQUEST", "order_id": id})
		default:
			if s.cfg.CancelQueued {
				o.status, o.pendingCancel = "CANCEL_QUEUED", true
			} else {
				s.close(o, "CANCELLED", "User requested cancel")
			}
			results = append(results, obj{"success": true, "failure_reason": "UNKNOWN_CANCEL_FAILURE_REASON", "order_id": id})
		}
	}
	return jsonResponse(http.StatusOK, obj{"results": results})
}

// editRequest is a decoded edit body and the failure it meets, if any.
type editRequest struct {
	o                 *order
	price, size, stop decimal.Decimal // stop: zero when not sent
	reason            string          // edit_failure_reason, "" if none
}

func (s *Server) checkEdit(c *call) (editRequest, badRequest) {
	var req struct {
		OrderID   string `json:"order_id"`
		Price     string `json:"price"`
		Size      string `json:"size"`
		StopPrice string `json:"stop_price"`
	}
	if json.Unmarshal(c.body, &req) != nil || req.OrderID == "" {
		return editRequest{}, "order_id is required"
	}
	var e editRequest
	price, perr := decimal.NewFromString(req.Price)
	size, serr := decimal.NewFromString(req.Size)
	e.price, e.size = price, size
	if req.StopPrice != "" && !s.cfg.IgnoreEditStopPrice {
		stop, err := decimal.NewFromString(req.StopPrice)
		if err != nil || !stop.IsPositive() {
			return editRequest{}, "stop_price must be a positive decimal string"
		}
		e.stop = stop
	}
	o, ok := s.byID[req.OrderID]
	e.o = o
	switch {
	case !ok:
		e.reason = "ORDER_NOT_FOUND"
	case o.terminal() || o.status == "CANCEL_QUEUED":
		e.reason = "ONLY_OPEN_ORDERS_CAN_BE_EDITED"
	case o.quoteSize.IsPositive():
		e.reason = "SIZE_IN_QUOTE_EDITS_NOT_ALLOWED"
	case o.configKey != "limit_limit_gtc" && !strings.HasPrefix(o.configKey, "stop_limit_"):
		e.reason = "ONLY_LIMIT_ORDER_EDITS_SUPPORTED"
	case e.stop.IsPositive() && !strings.HasPrefix(o.configKey, "stop_limit_"):
		e.reason = "ONLY_LIMIT_ORDER_EDITS_SUPPORTED"
	case serr != nil || !size.IsPositive():
		e.reason = "INVALID_EDITED_SIZE"
	case perr != nil || !price.IsPositive():
		e.reason = "INVALID_EDITED_PRICE"
	case size.LessThan(o.filledSize):
		e.reason = "CANNOT_EDIT_TO_BELOW_FILLED_SIZE"
	case size.Equal(o.baseSize) && price.Equal(o.limitPrice) && (e.stop.IsZero() || e.stop.Equal(o.stopPrice)):
		e.reason = "EDIT_REQUEST_EQUAL_TO_ORIGINAL_REQUEST"
	default:
		if rej := checkPrecision(s.products[o.productID], orderBody{baseSize: size, limitPrice: price, stopPrice: e.stop}); rej != nil {
			e.reason = "INVALID_EDITED_SIZE"
			if strings.Contains(rej.preview, "PRICE") {
				e.reason = "INVALID_EDITED_PRICE"
			}
		}
	}
	return e, ""
}

func (s *Server) handleEdit(c *call) response {
	e, bad := s.checkEdit(c)
	if bad != "" {
		return apiError(http.StatusBadRequest, "INVALID_ARGUMENT", string(bad))
	}
	if e.reason == "" && e.o.side == "BUY" {
		need := e.size.Sub(e.o.filledSize).Mul(e.price).Mul(decimal.NewFromInt(1).Add(s.cfg.TakerFeeRate))
		if s.accountFor(e.o.holdCurrency).available.Add(e.o.holdLeft).LessThan(need) {
			e.reason = "COMMANDER_REJECTED_EDIT_ORDER"
		}
	}
	if e.reason != "" {
		return jsonResponse(http.StatusOK, obj{"success": false, "errors": []obj{{"edit_failure_reason": e.reason}}})
	}
	s.applyEdit(e)
	return jsonResponse(http.StatusOK, obj{"success": true, "errors": []obj{}})
}

// applyEdit changes an order in place (same id): new total size, prices,
// hold re-sized, an edit_history entry.
func (s *Server) applyEdit(e editRequest) {
	o := e.o
	a := s.accountFor(o.holdCurrency)
	a.hold, a.available = a.hold.Sub(o.holdLeft), a.available.Add(o.holdLeft)
	o.baseSize, o.limitPrice = e.size, e.price
	o.config["base_size"], o.config["limit_price"] = e.size.String(), e.price.String()
	if e.stop.IsPositive() {
		o.stopPrice = e.stop
		o.config["stop_price"] = e.stop.String()
	}
	o.holdLeft = e.size.Sub(o.filledSize)
	if o.side == "BUY" {
		o.holdLeft = o.holdLeft.Mul(e.price).Mul(decimal.NewFromInt(1).Add(s.cfg.TakerFeeRate))
	}
	a.hold, a.available = a.hold.Add(o.holdLeft), a.available.Sub(o.holdLeft)
	o.editHistory = append(o.editHistory, editRecord{price: e.price, size: e.size, at: s.clock.Now()})
}

func (s *Server) handleEditPreview(c *call) response {
	e, bad := s.checkEdit(c)
	if bad != "" {
		return apiError(http.StatusBadRequest, "INVALID_ARGUMENT", string(bad))
	}
	errs := []obj{}
	if e.reason != "" {
		errs = append(errs, obj{"edit_failure_reason": e.reason})
	}
	out := obj{"errors": errs, "slippage": "0", "order_total": "0", "commission_total": "0",
		"quote_size": "0", "base_size": e.size.String(), "best_bid": "", "best_ask": "", "average_filled_price": "0"}
	if e.o != nil {
		p := s.products[e.o.productID]
		total := e.size.Mul(e.price)
		fee := total.Mul(s.cfg.MakerFeeRate)
		out["order_total"], out["commission_total"], out["quote_size"] = total.Add(fee).String(), fee.String(), total.String()
		out["best_bid"], out["best_ask"] = p.Bid.String(), p.Ask.String()
	}
	return jsonResponse(http.StatusOK, out)
}
