package httpx_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/arbiontrader/arbion/internal/httpx"
)

// BenchmarkGET compares a GET round trip through the pipeline (limiter,
// trace, capped read, content-type check) with a bare http.Client against
// the same server, in the same run:
//
//	go test -run '^$' -bench BenchmarkGET -benchmem ./internal/httpx/
func BenchmarkGET(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"symbol":"AAPL","bid":"189.90","ask":"189.92","last":"189.91"}`)
	}))
	defer srv.Close()
	ctx := context.Background()

	b.Run("bare", func(b *testing.B) {
		hc := srv.Client()
		for b.Loop() {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/v1/quotes/AAPL", nil)
			resp, err := hc.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			io.ReadAll(resp.Body)
			resp.Body.Close()
		}
	})
	b.Run("httpx", func(b *testing.B) {
		c, err := httpx.New(httpx.Config{Broker: "bench", BaseURL: srv.URL + "/v1", HTTPClient: srv.Client(),
			Buckets: map[string]httpx.Bucket{"reads": {Rate: 1e9, Burst: 1 << 30}}})
		if err != nil {
			b.Fatal(err)
		}
		req := httpx.Request{Op: "get quote", Path: "/quotes/AAPL", Bucket: "reads", Idempotent: true}
		for b.Loop() {
			if _, err := c.Do(ctx, req); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkGETInterleaved alternates a bare and a pipeline round trip in each
// iteration, so both see the same machine load, and reports their ratio.
func BenchmarkGETInterleaved(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"symbol":"AAPL","bid":"189.90","ask":"189.92","last":"189.91"}`)
	}))
	defer srv.Close()
	ctx := context.Background()
	hc := srv.Client()
	c, err := httpx.New(httpx.Config{Broker: "bench", BaseURL: srv.URL + "/v1", HTTPClient: hc,
		Buckets: map[string]httpx.Bucket{"reads": {Rate: 1e9, Burst: 1 << 30}}})
	if err != nil {
		b.Fatal(err)
	}
	req := httpx.Request{Op: "get quote", Path: "/quotes/AAPL", Bucket: "reads", Idempotent: true}
	var bare, pipeline time.Duration
	for b.Loop() {
		start := time.Now()
		hreq, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/v1/quotes/AAPL", nil)
		resp, err := hc.Do(hreq)
		if err != nil {
			b.Fatal(err)
		}
		io.ReadAll(resp.Body)
		resp.Body.Close()
		mid := time.Now()
		if _, err := c.Do(ctx, req); err != nil {
			b.Fatal(err)
		}
		bare += mid.Sub(start)
		pipeline += time.Since(mid)
	}
	b.ReportMetric(float64(bare.Nanoseconds())/float64(b.N), "bare-ns/op")
	b.ReportMetric(float64(pipeline.Nanoseconds())/float64(b.N), "httpx-ns/op")
	b.ReportMetric(float64(pipeline)/float64(bare), "ratio")
}
