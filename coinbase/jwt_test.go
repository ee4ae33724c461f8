package coinbase

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"log/slog"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/arbiontrader/arbion/errors"
	"github.com/google/go-cmp/cmp"
)

const testKeyName = "organizations/0f7e-org/apiKeys/3c1b-key"

var signTime = time.Date(2026, 3, 2, 14, 30, 0, 0, time.UTC)

func fixedNow() time.Time { return signTime }

// keyMaterial generates one key of each accepted form.
type keyMaterial struct {
	name   string
	secret string
	public any
	alg    string
}

func testKeys(t testing.TB) []keyMaterial {
	t.Helper()
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sec1, _ := x509.MarshalECPrivateKey(ec)
	pkcs8EC, _ := x509.MarshalPKCS8PrivateKey(ec)
	edPub, edPriv, _ := ed25519.GenerateKey(rand.Reader)
	pkcs8Ed, _ := x509.MarshalPKCS8PrivateKey(edPriv)
	pemOf := func(typ string, der []byte) string {
		return string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}))
	}
	escaped := strings.ReplaceAll(pemOf("EC PRIVATE KEY", sec1), "\n", `\n`)
	return []keyMaterial{
		{"ES256 SEC1 PEM", pemOf("EC PRIVATE KEY", sec1), &ec.PublicKey, "ES256"},
		{"ES256 SEC1 PEM with literal \\n", escaped, &ec.PublicKey, "ES256"},
		{"ES256 PKCS#8 PEM", pemOf("PRIVATE KEY", pkcs8EC), &ec.PublicKey, "ES256"},
		{"EdDSA base64 seed||public", base64.StdEncoding.EncodeToString(edPriv), edPub, "EdDSA"},
		{"EdDSA base64 seed", base64.StdEncoding.EncodeToString(edPriv.Seed()), edPub, "EdDSA"},
		{"EdDSA PKCS#8 PEM", pemOf("PRIVATE KEY", pkcs8Ed), edPub, "EdDSA"},
	}
}

// verifyWithStdlib checks a token with the standard library only and
// returns its header and claims.
func verifyWithStdlib(t *testing.T, token string, public any) (map[string]any, map[string]any) {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d segments", len(parts))
	}
	var segs [3][]byte
	for i, p := range parts {
		b, err := base64.RawURLEncoding.DecodeString(p)
		if err != nil {
			t.Fatalf("segment %d is not unpadded base64url: %v", i, err)
		}
		segs[i] = b
	}
	var header, claims map[string]any
	for i, dst := range []*map[string]any{&header, &claims} {
		dec := json.NewDecoder(bytes.NewReader(segs[i]))
		dec.UseNumber()
		if err := dec.Decode(dst); err != nil {
			t.Fatalf("segment %d is not a JSON object: %v", i, err)
		}
	}
	input := []byte(parts[0] + "." + parts[1])
	switch pub := public.(type) {
	case *ecdsa.PublicKey:
		if len(segs[2]) != 64 {
			t.Fatalf("ES256 signature is %d bytes, want raw r||s of 64 (not DER)", len(segs[2]))
		}
		digest := sha256.Sum256(input)
		if !ecdsa.Verify(pub, digest[:], new(big.Int).SetBytes(segs[2][:32]), new(big.Int).SetBytes(segs[2][32:])) {
			t.Fatal("ES256 signature does not verify")
		}
	case ed25519.PublicKey:
		if !ed25519.Verify(pub, input, segs[2]) {
			t.Fatal("EdDSA signature does not verify")
		}
	}
	return header, claims
}

func TestSignProducesVerifiableTokens(t *testing.T) {
	for _, k := range testKeys(t) {
		t.Run(k.name, func(t *testing.T) {
			s, err := newJWTSigner(Credentials{KeyName: testKeyName, PrivateKey: k.secret}, fixedNow, nil)
			if err != nil {
				t.Fatal(err)
			}
			tok, err := s.sign("get", "127.0.0.1:54321", "/api/v3/brokerage/orders/historical/fills?order_ids=x&limit=100")
			if err != nil {
				t.Fatal(err)
			}
			header, claims := verifyWithStdlib(t, tok, k.public)
			nonce, _ := header["nonce"].(string)
			if len(nonce) != 64 {
				t.Errorf("nonce %q: want 64 hex characters", nonce)
			}
			delete(header, "nonce")
			wantHeader := map[string]any{"alg": k.alg, "kid": testKeyName, "typ": "JWT"}
			if diff := cmp.Diff(wantHeader, header); diff != "" {
				t.Errorf("header (-want +got):\n%s", diff)
			}
			nbf := json.Number(fmt.Sprint(signTime.Unix()))
			wantClaims := map[string]any{
				"sub": testKeyName, "iss": "cdp", "nbf": nbf, "exp": json.Number(fmt.Sprint(signTime.Unix() + 120)),
				"uri": "GET 127.0.0.1:54321/api/v3/brokerage/orders/historical/fills",
			}
			if diff := cmp.Diff(wantClaims, claims); diff != "" {
				t.Errorf("claims (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEveryTokenHasAFreshNonce(t *testing.T) {
	k := testKeys(t)[0]
	s, err := newJWTSigner(Credentials{KeyName: testKeyName, PrivateKey: k.secret}, fixedNow, nil)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for range 200 {
		tok, err := s.sign("POST", "api.coinbase.com", "/api/v3/brokerage/orders")
		if err != nil {
			t.Fatal(err)
		}
		h, _ := verifyWithStdlib(t, tok, k.public)
		n := h["nonce"].(string)
		if seen[n] {
			t.Fatalf("nonce %s repeated", n)
		}
		seen[n] = true
	}
}

func TestInjectedRandomSetsNonce(t *testing.T) {
	k := testKeys(t)[3] // Ed25519: the whole token is deterministic
	s, err := newJWTSigner(Credentials{KeyName: testKeyName, PrivateKey: k.secret}, fixedNow, bytes.NewReader(bytes.Repeat([]byte{0xab}, 64)))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := s.sign("GET", "api.coinbase.com", "/api/v3/brokerage/accounts")
	if err != nil {
		t.Fatal(err)
	}
	h, _ := verifyWithStdlib(t, tok, k.public)
	if want := strings.Repeat("ab", 32); h["nonce"] != want {
		t.Errorf("nonce = %v, want %s", h["nonce"], want)
	}
}

func TestBadKeysAreConfigurationErrors(t *testing.T) {
	keys := testKeys(t)
	ec := keys[0]
	ecKey, _ := parsePrivateKey(ec.secret)
	pubDER, _ := x509.MarshalPKIXPublicKey(&ecKey.(*ecdsa.PrivateKey).PublicKey)
	publicPEM := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}))
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	p384DER, _ := x509.MarshalECPrivateKey(p384)
	_, otherEd, _ := ed25519.GenerateKey(rand.Reader)
	edRaw, _ := base64.StdEncoding.DecodeString(keys[3].secret)
	mismatched := base64.StdEncoding.EncodeToString(append(append([]byte{}, edRaw[:32]...), otherEd[32:]...))
	tests := []struct {
		name, keyName, secret, want string
	}{
		{"public key pasted as the private key", testKeyName, publicPEM, "PUBLIC KEY, not a private key"},
		{"empty secret", testKeyName, "", "private key is empty"},
		{"empty key name", "", ec.secret, "key name is empty"},
		{"PEM in the key name", ec.secret, ec.secret, "key name holds a PEM block"},
		{"P-384 key", testKeyName, string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: p384DER})), "ES256 needs P-256"},
		{"broken PEM", testKeyName, "-----BEGIN EC PRIVATE KEY-----\nnot base64\n-----END EC PRIVATE KEY-----\n", "does not decode"},
		{"corrupt SEC1 body", testKeyName, string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: []byte("garbage-key-bytes")})), "not a valid SEC1 key"},
		{"base64 of the wrong length", testKeyName, base64.StdEncoding.EncodeToString(make([]byte, 48)), "decodes to 48 bytes"},
		{"Ed25519 public half not matching", testKeyName, mismatched, "does not match its seed"},
		{"neither PEM nor base64", testKeyName, "hunter2!!", "neither PEM nor standard base64"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := newJWTSigner(Credentials{KeyName: tc.keyName, PrivateKey: tc.secret}, nil, nil)
			if !errors.Is(err, errors.ErrConfiguration) {
				t.Fatalf("error %v, want ErrConfiguration", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not say %q", err, tc.want)
			}
			if tc.secret != "" && len(tc.secret) > 20 && strings.Contains(err.Error(), tc.secret[len(tc.secret)/2:len(tc.secret)/2+8]) {
				t.Errorf("error quotes the secret: %q", err)
			}
		})
	}
}

func TestSecretsNeverPrinted(t *testing.T) {
	k := testKeys(t)[0]
	creds := Credentials{KeyName: testKeyName, PrivateKey: k.secret}
	s, err := newJWTSigner(creds, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Credentials: creds}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("cfg", "creds", creds, "config", cfg)
	outputs := []string{
		fmt.Sprintf("%v", creds), fmt.Sprintf("%+v", creds), fmt.Sprintf("%#v", creds), fmt.Sprintf("%s", creds),
		fmt.Sprintf("%v", cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg),
		fmt.Sprintf("%v", s), fmt.Sprintf("%+v", s), fmt.Sprintf("%#v", *s), logged.String(),
	}
	body := strings.Split(k.secret, "\n")[1][:16] // a piece of the key's base64
	for _, out := range outputs {
		if strings.Contains(out, body) || strings.Contains(out, "PRIVATE KEY") {
			t.Errorf("secret printed: %s", out)
		}
	}
}

func TestRequestURIDropsQuery(t *testing.T) {
	tests := []struct{ method, host, path, want string }{
		{"post", "api.coinbase.com", "/api/v3/brokerage/orders", "POST api.coinbase.com/api/v3/brokerage/orders"},
		{"GET", "127.0.0.1:8080", "/api/v3/brokerage/orders/historical/batch?cursor=2&limit=5", "GET 127.0.0.1:8080/api/v3/brokerage/orders/historical/batch"},
		{"GET", "api.coinbase.com", "/api/v3/brokerage/products/BTC%2FUSD", "GET api.coinbase.com/api/v3/brokerage/products/BTC%2FUSD"},
	}
	for _, tc := range tests {
		if got := requestURI(tc.method, tc.host, tc.path); got != tc.want {
			t.Errorf("requestURI(%s %s %s) = %q, want %q", tc.method, tc.host, tc.path, got, tc.want)
		}
	}
}
