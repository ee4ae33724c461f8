package etradetest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/arbiontrader/arbion/clock/clocktest"
)

// The developer guide's example (spec §4).
const (
	vecKey       = "c5bb4dcb7bd6826c7c4340df3f791188"
	vecSecret    = "7d30246211192cda43ede3abd9b393b9"
	vecToken     = "VbiNYl63EejjlKdQM6FeENzcnrLACrZ2JYD6NQROfVI="
	vecTokSecret = "XCF9RzyQr4UEPloA+WlC06BnTfYC1P0Fwr3GUw/B0Es="
	vecNonce     = "0bba225a40d1bbac2430aa0c6163ce44"
	vecTS        = "1344885636"
)

// header builds an Authorization header by hand from its parameters.
func header(params map[string]string) string {
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + `="` + esc(params[k]) + `"`
	}
	return "OAuth " + strings.Join(parts, ", ")
}

func vectorServer(t *testing.T) *Server {
	t.Helper()
	s, err := NewUnstarted(Config{ConsumerKey: vecKey, ConsumerSecret: vecSecret,
		Clock: clocktest.New(time.Unix(1344885636, 0))})
	if err != nil {
		t.Fatal(err)
	}
	s.state.accessTokens[vecToken] = &accessToken{secret: vecTokSecret, issued: time.Unix(1344885636, 0),
		expires: time.Unix(1344885636, 0).Add(time.Hour), lastUsed: time.Unix(1344885636, 0)}
	s.state.requestTokens["/iQRgQCRGPo7Xdk6G8QDSEzX0Jsy6sKNcULcDavAGgU="] = &requestToken{
		secret: "/rC9scEpzcwSEMy4vE7nodSzPLqfRINnTNY4voczyFM=", issued: time.Unix(1344885636, 0), verifier: "Y27X25F"}
	return s
}

// TestVerifySpecVectors: every §4 vector verifies; A1 (secrets unencoded in
// the key) is refused.
func TestVerifySpecVectors(t *testing.T) {
	tests := []struct {
		name, method, url, sig string
		extra                  map[string]string
		requestToken           bool
		want                   bool
	}{
		{"A", "GET", "https://api.etrade.com/v1/accounts/list", "UOnPVdzExTAgHkcGWLLfeTaaMSM=", nil, false, true},
		{"A1 unencoded secrets", "GET", "https://api.etrade.com/v1/accounts/list", "pXblwU+H+2wTeoXWnfMdvO9GuJY=", nil, false, false},
		{"A2", "GET", "https://api.etrade.com/v1/accounts/list", "gZLKg/AOvv4+r1+EBLWKdVUVBC0=", map[string]string{"oauth_version": "1.0"}, false, true},
		{"B", "GET", "https://api.etrade.com/v1/accounts/-h06qS59IOXHUSjq3xhGVE/balance.json?instType=BROKERAGE&realTimeNAV=true", "pUENXzXjo6tW8FCgfedVxOAA8xc=", nil, false, true},
		{"C", "POST", "https://api.etrade.com/v1/accounts/-h06qS59IOXHUSjq3xhGVE/orders/preview.json", "k1nBRz1o1DTJQYCJu2mNKprPaDo=", nil, false, true},
		{"D", "GET", "https://api.etrade.com/v1/accounts/-h06qS59IOXHUSjq3xhGVE/orders.json?count=25&marker=1629918202327&status=OPEN", "/2awfNBq4STKS+rN8ZOAMF5UNdc=", nil, false, true},
		{"Q", "GET", "https://api.etrade.com/v1/market/quote/AAPL,MSFT.json?detailFlag=ALL", "nkF70g/2LgkDvQoOSZ1Vf06stIU=", nil, false, true},
		{"F", "GET", "https://api.etrade.com/oauth/access_token", "30nPgTtr6+qWl5dPc54gQewq+ko=", map[string]string{"oauth_verifier": "Y27X25F"}, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := vectorServer(t)
			params := map[string]string{"oauth_consumer_key": vecKey, "oauth_nonce": vecNonce, "oauth_signature_method": "HMAC-SHA1",
				"oauth_timestamp": vecTS, "oauth_token": vecToken, "oauth_signature": tt.sig}
			if tt.requestToken {
				params["oauth_token"] = "/iQRgQCRGPo7Xdk6G8QDSEzX0Jsy6sKNcULcDavAGgU="
			}
			for k, v := range tt.extra {
				params[k] = v
			}
			r := httptest.NewRequest(tt.method, tt.url, strings.NewReader(`{"any":"json"}`))
			r.Header.Set("Content-Type", "application/json")
			r.Header.Set("Authorization", header(params))
			secretOf := s.accessSecret
			if tt.requestToken {
				secretOf = func(tok string) (string, *oauthError) { return s.state.requestTokens[tok].secret, nil }
			}
			_, oerr := s.verify(r, secretOf)
			if (oerr == nil) != tt.want {
				t.Errorf("verified = %t, want %t (%v)", oerr == nil, tt.want, oerr)
			}
			if !tt.want && oerr != nil && oerr.problem != problemSignature {
				t.Errorf("problem %q, want %q", oerr.problem, problemSignature)
			}
		})
	}
}

func TestVerifyRequestTokenVectorE(t *testing.T) {
	s := vectorServer(t)
	r := httptest.NewRequest("GET", "https://api.etrade.com/oauth/request_token", nil)
	r.Header.Set("Authorization", header(map[string]string{"oauth_consumer_key": vecKey, "oauth_nonce": vecNonce,
		"oauth_signature_method": "HMAC-SHA1", "oauth_timestamp": vecTS, "oauth_callback": "oob",
		"oauth_signature": "+SchTy2KMcH3NRLOmVVEdsCdaGY="}))
	if _, oerr := s.verify(r, nil); oerr != nil {
		t.Fatalf("vector E refused: %v", oerr.text())
	}
}

// TestRFC5849Vector checks the form-body rule with the RFC's example
// (erratum 2550 signature).
func TestRFC5849Vector(t *testing.T) {
	s, err := NewUnstarted(Config{ConsumerKey: "9djdj82h48djs9d2", ConsumerSecret: "j49sk3j29djd",
		Clock: clocktest.New(time.Unix(137131201, 0))})
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("POST", "http://example.com/request?b5=%3D%253D&a3=a&c%40=&a2=r%20b", strings.NewReader("c2&a3=2+q"))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Authorization", `OAuth realm="Example", oauth_consumer_key="9djdj82h48djs9d2", oauth_token="kkk9d7dh3k39sjv7", oauth_signature_method="HMAC-SHA1", oauth_timestamp="137131201", oauth_nonce="7d8f3e4a", oauth_signature="r6%2FTJjbCOr97%2F%2BUU0NsvSne7s5g%3D"`)
	_, oerr := s.verify(r, func(string) (string, *oauthError) { return "dh893hdasih9", nil })
	if oerr != nil {
		t.Fatalf("RFC vector refused: %s", oerr.text())
	}
}

func TestVerifyRefusals(t *testing.T) {
	base := func() map[string]string {
		return map[string]string{"oauth_consumer_key": vecKey, "oauth_nonce": vecNonce, "oauth_signature_method": "HMAC-SHA1",
			"oauth_timestamp": vecTS, "oauth_token": vecToken, "oauth_signature": "UOnPVdzExTAgHkcGWLLfeTaaMSM="}
	}
	tests := []struct {
		name    string
		mutate  func(map[string]string)
		problem string
	}{
		{"wrong consumer key", func(p map[string]string) { p["oauth_consumer_key"] = "nope" }, problemConsumer},
		{"stale timestamp", func(p map[string]string) { p["oauth_timestamp"] = "1344885000" }, problemTimestamp},
		{"method", func(p map[string]string) { p["oauth_signature_method"] = "PLAINTEXT" }, problemMethod},
		{"unknown token", func(p map[string]string) { p["oauth_token"] = "unknown" }, problemTokenRej},
		{"missing nonce", func(p map[string]string) { delete(p, "oauth_nonce") }, problemParameters},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := vectorServer(t)
			p := base()
			tt.mutate(p)
			r := httptest.NewRequest("GET", "https://api.etrade.com/v1/accounts/list", nil)
			r.Header.Set("Authorization", header(p))
			_, oerr := s.verify(r, s.accessSecret)
			if oerr == nil || oerr.problem != tt.problem {
				t.Errorf("got %v, want problem %s", oerr, tt.problem)
			}
		})
	}
	t.Run("replayed nonce", func(t *testing.T) {
		s := vectorServer(t)
		for i, want := range []string{"", problemNonce} {
			r := httptest.NewRequest("GET", "https://api.etrade.com/v1/accounts/list", nil)
			r.Header.Set("Authorization", header(base()))
			_, oerr := s.verify(r, s.accessSecret)
			got := ""
			if oerr != nil {
				got = oerr.problem
			}
			if got != want {
				t.Errorf("request %d: problem %q, want %q", i+1, got, want)
			}
		}
	})
	t.Run("duplicate parameter", func(t *testing.T) {
		if _, err := parseAuthorization(`OAuth oauth_nonce="a", oauth_nonce="b"`); err == nil {
			t.Error("duplicate oauth_nonce accepted")
		}
	})
}

// TestRefusalShapes: /oauth answers an HTML page, /v1 a JSON Error, both with
// WWW-Authenticate.
func TestRefusalShapes(t *testing.T) {
	s, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, tc := range []struct{ path, ctype, contains string }{
		{"/oauth/request_token", "text/html", "oauth_problem=parameter_absent"},
		{"/v1/accounts/list.json", "application/json", `"message":"oauth_problem=parameter_absent`},
	} {
		resp, err := s.Client().Get(s.URL() + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		_, _ = io.Copy(&b, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("Content-Type"), tc.ctype) ||
			!strings.Contains(b.String(), tc.contains) || !strings.Contains(resp.Header.Get("WWW-Authenticate"), "oauth_problem=") {
			t.Errorf("%s: %d %q %q", tc.path, resp.StatusCode, resp.Header.Get("Content-Type"), b.String())
		}
	}
}
