package httpx_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/internal/httpx"
)

// A write answered with a redirect (never followed) or any status that is
// neither success nor error may have been carried out: a 303 is how a POST
// that created something answers. It must not read as a clear refusal, with
// or without an adapter decoder that calls a non-JSON body "unavailable".
func TestReviewRedirectOnWriteIsOutcomeUnknown(t *testing.T) {
	unavailable := func(int, http.Header, []byte) *errors.BrokerError {
		return &errors.BrokerError{Kind: errors.ErrBrokerUnavailable}
	}
	for _, tt := range []struct {
		name   string
		status int
		decode func(int, http.Header, []byte) *errors.BrokerError
	}{
		{name: "303 see other", status: http.StatusSeeOther},
		{name: "302 found", status: http.StatusFound},
		{name: "307 with unavailable decoder", status: http.StatusTemporaryRedirect, decode: unavailable},
		{name: "308 with unavailable decoder", status: http.StatusPermanentRedirect, decode: unavailable},
		{name: "600 outside the HTTP range", status: 600, decode: unavailable},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := &hits{}
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				h.record(r, nil)
				w.Header().Set("Location", "/v1/orders/123")
				w.WriteHeader(tt.status)
			}))
			defer srv.Close()
			c, _ := newClient(t, srv, func(cfg *httpx.Config) {
				if tt.decode != nil {
					cfg.DecodeError = tt.decode
				}
			})
			_, err := c.Do(context.Background(), httpx.Request{Op: "place order", Method: http.MethodPost,
				Path: "/orders", Body: []byte(`{"qty":"1"}`)})
			if !errors.Is(err, errors.ErrOutcomeUnknown) {
				t.Errorf("err = %v (kind %q), want outcome unknown", err, errors.KindOf(err))
			}
			if h.count() != 1 {
				t.Errorf("sent %d times, want 1", h.count())
			}
		})
	}
}

// A retry of an idempotent create (Coinbase's, keyed by client_order_id)
// given up before it is sent must report the failure of the attempt that
// was sent, which may have placed the order, not the pre-send refusal of the
// retry: a client-side rate limit or an authorization failure alone reads
// as "not placed" to the adapter.
func TestReviewAbandonedRetryKeepsSentAttemptsOutcome(t *testing.T) {
	for _, tt := range []struct {
		name   string
		mutate func(cfg *httpx.Config)
		bucket string
	}{
		{name: "authorize fails on the retry", mutate: func(cfg *httpx.Config) {
			var calls atomic.Int32
			cfg.Authorize = func(context.Context, *http.Request) error {
				if calls.Add(1) > 1 {
					return &errors.BrokerError{Kind: errors.ErrTokenExpired, Message: "log in again"}
				}
				return nil
			}
		}},
		{name: "rate limit slot after the deadline", bucket: "orders", mutate: func(cfg *httpx.Config) {
			cfg.Buckets = map[string]httpx.Bucket{"orders": {Rate: 0.01, Burst: 1}} // next slot in 100 s
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := &hits{}
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				h.record(r, body)
				w.WriteHeader(http.StatusBadGateway)
			}))
			defer srv.Close()
			c, _ := newClient(t, srv, tt.mutate)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			resp, err := c.Do(ctx, httpx.Request{Op: "place order", Method: http.MethodPost, Path: "/orders",
				Body: []byte(`{"client_order_id":"c1"}`), Bucket: tt.bucket, Idempotent: true})
			if h.count() != 1 {
				t.Fatalf("sent %d times, want 1 (the retry must fail before sending)", h.count())
			}
			if !errors.Is(err, errors.ErrBrokerUnavailable) || errors.Is(err, errors.ErrTokenExpired) {
				t.Errorf("err = %v (kind %q), want the sent attempt's broker unavailable", err, errors.KindOf(err))
			}
			if be := brokerError(t, err); be.HTTPStatus != http.StatusBadGateway {
				t.Errorf("HTTPStatus = %d, want 502", be.HTTPStatus)
			}
			if resp == nil || resp.Attempts != 1 || resp.Status != http.StatusBadGateway {
				t.Errorf("resp = %+v, want the 502 answer after 1 attempt", resp)
			}
		})
	}
}
