// Package redact is the module's one way of keeping secrets out of text:
// the marker that stands in for a secret, a one-shot [Text], and the
// [Scrubber] an adapter keeps its secrets in, to cut them (and anything
// shaped like a credential) out of text a broker or a proxy echoes back
// before that text reaches an error or a log.
package redact

import (
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
)

// Marker stands in for a secret everywhere in arbion's output.
const Marker = "REDACTED"

// MinLen is the shortest secret cut from text: a shorter one ("", "a")
// would blank ordinary words, and no real token, key or secret is that
// short.
const MinLen = 6

// IfSet returns Marker for a set secret and "" for an empty one, so that a
// printed config tells whether a secret is there without showing it.
func IfSet(secret string) string {
	if secret == "" {
		return ""
	}
	return Marker
}

// Text returns s with every secret of at least MinLen bytes replaced by
// Marker, the longest first (so that a secret containing another is cut
// whole).
func Text(s string, secrets ...string) string {
	if len(secrets) > 1 {
		secrets = slices.Clone(secrets)
		slices.SortFunc(secrets, func(a, b string) int { return len(b) - len(a) })
	}
	for _, sec := range secrets {
		if len(sec) >= MinLen {
			s = strings.ReplaceAll(s, sec, Marker)
		}
	}
	return s
}

// The shapes of a credential quoted back, cut whoever issued it.
var (
	// jwtShape is a compact JWS: three base64url segments, the first
	// starting with {" (eyJ).
	jwtShape = regexp.MustCompile(`eyJ[A-Za-z0-9_\-]*\.[A-Za-z0-9_\-]*\.?[A-Za-z0-9_\-]*`)
	// bearer is an Authorization value (an OAuth token is opaque).
	bearer = regexp.MustCompile(`(?i)bearer\s+[^\s",]+`)
	// signature is an OAuth 1.0a signature parameter.
	signature = regexp.MustCompile(`oauth_signature="?[^",\s&]*"?`)
)

// Scrubber holds the secrets of one adapter: fixed ones (key material, a
// consumer secret) kept for its life, and the most recent tokens it sent.
// It is safe for concurrent use; the zero value is ready and keeps
// [DefaultRecent] tokens.
type Scrubber struct {
	// Recent is how many remembered secrets are kept (each in its raw and
	// URL-escaped forms); 0 means DefaultRecent.
	Recent int

	mu     sync.Mutex
	fixed  []string
	recent [][]string // the forms of each remembered secret, oldest first
	all    []string   // fixed and recent forms, longest first
}

// DefaultRecent is how many remembered secrets a Scrubber keeps by default.
const DefaultRecent = 16

// Fix adds secrets kept for the Scrubber's life, with their URL-escaped
// forms (a secret quoted from a URL or a form body is escaped).
func (s *Scrubber) Fix(secrets ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, v := range secrets {
		s.fixed = appendForms(s.fixed, v)
	}
	s.sortLocked()
}

// Remember adds secrets of passing use (an access token just sent); the
// oldest beyond Recent are forgotten.
func (s *Scrubber) Remember(secrets ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, v := range secrets {
		if forms := appendForms(nil, v); len(forms) > 0 {
			s.recent = append(s.recent, forms)
		}
	}
	keep := s.Recent
	if keep <= 0 {
		keep = DefaultRecent
	}
	if n := len(s.recent); n > keep {
		s.recent = slices.Delete(s.recent, 0, n-keep)
	}
	s.sortLocked()
}

// appendForms appends secret's raw and URL-escaped forms that are long
// enough to cut and not in to already.
func appendForms(to []string, secret string) []string {
	for _, form := range []string{secret, url.QueryEscape(secret), url.PathEscape(secret)} {
		if len(form) >= MinLen && !slices.Contains(to, form) {
			to = append(to, form)
		}
	}
	return to
}

func (s *Scrubber) sortLocked() {
	s.all = append(s.all[:0], s.fixed...)
	for _, forms := range s.recent {
		s.all = append(s.all, forms...)
	}
	slices.SortFunc(s.all, func(a, b string) int { return len(b) - len(a) })
}

// Scrub returns text without any secret the Scrubber holds, nor anything
// shaped like a JWT, a bearer token or an OAuth signature.
func (s *Scrubber) Scrub(text string) string {
	s.mu.Lock()
	for _, v := range s.all {
		text = strings.ReplaceAll(text, v, Marker)
	}
	s.mu.Unlock()
	text = jwtShape.ReplaceAllString(text, Marker)
	text = bearer.ReplaceAllString(text, "Bearer "+Marker)
	return signature.ReplaceAllString(text, "oauth_signature="+Marker)
}
