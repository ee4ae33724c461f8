package coinbase_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/arbiontrader/arbion/coinbase"
	"github.com/arbiontrader/arbion/coinbase/coinbasetest"
	"github.com/arbiontrader/arbion/errors"
)

// secretPieces are fragments of the private key that must never be shown.
func secretPieces(key coinbasetest.TestKey) []string {
	var out []string
	for _, line := range strings.Split(key.Secret, "\n") {
		if len(line) >= 16 && !strings.HasPrefix(line, "-----") {
			out = append(out, line)
		}
	}
	return out
}

// TestBrokerAndConfigRedactThemselves: no verb and no slog handler shows
// the private key.
func TestBrokerAndConfigRedactThemselves(t *testing.T) {
	e := newEnv(t, coinbasetest.Config{}, false, nil)
	cfg := coinbase.Config{Credentials: coinbase.Credentials{KeyName: e.key.Name, PrivateKey: e.key.Secret}}
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	log.Info("x", "broker", e.b, "config", cfg)
	slog.New(slog.NewTextHandler(&logs, nil)).Info("x", "broker", e.b, "config", cfg)
	out := logs.String()
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d"} {
		out += fmt.Sprintf(verb, e.b) + fmt.Sprintf(verb, cfg)
	}
	for _, p := range secretPieces(e.key) {
		if strings.Contains(out, p) {
			t.Fatalf("key material printed: %s", out)
		}
	}
}

// TestErrorBodiesAreScrubbed: a server that quotes back the JWT it was
// sent and the key (401, 500, 503) leaves neither in the error, its %+v,
// nor the debug log.
func TestErrorBodiesAreScrubbed(t *testing.T) {
	var logs bytes.Buffer
	e := newEnv(t, coinbasetest.Config{}, false, func(c *coinbase.Config) {
		c.Retry.Disabled = true
		c.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	pieces := secretPieces(e.key)
	body := "token {authorization} refused; key " + strings.Join(pieces, " ") + " " + strings.ReplaceAll(e.key.Secret, "\n", `\n`)
	for _, status := range []int{401, 500, 503} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			logs.Reset()
			e.srv.InjectFault(coinbasetest.Fault{Kind: coinbasetest.FaultEcho, Status: status, Body: body, Times: 2})
			_, err := e.b.Positions(ctx(t))
			if err == nil {
				t.Fatal("no error")
			}
			var be *errors.BrokerError
			if !errors.As(err, &be) || be.HTTPStatus != status {
				t.Fatalf("error %v, want a BrokerError with status %d", err, status)
			}
			e.srv.ClearFaults()
			var sent []string
			for _, r := range e.srv.Requests() {
				if r.Token != nil {
					sent = append(sent, r.Token.Raw)
				}
			}
			text := err.Error() + fmt.Sprintf("%+v %#v", err, err) + logs.String()
			for _, s := range append(pieces, sent...) {
				if s != "" && strings.Contains(text, s) {
					t.Fatalf("secret %.12s... in %s", s, text)
				}
			}
			if strings.Contains(text, "eyJ") {
				t.Errorf("a JWT fragment survived: %s", text)
			}
		})
	}
}
