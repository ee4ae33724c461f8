package httpx_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/internal/httpx"
	"github.com/arbiontrader/arbion/retry"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// dropAfterRead reads the whole request, then closes the connection without
// an answer: the broker may have acted.
func dropAfterRead(h *hits) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h.record(r, body)
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
	}
}

func TestTransportClassification(t *testing.T) {
	// A port that refuses connections: nothing can have been sent.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "http://" + ln.Addr().String()
	ln.Close()

	tests := []struct {
		name         string
		drop         bool // else: connection refused
		method       string
		idempotent   bool
		wantKind     errors.Kind
		wantAlso     errors.Kind
		wantAttempts int
	}{
		{name: "write never sent", method: "POST", wantKind: errors.ErrNetwork},
		{name: "write sent, answer lost", drop: true, method: "POST", wantKind: errors.ErrOutcomeUnknown,
			wantAlso: errors.ErrNetwork, wantAttempts: 1},
		{name: "read sent, answer lost, retried", drop: true, method: "GET", idempotent: true,
			wantKind: errors.ErrNetwork, wantAttempts: retry.DefaultMaxAttempts},
		{name: "idempotent cancel sent, answer lost", drop: true, method: "DELETE", idempotent: true,
			wantKind: errors.ErrNetwork, wantAttempts: retry.DefaultMaxAttempts},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &hits{}
			srv := httptest.NewServer(dropAfterRead(h))
			defer srv.Close()
			c, _ := newClient(t, srv, func(cfg *httpx.Config) {
				if !tt.drop {
					cfg.BaseURL = refused
				}
			})
			_, err := c.Do(context.Background(), httpx.Request{Op: "op", Method: tt.method, Path: "/x",
				Body: []byte(`{"q":"1"}`), Idempotent: tt.idempotent})
			if got := errors.KindOf(err); got != tt.wantKind {
				t.Fatalf("kind = %q, want %q (err %v)", got, tt.wantKind, err)
			}
			if tt.wantAlso != "" && !errors.Is(err, tt.wantAlso) {
				t.Errorf("err %v does not also match %q", err, tt.wantAlso)
			}
			if errors.Retryable(err) != (tt.wantKind != errors.ErrOutcomeUnknown) {
				t.Errorf("Retryable(%v) = %t", err, errors.Retryable(err))
			}
			if h.count() != tt.wantAttempts {
				t.Errorf("server saw %d requests, want %d", h.count(), tt.wantAttempts)
			}
		})
	}
}

func TestDeadlineClassification(t *testing.T) {
	tests := []struct {
		method     string
		idempotent bool
		want       errors.Kind
	}{
		{"GET", true, errors.ErrTimeout},
		{"POST", false, errors.ErrOutcomeUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.method, func(t *testing.T) {
			received := make(chan struct{}, 1)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.ReadAll(r.Body)
				received <- struct{}{}
				<-r.Context().Done() // answer only when the client gives up
			}))
			defer srv.Close()
			c, _ := newClient(t, srv, nil)
			ctx := &deadlineCtx{Context: context.Background(), done: make(chan struct{})}
			go func() { <-received; close(ctx.done) }() // the deadline passes once the server has the request
			_, err := c.Do(ctx, httpx.Request{Op: "op", Method: tt.method, Path: "/x", Body: []byte(`{}`), Idempotent: tt.idempotent})
			if got := errors.KindOf(err); got != tt.want {
				t.Fatalf("kind = %q, want %q (err %v)", got, tt.want, err)
			}
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("err %v does not wrap context.DeadlineExceeded", err)
			}
		})
	}
}

func TestNoIdempotencyKeyAndHeaders(t *testing.T) {
	var got http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Clone()
		w.WriteHeader(http.StatusCreated)
	}))
	defer srv.Close()
	c, _ := newClient(t, srv, func(cfg *httpx.Config) {
		cfg.Authorize = func(_ context.Context, r *http.Request) error {
			r.Header.Set("Authorization", "Bearer tok")
			r.Header.Set("X-Idempotency-Key", "from-auth")
			return nil
		}
	})
	hdr := http.Header{}
	hdr.Set("Idempotency-Key", "abc")
	hdr.Set("X-Custom", "1")
	if _, err := c.Do(context.Background(), httpx.Request{Op: "place order", Method: "POST", Path: "/orders",
		Header: hdr, Body: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"Idempotency-Key", "X-Idempotency-Key"} {
		if v := got.Get(name); v != "" {
			t.Errorf("%s header sent: %q", name, v)
		}
	}
	want := map[string]string{"X-Custom": "1", "Authorization": "Bearer tok", "Content-Type": "application/json", "Accept": "application/json"}
	for k, v := range want {
		if got.Get(k) != v {
			t.Errorf("header %s = %q, want %q", k, got.Get(k), v)
		}
	}
}

func TestAuthorizeErrorKeepsKind(t *testing.T) {
	h := &hits{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.record(r, nil) }))
	defer srv.Close()
	for _, tt := range []struct {
		err  error
		want errors.Kind
	}{
		{&errors.BrokerError{Kind: errors.ErrTokenExpired, Message: "log in again"}, errors.ErrTokenExpired},
		{io.ErrUnexpectedEOF, errors.ErrUnauthenticated},
	} {
		c, _ := newClient(t, srv, func(cfg *httpx.Config) {
			cfg.Authorize = func(context.Context, *http.Request) error { return tt.err }
		})
		_, err := c.Do(context.Background(), httpx.Request{Op: "op", Path: "/x", Idempotent: true})
		if errors.KindOf(err) != tt.want || !errors.Is(err, tt.err) {
			t.Errorf("err = %v, want kind %q wrapping %v", err, tt.want, tt.err)
		}
	}
	if h.count() != 0 {
		t.Errorf("%d requests sent without authorization", h.count())
	}
}

// untracedTransport answers nothing and reports no httptrace events, like a
// custom RoundTripper that does not use net/http's transport.
type untracedTransport struct{}

func (untracedTransport) RoundTrip(*http.Request) (*http.Response, error) {
	return nil, io.ErrUnexpectedEOF
}

func TestUntracedTransportFailsClosed(t *testing.T) {
	c, err := httpx.New(httpx.Config{Broker: "b", BaseURL: "http://127.0.0.1:1", HTTPClient: &http.Client{Transport: untracedTransport{}}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Do(context.Background(), httpx.Request{Op: "place order", Method: "POST", Path: "/o", Body: []byte("{}")})
	if !errors.Is(err, errors.ErrOutcomeUnknown) {
		t.Errorf("err = %v, want outcome unknown: without traces a failed write may have been sent", err)
	}
}

func TestObserverAndLastError(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/bad" {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{}`)
	}))
	defer srv.Close()
	var mu sync.Mutex
	var obs []broker.Observation
	c, _ := newClient(t, srv, func(cfg *httpx.Config) {
		cfg.Observer = func(_ context.Context, o broker.Observation) { mu.Lock(); obs = append(obs, o); mu.Unlock() }
		cfg.Buckets = map[string]httpx.Bucket{"reads": {Rate: 100, Burst: 10}}
	})
	ctx := context.Background()
	if at, err := c.LastFailure(); err != nil || !at.IsZero() {
		t.Errorf("LastError before any failure = %v, %v", err, at)
	}
	c.Do(ctx, httpx.Request{Op: "get order", Path: "/ok", Query: map[string][]string{"token": {"s3cret"}}, Bucket: "reads", Idempotent: true})
	_, badErr := c.Do(ctx, httpx.Request{Op: "get order", Path: "/bad", Idempotent: true})
	want := []broker.Observation{
		{Broker: "testbroker", Op: "get order", Method: "GET", Path: "/ok", Bucket: "reads", Status: 200, Attempts: 1},
		{Broker: "testbroker", Op: "get order", Method: "GET", Path: "/bad", Status: 404, Attempts: 1, Kind: errors.ErrOrderNotFound, Err: badErr},
	}
	if diff := cmp.Diff(want, obs, cmpopts.IgnoreFields(broker.Observation{}, "Latency"), cmpopts.EquateErrors()); diff != "" {
		t.Errorf("observations (-want +got):\n%s", diff)
	}
	if at, err := c.LastFailure(); err != badErr || !at.Equal(epoch) {
		t.Errorf("LastError = %v, %v; want %v, %v", err, at, badErr, epoch)
	}
}

// TestNoSecretsInErrorsOrLogs sends secrets in the Authorization header, a
// query parameter and the body, fails in every way, and checks that no
// error string and no log line carries them.
func TestNoSecretsInErrorsOrLogs(t *testing.T) {
	const (
		bearer = "bearer-SECRET-abc123"
		qtoken = "query-SECRET-xyz789"
		body   = `{"password":"body-SECRET-555"}`
	)
	secrets := []string{bearer, qtoken, "body-SECRET-555", "SECRET"}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	refused := "http://" + ln.Addr().String()
	ln.Close()

	h := &hits{}
	mux := http.NewServeMux()
	mux.HandleFunc("/v1/401", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(401) })
	mux.HandleFunc("/v1/html", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(500)
		io.WriteString(w, "<html>error</html>")
	})
	mux.HandleFunc("/v1/drop", dropAfterRead(h))
	mux.HandleFunc("/v1/ok", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{}`)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	var errs []error
	for _, base := range []string{srv.URL + "/v1", refused} {
		c, _ := newClient(t, srv, func(cfg *httpx.Config) {
			cfg.BaseURL = base
			cfg.Logger = logger
			cfg.Authorize = func(_ context.Context, r *http.Request) error {
				r.Header.Set("Authorization", "Bearer "+bearer)
				return nil
			}
		})
		for _, path := range []string{"/401", "/html", "/drop", "/ok"} {
			for _, idem := range []bool{true, false} {
				_, err := c.Do(context.Background(), httpx.Request{Op: "op", Method: "POST", Path: path,
					Query: map[string][]string{"access_token": {qtoken}, "symbol": {"AAPL"}}, Body: []byte(body), Idempotent: idem})
				if err != nil {
					errs = append(errs, err)
				}
			}
		}
	}
	if len(errs) < 10 {
		t.Fatalf("only %d errors produced; the test must exercise failures", len(errs))
	}
	if !strings.Contains(logs.String(), "httpx request") {
		t.Fatal("nothing logged at debug level")
	}
	for _, err := range errs {
		for _, s := range secrets {
			if strings.Contains(err.Error(), s) {
				t.Errorf("error carries a secret: %v", err)
			}
		}
	}
	for _, s := range secrets {
		if strings.Contains(logs.String(), s) {
			t.Errorf("log output carries secret %q:\n%s", s, logs.String())
		}
	}
	if !strings.Contains(logs.String()+joinErrs(errs), "access_token=REDACTED") {
		t.Errorf("expected a redacted URL in some error; errors: %s", joinErrs(errs))
	}
}

func joinErrs(errs []error) string {
	var b strings.Builder
	for _, err := range errs {
		b.WriteString(err.Error())
		b.WriteByte('\n')
	}
	return b.String()
}

// deadlineCtx is a context whose deadline passes when done is closed, so
// that a test can time it against the server without a real timer.
type deadlineCtx struct {
	context.Context
	done chan struct{}
}

func (c *deadlineCtx) Done() <-chan struct{} { return c.done }

func (c *deadlineCtx) Err() error {
	select {
	case <-c.done:
		return context.DeadlineExceeded
	default:
		return nil
	}
}

// TestAuthorizeTrafficIsNotTheRequest: an Authorize that makes its own HTTP
// call (a token refresh) on the request's context must not make a write
// that was never sent look sent.
func TestAuthorizeTrafficIsNotTheRequest(t *testing.T) {
	tokenEndpoint := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer tokenEndpoint.Close()
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	refused := "http://" + ln.Addr().String()
	ln.Close()
	c, err := httpx.New(httpx.Config{Broker: "b", BaseURL: refused,
		Authorize: func(ctx context.Context, r *http.Request) error {
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, tokenEndpoint.URL, strings.NewReader("grant_type=refresh_token"))
			resp, err := tokenEndpoint.Client().Do(req)
			if err != nil {
				return err
			}
			resp.Body.Close()
			r.Header.Set("Authorization", "Bearer t")
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Do(context.Background(), httpx.Request{Op: "place order", Method: "POST", Path: "/o", Body: []byte("{}")})
	if errors.KindOf(err) != errors.ErrNetwork {
		t.Errorf("err = %v, want a network error (never sent), not outcome unknown", err)
	}
}
