package coinbase

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/arbiontrader/arbion/errors"
	"github.com/shopspring/decimal"
)

// Product is a tradable pair with the rules the adapter applies before
// sending an order.
type Product struct {
	ID              string
	Base, Quote     string
	BaseIncrement   decimal.Decimal // size step
	QuoteIncrement  decimal.Decimal // step of quote_size
	PriceIncrement  decimal.Decimal // tick; quote_increment when the product has none
	BaseMinSize     decimal.Decimal
	BaseMaxSize     decimal.Decimal // zero: no maximum
	QuoteMinSize    decimal.Decimal
	QuoteMaxSize    decimal.Decimal // zero: no maximum
	Price           decimal.Decimal // last price when fetched
	TradingDisabled bool
	CancelOnly      bool
	LimitOnly       bool
	PostOnly        bool
	AliasTo         []string // other ids of the same book (BTC-USD ↔ BTC-USDC)
}

// sameBook reports whether id names this product or one of its aliases
// (Coinbase may echo SOL-USD as SOL-USDC).
func (p Product) sameBook(id string) bool {
	return id == p.ID || slices.Contains(p.AliasTo, id)
}

func productFromWire(w wireProduct) Product {
	p := Product{
		ID: w.ProductID, Base: w.BaseCurrencyID, Quote: w.QuoteCurrencyID,
		BaseIncrement: w.BaseIncrement.Decimal, QuoteIncrement: w.QuoteIncrement.Decimal,
		PriceIncrement: w.PriceIncrement.Decimal,
		BaseMinSize:    w.BaseMinSize.Decimal, BaseMaxSize: w.BaseMaxSize.Decimal,
		QuoteMinSize: w.QuoteMinSize.Decimal, QuoteMaxSize: w.QuoteMaxSize.Decimal,
		Price:           w.Price.Decimal,
		TradingDisabled: w.TradingDisabled || w.IsDisabled || w.ViewOnly,
		CancelOnly:      w.CancelOnly, LimitOnly: w.LimitOnly, PostOnly: w.PostOnly,
		AliasTo: w.AliasTo,
	}
	if !p.PriceIncrement.IsPositive() {
		p.PriceIncrement = p.QuoteIncrement
	}
	if w.Alias != "" && !slices.Contains(p.AliasTo, w.Alias) {
		p.AliasTo = append(slices.Clip(p.AliasTo), w.Alias)
	}
	return p
}

// productCache keeps products for a while: increments rarely change, and
// the flags (trading_disabled, ...) are re-read after TTL. An unknown id is
// remembered too, so that Quotes of an unknown symbol costs one request per
// TTL.
type productCache struct {
	mu      sync.Mutex
	ttl     time.Duration
	entries map[string]productEntry
}

type productEntry struct {
	product Product
	known   bool
	at      time.Time
}

// errUnknownProduct marks a product id Coinbase does not know.
var errUnknownProduct = errors.New("unknown product")

// Product returns the product's rules, from the cache when fresh. An unknown
// product id is an error matching errors.ErrInvalidOrder.
func (b *Broker) Product(ctx context.Context, id string) (Product, error) {
	if id == "" {
		return Product{}, fmt.Errorf("coinbase: product id is empty: %w", errors.ErrInvalidOrder)
	}
	now := b.now()
	b.products.mu.Lock()
	e, ok := b.products.entries[id]
	b.products.mu.Unlock()
	if !ok || now.Sub(e.at) >= b.products.ttl {
		var err error
		if e, err = b.fetchProduct(ctx, id); err != nil {
			return Product{}, err
		}
		e.at = now
		b.products.mu.Lock()
		b.products.entries[id] = e
		b.products.mu.Unlock()
	}
	if !e.known {
		return Product{}, &errors.BrokerError{Broker: brokerName, Op: "get product", Code: "INVALID_ARGUMENT",
			Message: "product " + id + " is not traded", Kind: errors.ErrInvalidOrder, Err: errUnknownProduct}
	}
	return e.product, nil
}

func (b *Broker) fetchProduct(ctx context.Context, id string) (productEntry, error) {
	var w wireProduct
	err := b.get(ctx, "get product", "/products/"+url.PathEscape(id), nil, &w)
	switch {
	case errors.Is(err, errors.ErrInvalidOrder) || errors.Is(err, errors.ErrOrderNotFound):
		// 400 "ProductID is invalid" (fixture) or a 404: not traded.
		return productEntry{known: false}, nil
	case err != nil:
		return productEntry{}, err
	case w.ProductID == "":
		return productEntry{}, malformed("get product", "product without product_id")
	}
	return productEntry{product: productFromWire(w), known: true}, nil
}

// roundDown returns v cut down to a multiple of inc (v itself when inc is
// not positive). Exact: decimal Mod has no rounding.
func roundDown(v, inc decimal.Decimal) decimal.Decimal {
	if !inc.IsPositive() {
		return v
	}
	return v.Sub(v.Mod(inc))
}

// roundUp returns v raised to a multiple of inc.
func roundUp(v, inc decimal.Decimal) decimal.Decimal {
	if !inc.IsPositive() {
		return v
	}
	m := v.Mod(inc)
	if m.IsZero() {
		return v
	}
	return v.Sub(m).Add(inc)
}

// rounder applies one product's increments with the configured tolerance.
type rounder struct {
	p         Product
	tolerance decimal.Decimal // largest relative change accepted
	req       string          // client order id, for errors
}

func (r rounder) refuse(format string, args ...any) error {
	return &errors.OrderError{Op: "place", ClientOrderID: r.req, Symbol: r.p.ID,
		Reason: fmt.Sprintf(format, args...), Kind: errors.ErrInvalidOrder}
}

// accept checks that rounding v to got is not a material change.
func (r rounder) accept(field string, v, got decimal.Decimal) error {
	if got.Equal(v) {
		return nil
	}
	if !got.IsPositive() {
		return r.refuse("%s %s rounds to zero on the product's increment", field, v)
	}
	change := v.Sub(got).Abs().Div(v)
	if change.GreaterThan(r.tolerance) {
		return r.refuse("%s %s is off the product's increment; the nearest safe value %s changes it by more than %s",
			field, v, got, r.tolerance)
	}
	return nil
}

// size rounds a base size down to base_increment and checks the limits.
func (r rounder) size(v decimal.Decimal) (decimal.Decimal, error) {
	got := roundDown(v, r.p.BaseIncrement)
	if err := r.accept("quantity", v, got); err != nil {
		return decimal.Zero, err
	}
	switch {
	case got.LessThan(r.p.BaseMinSize):
		return decimal.Zero, r.refuse("quantity %s is below the minimum %s", got, r.p.BaseMinSize)
	case r.p.BaseMaxSize.IsPositive() && got.GreaterThan(r.p.BaseMaxSize):
		return decimal.Zero, r.refuse("quantity %s is above the maximum %s", got, r.p.BaseMaxSize)
	}
	return got, nil
}

// quoteSize rounds a quote amount down to quote_increment.
func (r rounder) quoteSize(v decimal.Decimal) (decimal.Decimal, error) {
	got := roundDown(v, r.p.QuoteIncrement)
	if err := r.accept("quote size", v, got); err != nil {
		return decimal.Zero, err
	}
	switch {
	case got.LessThan(r.p.QuoteMinSize):
		return decimal.Zero, r.refuse("quote size %s is below the minimum %s", got, r.p.QuoteMinSize)
	case r.p.QuoteMaxSize.IsPositive() && got.GreaterThan(r.p.QuoteMaxSize):
		return decimal.Zero, r.refuse("quote size %s is above the maximum %s", got, r.p.QuoteMaxSize)
	}
	return got, nil
}

// price rounds a price to the tick: down when down is true (a buy limit pays
// no more than asked), up otherwise (a sell limit gets no less).
func (r rounder) price(field string, v decimal.Decimal, down bool) (decimal.Decimal, error) {
	got := roundUp(v, r.p.PriceIncrement)
	if down {
		got = roundDown(v, r.p.PriceIncrement)
	}
	return got, r.accept(field, v, got)
}
