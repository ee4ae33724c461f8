package auth

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/internal/redact"
	"golang.org/x/oauth2"
)

// tokenEndpointError classifies a failure of the token endpoint without
// quoting its body (x/oauth2's own error string does). A refused grant means
// the refresh token or the authorization code is dead: log in again. The
// error code and description the server sent are scrubbed of secrets (the
// request's refresh token, code, verifier, client secret and Authorization
// header value), which a server may echo.
func tokenEndpointError(ctx context.Context, broker, op string, err error, secrets []string) error {
	be := &errors.BrokerError{Broker: broker, Op: op}
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		be.Err = withoutURLQuery(err)
		switch {
		case ctx.Err() != nil:
			be.Kind, be.Err = errors.ErrTimeout, ctx.Err()
		default:
			be.Kind = errors.ErrNetwork
		}
		be.Message = "token endpoint unreachable"
		return be
	}
	if re.Response != nil {
		be.HTTPStatus = re.Response.StatusCode
		be.RequestID = re.Response.Header.Get("X-Request-Id")
	}
	be.Code = scrub(re.ErrorCode, secrets)
	switch {
	case re.ErrorCode == "invalid_grant" || be.HTTPStatus == http.StatusBadRequest || be.HTTPStatus == http.StatusUnauthorized:
		be.Kind = errors.ErrTokenExpired
		be.Message = "token endpoint refused the grant (expired or revoked): log in again"
	case be.HTTPStatus == http.StatusTooManyRequests:
		be.Kind, be.Message = errors.ErrRateLimited, "token endpoint rate limited"
	case be.HTTPStatus >= 500:
		be.Kind, be.Message = errors.ErrBrokerUnavailable, "token endpoint unavailable"
	case be.HTTPStatus == http.StatusForbidden:
		be.Kind, be.Message = errors.ErrPermissionDenied, "token endpoint refused the client"
	default:
		be.Kind, be.Message = errors.ErrUnauthenticated, "token endpoint refused the request"
	}
	if re.ErrorDescription != "" {
		be.Message += " (" + scrub(re.ErrorDescription, secrets) + ")"
	}
	return be
}

func configError(broker, msg string) error {
	return &errors.BrokerError{Broker: broker, Op: "configure", Kind: errors.ErrConfiguration, Message: msg}
}

// oauthString describes an OAuth2 config without its client secret.
func oauthString(c *oauth2.Config) string {
	if c == nil {
		return "nil"
	}
	secret := mask(c.ClientSecret)
	return "{ClientID:" + c.ClientID + " ClientSecret:" + secret + " AuthURL:" + c.Endpoint.AuthURL +
		" TokenURL:" + c.Endpoint.TokenURL + " RedirectURL:" + c.RedirectURL + "}"
}

// maxEchoed bounds the text of a server's error description kept in an
// error.
const maxEchoed = 200

// secretsOf lists the secrets of a token request made with c and extra
// values (a refresh token, a code, a verifier), in every form the request
// carried them: raw, URL-encoded, and inside the Basic Authorization
// header.
func secretsOf(c *oauth2.Config, extra ...string) []string {
	var out []string
	add := func(v string) {
		if v != "" {
			out = append(out, v, url.QueryEscape(v))
		}
	}
	for _, v := range extra {
		add(v)
	}
	if c != nil && c.ClientSecret != "" {
		add(c.ClientSecret)
		for _, pair := range [...]string{
			url.QueryEscape(c.ClientID) + ":" + url.QueryEscape(c.ClientSecret), // x/oauth2's header
			c.ClientID + ":" + c.ClientSecret,
		} {
			out = append(out, base64.StdEncoding.EncodeToString([]byte(pair)), base64.RawStdEncoding.EncodeToString([]byte(pair)))
		}
	}
	return out
}

// scrub replaces every secret in s by the redaction marker and cuts s to
// [maxEchoed] bytes (at a rune boundary).
func scrub(s string, secrets []string) string {
	s = redact.Text(s, secrets...)
	if len(s) > maxEchoed {
		cut := maxEchoed
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "..."
	}
	return s
}

// withoutURLQuery drops the query of a *url.Error's URL (a token URL
// should carry none, but a misconfigured one might carry a credential).
func withoutURLQuery(err error) error {
	var ue *url.Error
	if !errors.As(err, &ue) || !strings.ContainsAny(ue.URL, "?#") {
		return err
	}
	c := *ue
	if i := strings.IndexAny(c.URL, "?#"); i >= 0 {
		c.URL = c.URL[:i]
	}
	return &c // x/oauth2 returns the *url.Error itself: no wrapper is lost
}
