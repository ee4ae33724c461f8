package etrade

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
	"github.com/arbiontrader/arbion/errors"
)

const (
	sentinelConsumerSecret = "SENTINELconsumerSECRET"
	sentinelToken          = "SENTINELaccess+TOKEN/x="
	sentinelTokenSecret    = "SENTINELtokenSECRET"
)

// echoServer answers every request with status and a body quoting the
// Authorization header and the secrets, as a careless server might.
func echoServer(t *testing.T, status int) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"Error":{"code":"0","message":"rejected %s; secrets %s %s %s"}}`,
			strings.ReplaceAll(r.Header.Get("Authorization"), `"`, `'`), sentinelConsumerSecret, sentinelToken, sentinelTokenSecret)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func echoBroker(t *testing.T, srv *httptest.Server, logs *bytes.Buffer) *Broker {
	store := auth.NewMemoryStore()
	if err := store.Save(context.Background(), "etrade/acct", auth.Token{AccessToken: sentinelToken,
		Secret: sentinelTokenSecret, Expiry: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	b, err := New(Config{ConsumerKey: "ck", ConsumerSecret: sentinelConsumerSecret, AccountIDKey: "acct", Store: store,
		APIURL: srv.URL, OAuthURL: srv.URL, HTTPClient: srv.Client(), OrdersPerSecond: 1000, AccountsPerSecond: 1000,
		MarketPerSecond: 1000, Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestErrorBodiesAreScrubbed: bodies quoting the access token, its secret
// and the consumer secret (401, 500) leave none of them in the error, its
// %+v, nor the debug log; the Broker itself prints no secret.
func TestErrorBodiesAreScrubbed(t *testing.T) {
	for _, status := range []int{401, 500} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			var logs bytes.Buffer
			b := echoBroker(t, echoServer(t, status), &logs)
			_, err := b.Account(t.Context())
			if err == nil {
				t.Fatal("no error")
			}
			text := err.Error() + fmt.Sprintf("%+v %#v", err, err) + logs.String()
			for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
				text += fmt.Sprintf(verb, b)
			}
			slog.New(slog.NewJSONHandler(&logs, nil)).Info("x", "broker", b)
			text += logs.String()
			for _, s := range []string{"SENTINEL", "access%2BTOKEN", "oauth_signature='"} {
				if strings.Contains(text, s) {
					t.Fatalf("%q shown in: %s", s, text)
				}
			}
		})
	}
}

// TestNotFoundIsNotAnOutage: a 404 with E*TRADE code 100 is not
// ErrBrokerUnavailable and is not retried.
func TestNotFoundIsNotAnOutage(t *testing.T) {
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, `{"Error":{"code":100,"message":"The requested service is not currently available"}}`)
	}))
	t.Cleanup(srv.Close)
	var logs bytes.Buffer
	b := echoBroker(t, srv, &logs)
	_, err := b.GetOrder(t.Context(), "42")
	if errors.Is(err, errors.ErrBrokerUnavailable) || !errors.Is(err, errors.ErrOrderNotFound) || calls != 1 {
		t.Errorf("404 code 100: %v (kind %s) after %d calls; want ErrOrderNotFound after 1", err, errors.KindOf(err), calls)
	}
}
