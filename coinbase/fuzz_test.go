package coinbase

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/arbiontrader/arbion/broker"
	"github.com/shopspring/decimal"
)

// decodeLikeHTTPX decodes as httpx.Response.DecodeJSON does.
func decodeLikeHTTPX(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	return dec.Decode(v)
}

func seed(f *testing.F, names ...string) {
	for _, n := range names {
		f.Add(fixture(f, n))
	}
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"order":{"order_id":"x","status":"???","filled_size":"1e400","order_configuration":{"a":{},"b":{}}}}`))
}

func FuzzDecodeOrder(f *testing.F) {
	seed(f, "get_order_filled_limit.json", "get_order_open_limit.json")
	f.Fuzz(func(t *testing.T, b []byte) {
		var w wireGetOrder
		if decodeLikeHTTPX(b, &w) != nil || w.Order == nil {
			return
		}
		o, _ := orderFromWire(*w.Order)
		if !o.Status.Valid() || o.RawStatus != w.Order.Status {
			t.Fatalf("status %v from %q", o.Status, w.Order.Status)
		}
		_ = attachFills(&o, nil)
	})
}

func FuzzDecodeOrdersPage(f *testing.F) {
	seed(f, "list_orders_filled_market_quote_sized.json")
	f.Fuzz(func(t *testing.T, b []byte) {
		var w wireOrdersPage
		if decodeLikeHTTPX(b, &w) != nil {
			return
		}
		for _, o := range w.Orders {
			if got, _ := orderFromWire(o); got.Status == broker.StatusUnknown && mapStatus(o.Status, got.FilledQuantity, false) != broker.StatusUnknown {
				t.Fatal("inconsistent status mapping")
			}
		}
	})
}

func FuzzDecodeFills(f *testing.F) {
	seed(f, "list_fills_page.json", "list_fills_quote_sized.json")
	f.Fuzz(func(t *testing.T, b []byte) {
		var w wireFillsPage
		if decodeLikeHTTPX(b, &w) != nil {
			return
		}
		execs := make([]Execution, 0, len(w.Fills))
		for _, fl := range w.Fills {
			e := executionFromWire(fl)
			if fl.SizeInQuote && fl.Price.IsPositive() && e.Quantity.Equal(fl.Size.Decimal) && !fl.Size.IsZero() && !fl.Price.Equal(decimal.NewFromInt(1)) {
				t.Fatalf("quote-sized fill not converted: size %s price %s", fl.Size, fl.Price)
			}
			execs = append(execs, e)
		}
		o := broker.Order{}
		_ = attachFills(&o, execs)
	})
}

func FuzzDecodeCreateResponse(f *testing.F) {
	seed(f, "create_order_success.json", "create_order_success_legacy_fields.json",
		"create_order_failure_insufficient_fund.json", "create_order_failure_unsupported_configuration.json")
	f.Fuzz(func(t *testing.T, b []byte) {
		var w wireCreateResponse
		if decodeLikeHTTPX(b, &w) != nil {
			return
		}
		code, _ := createFailure(w.ErrorResponse)
		if code == "" || failureKind(code) == "" {
			t.Fatalf("failure %q has no kind", code)
		}
	})
}

func FuzzDecodeError(f *testing.F) {
	f.Add(401, []byte("Unauthorized"))
	f.Add(429, []byte("<html>\n  <head>\n    <title>Coinbase</title>"))
	f.Add(400, []byte(`{"error":"INVALID_ARGUMENT","error_details":"ProductID is invalid","message":"ProductID is invalid"}`))
	f.Add(404, []byte(`{"errors":[{"id":"not_found","message":"x"}]}`))
	f.Add(400, []byte(`{"code":3,"message":"bad","details":[]}`))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		be := decodeError(status, nil, body)
		if be == nil || be.Broker != brokerName || len(be.Message) > 400 {
			t.Fatalf("decodeError(%d) = %+v", status, be)
		}
		if status == 401 && be.Kind == "" || status == 429 && be.Kind == "" {
			t.Fatal("401/429 not classified")
		}
	})
}

func FuzzParsePrivateKey(f *testing.F) {
	for _, k := range testKeys(f) {
		f.Add(k.secret)
	}
	f.Add("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")
	f.Add("c2VjcmV0")
	f.Fuzz(func(t *testing.T, secret string) {
		_, err := parsePrivateKey(secret)
		if err != nil && len(secret) >= 12 && strings.Contains(err.Error(), secret) {
			t.Fatalf("error quotes the secret: %v", err)
		}
	})
}
