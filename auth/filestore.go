package auth

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/arbiontrader/arbion/errors"
)

// KeySize is the length of a [FileStore] key: 32 bytes, for AES-256.
const KeySize = 32

// fileMagic starts every token file; it is also the GCM additional data, so
// a file of another format or version fails to decrypt.
var fileMagic = []byte("arbion-tokens-v1\n")

// FileStore is a [TokenStore] in one file encrypted with AES-256-GCM under a
// key the host supplies (from a secret manager or an environment variable,
// never next to the file; see [ParseKey]).
//
// All keys live in the one file: a JSON object of tokens, sealed as a
// whole, so the file reveals neither tokens nor key names. Each Save
// rewrites the file atomically (a temporary file in the same directory,
// synced, then renamed over it) with mode 0600.
//
// Several processes may share one file (a CLI beside a bot, replicas of a
// bot): every read-modify-write holds an advisory lock on PATH.lock
// (flock(2) where the system has it, so a crashed holder never leaves a
// stale lock; elsewhere a lock file created with O_EXCL and broken after a
// lease), and a read never sees a torn file since the file is only ever
// replaced by a rename. A FileStore is a [SwapStore] and a [RefreshLocker]
// (the lock file PATH.refresh.lock), so [Source]s in several processes
// refresh a shared login once per expiry. The lock files are left in
// place; they hold no secret.
//
// A file that was tampered with or written under another key fails to load
// with a *StoreError matching errors.ErrDecrypt. A missing file holds no
// token (ErrNoToken). A FileStore prints without its key.
type FileStore struct {
	path string
	aead cipher.AEAD
	mu   sync.Mutex // serialises this value's writers before the file lock
}

// NewFileStore returns a store for the file at path, encrypted under key
// (exactly [KeySize] bytes). No key is an error matching
// errors.ErrEncryptionKeyMissing and a key of another length one matching
// errors.ErrConfiguration: the store never falls back to plaintext. The
// file need not exist yet; its directory must.
func NewFileStore(path string, key []byte) (*FileStore, error) {
	if len(key) == 0 {
		return nil, &StoreError{Op: "open", Path: path, Kind: errors.ErrEncryptionKeyMissing,
			Err: errors.New("a 32-byte key is required; tokens are never stored in plaintext")}
	}
	if len(key) != KeySize {
		return nil, &StoreError{Op: "open", Path: path, Kind: errors.ErrConfiguration,
			Err: fmt.Errorf("key is %d bytes, want %d (AES-256)", len(key), KeySize)}
	}
	if path == "" {
		return nil, &StoreError{Op: "open", Kind: errors.ErrConfiguration, Err: errors.New("path is required")}
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, &StoreError{Op: "open", Path: path, Kind: errors.ErrConfiguration, Err: err}
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, &StoreError{Op: "open", Path: path, Kind: errors.ErrConfiguration, Err: err}
	}
	return &FileStore{path: path, aead: aead}, nil
}

// Load decrypts the file and returns the token under key. It takes no
// lock: the file is replaced whole by a rename, so a read sees the old
// file or the new one.
func (s *FileStore) Load(ctx context.Context, key string) (Token, error) {
	if err := ctx.Err(); err != nil {
		return Token{}, err
	}
	tokens, err := s.read(key) // no lock: the file is only replaced by rename
	if err != nil {
		return Token{}, err
	}
	st, ok := tokens[key]
	if !ok {
		return Token{}, ErrNoToken
	}
	return st.token(), nil
}

// Save stores tok under key, rewriting the file atomically.
func (s *FileStore) Save(ctx context.Context, key string, tok Token) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.update(ctx, "save", key, func(tokens map[string]storedToken) (bool, error) {
		tokens[key] = storedFrom(tok)
		return true, nil
	})
}

// CompareAndSwap stores tok under key if the stored token's fingerprint is
// still old, under the file lock; see [SwapStore].
func (s *FileStore) CompareAndSwap(ctx context.Context, key string, old Fingerprint, tok Token) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.update(ctx, "compare-and-swap", key, func(tokens map[string]storedToken) (bool, error) {
		cur, ok := tokens[key]
		if (ok && FingerprintOf(cur.token()) != old) || (!ok && !old.IsZero()) {
			return false, staleError(key, s.path)
		}
		tokens[key] = storedFrom(tok)
		return true, nil
	})
}

// LockRefresh takes the refresh lock shared by every process using this
// file (one lock for all its keys: refreshes are rare); see
// [RefreshLocker].
func (s *FileStore) LockRefresh(ctx context.Context, key string) (func(), error) {
	l, err := lockFile(ctx, s.path+".refresh.lock")
	if err != nil {
		return nil, err
	}
	var once sync.Once
	return func() { once.Do(l.unlock) }, nil
}

// update runs edit on the decrypted token set under the file lock and
// writes the result if edit says so.
func (s *FileStore) update(ctx context.Context, op, key string, edit func(map[string]storedToken) (bool, error)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, err := lockFile(ctx, s.path+".lock")
	if err != nil {
		if se := new(StoreError); errors.As(err, &se) {
			se.Op, se.Key = op, key
		}
		return err
	}
	defer l.unlock()
	tokens, err := s.read(key)
	if err != nil {
		return err
	}
	write, err := edit(tokens)
	if err != nil || !write {
		return err
	}
	return s.write(key, tokens)
}

// Delete removes the token under key (log out).
func (s *FileStore) Delete(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.update(ctx, "delete", key, func(tokens map[string]storedToken) (bool, error) {
		if _, ok := tokens[key]; !ok {
			return false, nil
		}
		delete(tokens, key)
		return true, nil
	})
}

// read decrypts the whole file; a missing file is an empty set.
func (s *FileStore) read(key string) (map[string]storedToken, error) {
	data, err := os.ReadFile(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]storedToken{}, nil
	}
	if err != nil {
		return nil, &StoreError{Op: "load", Key: key, Path: s.path, Kind: errors.ErrConfiguration, Err: err}
	}
	plain, err := s.open(data)
	if err != nil {
		return nil, &StoreError{Op: "load", Key: key, Path: s.path, Kind: errors.ErrDecrypt, Err: err}
	}
	tokens := map[string]storedToken{}
	if err := json.Unmarshal(plain, &tokens); err != nil {
		return nil, &StoreError{Op: "load", Key: key, Path: s.path, Kind: errors.ErrDecrypt,
			Err: errors.New("decrypted content is not a token set")}
	}
	return tokens, nil
}

// open checks the header and decrypts: magic || nonce || ciphertext+tag.
func (s *FileStore) open(data []byte) ([]byte, error) {
	n := len(fileMagic) + s.aead.NonceSize()
	if len(data) < n+s.aead.Overhead() || !bytes.HasPrefix(data, fileMagic) {
		return nil, errors.New("not an arbion token file")
	}
	plain, err := s.aead.Open(nil, data[len(fileMagic):n], data[n:], fileMagic)
	if err != nil {
		return nil, errors.New("wrong key or tampered file")
	}
	return plain, nil
}

// write seals tokens and replaces the file atomically.
func (s *FileStore) write(key string, tokens map[string]storedToken) error {
	plain, err := json.Marshal(tokens)
	if err != nil {
		return &StoreError{Op: "save", Key: key, Path: s.path, Kind: errors.ErrConfiguration, Err: err}
	}
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return &StoreError{Op: "save", Key: key, Path: s.path, Kind: errors.ErrConfiguration, Err: err}
	}
	data := append(append(bytes.Clone(fileMagic), nonce...), s.aead.Seal(nil, nonce, plain, fileMagic)...)
	if err := writeFileAtomic(s.path, data); err != nil {
		return &StoreError{Op: "save", Key: key, Path: s.path, Kind: errors.ErrConfiguration, Err: err}
	}
	return nil
}

// writeFileAtomic writes data to a temporary file (mode 0600) next to path,
// syncs it and renames it over path, so a crash leaves the old file or the
// new one, never half of one.
func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err := f.Chmod(0o600); err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	ok = true
	if d, err := os.Open(dir); err == nil { // make the rename durable
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// String describes the store without its key.
func (s *FileStore) String() string {
	if s == nil {
		return "auth.FileStore(nil)"
	}
	return "auth.FileStore{path:" + s.path + " key:REDACTED}"
}

// GoString is String.
func (s *FileStore) GoString() string { return s.String() }

// Format makes every fmt verb print the redacted form.
func (s *FileStore) Format(f fmt.State, verb rune) { writeRedacted(f, verb, s) }

// LogValue makes slog print the store without its key.
func (s *FileStore) LogValue() slog.Value {
	if s == nil {
		return slog.StringValue("auth.FileStore(nil)")
	}
	return slog.GroupValue(slog.String("path", s.path), slog.String("key", redacted))
}

// storedToken is Token's form inside the encrypted file.
type storedToken struct {
	AccessToken   string            `json:"access_token,omitempty"`
	RefreshToken  string            `json:"refresh_token,omitempty"`
	TokenType     string            `json:"token_type,omitempty"`
	Expiry        time.Time         `json:"expiry,omitzero"`
	RefreshExpiry time.Time         `json:"refresh_expiry,omitzero"`
	Secret        string            `json:"secret,omitempty"`
	Extra         map[string]string `json:"extra,omitempty"`
}

func storedFrom(t Token) storedToken { return storedToken(t.clone()) }

func (st storedToken) token() Token { return Token(st).clone() }
