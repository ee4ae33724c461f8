package httpx

import (
	"net/url"
	"strings"

	"github.com/arbiontrader/arbion/internal/redact"
)

// secretParams are query parameter names whose values never appear in an
// error or a log line. Names starting with "oauth_" are secret too.
var secretParams = [...]string{
	"token", "access_token", "refresh_token", "id_token", "code", "code_verifier",
	"client_secret", "secret", "key", "apikey", "api_key", "password", "signature",
	"sig", "session", "auth", "authorization",
}

const redacted = redact.Marker

func secretParamSet(extra []string) map[string]bool {
	set := make(map[string]bool, len(secretParams)+len(extra))
	for _, name := range secretParams {
		set[name] = true
	}
	for _, name := range extra {
		set[strings.ToLower(name)] = true
	}
	return set
}

func (c *Client) isSecretParam(name string) bool {
	name = strings.ToLower(name)
	return c.secretKeys[name] || strings.HasPrefix(name, "oauth_")
}

// redactURL returns u as a string with user info and the values of secret
// query parameters replaced by REDACTED.
func (c *Client) redactURL(u *url.URL) string {
	if u == nil {
		return ""
	}
	safe := *u
	safe.User = nil
	if safe.RawQuery != "" {
		q, err := url.ParseQuery(safe.RawQuery)
		if err != nil {
			safe.RawQuery = redacted
		} else {
			for name, vs := range q {
				if c.isSecretParam(name) {
					for i := range vs {
						vs[i] = redacted
					}
				}
			}
			safe.RawQuery = q.Encode()
		}
	}
	return safe.String()
}
