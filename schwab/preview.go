package schwab

import (
	"context"
	"net/http"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/internal/httpx"
)

var _ broker.Previewer = (*Broker)(nil)

// wirePreview is what the adapter reads of a PreviewOrder answer
// (schwab.md §6.9).
type wirePreview struct {
	OrderStrategy struct {
		OrderBalance struct {
			OrderValue          num `json:"orderValue"`
			ProjectedCommission num `json:"projectedCommission"`
		} `json:"orderBalance"`
	} `json:"orderStrategy"`
	OrderValidationResult struct {
		Alerts  []wireValidation `json:"alerts"`
		Rejects []wireValidation `json:"rejects"`
		Reviews []wireValidation `json:"reviews"`
		Warns   []wireValidation `json:"warns"`
	} `json:"orderValidationResult"`
}

// wireValidation is one entry of orderValidationResult; every field is
// optional.
type wireValidation struct {
	ValidationRuleName string `json:"validationRuleName"`
	Message            string `json:"message"`
	ActivityMessage    string `json:"activityMessage"`
}

func (v wireValidation) text() string {
	switch {
	case v.ActivityMessage != "":
		return v.ActivityMessage
	case v.Message != "":
		return v.Message
	}
	return v.ValidationRuleName
}

// PreviewOrder asks Schwab what req would do (POST previewOrder with the
// body PlaceOrder would send): the order value as Total, the projected
// commission, Schwab's alerts, reviews and warnings as Warnings, and its
// rejects. Schwab answers 200 even for an order it would reject: then
// Rejects is not empty. The preview is stateless and places nothing, so it
// is safe to repeat; Schwab gives no preview id.
func (b *Broker) PreviewOrder(ctx context.Context, req broker.OrderRequest) (broker.Preview, error) {
	body, err := encodeRequest(req)
	if err != nil {
		return broker.Preview{}, err
	}
	hash, err := b.accountHash(ctx)
	if err != nil {
		return broker.Preview{}, err
	}
	resp, err := b.do(ctx, httpx.Request{Op: "preview order", Method: http.MethodPost,
		Path: "/trader/v1/accounts/" + hash + "/previewOrder", Body: body, Bucket: b.readBucket, Idempotent: true})
	if err != nil {
		return broker.Preview{}, err
	}
	var w wirePreview
	if err := decodeStrict(resp.Body, &w); err != nil {
		return broker.Preview{}, malformed("preview order", err)
	}
	ob := w.OrderStrategy.OrderBalance
	p := broker.Preview{Total: ob.OrderValue.Decimal, Commission: ob.ProjectedCommission.Decimal}
	r := w.OrderValidationResult
	for _, group := range [][]wireValidation{r.Alerts, r.Reviews, r.Warns} {
		for _, v := range group {
			p.Warnings = append(p.Warnings, v.text())
		}
	}
	for _, v := range r.Rejects {
		p.Rejects = append(p.Rejects, v.text())
	}
	return p, nil
}
