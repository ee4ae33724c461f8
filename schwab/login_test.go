package schwab

import (
	"net/url"
	"testing"

	"github.com/arbiontrader/arbion/auth"
)

// TestLoginConfigSendsNoPKCE: Schwab's login goes without PKCE by default
// (no public Schwab client sends it), and with it when asked.
func TestLoginConfigSendsNoPKCE(t *testing.T) {
	oc := OAuth2Config("key", "secret", "https://127.0.0.1:8182", "")
	for _, pkce := range []bool{false, true} {
		lc := LoginConfig(oc, auth.NewMemoryStore(), "schwab")
		lc.DisablePKCE = !pkce
		flow, err := auth.NewFlow(lc)
		if err != nil {
			t.Fatal(err)
		}
		u, err := url.Parse(flow.AuthURL())
		if err != nil {
			t.Fatal(err)
		}
		if got := u.Query().Has("code_challenge"); got != pkce {
			t.Errorf("PKCE %v: code_challenge sent = %v", pkce, got)
		}
		if u.Query().Get("state") == "" {
			t.Error("no state in the authorization URL")
		}
	}
	if lc := LoginConfig(oc, nil, ""); !lc.DisablePKCE || lc.RefreshLifetime != RefreshLifetime {
		t.Errorf("LoginConfig = %+v; want PKCE off and the 7-day refresh lifetime", lc)
	}
}
