// Package auth gets and keeps the credentials the broker adapters send.
//
//   - [Login] and [Flow]: the OAuth2 authorization-code login (PKCE S256 by
//     default, a random state checked on the callback), either with a
//     callback listener on 127.0.0.1 or by letting the user paste the
//     redirect URL ([Flow.Complete]).
//   - [Source]: a token source that refreshes the access token shortly
//     before it expires, once however many goroutines ask, persists every
//     refreshed token through a [TokenStore] before handing it out, and turns
//     a dead refresh token into errors.ErrTokenExpired ("log in again").
//   - [TokenStore] with two implementations: [MemoryStore] and the encrypted
//     [FileStore] (AES-256-GCM, key required, file mode 0600, atomic writes,
//     safe to share between processes). Its key has one format, standard
//     base64 of 32 bytes: [ParseKey], [KeyFromEnv], [KeyFromFile].
//   - One login shared by several processes (a CLI beside a bot, replicas):
//     the optional store extensions [SwapStore] (compare-and-swap) and
//     [RefreshLocker] make one refresh per expiry, and SourceConfig.Leader
//     keeps every process but the leader from refreshing at all.
//
// Every type that holds a secret ([Token], [SourceConfig], [LoginConfig],
// [Flow], [Source], [MemoryStore], [FileStore], [Fingerprint]) redacts it in
// every fmt verb (%v, %+v, %#v, %s, %q, ...) and in slog. Errors never carry
// a secret: a token endpoint's error text is scrubbed of the request's.
package auth

import (
	"fmt"
	"log/slog"
	"maps"
	"strings"
	"time"

	"github.com/arbiontrader/arbion/internal/redact"
	"golang.org/x/oauth2"
)

// Token is a set of credentials for one login. The access token, the
// refresh token, the OAuth1 token secret and the Extra values are secrets:
// fmt and slog print them as REDACTED. encoding/json, on the other hand,
// writes every field (it is how a host store may serialise a token): log a
// Token itself, never its JSON, nor a slice of tokens through a JSON
// handler.
type Token struct {
	AccessToken  string
	RefreshToken string
	TokenType    string // "Bearer" when empty
	// Expiry is when the access token expires; zero if it does not.
	Expiry time.Time
	// RefreshExpiry is when the refresh token expires, so when the user must
	// log in again; zero if unknown. Kept across refreshes: Schwab's refresh
	// token lives 7 days from the login, however often it is used.
	RefreshExpiry time.Time
	// Secret is the OAuth1 token secret (E*TRADE); empty for OAuth2.
	Secret string
	// Extra holds other values the token endpoint returned that an adapter
	// needs (scope, id_token, ...). Treated as secret.
	Extra map[string]string
}

const redacted = redact.Marker

// Type returns the token type, "Bearer" by default.
func (t Token) Type() string {
	// Servers answer "bearer" or "Bearer"; RFC 6750 writes the scheme
	// "Bearer", and some servers accept only that spelling.
	if t.TokenType == "" || strings.EqualFold(t.TokenType, "bearer") {
		return "Bearer"
	}
	return t.TokenType
}

// ValidAt reports whether the access token is present and will not expire
// within skew of now.
func (t Token) ValidAt(now time.Time, skew time.Duration) bool {
	return t.AccessToken != "" && (t.Expiry.IsZero() || now.Add(skew).Before(t.Expiry))
}

// RefreshExpiredAt reports whether the refresh token's known lifetime is
// over at now.
func (t Token) RefreshExpiredAt(now time.Time) bool {
	return !t.RefreshExpiry.IsZero() && !now.Before(t.RefreshExpiry)
}

// clone returns a copy that shares no map with t.
func (t Token) clone() Token {
	t.Extra = maps.Clone(t.Extra)
	return t
}

// String describes the token without its secrets.
func (t Token) String() string {
	return fmt.Sprintf("auth.Token{AccessToken:%s RefreshToken:%s TokenType:%s Expiry:%s RefreshExpiry:%s Secret:%s Extra:%s}",
		mask(t.AccessToken), mask(t.RefreshToken), t.Type(), formatTime(t.Expiry), formatTime(t.RefreshExpiry),
		mask(t.Secret), maskMap(t.Extra))
}

// GoString is String: %#v never shows a secret either.
func (t Token) GoString() string { return t.String() }

// Format makes every fmt verb print the redacted form.
func (t Token) Format(f fmt.State, verb rune) { writeRedacted(f, verb, t) }

// LogValue makes slog print the token without its secrets.
func (t Token) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("access_token", mask(t.AccessToken)),
		slog.String("refresh_token", mask(t.RefreshToken)),
		slog.String("token_type", t.Type()),
		slog.Time("expiry", t.Expiry),
		slog.Time("refresh_expiry", t.RefreshExpiry),
	)
}

// fromOAuth2 converts an x/oauth2 token received at now. Expiry is computed
// from expires_in on the injected clock, not from x/oauth2's wall clock.
func fromOAuth2(ot *oauth2.Token, now time.Time) Token {
	t := Token{AccessToken: ot.AccessToken, RefreshToken: ot.RefreshToken, TokenType: ot.TokenType, Expiry: ot.Expiry}
	if ot.ExpiresIn > 0 {
		t.Expiry = now.Add(time.Duration(ot.ExpiresIn) * time.Second)
	}
	if secs, ok := extraSeconds(ot, "refresh_token_expires_in"); ok {
		t.RefreshExpiry = now.Add(time.Duration(secs) * time.Second)
	}
	for _, name := range [...]string{"scope", "id_token"} {
		if v, ok := ot.Extra(name).(string); ok && v != "" {
			if t.Extra == nil {
				t.Extra = map[string]string{}
			}
			t.Extra[name] = v
		}
	}
	return t
}

func extraSeconds(ot *oauth2.Token, name string) (int64, bool) {
	switch v := ot.Extra(name).(type) {
	case float64:
		return int64(v), v > 0
	case int64:
		return v, v > 0
	}
	return 0, false
}

func mask(secret string) string {
	if secret == "" {
		return `""`
	}
	return redacted
}

func maskMap(m map[string]string) string {
	if len(m) == 0 {
		return "{}"
	}
	return fmt.Sprintf("{%d values REDACTED}", len(m))
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return "none"
	}
	return t.UTC().Format(time.RFC3339)
}

// writeRedacted prints v's String for every verb (%v, %+v, %#v, %s, %q, ...).
func writeRedacted(f fmt.State, verb rune, v fmt.Stringer) {
	if verb == 'q' {
		fmt.Fprintf(f, "%q", v.String())
		return
	}
	_, _ = f.Write([]byte(v.String()))
}
