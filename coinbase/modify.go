package coinbase

import (
	"context"
	"fmt"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/errors"
	"github.com/shopspring/decimal"
)

// CancelOrder asks Coinbase to cancel the order (batch_cancel with one id).
// nil means the cancel was accepted, not that the order is cancelled yet
// (it can be CANCEL_QUEUED, and fills can still land). A refusal is read
// per order: a reason that does not say why (UNKNOWN_CANCEL_ORDER, what
// Coinbase answers for an unknown or closed order) is settled by reading
// the order: unknown → errors.ErrOrderNotFound, closed →
// errors.ErrOrderNotCancelable, already cancelling → nil.
func (b *Broker) CancelOrder(ctx context.Context, orderID string) error {
	if err := checkOrderID("cancel", orderID); err != nil {
		return err
	}
	var out wireBatchCancel
	// Cancelling is safe to repeat: the pipeline may retry it.
	resp, err := b.post(ctx, "cancel order", "/orders/batch_cancel", map[string][]string{"order_ids": {orderID}}, true, &out)
	if err != nil {
		return err
	}
	var res *wireCancelResult
	for i := range out.Results {
		if out.Results[i].OrderID == orderID {
			res = &out.Results[i]
		}
	}
	if res == nil {
		return malformed("cancel order", "no result for the order")
	}
	if res.Success {
		return nil
	}
	switch res.FailureReason {
	case "DUPLICATE_CANCEL_REQUEST":
		return nil // a cancel is already on its way
	case "UNKNOWN_CANCEL_ORDER", "UNKNOWN_CANCEL_FAILURE_REASON", "", "COMMANDER_REJECTED_CANCEL_ORDER":
		return b.explainCancelFailure(ctx, orderID, res.FailureReason)
	}
	kind := cancelFailureKind(res.FailureReason)
	return &errors.OrderError{Op: "cancel", OrderID: orderID, Reason: res.FailureReason, Kind: kind,
		Err: &errors.BrokerError{Broker: brokerName, Op: "cancel order", HTTPStatus: resp.Status,
			Code: res.FailureReason, RequestID: resp.RequestID, Kind: kind}}
}

// explainCancelFailure reads the order to tell why a cancel failed.
func (b *Broker) explainCancelFailure(ctx context.Context, orderID, reason string) error {
	w, err := b.getWireOrder(ctx, orderID)
	if err != nil {
		if errors.Is(err, errors.ErrOrderNotFound) {
			return &errors.OrderError{Op: "cancel", OrderID: orderID, Reason: reason, Kind: errors.ErrOrderNotFound, Err: err}
		}
		return err
	}
	o := b.order(w)
	switch {
	case o.Status.Terminal():
		return &errors.OrderError{Op: "cancel", OrderID: orderID, Symbol: o.Instrument.Symbol,
			Reason: fmt.Sprintf("order is %s (%s)", o.Status, reason), Kind: errors.ErrOrderNotCancelable}
	case o.Status == broker.StatusPendingCancel:
		return nil
	}
	return &errors.OrderError{Op: "cancel", OrderID: orderID, Symbol: o.Instrument.Symbol,
		Reason: fmt.Sprintf("cancel refused (%s) while the order is %s", reason, o.RawStatus), Kind: errors.ErrOrderRejected}
}

// ReplaceOrder edits a working limit (or stop-limit) order in place: the new
// total size and limit price of req, same order id, same client order id
// (Coinbase's edit keeps both; req.ClientOrderID is not used). Only the
// size and price can change: a different symbol, side or type is refused.
// A lost answer is errors.ErrOutcomeUnknown (an edit is not idempotent);
// read the order to settle it.
func (b *Broker) ReplaceOrder(ctx context.Context, orderID string, req broker.OrderRequest) (broker.Ack, error) {
	w, e, err := b.prepareEdit(ctx, orderID, req)
	if err != nil {
		return broker.Ack{}, err
	}
	body := e.body(orderID)
	var out wireEditResponse
	resp, err := b.post(ctx, "replace order", "/orders/edit", body, false, &out)
	if err != nil {
		return broker.Ack{}, err
	}
	if out.Success == nil {
		return broker.Ack{}, &errors.OrderError{Op: "replace", OrderID: orderID, Reason: "edit answer has no success member",
			Kind: errors.ErrOutcomeUnknown}
	}
	if !*out.Success {
		reason := editFailure(out)
		kind := failureKind(reason)
		return broker.Ack{}, &errors.OrderError{Op: "replace", OrderID: orderID, ClientOrderID: w.ClientOrderID,
			Symbol: w.ProductID, Reason: reason, Kind: kind,
			Err: &errors.BrokerError{Broker: brokerName, Op: "replace order", HTTPStatus: resp.Status, Code: reason,
				RequestID: resp.RequestID, Kind: kind}}
	}
	if req.Type == broker.StopLimit {
		if err := b.checkStopMoved(ctx, orderID, e); err != nil {
			return broker.Ack{}, err
		}
	}
	return broker.Ack{OrderID: orderID, ClientOrderID: w.ClientOrderID, Status: broker.StatusPendingReplace,
		AcceptedAt: b.now()}, nil
}

// edit is the new size and prices of an edit, on the product's increments.
type edit struct {
	size, price, stop decimal.Decimal // stop: zero for a limit order
}

func (e edit) body(orderID string) map[string]string {
	body := map[string]string{"order_id": orderID, "price": e.price.String(), "size": e.size.String()}
	if e.stop.IsPositive() {
		body["stop_price"] = e.stop.String()
	}
	return body
}

// checkStopMoved reads a stop-limit order back after an edit: stop_price is
// a newer member of the edit body, and a protective stop that silently
// stayed where it was must not pass for a moved one.
func (b *Broker) checkStopMoved(ctx context.Context, orderID string, e edit) error {
	w, err := b.getWireOrder(ctx, orderID)
	if err != nil {
		return &errors.OrderError{Op: "replace", OrderID: orderID, Reason: "edit accepted; could not read the stop back",
			Kind: errors.ErrOutcomeUnknown, Err: err}
	}
	got, _ := w.OrderConfiguration.shape()
	if !got.stopPrice.Equal(e.stop) || !got.limitPrice.Equal(e.price) {
		return &errors.OrderError{Op: "replace", OrderID: orderID, ClientOrderID: w.ClientOrderID, Symbol: w.ProductID,
			Reason: fmt.Sprintf("edit accepted but the order shows stop %s limit %s, not %s %s; cancel and place instead",
				got.stopPrice, got.limitPrice, e.stop, e.price), Kind: errors.ErrOrderRejected}
	}
	return nil
}

func editFailure(out wireEditResponse) string {
	for _, e := range out.Errors {
		for _, r := range []string{e.EditFailureReason, e.PreviewFailureReason} {
			if informative(r) {
				return r
			}
		}
	}
	if out.ErrorResponse != nil && informative(out.ErrorResponse.EditOrderFailureReason) {
		return out.ErrorResponse.EditOrderFailureReason
	}
	return "UNKNOWN_EDIT_ORDER_FAILURE_REASON"
}

// prepareEdit checks req against the working order and rounds its size and
// prices to the product's increments.
func (b *Broker) prepareEdit(ctx context.Context, orderID string, req broker.OrderRequest) (wireOrder, edit, error) {
	fail := func(kind errors.Kind, reason string) (wireOrder, edit, error) {
		return wireOrder{}, edit{}, &errors.OrderError{Op: "replace", OrderID: orderID,
			ClientOrderID: req.ClientOrderID, Symbol: req.Instrument.Symbol, Reason: reason, Kind: kind}
	}
	if err := validateEdit(req); err != nil {
		return wireOrder{}, edit{}, err
	}
	if err := b.CheckReplace(req); err != nil {
		return wireOrder{}, edit{}, err
	}
	w, err := b.getWireOrder(ctx, orderID)
	if err != nil {
		return wireOrder{}, edit{}, err
	}
	o := b.order(w)
	switch {
	case o.Status.Terminal():
		return fail(errors.ErrOrderNotCancelable, "order is "+o.Status.String())
	case o.Instrument.Symbol != req.Instrument.Symbol || o.Side != req.Side || o.Type != req.Type:
		return fail(errors.ErrInvalidOrder, "an edit changes size and price only; symbol, side and type must match the order")
	}
	if reason := uneditable(w); reason != "" {
		return fail(errors.ErrNotSupported, reason)
	}
	p, err := b.Product(ctx, w.ProductID)
	if err != nil {
		return wireOrder{}, edit{}, err
	}
	r := rounder{p: p, tolerance: b.cfg.RoundingTolerance, req: req.ClientOrderID}
	var e edit
	if e.size, err = r.size(req.Quantity); err != nil {
		return wireOrder{}, edit{}, err
	}
	if e.price, err = r.price("limit price", req.LimitPrice, req.Side.IsBuy()); err != nil {
		return wireOrder{}, edit{}, err
	}
	if req.Type == broker.StopLimit {
		if e.stop, err = r.price("stop price", req.StopPrice, req.Side.IsBuy()); err != nil {
			return wireOrder{}, edit{}, err
		}
	}
	return w, e, nil
}

// validateEdit validates req except its ClientOrderID, which an edit does
// not use (Coinbase keeps the order's own): an id that would not do for a
// new order must not block moving a protective stop.
func validateEdit(req broker.OrderRequest) error {
	if broker.ValidateClientOrderID(req.ClientOrderID) != nil {
		req.ClientOrderID = "unusedbyanedit"
	}
	return req.Validate()
}

// uneditable says why Coinbase would refuse to edit the working order w
// (documented edit failures), or "" if it would not.
func uneditable(w wireOrder) string {
	c := w.OrderConfiguration
	shape, _ := c.shape()
	switch {
	case w.SizeInQuote || shape.quoteSize.IsPositive():
		return "size: a quote-sized order cannot be edited (SIZE_IN_QUOTE_EDITS_NOT_ALLOWED)"
	case c != nil && (c.BracketGTC != nil || c.BracketGTD != nil):
		return "type: a bracket order cannot be edited (ONLY_LIMIT_ORDER_EDITS_SUPPORTED)"
	case shape.typ == broker.Limit && c != nil && c.LimitGTC == nil:
		return "time_in_force: only good-till-cancelled limit orders can be edited, this one is " + shape.tif.String()
	}
	return ""
}

// EditPreview is Coinbase's estimate of an edit, with the reasons it would
// fail (empty when it would pass).
type EditPreview struct {
	Failures        []string
	OrderTotal      decimal.Decimal
	CommissionTotal decimal.Decimal
	QuoteSize       decimal.Decimal
	BaseSize        decimal.Decimal
	BestBid         decimal.Decimal
	BestAsk         decimal.Decimal
	Slippage        decimal.Decimal
}

// PreviewEdit asks Coinbase what ReplaceOrder(orderID, req) would do,
// changing nothing.
func (b *Broker) PreviewEdit(ctx context.Context, orderID string, req broker.OrderRequest) (EditPreview, error) {
	_, e, err := b.prepareEdit(ctx, orderID, req)
	if err != nil {
		return EditPreview{}, err
	}
	body := e.body(orderID)
	var out wireEditPreview
	// A preview changes nothing: safe to retry.
	if _, err := b.post(ctx, "preview edit", "/orders/edit_preview", body, true, &out); err != nil {
		return EditPreview{}, err
	}
	p := EditPreview{OrderTotal: out.OrderTotal.Decimal, CommissionTotal: out.CommissionTotal.Decimal,
		QuoteSize: out.QuoteSize.Decimal, BaseSize: out.BaseSize.Decimal, BestBid: out.BestBid.Decimal,
		BestAsk: out.BestAsk.Decimal, Slippage: out.Slippage.Decimal}
	for _, e := range out.Errors {
		p.Failures = append(p.Failures, firstNonEmpty(e.EditFailureReason, e.PreviewFailureReason))
	}
	return p, nil
}
