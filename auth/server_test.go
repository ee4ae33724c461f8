package auth_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"

	"golang.org/x/oauth2"
)

// authServer is a small OAuth2 authorization server for the tests: it
// verifies PKCE itself (S256 of the verifier against the challenge it was
// given), issues codes once, and refreshes tokens, rotating the refresh
// token when asked to.
type authServer struct {
	*httptest.Server
	rotate bool // issue a new refresh token on every refresh, revoking the old

	mu          sync.Mutex
	codes       map[string]string // code -> PKCE challenge ("" when none was sent)
	refresh     map[string]bool   // valid refresh tokens
	seq         int
	pkceChecked int // token exchanges whose verifier matched the challenge
	exchanges   int
	refreshes   int
	refreshFail int // answer refreshes with this status (and invalid_grant for 400)
	// beforeRefresh, if set, runs with mu held when a refresh request
	// arrives, before it is answered: another process's doing.
	beforeRefresh func(refreshToken string)
}

func newAuthServer(t *testing.T) *authServer {
	t.Helper()
	s := &authServer{codes: map[string]string{}, refresh: map[string]bool{}}
	mux := http.NewServeMux()
	mux.HandleFunc("/authorize", s.authorize)
	mux.HandleFunc("/token", s.token)
	s.Server = httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

func (s *authServer) oauth2Config(redirect string) *oauth2.Config {
	return &oauth2.Config{
		ClientID:     "app-key",
		ClientSecret: "client-SECRET-value",
		Endpoint:     oauth2.Endpoint{AuthURL: s.URL + "/authorize", TokenURL: s.URL + "/token", AuthStyle: oauth2.AuthStyleInHeader},
		RedirectURL:  redirect,
	}
}

// authorize plays the user who logs in and consents: it redirects to the
// redirect URI with a fresh code and the state it was given.
func (s *authServer) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("response_type") != "code" || q.Get("client_id") != "app-key" {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	challenge := q.Get("code_challenge")
	if challenge != "" && q.Get("code_challenge_method") != "S256" {
		http.Error(w, "only S256", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.seq++
	code := fmt.Sprintf("code-%d", s.seq)
	s.codes[code] = challenge
	s.mu.Unlock()
	redirect, _ := url.Parse(q.Get("redirect_uri"))
	rq := redirect.Query()
	rq.Set("code", code)
	rq.Set("state", q.Get("state"))
	redirect.RawQuery = rq.Encode()
	http.Redirect(w, r, redirect.String(), http.StatusFound)
}

func (s *authServer) token(w http.ResponseWriter, r *http.Request) {
	if id, secret, ok := r.BasicAuth(); !ok || id != "app-key" || secret != "client-SECRET-value" {
		tokenError(w, http.StatusUnauthorized, "invalid_client")
		return
	}
	r.ParseForm()
	s.mu.Lock()
	defer s.mu.Unlock()
	switch r.PostForm.Get("grant_type") {
	case "authorization_code":
		s.exchanges++
		challenge, ok := s.codes[r.PostForm.Get("code")]
		delete(s.codes, r.PostForm.Get("code"))
		if !ok {
			tokenError(w, http.StatusBadRequest, "invalid_grant")
			return
		}
		if challenge != "" {
			sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
			if base64.RawURLEncoding.EncodeToString(sum[:]) != challenge {
				tokenError(w, http.StatusBadRequest, "invalid_grant")
				return
			}
			s.pkceChecked++
		}
		s.issue(w, true)
	case "refresh_token":
		s.refreshes++
		if s.beforeRefresh != nil {
			s.beforeRefresh(r.PostForm.Get("refresh_token"))
		}
		if s.refreshFail != 0 {
			tokenError(w, s.refreshFail, map[bool]string{true: "invalid_grant", false: "server_error"}[s.refreshFail == 400])
			return
		}
		rt := r.PostForm.Get("refresh_token")
		if !s.refresh[rt] {
			tokenError(w, http.StatusBadRequest, "invalid_grant")
			return
		}
		if s.rotate {
			delete(s.refresh, rt)
		}
		s.issue(w, s.rotate)
	default:
		tokenError(w, http.StatusBadRequest, "unsupported_grant_type")
	}
}

// issue answers with a new access token and, if withRefresh, a new refresh
// token. Called with s.mu held.
func (s *authServer) issue(w http.ResponseWriter, withRefresh bool) {
	s.seq++
	body := map[string]any{"access_token": fmt.Sprintf("access-SECRET-%d", s.seq), "token_type": "Bearer", "expires_in": 1800}
	if withRefresh {
		rt := fmt.Sprintf("refresh-SECRET-%d", s.seq)
		s.refresh[rt] = true
		body["refresh_token"] = rt
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(body)
}

func tokenError(w http.ResponseWriter, status int, code string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": "test server says " + code})
}

func (s *authServer) counts() (exchanges, pkceChecked, refreshes int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.exchanges, s.pkceChecked, s.refreshes
}

// addRefreshToken makes rt valid, as if issued at a login.
func (s *authServer) addRefreshToken(rt string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refresh[rt] = true
}

// valid reports whether rt is a refresh token the server would accept.
func (s *authServer) valid(rt string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refresh[rt]
}
