package etrade

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/arbiontrader/arbion/errors"
)

// scrubbed replaces a secret found in response text.
const scrubbed = "[redacted]"

// signatureParam is an OAuth signature quoted back from a request.
var signatureParam = regexp.MustCompile(`oauth_signature="?[^",\s]*"?`)

// maxRemembered bounds the tokens and secrets kept for scrubbing.
const maxRemembered = 16

// scrubber cuts every secret the adapter holds (consumer secret, access and
// request tokens and their secrets) out of text copied from a response
// before it reaches an error or a log. It has its own lock: error decoding
// runs inside requests made while b.mu may be held.
type scrubber struct {
	mu      sync.Mutex
	secrets []string
}

// remember keeps a secret, in its raw and percent-encoded forms.
func (s *scrubber) remember(vs ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, v := range vs {
		for _, form := range []string{v, url.QueryEscape(v), url.PathEscape(v)} {
			if len(form) >= 6 && !slices.Contains(s.secrets, form) {
				s.secrets = append(s.secrets, form)
			}
		}
	}
	if n := len(s.secrets); n > maxRemembered*3 {
		s.secrets = s.secrets[n-maxRemembered*3:]
	}
	slices.SortFunc(s.secrets, func(a, b string) int { return len(b) - len(a) })
}

func (s *scrubber) scrub(text string) string {
	s.mu.Lock()
	secrets := slices.Clone(s.secrets)
	s.mu.Unlock()
	for _, v := range secrets {
		text = strings.ReplaceAll(text, v, scrubbed)
	}
	return signatureParam.ReplaceAllString(text, "oauth_signature="+scrubbed)
}

// decodeError scrubs the body before decodeError reads and truncates it.
func (b *Broker) decodeError(status int, h http.Header, body []byte) *errors.BrokerError {
	return decodeError(status, h, []byte(b.scrub.scrub(string(body))))
}

// String names the broker without any secret.
func (b *Broker) String() string {
	return fmt.Sprintf("etrade.Broker{account: %s, sandbox: %t}", b.cfg.AccountIDKey, b.cfg.Sandbox)
}

// Format prints the broker without any secret, whatever the verb.
func (b *Broker) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, b.String()) }

// GoString redacts like String.
func (b *Broker) GoString() string { return b.String() }

// LogValue shows the broker in slog without any secret.
func (b *Broker) LogValue() slog.Value {
	return slog.GroupValue(slog.String("broker", brokerName), slog.String("account", b.cfg.AccountIDKey),
		slog.Bool("sandbox", b.cfg.Sandbox))
}
