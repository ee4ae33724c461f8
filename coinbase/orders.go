package coinbase

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/internal/httpx"
	"github.com/shopspring/decimal"
)

// Stop directions. A protective SELL stop triggers when the price falls to
// the stop (STOP_DOWN); a BUY stop when it rises to it (STOP_UP).
const (
	stopDown = "STOP_DIRECTION_STOP_DOWN"
	stopUp   = "STOP_DIRECTION_STOP_UP"
)

// createResends is how many times an ambiguous create is sent again with
// the same client_order_id (Coinbase answers with the existing order if the
// first one landed) before the adapter falls back to listing orders.
const createResends = 2

// PlaceOptions adds what broker.OrderRequest cannot say.
type PlaceOptions struct {
	// EndTime makes a Limit or StopLimit order good-till-date, ending then
	// (TimeInForce must be GTC or Day). It must be in the future.
	EndTime time.Time
	// PostOnly makes a GTC or good-till-date limit order maker-only: it is
	// rejected rather than take liquidity.
	PostOnly bool
	// BracketStopTrigger turns a Limit order into a bracket
	// (trigger_bracket_gtc/gtd): LimitPrice is the take-profit and this the
	// stop-loss trigger. Meant for a SELL that closes a long.
	BracketStopTrigger decimal.Decimal
}

// PlaceOrder places req (see the package documentation for the mapping).
// The same ClientOrderID placed again yields the existing order.
func (b *Broker) PlaceOrder(ctx context.Context, req broker.OrderRequest) (broker.Ack, error) {
	return b.PlaceOrderWith(ctx, req, PlaceOptions{})
}

// PlaceOrderWith places req with Coinbase-specific options.
func (b *Broker) PlaceOrderWith(ctx context.Context, req broker.OrderRequest, opts PlaceOptions) (broker.Ack, error) {
	body, p, err := b.buildCreate(ctx, req, opts)
	if err != nil {
		return broker.Ack{}, err
	}
	return b.submit(ctx, body, p)
}

// PlaceMarketBuyQuote places a market buy sized in the quote currency
// (market_market_ioc with quote_size): spend quoteSize, fees included.
// quoteSize is rounded down to the product's quote_increment.
func (b *Broker) PlaceMarketBuyQuote(ctx context.Context, clientOrderID, symbol string, quoteSize decimal.Decimal) (broker.Ack, error) {
	if err := broker.ValidateClientOrderID(clientOrderID); err != nil {
		return broker.Ack{}, err
	}
	if !quoteSize.IsPositive() {
		return broker.Ack{}, &errors.OrderError{Op: "place", ClientOrderID: clientOrderID, Symbol: symbol,
			Reason: "quote size must be positive", Kind: errors.ErrInvalidOrder}
	}
	p, err := b.tradableProduct(ctx, symbol, true)
	if err != nil {
		return broker.Ack{}, err
	}
	q, err := rounder{p: p, tolerance: b.cfg.RoundingTolerance, req: clientOrderID}.quoteSize(quoteSize)
	if err != nil {
		return broker.Ack{}, err
	}
	body := wireCreateOrder{ClientOrderID: clientOrderID, ProductID: p.ID, Side: "BUY",
		OrderConfiguration: wireOrderConfig{MarketIOC: &wireMarket{QuoteSize: &num{q}}},
		RetailPortfolioID:  b.cfg.RetailPortfolioID}
	return b.submit(ctx, body, p)
}

func invalid(req broker.OrderRequest, kind errors.Kind, format string, args ...any) error {
	return &errors.OrderError{Op: "place", ClientOrderID: req.ClientOrderID, Symbol: req.Instrument.Symbol,
		Reason: fmt.Sprintf(format, args...), Kind: kind}
}

// tradableProduct fetches the product and refuses one that takes no orders
// (or, for a market order, only limit orders).
func (b *Broker) tradableProduct(ctx context.Context, symbol string, market bool) (Product, error) {
	p, err := b.Product(ctx, symbol)
	if err != nil {
		return Product{}, err
	}
	switch {
	case p.TradingDisabled || p.CancelOnly:
		return Product{}, &errors.OrderError{Op: "place", Symbol: symbol, Reason: "product is not accepting orders", Kind: errors.ErrMarketClosed}
	case market && (p.LimitOnly || p.PostOnly):
		return Product{}, &errors.OrderError{Op: "place", Symbol: symbol, Reason: "product takes limit (post-only) orders only", Kind: errors.ErrInvalidOrder}
	}
	return p, nil
}

// buildCreate validates req, applies the product's increments and builds
// the body. Nothing is sent.
func (b *Broker) buildCreate(ctx context.Context, req broker.OrderRequest, opts PlaceOptions) (wireCreateOrder, Product, error) {
	if err := req.Validate(); err != nil {
		return wireCreateOrder{}, Product{}, err
	}
	if err := b.CheckOrder(req); err != nil {
		return wireCreateOrder{}, Product{}, err
	}
	side := "SELL"
	if req.Side == broker.Buy {
		side = "BUY"
	}
	p, err := b.tradableProduct(ctx, req.Instrument.Symbol, req.Type == broker.Market)
	if err != nil {
		return wireCreateOrder{}, Product{}, err
	}
	r := rounder{p: p, tolerance: b.cfg.RoundingTolerance, req: req.ClientOrderID}
	size, err := r.size(req.Quantity)
	if err != nil {
		return wireCreateOrder{}, Product{}, err
	}
	conf, err := b.configuration(req, opts, r, size)
	if err != nil {
		return wireCreateOrder{}, Product{}, err
	}
	return wireCreateOrder{ClientOrderID: req.ClientOrderID, ProductID: p.ID, Side: side,
		OrderConfiguration: conf, RetailPortfolioID: b.cfg.RetailPortfolioID}, p, nil
}

// configuration picks the order_configuration variant.
func (b *Broker) configuration(req broker.OrderRequest, opts PlaceOptions, r rounder, size decimal.Decimal) (wireOrderConfig, error) {
	buy := req.Side.IsBuy()
	endTime, gtd, err := b.endTime(req, opts)
	if err != nil {
		return wireOrderConfig{}, err
	}
	if opts.PostOnly && (req.Type != broker.Limit || req.TimeInForce == broker.IOC || req.TimeInForce == broker.FOK || opts.BracketStopTrigger.IsPositive()) {
		return wireOrderConfig{}, invalid(req, errors.ErrInvalidOrder, "post-only applies to GTC or good-till-date limit orders")
	}
	switch req.Type {
	case broker.Market:
		if gtd || opts.BracketStopTrigger.IsPositive() {
			return wireOrderConfig{}, invalid(req, errors.ErrInvalidOrder, "a market order takes no end time or bracket")
		}
		m := &wireMarket{BaseSize: &num{size}}
		if req.TimeInForce == broker.FOK {
			return wireOrderConfig{MarketFOK: m}, nil
		}
		return wireOrderConfig{MarketIOC: m}, nil
	case broker.Limit:
		price, err := r.price("limit price", req.LimitPrice, buy)
		if err != nil {
			return wireOrderConfig{}, err
		}
		if opts.BracketStopTrigger.IsPositive() {
			return b.bracket(req, opts, r, size, price, endTime, gtd)
		}
		postOnly := opts.PostOnly
		l := &wireLimit{BaseSize: &num{size}, LimitPrice: num{price}}
		switch {
		case gtd:
			l.EndTime, l.PostOnly = endTime, &postOnly
			return wireOrderConfig{LimitGTD: l}, nil
		case req.TimeInForce == broker.GTC:
			l.PostOnly = &postOnly
			return wireOrderConfig{LimitGTC: l}, nil
		case req.TimeInForce == broker.IOC:
			return wireOrderConfig{SorLimitIOC: l}, nil
		default: // FOK
			return wireOrderConfig{LimitFOK: l}, nil
		}
	default: // StopLimit; Stop and TrailingStop were refused before
		if opts.BracketStopTrigger.IsPositive() {
			return wireOrderConfig{}, invalid(req, errors.ErrInvalidOrder, "a bracket is a limit order")
		}
		return stopLimit(req, r, size, endTime, gtd)
	}
}

// endTime resolves good-till-date: an explicit EndTime, or Day as
// DayDuration from now.
func (b *Broker) endTime(req broker.OrderRequest, opts PlaceOptions) (string, bool, error) {
	switch {
	case !opts.EndTime.IsZero():
		if req.TimeInForce != broker.GTC && req.TimeInForce != broker.Day {
			return "", false, invalid(req, errors.ErrInvalidOrder, "an end time needs time in force gtc or day, not %s", req.TimeInForce)
		}
		if !opts.EndTime.After(b.now()) {
			return "", false, invalid(req, errors.ErrInvalidOrder, "end time %s is not in the future", opts.EndTime.UTC().Format(time.RFC3339))
		}
		return opts.EndTime.UTC().Format(time.RFC3339), true, nil
	case req.TimeInForce == broker.Day && req.Type != broker.Market:
		return b.now().Add(b.cfg.DayDuration).UTC().Format(time.RFC3339), true, nil
	}
	return "", false, nil
}

// stopLimit builds a stop-limit: a SELL is a stop-loss (STOP_DOWN), a BUY a
// stop entry (STOP_UP). The stop is rounded toward triggering earlier, the
// limit in the limit's safe direction.
func stopLimit(req broker.OrderRequest, r rounder, size decimal.Decimal, endTime string, gtd bool) (wireOrderConfig, error) {
	buy := req.Side.IsBuy() // IOC and FOK were refused by CheckOrder
	limit, err := r.price("limit price", req.LimitPrice, buy)
	if err != nil {
		return wireOrderConfig{}, err
	}
	stop, err := r.price("stop price", req.StopPrice, buy)
	if err != nil {
		return wireOrderConfig{}, err
	}
	s := &wireStopLimit{BaseSize: num{size}, LimitPrice: num{limit}, StopPrice: num{stop}, StopDirection: stopDown}
	if buy {
		s.StopDirection = stopUp
	}
	if gtd {
		s.EndTime = endTime
		return wireOrderConfig{StopLimitGTD: s}, nil
	}
	return wireOrderConfig{StopLimitGTC: s}, nil
}

func (b *Broker) bracket(req broker.OrderRequest, opts PlaceOptions, r rounder, size, price decimal.Decimal, endTime string, gtd bool) (wireOrderConfig, error) {
	if req.TimeInForce == broker.IOC || req.TimeInForce == broker.FOK {
		return wireOrderConfig{}, invalid(req, errors.ErrInvalidOrder, "a bracket is gtc or good-till-date")
	}
	stop, err := r.price("stop trigger price", opts.BracketStopTrigger, req.Side.IsBuy())
	if err != nil {
		return wireOrderConfig{}, err
	}
	br := &wireBracket{BaseSize: &num{size}, LimitPrice: num{price}, StopTriggerPrice: num{stop}}
	if gtd {
		br.EndTime = endTime
		return wireOrderConfig{BracketGTD: br}, nil
	}
	return wireOrderConfig{BracketGTC: br}, nil
}

// submit sends the create exactly once in effect: every attempt carries the
// same client_order_id, an ambiguous outcome is resolved by sending the
// same body again (Coinbase returns the existing order) and then by listing
// orders; only then is ErrOutcomeUnknown returned.
func (b *Broker) submit(ctx context.Context, body wireCreateOrder, p Product) (broker.Ack, error) {
	raw, err := json.Marshal(body)
	if err != nil {
		return broker.Ack{}, fmt.Errorf("coinbase: encoding the order: %w", errors.ErrInvalidOrder)
	}
	var lastErr error
	sent := b.now()
	for attempt := 0; attempt <= createResends; attempt++ {
		ack, retried, err := b.createOnce(ctx, raw, body)
		if err == nil {
			if retried || attempt > 0 {
				return b.verifyCreated(ctx, ack, body, p)
			}
			return ack, nil
		}
		if !ambiguous(err) && lastErr == nil {
			return broker.Ack{}, err // a clear answer to the only attempt so far
		}
		// After an uncertain attempt even a clear refusal of a later one
		// (a 429, a 401) does not tell whether the earlier one landed.
		lastErr = err
		if !ambiguous(err) || ctx.Err() != nil {
			break
		}
	}
	if ctx.Err() == nil {
		if o, err := b.findPlaced(ctx, body.ClientOrderID, sent); err == nil {
			return broker.Ack{OrderID: o.OrderID, ClientOrderID: body.ClientOrderID, Status: o.Status,
				RawStatus: o.RawStatus, AcceptedAt: o.CreatedAt}, nil
		}
	}
	return broker.Ack{}, &errors.OrderError{Op: "place", ClientOrderID: body.ClientOrderID, Symbol: body.ProductID,
		Reason: "the create's answer was lost and the order could not be found yet; reconcile by client order id",
		Kind:   errors.ErrOutcomeUnknown, Err: lastErr}
}

// ambiguous reports whether a create may or may not have placed the order.
// 4xx answers (auth, permission, invalid, rate limit: checked before any
// processing) and 200 success:false are definite.
func ambiguous(err error) bool {
	for _, k := range []errors.Kind{errors.ErrOutcomeUnknown, errors.ErrNetwork, errors.ErrTimeout,
		errors.ErrBrokerUnavailable, errors.ErrMalformedResponse} {
		if errors.Is(err, k) {
			return true
		}
	}
	return false
}

// createOnce sends the create through httpx (which retries transient
// failures with the same body and a fresh JWT) and reads the answer.
func (b *Broker) createOnce(ctx context.Context, raw []byte, body wireCreateOrder) (broker.Ack, bool, error) {
	var out wireCreateResponse
	resp, err := b.do(ctx, httpx.Request{Op: "place order", Method: http.MethodPost, Path: "/orders", Body: raw, Idempotent: true}, &out)
	if err != nil {
		if resp != nil && resp.Attempts > 1 && !ambiguous(err) {
			// The pipeline retried: the last answer is clear, the earlier
			// attempts' fate is not.
			err = fmt.Errorf("%w: an earlier attempt may have placed the order: %w", errors.ErrOutcomeUnknown, err)
		}
		return broker.Ack{}, false, err
	}
	retried := resp.Attempts > 1
	if out.Success == nil {
		return broker.Ack{}, retried, malformed("place order", "answer has no success member")
	}
	if !*out.Success {
		code, message := createFailure(out.ErrorResponse)
		code, message = b.scrub.Scrub(code), b.scrub.Scrub(message)
		kind := failureKind(code)
		var refusal error = &errors.OrderError{Op: "place", ClientOrderID: body.ClientOrderID, Symbol: body.ProductID,
			Reason: firstNonEmpty(message, code), Kind: kind,
			Err: &errors.BrokerError{Broker: brokerName, Op: "place order", HTTPStatus: resp.Status, Code: code,
				Message: message, RequestID: resp.RequestID, Kind: kind}}
		if retried {
			// As above: the refusal answers the last attempt only.
			refusal = fmt.Errorf("%w: an earlier attempt may have placed the order: %w", errors.ErrOutcomeUnknown, refusal)
		}
		return broker.Ack{}, retried, refusal
	}
	id := out.OrderID
	if out.SuccessResponse != nil && out.SuccessResponse.OrderID != "" {
		id = out.SuccessResponse.OrderID
	}
	if id == "" {
		return broker.Ack{}, retried, malformed("place order", "success without an order_id")
	}
	return broker.Ack{OrderID: id, ClientOrderID: body.ClientOrderID, Status: broker.StatusNew, AcceptedAt: b.now()}, retried, nil
}

// verifyCreated reads back an order acknowledged after a resend: Coinbase
// echoes the request, not the stored order, so only the stored order proves
// that this client order id belongs to this intent. A different order under
// the id is ErrDuplicateOrder; an order not yet visible is accepted as is.
func (b *Broker) verifyCreated(ctx context.Context, ack broker.Ack, body wireCreateOrder, p Product) (broker.Ack, error) {
	w, err := b.getWireOrder(ctx, ack.OrderID)
	if err != nil {
		b.logger.Warn("coinbase: could not read back a resent order", "order_id", ack.OrderID, "error", err)
		return ack, nil
	}
	got, _ := w.OrderConfiguration.shape()
	want, _ := (&body.OrderConfiguration).shape()
	if !p.sameBook(w.ProductID) || w.Side != body.Side || !got.size.Equal(want.size) ||
		!got.quoteSize.Equal(want.quoteSize) || !got.limitPrice.Equal(want.limitPrice) {
		return broker.Ack{}, &errors.OrderError{Op: "place", ClientOrderID: body.ClientOrderID, OrderID: ack.OrderID,
			Symbol: body.ProductID, Reason: "client order id already names a different order", Kind: errors.ErrDuplicateOrder}
	}
	o, _ := orderFromWire(w)
	ack.Status, ack.RawStatus, ack.AcceptedAt = o.Status, o.RawStatus, o.CreatedAt
	return ack, nil
}

// FindOrder looks for the order a lost placement may have created: the
// orders Coinbase entered within [q.From, q.To] (start_date/end_date, every
// page to the end of the cursor) whose client_order_id is the request's.
// Coinbase keeps client order ids, so there is at most one candidate. The
// request is not validated (it may have been placed under older rules) and
// nothing found is remembered. Complete is true only when every page of the
// window was read; a failed page is an error, never a short answer.
func (b *Broker) FindOrder(ctx context.Context, q broker.FindQuery) (broker.FindResult, error) {
	id := q.Request.ClientOrderID
	if id == "" {
		// Coinbase never holds an order without a client_order_id, so no
		// listing could identify one: nothing to report, and no proof.
		return broker.FindResult{}, nil
	}
	var res broker.FindResult
	err := b.eachOrderPage(ctx, "find order", windowQuery(q.From, q.To), func(page []wireOrder) bool {
		for _, w := range page {
			if w.ClientOrderID == id {
				res.Candidates = append(res.Candidates, b.order(w))
			}
		}
		return true
	})
	if err != nil {
		return broker.FindResult{}, err
	}
	broker.SortOldestFirst(res.Candidates)
	res.Complete = true
	return res, nil
}

// windowQuery selects orders created within [from, to]: start_date is
// inclusive and end_date exclusive, both at whole seconds here, so the
// window is widened outward to the second (a wider scan only costs time).
func windowQuery(from, to time.Time) url.Values {
	q := url.Values{}
	if !from.IsZero() {
		q.Set("start_date", from.UTC().Truncate(time.Second).Format(time.RFC3339))
	}
	if !to.IsZero() {
		q.Set("end_date", to.UTC().Truncate(time.Second).Add(time.Second).Format(time.RFC3339))
	}
	return q
}

// placeLookback is how far before a create's first attempt the fallback
// lookup starts, for a local clock behind Coinbase's.
const placeLookback = 5 * time.Minute

// findPlaced settles a create whose answers were lost: the order under the
// client id among those entered since the first attempt (less the skew
// allowed). Not found is errors.ErrOrderNotFound, which right after a
// placement proves nothing: the caller reports the outcome as unknown.
func (b *Broker) findPlaced(ctx context.Context, clientID string, sent time.Time) (broker.Order, error) {
	res, err := b.FindOrder(ctx, broker.FindQuery{Request: broker.OrderRequest{ClientOrderID: clientID},
		From: sent.Add(-placeLookback), To: b.now().Add(placeLookback)})
	if err != nil {
		return broker.Order{}, err
	}
	if len(res.Candidates) == 0 {
		return broker.Order{}, &errors.OrderError{Op: "find", ClientOrderID: clientID,
			Reason: "no order with this client order id", Kind: errors.ErrOrderNotFound}
	}
	return res.Candidates[0], nil
}

// order maps a wire order and reports an unknown status or configuration.
func (b *Broker) order(w wireOrder) broker.Order {
	o, ok := orderFromWire(w)
	if o.Status == broker.StatusUnknown {
		b.logger.Warn("coinbase: unknown order status", "order_id", w.OrderID, "raw_status", w.Status)
	}
	if !ok {
		b.logger.Warn("coinbase: order configuration not understood", "order_id", w.OrderID)
	}
	return o
}

func checkOrderID(op, id string) error {
	if id == "" || strings.ContainsAny(id, "/?#") || strings.TrimSpace(id) != id {
		return &errors.OrderError{Op: op, OrderID: id, Reason: "order id is empty or malformed", Kind: errors.ErrInvalidOrder}
	}
	return nil
}

func (b *Broker) getWireOrder(ctx context.Context, id string) (wireOrder, error) {
	if err := checkOrderID("get", id); err != nil {
		return wireOrder{}, err
	}
	var out wireGetOrder
	if err := b.get(ctx, "get order", "/orders/historical/"+url.PathEscape(id), nil, &out); err != nil {
		return wireOrder{}, err
	}
	if out.Order == nil || out.Order.OrderID == "" {
		return wireOrder{}, malformed("get order", "answer has no order")
	}
	return *out.Order, nil
}

// GetOrder returns the order with its fills (quote-sized fills converted to
// base units). An unknown id matches errors.ErrOrderNotFound.
func (b *Broker) GetOrder(ctx context.Context, orderID string) (broker.Order, error) {
	for try := 0; ; try++ {
		w, err := b.getWireOrder(ctx, orderID)
		if err != nil {
			return broker.Order{}, err
		}
		o := b.order(w)
		if w.NumberOfFills.IsZero() && w.FilledSize.IsZero() {
			return o, nil
		}
		execs, err := b.Fills(ctx, FillFilter{OrderIDs: []string{orderID}})
		if err != nil {
			return broker.Order{}, err
		}
		if attachFills(&o, execs) || try == 1 {
			// A second mismatch means a fill is landing right now; the
			// snapshot is returned as read, and the next one will agree.
			return o, nil
		}
	}
}

// attachFills puts the order's executions on it and reports whether their
// quantities add up to the filled size. Quote-sized fills are converted with
// a rounded division; the rounding remainder is put on the last one so the
// sum equals the broker's filled size exactly.
func attachFills(o *broker.Order, execs []Execution) bool {
	o.Fills = o.Fills[:0]
	sum := decimal.Zero
	quoteSized := false
	for _, e := range execs {
		if e.TradeType != "" && e.TradeType != "FILL" {
			continue // an adjustment, not an execution
		}
		quoteSized = quoteSized || e.QuoteSize.IsPositive()
		o.Fills = append(o.Fills, e.Fill)
		sum = sum.Add(e.Quantity)
	}
	diff := o.FilledQuantity.Sub(sum)
	if quoteSized && len(o.Fills) > 0 && diff.Abs().LessThan(decimal.New(1, -12)) {
		o.Fills[len(o.Fills)-1].Quantity = o.Fills[len(o.Fills)-1].Quantity.Add(diff)
		return true
	}
	return diff.IsZero()
}

// openListingCap is the most OPEN orders Coinbase returns to one listing
// (reference text): a listing that reaches it may have been cut short.
const openListingCap = 1000

// OpenOrders lists every working order (order_status=OPEN, all pages). A
// listing that fails or may have been cut short matches
// errors.ErrIncompleteListing.
func (b *Broker) OpenOrders(ctx context.Context) ([]broker.Order, error) {
	return b.Orders(ctx, broker.OrderQuery{Filter: broker.FilterOpen})
}

// Orders lists the orders q selects, oldest first, reading every page:
// order_status from the filter, start_date/end_date from the window (which
// Coinbase ignores for OPEN, so the window is applied here too),
// product_ids from the symbol. A page that fails, or an OPEN listing that
// reaches Coinbase's cap of 1000, is an error matching
// errors.ErrIncompleteListing, never a short list.
func (b *Broker) Orders(ctx context.Context, q broker.OrderQuery) ([]broker.Order, error) {
	v := windowQueryExclusive(q.From, q.To)
	setAll(v, "order_status", statusesFor(q.Filter))
	if q.Symbol != "" {
		v.Set("product_ids", q.Symbol)
	}
	var out []broker.Order
	seen := 0
	err := b.eachOrderPage(ctx, "list orders", v, func(page []wireOrder) bool {
		for _, w := range page {
			seen++
			o := b.order(w)
			if q.Filter.Match(o) && inWindow(o.CreatedAt, q.From, q.To) {
				out = append(out, o)
			}
		}
		return true
	})
	if err != nil {
		return nil, incomplete(err)
	}
	if q.Filter == broker.FilterOpen && seen >= openListingCap {
		return nil, incomplete(&errors.BrokerError{Broker: brokerName, Op: "list orders",
			Message: fmt.Sprintf("%d open orders: Coinbase returns at most %d, more may exist", seen, openListingCap),
			Kind:    errors.ErrIncompleteListing})
	}
	broker.SortOldestFirst(out)
	return out, nil
}

// statusesFor maps a filter to Coinbase's order_status values. OPEN must
// be sent alone; Coinbase edits in place, so nothing is ever replaced.
func statusesFor(f broker.OrderFilter) []string {
	switch f {
	case broker.FilterOpen:
		return []string{"OPEN"}
	case broker.FilterFilled:
		return []string{"FILLED"}
	case broker.FilterCanceled:
		return []string{"CANCELLED", "EXPIRED"}
	}
	return nil
}

// windowQueryExclusive is [from, to) for a listing; a zero to means now
// and is not sent.
func windowQueryExclusive(from, to time.Time) url.Values {
	q := url.Values{}
	if !from.IsZero() {
		q.Set("start_date", from.UTC().Format(time.RFC3339Nano))
	}
	if !to.IsZero() {
		q.Set("end_date", to.UTC().Format(time.RFC3339Nano))
	}
	return q
}

func inWindow(t, from, to time.Time) bool {
	return (from.IsZero() || !t.Before(from)) && (to.IsZero() || t.Before(to))
}

// incomplete marks a listing error as ErrIncompleteListing, keeping the
// cause's own kind reachable.
func incomplete(err error) error {
	if errors.Is(err, errors.ErrIncompleteListing) {
		return err
	}
	return &errors.BrokerError{Broker: brokerName, Op: "list orders",
		Message: "the listing could not be read to the end", Kind: errors.ErrIncompleteListing, Err: err}
}

// OrderFilter narrows ListOrders. Statuses are Coinbase's ("OPEN" alone, or
// terminal ones such as "FILLED", "CANCELLED").
type OrderFilter struct {
	ProductIDs []string
	OrderIDs   []string
	Statuses   []string
}

// ListOrders returns every order matching f, reading all pages.
func (b *Broker) ListOrders(ctx context.Context, f OrderFilter) ([]broker.Order, error) {
	q := url.Values{}
	setAll(q, "product_ids", f.ProductIDs)
	setAll(q, "order_ids", f.OrderIDs)
	setAll(q, "order_status", f.Statuses)
	var out []broker.Order
	err := b.eachOrderPage(ctx, "list orders", q, func(page []wireOrder) bool {
		for _, w := range page {
			out = append(out, b.order(w))
		}
		return true
	})
	return out, err
}

func setAll(q url.Values, key string, vs []string) {
	if len(vs) > 0 {
		q[key] = append([]string(nil), vs...)
	}
}

// eachOrderPage pages through /orders/historical/batch while has_next, the
// same query plus the cursor each time; visit returns false to stop.
func (b *Broker) eachOrderPage(ctx context.Context, op string, q url.Values, visit func([]wireOrder) bool) error {
	q.Set("limit", strconv.Itoa(b.cfg.OrdersPageSize))
	seen := map[string]bool{}
	for page := 0; page < maxPages; page++ {
		var out wireOrdersPage
		if err := b.get(ctx, op, "/orders/historical/batch", q, &out); err != nil {
			return err
		}
		if !visit(out.Orders) || !out.HasNext {
			return nil
		}
		if out.Cursor == "" || seen[out.Cursor] {
			return malformed(op, "has_next without a new cursor")
		}
		seen[out.Cursor] = true
		q.Set("cursor", out.Cursor)
	}
	return malformed(op, "too many pages")
}

// FillFilter narrows Fills.
type FillFilter struct {
	OrderIDs   []string
	ProductIDs []string
	TradeIDs   []string
}

// Fills lists executions matching f, reading every page: fills have no
// has_next; the listing ends on an empty cursor or an empty page.
func (b *Broker) Fills(ctx context.Context, f FillFilter) ([]Execution, error) {
	q := url.Values{"limit": {strconv.Itoa(b.cfg.FillsPageSize)}}
	setAll(q, "order_ids", f.OrderIDs)
	setAll(q, "product_ids", f.ProductIDs)
	setAll(q, "trade_ids", f.TradeIDs)
	var out []Execution
	seen := map[string]bool{}
	for page := 0; page < maxPages; page++ {
		var w wireFillsPage
		if err := b.get(ctx, "list fills", "/orders/historical/fills", q, &w); err != nil {
			return nil, err
		}
		for _, f := range w.Fills {
			out = append(out, executionFromWire(f))
		}
		if w.Cursor == "" || len(w.Fills) == 0 {
			return out, nil
		}
		if seen[w.Cursor] {
			return nil, malformed("list fills", "cursor repeated")
		}
		seen[w.Cursor] = true
		q.Set("cursor", w.Cursor)
	}
	return nil, malformed("list fills", "too many pages")
}
