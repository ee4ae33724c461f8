package coinbase

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/internal/redact"
)

// newScrubber holds the fragments of the private key worth cutting from
// text: the secret as given, as unescaped, and each long line of its PEM or
// base64 body (a body quoting the key may wrap it differently). Fragments
// shorter than 12 bytes would cut ordinary words.
func newScrubber(secret string) *redact.Scrubber {
	s := &redact.Scrubber{}
	unescaped := strings.ReplaceAll(strings.ReplaceAll(secret, `\r\n`, "\n"), `\n`, "\n")
	fragments := []string{secret, unescaped, strings.TrimSpace(unescaped)}
	var body strings.Builder
	for _, line := range strings.Split(unescaped, "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "-----") {
			continue
		}
		fragments = append(fragments, line)
		body.WriteString(line)
	}
	for _, f := range append(fragments, body.String()) {
		if len(f) >= 12 {
			s.Fix(f)
		}
	}
	return s
}

// decodeError scrubs the body before decodeError reads (and truncates) it,
// so that no part of a secret survives into the error.
func (b *Broker) decodeError(status int, h http.Header, body []byte) *errors.BrokerError {
	return decodeError(status, h, []byte(b.scrub.Scrub(string(body))))
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
