package coinbase

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/arbiontrader/arbion/clock/clocktest"
	"github.com/arbiontrader/arbion/coinbase/coinbasetest"
)

// tokenFactory signs hand-made tokens, to feed the emulator what a broken
// client would send.
type tokenFactory struct {
	s   *jwtSigner
	srv *coinbasetest.Server
}

func newTokenFactory(t *testing.T) tokenFactory {
	t.Helper()
	srv := coinbasetest.NewServer(coinbasetest.Config{Clock: clocktest.New(signTime)})
	t.Cleanup(srv.Close)
	key, err := coinbasetest.NewES256Key(testKeyName)
	if err != nil {
		t.Fatal(err)
	}
	srv.RegisterKey(key)
	s, err := newJWTSigner(Credentials{KeyName: key.Name, PrivateKey: key.Secret}, fixedNow, nil)
	if err != nil {
		t.Fatal(err)
	}
	return tokenFactory{s: s, srv: srv}
}

// raw signs header and claims as given; der signs ES256 in ASN.1 DER, the
// classic mistake.
func (f tokenFactory) raw(t *testing.T, header, claims map[string]any, der bool) string {
	t.Helper()
	h, _ := json.Marshal(header)
	c, _ := json.Marshal(claims)
	input := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c)
	var sig []byte
	var err error
	if der {
		digest := sha256.Sum256([]byte(input))
		sig, err = ecdsa.SignASN1(rand.Reader, f.s.ecKey, digest[:])
	} else {
		sig, err = f.s.signature([]byte(input))
	}
	if err != nil {
		t.Fatal(err)
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func (f tokenFactory) host() string { return strings.TrimPrefix(f.srv.URL(), "http://") }

// call sends GET path (with query) with the token and returns status, body.
func (f tokenFactory) call(t *testing.T, method, pathAndQuery, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, f.srv.URL()+pathAndQuery, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func (f tokenFactory) valid(uri string) (map[string]any, map[string]any) {
	return map[string]any{"alg": "ES256", "kid": testKeyName, "nonce": randomNonce(), "typ": "JWT"},
		map[string]any{"sub": testKeyName, "iss": "cdp", "nbf": signTime.Unix(), "exp": signTime.Unix() + 120, "uri": uri}
}

func randomNonce() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func TestEmulatorRefusesBadTokens(t *testing.T) {
	f := newTokenFactory(t)
	path := "/api/v3/brokerage/orders/historical/batch"
	uri := "GET " + f.host() + path
	tests := []struct {
		name   string
		edit   func(h, c map[string]any)
		der    bool
		reason string
	}{
		{"query in uri", func(h, c map[string]any) { c["uri"] = uri + "?limit=5" }, false, "query string"},
		{"stale (expired)", func(h, c map[string]any) {
			c["nbf"], c["exp"] = signTime.Unix()-300, signTime.Unix()-180
		}, false, "expired"},
		{"nbf in the future", func(h, c map[string]any) {
			c["nbf"], c["exp"] = signTime.Unix()+5, signTime.Unix()+125
		}, false, "future"},
		{"lifetime over 120 s", func(h, c map[string]any) { c["exp"] = signTime.Unix() + 600 }, false, "exceeds 120s"},
		{"wrong path in uri", func(h, c map[string]any) { c["uri"] = "GET " + f.host() + "/api/v3/brokerage/accounts" }, false, "does not match"},
		{"scheme in uri", func(h, c map[string]any) { c["uri"] = "GET http://" + f.host() + path }, false, "does not match"},
		{"lower-case method", func(h, c map[string]any) { c["uri"] = "get " + f.host() + path }, false, "does not match"},
		{"DER signature", nil, true, "want raw r||s"},
		{"unknown kid", func(h, c map[string]any) {
			h["kid"], c["sub"] = "organizations/x/apiKeys/y", "organizations/x/apiKeys/y"
		}, false, "unknown kid"},
		{"sub differs from kid", func(h, c map[string]any) { c["sub"] = "someone" }, false, "is not the kid"},
		{"legacy issuer without opt-in", func(h, c map[string]any) { c["iss"] = "coinbase-cloud" }, false, "is not cdp"},
		{"alg does not match the key", func(h, c map[string]any) { h["alg"] = "EdDSA" }, false, "does not match an ECDSA key"},
		{"no nonce", func(h, c map[string]any) { delete(h, "nonce") }, false, "lacks"},
		{"string nbf", func(h, c map[string]any) { c["nbf"] = "1772461800" }, false, "not an integer"},
		{"foreign aud", func(h, c map[string]any) { c["aud"] = []string{"cdp_service"} }, false, "lacks retail_rest_api_proxy"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, c := f.valid(uri)
			if tc.edit != nil {
				tc.edit(h, c)
			}
			q := ""
			if tc.name == "query in uri" {
				q = "?limit=5"
			}
			status, body := f.call(t, "GET", path+q, f.raw(t, h, c, tc.der))
			if status != http.StatusUnauthorized || body != "Unauthorized" {
				t.Fatalf("got %d %q, want 401 Unauthorized", status, body)
			}
			fails := f.srv.AuthFailures()
			if last := fails[len(fails)-1]; !strings.Contains(last, tc.reason) {
				t.Errorf("refused for %q, want a reason containing %q", last, tc.reason)
			}
		})
	}
	t.Run("valid token accepted", func(t *testing.T) {
		h, c := f.valid(uri)
		if status, body := f.call(t, "GET", path, f.raw(t, h, c, false)); status != http.StatusOK {
			t.Fatalf("got %d %s", status, body)
		}
	})
}

func TestEmulatorRefusesReplayedToken(t *testing.T) {
	f := newTokenFactory(t)
	path := "/api/v3/brokerage/accounts"
	tok, err := f.s.sign("GET", f.host(), path)
	if err != nil {
		t.Fatal(err)
	}
	if status, body := f.call(t, "GET", path, tok); status != http.StatusOK {
		t.Fatalf("first use: %d %s", status, body)
	}
	if status, _ := f.call(t, "GET", path, tok); status != http.StatusUnauthorized {
		t.Fatalf("replayed token: status %d, want 401", status)
	}
	if fails := f.srv.AuthFailures(); len(fails) != 1 || !strings.Contains(fails[0], "replayed") {
		t.Errorf("auth failures %q, want one replay", fails)
	}
}

func TestEmulatorChecksKeyPortfolioAndPermissions(t *testing.T) {
	f := newTokenFactory(t)
	other, _ := coinbasetest.NewEd25519Key("other-portfolio-key", nil)
	f.srv.AddKey(coinbasetest.Key{Name: other.Name, Public: other.Public, View: true, Trade: true, Portfolio: "another-portfolio"})
	viewer, _ := coinbasetest.NewEd25519Key("view-only-key", nil)
	f.srv.AddKey(coinbasetest.Key{Name: viewer.Name, Public: viewer.Public, View: true})
	sign := func(k coinbasetest.TestKey, method, path string) string {
		s, err := newJWTSigner(Credentials{KeyName: k.Name, PrivateKey: k.Secret}, fixedNow, nil)
		if err != nil {
			t.Fatal(err)
		}
		tok, err := s.sign(method, f.host(), path)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	if status, _ := f.call(t, "GET", "/api/v3/brokerage/accounts", sign(other, "GET", "/api/v3/brokerage/accounts")); status != http.StatusUnauthorized {
		t.Errorf("key of another portfolio: status %d, want 401", status)
	}
	status, body := f.call(t, "POST", "/api/v3/brokerage/orders/batch_cancel", sign(viewer, "POST", "/api/v3/brokerage/orders/batch_cancel"))
	if status != http.StatusForbidden || !strings.Contains(body, "PERMISSION_DENIED") {
		t.Errorf("view-only key writing: %d %s, want 403 PERMISSION_DENIED", status, body)
	}
	if status, _ := f.call(t, "GET", "/api/v3/brokerage/accounts", sign(viewer, "GET", "/api/v3/brokerage/accounts")); status != http.StatusOK {
		t.Errorf("view-only key reading: status %d, want 200", status)
	}
}
