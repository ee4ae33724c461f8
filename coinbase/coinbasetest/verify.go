package coinbasetest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"slices"
	"strings"
	"time"
)

// TokenRecord is what the emulator decoded from one accepted request token.
type TokenRecord struct {
	Alg, Kid, Nonce, Typ string
	Sub, Iss, URI        string
	Nbf, Exp             int64
	OAuth                bool // an OAuth access token, not a JWT
	// Raw is the token as sent, so that tests can look for it where it
	// must not be (error text, logs).
	Raw string
}

// authError is a refused token; Reason is kept for the test to read, the
// client only ever sees 401 "Unauthorized".
type authError struct{ Reason string }

func (e *authError) Error() string { return e.Reason }

func refuse(format string, args ...any) *authError {
	return &authError{Reason: fmt.Sprintf(format, args...)}
}

// principal is who a request acts for.
type principal struct {
	token     TokenRecord
	key       *Key
	oauth     *oauthAccess
	portfolio string
}

// authenticate checks the Authorization header per the spec's verification
// list (section 2.4). It is called with s.mu held.
func (s *Server) authenticate(r *http.Request) (*principal, *authError) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" { // the scheme is case-insensitive (RFC 7235)
		return nil, refuse("no bearer token")
	}
	if !strings.Contains(token, ".") {
		return s.authenticateOAuth(token)
	}
	return s.verifyJWT(token, func(uri string) *authError {
		if strings.Contains(uri, "?") {
			return refuse("uri %q carries a query string", uri)
		}
		if want := r.Method + " " + r.Host + r.URL.EscapedPath(); uri != want {
			return refuse("uri %q does not match the request %q", uri, want)
		}
		return nil
	})
}

// verifyJWT checks a CDP key JWT (header, claims, signature, nonce, key's
// portfolio); checkURI judges its uri claim ("" when absent), which REST
// binds to the request and the WebSocket requires to be absent. It is
// called with s.mu held.
func (s *Server) verifyJWT(token string, checkURI func(uri string) *authError) (*principal, *authError) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 || slices.Contains(parts, "") {
		return nil, refuse("token is not three non-empty segments")
	}
	var raw [3][]byte
	for i, p := range parts {
		b, err := base64.RawURLEncoding.Strict().DecodeString(p)
		if err != nil {
			return nil, refuse("segment %d is not unpadded base64url", i)
		}
		raw[i] = b
	}
	var header struct {
		Alg   *string `json:"alg"`
		Kid   *string `json:"kid"`
		Nonce *string `json:"nonce"`
		Typ   string  `json:"typ"`
	}
	if err := json.Unmarshal(raw[0], &header); err != nil {
		return nil, refuse("header is not a JSON object")
	}
	if header.Alg == nil || header.Kid == nil || header.Nonce == nil || *header.Nonce == "" {
		return nil, refuse("header lacks alg, kid or nonce")
	}
	key, ok := s.keys[*header.Kid]
	if !ok {
		return nil, refuse("unknown kid %q", *header.Kid)
	}
	claims, aerr := s.checkClaims(raw[1], *header.Kid, checkURI)
	if aerr != nil {
		return nil, aerr
	}
	input := []byte(parts[0] + "." + parts[1])
	if aerr := verifySignature(key, *header.Alg, input, raw[2]); aerr != nil {
		return nil, aerr
	}
	nonceKey := *header.Kid + "\x00" + *header.Nonce
	if _, seen := s.nonces[nonceKey]; seen {
		return nil, refuse("nonce %q replayed", *header.Nonce)
	}
	s.nonces[nonceKey] = time.Unix(claims.Exp, 0)
	portfolio := key.Portfolio
	if portfolio == "" {
		portfolio = s.portfolio
	}
	if portfolio != s.portfolio {
		return nil, refuse("key %q belongs to portfolio %s, not %s", key.Name, portfolio, s.portfolio)
	}
	claims.Alg, claims.Kid, claims.Nonce, claims.Typ = *header.Alg, *header.Kid, *header.Nonce, header.Typ
	claims.Raw = token
	return &principal{token: claims, key: key, portfolio: portfolio}, nil
}

// checkClaims decodes and checks sub, iss, nbf, exp and aud, and hands uri
// to checkURI.
func (s *Server) checkClaims(raw []byte, kid string, checkURI func(string) *authError) (TokenRecord, *authError) {
	var c map[string]json.RawMessage
	if err := json.Unmarshal(raw, &c); err != nil {
		return TokenRecord{}, refuse("claims are not a JSON object")
	}
	str := func(name string) (string, bool) {
		var v string
		return v, json.Unmarshal(c[name], &v) == nil
	}
	integer := func(name string) (int64, bool) {
		v := bytes.TrimSpace(c[name])
		n, ok := new(big.Int).SetString(string(v), 10)
		if !ok || !n.IsInt64() {
			return 0, false
		}
		return n.Int64(), true
	}
	var rec TokenRecord
	var ok bool
	if rec.Sub, ok = str("sub"); !ok || rec.Sub != kid {
		return rec, refuse("sub %q is not the kid %q", rec.Sub, kid)
	}
	rec.Iss, _ = str("iss")
	if rec.Iss != "cdp" && !(rec.Iss == "coinbase-cloud" && s.cfg.AcceptLegacyIssuer) {
		return rec, refuse("iss %q is not cdp", rec.Iss)
	}
	if rec.Nbf, ok = integer("nbf"); !ok {
		return rec, refuse("nbf is not an integer")
	}
	if rec.Exp, ok = integer("exp"); !ok {
		return rec, refuse("exp is not an integer")
	}
	now := s.clock.Now()
	switch {
	case time.Unix(rec.Nbf, 0).After(now.Add(s.cfg.NotBeforeLeeway)):
		return rec, refuse("nbf %d is in the future (now %d)", rec.Nbf, now.Unix())
	case !now.Before(time.Unix(rec.Exp, 0)):
		return rec, refuse("token expired at %d (now %d)", rec.Exp, now.Unix())
	case rec.Exp-rec.Nbf > 120:
		return rec, refuse("token lifetime %ds exceeds 120s", rec.Exp-rec.Nbf)
	}
	if aud, present := c["aud"]; present {
		var list []string
		var one string
		if json.Unmarshal(aud, &list) != nil {
			if json.Unmarshal(aud, &one) != nil {
				return rec, refuse("aud is neither a string nor a list")
			}
			list = []string{one}
		}
		if !slices.Contains(list, "retail_rest_api_proxy") {
			return rec, refuse("aud %v lacks retail_rest_api_proxy", list)
		}
	}
	rec.URI, _ = str("uri")
	return rec, checkURI(rec.URI)
}

func verifySignature(key *Key, alg string, input, sig []byte) *authError {
	switch pub := key.Public.(type) {
	case *ecdsa.PublicKey:
		if alg != "ES256" {
			return refuse("alg %q does not match an ECDSA key", alg)
		}
		if len(sig) != 64 {
			return refuse("ES256 signature is %d bytes, want raw r||s of 64", len(sig))
		}
		digest := sha256.Sum256(input)
		r, sv := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
		if !ecdsa.Verify(pub, digest[:], r, sv) {
			return refuse("ES256 signature does not verify")
		}
	case ed25519.PublicKey:
		if alg != "EdDSA" {
			return refuse("alg %q does not match an Ed25519 key", alg)
		}
		if !ed25519.Verify(pub, input, sig) {
			return refuse("EdDSA signature does not verify")
		}
	default:
		return refuse("key %q has an unsupported public key type %T", key.Name, key.Public)
	}
	return nil
}

// forgetExpiredNonces drops nonces whose token can no longer be used.
func (s *Server) forgetExpiredNonces(now time.Time) {
	for k, exp := range s.nonces {
		if !now.Before(exp) {
			delete(s.nonces, k)
		}
	}
}
