package auth

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// Sentinel secrets: none may appear in any printed or logged form.
const (
	sentAccess   = "SENTINEL-access-tok"
	sentRefresh  = "SENTINEL-refresh-tok"
	sentSecret   = "SENTINEL-oauth1-secret"
	sentExtra    = "SENTINEL-extra-value"
	sentClient   = "SENTINEL-client-secret"
	sentState    = "SENTINEL-state"
	sentVerifier = "SENTINEL-verifier"
	sentKey      = "SENTINEL-file-key-32-bytes-long!" // 32 bytes
)

// sentinels lists every secret and the derived forms that would reveal it.
func sentinels() []string {
	s := []string{sentAccess, sentRefresh, sentSecret, sentExtra, sentClient, sentState, sentVerifier, sentKey,
		hex.EncodeToString([]byte(sentKey)), base64.StdEncoding.EncodeToString([]byte(sentKey)), "SENTINEL"}
	fp := FingerprintOf(sentinelToken())
	s = append(s, hex.EncodeToString(fp.sum[:]), fmt.Sprint(fp.sum))
	return s
}

func sentinelToken() Token {
	return Token{AccessToken: sentAccess, RefreshToken: sentRefresh, TokenType: "Bearer", Expiry: time.Unix(1e9, 0),
		Secret: sentSecret, Extra: map[string]string{"id_token": sentExtra}}
}

func sentinelOAuth2() *oauth2.Config {
	return &oauth2.Config{ClientID: "id", ClientSecret: sentClient, RedirectURL: "http://127.0.0.1/cb",
		Endpoint: oauth2.Endpoint{AuthURL: "http://127.0.0.1/a", TokenURL: "http://127.0.0.1/t"}}
}

// TestSentinelSecretsNeverPrinted fills every auth type that holds a secret
// (unexported fields included) with sentinels, prints it with every fmt
// verb and logs it through slog's JSON and text handlers at debug level:
// no sentinel may come out.
func TestSentinelSecretsNeverPrinted(t *testing.T) {
	ctx := context.Background()
	tok := sentinelToken()
	mem := NewMemoryStore()
	mem.Save(ctx, "k", tok)
	file, err := NewFileStore(filepath.Join(t.TempDir(), "tokens"), []byte(sentKey))
	if err != nil {
		t.Fatal(err)
	}
	src, err := NewSource(SourceConfig{Broker: "b", OAuth2: sentinelOAuth2(), Store: mem, StoreKey: "k",
		Leader: LeaderFunc(func() error { return nil })})
	if err != nil {
		t.Fatal(err)
	}
	src.tok = &tok // as loaded
	flow, err := NewFlow(LoginConfig{Broker: "b", OAuth2: sentinelOAuth2(), Store: mem, StoreKey: "k"})
	if err != nil {
		t.Fatal(err)
	}
	flow.state, flow.verifier = sentState, sentVerifier
	srcCfg := SourceConfig{OAuth2: sentinelOAuth2(), Store: file, StoreKey: "k"}
	loginCfg := LoginConfig{OAuth2: sentinelOAuth2(), Store: file, StoreKey: "k"}
	_, keyErr := ParseKey(sentKey)

	values := []struct {
		name    string
		v       any
		fmtOnly bool
	}{
		{"Token", tok, false},
		{"*Token", &tok, false},
		// slog's JSON handler encodes a slice with encoding/json, which
		// writes a Token whole: that is its serialisation for host stores
		// (see Token). Log tokens one by one.
		{"[]Token", []Token{tok}, true},
		{"*MemoryStore", mem, false},
		{"*FileStore", file, false},
		{"*Source", src, false},
		{"SourceConfig", srcCfg, false},
		{"*SourceConfig", &srcCfg, false},
		{"LoginConfig", loginCfg, false},
		{"*LoginConfig", &loginCfg, false},
		{"*Flow", flow, false},
		{"Fingerprint", FingerprintOf(tok), false},
		{"ParseKey error", keyErr, false},
	}
	verbs := []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d"}
	for _, tt := range values {
		var out bytes.Buffer
		for _, verb := range verbs {
			fmt.Fprintf(&out, verb+"\n", tt.v)
		}
		fmt.Fprintln(&out, tt.v)
		opts := &slog.HandlerOptions{Level: slog.LevelDebug}
		handlers := []slog.Handler{slog.NewJSONHandler(&out, opts), slog.NewTextHandler(&out, opts)}
		if tt.fmtOnly {
			handlers = handlers[1:]
		}
		for _, h := range handlers {
			l := slog.New(h)
			l.Debug("m", "v", tt.v)
			l.Debug("m", slog.Any("v", tt.v), slog.Group("g", "v", tt.v))
			l.With("v", tt.v).Debug("m")
		}
		if out.Len() == 0 {
			t.Fatalf("%s: nothing printed", tt.name)
		}
		for _, s := range sentinels() {
			if n := strings.Count(out.String(), s); n != 0 {
				t.Errorf("%s: %d occurrences of sentinel %q in:\n%s", tt.name, n, s, out.String())
			}
		}
	}
}

// TestTokenEndpointErrorsScrubbed: a token endpoint that echoes the
// request's secrets (refresh token, code, verifier, client secret,
// Authorization header) in its error code and description yields an error
// that carries none of them, and the Source's debug log carries none.
func TestTokenEndpointErrorsScrubbed(t *testing.T) {
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		var echoed []string
		for _, k := range []string{"refresh_token", "code", "code_verifier", "client_secret"} {
			if v := r.PostForm.Get(k); v != "" {
				echoed = append(echoed, k+"="+v, url.QueryEscape(v))
			}
		}
		echoed = append(echoed, "auth="+r.Header.Get("Authorization"))
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		json.NewEncoder(w).Encode(map[string]string{"error": "invalid_grant " + r.PostForm.Get("refresh_token"),
			"error_description": strings.Join(echoed, " ")})
	}))
	defer echo.Close()

	for _, style := range []oauth2.AuthStyle{oauth2.AuthStyleInHeader, oauth2.AuthStyleInParams} {
		oc := sentinelOAuth2()
		oc.Endpoint.TokenURL, oc.Endpoint.AuthStyle = echo.URL, style
		tests := []struct {
			name string
			call func(logger *slog.Logger) error
		}{
			{"refresh", func(logger *slog.Logger) error {
				mem := NewMemoryStore()
				mem.Save(context.Background(), "k", Token{AccessToken: sentAccess, RefreshToken: sentRefresh, Expiry: time.Unix(1, 0)})
				src, err := NewSource(SourceConfig{Broker: "b", OAuth2: oc, Store: mem, StoreKey: "k", Logger: logger, HTTPClient: echo.Client()})
				if err != nil {
					t.Fatal(err)
				}
				_, err = src.Token(context.Background())
				return err
			}},
			{"login exchange", func(logger *slog.Logger) error {
				flow, err := NewFlow(LoginConfig{Broker: "b", OAuth2: oc, Logger: logger, HTTPClient: echo.Client()})
				if err != nil {
					t.Fatal(err)
				}
				flow.verifier = sentVerifier
				_, err = flow.Complete(context.Background(), "http://127.0.0.1/cb?code=SENTINEL-code&state="+url.QueryEscape(flow.state))
				return err
			}},
			{"login refused on the redirect", func(logger *slog.Logger) error {
				flow, _ := NewFlow(LoginConfig{Broker: "b", OAuth2: oc, Logger: logger})
				flow.state = sentState
				_, err := flow.Complete(context.Background(), "http://127.0.0.1/cb?error=access_denied&error_description="+
					url.QueryEscape("state "+sentState+" secret "+sentClient)+"&state="+sentState)
				return err
			}},
		}
		for _, tt := range tests {
			var logs bytes.Buffer
			err := tt.call(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
			if err == nil {
				t.Fatalf("%s: no error", tt.name)
			}
			out := err.Error() + fmt.Sprintf(" %+v %#v ", err, err) + logs.String()
			for _, s := range append(sentinels(), "SENTINEL-code") {
				if strings.Contains(out, s) {
					t.Errorf("%s (auth style %d): sentinel %q leaked: %s", tt.name, style, s, out)
				}
			}
			if tt.name != "login refused on the redirect" && !strings.Contains(out, "REDACTED") {
				t.Errorf("%s: the echoed description was not kept (scrubbed): %s", tt.name, out)
			}
		}
	}
}
