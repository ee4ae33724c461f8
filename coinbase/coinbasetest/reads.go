package coinbasetest

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"
)

// knownQuery lists the query keys the spec documents per route; anything
// else is reported in RequestRecord.UnknownKeys.
var knownQuery = map[string][]string{
	"/accounts":                  {"limit", "cursor", "retail_portfolio_id"},
	"/best_bid_ask":              {"product_ids"},
	"/products":                  {"product_type", "product_ids", "limit", "offset", "get_all_products", "get_tradability_status"},
	"/product":                   {"get_tradability_status"},
	"/orders/historical/batch":   {"order_ids", "product_ids", "order_status", "limit", "cursor", "start_date", "end_date", "order_types", "order_side", "product_type", "order_placement_source", "contract_expiry_type", "asset_filters", "time_in_forces", "sort_by", "retail_portfolio_id"},
	"/orders/historical/fills":   {"order_ids", "trade_ids", "product_ids", "start_sequence_timestamp", "end_sequence_timestamp", "limit", "cursor", "sort_by", "retail_portfolio_id"},
	"/orders/historical/{order}": {},
}

func (c *call) noteUnknownQuery(route string) {
	for k := range c.r.URL.Query() {
		if !slices.Contains(knownQuery[route], k) {
			c.rec.UnknownKeys = append(c.rec.UnknownKeys, k)
		}
	}
}

func intParam(q url.Values, name string, def, max int) (int, bool) {
	v := q.Get(name)
	if v == "" {
		return def, true
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 || n > max {
		return 0, false
	}
	return n, true
}

func (s *Server) handleTime(c *call) response {
	now := s.clock.Now()
	return jsonResponse(http.StatusOK, obj{
		"iso": now.UTC().Format(time.RFC3339Nano), "epochSeconds": strconv.FormatInt(now.Unix(), 10),
		"epochMillis": strconv.FormatInt(now.UnixMilli(), 10),
	})
}

func (s *Server) handleKeyPermissions(c *call) response {
	trade := s.canTrade(c.who)
	return jsonResponse(http.StatusOK, obj{
		"can_view": s.canView(c.who), "can_trade": trade, "can_transfer": false,
		"portfolio_uuid": s.portfolio, "portfolio_type": "DEFAULT",
	})
}

func (s *Server) handleListAccounts(c *call) response {
	c.noteUnknownQuery("/accounts")
	q := c.r.URL.Query()
	limit, ok := intParam(q, "limit", 49, 250)
	if !ok {
		return apiError(http.StatusBadRequest, "INVALID_ARGUMENT", "limit must be between 1 and 250")
	}
	start := 0
	if cur := q.Get("cursor"); cur != "" {
		i := slices.IndexFunc(s.accounts, func(a *account) bool { return a.uuid == cur })
		if i < 0 {
			return apiError(http.StatusBadRequest, "INVALID_ARGUMENT", "invalid cursor")
		}
		start = i
	}
	end := min(start+limit, len(s.accounts))
	page := make([]obj, 0, end-start)
	for _, a := range s.accounts[start:end] {
		page = append(page, s.accountJSON(a))
	}
	cursor, hasNext := "", end < len(s.accounts)
	if hasNext {
		cursor = s.accounts[end].uuid
	}
	return jsonResponse(http.StatusOK, obj{"accounts": page, "has_next": hasNext, "cursor": cursor, "size": len(page)})
}

func (s *Server) handleGetAccount(c *call) response {
	for _, a := range s.accounts {
		if a.uuid == c.params["id"] {
			return jsonResponse(http.StatusOK, obj{"account": s.accountJSON(a)})
		}
	}
	return apiError(http.StatusNotFound, "NOT_FOUND", "account not found")
}

func (s *Server) handleGetProduct(c *call) response {
	c.noteUnknownQuery("/product")
	p, ok := s.products[c.params["id"]]
	if !ok {
		return apiError(http.StatusBadRequest, "INVALID_ARGUMENT", "ProductID is invalid")
	}
	return jsonResponse(http.StatusOK, productJSON(p))
}

func (s *Server) handleListProducts(c *call) response {
	c.noteUnknownQuery("/products")
	ids := c.r.URL.Query()["product_ids"]
	out := []obj{}
	for _, id := range sortedKeys(s.products) {
		if len(ids) == 0 || slices.Contains(ids, id) {
			out = append(out, productJSON(s.products[id]))
		}
	}
	return jsonResponse(http.StatusOK, obj{"products": out, "num_products": len(out)})
}

// handleBestBidAsk answers one pricebook per requested known product, in
// request order; unknown products are left out.
func (s *Server) handleBestBidAsk(c *call) response {
	c.noteUnknownQuery("/best_bid_ask")
	books := []obj{}
	for _, id := range c.r.URL.Query()["product_ids"] {
		p, ok := s.products[id]
		if !ok {
			continue
		}
		books = append(books, obj{"product_id": id, "bids": level(p.Bid, p.BidSize), "asks": level(p.Ask, p.AskSize),
			"time": ts(s.clock.Now())})
	}
	return jsonResponse(http.StatusOK, obj{"pricebooks": books})
}

func (s *Server) handleGetOrder(c *call) response {
	c.noteUnknownQuery("/orders/historical/{order}")
	id := c.params["id"]
	if !looksLikeUUID(id) {
		return apiError(http.StatusBadRequest, "INVALID_ARGUMENT", "invalid OrderId "+id+" passed to endpoint")
	}
	o, ok := s.byID[id]
	if !ok || !s.visible(o) {
		return apiError(http.StatusNotFound, "NOT_FOUND", "order with this orderID was not found")
	}
	return jsonResponse(http.StatusOK, obj{"order": s.orderJSON(o)})
}

// visible reports whether reads can see the order yet (Config.VisibilityDelay).
func (s *Server) visible(o *order) bool {
	return !s.clock.Now().Before(o.created.Add(s.cfg.VisibilityDelay))
}

func looksLikeUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		switch {
		case i == 8 || i == 13 || i == 18 || i == 23:
			if c != '-' {
				return false
			}
		case '0' <= c && c <= '9', 'a' <= c && c <= 'f', 'A' <= c && c <= 'F':
		default:
			return false
		}
	}
	return true
}

var openStatuses = []string{"PENDING", "QUEUED", "OPEN", "CANCEL_QUEUED", "EDIT_QUEUED"}

func (s *Server) handleListOrders(c *call) response {
	c.noteUnknownQuery("/orders/historical/batch")
	q := c.r.URL.Query()
	statuses := q["order_status"]
	if slices.Contains(statuses, "OPEN") && len(statuses) > 1 {
		return apiError(http.StatusBadRequest, "INVALID_ARGUMENT", "OPEN cannot be combined with other order statuses")
	}
	limit, ok := intParam(q, "limit", 100, 1000)
	if !ok {
		return apiError(http.StatusBadRequest, "INVALID_ARGUMENT", "limit must be between 1 and 1000")
	}
	after, ok := cursorSeq(q.Get("cursor"))
	if !ok {
		return apiError(http.StatusBadRequest, "INVALID_ARGUMENT", "invalid cursor")
	}
	for _, k := range []string{"start_date", "end_date"} {
		if v := q.Get(k); v != "" {
			if _, err := time.Parse(time.RFC3339Nano, v); err != nil {
				return apiError(http.StatusBadRequest, "INVALID_ARGUMENT", k+" must be RFC 3339")
			}
		}
	}
	var matched []*order
	for _, o := range s.sortedOrders() {
		if o.seq >= after || !orderMatches(o, q) || !s.visible(o) {
			continue
		}
		matched = append(matched, o)
	}
	page, hasNext := matched, false
	if len(matched) > limit {
		page, hasNext = matched[:limit], true
	}
	out := make([]obj, 0, len(page))
	for _, o := range page {
		out = append(out, s.orderJSON(o))
	}
	cursor := ""
	if hasNext {
		cursor = strconv.FormatInt(page[len(page)-1].seq, 10)
	}
	return jsonResponse(http.StatusOK, obj{"orders": out, "sequence": "0", "has_next": hasNext, "cursor": cursor})
}

func orderMatches(o *order, q url.Values) bool {
	in := func(key, v string) bool { return len(q[key]) == 0 || slices.Contains(q[key], v) }
	status := in("order_status", o.status)
	if slices.Contains(q["order_status"], "OPEN") {
		status = slices.Contains(openStatuses, o.status)
	}
	return status && in("order_ids", o.id) && in("product_ids", o.productID) && in("order_side", o.side) &&
		(slices.Contains(q["order_status"], "OPEN") || inDates(o.created, q))
}

// inDates applies start_date (inclusive) and end_date (exclusive), which
// Coinbase ignores for OPEN listings.
func inDates(t time.Time, q url.Values) bool {
	if v := q.Get("start_date"); v != "" {
		from, err := time.Parse(time.RFC3339Nano, v)
		if err == nil && t.Before(from) {
			return false
		}
	}
	if v := q.Get("end_date"); v != "" {
		to, err := time.Parse(time.RFC3339Nano, v)
		if err == nil && !t.Before(to) {
			return false
		}
	}
	return true
}

// cursorSeq decodes a listing cursor: the sequence number of the last item
// of the previous page ("" = from the start).
func cursorSeq(cur string) (int64, bool) {
	if cur == "" {
		return 1 << 62, true
	}
	n, err := strconv.ParseInt(cur, 10, 64)
	return n, err == nil && n > 0
}

func (s *Server) handleListFills(c *call) response {
	c.noteUnknownQuery("/orders/historical/fills")
	q := c.r.URL.Query()
	limit, ok := intParam(q, "limit", 100, 1000)
	if !ok {
		return apiError(http.StatusBadRequest, "INVALID_ARGUMENT", "limit must be between 1 and 1000")
	}
	after, ok := cursorSeq(q.Get("cursor"))
	if !ok {
		return apiError(http.StatusBadRequest, "INVALID_ARGUMENT", "invalid cursor")
	}
	in := func(key, v string) bool { return len(q[key]) == 0 || slices.Contains(q[key], v) }
	var matched []*fill
	for i := len(s.fills) - 1; i >= 0; i-- { // newest first
		f := s.fills[i]
		if f.seq < after && in("order_ids", f.orderID) && in("trade_ids", f.tradeID) && in("product_ids", f.productID) {
			matched = append(matched, f)
		}
	}
	page, more := matched, false
	if len(matched) > limit {
		page, more = matched[:limit], true
	}
	out := make([]obj, 0, len(page))
	for _, f := range page {
		out = append(out, fillJSON(f, s.portfolio))
	}
	cursor := ""
	switch {
	case more || s.cfg.FillsTrailingEmptyPage && len(page) > 0:
		cursor = strconv.FormatInt(page[len(page)-1].seq, 10)
	case s.cfg.FillsTrailingEmptyPage:
		cursor = q.Get("cursor") // an empty page that still carries a cursor
	}
	return jsonResponse(http.StatusOK, obj{"fills": out, "cursor": cursor})
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
