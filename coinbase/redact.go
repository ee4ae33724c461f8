package coinbase

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/arbiontrader/arbion/errors"
)

// redacted replaces a secret found in text from a response.
const redacted = "[redacted]"

// jwtShape is a compact JWS (three base64url segments, the first starting
// with {"): any token, ours or not, is cut from error text.
var jwtShape = regexp.MustCompile(`eyJ[A-Za-z0-9_\-]*\.[A-Za-z0-9_\-]*\.?[A-Za-z0-9_\-]*`)

// bearer is an Authorization value quoted back (an OAuth token is opaque).
var bearer = regexp.MustCompile(`(?i)bearer\s+\S+`)

// recentTokens is how many sent Authorization values are kept to scrub.
const recentTokens = 16

// scrubber removes every secret the adapter holds from text it copies out
// of a response (an error body that quotes the request, for example)
// before that text reaches an error or a log.
type scrubber struct {
	fixed []string // key material, longest first

	mu   sync.Mutex
	sent []string // the last Authorization values sent
}

// newScrubber derives the fragments of the private key worth scrubbing: the
// secret as given, as unescaped, and each long line of its PEM or base64
// body (a body quoting the key may wrap it differently).
func newScrubber(secret string) *scrubber {
	s := &scrubber{}
	unescaped := strings.ReplaceAll(strings.ReplaceAll(secret, `\r\n`, "\n"), `\n`, "\n")
	var body strings.Builder
	for _, v := range []string{secret, unescaped, strings.TrimSpace(unescaped)} {
		s.add(v)
	}
	for _, line := range strings.Split(unescaped, "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "-----") {
			continue
		}
		s.add(line)
		body.WriteString(line)
	}
	s.add(body.String())
	slices.SortFunc(s.fixed, func(a, b string) int { return len(b) - len(a) })
	return s
}

// add keeps v if it is long enough to be secret-bearing (short fragments
// would scrub ordinary words).
func (s *scrubber) add(v string) {
	if len(v) >= 12 && !slices.Contains(s.fixed, v) {
		s.fixed = append(s.fixed, v)
	}
}

// remember keeps an Authorization value just sent.
func (s *scrubber) remember(authorization string) {
	token := strings.TrimSpace(strings.TrimPrefix(authorization, "Bearer "))
	if len(token) < 8 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.sent) == recentTokens {
		s.sent = s.sent[1:]
	}
	s.sent = append(s.sent, token)
}

// scrub returns text without any secret.
func (s *scrubber) scrub(text string) string {
	s.mu.Lock()
	sent := slices.Clone(s.sent)
	s.mu.Unlock()
	for _, v := range append(sent, s.fixed...) {
		text = strings.ReplaceAll(text, v, redacted)
	}
	text = jwtShape.ReplaceAllString(text, redacted)
	return bearer.ReplaceAllString(text, "Bearer "+redacted)
}

// decodeError scrubs the body before decodeError reads (and truncates) it,
// so that no part of a secret survives into the error.
func (b *Broker) decodeError(status int, h http.Header, body []byte) *errors.BrokerError {
	return decodeError(status, h, []byte(b.scrub.scrub(string(body))))
}

// Format prints the broker without any secret, whatever the verb: the
// config's key, the signer and the remembered tokens never show.
func (b *Broker) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, b.String()) }

// GoString redacts like String.
func (b *Broker) GoString() string { return b.String() }

// LogValue shows the broker in slog without any secret.
func (b *Broker) LogValue() slog.Value {
	return slog.GroupValue(slog.String("broker", brokerName), slog.String("host", b.base.Host),
		slog.Bool("oauth", b.cfg.OAuth != nil))
}
