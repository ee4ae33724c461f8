package schwab

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/internal/httpx"
)

const (
	// queryTimeLayout is the only date form the order list accepts.
	queryTimeLayout = "2006-01-02T15:04:05.000Z"
	// listLookback is how far back OpenOrders looks: the per-account list
	// allows at most one year between its bounds.
	listLookback = 364 * 24 * time.Hour
	// listAhead lets the list window end a little in the future, so that an
	// order stamped by a clock ahead of ours is not cut off.
	listAhead = time.Minute
)

// intent is one ClientOrderID's placement through this adapter.
type intent struct {
	done   chan struct{} // closed when the first send returned
	key    string        // ClientOrderID, or "replace:<old id>:<ClientOrderID>"
	req    broker.OrderRequest
	sentAt time.Time
	ack    broker.Ack
	err    error     // nil: placed; ErrOutcomeUnknown: unresolved
	endAt  time.Time // when the first send returned; zero while in flight
}

// PlaceOrder places a single-leg order. A ClientOrderID already placed
// through this Broker returns that order's Ack and sends nothing. A
// placement whose answer was lost is looked up among recent orders by its
// fields; if it cannot be resolved the error matches
// errors.ErrOutcomeUnknown and the order is never sent again (FindOrder
// settles it later).
func (b *Broker) PlaceOrder(ctx context.Context, req broker.OrderRequest) (broker.Ack, error) {
	body, err := encodeRequest(req)
	if err != nil {
		return broker.Ack{}, err
	}
	return b.submit(ctx, req.ClientOrderID, req, body, "place order", "/orders", http.MethodPost)
}

// ReplaceOrder replaces a working order with req: Schwab cancels it and
// creates a new order with a new id (the Ack's), and the old one becomes
// replaced. After a partial fill send the unfilled remainder as the
// quantity. The same lost-answer rules as PlaceOrder apply.
func (b *Broker) ReplaceOrder(ctx context.Context, orderID string, req broker.OrderRequest) (broker.Ack, error) {
	if err := checkOrderID("replace", orderID); err != nil {
		return broker.Ack{}, err
	}
	body, err := encodeRequest(req)
	if err != nil {
		return broker.Ack{}, err
	}
	// A replacement is its own intent even when it reuses the ClientOrderID
	// of the order it replaces.
	return b.submit(ctx, "replace:"+orderID+":"+req.ClientOrderID, req, body, "replace order", "/orders/"+orderID, http.MethodPut)
}

// submit sends a place or replace once per intent key.
func (b *Broker) submit(ctx context.Context, key string, req broker.OrderRequest, body []byte, op, suffix, method string) (broker.Ack, error) {
	for {
		b.ordersMu.Lock()
		b.pruneLocked()
		in := b.byClient[key]
		if in == nil {
			in = &intent{done: make(chan struct{}), key: key, req: req}
			b.byClient[key] = in
			b.ordersMu.Unlock()
			return b.firstSend(ctx, in, body, op, suffix, method)
		}
		b.ordersMu.Unlock()
		ack, err, again := b.repeat(ctx, in, req)
		if !again {
			return ack, err
		}
	}
}

func (b *Broker) firstSend(ctx context.Context, in *intent, body []byte, op, suffix, method string) (broker.Ack, error) {
	ack, err := b.send(ctx, in, body, op, suffix, method)
	b.ordersMu.Lock()
	defer b.ordersMu.Unlock()
	in.ack, in.err, in.endAt = ack, err, b.clock.Now()
	switch {
	case err == nil:
		b.claimed[ack.OrderID] = in.req.ClientOrderID
	case !errors.Is(err, errors.ErrOutcomeUnknown):
		delete(b.byClient, in.key) // refused: nothing was placed, the intent may be sent again
	}
	close(in.done)
	return ack, err
}

// pruneLocked forgets, at most once a minute, the intents whose send
// returned more than IntentRetention ago, and the order ids they placed,
// so that memory does not grow with the account's history.
func (b *Broker) pruneLocked() {
	now := b.clock.Now()
	if now.Sub(b.pruned) < time.Minute {
		return
	}
	b.pruned = now
	for key, in := range b.byClient {
		if !in.endAt.IsZero() && now.Sub(in.endAt) > b.cfg.IntentRetention {
			delete(b.byClient, key)
			if in.err == nil && b.claimed[in.ack.OrderID] == in.req.ClientOrderID {
				delete(b.claimed, in.ack.OrderID)
			}
		}
	}
}

// repeat answers a ClientOrderID seen before: the first placement's Ack, or
// a lookup if its outcome is unknown. again means the first attempt was
// refused and the caller may send.
func (b *Broker) repeat(ctx context.Context, in *intent, req broker.OrderRequest) (broker.Ack, error, bool) {
	select {
	case <-in.done:
	case <-ctx.Done():
		return broker.Ack{}, ctxErr("place order", ctx.Err()), false
	}
	b.ordersMu.Lock()
	ack, err := in.ack, in.err
	b.ordersMu.Unlock()
	switch {
	case err == nil:
		if !sameIntent(in.req, req) {
			return broker.Ack{}, &errors.OrderError{Op: "place", ClientOrderID: req.ClientOrderID, OrderID: ack.OrderID,
				Symbol: req.Instrument.Symbol, Reason: "client order id already used for a different order",
				Kind: errors.ErrDuplicateOrder}, false
		}
		return ack, nil, false
	case errors.Is(err, errors.ErrOutcomeUnknown):
		ack, err := b.resolve(ctx, in)
		return ack, err, false
	}
	return broker.Ack{}, nil, true
}

// resolve answers a repeat of a placement whose answer was lost: still
// unknown, never resent. The adapter does not settle it by matching
// fields (an order another process placed with the same fields would
// match too); the order tracker does, with FindOrder and the store's
// record of which broker orders are taken.
func (b *Broker) resolve(_ context.Context, in *intent) (broker.Ack, error) {
	return broker.Ack{}, outcomeUnknown(in.req, "the earlier placement is still unresolved; not resent", errSettledByTracker)
}

// errSettledByTracker says why a lost placement stays unknown here.
var errSettledByTracker = &errors.OrderError{Op: "place", Kind: errors.ErrOutcomeUnknown,
	Reason: "settled by the tracker's lookup (FindOrder), never inside the adapter"}

// send makes the one request of a place or replace and settles a lost
// answer by lookup.
func (b *Broker) send(ctx context.Context, in *intent, body []byte, op, suffix, method string) (broker.Ack, error) {
	hash, err := b.accountHash(ctx)
	if err != nil {
		return broker.Ack{}, err
	}
	if err := b.countOrderRequest(op, true); err != nil {
		return broker.Ack{}, err
	}
	in.sentAt = b.clock.Now()
	resp, err := b.do(ctx, httpx.Request{Op: op, Method: method, Path: "/trader/v1/accounts/" + hash + suffix,
		Body: body, Bucket: b.orderBucket, Idempotent: false})
	var cause error
	switch {
	case err == nil:
		if id, ok := orderIDFromLocation(resp.Header.Get("Location"), hash); ok && !b.knownElsewhere(id, suffix) {
			return b.verifyPlaced(ctx, in, id)
		}
		cause = &errors.BrokerError{Broker: Name, Op: op, HTTPStatus: resp.Status, RequestID: resp.RequestID,
			Kind: errors.ErrOutcomeUnknown, Message: "accepted without a usable Location header"}
	case errors.Is(err, errors.ErrOutcomeUnknown):
		cause = err
	default:
		b.forgetHash(err)
		return broker.Ack{}, err // refused: nothing was placed
	}
	b.log.LogAttrs(ctx, slog.LevelWarn, "schwab order outcome unknown",
		slog.String("op", op), slog.String("client_order_id", in.req.ClientOrderID))
	return broker.Ack{}, outcomeUnknown(in.req, "the answer was lost; not resent", errors.Join(cause, errSettledByTracker))
}

// knownElsewhere reports a Location id that is surely not the new order's:
// the order a replace replaces, or one another intent already placed.
func (b *Broker) knownElsewhere(id, suffix string) bool {
	if suffix == "/orders/"+id {
		return true
	}
	b.ordersMu.Lock()
	defer b.ordersMu.Unlock()
	_, ok := b.claimed[id]
	return ok
}

// countOrderRequest counts an order request on the current UTC day and,
// when refuse is set, refuses it once Config.OrdersPerDay were sent.
func (b *Broker) countOrderRequest(op string, refuse bool) error {
	if b.cfg.OrdersPerDay < 0 {
		return nil
	}
	now := b.clock.Now().UTC()
	day := now.Truncate(24 * time.Hour)
	b.ordersMu.Lock()
	defer b.ordersMu.Unlock()
	if !day.Equal(b.day) {
		b.day, b.dayCount = day, 0
	}
	if refuse && b.dayCount >= b.cfg.OrdersPerDay {
		return &errors.BrokerError{Broker: Name, Op: op, Kind: errors.ErrRateLimited, RetryAfter: day.Add(24 * time.Hour).Sub(now),
			Message: "client-side daily order limit reached (" + strconv.Itoa(b.cfg.OrdersPerDay) + " order requests today); not sent"}
	}
	b.dayCount++
	return nil
}

// verifyPlaced returns the Ack for the id from Location, reading the order
// back first when Config.VerifyPlacedOrder is set.
func (b *Broker) verifyPlaced(ctx context.Context, in *intent, id string) (broker.Ack, error) {
	ack := broker.Ack{OrderID: id, ClientOrderID: in.req.ClientOrderID, Status: broker.StatusPendingNew, AcceptedAt: in.sentAt}
	if !b.cfg.VerifyPlacedOrder {
		return ack, nil
	}
	o, err := b.getOrder(ctx, id)
	if err == nil && matches(o, in.req, in.sentAt.Add(-b.cfg.MatchSkew)) {
		return ackOf(in.req, o, in.sentAt), nil
	}
	return broker.Ack{}, outcomeUnknown(in.req, "Location named order "+id+", which does not match the request",
		errors.Join(err, errSettledByTracker))
}

func ackOf(req broker.OrderRequest, o broker.Order, sentAt time.Time) broker.Ack {
	return broker.Ack{OrderID: o.OrderID, ClientOrderID: req.ClientOrderID, Status: o.Status, RawStatus: o.RawStatus,
		AcceptedAt: sentAt}
}

func outcomeUnknown(req broker.OrderRequest, reason string, cause error) error {
	return &errors.OrderError{Op: "place", ClientOrderID: req.ClientOrderID, Symbol: req.Instrument.Symbol,
		Reason: reason, Kind: errors.ErrOutcomeUnknown, Err: cause}
}

func ctxErr(op string, err error) error {
	kind := errors.ErrNetwork
	if errors.Is(err, context.DeadlineExceeded) {
		kind = errors.ErrTimeout
	}
	return &errors.BrokerError{Broker: Name, Op: op, Kind: kind, Err: err}
}

// orderIDFromLocation reads the new order's id from a Location header,
// absolute or path-only, and checks that it is under our account.
func orderIDFromLocation(loc, hash string) (string, bool) {
	if loc == "" {
		return "", false
	}
	u, err := url.Parse(loc)
	if err != nil {
		return "", false
	}
	parts := strings.Split(strings.TrimSuffix(u.Path, "/"), "/")
	n := len(parts)
	if n < 4 || parts[n-4] != "accounts" || parts[n-3] != hash || parts[n-2] != "orders" {
		return "", false
	}
	if _, err := strconv.ParseInt(parts[n-1], 10, 64); err != nil {
		return "", false
	}
	return parts[n-1], true
}

// matches reports whether o is what req asked for, entered at or after since.
func matches(o broker.Order, req broker.OrderRequest, since time.Time) bool {
	return o.Instrument.Symbol == req.Instrument.Symbol && o.Side == req.Side && o.Type == req.Type &&
		o.TimeInForce == req.TimeInForce && o.Quantity.Equal(req.Quantity) &&
		o.LimitPrice.Equal(req.LimitPrice) && o.StopPrice.Equal(req.StopPrice) &&
		!o.CreatedAt.Before(since.Truncate(time.Second))
}

func sameIntent(a, b broker.OrderRequest) bool {
	return a.Instrument == b.Instrument && a.Side == b.Side && a.Type == b.Type && a.TimeInForce == b.TimeInForce &&
		a.Quantity.Equal(b.Quantity) && a.LimitPrice.Equal(b.LimitPrice) && a.StopPrice.Equal(b.StopPrice) &&
		a.TrailAmount.Equal(b.TrailAmount) && a.TrailPercent.Equal(b.TrailPercent) && a.ExtendedHours == b.ExtendedHours
}

func checkOrderID(op, id string) error {
	if _, err := strconv.ParseInt(id, 10, 64); err != nil || id == "" || id[0] == '-' || id[0] == '+' {
		return &errors.OrderError{Op: op, OrderID: id, Reason: "a Schwab order id is a decimal number",
			Kind: errors.ErrOrderNotFound}
	}
	return nil
}

// GetOrder returns the order's snapshot.
func (b *Broker) GetOrder(ctx context.Context, orderID string) (broker.Order, error) {
	if err := checkOrderID("get", orderID); err != nil {
		return broker.Order{}, err
	}
	return b.getOrder(ctx, orderID)
}

func (b *Broker) getOrder(ctx context.Context, orderID string) (broker.Order, error) {
	var last error
	for range 2 { // a cut-off answer is read once more: GET is safe to repeat
		resp, err := b.read(ctx, "get order", "/orders/"+orderID, nil)
		if err != nil {
			return broker.Order{}, err
		}
		o, err := decodeOrder(resp.Body)
		if err == nil {
			return b.annotate(ctx, o), nil
		}
		last = err
	}
	return broker.Order{}, last
}

// annotate adds the ClientOrderID this adapter placed the order with and
// reports a status the spec does not list.
func (b *Broker) annotate(ctx context.Context, o broker.Order) broker.Order {
	b.ordersMu.Lock()
	o.ClientOrderID = b.claimed[o.OrderID]
	b.ordersMu.Unlock()
	if _, known := statusMap[o.RawStatus]; !known || o.RawStatus == "UNKNOWN" {
		b.log.LogAttrs(ctx, slog.LevelWarn, "schwab order in a status the adapter does not know; treated as working",
			slog.String("order_id", o.OrderID), slog.String("status", o.RawStatus))
	}
	return o
}

func (b *Broker) flatten(ctx context.Context, w *wireOrder, out []broker.Order) []broker.Order {
	if len(w.OrderLegCollection) > 0 {
		out = append(out, b.annotate(ctx, w.toOrder()))
	}
	for i := range w.ChildOrderStrategies {
		out = b.flatten(ctx, &w.ChildOrderStrategies[i], out)
	}
	return out
}

// CancelOrder asks Schwab to cancel the order; the order passes through
// pending cancel (GetOrder tells when it is canceled, or filled if a fill
// won). Cancelling a final order matches errors.ErrOrderNotCancelable.
func (b *Broker) CancelOrder(ctx context.Context, orderID string) error {
	if err := checkOrderID("cancel", orderID); err != nil {
		return err
	}
	hash, err := b.accountHash(ctx)
	if err != nil {
		return err
	}
	_ = b.countOrderRequest("cancel order", false) // a cancel is never refused: it reduces risk
	_, err = b.do(ctx, httpx.Request{Op: "cancel order", Method: http.MethodDelete,
		Path: "/trader/v1/accounts/" + hash + "/orders/" + orderID, Bucket: b.orderBucket, Idempotent: true})
	if err == nil {
		return nil
	}
	var be *errors.BrokerError
	if !errors.As(err, &be) || be.HTTPStatus < 400 || be.HTTPStatus >= 500 || errors.Is(err, errors.ErrOrderNotFound) ||
		errors.Is(err, errors.ErrRateLimited) || errors.Is(err, errors.ErrUnauthenticated) {
		b.forgetHash(err)
		return err
	}
	// Refused: if the order is final, that is why.
	o, gerr := b.getOrder(ctx, orderID)
	if gerr == nil && o.Status.Terminal() {
		return &errors.OrderError{Op: "cancel", OrderID: orderID, ClientOrderID: o.ClientOrderID, Symbol: o.Instrument.Symbol,
			Reason: "order is " + o.Status.String(), Kind: errors.ErrOrderNotCancelable, Err: err}
	}
	return err
}
