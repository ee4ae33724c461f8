package coinbase

import (
	"bytes"
	"context"
	"net/http"
	"testing"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/coinbase/coinbasetest"
	"github.com/arbiontrader/arbion/internal/floor"
	"github.com/shopspring/decimal"
)

// BenchmarkFloor measures PlaceOrder and GetOrder against the same requests
// sent bare, each with a freshly signed ES256 JWT (Coinbase's mandatory
// per-request signature), interleaved in one loop.
//
//	go test -run '^$' -bench Floor ./coinbase/
func BenchmarkFloor(b *testing.B) {
	ctx := context.Background()
	setup := func(b *testing.B) (*Broker, *floor.Recorder, *coinbasetest.Server, func(*http.Request)) {
		srv := coinbasetest.NewServer(coinbasetest.Config{})
		b.Cleanup(srv.Close)
		srv.SetBalance("USD", decimal.RequireFromString("1000000000000"))
		key, err := coinbasetest.NewES256Key(testKeyName)
		if err != nil {
			b.Fatal(err)
		}
		srv.RegisterKey(key)
		creds := Credentials{KeyName: key.Name, PrivateKey: key.Secret}
		rec := &floor.Recorder{Base: srv.Client().Transport}
		br, err := New(Config{Credentials: creds, BaseURL: srv.URL(), HTTPClient: &http.Client{Transport: rec},
			RequestsPerSecond: 1e9})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := br.Product(ctx, "BTC-USD"); err != nil { // warm the product cache
			b.Fatal(err)
		}
		signer, err := newJWTSigner(creds, nil, nil)
		if err != nil {
			b.Fatal(err)
		}
		sign := func(req *http.Request) {
			tok, err := signer.sign(req.Method, req.URL.Host, req.URL.EscapedPath())
			if err != nil {
				b.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		return br, rec, srv, sign
	}
	order := func() broker.OrderRequest {
		return broker.OrderRequest{ClientOrderID: broker.NewClientOrderID(),
			Instrument: broker.Instrument{Symbol: "BTC-USD", AssetClass: broker.Crypto},
			Side:       broker.Buy, Type: broker.Limit, Quantity: decimal.RequireFromString("0.0001"),
			LimitPrice: decimal.RequireFromString("50000"), TimeInForce: broker.GTC}
	}
	b.Run("place", func(b *testing.B) {
		br, rec, srv, sign := setup(b)
		sent := rec.Record(func() {
			if _, err := br.PlaceOrder(ctx, order()); err != nil {
				b.Fatal(err)
			}
		})
		// Replaying the same client_order_id would be answered from
		// Coinbase's dedup; each floor request gets its own id instead,
		// in a body of the same length.
		floor.Interleave(b, func() {
			if _, err := br.PlaceOrder(ctx, order()); err != nil {
				b.Fatal(err)
			}
		}, func() {
			fresh := rewriteClientOrderID(b, sent)
			floor.Replay(b, srv.Client(), fresh, sign)
		})
	})
	b.Run("get", func(b *testing.B) {
		br, rec, srv, sign := setup(b)
		ack, err := br.PlaceOrder(ctx, order())
		if err != nil {
			b.Fatal(err)
		}
		sent := rec.Record(func() {
			if _, err := br.GetOrder(ctx, ack.OrderID); err != nil {
				b.Fatal(err)
			}
		})
		floor.Interleave(b, func() {
			if _, err := br.GetOrder(ctx, ack.OrderID); err != nil {
				b.Fatal(err)
			}
		}, func() { floor.Replay(b, srv.Client(), sent, sign) })
	})
}

// rewriteClientOrderID returns reqs with each body's client order id
// replaced by a new one of the same length.
func rewriteClientOrderID(b *testing.B, reqs []floor.Request) []floor.Request {
	out := make([]floor.Request, len(reqs))
	for i, r := range reqs {
		out[i] = r
		if r.Body == nil {
			continue
		}
		body := bytes.Clone(r.Body)
		const key = `"client_order_id":"`
		at := bytes.Index(body, []byte(key))
		if at < 0 {
			b.Fatalf("no client_order_id in %s", body)
		}
		id := broker.NewClientOrderID()
		copy(body[at+len(key):], id)
		out[i].Body = body
	}
	return out
}
