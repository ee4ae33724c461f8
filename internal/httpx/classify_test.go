package httpx_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/internal/httpx"
	"github.com/google/go-cmp/cmp"
)

func TestStatusClassification(t *testing.T) {
	type want struct {
		Kind       errors.Kind
		Also       errors.Kind // a second kind the error must match, if any
		Status     int
		Code       string
		RequestID  string
		RetryAfter time.Duration
	}
	tests := []struct {
		name        string
		status      int
		contentType string
		body        string
		header      map[string]string
		idempotent  bool
		want        want
	}{
		{name: "400 decoded with code", status: 400, contentType: "application/json",
			body: `{"code":"INSUFFICIENT_FUNDS","message":"not enough buying power"}`, idempotent: false,
			header: map[string]string{"X-Request-Id": "req-1"},
			want:   want{Kind: errors.ErrInsufficientFunds, Status: 400, Code: "INSUFFICIENT_FUNDS", RequestID: "req-1"}},
		{name: "400 unknown code falls back to invalid order", status: 400, contentType: "application/json",
			body: `{"code":"PRICE_INCREMENT","message":"bad tick"}`,
			want: want{Kind: errors.ErrInvalidOrder, Status: 400, Code: "PRICE_INCREMENT"}},
		{name: "401 decoded token expired", status: 401, contentType: "application/json",
			body: `{"code":"TOKEN_EXPIRED","message":"access token expired"}`, idempotent: true,
			want: want{Kind: errors.ErrTokenExpired, Status: 401, Code: "TOKEN_EXPIRED"}},
		{name: "401 empty body", status: 401, idempotent: true,
			want: want{Kind: errors.ErrUnauthenticated, Status: 401}},
		{name: "403 html", status: 403, contentType: "text/html", body: "<html><body>Forbidden</body></html>", idempotent: true,
			want: want{Kind: errors.ErrPermissionDenied, Status: 403}},
		{name: "404 empty", status: 404, idempotent: true,
			want: want{Kind: errors.ErrOrderNotFound, Status: 404}},
		{name: "429 retry-after seconds", status: 429, header: map[string]string{"Retry-After": "7"},
			want: want{Kind: errors.ErrRateLimited, Status: 429, RetryAfter: 7 * time.Second}},
		{name: "429 retry-after http-date", status: 429,
			header: map[string]string{"Retry-After": epoch.Add(90 * time.Second).Format(http.TimeFormat)},
			want:   want{Kind: errors.ErrRateLimited, Status: 429, RetryAfter: 90 * time.Second}},
		{name: "502 html page, read", status: 502, contentType: "text/html",
			body: "<html><head><title>502 Bad Gateway</title></head></html>", idempotent: true,
			header: map[string]string{"Schwab-Client-CorrelId": "corr-9"},
			want:   want{Kind: errors.ErrBrokerUnavailable, Status: 502, RequestID: "corr-9"}},
		{name: "502 html page, write: outcome unknown", status: 502, contentType: "text/html",
			body: "<html>Bad Gateway</html>",
			want: want{Kind: errors.ErrOutcomeUnknown, Also: errors.ErrBrokerUnavailable, Status: 502}},
		{name: "500 empty, write: outcome unknown", status: 500,
			want: want{Kind: errors.ErrOutcomeUnknown, Also: errors.ErrBrokerUnavailable, Status: 500}},
		{name: "503 write: a gateway's 503 may follow work, outcome unknown", status: 503, header: map[string]string{"Retry-After": "2"},
			want: want{Kind: errors.ErrOutcomeUnknown, Also: errors.ErrBrokerUnavailable, Status: 503, RetryAfter: 2 * time.Second}},
		{name: "500 decoded definite rejection, write", status: 500, contentType: "application/json",
			body: `{"code":"INSUFFICIENT_FUNDS","message":"no"}`,
			want: want{Kind: errors.ErrInsufficientFunds, Status: 500, Code: "INSUFFICIENT_FUNDS"}},
		{name: "405", status: 405, idempotent: true, want: want{Kind: errors.ErrNotSupported, Status: 405}},
		{name: "302 not followed", status: 302, idempotent: true, header: map[string]string{"Location": "/elsewhere"},
			want: want{Kind: errors.ErrMalformedResponse, Status: 302}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				for k, v := range tt.header {
					w.Header().Set(k, v)
				}
				if tt.contentType != "" {
					w.Header().Set("Content-Type", tt.contentType)
				}
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.body)
			}))
			defer srv.Close()
			c, _ := newClient(t, srv, func(cfg *httpx.Config) {
				cfg.RequestIDHeader = "Schwab-Client-CorrelId"
				cfg.Retry.Disabled = true
			})
			method := http.MethodPost
			if tt.idempotent {
				method = http.MethodGet
			}
			_, err := c.Do(context.Background(), httpx.Request{Op: "test op", Method: method, Path: "/x", Idempotent: tt.idempotent})
			be := brokerError(t, err)
			got := want{Kind: errors.KindOf(err), Status: be.HTTPStatus, Code: be.Code, RequestID: be.RequestID, RetryAfter: be.RetryAfter}
			if tt.want.Also != "" {
				if !errors.Is(err, tt.want.Also) {
					t.Errorf("error %q does not match %q", err, tt.want.Also)
				}
				got.Also = tt.want.Also
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("classification (-want +got):\n%s\nerror: %v", diff, err)
			}
			if be.Broker != "testbroker" || be.Op != "test op" {
				t.Errorf("Broker, Op = %q, %q; want testbroker, test op", be.Broker, be.Op)
			}
			if strings.Contains(err.Error(), "<html") {
				t.Errorf("error quotes the HTML page: %v", err)
			}
		})
	}
}

func TestSuccessChecks(t *testing.T) {
	tests := []struct {
		name        string
		contentType string
		body        string
		accept      string
		idempotent  bool
		wantKind    errors.Kind
	}{
		{name: "json", contentType: "application/json; charset=utf-8", body: `{"a":1}`, idempotent: true},
		{name: "problem+json", contentType: "application/problem+json", body: `{}`, idempotent: true},
		{name: "empty 2xx body not checked", contentType: "", body: "", idempotent: false},
		{name: "html on success, read", contentType: "text/html", body: "<html></html>", idempotent: true,
			wantKind: errors.ErrMalformedResponse},
		{name: "html on success, write", contentType: "text/html", body: "<html></html>",
			wantKind: errors.ErrOutcomeUnknown},
		{name: "no content type", contentType: "", body: `{"a":1}`, idempotent: true,
			wantKind: errors.ErrMalformedResponse},
		{name: "xml accepted when asked", contentType: "application/xml", body: "<a/>", accept: "application/xml", idempotent: true},
		{name: "anything with AcceptAny", contentType: "text/plain", body: "ok", accept: httpx.AcceptAny, idempotent: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tt.contentType != "" {
					w.Header().Set("Content-Type", tt.contentType)
				} else {
					w.Header()["Content-Type"] = nil // no sniffing
				}
				io.WriteString(w, tt.body)
			}))
			defer srv.Close()
			c, _ := newClient(t, srv, nil)
			resp, err := c.Do(context.Background(), httpx.Request{Op: "op", Path: "/x", Accept: tt.accept, Idempotent: tt.idempotent})
			if got := errors.KindOf(err); got != tt.wantKind {
				t.Fatalf("kind = %q, want %q (err %v)", got, tt.wantKind, err)
			}
			if err == nil && string(resp.Body) != tt.body {
				t.Errorf("body = %q, want %q", resp.Body, tt.body)
			}
			if tt.wantKind == errors.ErrOutcomeUnknown && !errors.Is(err, errors.ErrMalformedResponse) {
				t.Errorf("write with bad answer should also match ErrMalformedResponse: %v", err)
			}
		})
	}
}

func TestBodyCap(t *testing.T) {
	const limit = 1024
	tests := []struct {
		name       string
		size       int
		status     int
		idempotent bool
		wantKind   errors.Kind
	}{
		{name: "at the cap", size: limit, status: 200, idempotent: true},
		{name: "one over, read", size: limit + 1, status: 200, idempotent: true, wantKind: errors.ErrMalformedResponse},
		{name: "far over, write", size: 10 * limit, status: 200, wantKind: errors.ErrOutcomeUnknown},
		{name: "error body over the cap still classified", size: 10 * limit, status: 400, idempotent: true,
			wantKind: errors.ErrInvalidOrder},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			decoded := false
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tt.status)
				// A JSON string padded to the size: decodable only whole.
				io.WriteString(w, `"`+strings.Repeat("a", tt.size-2)+`"`)
			}))
			defer srv.Close()
			c, _ := newClient(t, srv, func(cfg *httpx.Config) {
				cfg.MaxBodyBytes = limit
				cfg.Retry.Disabled = true
				cfg.DecodeError = func(int, http.Header, []byte) *errors.BrokerError { decoded = true; return nil }
			})
			resp, err := c.Do(context.Background(), httpx.Request{Op: "op", Method: "POST", Path: "/x", Idempotent: tt.idempotent})
			if got := errors.KindOf(err); got != tt.wantKind {
				t.Fatalf("kind = %q, want %q (err %v)", got, tt.wantKind, err)
			}
			if err == nil && len(resp.Body) != limit {
				t.Errorf("body length = %d, want %d", len(resp.Body), limit)
			}
			if tt.status >= 400 && decoded {
				t.Error("the decoder was handed a truncated error body")
			}
		})
	}
}

func TestDecodeJSON(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/v1/ok":
			io.WriteString(w, `{"price": 0.1000000000000000055511151231257827}`)
		default:
			io.WriteString(w, `{"price": 0.1`) // truncated
		}
	}))
	defer srv.Close()
	c, _ := newClient(t, srv, nil)
	ctx := context.Background()

	resp, err := c.Do(ctx, httpx.Request{Op: "quote", Path: "/ok", Idempotent: true})
	if err != nil {
		t.Fatal(err)
	}
	var v struct{ Price any }
	if err := resp.DecodeJSON(&v); err != nil {
		t.Fatal(err)
	}
	if got := v.Price; got != any(jsonNumber("0.1000000000000000055511151231257827")) {
		t.Errorf("price decoded as %#v, want the exact json.Number", got)
	}

	for _, tt := range []struct {
		idempotent bool
		want       errors.Kind
	}{{true, errors.ErrMalformedResponse}, {false, errors.ErrOutcomeUnknown}} {
		resp, err := c.Do(ctx, httpx.Request{Op: "place order", Method: "POST", Path: "/truncated", Idempotent: tt.idempotent})
		if err != nil {
			t.Fatal(err)
		}
		err = resp.DecodeJSON(&v)
		if errors.KindOf(err) != tt.want || !errors.Is(err, errors.ErrMalformedResponse) {
			t.Errorf("idempotent=%t: DecodeJSON error %v, want kind %q", tt.idempotent, err, tt.want)
		}
		if be := brokerError(t, err); be.Op != "place order" || be.Broker != "testbroker" || be.HTTPStatus != 200 {
			t.Errorf("error fields: %+v", be)
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := epoch
	tests := []struct {
		in     string
		want   time.Duration
		wantOK bool
	}{
		{"0", 0, true},
		{"120", 2 * time.Minute, true},
		{" 5 ", 5 * time.Second, true},
		{now.Add(30 * time.Second).Format(http.TimeFormat), 30 * time.Second, true},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0, true},
		{"Mon, 02 Mar 2026 14:31:00 GMT", time.Minute, true},
		{"", 0, false},
		{"-3", 0, false},
		{"soon", 0, false},
		{"99999999999", 0, false},
	}
	for _, tt := range tests {
		got, ok := httpx.ParseRetryAfter(tt.in, now)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("ParseRetryAfter(%q) = %v, %t; want %v, %t", tt.in, got, ok, tt.want, tt.wantOK)
		}
	}
}

func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"0", "120", "Mon, 02 Mar 2026 14:31:00 GMT", "Monday, 02-Mar-26 14:31:00 GMT", "x", "-1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, ok := httpx.ParseRetryAfter(s, epoch)
		if d < 0 || (!ok && d != 0) {
			t.Fatalf("ParseRetryAfter(%q) = %v, %t", s, d, ok)
		}
	})
}
