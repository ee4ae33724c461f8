package httpx_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/internal/httpx"
)

// An adapter builds one Client with its limits and error decoder, then sends
// every call through Do.
func Example() {
	broker := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Request-Id", "req-42")
		if r.Method == http.MethodPost {
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"code":"INSUFFICIENT_FUNDS","message":"buying power is 0.00"}`)
			return
		}
		io.WriteString(w, `{"symbol":"AAPL","last":"189.9100"}`)
	}))
	defer broker.Close()

	client, err := httpx.New(httpx.Config{
		Broker:     "examplebroker",
		BaseURL:    broker.URL + "/v1",
		HTTPClient: broker.Client(),
		Buckets: map[string]httpx.Bucket{
			"orders": httpx.RollingWindow(120, time.Minute), // at most 120 per rolling minute
			"reads":  {Rate: 20, Burst: 20},
		},
		DecodeError: func(status int, _ http.Header, body []byte) *errors.BrokerError {
			var wire struct{ Code, Message string }
			if json.Unmarshal(body, &wire) != nil {
				return nil // HTML or empty: classified by status
			}
			be := &errors.BrokerError{Code: wire.Code, Message: wire.Message}
			if wire.Code == "INSUFFICIENT_FUNDS" {
				be.Kind = errors.ErrInsufficientFunds
			}
			return be
		},
	})
	if err != nil {
		panic(err)
	}
	ctx := context.Background()

	resp, err := client.Do(ctx, httpx.Request{Op: "get quote", Path: "/quotes/AAPL", Bucket: "reads", Idempotent: true})
	if err != nil {
		panic(err)
	}
	var quote struct {
		Symbol string
		Last   json.Number
	}
	if err := resp.DecodeJSON(&quote); err != nil {
		panic(err)
	}
	fmt.Println(quote.Symbol, quote.Last)

	_, err = client.Do(ctx, httpx.Request{Op: "place order", Method: http.MethodPost, Path: "/orders",
		Body: []byte(`{"symbol":"AAPL","quantity":"10"}`), Bucket: "orders"})
	fmt.Println(err)
	fmt.Println(errors.Is(err, errors.ErrInsufficientFunds), errors.Retryable(err))
	// Output:
	// AAPL 189.9100
	// examplebroker: place order: 400 INSUFFICIENT_FUNDS: buying power is 0.00 (request id req-42)
	// true false
}
