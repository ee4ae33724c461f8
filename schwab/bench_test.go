package schwab

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/schwab/schwabtest"
)

// BenchmarkDecodeOrder decodes real order payloads with encoding/json: the
// common single-leg filled order (the goal is at most 20 µs) and a TDA-era
// trigger order with a child and three executions, four times its size.
// cpu-ns/op is the process's CPU time per decode, the figure to read on a
// shared machine, where ns/op includes waiting for a core.
func BenchmarkDecodeOrder(b *testing.B) {
	for _, name := range []string{"order_filled_market_equity.json", "order_trigger_multileg_filled_tda_era.json"} {
		body := fixture(b, name)
		b.Run(strings.TrimSuffix(strings.TrimPrefix(name, "order_"), ".json"), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			cpu0, ok := processCPU()
			for b.Loop() {
				if _, err := decodeOrder(body); err != nil {
					b.Fatal(err)
				}
			}
			if cpu1, _ := processCPU(); ok {
				b.ReportMetric(float64((cpu1-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
			}
		})
	}
}

// BenchmarkPlaceRoundTrip places orders through the adapter and, in the same
// run against the same emulator, POSTs the same body with bare net/http;
// it reports both latencies and their ratio.
func BenchmarkPlaceRoundTrip(b *testing.B) {
	r := newRig(b, schwabtest.Config{OrderRateLimit: -1}, func(c *Config) {
		c.RequestsPerMinute, c.OrderRequestsPerMinute, c.OrdersPerDay = -1, -1, -1 // measure the pipeline, not the limits
	})
	ctx := context.Background()
	if _, err := r.b.Account(ctx); err != nil { // hash looked up, token loaded
		b.Fatal(err)
	}
	req := limitBuy("AAPL", 1, "10.00")
	body, err := encodeRequest(req)
	if err != nil {
		b.Fatal(err)
	}
	tok, err := r.src.Token(ctx)
	if err != nil {
		b.Fatal(err)
	}
	url := r.emu.URL() + "/trader/v1/accounts/" + r.emu.Hash(testAccount) + "/orders"
	client := r.emu.Client()
	bare := func() {
		hreq, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
		hreq.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		hreq.Header.Set("Content-Type", "application/json")
		hreq.Header.Set("Accept", "application/json")
		resp, err := client.Do(hreq)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated || resp.Header.Get("Location") == "" {
			b.Fatalf("bare POST: %d", resp.StatusCode)
		}
	}
	ids := make([]string, 0, 1024)
	var adapterTime, bareTime time.Duration
	b.ReportAllocs()
	for b.Loop() {
		if len(ids) == 0 {
			b.StopTimer()
			for range 1024 {
				ids = append(ids, broker.NewClientOrderID())
			}
			b.StartTimer()
		}
		req.ClientOrderID, ids = ids[len(ids)-1], ids[:len(ids)-1]
		t0 := time.Now()
		if _, err := r.b.PlaceOrder(ctx, req); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		bare()
		bareTime += time.Since(t1)
		adapterTime += t1.Sub(t0)
	}
	n := float64(b.N)
	b.ReportMetric(float64(adapterTime.Nanoseconds())/n, "adapter-ns/place")
	b.ReportMetric(float64(bareTime.Nanoseconds())/n, "bare-ns/post")
	b.ReportMetric(float64(adapterTime)/float64(bareTime), "ratio")
}
