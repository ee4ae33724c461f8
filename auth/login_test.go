package auth_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arbiontrader/arbion/auth"
	"github.com/arbiontrader/arbion/clock/clocktest"
	"github.com/arbiontrader/arbion/errors"
)

var t0 = time.Date(2026, 3, 2, 14, 0, 0, 0, time.UTC)

// browser follows the authorization URL like a user's browser would, in a
// goroutine the test waits for. mutate may rewrite the URL the browser is
// finally sent to (an attacker's forged callback).
type browser struct {
	wg        sync.WaitGroup
	mutate    func(callback *url.URL)
	transport http.RoundTripper // nil: the default
}

func (b *browser) open(_ context.Context, authURL string) error {
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		hc := &http.Client{Transport: b.transport, CheckRedirect: func(req *http.Request, _ []*http.Request) error {
			if b.mutate != nil && req.URL.Hostname() == "127.0.0.1" {
				b.mutate(req.URL)
			}
			return nil
		}}
		resp, err := hc.Get(authURL)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}()
	return nil
}

func newKey(t *testing.T) []byte {
	t.Helper()
	key := make([]byte, auth.KeySize)
	rand.Read(key)
	return key
}

func TestLoginEndToEnd(t *testing.T) {
	srv := newAuthServer(t)
	path := filepath.Join(t.TempDir(), "tokens.enc")
	store, err := auth.NewFileStore(path, newKey(t))
	if err != nil {
		t.Fatal(err)
	}
	var b browser
	var callbackAddr string
	tok, err := auth.Login(context.Background(), auth.LoginConfig{
		Broker:          "testbroker",
		OAuth2:          srv.oauth2Config("http://127.0.0.1:0/callback"),
		Store:           store,
		StoreKey:        "testbroker/acct-1",
		Clock:           clocktest.New(t0),
		RefreshLifetime: 7 * 24 * time.Hour,
		OpenURL: func(ctx context.Context, authURL string) error {
			u, _ := url.Parse(authURL)
			redirect, _ := url.Parse(u.Query().Get("redirect_uri"))
			callbackAddr = redirect.Host
			if u.Query().Get("code_challenge") == "" {
				t.Error("authorization URL without a PKCE challenge")
			}
			if len(u.Query().Get("state")) < 32 {
				t.Errorf("state %q is too short to be unguessable", u.Query().Get("state"))
			}
			return b.open(ctx, authURL)
		},
	})
	b.wg.Wait()
	if err != nil {
		t.Fatalf("Login: %v", err)
	}
	exchanges, pkce, _ := srv.counts()
	if exchanges != 1 || pkce != 1 {
		t.Errorf("server saw %d exchanges, %d with a verified PKCE verifier; want 1, 1", exchanges, pkce)
	}
	if !strings.HasPrefix(tok.AccessToken, "access-SECRET-") || !strings.HasPrefix(tok.RefreshToken, "refresh-SECRET-") {
		t.Errorf("token = %v", tok)
	}
	if !tok.Expiry.Equal(t0.Add(30*time.Minute)) || !tok.RefreshExpiry.Equal(t0.Add(7*24*time.Hour)) {
		t.Errorf("Expiry, RefreshExpiry = %v, %v", tok.Expiry, tok.RefreshExpiry)
	}

	// Persisted, encrypted, private.
	saved, err := store.Load(context.Background(), "testbroker/acct-1")
	if err != nil || saved.AccessToken != tok.AccessToken || saved.RefreshToken != tok.RefreshToken {
		t.Errorf("stored token = %v, %v; want the login's", saved, err)
	}
	raw, _ := os.ReadFile(path)
	for _, secret := range []string{tok.AccessToken, tok.RefreshToken, "acct-1", "SECRET"} {
		if bytes.Contains(raw, []byte(secret)) {
			t.Errorf("token file contains %q in clear", secret)
		}
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("token file mode = %v, %v; want 0600", fi.Mode().Perm(), err)
	}

	// The callback listener is closed.
	if conn, err := net.Dial("tcp", callbackAddr); err == nil {
		conn.Close()
		t.Errorf("callback listener %s still accepts connections", callbackAddr)
	}
}

func TestLoginWrongStateRefused(t *testing.T) {
	srv := newAuthServer(t)
	b := browser{mutate: func(callback *url.URL) {
		q := callback.Query()
		q.Set("state", "attacker-state") // a forged callback (CSRF)
		callback.RawQuery = q.Encode()
	}}
	store := auth.NewMemoryStore()
	_, err := auth.Login(context.Background(), auth.LoginConfig{
		OAuth2:   srv.oauth2Config("http://127.0.0.1:0/callback"),
		Store:    store,
		StoreKey: "k",
		OpenURL:  b.open,
	})
	b.wg.Wait()
	if !errors.Is(err, errors.ErrUnauthenticated) || !strings.Contains(err.Error(), "state") {
		t.Fatalf("err = %v, want a refused state", err)
	}
	if exchanges, _, _ := srv.counts(); exchanges != 0 {
		t.Errorf("the code was exchanged %d times despite the wrong state", exchanges)
	}
	if _, err := store.Load(context.Background(), "k"); !errors.Is(err, auth.ErrNoToken) {
		t.Errorf("a token was stored: %v", err)
	}
}

func TestLoginServerError(t *testing.T) {
	srv := newAuthServer(t)
	b := browser{mutate: func(callback *url.URL) {
		q := callback.Query()
		q.Del("code")
		q.Set("error", "access_denied")
		callback.RawQuery = q.Encode()
	}}
	_, err := auth.Login(context.Background(), auth.LoginConfig{
		OAuth2: srv.oauth2Config("http://127.0.0.1:0/callback"), OpenURL: b.open,
	})
	b.wg.Wait()
	if !errors.Is(err, errors.ErrPermissionDenied) {
		t.Errorf("err = %v, want permission denied", err)
	}
}

func TestLoginTimeout(t *testing.T) {
	srv := newAuthServer(t)
	_, err := auth.Login(context.Background(), auth.LoginConfig{
		OAuth2:  srv.oauth2Config("http://127.0.0.1:0/callback"),
		Timeout: 20 * time.Millisecond,
		OpenURL: func(context.Context, string) error { return nil }, // the user never logs in
	})
	if !errors.Is(err, errors.ErrTimeout) {
		t.Errorf("err = %v, want timeout", err)
	}
}

func TestManualLogin(t *testing.T) {
	for _, pkce := range []bool{true, false} {
		t.Run(map[bool]string{true: "pkce", false: "no pkce"}[pkce], func(t *testing.T) {
			srv := newAuthServer(t)
			store := auth.NewMemoryStore()
			flow, err := auth.NewFlow(auth.LoginConfig{
				OAuth2:      srv.oauth2Config("https://127.0.0.1:8182"), // https: only manual mode can serve it here
				DisablePKCE: !pkce,
				Store:       store,
				StoreKey:    "k",
			})
			if err != nil {
				t.Fatal(err)
			}
			authURL, _ := url.Parse(flow.AuthURL())
			if got := authURL.Query().Has("code_challenge"); got != pkce {
				t.Errorf("code_challenge present = %t, want %t", got, pkce)
			}
			// The user logs in; the browser lands on a page that does not load.
			hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			resp, err := hc.Get(authURL.String())
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			pasted := resp.Header.Get("Location")

			forged, _ := url.Parse(pasted)
			q := forged.Query()
			q.Set("state", "other")
			forged.RawQuery = q.Encode()
			if _, err := flow.Complete(context.Background(), forged.String()); !errors.Is(err, errors.ErrUnauthenticated) {
				t.Errorf("forged state: err = %v, want refused", err)
			}

			tok, err := flow.Complete(context.Background(), "  "+pasted+"\n")
			if err != nil {
				t.Fatalf("Complete: %v", err)
			}
			if _, err := flow.Complete(context.Background(), pasted); err == nil {
				t.Error("a flow completed twice")
			}
			exchanges, pkceChecked, _ := srv.counts()
			if exchanges != 1 || pkceChecked != map[bool]int{true: 1, false: 0}[pkce] {
				t.Errorf("exchanges %d, PKCE verified %d", exchanges, pkceChecked)
			}
			if saved, _ := store.Load(context.Background(), "k"); saved.AccessToken != tok.AccessToken {
				t.Error("token not stored")
			}
		})
	}
}

func TestLoginConfigErrors(t *testing.T) {
	srv := newAuthServer(t)
	tests := []struct {
		name string
		cfg  auth.LoginConfig
	}{
		{"no oauth2", auth.LoginConfig{OpenURL: func(context.Context, string) error { return nil }}},
		{"no OpenURL", auth.LoginConfig{OAuth2: srv.oauth2Config("http://127.0.0.1:0/cb")}},
		{"not loopback", auth.LoginConfig{OAuth2: srv.oauth2Config("http://example.com/cb"), OpenURL: func(context.Context, string) error { return nil }}},
		{"https without TLS", auth.LoginConfig{OAuth2: srv.oauth2Config("https://127.0.0.1:0/cb"), OpenURL: func(context.Context, string) error { return nil }}},
		{"store without key", auth.LoginConfig{OAuth2: srv.oauth2Config("http://127.0.0.1:0/cb"), Store: auth.NewMemoryStore(), OpenURL: func(context.Context, string) error { return nil }}},
	}
	for _, tt := range tests {
		if _, err := auth.Login(context.Background(), tt.cfg); !errors.Is(err, errors.ErrConfiguration) {
			t.Errorf("%s: err = %v, want configuration error", tt.name, err)
		}
	}
}

// TestLoginHTTPSCallback serves an https redirect URL (Schwab requires one)
// with the certificate the host supplies.
func TestLoginHTTPSCallback(t *testing.T) {
	srv := newAuthServer(t)
	certSource := httptest.NewTLSServer(http.NotFoundHandler()) // a certificate for 127.0.0.1 and a client trusting it
	certSource.Close()
	b := browser{transport: certSource.Client().Transport}
	tok, err := auth.Login(context.Background(), auth.LoginConfig{
		OAuth2:    srv.oauth2Config("https://127.0.0.1:0/"),
		TLSConfig: &tls.Config{Certificates: certSource.TLS.Certificates},
		OpenURL:   b.open,
	})
	b.wg.Wait()
	if err != nil || tok.AccessToken == "" {
		t.Fatalf("Login over https: %v, %v", tok, err)
	}
	if _, pkce, _ := srv.counts(); pkce != 1 {
		t.Errorf("PKCE verified %d times, want 1", pkce)
	}
}
