// Package oauth1 signs HTTP requests with OAuth 1.0a HMAC-SHA1 exactly as
// RFC 5849 §3.4 describes it (with erratum 2550): RFC 3986 percent-encoding,
// parameter normalization over the oauth_* parameters, the query string and
// form-encoded bodies (never JSON or XML bodies), the signature base string,
// the key built from both secrets percent-encoded, and the Authorization
// header of §3.5.1.
//
// Nonces and timestamps come from injected sources so that signatures are
// reproducible in tests. The package holds no global state.
package oauth1

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/arbiontrader/arbion/clock"
	"github.com/arbiontrader/arbion/internal/redact"
)

// SignatureMethod is the only method this package implements and E*TRADE
// accepts.
const SignatureMethod = "HMAC-SHA1"

// Param is one name/value pair of the signature's parameter set.
type Param struct {
	Name, Value string
}

// PercentEncode encodes s per RFC 3986 §2.1 as RFC 5849 §3.6 requires: the
// unreserved characters A-Z a-z 0-9 - . _ ~ are left alone and every other
// byte becomes %XX with upper-case hex. A space becomes %20, never +.
func PercentEncode(s string) string {
	n := 0
	for i := 0; i < len(s); i++ {
		if !unreserved(s[i]) {
			n++
		}
	}
	if n == 0 {
		return s
	}
	const hexdigits = "0123456789ABCDEF"
	buf := make([]byte, 0, len(s)+2*n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if unreserved(c) {
			buf = append(buf, c)
			continue
		}
		buf = append(buf, '%', hexdigits[c>>4], hexdigits[c&15])
	}
	return string(buf)
}

func unreserved(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

// NormalizeParameters returns the normalized parameter string of RFC 5849
// §3.4.1.3.2: each name and value percent-encoded, the pairs sorted by
// encoded name and then encoded value (byte order), joined as name=value
// with &. The caller leaves oauth_signature and realm out.
func NormalizeParameters(params []Param) string {
	enc := make([]Param, len(params))
	for i, p := range params {
		enc[i] = Param{PercentEncode(p.Name), PercentEncode(p.Value)}
	}
	slices.SortFunc(enc, func(a, b Param) int {
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		return strings.Compare(a.Value, b.Value)
	})
	var b strings.Builder
	for i, p := range enc {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p.Name)
		b.WriteByte('=')
		b.WriteString(p.Value)
	}
	return b.String()
}

// BaseURI returns the base string URI of RFC 5849 §3.4.1.2: lower-case
// scheme and host, the port only when it is not the scheme's default, the
// path exactly as sent (escaped form), no query and no fragment.
func BaseURI(u *url.URL) string {
	scheme := strings.ToLower(u.Scheme)
	host := strings.ToLower(u.Hostname())
	if port := u.Port(); port != "" && !(scheme == "http" && port == "80") && !(scheme == "https" && port == "443") {
		host += ":" + port
	}
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	return scheme + "://" + host + path
}

// BaseString returns the signature base string of RFC 5849 §3.4.1: the
// upper-case method, the encoded base URI and the encoded normalized
// parameters, joined by &.
func BaseString(method string, u *url.URL, params []Param) string {
	return strings.ToUpper(method) + "&" + PercentEncode(BaseURI(u)) + "&" + PercentEncode(NormalizeParameters(params))
}

// Signature returns base64(HMAC-SHA1(key, baseString)) where the key is
// enc(consumerSecret) & enc(tokenSecret) (RFC 5849 §3.4.2). An empty token
// secret still leaves the trailing &.
func Signature(baseString, consumerSecret, tokenSecret string) string {
	key := PercentEncode(consumerSecret) + "&" + PercentEncode(tokenSecret)
	mac := hmac.New(sha1.New, []byte(key))
	mac.Write([]byte(baseString))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// RequestParams returns the parameters a request contributes besides the
// oauth_* ones: every query parameter of u (decoded) and, when form is not
// nil, the decoded parameters of an application/x-www-form-urlencoded body.
// Pass a nil form for JSON and XML bodies, which are never signed.
func RequestParams(u *url.URL, form url.Values) ([]Param, error) {
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return nil, fmt.Errorf("oauth1: query string: %w", err)
	}
	var out []Param
	for _, v := range []url.Values{q, form} {
		for name, values := range v {
			for _, value := range values {
				out = append(out, Param{name, value})
			}
		}
	}
	return out, nil
}

// Credentials are the secrets of one signed request beyond the consumer's:
// the token and its secret (empty for the request-token call), and the
// one-off oauth_callback and oauth_verifier of the token calls.
type Credentials struct {
	Token       string // oauth_token; empty before a request token exists
	TokenSecret string // the request or access token secret
	Callback    string // oauth_callback, sent and signed when not empty ("oob" for E*TRADE)
	Verifier    string // oauth_verifier of the access-token call
}

// String redacts the secrets.
func (c Credentials) String() string {
	return fmt.Sprintf("oauth1.Credentials{Token:%q TokenSecret:%q Callback:%q Verifier:%q}",
		redact.IfSet(c.Token), redact.IfSet(c.TokenSecret), c.Callback, redact.IfSet(c.Verifier))
}

// GoString redacts the secrets.
func (c Credentials) GoString() string { return c.String() }

// Format redacts the secrets under every verb.
func (c Credentials) Format(f fmt.State, _ rune) { fmt.Fprint(f, c.String()) }

// LogValue redacts the secrets in log/slog output.
func (c Credentials) LogValue() slog.Value { return slog.StringValue(c.String()) }

// Signer signs requests for one consumer (application) key. The zero Nonce
// and Now use crypto/rand and the system clock. A Signer is safe for
// concurrent use when its Nonce and Now are.
type Signer struct {
	ConsumerKey    string
	ConsumerSecret string
	// Nonce returns a fresh oauth_nonce per request; nil draws 16 random
	// bytes from crypto/rand, hex encoded (alphanumeric, as E*TRADE prefers).
	Nonce func() string
	// Clock gives oauth_timestamp; nil is clock.Real.
	Clock clock.Clock
	// Version, when true, sends and signs oauth_version="1.0" (optional in
	// RFC 5849; E*TRADE's own example leaves it out).
	Version bool
}

// String redacts the consumer secret.
func (s *Signer) String() string {
	return fmt.Sprintf("oauth1.Signer{ConsumerKey:%q ConsumerSecret:%q}", redact.IfSet(s.ConsumerKey), redact.IfSet(s.ConsumerSecret))
}

// GoString redacts the consumer secret.
func (s *Signer) GoString() string { return s.String() }

// Format redacts the consumer secret under every verb.
func (s *Signer) Format(f fmt.State, _ rune) { fmt.Fprint(f, s.String()) }

// LogValue redacts the consumer secret in log/slog output.
func (s *Signer) LogValue() slog.Value { return slog.StringValue(s.String()) }

// Authorization signs a request and returns the value of its Authorization
// header: "OAuth " followed by the oauth_* parameters that were signed plus
// oauth_signature, sorted by name, each value percent-encoded once and
// double-quoted, separated by commas. form holds the decoded parameters of a
// form-encoded body and is nil for any other body.
func (s *Signer) Authorization(method string, u *url.URL, form url.Values, c Credentials) (string, error) {
	if s.ConsumerKey == "" || s.ConsumerSecret == "" {
		return "", fmt.Errorf("oauth1: consumer key and secret are required")
	}
	reqParams, err := RequestParams(u, form)
	if err != nil {
		return "", err
	}
	oauth := s.oauthParams(c)
	base := BaseString(method, u, append(reqParams, oauth...))
	oauth = append(oauth, Param{"oauth_signature", Signature(base, s.ConsumerSecret, c.TokenSecret)})
	return Header(oauth), nil
}

// oauthParams returns the protocol parameters of one request, with a fresh
// nonce and timestamp.
func (s *Signer) oauthParams(c Credentials) []Param {
	nonce := s.nonce()
	now := clock.Or(s.Clock).Now
	p := make([]Param, 0, 8)
	p = append(p,
		Param{"oauth_consumer_key", s.ConsumerKey},
		Param{"oauth_nonce", nonce},
		Param{"oauth_signature_method", SignatureMethod},
		Param{"oauth_timestamp", strconv.FormatInt(now().Unix(), 10)},
	)
	if c.Token != "" {
		p = append(p, Param{"oauth_token", c.Token})
	}
	if c.Callback != "" {
		p = append(p, Param{"oauth_callback", c.Callback})
	}
	if c.Verifier != "" {
		p = append(p, Param{"oauth_verifier", c.Verifier})
	}
	if s.Version {
		p = append(p, Param{"oauth_version", "1.0"})
	}
	return p
}

func (s *Signer) nonce() string {
	if s.Nonce != nil {
		return s.Nonce()
	}
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b[:])
}

// Header formats protocol parameters as an Authorization header value per
// RFC 5849 §3.5.1, sorted by name.
func Header(params []Param) string {
	sorted := slices.Clone(params)
	slices.SortFunc(sorted, func(a, b Param) int { return strings.Compare(a.Name, b.Name) })
	var b strings.Builder
	b.WriteString("OAuth ")
	for i, p := range sorted {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(PercentEncode(p.Name))
		b.WriteString(`="`)
		b.WriteString(PercentEncode(p.Value))
		b.WriteByte('"')
	}
	return b.String()
}
