package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// With -http the bot serves its health and metrics while it trades.
func TestServesHealthAndMetrics(t *testing.T) {
	cfg := defaultConfig()
	cfg.Steps, cfg.ProgressEvery = 300, 0
	var out bytes.Buffer
	got := map[string]string{}
	cfg.afterStep = func(_ context.Context, _ *bot, step int) error {
		if step != 300 {
			return nil
		}
		m := regexp.MustCompile(`http://(\S+)/health`).FindStringSubmatch(out.String())
		if m == nil {
			t.Fatalf("no address in the output:\n%s", out.String())
		}
		for _, path := range []string{"/health/ready", "/health/startup", "/health", "/health/metrics"} {
			resp, err := http.Get("http://" + m[1] + path)
			if err != nil {
				return err
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			got[path] = resp.Status + " " + string(b)
		}
		return nil
	}
	if err := runMain(context.Background(), cfg, "127.0.0.1:0", &out); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{
		"/health/ready":   "200 OK ok",
		"/health/startup": "200 OK ok",
		"/health":         `"status":"ok"`,
		"/health/metrics": `"StopsPlaced":`,
	} {
		if !strings.Contains(got[path], want) {
			t.Errorf("%s = %q, want %q in it", path, got[path], want)
		}
	}
}
