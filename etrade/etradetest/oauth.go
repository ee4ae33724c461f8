package etradetest

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

const (
	timestampWindow   = 300 // seconds either side of the server clock
	requestTokenLife  = 5 * time.Minute
	idleLimit         = 2 * time.Hour
	renewedText       = "Access Token has been renewed"
	revokedText       = "Revoked Access Token"
	problemSignature  = "signature_invalid"
	problemTokenRej   = "token_rejected"
	problemTokenExp   = "token_expired"
	problemConsumer   = "consumer_key_rejected"
	problemTimestamp  = "timestamp_refused"
	problemNonce      = "nonce_used"
	problemCallback   = "callback_rejected"
	problemParameters = "parameter_absent"
	problemMethod     = "signature_method_rejected"
)

type requestToken struct {
	secret   string
	issued   time.Time
	verifier string // set once the user approved
	used     bool
}

type accessToken struct {
	secret   string
	issued   time.Time
	expires  time.Time // the first midnight US Eastern after issue
	lastUsed time.Time
	revoked  bool
}

// oauthError is a refused OAuth check: an oauth_problem and its detail.
type oauthError struct {
	problem string
	detail  string // e.g. "oauth_acceptable_timestamps=1-2"
}

func (e *oauthError) text() string {
	s := "oauth_problem=" + e.problem
	if e.detail != "" {
		s += "," + e.detail
	}
	return s
}

// signedRequest is what verification learned about a request.
type signedRequest struct {
	params map[string]string // the oauth_* parameters received, decoded
	token  string
}

// esc is this emulator's RFC 3986 encoder, written independently of the
// adapter's: url.QueryEscape already leaves A-Z a-z 0-9 - _ . ~ alone and
// writes every other byte as %XX, except a space, which it writes as +.
func esc(s string) string { return strings.ReplaceAll(url.QueryEscape(s), "+", "%20") }

// parseAuthorization reads an "OAuth k="v", ..." header (RFC 5849 §3.5.1).
func parseAuthorization(h string) (map[string]string, error) {
	scheme, rest, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || !strings.EqualFold(scheme, "OAuth") {
		return nil, fmt.Errorf("not an OAuth authorization")
	}
	out := map[string]string{}
	for _, part := range strings.Split(rest, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		if !ok || len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
			return nil, fmt.Errorf("malformed parameter %q", k)
		}
		name, err1 := url.PathUnescape(strings.TrimSpace(k))
		value, err2 := url.PathUnescape(v[1 : len(v)-1])
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("bad escape in %q", k)
		}
		if name == "realm" {
			continue
		}
		if _, dup := out[name]; dup {
			return nil, fmt.Errorf("duplicate %s", name)
		}
		out[name] = value
	}
	return out, nil
}

// baseURI rebuilds the signed URI from what the server received.
func baseURI(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	host := strings.ToLower(r.Host)
	if h, port, ok := strings.Cut(host, ":"); ok && ((scheme == "http" && port == "80") || (scheme == "https" && port == "443")) {
		host = h
	}
	return scheme + "://" + host + r.URL.EscapedPath()
}

// expectedSignature recomputes the HMAC-SHA1 signature of r.
func expectedSignature(r *http.Request, oauth map[string]string, form url.Values, consumerSecret, tokenSecret string) string {
	var pairs [][2]string
	add := func(k, v string) { pairs = append(pairs, [2]string{esc(k), esc(v)}) }
	for k, vs := range r.URL.Query() {
		for _, v := range vs {
			add(k, v)
		}
	}
	for k, vs := range form {
		for _, v := range vs {
			add(k, v)
		}
	}
	for k, v := range oauth {
		if k != "oauth_signature" {
			add(k, v)
		}
	}
	sort.Slice(pairs, func(i, j int) bool {
		if pairs[i][0] != pairs[j][0] {
			return pairs[i][0] < pairs[j][0]
		}
		return pairs[i][1] < pairs[j][1]
	})
	joined := make([]string, len(pairs))
	for i, p := range pairs {
		joined[i] = p[0] + "=" + p[1]
	}
	base := strings.ToUpper(r.Method) + "&" + esc(baseURI(r)) + "&" + esc(strings.Join(joined, "&"))
	mac := hmac.New(sha1.New, []byte(esc(consumerSecret)+"&"+esc(tokenSecret)))
	io.WriteString(mac, base)
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// verify checks the signature, consumer key, timestamp and nonce of r.
// secretOf finds the token secret for the oauth_token received (nil when the
// call takes no token); it returns an oauthError when the token is unknown.
// Caller holds s.mu.
func (s *Server) verify(r *http.Request, secretOf func(token string) (string, *oauthError)) (*signedRequest, *oauthError) {
	var oauth map[string]string
	if h := r.Header.Get("Authorization"); h != "" {
		p, err := parseAuthorization(h)
		if err != nil {
			return nil, &oauthError{problem: problemParameters, detail: "oauth_parameters_absent=" + esc(err.Error())}
		}
		oauth = p
	} else {
		oauth = map[string]string{} // the parameters may sit in the query instead (E*TRADE's sample)
	}
	queryOAuth := map[string]bool{}
	for k, vs := range r.URL.Query() {
		if strings.HasPrefix(k, "oauth_") {
			if _, dup := oauth[k]; dup || len(vs) != 1 {
				return nil, &oauthError{problem: problemParameters}
			}
			queryOAuth[k] = true
		}
	}
	get := func(k string) string {
		if v, ok := oauth[k]; ok {
			return v
		}
		return r.URL.Query().Get(k)
	}
	for _, k := range []string{"oauth_consumer_key", "oauth_nonce", "oauth_signature", "oauth_signature_method", "oauth_timestamp"} {
		if get(k) == "" {
			return nil, &oauthError{problem: problemParameters, detail: "oauth_parameters_absent=" + k}
		}
	}
	if get("oauth_signature_method") != "HMAC-SHA1" {
		return nil, &oauthError{problem: problemMethod}
	}
	if get("oauth_consumer_key") != s.cfg.ConsumerKey {
		return nil, &oauthError{problem: problemConsumer}
	}
	now := s.now().Unix()
	ts, err := strconv.ParseInt(get("oauth_timestamp"), 10, 64)
	if err != nil || ts < now-timestampWindow || ts > now+timestampWindow {
		return nil, &oauthError{problem: problemTimestamp,
			detail: fmt.Sprintf("oauth_acceptable_timestamps=%d-%d", now-timestampWindow, now+timestampWindow)}
	}
	nonceKey := get("oauth_consumer_key") + "|" + get("oauth_timestamp") + "|" + get("oauth_nonce")
	if _, seen := s.state.nonces[nonceKey]; seen {
		return nil, &oauthError{problem: problemNonce}
	}
	token := get("oauth_token")
	tokenSecret := ""
	if secretOf != nil {
		sec, oerr := secretOf(token)
		if oerr != nil {
			return nil, oerr
		}
		tokenSecret = sec
	}
	var form url.Values
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") && r.Body != nil {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		form, _ = url.ParseQuery(string(body))
	}
	want := expectedSignature(r, oauth, form, s.cfg.ConsumerSecret, tokenSecret)
	if !hmac.Equal([]byte(want), []byte(get("oauth_signature"))) {
		return nil, &oauthError{problem: problemSignature}
	}
	s.pruneNonces(now)
	s.state.nonces[nonceKey] = ts
	params := map[string]string{}
	for k, v := range oauth {
		params[k] = v
	}
	for k := range queryOAuth {
		params[k] = r.URL.Query().Get(k)
	}
	return &signedRequest{params: params, token: token}, nil
}

func (s *Server) pruneNonces(now int64) {
	if len(s.state.nonces) < 4096 {
		return
	}
	for k, ts := range s.state.nonces {
		if ts < now-timestampWindow {
			delete(s.state.nonces, k)
		}
	}
}

// writeOAuthPageError answers a refused /oauth call the way E*TRADE does: a
// Tomcat HTML page carrying the oauth_problem, and the problem in
// WWW-Authenticate.
func writeOAuthPageError(w http.ResponseWriter, e *oauthError) {
	w.Header().Set("WWW-Authenticate", "OAuth "+e.text())
	w.Header().Set("Content-Type", "text/html;charset=utf-8")
	w.WriteHeader(http.StatusUnauthorized)
	fmt.Fprintf(w, `<!doctype html><html lang="en"><head><title>HTTP Status 401 – Unauthorized</title></head><body><h1>HTTP Status 401 – Unauthorized</h1><hr class="line" /><p><b>Type</b> Status Report</p><p><b>Message</b> %s</p><p><b>Description</b> The request has not been applied because it lacks valid authentication credentials for the target resource.</p><hr class="line" /><h3>Apache Tomcat</h3></body></html>`, xmlEscape(e.text()))
}

// writeAPIAuthError answers a refused /v1 call: 401 with an Error body that
// has only a message (code 0 in XML), and the problem in WWW-Authenticate.
func writeAPIAuthError(w http.ResponseWriter, r *http.Request, e *oauthError) {
	w.Header().Set("WWW-Authenticate", "OAuth "+e.text())
	writeAPIError(w, r, http.StatusUnauthorized, 0, e.text())
}

func (s *Server) midnightAfter(t time.Time) time.Time {
	et := t.In(s.loc)
	return time.Date(et.Year(), et.Month(), et.Day()+1, 0, 0, 0, 0, s.loc)
}

func writeText(w http.ResponseWriter, text string) {
	w.Header().Set("Content-Type", "text/plain;charset=utf-8")
	w.WriteHeader(http.StatusOK)
	io.WriteString(w, text)
}

func (s *Server) handleRequestToken(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sr, oerr := s.verify(r, nil)
	if oerr != nil {
		writeOAuthPageError(w, oerr)
		return
	}
	if sr.params["oauth_callback"] != "oob" {
		writeOAuthPageError(w, &oauthError{problem: problemCallback, detail: "oauth_acceptable_callback=oob"})
		return
	}
	if f, ok := s.takeFault(OpRequestToken); ok && s.applyPreFault(w, r, f) {
		return
	}
	tok, sec := randomToken(), randomToken()
	s.state.requestTokens[tok] = &requestToken{secret: sec, issued: s.now()}
	writeText(w, "oauth_token="+esc(tok)+"&oauth_token_secret="+esc(sec)+"&oauth_callback_confirmed=true")
}

// Approve plays the user approving requestToken on the authorize page and
// returns the verification code E*TRADE would show.
func (s *Server) Approve(requestToken string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rt, ok := s.state.requestTokens[requestToken]
	if !ok || rt.used || s.now().Sub(rt.issued) > requestTokenLife {
		return "", fmt.Errorf("etradetest: unknown, used or expired request token")
	}
	if rt.verifier == "" {
		rt.verifier = verificationCode()
	}
	return rt.verifier, nil
}

// verificationCode returns a code like the ones E*TRADE shows (Y27X25F).
func verificationCode() string {
	const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	var b [7]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b[:])
}

// handleAuthorize serves us.etrade.com/e/t/etws/authorize?key=&token=: it
// approves at once (there is no user) and shows the verification code.
func (s *Server) handleAuthorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("key") != s.cfg.ConsumerKey {
		http.Error(w, "invalid consumer key", http.StatusBadRequest)
		return
	}
	code, err := s.Approve(q.Get("token"))
	if err != nil {
		http.Error(w, "invalid request token", http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "text/html;charset=utf-8")
	fmt.Fprintf(w, `<html><body><p>Please copy the verification code below and paste it into the application.</p><input type="text" value="%s" readonly></body></html>`, code)
}

func (s *Server) handleAccessToken(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var rt *requestToken
	sr, oerr := s.verify(r, func(token string) (string, *oauthError) {
		rt = s.state.requestTokens[token]
		if rt == nil {
			return "", &oauthError{problem: problemTokenRej}
		}
		return rt.secret, nil
	})
	if oerr != nil {
		writeOAuthPageError(w, oerr)
		return
	}
	switch {
	case rt.used, rt.verifier == "", s.now().Sub(rt.issued) > requestTokenLife:
		writeOAuthPageError(w, &oauthError{problem: problemTokenRej})
		return
	case !hmac.Equal([]byte(sr.params["oauth_verifier"]), []byte(rt.verifier)):
		writeOAuthPageError(w, &oauthError{problem: problemTokenRej})
		return
	}
	if f, ok := s.takeFault(OpAccessToken); ok {
		if f == FaultMalformedAccessToken {
			// The docs' sample body, with its invalid escapes %3T and %7R.
			writeText(w, "oauth_token=%3TiQRgQCRGPo7Xdk6G8QDSEzX0Jsy6sKNcULcDavAGgU%3D&oauth_token_secret=%7RrC9scEpzcwSEMy4vE7nodSzPLqfRINnTNY4voczyFM%3D")
			return
		}
		if s.applyPreFault(w, r, f) {
			return
		}
	}
	rt.used = true
	tok, sec := s.issueAccessTokenLocked()
	writeText(w, "oauth_token="+esc(tok)+"&oauth_token_secret="+esc(sec))
}

func (s *Server) issueAccessTokenLocked() (string, string) {
	tok, sec := randomToken(), randomToken()
	now := s.now()
	s.state.accessTokens[tok] = &accessToken{secret: sec, issued: now, expires: s.midnightAfter(now), lastUsed: now}
	return tok, sec
}

// IssueAccessToken creates an access token as if the full login had run, for
// tests that do not exercise the login.
func (s *Server) IssueAccessToken() (token, secret string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.issueAccessTokenLocked()
}

// AccessTokenExpiry returns when an access token expires (midnight US
// Eastern after its issue); false if unknown.
func (s *Server) AccessTokenExpiry(token string) (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	at, ok := s.state.accessTokens[token]
	if !ok {
		return time.Time{}, false
	}
	return at.expires, true
}

// accessSecret looks up an access token for verification.
func (s *Server) accessSecret(token string) (string, *oauthError) {
	at := s.state.accessTokens[token]
	if at == nil {
		return "", &oauthError{problem: problemTokenRej}
	}
	return at.secret, nil
}

// tokenUsable checks an access token's life after its signature verified.
func (s *Server) tokenUsable(token string, renewing bool) *oauthError {
	at := s.state.accessTokens[token]
	now := s.now()
	switch {
	case at.revoked:
		return &oauthError{problem: problemTokenRej}
	case !now.Before(at.expires):
		return &oauthError{problem: problemTokenExp}
	case !renewing && now.Sub(at.lastUsed) >= idleLimit:
		return &oauthError{problem: problemTokenExp} // inactive: renew reactivates it
	}
	return nil
}

func (s *Server) handleRenew(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sr, oerr := s.verify(r, s.accessSecret)
	if oerr == nil {
		oerr = s.tokenUsable(sr.token, true)
	}
	if oerr != nil {
		writeOAuthPageError(w, oerr)
		return
	}
	if f, ok := s.takeFault(OpRenew); ok && s.applyPreFault(w, r, f) {
		return
	}
	s.state.accessTokens[sr.token].lastUsed = s.now()
	writeText(w, renewedText)
}

func (s *Server) handleRevoke(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sr, oerr := s.verify(r, s.accessSecret)
	if oerr == nil {
		oerr = s.tokenUsable(sr.token, true)
	}
	if oerr != nil {
		writeOAuthPageError(w, oerr)
		return
	}
	s.state.accessTokens[sr.token].revoked = true
	writeText(w, revokedText)
}

// authorizeAPI verifies a /v1 request and marks its token used. Caller holds
// s.mu. It writes the refusal and returns false when the request is refused.
func (s *Server) authorizeAPI(w http.ResponseWriter, r *http.Request) bool {
	sr, oerr := s.verify(r, s.accessSecret)
	if oerr == nil {
		oerr = s.tokenUsable(sr.token, false)
	}
	if oerr != nil {
		writeAPIAuthError(w, r, oerr)
		return false
	}
	s.state.accessTokens[sr.token].lastUsed = s.now()
	return true
}
