package broker

import (
	"crypto/rand"
	"crypto/sha256"
	"fmt"

	"github.com/arbiontrader/arbion/errors"
)

// MaxClientOrderIDLen is the length of the ids NewClientOrderID and
// DeriveClientOrderID make: the longest every supported broker accepts
// (E*TRADE allows at most 20 alphanumeric characters).
const MaxClientOrderIDLen = 20

// LongestClientOrderIDLen is the longest client order id Validate accepts
// (Coinbase's 128); each broker's own, often stricter, rule is in
// Capabilities.ClientOrderID.
const LongestClientOrderIDLen = 128

// ClientOrderIDRule says which client order ids a broker takes.
type ClientOrderIDRule struct {
	// MaxLen is the longest id the broker accepts; 0 when the broker keeps
	// none (Schwab), so that any id Validate accepts lives in arbion's
	// records only.
	MaxLen int
	// Alphanumeric: only ASCII letters and digits (E*TRADE).
	Alphanumeric bool
}

// Check refuses an id the broker would refuse, with an error matching
// errors.ErrInvalidOrder that names the rule.
func (r ClientOrderIDRule) Check(id string) error {
	if r.MaxLen > 0 && len(id) > r.MaxLen {
		return fmt.Errorf("client_order_id is %d characters, the broker takes at most %d: %w",
			len(id), r.MaxLen, errors.ErrInvalidOrder)
	}
	if r.Alphanumeric {
		for _, c := range []byte(id) {
			if !('0' <= c && c <= '9' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z') {
				return fmt.Errorf("client_order_id %q: the broker takes only A-Z, a-z, 0-9: %w", id, errors.ErrInvalidOrder)
			}
		}
	}
	return nil
}

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// NewClientOrderID returns a fresh client order id of 20 alphanumeric
// characters (about 119 random bits from crypto/rand), accepted by every
// supported broker and collision-resistant across processes and machines.
func NewClientOrderID() string {
	// rand.Text would give 26 base32 characters: too long for E*TRADE.
	var buf [MaxClientOrderIDLen]byte
	var random [MaxClientOrderIDLen]byte
	_, _ = rand.Read(random[:]) // crypto/rand.Read never fails (Go 1.24+)
	for i, b := range random {
		buf[i] = base62[int(b)%len(base62)]
	}
	return string(buf[:])
}

// DeriveClientOrderID returns a deterministic client order id from parts
// (for example an account, a symbol and an event number): the same parts
// always give the same id, so an action retried, repeated or taken by a second
// replica carries the same id and the broker (or a lookup) sees one intent.
// The id is 20 base62 characters of a SHA-256 over the parts.
func DeriveClientOrderID(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		// Length-prefix each part so ("ab","c") and ("a","bc") differ.
		fmt.Fprintf(h, "%d:%s;", len(p), p)
	}
	sum := h.Sum(nil)
	var buf [MaxClientOrderIDLen]byte
	for i := range buf {
		buf[i] = base62[int(sum[i])%len(base62)]
	}
	return string(buf[:])
}

// ValidateClientOrderID refuses an id no supported broker would take: it
// must be 1 to LongestClientOrderIDLen printable ASCII characters without
// spaces (a UUID is fine). A broker's stricter rule is checked by its
// OrderChecker (Capabilities.ClientOrderID). The error matches
// errors.ErrInvalidOrder.
func ValidateClientOrderID(id string) error {
	if id == "" {
		return fmt.Errorf("client_order_id is empty: %w", errors.ErrInvalidOrder)
	}
	if len(id) > LongestClientOrderIDLen {
		return fmt.Errorf("client_order_id is %d characters, at most %d allowed: %w",
			len(id), LongestClientOrderIDLen, errors.ErrInvalidOrder)
	}
	for _, c := range []byte(id) {
		if c <= ' ' || c > '~' {
			return fmt.Errorf("client_order_id has a character that is not printable ASCII (or is a space): %w",
				errors.ErrInvalidOrder)
		}
	}
	return nil
}
