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
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/internal/redact"
)

// JWT algorithms Coinbase accepts for CDP API keys.
const (
	algES256 = "ES256" // ECDSA P-256, SHA-256, raw r||s signature
	algEdDSA = "EdDSA" // pure Ed25519
)

// tokenLifetime is how long a signed request token is valid: Coinbase
// documents two minutes.
const tokenLifetime = 120 * time.Second

// Credentials is a CDP API key: its name (or id) and its private key. It is
// formatted as REDACTED by fmt, slog and %v, so that a config printed in a
// log never carries the key.
type Credentials struct {
	// KeyName is the key's name, "organizations/{org}/apiKeys/{key}", or the
	// bare key id of a newer Ed25519 key. It is the JWT's kid and sub.
	KeyName string
	// PrivateKey is the secret as downloaded: a PEM EC private key (SEC1 "EC
	// PRIVATE KEY" or PKCS#8 "PRIVATE KEY"), a PKCS#8 PEM Ed25519 key, or the
	// standard base64 of an Ed25519 key (64 bytes seed||public, or the
	// 32-byte seed). Literal `\n` sequences, as copied from env files, are
	// accepted in place of newlines.
	PrivateKey string
}

// String redacts the private key.
func (c Credentials) String() string {
	return fmt.Sprintf("coinbase.Credentials{KeyName: %q, PrivateKey: %s}", c.KeyName, redact.IfSet(c.PrivateKey))
}

// GoString redacts the private key for %#v.
func (c Credentials) GoString() string { return c.String() }

// Format redacts the private key whatever the verb.
func (c Credentials) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, c.String()) }

// LogValue redacts the private key in slog output.
func (c Credentials) LogValue() slog.Value {
	return slog.GroupValue(slog.String("key_name", c.KeyName), slog.String("private_key", redact.IfSet(c.PrivateKey)))
}

// jwtSigner signs one short-lived JWT per HTTP request with a CDP API key.
// It holds key material: it redacts itself when formatted.
type jwtSigner struct {
	keyName string
	alg     string
	ecKey   *ecdsa.PrivateKey
	edKey   ed25519.PrivateKey
	now     func() time.Time
	random  io.Reader // nonces; ECDSA signing always uses crypto/rand (Go ≥ 1.26)
}

// Format redacts the signer whatever the verb.
func (s jwtSigner) Format(f fmt.State, _ rune) {
	_, _ = fmt.Fprintf(f, "coinbase.jwtSigner{kid: %q, alg: %s, key: REDACTED}", s.keyName, s.alg)
}

// newJWTSigner parses the credentials. now and random default to the real
// clock and crypto/rand. Every failure matches errors.ErrConfiguration and
// never quotes the secret.
func newJWTSigner(c Credentials, now func() time.Time, random io.Reader) (*jwtSigner, error) {
	if err := checkKeyName(c.KeyName); err != nil {
		return nil, err
	}
	s := &jwtSigner{keyName: c.KeyName, now: now, random: random}
	if s.now == nil {
		s.now = time.Now
	}
	if s.random == nil {
		s.random = rand.Reader
	}
	key, err := parsePrivateKey(c.PrivateKey)
	if err != nil {
		return nil, err
	}
	switch k := key.(type) {
	case *ecdsa.PrivateKey:
		s.alg, s.ecKey = algES256, k
	case ed25519.PrivateKey:
		s.alg, s.edKey = algEdDSA, k
	}
	return s, nil
}

func configError(format string, args ...any) error {
	return fmt.Errorf("coinbase: "+format+": %w", append(args, errors.ErrConfiguration)...)
}

func checkKeyName(name string) error {
	switch {
	case strings.TrimSpace(name) == "":
		return configError("credentials: key name is empty")
	case strings.Contains(name, "-----BEGIN"):
		return configError("credentials: the key name holds a PEM block; put the key's name (organizations/.../apiKeys/...) there and the private key in PrivateKey")
	case strings.ContainsAny(name, "\r\n\"\\"):
		return configError("credentials: the key name has a newline, quote or backslash")
	}
	return nil
}

// parsePrivateKey returns an *ecdsa.PrivateKey on P-256 or an
// ed25519.PrivateKey. The error never contains the secret: parser messages
// are replaced by a description of what was expected.
func parsePrivateKey(secret string) (any, error) {
	s := strings.TrimSpace(strings.ReplaceAll(strings.ReplaceAll(secret, `\r\n`, "\n"), `\n`, "\n"))
	if s == "" {
		return nil, configError("credentials: private key is empty")
	}
	if !strings.Contains(s, "-----BEGIN") {
		return parseEd25519Base64(s)
	}
	block, _ := pem.Decode([]byte(s))
	if block == nil {
		return nil, configError("credentials: private key looks like PEM but does not decode (check the BEGIN/END lines and newlines)")
	}
	switch block.Type {
	case "EC PRIVATE KEY":
		k, err := x509.ParseECPrivateKey(block.Bytes)
		if err != nil {
			return nil, configError("credentials: the EC PRIVATE KEY block is not a valid SEC1 key")
		}
		return checkP256(k)
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, configError("credentials: the PRIVATE KEY block is not a valid PKCS#8 key")
		}
		switch k := k.(type) {
		case *ecdsa.PrivateKey:
			return checkP256(k)
		case ed25519.PrivateKey:
			return k, nil
		default:
			return nil, configError("credentials: the PKCS#8 key is %T; Coinbase keys are ECDSA P-256 or Ed25519", k)
		}
	case "PUBLIC KEY", "EC PUBLIC KEY", "RSA PUBLIC KEY", "CERTIFICATE":
		return nil, configError("credentials: PrivateKey holds a %s, not a private key; paste the private key downloaded with the API key", block.Type)
	case "ENCRYPTED PRIVATE KEY":
		return nil, configError("credentials: the private key is encrypted; decrypt it first")
	default:
		return nil, configError("credentials: unsupported PEM block %q; want EC PRIVATE KEY or PRIVATE KEY", block.Type)
	}
}

func checkP256(k *ecdsa.PrivateKey) (any, error) {
	if k.Curve != elliptic.P256() {
		return nil, configError("credentials: the EC key is on %s; ES256 needs P-256", k.Curve.Params().Name)
	}
	return k, nil
}

// parseEd25519Base64 decodes the standard base64 of a 32-byte seed or of the
// 64-byte seed||public form; for the latter the public half must match.
func parseEd25519Base64(s string) (any, error) {
	s = strings.Join(strings.Fields(s), "")
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, configError("credentials: private key is neither PEM nor standard base64")
	}
	switch len(raw) {
	case ed25519.SeedSize, ed25519.PrivateKeySize:
	default:
		return nil, configError("credentials: base64 private key decodes to %d bytes; an Ed25519 key has 32 or 64", len(raw))
	}
	key := ed25519.NewKeyFromSeed(raw[:ed25519.SeedSize])
	if len(raw) == ed25519.PrivateKeySize && !bytes.Equal(raw[ed25519.SeedSize:], key[ed25519.SeedSize:]) {
		return nil, configError("credentials: the Ed25519 key's public half does not match its seed")
	}
	return key, nil
}

// jwtHeader and jwtClaims are the JSON members of the token (key order is
// free in JWS; this one matches the Python SDK's).
type jwtHeader struct {
	Alg   string `json:"alg"`
	Kid   string `json:"kid"`
	Nonce string `json:"nonce"`
	Typ   string `json:"typ"`
}

type jwtClaims struct {
	Sub string `json:"sub"`
	Iss string `json:"iss"`
	Nbf int64  `json:"nbf"`
	Exp int64  `json:"exp"`
	URI string `json:"uri,omitempty"` // absent on WebSocket tokens
}

// requestURI is the uri claim: upper-case method, one space, host (with
// port when there is one) and escaped path, never the query string.
func requestURI(method, host, escapedPath string) string {
	if i := strings.IndexByte(escapedPath, '?'); i >= 0 {
		escapedPath = escapedPath[:i]
	}
	return strings.ToUpper(method) + " " + host + escapedPath
}

// sign returns a fresh token for one request. Every call has its own nonce.
func (s *jwtSigner) sign(method, host, escapedPath string) (string, error) {
	return s.signURI(requestURI(method, host, escapedPath))
}

// signStream returns a fresh token for one WebSocket subscribe or
// unsubscribe message: the same claims without uri, which Coinbase's
// WebSocket refuses.
func (s *jwtSigner) signStream() (string, error) { return s.signURI("") }

// signURI signs the claim set with uri (omitted when empty).
func (s *jwtSigner) signURI(uri string) (string, error) {
	var nonce [32]byte
	if _, err := io.ReadFull(s.random, nonce[:]); err != nil {
		return "", fmt.Errorf("coinbase: jwt nonce: %w", err)
	}
	now := s.now().Unix()
	header, err := json.Marshal(jwtHeader{Alg: s.alg, Kid: s.keyName, Nonce: hex.EncodeToString(nonce[:]), Typ: "JWT"})
	if err != nil {
		return "", err
	}
	claims, err := json.Marshal(jwtClaims{
		Sub: s.keyName, Iss: "cdp", Nbf: now, Exp: now + int64(tokenLifetime/time.Second), URI: uri,
	})
	if err != nil {
		return "", err
	}
	enc := base64.RawURLEncoding
	input := make([]byte, 0, enc.EncodedLen(len(header))+enc.EncodedLen(len(claims))+1+enc.EncodedLen(ed25519.SignatureSize)+1)
	input = enc.AppendEncode(input, header)
	input = append(input, '.')
	input = enc.AppendEncode(input, claims)
	sig, err := s.signature(input)
	if err != nil {
		return "", err
	}
	input = append(input, '.')
	return string(enc.AppendEncode(input, sig)), nil
}

// signature signs the JWS signing input: ES256 as the raw 64-byte r||s (JWS
// form, not ASN.1 DER), EdDSA as the plain Ed25519 signature.
func (s *jwtSigner) signature(input []byte) ([]byte, error) {
	if s.edKey != nil {
		return ed25519.Sign(s.edKey, input), nil
	}
	digest := sha256.Sum256(input)
	r, sv, err := ecdsa.Sign(rand.Reader, s.ecKey, digest[:])
	if err != nil {
		return nil, fmt.Errorf("coinbase: jwt signature failed: %w", err)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	sv.FillBytes(sig[32:])
	return sig, nil
}
