package httpx_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/arbiontrader/arbion/clock/clocktest"
	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/internal/httpx"
	"golang.org/x/time/rate"
)

// maxInWindow returns the largest number of times that fall in one closed
// window [t, t+window], over all windows (times sorted).
func maxInWindow(times []time.Time, window time.Duration) int {
	best, j := 0, 0
	for i := range times {
		for j < len(times) && !times[j].After(times[i].Add(window)) {
			j++
		}
		best = max(best, j-i)
	}
	return best
}

// sendOrders sends n order requests one after the other through bucket and
// returns the server's receive times on the fake clock.
func sendOrders(t *testing.T, n int, bucket httpx.Bucket) []time.Time {
	t.Helper()
	clock := clocktest.NewAuto(epoch)
	h := &hits{clock: clock}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.record(r, nil)
		w.WriteHeader(http.StatusCreated)
	}))
	defer srv.Close()
	c, _ := newClient(t, srv, func(cfg *httpx.Config) {
		cfg.Clock = clock
		cfg.Buckets = map[string]httpx.Bucket{"orders": bucket}
	})
	for i := range n {
		req := httpx.Request{Op: "place order", Method: "POST", Path: "/orders", Body: []byte(`{}`), Bucket: "orders"}
		if _, err := c.Do(context.Background(), req); err != nil {
			t.Fatalf("order %d: %v", i, err)
		}
	}
	return h.times
}

func TestRollingMinuteLimit(t *testing.T) {
	times := sendOrders(t, 500, httpx.RollingWindow(120, time.Minute))
	if len(times) != 500 {
		t.Fatalf("server saw %d orders, want 500", len(times))
	}
	if got := maxInWindow(times, time.Minute); got > 120 {
		t.Errorf("%d orders in one rolling minute, want at most 120", got)
	}
	// The allowance is used in full: 120 at once, then 120 a minute, so
	// 500 orders span four minutes, not 499 paced gaps (4m11s).
	span := times[len(times)-1].Sub(times[0])
	if want := 4 * time.Minute; span > want+time.Second {
		t.Errorf("500 orders took %v, want about %v", span, want)
	}
	if burst := times[119].Sub(times[0]); burst != 0 {
		t.Errorf("the first 120 orders of a fresh client took %v, want no wait", burst)
	}
}

// TestWindowSharedAndGivenBack: two clients on one Window share its
// allowance, a refused wait gives its slot back, and Headroom counts what
// is left.
func TestWindowSharedAndGivenBack(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	clock := clocktest.New(epoch)
	shared := httpx.Bucket{Window: httpx.NewWindow(3, time.Minute)}
	newC := func() *httpx.Client {
		c, _ := newClient(t, srv, func(cfg *httpx.Config) {
			cfg.Clock = clock
			cfg.Buckets = map[string]httpx.Bucket{"reads": shared}
		})
		return c
	}
	a, b := newC(), newC()
	req := httpx.Request{Op: "get quote", Path: "/q", Bucket: "reads", Idempotent: true}
	for i, c := range []*httpx.Client{a, b, a} {
		if _, err := c.Do(context.Background(), req); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	if got := b.Headroom()["reads"]; got != 0 {
		t.Errorf("headroom after 3 of 3 = %d, want 0", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond) // the next slot is a minute away
	defer cancel()
	if _, err := b.Do(ctx, req); !errors.Is(err, errors.ErrRateLimited) {
		t.Fatalf("fourth request in the minute: %v, want ErrRateLimited", err)
	}
	clock.Advance(time.Minute + time.Nanosecond)
	if got := a.Headroom()["reads"]; got != 3 {
		t.Errorf("headroom a minute later = %d, want 3 (the refused slot given back)", got)
	}
}

// TestRollingMinuteCheckCanFail shows that the window count catches the
// naive bucket (120 per minute as a rate): it lets 121 orders into a closed
// minute.
func TestRollingMinuteCheckCanFail(t *testing.T) {
	times := sendOrders(t, 200, httpx.Bucket{Rate: rate.Limit(120.0 / 60), Burst: 1})
	if got := maxInWindow(times, time.Minute); got <= 120 {
		t.Errorf("naive bucket: %d orders in one minute, expected the check to see 121", got)
	}
}

func TestRateLimitFailsFastPastDeadline(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{}`)
	}))
	defer srv.Close()
	clock := clocktest.New(epoch) // manual: a wait would block the test
	c, _ := newClient(t, srv, func(cfg *httpx.Config) {
		cfg.Clock = clock
		cfg.Buckets = map[string]httpx.Bucket{"reads": {Rate: 1, Burst: 1}}
	})
	req := httpx.Request{Op: "get quote", Path: "/q", Bucket: "reads", Idempotent: true}
	if _, err := c.Do(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	if got := c.Headroom()["reads"]; got != 0 {
		t.Errorf("headroom after one request = %d, want 0", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond) // the next slot is 1s away
	defer cancel()
	_, err := c.Do(ctx, req)
	if !errors.Is(err, errors.ErrRateLimited) {
		t.Fatalf("err = %v, want rate limited", err)
	}
	if d, ok := errors.RetryAfter(err); !ok || d != time.Second {
		t.Errorf("RetryAfter = %v, %t; want 1s", d, ok)
	}
	if clock.Waiters() != 0 {
		t.Errorf("a timer is still waiting")
	}
	// The reservation was given back: one second later one token is free.
	clock.Advance(time.Second)
	if got := c.Headroom()["reads"]; got != 1 {
		t.Errorf("headroom after 1s = %d, want 1 (reservation cancelled)", got)
	}
}

func TestRateLimitWaitHonoursContext(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	clock := clocktest.New(epoch)
	c, _ := newClient(t, srv, func(cfg *httpx.Config) {
		cfg.Clock = clock
		cfg.Buckets = map[string]httpx.Bucket{"orders": httpx.RollingWindow(1, time.Minute)}
	})
	req := httpx.Request{Op: "cancel order", Method: "DELETE", Path: "/o/1", Bucket: "orders", Idempotent: true}
	if _, err := c.Do(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { _, err := c.Do(ctx, req); done <- err }()
	for clock.Waiters() == 0 {
		select {
		case err := <-done:
			t.Fatalf("Do returned without waiting: %v", err)
		default:
		}
		waitABit()
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want one wrapping context.Canceled", err)
	}
}

func TestUnknownBucketIsConfigurationError(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	c, _ := newClient(t, srv, nil)
	_, err := c.Do(context.Background(), httpx.Request{Op: "op", Path: "/x", Bucket: "nope"})
	if !errors.Is(err, errors.ErrConfiguration) {
		t.Errorf("err = %v, want configuration error", err)
	}
}
