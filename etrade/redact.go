package etrade

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"

	"github.com/arbiontrader/arbion/errors"
)

// decodeError scrubs the body before decodeError reads and truncates it.
func (b *Broker) decodeError(status int, h http.Header, body []byte) *errors.BrokerError {
	return decodeError(status, h, []byte(b.scrub.Scrub(string(body))))
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
