package auth_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"time"

	"github.com/arbiontrader/arbion/auth"
	"github.com/arbiontrader/arbion/errors"
	"golang.org/x/oauth2"
)

// A token prints without its secrets, whatever the verb.
func ExampleToken() {
	tok := auth.Token{AccessToken: "I0.b2F1dGgy", RefreshToken: "rt-1",
		Expiry: time.Date(2026, 3, 2, 15, 0, 0, 0, time.UTC)}
	fmt.Printf("%v\n", tok)
	fmt.Printf("%#v\n", tok.AccessToken == "") // the field itself is still usable
	// Output:
	// auth.Token{AccessToken:REDACTED RefreshToken:REDACTED TokenType:Bearer Expiry:2026-03-02T15:00:00Z RefreshExpiry:none Secret:"" Extra:{}}
	// false
}

// The manual login: show the URL, let the user paste where the browser
// landed, complete. Here a fake authorization server plays the user.
func ExampleFlow_Complete() {
	broker := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/authorize": // the user logs in and is sent back with a code
			q := r.URL.Query()
			http.Redirect(w, r, q.Get("redirect_uri")+"?code=c1&state="+q.Get("state"), http.StatusFound)
		case "/token":
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(map[string]any{"access_token": "at", "refresh_token": "rt", "expires_in": 1800})
		}
	}))
	defer broker.Close()

	flow, err := auth.NewFlow(auth.LoginConfig{
		Broker: "schwab",
		OAuth2: &oauth2.Config{ClientID: "app-key", ClientSecret: "app-secret", RedirectURL: "https://127.0.0.1:8182",
			Endpoint: oauth2.Endpoint{AuthURL: broker.URL + "/authorize", TokenURL: broker.URL + "/token"}},
		RefreshLifetime: 7 * 24 * time.Hour, // Schwab: log in again after 7 days
	})
	if err != nil {
		panic(err)
	}
	// fmt.Println("Open:", flow.AuthURL()); then read the pasted URL.
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, _ := noFollow.Get(flow.AuthURL())
	resp.Body.Close()
	pasted := resp.Header.Get("Location")

	tok, err := flow.Complete(context.Background(), pasted)
	fmt.Println(err, time.Until(tok.RefreshExpiry).Round(time.Hour))

	_, err = flow.Complete(context.Background(), "https://127.0.0.1:8182/?code=c2&state=forged")
	fmt.Println(errors.Is(err, errors.ErrUnauthenticated))
	// Output:
	// <nil> 168h0m0s
	// true
}

// A Source in front of an encrypted file store: it hands out valid tokens
// and authorizes requests (its Authorize is the adapters' request-signing hook).
func ExampleSource() {
	tokenEndpoint := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"access_token": "fresh", "expires_in": 1800})
	}))
	defer tokenEndpoint.Close()

	dir, _ := os.MkdirTemp("", "arbion-example")
	defer os.RemoveAll(dir)
	key := make([]byte, auth.KeySize) // in real use: 32 random bytes from a secret manager
	store, err := auth.NewFileStore(filepath.Join(dir, "tokens.enc"), key)
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	store.Save(ctx, "schwab/main", auth.Token{AccessToken: "stale", RefreshToken: "rt", Expiry: time.Now().Add(-time.Minute)})

	src, err := auth.NewSource(auth.SourceConfig{
		Broker:   "schwab",
		OAuth2:   &oauth2.Config{ClientID: "app-key", Endpoint: oauth2.Endpoint{TokenURL: tokenEndpoint.URL}},
		Store:    store,
		StoreKey: "schwab/main",
	})
	if err != nil {
		panic(err)
	}
	req, _ := http.NewRequest(http.MethodGet, "https://api.example/accounts", nil)
	if err := src.Authorize(ctx, req); err != nil {
		panic(err)
	}
	saved, _ := store.Load(ctx, "schwab/main")
	fmt.Println(req.Header.Get("Authorization"), saved.AccessToken, saved.RefreshToken)

	_, err = auth.NewFileStore(filepath.Join(dir, "plain"), nil)
	fmt.Println(errors.Is(err, errors.ErrEncryptionKeyMissing))
	// Output:
	// Bearer fresh fresh rt
	// true
}

// A FileStore key has one format: standard base64 of 32 bytes, as made by
// `openssl rand -base64 32`. A hex key is refused with a message saying how
// to convert it.
func ExampleParseKey() {
	key, err := auth.ParseKey("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n")
	fmt.Println(len(key), err)

	_, err = auth.ParseKey("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")
	fmt.Println(errors.Is(err, errors.ErrConfiguration))

	_, err = auth.KeyFromEnv("ARBION_EXAMPLE_UNSET_KEY")
	fmt.Println(errors.Is(err, errors.ErrEncryptionKeyMissing))
	// Output:
	// 32 <nil>
	// true
	// true
}

// Two processes share one login through one token file: the follower never
// refreshes; it reads what the leader saved.
func ExampleSourceConfig_leader() {
	tokenEndpoint := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"access_token": "fresh", "refresh_token": "rt-2", "expires_in": 1800})
	}))
	defer tokenEndpoint.Close()
	dir, _ := os.MkdirTemp("", "arbion-example")
	defer os.RemoveAll(dir)
	key, _ := auth.ParseKey("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=")
	ctx := context.Background()
	oc := &oauth2.Config{ClientID: "app", Endpoint: oauth2.Endpoint{TokenURL: tokenEndpoint.URL}}

	newSource := func(leader auth.Leader) *auth.Source { // one per process
		store, _ := auth.NewFileStore(filepath.Join(dir, "tokens.enc"), key)
		src, _ := auth.NewSource(auth.SourceConfig{Broker: "coinbase", OAuth2: oc, Store: store, StoreKey: "cb", Leader: leader})
		return src
	}
	store, _ := auth.NewFileStore(filepath.Join(dir, "tokens.enc"), key)
	store.Save(ctx, "cb", auth.Token{AccessToken: "stale", RefreshToken: "rt-1", Expiry: time.Now().Add(-time.Minute)})

	follower := newSource(auth.LeaderFunc(func() error { return errors.ErrNotLeader }))
	_, err := follower.Token(ctx)
	fmt.Println(errors.Is(err, errors.ErrTokenExpired), errors.Is(err, errors.ErrNotLeader))

	leader := newSource(nil) // nil: this process refreshes
	tok, _ := leader.Token(ctx)
	fmt.Println(tok.AccessToken)

	tok, err = follower.Token(ctx)
	fmt.Println(tok.AccessToken, err)
	// Output:
	// true true
	// fresh
	// fresh <nil>
}
