package httpx_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/arbiontrader/arbion/clock"
	"github.com/arbiontrader/arbion/clock/clocktest"
	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/internal/httpx"
	"github.com/arbiontrader/arbion/retry"
	"github.com/google/go-cmp/cmp"
)

// flakyServer answers 503 (with retryAfter, if set) to the first failures
// requests, then 200 with a JSON body; it records every request body.
func flakyServer(t *testing.T, h *hits, failures int, status int, retryAfter func() string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		n := h.record(r, body)
		if n <= failures {
			if retryAfter != nil {
				w.Header().Set("Retry-After", retryAfter())
			}
			w.WriteHeader(status)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"ok":true}`)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestRetryOnlyIdempotent(t *testing.T) {
	tests := []struct {
		name         string
		method       string
		idempotent   bool
		status       int
		wantAttempts int
		wantKind     errors.Kind
	}{
		{name: "GET retried through two 503s", method: "GET", idempotent: true, status: 503, wantAttempts: 3},
		{name: "idempotent DELETE retried through 502s", method: "DELETE", idempotent: true, status: 502, wantAttempts: 3},
		{name: "idempotent GET retried through 429s", method: "GET", idempotent: true, status: 429, wantAttempts: 3},
		{name: "POST not retried on 503", method: "POST", status: 503, wantAttempts: 1, wantKind: errors.ErrOutcomeUnknown},
		{name: "POST not retried on 500", method: "POST", status: 500, wantAttempts: 1, wantKind: errors.ErrOutcomeUnknown},
		{name: "POST not retried on 429", method: "POST", status: 429, wantAttempts: 1, wantKind: errors.ErrRateLimited},
		{name: "GET not retried on 400", method: "GET", idempotent: true, status: 400, wantAttempts: 1, wantKind: errors.ErrInvalidOrder},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &hits{}
			srv := flakyServer(t, h, 2, tt.status, nil)
			c, _ := newClient(t, srv, nil)
			body := []byte(`{"symbol":"AAPL","qty":"10"}`)
			resp, err := c.Do(context.Background(), httpx.Request{Op: "op", Method: tt.method, Path: "/x", Body: body, Idempotent: tt.idempotent})
			if got := errors.KindOf(err); got != tt.wantKind {
				t.Fatalf("kind = %q, want %q (err %v)", got, tt.wantKind, err)
			}
			if h.count() != tt.wantAttempts {
				t.Errorf("server saw %d requests, want %d", h.count(), tt.wantAttempts)
			}
			if err == nil && resp.Attempts != tt.wantAttempts {
				t.Errorf("resp.Attempts = %d, want %d", resp.Attempts, tt.wantAttempts)
			}
			for i, b := range h.body { // the body is rebuilt for every attempt
				if string(b) != string(body) {
					t.Errorf("attempt %d body = %q, want %q", i+1, b, body)
				}
			}
		})
	}
}

func TestRetryAfterHonoured(t *testing.T) {
	tests := []struct {
		name       string
		retryAfter func(now time.Time) string
		want       time.Duration
	}{
		{name: "seconds", retryAfter: func(time.Time) string { return "3" }, want: 3 * time.Second},
		{name: "http-date", retryAfter: func(now time.Time) string {
			return now.Add(5 * time.Second).UTC().Format(http.TimeFormat)
		}, want: 5 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := clocktest.NewAuto(epoch)
			h := &hits{clock: clock}
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if h.record(r, nil) == 1 {
					w.Header().Set("Retry-After", tt.retryAfter(clock.Now()))
					w.WriteHeader(http.StatusTooManyRequests)
					return
				}
				w.Header().Set("Content-Type", "application/json")
				io.WriteString(w, `{}`)
			}))
			defer srv.Close()
			c, _ := newClient(t, srv, func(cfg *httpx.Config) { cfg.Clock = clock })
			if _, err := c.Do(context.Background(), httpx.Request{Op: "op", Path: "/x", Idempotent: true}); err != nil {
				t.Fatal(err)
			}
			if len(h.times) != 2 {
				t.Fatalf("server saw %d requests, want 2", len(h.times))
			}
			// The backoff alone would wait at most 300ms (200ms ± 50%).
			if gap := h.times[1].Sub(h.times[0]); gap != tt.want {
				t.Errorf("second attempt %v after the first, want exactly the Retry-After %v", gap, tt.want)
			}
		})
	}
}

func TestRetryAfterBeyondMaxElapsedIsReturned(t *testing.T) {
	h := &hits{}
	srv := flakyServer(t, h, 1, 503, func() string { return "60" })
	c, _ := newClient(t, srv, nil) // MaxElapsedTime defaults to 10s
	_, err := c.Do(context.Background(), httpx.Request{Op: "op", Path: "/x", Idempotent: true})
	if !errors.Is(err, errors.ErrBrokerUnavailable) {
		t.Fatalf("err = %v, want broker unavailable", err)
	}
	if h.count() != 1 {
		t.Errorf("server saw %d requests, want 1 (a 60s hint is past the 10s budget)", h.count())
	}
	if d, ok := errors.RetryAfter(err); !ok || d != time.Minute {
		t.Errorf("RetryAfter(err) = %v, %t; want 1m, true", d, ok)
	}
}

func TestRetryBudgetExhaustion(t *testing.T) {
	h := &hits{}
	srv := flakyServer(t, h, 1<<30, 503, nil) // always down
	budget := retry.NewBudget(2 * retry.RetryCost)
	c, _ := newClient(t, srv, func(cfg *httpx.Config) {
		cfg.Retry.Budget = budget
		cfg.Retry.MaxAttempts = 10
	})
	req := httpx.Request{Op: "op", Path: "/x", Idempotent: true}
	var attempts []int
	for range 3 {
		before := h.count()
		_, err := c.Do(context.Background(), req)
		if !errors.Is(err, errors.ErrBrokerUnavailable) {
			t.Fatalf("err = %v", err)
		}
		attempts = append(attempts, h.count()-before)
	}
	// Two retries fit in the budget; after that each request is sent once.
	if diff := cmp.Diff([]int{3, 1, 1}, attempts); diff != "" {
		t.Errorf("attempts per request (-want +got):\n%s", diff)
	}
	if budget.Available() != 0 {
		t.Errorf("budget left = %d, want 0", budget.Available())
	}

	// Successes refill the budget: one token each.
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{}`)
	}))
	defer up.Close()
	c, _ = newClient(t, up, func(cfg *httpx.Config) { cfg.Retry.Budget = budget })
	for range retry.RetryCost {
		if _, err := c.Do(context.Background(), req); err != nil {
			t.Fatal(err)
		}
	}
	if got := budget.Available(); got != retry.RetryCost {
		t.Errorf("budget after %d successes = %d, want %d", retry.RetryCost, got, retry.RetryCost)
	}
}

func TestRetryStopsAtMaxAttempts(t *testing.T) {
	h := &hits{}
	srv := flakyServer(t, h, 1<<30, 503, nil)
	c, _ := newClient(t, srv, nil)
	_, err := c.Do(context.Background(), httpx.Request{Op: "op", Path: "/x", Idempotent: true})
	if !errors.Is(err, errors.ErrBrokerUnavailable) {
		t.Fatalf("err = %v", err)
	}
	if h.count() != retry.DefaultMaxAttempts {
		t.Errorf("server saw %d requests, want %d", h.count(), retry.DefaultMaxAttempts)
	}
}

func TestRetryWaitEndsWithContext(t *testing.T) {
	h := &hits{}
	srv := flakyServer(t, h, 1<<30, 503, nil)
	ctx, cancel := context.WithCancel(context.Background())
	clock := waitingClock{waiting: make(chan struct{}, 1)}
	c, err := httpx.New(httpx.Config{Broker: "testbroker", BaseURL: srv.URL, HTTPClient: srv.Client(), Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := c.Do(ctx, httpx.Request{Op: "op", Path: "/x", Idempotent: true})
		done <- err
	}()
	<-clock.waiting // Do is sleeping before its second attempt
	cancel()
	err = <-done
	if !errors.Is(err, errors.ErrBrokerUnavailable) || h.count() != 1 {
		t.Errorf("err = %v after %d attempts; want the 503 after 1 attempt", err, h.count())
	}
}

// waitingClock's timers never fire; creating one signals waiting.
type waitingClock struct{ waiting chan struct{} }

func (waitingClock) Now() time.Time { return epoch }
func (c waitingClock) NewTimer(time.Duration) clock.Timer {
	c.waiting <- struct{}{}
	return blockedTimer{}
}

type blockedTimer struct{}

func (blockedTimer) C() <-chan time.Time { return nil }
func (blockedTimer) Stop() bool          { return true }
