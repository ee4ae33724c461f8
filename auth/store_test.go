package auth_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/arbiontrader/arbion/auth"
	"github.com/arbiontrader/arbion/errors"
	"github.com/google/go-cmp/cmp"
)

var sampleToken = auth.Token{
	AccessToken: "access-SECRET-1", RefreshToken: "refresh-SECRET-1", TokenType: "Bearer",
	Expiry: t0.Add(30 * time.Minute), RefreshExpiry: t0.Add(7 * 24 * time.Hour),
	Secret: "oauth1-SECRET", Extra: map[string]string{"scope": "readonly-SECRET"},
}

func TestStoresRoundTrip(t *testing.T) {
	key := newKey(t)
	file, err := auth.NewFileStore(filepath.Join(t.TempDir(), "tokens"), key)
	if err != nil {
		t.Fatal(err)
	}
	for name, store := range map[string]auth.TokenStore{"memory": auth.NewMemoryStore(), "file": file} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			if _, err := store.Load(ctx, "a"); !errors.Is(err, auth.ErrNoToken) || !errors.Is(err, errors.ErrUnauthenticated) {
				t.Errorf("Load of a missing key: %v", err)
			}
			other := auth.Token{AccessToken: "other"}
			if err := store.Save(ctx, "a", sampleToken); err != nil {
				t.Fatal(err)
			}
			if err := store.Save(ctx, "b", other); err != nil {
				t.Fatal(err)
			}
			got, err := store.Load(ctx, "a")
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(sampleToken, got); diff != "" {
				t.Errorf("round trip (-want +got):\n%s", diff)
			}
			got.Extra["scope"] = "changed" // the store keeps its own copy
			if again, _ := store.Load(ctx, "a"); again.Extra["scope"] != "readonly-SECRET" {
				t.Error("the store shares its Extra map with callers")
			}
			if got, _ := store.Load(ctx, "b"); got.AccessToken != "other" {
				t.Errorf("key b = %v", got)
			}
		})
	}
}

func TestFileStoreKeyRequired(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tokens")
	tests := []struct {
		key  []byte
		want errors.Kind
	}{
		{nil, errors.ErrEncryptionKeyMissing},
		{[]byte{}, errors.ErrEncryptionKeyMissing},
		{make([]byte, 16), errors.ErrConfiguration},
		{make([]byte, 33), errors.ErrConfiguration},
	}
	for _, tt := range tests {
		if _, err := auth.NewFileStore(path, tt.key); errors.KindOf(err) != tt.want {
			t.Errorf("key of %d bytes: err = %v, want %q", len(tt.key), err, tt.want)
		}
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Error("a file was created without a valid key")
	}
}

func TestFileStoreTamperAndWrongKey(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "tokens")
	key := newKey(t)
	store, _ := auth.NewFileStore(path, key)
	ctx := context.Background()
	if err := store.Save(ctx, "k", sampleToken); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode = %v, want 0600", fi.Mode().Perm())
	}
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".lock") { // the lock files stay, holding no secret
			names = append(names, e.Name())
		}
	}
	if len(names) != 1 {
		t.Errorf("directory holds %v, want only the token file and its lock files (no temp file left)", names)
	}
	raw, _ := os.ReadFile(path)

	wrong, _ := auth.NewFileStore(path, newKey(t))
	if _, err := wrong.Load(ctx, "k"); !errors.Is(err, errors.ErrDecrypt) {
		t.Errorf("wrong key: err = %v, want ErrDecrypt", err)
	} else if se := new(auth.StoreError); !errors.As(err, &se) || se.Op != "load" {
		t.Errorf("wrong key: error %v is not a *auth.StoreError", err)
	}

	for _, tamper := range []struct {
		name string
		edit func([]byte) []byte
	}{
		{"flip a ciphertext bit", func(b []byte) []byte { b[len(b)-20] ^= 1; return b }},
		{"flip a nonce bit", func(b []byte) []byte { b[20] ^= 1; return b }},
		{"truncate", func(b []byte) []byte { return b[:len(b)-1] }},
		{"plaintext JSON", func([]byte) []byte { return []byte(`{"k":{"access_token":"x"}}`) }},
		{"empty", func([]byte) []byte { return nil }},
	} {
		os.WriteFile(path, tamper.edit(bytes.Clone(raw)), 0o600)
		if _, err := store.Load(ctx, "k"); !errors.Is(err, errors.ErrDecrypt) {
			t.Errorf("%s: err = %v, want ErrDecrypt", tamper.name, err)
		}
		// A save never overwrites a file it cannot read (it may hold other keys).
		if err := store.Save(ctx, "k2", sampleToken); !errors.Is(err, errors.ErrDecrypt) {
			t.Errorf("%s: save err = %v, want ErrDecrypt", tamper.name, err)
		}
	}
}

func TestRedaction(t *testing.T) {
	secrets := []string{"SECRET", "client-SECRET-value"}
	srv := newAuthServer(t)
	store, _ := auth.NewFileStore(filepath.Join(t.TempDir(), "f"), []byte("0123456789abcdef0123456789abcdef"))
	values := map[string]any{
		"token":         sampleToken,
		"token pointer": &sampleToken,
		"source config": auth.SourceConfig{OAuth2: srv.oauth2Config(""), Store: store, StoreKey: "k"},
		"login config":  auth.LoginConfig{OAuth2: srv.oauth2Config("http://127.0.0.1/cb")},
		"file store":    store,
	}
	for name, v := range values {
		var logs bytes.Buffer
		slog.New(slog.NewJSONHandler(&logs, nil)).Info("x", "v", v)
		slog.New(slog.NewTextHandler(&logs, nil)).Info("x", "v", v)
		for _, format := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
			out := fmt.Sprintf(format, v)
			for _, s := range append(secrets, "0123456789abcdef") {
				if strings.Contains(out, s) {
					t.Errorf("%s: %s prints a secret: %s", name, format, out)
				}
			}
		}
		for _, s := range append(secrets, "0123456789abcdef") {
			if strings.Contains(logs.String(), s) {
				t.Errorf("%s: slog prints a secret: %s", name, logs.String())
			}
		}
	}
	if got := fmt.Sprint(sampleToken); !strings.Contains(got, "REDACTED") || !strings.Contains(got, "2026-03-02T14:30:00Z") {
		t.Errorf("token prints as %s; want secrets REDACTED and the expiry shown", got)
	}
}

// FuzzFileStoreLoad: whatever bytes are in the file, Load returns a token or
// an ErrDecrypt, never a panic.
func FuzzFileStoreLoad(f *testing.F) {
	key := []byte("0123456789abcdef0123456789abcdef")
	dir := f.TempDir()
	seed, _ := auth.NewFileStore(filepath.Join(dir, "seed"), key)
	seed.Save(context.Background(), "k", sampleToken)
	raw, _ := os.ReadFile(filepath.Join(dir, "seed"))
	f.Add(raw)
	f.Add([]byte("arbion-tokens-v1\n"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "tokens")
		os.WriteFile(path, data, 0o600)
		store, _ := auth.NewFileStore(path, key)
		if _, err := store.Load(context.Background(), "k"); err != nil && !errors.Is(err, errors.ErrDecrypt) && !errors.Is(err, auth.ErrNoToken) {
			t.Fatalf("Load: %v", err)
		}
	})
}

func TestTokenTypeNormalisesBearer(t *testing.T) {
	for in, want := range map[string]string{"": "Bearer", "bearer": "Bearer", "BEARER": "Bearer", "Bearer": "Bearer", "MAC": "MAC"} {
		if got := (auth.Token{TokenType: in}).Type(); got != want {
			t.Errorf("Token{TokenType: %q}.Type() = %q, want %q", in, got, want)
		}
	}
}
