package coinbase

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/coinbase/coinbasetest"
	"github.com/shopspring/decimal"
)

// BenchmarkJWTSign measures one request token: nonce, JSON, base64 and the
// signature.
//
//	go test -run '^$' -bench JWTSign -benchmem ./coinbase/
func BenchmarkJWTSign(b *testing.B) {
	keys := testKeys(b)
	for _, k := range []keyMaterial{keys[0], keys[3]} {
		b.Run(k.alg, func(b *testing.B) {
			s, err := newJWTSigner(Credentials{KeyName: testKeyName, PrivateKey: k.secret}, nil, nil)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.sign("POST", "api.coinbase.com", "/api/v3/brokerage/orders"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkCreateOrder compares a create through the adapter (validation,
// product rules from the cache, httpx pipeline, JWT, decoding) with a bare
// net/http POST of a pre-built body carrying a freshly signed JWT, against
// the same emulator in the same run. The ratio adapter/bare is the adapter's
// overhead; both pay the emulator and the signature.
//
//	go test -run '^$' -bench CreateOrder -benchmem ./coinbase/
func BenchmarkCreateOrder(b *testing.B) {
	// Each side gets a fresh emulator, so neither pays for the other's orders.
	fresh := func(b *testing.B) (*coinbasetest.Server, Credentials) {
		srv := coinbasetest.NewServer(coinbasetest.Config{})
		b.Cleanup(srv.Close)
		srv.SetBalance("USD", decimal.RequireFromString("1000000000000"))
		key, err := coinbasetest.NewES256Key(testKeyName)
		if err != nil {
			b.Fatal(err)
		}
		srv.RegisterKey(key)
		return srv, Credentials{KeyName: key.Name, PrivateKey: key.Secret}
	}
	ctx := context.Background()
	b.Run("adapter", func(b *testing.B) {
		srv, creds := fresh(b)
		br, err := New(Config{Credentials: creds, BaseURL: srv.URL(), HTTPClient: srv.Client(), RequestsPerSecond: 1e9})
		if err != nil {
			b.Fatal(err)
		}
		req := broker.OrderRequest{Instrument: broker.Instrument{Symbol: "BTC-USD", AssetClass: broker.Crypto},
			Side: broker.Buy, Type: broker.Limit, Quantity: decimal.RequireFromString("0.0001"),
			LimitPrice: decimal.RequireFromString("50000"), TimeInForce: broker.GTC}
		if _, err := br.Product(ctx, "BTC-USD"); err != nil { // warm the product cache
			b.Fatal(err)
		}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			i++
			req.ClientOrderID = fmt.Sprintf("adapter%012d", i)
			if _, err := br.PlaceOrder(ctx, req); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("bare", func(b *testing.B) {
		srv, creds := fresh(b)
		signer, err := newJWTSigner(creds, nil, nil)
		if err != nil {
			b.Fatal(err)
		}
		u, _ := url.Parse(srv.URL() + apiPrefix + "/orders")
		client := srv.Client()
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			i++
			body := fmt.Sprintf(`{"client_order_id":"bare%012d","product_id":"BTC-USD","side":"BUY","order_configuration":{"limit_limit_gtc":{"base_size":"0.0001","limit_price":"50000","post_only":false}}}`, i)
			tok, err := signer.sign("POST", u.Host, u.EscapedPath())
			if err != nil {
				b.Fatal(err)
			}
			hreq, _ := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader([]byte(body)))
			hreq.Header.Set("Authorization", "Bearer "+tok)
			hreq.Header.Set("Content-Type", "application/json")
			resp, err := client.Do(hreq)
			if err != nil {
				b.Fatal(err)
			}
			var buf bytes.Buffer
			_, _ = buf.ReadFrom(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || !bytes.Contains(buf.Bytes(), []byte(`"success":true`)) {
				b.Fatalf("bare POST: %d %s", resp.StatusCode, buf.String())
			}
		}
	})
}
