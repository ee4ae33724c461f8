package schwab

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/arbiontrader/arbion/auth"
	"github.com/arbiontrader/arbion/clock/clocktest"
	"github.com/arbiontrader/arbion/errors"
)

const (
	sentinelAccess  = "SENTINEL-ACCESS-7f3a9c"
	sentinelRefresh = "SENTINEL-REFRESH-91be04"
	sentinelSecret  = "SENTINEL-SECRET-5d2e77"
)

// staticTokens hands out the sentinel tokens.
type staticTokens struct{ expiry time.Time }

func (s staticTokens) Token(context.Context) (auth.Token, error) {
	return auth.Token{AccessToken: sentinelAccess, RefreshToken: sentinelRefresh, Expiry: s.expiry}, nil
}

// echoingServer answers every request with status and a Schwab error body
// that echoes the Authorization header and the other secrets, as a gateway
// reflecting the request might.
func echoingServer(t *testing.T, status int) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		echo := r.Header.Get("Authorization") + " refresh=" + sentinelRefresh + " secret=" + sentinelSecret
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		if status == http.StatusUnauthorized || status == http.StatusServiceUnavailable {
			// The gateway's shape: the echo lands in errors[].detail.
			fmt.Fprintf(w, `{"errors":[{"id":"x","status":%d,"title":"Gateway","detail":%q}]}`, status, echo)
			return
		}
		fmt.Fprintf(w, `{"message":%q,"errors":[%q]}`, "bad request: "+echo, echo)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestSecretsNeverInErrorsOrLogs(t *testing.T) {
	for _, status := range []int{400, 401, 500, 503} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			clock := clocktest.New(testStart)
			clock.SetAutoAdvance(true) // retries of a 5xx read back off on the fake clock
			srv := echoingServer(t, status)
			var logs bytes.Buffer
			b, err := New(Config{AccountHash: "HASH0001", Tokens: staticTokens{testStart.Add(time.Hour)},
				AppSecret: sentinelSecret, BaseURL: srv.URL, HTTPClient: srv.Client(), Clock: clock,
				Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
			if err != nil {
				t.Fatal(err)
			}
			_, err = b.GetOrder(context.Background(), "1004055538153")
			if err == nil {
				t.Fatal("GetOrder against an error server: no error")
			}
			var be *errors.BrokerError
			if !errors.As(err, &be) || be.HTTPStatus != status || !strings.Contains(be.Message+be.Detail, redacted) {
				t.Errorf("error %v: want a BrokerError with status %d whose message kept its text, secrets redacted", err, status)
			}
			texts := map[string]string{
				"err.Error()":        err.Error(),
				"%+v of the error":   fmt.Sprintf("%+v", err),
				"%#v of the error":   fmt.Sprintf("%#v", be),
				"debug log":          logs.String(),
				"%v of the Broker":   fmt.Sprintf("%v", b),
				"%+v of the Broker":  fmt.Sprintf("%+v", b),
				"%#v of the Broker":  fmt.Sprintf("%#v", b),
				"%s of the Broker":   fmt.Sprintf("%s", b),
				"%+v of a copy":      fmt.Sprintf("%+v", copyOf(b)),
				"%#v of the Config":  fmt.Sprintf("%#v", b.cfg),
				"%+v of the Config":  fmt.Sprintf("%+v", b.cfg),
				"slog of the Broker": logged(b),
				"slog of the Config": logged(b.cfg),
			}
			for what, text := range texts {
				for _, sec := range []string{sentinelAccess, sentinelRefresh, sentinelSecret} {
					if n := strings.Count(text, sec); n != 0 {
						t.Errorf("%s holds a secret %d times:\n%s", what, n, text)
					}
				}
			}
		})
	}
}

func logged(v any) string {
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("value", "v", v)
	return buf.String()
}

// copyOf returns a shallow copy of the Broker's fields that fmt would walk
// (a Broker value printed, not through its methods); the locks are left
// zero so that nothing is copied that vet forbids.
func copyOf(b *Broker) any {
	return struct {
		Cfg   Config
		Creds *credentials
	}{b.cfg, b.creds}
}
