package coinbasetest

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/url"
	"time"
)

// OAuth2 routes the emulator serves in place of login.coinbase.com.
const (
	OAuthAuthorizePath = "/oauth2/auth"
	OAuthTokenPath     = "/oauth2/token"
	OAuthRevokePath    = "/oauth2/revoke"
)

// OAuthClient is a registered third-party app.
type OAuthClient struct {
	ID, Secret  string
	RedirectURI string
	// Trade grants wallet:buys:create to the tokens it obtains.
	Trade bool
}

type oauthState struct {
	clients  map[string]OAuthClient
	codes    map[string]oauthCode
	access   map[string]*oauthAccess
	refresh  map[string]*oauthRefresh
	lifetime time.Duration
}

type oauthCode struct {
	client, redirect, challenge, method string
	expires                             time.Time
}

type oauthAccess struct {
	client  string
	expires time.Time
	trade   bool
	revoked bool
}

type oauthRefresh struct {
	client string
	used   bool
}

func newOAuthState() oauthState {
	return oauthState{clients: map[string]OAuthClient{}, codes: map[string]oauthCode{},
		access: map[string]*oauthAccess{}, refresh: map[string]*oauthRefresh{}, lifetime: time.Hour}
}

// AddOAuthClient registers an app for the authorization-code flow.
func (s *Server) AddOAuthClient(c OAuthClient) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.oauth.clients[c.ID] = c
}

// SetOAuthTokenLifetime changes the lifetime of access tokens issued from
// now on (default one hour, as Coinbase).
func (s *Server) SetOAuthTokenLifetime(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.oauth.lifetime = d
}

// OAuthRefreshes returns how many refresh grants succeeded.
func (s *Server) OAuthRefreshes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, r := range s.oauth.refresh {
		if r.used {
			n++
		}
	}
	return n
}

func matchOAuth(method, path string) (route, map[string]string, bool) {
	switch method + " " + path {
	case "GET " + OAuthAuthorizePath:
		return route{public: true, handler: (*Server).handleAuthorize}, nil, true
	case "POST " + OAuthTokenPath:
		return route{public: true, handler: (*Server).handleToken}, nil, true
	case "POST " + OAuthRevokePath:
		return route{public: true, handler: (*Server).handleRevoke}, nil, true
	}
	return route{}, nil, false
}

// authenticateOAuth looks an opaque bearer token up. Called with s.mu held.
func (s *Server) authenticateOAuth(token string) (*principal, *authError) {
	a, ok := s.oauth.access[token]
	switch {
	case !ok:
		return nil, refuse("unknown OAuth access token")
	case a.revoked:
		return nil, refuse("revoked OAuth access token")
	case !s.clock.Now().Before(a.expires):
		return nil, refuse("expired OAuth access token")
	}
	return &principal{oauth: a, portfolio: s.portfolio, token: TokenRecord{Kid: "oauth:" + a.client, OAuth: true}}, nil
}

// handleAuthorize approves at once: it redirects to the registered
// redirect_uri with a code and the caller's state, as a user clicking
// "Authorize" would.
func (s *Server) handleAuthorize(c *call) response {
	q := c.r.URL.Query()
	client, ok := s.oauth.clients[q.Get("client_id")]
	redirect := q.Get("redirect_uri")
	if redirect == "" {
		redirect = client.RedirectURI
	}
	switch {
	case !ok:
		return jsonResponse(http.StatusBadRequest, obj{"error": "invalid_client", "error_description": "unknown client_id"})
	case q.Get("response_type") != "code" || redirect != client.RedirectURI:
		return jsonResponse(http.StatusBadRequest, obj{"error": "invalid_request", "error_description": "bad response_type or redirect_uri"})
	case len(q.Get("state")) < 8:
		return jsonResponse(http.StatusBadRequest, obj{"error": "invalid_request", "error_description": "state must be at least 8 characters"})
	}
	method := q.Get("code_challenge_method")
	if method == "" {
		method = "plain"
	}
	code := randomHex(16)
	s.oauth.codes[code] = oauthCode{client: client.ID, redirect: redirect, challenge: q.Get("code_challenge"),
		method: method, expires: s.clock.Now().Add(10 * time.Minute)}
	u, err := url.Parse(redirect)
	if err != nil {
		return jsonResponse(http.StatusBadRequest, obj{"error": "invalid_request", "error_description": "bad redirect_uri"})
	}
	v := u.Query()
	v.Set("code", code)
	v.Set("state", q.Get("state"))
	u.RawQuery = v.Encode()
	return response{status: http.StatusFound, contentType: "text/plain", body: []byte("Found"), location: u.String()}
}

func oauthError(status int, code, description string) response {
	return jsonResponse(status, obj{"error": code, "error_description": description})
}

func (s *Server) handleToken(c *call) response {
	form, err := url.ParseQuery(string(c.body))
	if err != nil {
		return oauthError(http.StatusBadRequest, "invalid_request", "body is not form-encoded")
	}
	id, secret := form.Get("client_id"), form.Get("client_secret")
	if u, p, ok := c.r.BasicAuth(); ok {
		id, secret = u, p
	}
	client, ok := s.oauth.clients[id]
	if !ok || subtle.ConstantTimeCompare([]byte(client.Secret), []byte(secret)) != 1 {
		return oauthError(http.StatusUnauthorized, "invalid_client", "client authentication failed")
	}
	switch form.Get("grant_type") {
	case "authorization_code":
		code, ok := s.oauth.codes[form.Get("code")]
		delete(s.oauth.codes, form.Get("code")) // single use, even when it fails
		switch {
		case !ok || code.client != client.ID || !s.clock.Now().Before(code.expires):
			return oauthError(http.StatusUnauthorized, "invalid_grant", "unknown or expired code")
		case form.Get("redirect_uri") != "" && form.Get("redirect_uri") != code.redirect:
			return oauthError(http.StatusBadRequest, "invalid_grant", "redirect_uri mismatch")
		case !pkceMatches(code, form.Get("code_verifier")):
			return oauthError(http.StatusBadRequest, "invalid_grant", "PKCE verification failed")
		}
	case "refresh_token":
		r, ok := s.oauth.refresh[form.Get("refresh_token")]
		if !ok || r.used || r.client != client.ID {
			return oauthError(http.StatusUnauthorized, "invalid_grant", "refresh token is invalid, used or expired")
		}
		r.used = true // rotation: each refresh token works once
	default:
		return oauthError(http.StatusBadRequest, "unsupported_grant_type", "grant_type must be authorization_code or refresh_token")
	}
	access, refresh := randomHex(24), randomHex(24)
	s.oauth.access[access] = &oauthAccess{client: client.ID, expires: s.clock.Now().Add(s.oauth.lifetime), trade: client.Trade}
	s.oauth.refresh[refresh] = &oauthRefresh{client: client.ID}
	return jsonResponse(http.StatusOK, obj{"access_token": access, "token_type": "bearer",
		"expires_in": int(s.oauth.lifetime / time.Second), "refresh_token": refresh, "scope": "wallet:accounts:read,wallet:buys:create"})
}

// pkceMatches checks the verifier against the challenge (S256 or plain);
// a code issued without a challenge needs no verifier.
func pkceMatches(code oauthCode, verifier string) bool {
	if code.challenge == "" {
		return verifier == ""
	}
	switch code.method {
	case "S256":
		sum := sha256.Sum256([]byte(verifier))
		return subtle.ConstantTimeCompare([]byte(base64.RawURLEncoding.EncodeToString(sum[:])), []byte(code.challenge)) == 1
	case "plain":
		return subtle.ConstantTimeCompare([]byte(verifier), []byte(code.challenge)) == 1
	}
	return false
}

// handleRevoke revokes an access token; it answers 200 either way, as
// Coinbase does.
func (s *Server) handleRevoke(c *call) response {
	form, _ := url.ParseQuery(string(c.body))
	if a, ok := s.oauth.access[form.Get("token")]; ok {
		a.revoked = true
	}
	return jsonResponse(http.StatusOK, obj{})
}
