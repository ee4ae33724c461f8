package health_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/health"
)

func get(t *testing.T, h http.Handler, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec.Code, rec.Body.String()
}

func ok(context.Context) error { return nil }

func TestEachFailingCheckTurnsReadinessRed(t *testing.T) {
	cases := []struct {
		name string
		fn   func(context.Context) error
	}{
		{"error", func(context.Context) error { return errors.New("store down") }},
		{"panic", func(context.Context) error { panic("boom") }},
		{"no answer", func(ctx context.Context) error { <-ctx.Done(); return nil }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h, err := health.New(health.Config{Timeout: 50 * time.Millisecond,
				Ready: []health.Check{{Name: "broker", Func: ok}, {Name: "bad", Func: c.fn}}})
			if err != nil {
				t.Fatal(err)
			}
			if code, _ := get(t, h, "/health/ready"); code != http.StatusServiceUnavailable {
				t.Errorf("ready = %d, want 503", code)
			}
			if code, _ := get(t, h, "/health/live"); code != http.StatusOK {
				t.Errorf("live = %d, want 200 (readiness checks do not kill the process)", code)
			}
			code, body := get(t, h, "/health")
			var rep health.Report
			if err := json.Unmarshal([]byte(body), &rep); err != nil || code != http.StatusServiceUnavailable {
				t.Fatalf("detail %d %q: %v", code, body, err)
			}
			if rep.Status != "fail" || len(rep.Checks) != 2 || !rep.Checks[0].OK || rep.Checks[1].OK || rep.Checks[1].Error == "" ||
				rep.Checks[1].AgeSeconds != -1 {
				t.Errorf("detail = %+v", rep)
			}
		})
	}
}

func TestGreenThenRedKeepsLastPassAndError(t *testing.T) {
	var fail bool
	h, _ := health.New(health.Config{Ready: []health.Check{{Name: "store", Func: func(context.Context) error {
		if fail {
			return errors.New("gone")
		}
		return nil
	}}}})
	if code, _ := get(t, h, "/health/ready"); code != http.StatusOK {
		t.Fatalf("ready = %d, want 200", code)
	}
	fail = true
	rep := h.Check(context.Background())
	if rep.Checks[0].OK || rep.Checks[0].LastPass.IsZero() || rep.Checks[0].AgeSeconds < 0 || rep.Checks[0].LastError != "gone" {
		t.Errorf("after a failure: %+v", rep.Checks[0])
	}
	fail = false
	rep = h.Check(context.Background())
	if !rep.Checks[0].OK || rep.Checks[0].LastError != "gone" || rep.Status != "ok" {
		t.Errorf("green again keeps the last error: %+v", rep.Checks[0])
	}
}

func TestStartupAndLiveness(t *testing.T) {
	started := false
	h, _ := health.New(health.Config{Started: func() bool { return started },
		Live: []health.Check{{Name: "loop", Func: func(context.Context) error { return errors.New("hung") }}}})
	if code, _ := get(t, h, "/health/startup"); code != http.StatusServiceUnavailable {
		t.Errorf("startup before start = %d", code)
	}
	started = true
	if code, _ := get(t, h, "/health/startup"); code != http.StatusOK {
		t.Errorf("startup after start = %d", code)
	}
	if code, _ := get(t, h, "/health/live"); code != http.StatusServiceUnavailable {
		t.Errorf("live with a hung loop = %d", code)
	}
}

// Secrets never reach the detail view: neither the configured ones nor
// tokens, JWTs and credential parameters in error text.
func TestErrorsAreRedacted(t *testing.T) {
	const (
		configured = "SENTINEL-CONFIGURED-0001"
		bearer     = "SENTINEL-BEARER-0002"
		jwt        = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJTRU5USU5FTCJ9.c2VudGluZWwtc2lnbmF0dXJl"
		param      = "SENTINEL-PARAM-0003"
		jsonTok    = "SENTINEL-JSON-0004"
	)
	h, _ := health.New(health.Config{Secrets: []string{configured}, Ready: []health.Check{
		{Name: "broker", Func: func(context.Context) error {
			return fmt.Errorf("refresh failed for %s: Authorization: Bearer %s; id %s; GET /token?access_token=%s&x=1; body {\"refresh_token\": \"%s\"}",
				configured, bearer, jwt, param, jsonTok)
		}},
	}})
	_, body := get(t, h, "/health")
	for _, s := range []string{configured, bearer, jwt, param, jsonTok, "c2VudGluZWwtc2lnbmF0dXJl"} {
		if strings.Contains(body, s) {
			t.Errorf("the detail view shows %q: %s", s, body)
		}
	}
	if !strings.Contains(body, "refresh failed") || !strings.Contains(body, "REDACTED") {
		t.Errorf("the error is gone rather than redacted: %s", body)
	}
}

func TestConfig(t *testing.T) {
	for _, cfg := range []health.Config{
		{Ready: []health.Check{{Name: "", Func: ok}}},
		{Ready: []health.Check{{Name: "a"}}},
		{Ready: []health.Check{{Name: "a", Func: ok}}, Live: []health.Check{{Name: "a", Func: ok}}},
		{Timeout: -1},
	} {
		if _, err := health.New(cfg); !errors.Is(err, errors.ErrConfiguration) {
			t.Errorf("%+v: err = %v, want ErrConfiguration", cfg, err)
		}
	}
}
