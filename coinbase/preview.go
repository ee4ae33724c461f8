package coinbase

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/internal/httpx"
	"github.com/shopspring/decimal"
)

var _ broker.Previewer = (*Broker)(nil)

// wirePreviewOrder is the body of POST /orders/preview: the create body
// without client_order_id (coinbase.md §6.4).
type wirePreviewOrder struct {
	ProductID          string          `json:"product_id"`
	Side               string          `json:"side"`
	OrderConfiguration wireOrderConfig `json:"order_configuration"`
	RetailPortfolioID  string          `json:"retail_portfolio_id,omitempty"`
}

// wirePreviewResponse is what the adapter reads of a preview answer.
type wirePreviewResponse struct {
	OrderTotal      string   `json:"order_total"`
	CommissionTotal string   `json:"commission_total"`
	Errs            []string `json:"errs"`
	Warning         []string `json:"warning"`
	PreviewID       string   `json:"preview_id"`
}

// PreviewOrder asks Coinbase what req would cost: POST /orders/preview with
// the body PlaceOrder would send (increments applied, no client order id).
// Coinbase answers 200 even when it would refuse the order: its reasons
// (errs) are the Preview's Rejects. Total is order_total, commission
// included; Fees stays zero (Coinbase reports one commission). Nothing is
// placed; a request the adapter refuses locally is refused here too.
func (b *Broker) PreviewOrder(ctx context.Context, req broker.OrderRequest) (broker.Preview, error) {
	body, _, err := b.buildCreate(ctx, req, PlaceOptions{})
	if err != nil {
		return broker.Preview{}, err
	}
	raw, err := json.Marshal(wirePreviewOrder{ProductID: body.ProductID, Side: body.Side,
		OrderConfiguration: body.OrderConfiguration, RetailPortfolioID: body.RetailPortfolioID})
	if err != nil {
		return broker.Preview{}, fmt.Errorf("coinbase: encoding the preview: %w", errors.ErrInvalidOrder)
	}
	var out wirePreviewResponse
	// A preview changes nothing at Coinbase: safe to repeat.
	if _, err := b.do(ctx, httpx.Request{Op: "preview order", Method: http.MethodPost, Path: "/orders/preview",
		Body: raw, Idempotent: true}, &out); err != nil {
		return broker.Preview{}, err
	}
	p := broker.Preview{PreviewID: out.PreviewID}
	for _, f := range []struct {
		dst  *decimal.Decimal
		src  string
		name string
	}{{&p.Total, out.OrderTotal, "order_total"}, {&p.Commission, out.CommissionTotal, "commission_total"}} {
		if f.src == "" {
			continue
		}
		v, err := decimal.NewFromString(f.src)
		if err != nil {
			return broker.Preview{}, malformed("preview order", f.name+" is not a decimal")
		}
		*f.dst = v
	}
	for _, w := range out.Warning {
		p.Warnings = append(p.Warnings, b.scrub.Scrub(w))
	}
	for _, e := range out.Errs {
		p.Rejects = append(p.Rejects, b.scrub.Scrub(e))
	}
	return p, nil
}
