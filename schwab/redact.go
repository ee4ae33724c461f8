package schwab

import (
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"

	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/internal/redact"
)

// redacted stands in for a secret in error text and in formatted values.
const redacted = redact.Marker

// credentials are the secrets a Broker holds: the bearer token last sent,
// the refresh token last seen and the app secret.
type credentials struct {
	mu        sync.Mutex
	access    string
	refresh   string
	appSecret string
}

func (c *credentials) setAccess(s string) {
	c.mu.Lock()
	c.access = s
	c.mu.Unlock()
}

func (c *credentials) setRefresh(s string) {
	c.mu.Lock()
	c.refresh = s
	c.mu.Unlock()
}

func (c *credentials) lastAccess() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.access
}

// secrets returns every secret the adapter holds right now.
func (b *Broker) secrets() []string {
	b.creds.mu.Lock()
	defer b.creds.mu.Unlock()
	return []string{b.creds.access, b.creds.refresh, b.creds.appSecret}
}

// decodeError decodes an error body as the package function does, then
// scrubs its text: a gateway may echo the request (Authorization header
// included) into its answer, and that text reaches errors and logs.
func (b *Broker) decodeError(status int, header http.Header, body []byte) *errors.BrokerError {
	be := decodeError(status, header, body)
	if be == nil {
		return nil
	}
	sec := b.secrets()
	be.Message, be.Detail, be.Code, be.RequestID = redact.Text(be.Message, sec...), redact.Text(be.Detail, sec...), redact.Text(be.Code, sec...), redact.Text(be.RequestID, sec...)
	return be
}

// mask keeps the last four characters of an account number: enough to
// tell accounts apart in a log, not enough to be one.
func mask(s string) string {
	if len(s) <= 4 {
		return strings.Repeat("*", len(s))
	}
	return strings.Repeat("*", len(s)-4) + s[len(s)-4:]
}

func setOrNone(set bool) string {
	if set {
		return redacted
	}
	return "none"
}

// String describes the configuration without a secret.
func (c Config) String() string {
	return fmt.Sprintf("schwab.Config{AccountNumber:%s AccountHash:%s Tokens:%s AccessToken:%s AppSecret:%s BaseURL:%s}",
		mask(c.AccountNumber), mask(c.AccountHash), setOrNone(c.Tokens != nil), setOrNone(c.AccessToken != nil),
		setOrNone(c.AppSecret != ""), c.BaseURL)
}

// GoString makes %#v print String: the derived form would print the
// token source's fields.
func (c Config) GoString() string { return c.String() }

// Format prints String for every verb, so that %v, %+v, %#v, %s and %q of
// a Config never reach a field.
func (c Config) Format(f fmt.State, verb rune) { fmt.Fprint(f, c.String()) }

// LogValue logs the configuration without a secret.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(slog.String("account_number", mask(c.AccountNumber)),
		slog.String("account_hash", mask(c.AccountHash)), slog.String("base_url", c.BaseURL))
}

// String describes the Broker by its account, without a secret.
func (b *Broker) String() string {
	if b == nil {
		return "schwab.Broker(nil)"
	}
	return "schwab.Broker{" + b.cfg.String() + "}"
}

// GoString makes %#v print String.
func (b *Broker) GoString() string { return b.String() }

// Format prints String for every verb: a Broker holds the bearer token
// and refresh token it last used, which no verb may print.
func (b *Broker) Format(f fmt.State, verb rune) { fmt.Fprint(f, b.String()) }

// LogValue logs the Broker by its account, without a secret.
func (b *Broker) LogValue() slog.Value {
	if b == nil {
		return slog.StringValue("schwab.Broker(nil)")
	}
	return slog.GroupValue(slog.String("broker", Name), slog.Any("config", b.cfg))
}
