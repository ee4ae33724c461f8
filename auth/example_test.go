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
	fmt.Println(err, tok.RefreshExpiry.Sub(time.Now()).Round(time.Hour))

	_, err = flow.Complete(context.Background(), "https://127.0.0.1:8182/?code=c2&state=forged")
	fmt.Println(errors.Is(err, errors.ErrUnauthenticated))
	// Output:
	// <nil> 168h0m0s
	// true
}

// A Source in front of an encrypted file store: it hands out valid tokens
// and authorizes requests (its Authorize fits httpx.Config.Authorize).
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
