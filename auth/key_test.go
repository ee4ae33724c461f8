package auth_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/arbiontrader/arbion/auth"
	"github.com/arbiontrader/arbion/errors"
)

func TestParseKey(t *testing.T) {
	raw := bytes.Repeat([]byte{0xA7}, auth.KeySize)
	b64 := base64.StdEncoding.EncodeToString(raw)
	tests := []struct {
		name string
		in   string
		want errors.Kind // "" = accepted
		says string      // part of the error message
	}{
		{"base64 std", b64, "", ""},
		{"trailing newline from a file", b64 + "\n", "", ""},
		{"empty", "", errors.ErrEncryptionKeyMissing, "openssl rand -base64 32"},
		{"blank", " \n", errors.ErrEncryptionKeyMissing, "no key set"},
		{"hex of 32 bytes", hex.EncodeToString(raw), errors.ErrConfiguration, "hex"},
		{"unpadded", strings.TrimRight(b64, "="), errors.ErrConfiguration, "padding"},
		{"url-safe", base64.URLEncoding.EncodeToString(bytes.Repeat([]byte{0xFB}, auth.KeySize)), errors.ErrConfiguration, "URL-safe"},
		{"16 bytes", base64.StdEncoding.EncodeToString(raw[:16]), errors.ErrConfiguration, "16 bytes"},
		{"48 bytes", base64.StdEncoding.EncodeToString(bytes.Repeat(raw, 2)[:48]), errors.ErrConfiguration, "48 bytes"},
		{"not base64", "this is not a key at all!!!", errors.ErrConfiguration, "base64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key, err := auth.ParseKey(tt.in)
			if tt.want == "" {
				if err != nil || !bytes.Equal(key, raw) {
					t.Fatalf("ParseKey = %x, %v", key, err)
				}
				return
			}
			var ke *auth.KeyError
			if errors.KindOf(err) != tt.want || !errors.As(err, &ke) {
				t.Fatalf("err = %v, want a *KeyError of kind %q", err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.says) || !strings.Contains(err.Error(), "openssl rand -base64 32") {
				t.Errorf("error %q should say %q and how to create a key", err, tt.says)
			}
			if strings.TrimSpace(tt.in) != "" && strings.Contains(err.Error(), strings.TrimSpace(tt.in)) {
				t.Errorf("error %q quotes the key", err)
			}
		})
	}
}

func TestKeyFromEnvAndFile(t *testing.T) {
	raw := bytes.Repeat([]byte{3}, auth.KeySize)
	b64 := base64.StdEncoding.EncodeToString(raw)
	dir := t.TempDir()
	good, bad := filepath.Join(dir, "key"), filepath.Join(dir, "hexkey")
	os.WriteFile(good, []byte(b64+"\n"), 0o600)
	os.WriteFile(bad, []byte(hex.EncodeToString(raw)), 0o600)
	t.Setenv("TEST_ARBION_KEY", b64)
	t.Setenv(auth.KeyEnv, "")
	tests := []struct {
		name   string
		get    func() ([]byte, error)
		want   errors.Kind
		source string
	}{
		{"env", func() ([]byte, error) { return auth.KeyFromEnv("TEST_ARBION_KEY") }, "", ""},
		{"default env unset", func() ([]byte, error) { return auth.KeyFromEnv("") }, errors.ErrEncryptionKeyMissing, auth.KeyEnv},
		{"file", func() ([]byte, error) { return auth.KeyFromFile(good) }, "", ""},
		{"missing file", func() ([]byte, error) { return auth.KeyFromFile(filepath.Join(dir, "none")) }, errors.ErrEncryptionKeyMissing, "none"},
		{"hex file", func() ([]byte, error) { return auth.KeyFromFile(bad) }, errors.ErrConfiguration, "hexkey"},
	}
	for _, tt := range tests {
		key, err := tt.get()
		if errors.KindOf(err) != tt.want {
			t.Errorf("%s: err = %v, want kind %q", tt.name, err, tt.want)
			continue
		}
		if tt.want == "" && !bytes.Equal(key, raw) {
			t.Errorf("%s: wrong key", tt.name)
		}
		if tt.want != "" && !strings.Contains(err.Error(), tt.source) {
			t.Errorf("%s: error %q does not say where the key was looked for", tt.name, err)
		}
	}
}
