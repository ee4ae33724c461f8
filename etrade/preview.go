package etrade

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/errors"
)

var _ broker.Previewer = (*Broker)(nil)

// previewReuse is how long a caller's preview may stand in for the one
// PlaceOrder would make. E*TRADE refuses a place on a stale preview with
// code 1033 ("preview timed out"), which PlaceOrder answers by previewing
// once more, so a short reuse costs nothing when it is too long.
const previewReuse = 2 * time.Minute

// previewed is a preview a caller asked for, kept for its PlaceOrder.
type previewed struct {
	orderJSON []byte
	result    previewResult
	at        time.Time
}

// PreviewOrder asks E*TRADE what req would cost (orders/preview): its
// estimated commission and total, its warnings, and its preview id. A
// refusal E*TRADE answers with an error (buying power, a symbol it will
// not trade) is the Preview's Rejects. A PlaceOrder soon after, with the
// same ClientOrderID and fields, places on this preview (its id and its
// warnings) instead of previewing again. Nothing is placed.
func (b *Broker) PreviewOrder(ctx context.Context, req broker.OrderRequest) (broker.Preview, error) {
	order, err := buildOrder(req)
	if err != nil {
		return broker.Preview{}, err
	}
	orderJSON, err := json.Marshal([]reqOrder{order})
	if err != nil {
		return broker.Preview{}, err
	}
	pv, err := b.preview(ctx, "preview order", http.MethodPost, b.apiPath("/orders/preview.json"), req.ClientOrderID, orderJSON)
	var be *errors.BrokerError
	switch {
	case err == nil:
	case errors.As(err, &be) && be.HTTPStatus >= 400 && be.HTTPStatus < 500 && refusalKind(err):
		return broker.Preview{Rejects: []string{be.Error()}}, nil
	default:
		return broker.Preview{}, err
	}
	b.mu.Lock()
	if b.previews == nil {
		b.previews = make(map[string]previewed)
	}
	b.prunePreviews()
	b.previews[req.ClientOrderID] = previewed{orderJSON: orderJSON, result: pv, at: b.clock.Now()}
	b.mu.Unlock()
	p := broker.Preview{PreviewID: strconv.FormatInt(pv.previewIDs[0], 10), Commission: pv.commission, Total: pv.total}
	for _, m := range pv.warnings {
		p.Warnings = append(p.Warnings, m.text())
	}
	return p, nil
}

// refusalKind reports an error that is the broker's verdict on the order,
// not a failure to ask.
func refusalKind(err error) bool {
	return errors.Is(err, errors.ErrOrderRejected) || errors.Is(err, errors.ErrInvalidOrder) ||
		errors.Is(err, errors.ErrInsufficientFunds) || errors.Is(err, errors.ErrMarketClosed)
}

// takePreview returns the caller's recent preview of exactly this order,
// for the first round of a new placement (never for a change, nor after a
// place refused the preview as stale), and forgets it: a preview is placed
// at most once.
func (b *Broker) takePreview(clientOrderID string, orderJSON []byte, round int, changeOf string) (previewResult, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	p, ok := b.previews[clientOrderID]
	delete(b.previews, clientOrderID)
	if !ok || round != 1 || changeOf != "" || !bytes.Equal(p.orderJSON, orderJSON) ||
		b.clock.Now().Sub(p.at) > previewReuse {
		return previewResult{}, false
	}
	return p.result, true
}

// prunePreviews forgets previews too old to be placed on, so that the map
// is bounded by the previews of the last few minutes. Called with mu held.
func (b *Broker) prunePreviews() {
	now := b.clock.Now()
	for id, p := range b.previews {
		if now.Sub(p.at) > previewReuse {
			delete(b.previews, id)
		}
	}
}
