package auth

import (
	"context"
	"net/http"

	"github.com/arbiontrader/arbion/errors"
	"golang.org/x/oauth2"
)

// tokenEndpointError classifies a failure of the token endpoint without
// quoting its body (x/oauth2's own error string does). A refused grant means
// the refresh token or the authorization code is dead: log in again.
func tokenEndpointError(ctx context.Context, broker, op string, err error) error {
	be := &errors.BrokerError{Broker: broker, Op: op}
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		be.Err = err
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
	be.Code = re.ErrorCode
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
		be.Message += " (" + re.ErrorDescription + ")"
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
