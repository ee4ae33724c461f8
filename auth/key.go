package auth

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"os"
	"strings"

	"github.com/arbiontrader/arbion/errors"
)

// KeyEnv is the environment variable that holds a [FileStore] key in
// arbion's examples and tools; see [KeyFromEnv].
const KeyEnv = "ARBION_TOKEN_KEY"

// keyHowTo says how to create a key, in every key error.
const keyHowTo = "create one with `openssl rand -base64 32` (standard base64 of 32 random bytes, 44 characters ending in '=')"

// KeyError is a [FileStore] key that is missing or malformed: where it was
// looked for, why it was refused, and the kind (errors.ErrEncryptionKeyMissing
// or errors.ErrConfiguration). It never holds the key or any part of it.
type KeyError struct {
	Source string // "ARBION_TOKEN_KEY", "file /run/secrets/token-key", or "key"
	Reason string
	Kind   errors.Kind
}

// Error says what is wrong and how to create a key.
func (e *KeyError) Error() string {
	return "auth: token key (" + e.Source + "): " + e.Reason + "; " + keyHowTo
}

// Is reports whether target is the error's kind.
func (e *KeyError) Is(target error) bool { k, ok := target.(errors.Kind); return ok && k == e.Kind }

// ParseKey decodes a [FileStore] key. The one accepted format is standard
// base64 (RFC 4648 §4, with '=' padding) of exactly 32 bytes, as printed
// by `openssl rand -base64 32`; whitespace around it (a file's trailing
// newline) is ignored. Hex is refused, even though 64 hex characters are
// also valid base64 (of 48 bytes): the error says so. An empty string is an
// error matching errors.ErrEncryptionKeyMissing, anything else that is not
// a key one matching errors.ErrConfiguration, both *KeyError.
func ParseKey(s string) ([]byte, error) { return parseKey("key", s) }

// KeyFromEnv reads a key in the [ParseKey] format from the environment
// variable name ([KeyEnv] if name is empty). An unset or empty variable is
// an error matching errors.ErrEncryptionKeyMissing.
func KeyFromEnv(name string) ([]byte, error) {
	if name == "" {
		name = KeyEnv
	}
	return parseKey(name, os.Getenv(name))
}

// KeyFromFile reads a key in the [ParseKey] format from the file at path
// (a mounted secret). A missing file is an error matching
// errors.ErrEncryptionKeyMissing.
func KeyFromFile(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		kind := errors.ErrConfiguration
		if os.IsNotExist(err) {
			kind = errors.ErrEncryptionKeyMissing
		}
		return nil, &KeyError{Source: "file " + path, Kind: kind, Reason: "cannot read the key file: " + reasonOf(err)}
	}
	key, err := parseKey("file "+path, string(data))
	clear(data)
	return key, err
}

// reasonOf describes a file error without repeating the path.
func reasonOf(err error) string {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err.Error()
	}
	return err.Error()
}

func parseKey(source, s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, &KeyError{Source: source, Kind: errors.ErrEncryptionKeyMissing,
			Reason: "no key set; tokens are never stored unencrypted"}
	}
	refuse := func(reason string) error {
		return &KeyError{Source: source, Kind: errors.ErrConfiguration, Reason: reason}
	}
	if len(s) == 2*KeySize {
		if _, err := hex.DecodeString(s); err == nil {
			return nil, refuse("this looks like a hex key (64 hex characters, as from `openssl rand -hex 32`), " +
				"but keys are standard base64: convert it with `echo KEY | xxd -r -p | base64`")
		}
	}
	key, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil {
		why := "not standard base64"
		if strings.ContainsAny(s, "-_") {
			why += " (URL-safe base64 with '-' or '_' is not accepted)"
		} else if len(s)%4 != 0 {
			why += " (missing '=' padding?)"
		}
		return nil, refuse(why)
	}
	if len(key) != KeySize {
		n := len(key)
		clear(key)
		return nil, refuse(fmt.Sprintf("decodes to %d bytes, want %d (AES-256)", n, KeySize))
	}
	return key, nil
}
