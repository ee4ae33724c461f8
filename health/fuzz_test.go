package health_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/arbiontrader/arbion/health"
)

// FuzzRedaction: whatever text surrounds it, a configured secret never
// reaches the detail view, and no text makes the handler panic.
func FuzzRedaction(f *testing.F) {
	for _, seed := range []string{"", "Bearer ", "access_token=", `{"refresh_token": "`, "eyJ", "token=a&b", "\x00\xff"} {
		f.Add(seed)
	}
	const secret = "SENTINEL-FUZZ-SECRET"
	f.Fuzz(func(t *testing.T, text string) {
		h, err := health.New(health.Config{Secrets: []string{secret}, Ready: []health.Check{{Name: "x",
			Func: func(context.Context) error { return errors.New(text + secret + text) }}}})
		if err != nil {
			t.Fatal(err)
		}
		rep := h.Check(context.Background())
		if strings.Contains(rep.Checks[0].Error, secret) {
			t.Errorf("the secret shows in %q", rep.Checks[0].Error)
		}
	})
}
