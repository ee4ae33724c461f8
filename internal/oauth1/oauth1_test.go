package oauth1

import (
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/arbiontrader/arbion/clock/clocktest"
	"github.com/google/go-cmp/cmp"
)

// The developer guide's worked example (spec §4).
const (
	etradeConsumerKey    = "c5bb4dcb7bd6826c7c4340df3f791188"
	etradeConsumerSecret = "7d30246211192cda43ede3abd9b393b9"
	etradeToken          = "VbiNYl63EejjlKdQM6FeENzcnrLACrZ2JYD6NQROfVI="
	etradeTokenSecret    = "XCF9RzyQr4UEPloA+WlC06BnTfYC1P0Fwr3GUw/B0Es="
	etradeNonce          = "0bba225a40d1bbac2430aa0c6163ce44"
	etradeTimestamp      = 1344885636
)

func fixedSigner(key, secret, nonce string, ts int64, version bool) *Signer {
	return &Signer{
		ConsumerKey: key, ConsumerSecret: secret, Version: version,
		Nonce: func() string { return nonce },
		Clock: clocktest.New(time.Unix(ts, 0)),
	}
}

// signatureOf extracts and decodes oauth_signature from a header value.
func signatureOf(t *testing.T, header string) string {
	t.Helper()
	for _, part := range strings.Split(strings.TrimPrefix(header, "OAuth "), ",") {
		name, quoted, _ := strings.Cut(part, "=")
		if name == "oauth_signature" {
			v, err := url.PathUnescape(strings.Trim(quoted, `"`))
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
	}
	t.Fatalf("no oauth_signature in %q", header)
	return ""
}

func TestETradeVectors(t *testing.T) {
	tests := []struct {
		name, method, url string
		creds             Credentials
		version           bool
		want              string
	}{
		{"A", "GET", "https://api.etrade.com/v1/accounts/list",
			Credentials{Token: etradeToken, TokenSecret: etradeTokenSecret}, false, "UOnPVdzExTAgHkcGWLLfeTaaMSM="},
		{"A2 with oauth_version", "GET", "https://api.etrade.com/v1/accounts/list",
			Credentials{Token: etradeToken, TokenSecret: etradeTokenSecret}, true, "gZLKg/AOvv4+r1+EBLWKdVUVBC0="},
		{"B balance query", "GET", "https://api.etrade.com/v1/accounts/-h06qS59IOXHUSjq3xhGVE/balance.json?instType=BROKERAGE&realTimeNAV=true",
			Credentials{Token: etradeToken, TokenSecret: etradeTokenSecret}, false, "pUENXzXjo6tW8FCgfedVxOAA8xc="},
		{"C preview JSON body unsigned", "POST", "https://api.etrade.com/v1/accounts/-h06qS59IOXHUSjq3xhGVE/orders/preview.json",
			Credentials{Token: etradeToken, TokenSecret: etradeTokenSecret}, false, "k1nBRz1o1DTJQYCJu2mNKprPaDo="},
		{"D orders marker", "GET", "https://api.etrade.com/v1/accounts/-h06qS59IOXHUSjq3xhGVE/orders.json?count=25&marker=1629918202327&status=OPEN",
			Credentials{Token: etradeToken, TokenSecret: etradeTokenSecret}, false, "/2awfNBq4STKS+rN8ZOAMF5UNdc="},
		{"Q literal comma", "GET", "https://api.etrade.com/v1/market/quote/AAPL,MSFT.json?detailFlag=ALL",
			Credentials{Token: etradeToken, TokenSecret: etradeTokenSecret}, false, "nkF70g/2LgkDvQoOSZ1Vf06stIU="},
		{"E request token", "GET", "https://api.etrade.com/oauth/request_token",
			Credentials{Callback: "oob"}, false, "+SchTy2KMcH3NRLOmVVEdsCdaGY="},
		{"F access token", "GET", "https://api.etrade.com/oauth/access_token",
			Credentials{Token: "/iQRgQCRGPo7Xdk6G8QDSEzX0Jsy6sKNcULcDavAGgU=", TokenSecret: "/rC9scEpzcwSEMy4vE7nodSzPLqfRINnTNY4voczyFM=", Verifier: "Y27X25F"},
			false, "30nPgTtr6+qWl5dPc54gQewq+ko="},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := url.Parse(tt.url)
			if err != nil {
				t.Fatal(err)
			}
			s := fixedSigner(etradeConsumerKey, etradeConsumerSecret, etradeNonce, etradeTimestamp, tt.version)
			h, err := s.Authorization(tt.method, u, nil, tt.creds)
			if err != nil {
				t.Fatal(err)
			}
			if got := signatureOf(t, h); got != tt.want {
				t.Errorf("signature = %s, want %s", got, tt.want)
			}
		})
	}
}

// TestUnencodedSecretBug reproduces vector A1: with the secrets left raw in
// the key the signature differs from the published one, which this package
// must therefore never produce.
func TestUnencodedSecretBug(t *testing.T) {
	u, _ := url.Parse("https://api.etrade.com/v1/accounts/list")
	params := []Param{
		{"oauth_consumer_key", etradeConsumerKey}, {"oauth_nonce", etradeNonce},
		{"oauth_signature_method", "HMAC-SHA1"}, {"oauth_timestamp", "1344885636"}, {"oauth_token", etradeToken},
	}
	base := BaseString("GET", u, params)
	if got := Signature(base, etradeConsumerSecret, etradeTokenSecret); got != "UOnPVdzExTAgHkcGWLLfeTaaMSM=" {
		t.Errorf("Signature = %s, want the published UOnPVdzExTAgHkcGWLLfeTaaMSM=", got)
	}
	if got := rawKeySignature(base, etradeConsumerSecret+"&"+etradeTokenSecret); got != "pXblwU+H+2wTeoXWnfMdvO9GuJY=" {
		t.Errorf("raw-key signature = %s, want the A1 vector pXblwU+H+2wTeoXWnfMdvO9GuJY=", got)
	}
}

func TestBaseStringVectorB(t *testing.T) {
	u, _ := url.Parse("https://api.etrade.com/v1/accounts/-h06qS59IOXHUSjq3xhGVE/balance.json?instType=BROKERAGE&realTimeNAV=true")
	q, err := RequestParams(u, nil)
	if err != nil {
		t.Fatal(err)
	}
	params := append(q,
		Param{"oauth_consumer_key", etradeConsumerKey}, Param{"oauth_nonce", etradeNonce},
		Param{"oauth_signature_method", "HMAC-SHA1"}, Param{"oauth_timestamp", "1344885636"}, Param{"oauth_token", etradeToken})
	want := "GET&https%3A%2F%2Fapi.etrade.com%2Fv1%2Faccounts%2F-h06qS59IOXHUSjq3xhGVE%2Fbalance.json&instType%3DBROKERAGE%26oauth_consumer_key%3Dc5bb4dcb7bd6826c7c4340df3f791188%26oauth_nonce%3D0bba225a40d1bbac2430aa0c6163ce44%26oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D1344885636%26oauth_token%3DVbiNYl63EejjlKdQM6FeENzcnrLACrZ2JYD6NQROfVI%253D%26realTimeNAV%3Dtrue"
	if diff := cmp.Diff(want, BaseString("GET", u, params)); diff != "" {
		t.Errorf("base string (-want +got):\n%s", diff)
	}
}

// TestRFC5849Example is §3.4.1's example. The RFC prints the signature
// bYT5CMsGcbgUdFHObYMEfcx6bsw=, which erratum 2550 corrects: with the
// secrets j49sk3j29djd / dh893hdasih9 the right value is
// r6/TJjbCOr97/+UU0NsvSne7s5g=.
func TestRFC5849Example(t *testing.T) {
	u, _ := url.Parse("http://example.com/request?b5=%3D%253D&a3=a&c%40=&a2=r%20b")
	form, err := url.ParseQuery("c2&a3=2+q")
	if err != nil {
		t.Fatal(err)
	}
	s := fixedSigner("9djdj82h48djs9d2", "j49sk3j29djd", "7d8f3e4a", 137131201, false)
	creds := Credentials{Token: "kkk9d7dh3k39sjv7", TokenSecret: "dh893hdasih9"}

	reqParams, err := RequestParams(u, form)
	if err != nil {
		t.Fatal(err)
	}
	base := BaseString("POST", u, append(reqParams, s.oauthParams(creds)...))
	wantBase := "POST&http%3A%2F%2Fexample.com%2Frequest&a2%3Dr%2520b%26a3%3D2%2520q%26a3%3Da%26b5%3D%253D%25253D%26c%2540%3D%26c2%3D%26oauth_consumer_key%3D9djdj82h48djs9d2%26oauth_nonce%3D7d8f3e4a%26oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D137131201%26oauth_token%3Dkkk9d7dh3k39sjv7"
	if diff := cmp.Diff(wantBase, base); diff != "" {
		t.Errorf("base string (-want +got):\n%s", diff)
	}
	h, err := s.Authorization("POST", u, form, creds)
	if err != nil {
		t.Fatal(err)
	}
	if got := signatureOf(t, h); got != "r6/TJjbCOr97/+UU0NsvSne7s5g=" {
		t.Errorf("signature = %s, want r6/TJjbCOr97/+UU0NsvSne7s5g= (erratum 2550)", got)
	}
}

func TestPercentEncode(t *testing.T) {
	tests := map[string]string{
		"":              "",
		"abcABC123-._~": "abcABC123-._~",
		"a b":           "a%20b",
		"+/=":           "%2B%2F%3D",
		"%":             "%25",
		"ü":             "%C3%BC",
		"a,b:c":         "a%2Cb%3Ac",
	}
	for in, want := range tests {
		if got := PercentEncode(in); got != want {
			t.Errorf("PercentEncode(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestHeaderFormat(t *testing.T) {
	u, _ := url.Parse("https://api.etrade.com/v1/accounts/list")
	s := fixedSigner(etradeConsumerKey, etradeConsumerSecret, etradeNonce, etradeTimestamp, false)
	h, err := s.Authorization("GET", u, nil, Credentials{Token: etradeToken, TokenSecret: etradeTokenSecret})
	if err != nil {
		t.Fatal(err)
	}
	want := `OAuth oauth_consumer_key="c5bb4dcb7bd6826c7c4340df3f791188",oauth_nonce="0bba225a40d1bbac2430aa0c6163ce44",oauth_signature="UOnPVdzExTAgHkcGWLLfeTaaMSM%3D",oauth_signature_method="HMAC-SHA1",oauth_timestamp="1344885636",oauth_token="VbiNYl63EejjlKdQM6FeENzcnrLACrZ2JYD6NQROfVI%3D"`
	if diff := cmp.Diff(want, h); diff != "" {
		t.Errorf("header (-want +got):\n%s", diff)
	}
}

func TestBaseURI(t *testing.T) {
	tests := map[string]string{
		"HTTPS://API.Etrade.com:443/v1/x.json?a=b#f": "https://api.etrade.com/v1/x.json",
		"http://127.0.0.1:8080/v1":                   "http://127.0.0.1:8080/v1",
		"http://example.com:80":                      "http://example.com/",
	}
	for in, want := range tests {
		u, err := url.Parse(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := BaseURI(u); got != want {
			t.Errorf("BaseURI(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestErrors(t *testing.T) {
	u, _ := url.Parse("https://x/y?a=%zz")
	s := fixedSigner("k", "s", "n", 1, false)
	if _, err := s.Authorization("GET", u, nil, Credentials{}); err == nil {
		t.Error("bad query escape: no error")
	}
	u, _ = url.Parse("https://x/y")
	if _, err := (&Signer{ConsumerKey: "k"}).Authorization("GET", u, nil, Credentials{}); err == nil {
		t.Error("missing consumer secret: no error")
	}
}

func TestDefaultNonceAndClock(t *testing.T) {
	s := &Signer{ConsumerKey: "k", ConsumerSecret: "s"}
	a, b := s.nonce(), s.nonce()
	if len(a) != 32 || a == b {
		t.Errorf("nonces %q, %q: want 32 hex characters, distinct", a, b)
	}
}

func TestRedaction(t *testing.T) {
	s := &Signer{ConsumerKey: "ckey123", ConsumerSecret: "csecret456"}
	c := Credentials{Token: "tok789", TokenSecret: "tsec000", Verifier: "PIN4242", Callback: "oob"}
	var logged strings.Builder
	slog.New(slog.NewTextHandler(&logged, nil)).Info("x", "signer", s, "creds", c)
	for _, out := range []string{
		fmt.Sprint(s), fmt.Sprintf("%+v", s), fmt.Sprintf("%#v", s), fmt.Sprintf("%s", s),
		fmt.Sprint(c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c), fmt.Sprintf("%v", &c), logged.String(),
	} {
		for _, secret := range []string{"ckey123", "csecret456", "tok789", "tsec000", "PIN4242"} {
			if strings.Contains(out, secret) {
				t.Errorf("%q leaks %q", out, secret)
			}
		}
	}
}

func BenchmarkAuthorization(b *testing.B) {
	u, _ := url.Parse("https://api.etrade.com/v1/accounts/-h06qS59IOXHUSjq3xhGVE/orders.json?count=25&marker=1629918202327&status=OPEN")
	s := fixedSigner(etradeConsumerKey, etradeConsumerSecret, etradeNonce, etradeTimestamp, false)
	c := Credentials{Token: etradeToken, TokenSecret: etradeTokenSecret}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Authorization("GET", u, nil, c); err != nil {
			b.Fatal(err)
		}
	}
}
