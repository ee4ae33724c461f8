package coinbasetest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"io"
)

// Key is an API key the emulator knows: the public half it verifies tokens
// with, the permissions it grants and the portfolio it is bound to.
type Key struct {
	Name      string           // the kid/sub; "organizations/{org}/apiKeys/{id}" or a bare id
	Public    crypto.PublicKey // *ecdsa.PublicKey (P-256) or ed25519.PublicKey
	View      bool             // may read
	Trade     bool             // may create, cancel and edit orders
	Portfolio string           // the portfolio uuid; "" = the server's portfolio
}

// TestKey is a freshly generated key pair for tests: Secret is the private
// key in the form Coinbase hands out (SEC1 PEM for ECDSA, standard base64 of
// seed||public for Ed25519). It is test material only; it redacts itself
// when formatted all the same, so that test logs stay clean.
type TestKey struct {
	Name   string
	Secret string
	Public crypto.PublicKey
}

// Format prints the key's name and type, never the secret.
func (k TestKey) Format(f fmt.State, _ rune) {
	_, _ = fmt.Fprintf(f, "coinbasetest.TestKey{Name: %q, Public: %T, Secret: REDACTED}", k.Name, k.Public)
}

// NewES256Key generates an ECDSA P-256 key whose Secret is a SEC1 "EC
// PRIVATE KEY" PEM block, like the keys the CDP portal downloads.
func NewES256Key(name string) (TestKey, error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return TestKey{}, err
	}
	der, err := x509.MarshalECPrivateKey(priv)
	if err != nil {
		return TestKey{}, err
	}
	secret := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})
	return TestKey{Name: name, Secret: string(secret), Public: &priv.PublicKey}, nil
}

// NewEd25519Key generates an Ed25519 key whose Secret is the standard base64
// (padded) of the 64-byte seed||public form. random may be nil
// (crypto/rand).
func NewEd25519Key(name string, random io.Reader) (TestKey, error) {
	if random == nil {
		random = rand.Reader
	}
	pub, priv, err := ed25519.GenerateKey(random)
	if err != nil {
		return TestKey{}, err
	}
	return TestKey{Name: name, Secret: base64.StdEncoding.EncodeToString(priv), Public: pub}, nil
}

// PublicPEM returns the key's public half as a PKIX "PUBLIC KEY" PEM block,
// which tests paste where a private key belongs.
func (k TestKey) PublicPEM() (string, error) {
	der, err := x509.MarshalPKIXPublicKey(k.Public)
	if err != nil {
		return "", err
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})), nil
}
