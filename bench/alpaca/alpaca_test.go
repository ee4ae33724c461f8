package alpaca

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	alpaca "github.com/alpacahq/alpaca-trade-api-go/v3/alpaca"
	"github.com/arbiontrader/arbion/internal/floor"
	"github.com/shopspring/decimal"
)

// orderJSON is an order as Alpaca's docs show one (GET /v2/orders/{id}).
const orderJSON = `{"id":"61e69015-8549-4bfd-b9c3-01e75843f47d","client_order_id":"eb9e2aaa-f71a-4f51-b5b4-52a6c565dad4",` +
	`"created_at":"2021-03-16T18:38:01.942282Z","updated_at":"2021-03-16T18:38:01.942282Z",` +
	`"submitted_at":"2021-03-16T18:38:01.937734Z","filled_at":null,"expired_at":null,"canceled_at":null,` +
	`"failed_at":null,"replaced_at":null,"replaced_by":null,"replaces":null,` +
	`"asset_id":"b0b6dd9d-8b9b-48a9-ba46-b9d54906e415","symbol":"AAPL","asset_class":"us_equity",` +
	`"notional":null,"qty":"1","filled_qty":"0","filled_avg_price":null,"order_class":"","order_type":"limit",` +
	`"type":"limit","side":"buy","time_in_force":"day","limit_price":"10.00","stop_price":null,"status":"accepted",` +
	`"extended_hours":false,"legs":null,"trail_percent":null,"trail_price":null,"hwm":null}`

// server answers Alpaca's order endpoints with the documented order,
// checking the key headers as Alpaca does.
func server(tb testing.TB) *httptest.Server {
	srv := newServer()
	tb.Cleanup(srv.Close)
	return srv
}

// newServer is server without a test to close it.
func newServer() *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("APCA-API-KEY-ID") != "key" || r.Header.Get("APCA-API-SECRET-KEY") != "secret" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.Method == http.MethodPost && r.URL.Path == "/v2/orders":
			w.WriteHeader(http.StatusOK)
		case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/v2/orders/"):
		default:
			w.WriteHeader(http.StatusNotFound)
			return
		}
		_, _ = io.WriteString(w, orderJSON)
	}))
}

// bare sends method url with body and Alpaca's headers through client, and
// reads the whole answer: the floor a client cannot go below.
func bare(tb testing.TB, client *http.Client, method, url string, body []byte) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("APCA-API-KEY-ID", "key")
	req.Header.Set("APCA-API-SECRET-KEY", "secret")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := client.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		tb.Fatalf("bare %s: %d", method, resp.StatusCode)
	}
}

func newClient(srv *httptest.Server) *alpaca.Client {
	return alpaca.NewClient(alpaca.ClientOpts{APIKey: "key", APISecret: "secret", BaseURL: srv.URL,
		HTTPClient: srv.Client(), RetryLimit: 1})
}

func BenchmarkPlaceOrder(b *testing.B) {
	srv := server(b)
	c := newClient(srv)
	qty, px := decimal.NewFromInt(1), decimal.RequireFromString("10.00")
	req := alpaca.PlaceOrderRequest{Symbol: "AAPL", Qty: &qty, Side: alpaca.Buy, Type: alpaca.Limit,
		TimeInForce: alpaca.Day, LimitPrice: &px, ClientOrderID: "eb9e2aaa-f71a-4f51-b5b4-52a6c565dad4"}
	// The floor sends the bytes the client sends: capture them once.
	var sent []byte
	capture := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sent, _ = io.ReadAll(r.Body)
		_, _ = io.WriteString(w, orderJSON)
	}))
	defer capture.Close()
	if _, err := alpaca.NewClient(alpaca.ClientOpts{APIKey: "key", APISecret: "secret", BaseURL: capture.URL}).PlaceOrder(req); err != nil {
		b.Fatal(err)
	}
	url := srv.URL + "/v2/orders"
	floor.Interleave(b, func() {
		if _, err := c.PlaceOrder(req); err != nil {
			b.Fatal(err)
		}
	}, func() { bare(b, srv.Client(), http.MethodPost, url, sent) })
}

func BenchmarkGetOrder(b *testing.B) {
	srv := server(b)
	c := newClient(srv)
	const id = "61e69015-8549-4bfd-b9c3-01e75843f47d"
	url := srv.URL + "/v2/orders/" + id
	floor.Interleave(b, func() {
		if _, err := c.GetOrder(id); err != nil {
			b.Fatal(err)
		}
	}, func() { bare(b, srv.Client(), http.MethodGet, url, nil) })
}
