package schwabtest

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

type authState struct {
	codes    map[string]*authCode
	access   map[string]*accessToken
	refresh  map[string]*tokenChain
	chains   []*tokenChain
	grants   map[string]int // token requests per grant_type
	refusals map[string]int // refused token requests per grant_type
}

func (a *authState) init() {
	a.codes = make(map[string]*authCode)
	a.access = make(map[string]*accessToken)
	a.refresh = make(map[string]*tokenChain)
	a.grants = make(map[string]int)
	a.refusals = make(map[string]int)
}

type authCode struct {
	redirectURI     string
	challenge       string
	challengeMethod string
	issued          time.Time
	used            bool
}

// tokenChain is one login: its refresh token dies RefreshTTL after the login,
// however often it is used, or when a newer login supersedes it.
type tokenChain struct {
	loginAt    time.Time
	refresh    string
	superseded bool
}

type accessToken struct {
	expires time.Time
	revoked bool
}

// Tokens is what the token endpoint issued for one login.
type Tokens struct {
	AccessToken   string
	RefreshToken  string
	Expiry        time.Time // of the access token
	RefreshExpiry time.Time // of the refresh token: login + RefreshTTL
}

// String hides the token values.
func (t Tokens) String() string {
	return fmt.Sprintf("schwabtest.Tokens{expiry %s, refresh expiry %s}", t.Expiry.Format(time.RFC3339), t.RefreshExpiry.Format(time.RFC3339))
}

// GoString is String: %#v hides the token values too.
func (t Tokens) GoString() string { return t.String() }

// AuthorizeURL is the emulator's OAuth authorize endpoint.
func (s *Server) AuthorizeURL() string { return s.URL() + "/v1/oauth/authorize" }

// TokenURL is the emulator's OAuth token endpoint.
func (s *Server) TokenURL() string { return s.URL() + "/v1/oauth/token" }

// AppKey returns the client id the emulator accepts.
func (s *Server) AppKey() string { return s.cfg.AppKey }

// AppSecret returns the client secret the emulator accepts.
func (s *Server) AppSecret() string { return s.cfg.AppSecret }

// RedirectURI returns the registered callback URL.
func (s *Server) RedirectURI() string { return s.cfg.RedirectURI }

// IssueTokens performs a login without the browser step, as if the user had
// just logged in: a new token chain, superseding earlier ones.
func (s *Server) IssueTokens() Tokens {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.loginLocked()
}

// TokenRequests returns how many token requests with grant_type grant
// ("authorization_code", "refresh_token") the emulator received, and how many
// of them it refused.
func (s *Server) TokenRequests(grant string) (total, refused int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.auth.grants[grant], s.auth.refusals[grant]
}

// RevokeAccessTokens invalidates every access token issued so far, as Schwab
// sometimes does early; refresh tokens stay valid.
func (s *Server) RevokeAccessTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.auth.access {
		t.revoked = true
	}
}

// ApproveLogin plays the user's browser: it opens authURL (the authorize URL
// with client_id, redirect_uri, state, ...), "logs in" and returns the
// callback URL the browser would be redirected to, carrying code, session
// and state. A refused request returns an error with the emulator's page.
func (s *Server) ApproveLogin(authURL string) (string, error) {
	client := &http.Client{
		Transport:     s.srv.Client().Transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := client.Get(authURL)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		return "", fmt.Errorf("schwabtest: authorize answered %d", resp.StatusCode)
	}
	return resp.Header.Get("Location"), nil
}

func (s *Server) authorize(r *http.Request, _ []byte) response {
	q := r.URL.Query()
	if q.Get("client_id") != s.cfg.AppKey {
		return htmlPage(http.StatusBadRequest, "Invalid client_id")
	}
	if q.Get("redirect_uri") != s.cfg.RedirectURI { // byte-for-byte
		return htmlPage(http.StatusBadRequest, "Invalid redirect_uri")
	}
	method := q.Get("code_challenge_method")
	challenge := q.Get("code_challenge")
	if challenge != "" && method != "S256" && method != "plain" && method != "" {
		return htmlPage(http.StatusBadRequest, "Unsupported code_challenge_method")
	}
	if challenge != "" && method == "" {
		method = "plain" // RFC 7636 default
	}
	code := "C0." + randomB64(24) + "." + randomB64(24) + "@"
	s.mu.Lock()
	s.auth.codes[code] = &authCode{redirectURI: s.cfg.RedirectURI, challenge: challenge,
		challengeMethod: method, issued: s.clock.Now()}
	s.mu.Unlock()

	cb := url.Values{}
	cb.Set("code", code)
	cb.Set("session", newUUID())
	if st := q.Get("state"); st != "" {
		cb.Set("state", st)
	}
	resp := emptyResponse(http.StatusFound)
	resp.header.Set("Location", s.cfg.RedirectURI+"?"+cb.Encode())
	return resp
}

func htmlPage(status int, msg string) response {
	resp := response{status: status, header: http.Header{}, body: []byte("<html><body><h1>" + msg + "</h1></body></html>")}
	resp.header.Set("Content-Type", "text/html;charset=UTF-8")
	return resp
}

func oauthError(status int, code, desc string) response {
	return jsonResponse(status, map[string]string{"error": code, "error_description": desc})
}

func (s *Server) token(r *http.Request, body []byte) response {
	form, err := url.ParseQuery(string(body))
	if err != nil || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		return oauthError(http.StatusBadRequest, "invalid_request", "form-encoded body required")
	}
	grant := form.Get("grant_type")
	s.mu.Lock()
	defer s.mu.Unlock()
	s.auth.grants[grant]++
	resp := s.tokenLocked(r, form, grant)
	if resp.status != http.StatusOK {
		s.auth.refusals[grant]++
	}
	return resp
}

func (s *Server) tokenLocked(r *http.Request, form url.Values, grant string) response {
	key, secret, ok := r.BasicAuth()
	if !ok || subtle.ConstantTimeCompare([]byte(key), []byte(s.cfg.AppKey)) != 1 ||
		subtle.ConstantTimeCompare([]byte(secret), []byte(s.cfg.AppSecret)) != 1 {
		return oauthError(http.StatusUnauthorized, "invalid_client", "client authentication failed")
	}
	switch grant {
	case "authorization_code":
		return s.codeGrantLocked(form)
	case "refresh_token":
		return s.refreshGrantLocked(form)
	}
	return oauthError(http.StatusBadRequest, "unsupported_grant_type", "grant_type "+grant+" is not supported")
}

func (s *Server) codeGrantLocked(form url.Values) response {
	code := s.auth.codes[form.Get("code")]
	now := s.clock.Now()
	switch {
	case code == nil:
		return oauthError(http.StatusBadRequest, "invalid_grant", "authorization code is invalid")
	case code.used:
		return oauthError(http.StatusBadRequest, "invalid_grant", "authorization code was already used")
	case now.Sub(code.issued) > s.cfg.CodeTTL:
		return oauthError(http.StatusBadRequest, "invalid_grant", "authorization code expired")
	case form.Get("redirect_uri") != code.redirectURI:
		return oauthError(http.StatusBadRequest, "invalid_grant", "redirect_uri does not match")
	}
	code.used = true
	if code.challenge != "" && !pkceMatches(code.challenge, code.challengeMethod, form.Get("code_verifier")) {
		return oauthError(http.StatusBadRequest, "invalid_grant", "PKCE verification failed")
	}
	return tokenResponse(s.loginLocked(), s.cfg.AccessTTL, true)
}

// pkceMatches checks an RFC 7636 code_verifier against the challenge.
func pkceMatches(challenge, method, verifier string) bool {
	if len(verifier) < 43 || len(verifier) > 128 {
		return false
	}
	want := verifier
	if method == "S256" {
		sum := sha256.Sum256([]byte(verifier))
		want = base64.RawURLEncoding.EncodeToString(sum[:])
	}
	return subtle.ConstantTimeCompare([]byte(want), []byte(challenge)) == 1
}

func (s *Server) refreshGrantLocked(form url.Values) response {
	chain := s.auth.refresh[form.Get("refresh_token")]
	now := s.clock.Now()
	if chain == nil || chain.superseded || !now.Before(chain.loginAt.Add(s.cfg.RefreshTTL)) {
		if s.cfg.RefreshErrorInvalidClient {
			return oauthError(http.StatusBadRequest, "invalid_client", "refresh token invalid")
		}
		return refreshTokenRejected()
	}
	if s.cfg.RotateTokens {
		delete(s.auth.refresh, chain.refresh)
		chain.refresh = randomB64(48) + "@"
		s.auth.refresh[chain.refresh] = chain
	}
	return tokenResponse(s.issueAccessLocked(chain), s.cfg.AccessTTL, false)
}

// refreshTokenRejected is the observed answer to a dead refresh token: an
// OAuth error whose description embeds a second JSON document.
func refreshTokenRejected() response {
	digest := randomB64(32)
	inner := `{"error_description":"Exception while authenticating refresh token [tokenDigest=` + digest +
		`, Exception=Failed refresh token authentication [tokenDigest=` + digest + `]]","error":"refresh_token_authentication_error"}`
	return oauthError(http.StatusBadRequest, "unsupported_token_type", `400 Bad Request: "`+inner+`"`)
}

func (s *Server) loginLocked() Tokens {
	for _, c := range s.auth.chains {
		c.superseded = true // a new login invalidates the earlier refresh tokens
	}
	chain := &tokenChain{loginAt: s.clock.Now(), refresh: randomB64(48) + "@"}
	s.auth.chains = append(s.auth.chains, chain)
	s.auth.refresh[chain.refresh] = chain
	return s.issueAccessLocked(chain)
}

func (s *Server) issueAccessLocked(chain *tokenChain) Tokens {
	now := s.clock.Now()
	tok := "I0." + randomB64(24) + "." + randomB64(24) + "@"
	s.auth.access[tok] = &accessToken{expires: now.Add(s.cfg.AccessTTL)}
	return Tokens{AccessToken: tok, RefreshToken: chain.refresh, Expiry: now.Add(s.cfg.AccessTTL),
		RefreshExpiry: chain.loginAt.Add(s.cfg.RefreshTTL)}
}

func tokenResponse(t Tokens, ttl time.Duration, withIDToken bool) response {
	body := map[string]any{
		"expires_in":    int(ttl.Seconds()),
		"token_type":    "Bearer",
		"scope":         "api",
		"refresh_token": t.RefreshToken,
		"access_token":  t.AccessToken,
	}
	if withIDToken {
		body["id_token"] = "eyJhbGciOiJub25lIn0." + randomB64(24) + "."
	}
	return jsonResponse(http.StatusOK, body)
}

// checkBearer answers a request without a live access token.
func (s *Server) checkBearer(r *http.Request, marketData bool) response {
	h := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || tok == "" {
		if marketData {
			return gatewayError(http.StatusBadRequest, "400", "Bad Request", "Missing header",
				map[string]any{"header": "Authorization"})
		}
		return unauthorized()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	at := s.auth.access[tok]
	if at == nil || at.revoked || !s.clock.Now().Before(at.expires) {
		return unauthorized()
	}
	return response{}
}

func randomB64(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
