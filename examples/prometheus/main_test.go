package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// The example serves health and Prometheus metrics while it trades, and
// stops cleanly when its context ends.
func TestServesHealthAndMetrics(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var out bytes.Buffer
	done := make(chan error, 1)
	traded := make(chan struct{})
	go func() {
		done <- run(ctx, ln, time.Microsecond, 1, &out, func(n int) {
			if n == 400 { // 400 minutes of crossover: it has bought and been stopped or exited
				close(traded)
			}
		})
	}()
	base := "http://" + ln.Addr().String()
	get := func(path string) (int, string) {
		resp, err := http.Get(base + path)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	<-traded
	_, body := get("/health/metrics")
	for _, want := range []string{"arbion_broker_requests_total", `op="place order"`, "arbion_orders_total", "arbion_fills_total",
		"arbion_broker_request_duration_seconds_bucket", "arbion_stops_total"} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if code, body := get("/health/ready"); code != http.StatusOK {
		t.Errorf("ready = %d %s", code, body)
	}
	if code, body := get("/health"); code != http.StatusOK || !strings.Contains(body, `"name":"broker"`) {
		t.Errorf("detail = %d %s", code, body)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run = %v", err)
	}
	if !strings.Contains(out.String(), "stopped cleanly") {
		t.Errorf("output:\n%s", out.String())
	}
}

// TestMain fails the tests if any goroutine is left running.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
