package auth

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"log/slog"
	"sync"

	"github.com/arbiontrader/arbion/errors"
)

// TokenStore keeps tokens by key (one key per login: "schwab/ACCOUNT",
// ...). The host supplies it, or uses [MemoryStore] or [FileStore].
// Implementations must be safe for concurrent use.
type TokenStore interface {
	// Load returns the token saved under key. If there is none, the error
	// matches ErrNoToken (and errors.ErrUnauthenticated: log in first).
	Load(ctx context.Context, key string) (Token, error)
	// Save stores tok under key, replacing any previous token, and returns
	// only once it is stored durably.
	Save(ctx context.Context, key string, tok Token) error
}

// ErrNoToken is the error of a [TokenStore] that holds no token for a key.
// It matches errors.ErrUnauthenticated too.
const ErrNoToken = noTokenError("no token stored: log in first")

type noTokenError string

func (e noTokenError) Error() string { return string(e) }

// Is makes ErrNoToken match errors.ErrUnauthenticated.
func (e noTokenError) Is(target error) bool { return target == errors.ErrUnauthenticated }

// StoreError is a failure of a token store: the operation, the key, the
// kind (errors.ErrDecrypt for a tampered or wrong-key file, ...) and the
// cause. It never holds a token.
type StoreError struct {
	Op   string // "load", "save", "open"
	Key  string // the token key, if any
	Path string // the file, for a FileStore
	Kind errors.Kind
	Err  error
}

// Error describes the failure.
func (e *StoreError) Error() string {
	s := "auth: token store " + e.Op
	if e.Key != "" {
		s += " " + e.Key
	}
	if e.Path != "" {
		s += " (" + e.Path + ")"
	}
	s += ": " + string(e.Kind)
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Is reports whether target is the error's kind.
func (e *StoreError) Is(target error) bool { k, ok := target.(errors.Kind); return ok && k == e.Kind }

// Unwrap returns the cause.
func (e *StoreError) Unwrap() error { return e.Err }

// SwapStore is a [TokenStore] that can replace a token only if it is still
// the one the caller started from: the compare-and-swap a [Source] saves a
// refreshed token with, so that of two refreshers racing on one login the
// second learns that it lost instead of overwriting the winner's token (a
// rotating refresh token, as Coinbase issues, is single use: the loser's is
// already revoked). A Source discovers it by a type assertion on its Store;
// [MemoryStore] and [FileStore] implement it, and so can a host's store (a
// database: UPDATE ... WHERE key = $1 AND fingerprint = $2).
type SwapStore interface {
	TokenStore
	// CompareAndSwap stores tok under key if the token stored there now has
	// the fingerprint old (the zero Fingerprint: no token stored). Otherwise
	// it stores nothing and returns an error matching
	// errors.ErrStaleVersion (a *StoreError); the caller re-reads.
	CompareAndSwap(ctx context.Context, key string, old Fingerprint, tok Token) error
}

// RefreshLocker is an optional extension of a [TokenStore]: an exclusive
// lock per key, shared by every process that uses the store, which a
// [Source] holds while it re-reads, refreshes and saves the token. With it,
// however many processes share one login, one refresh is made per expiry:
// the others wait, re-read and find the new token. [MemoryStore] (within
// one process) and [FileStore] (across processes, by an advisory file
// lock) implement it. A Source discovers it by a type assertion.
type RefreshLocker interface {
	// LockRefresh waits (as long as ctx allows) for the refresh lock of key
	// and returns the function that releases it.
	LockRefresh(ctx context.Context, key string) (unlock func(), err error)
}

// Fingerprint identifies a token without revealing it: a SHA-256 over its
// access token, refresh token and token secret. A [SwapStore] compares
// fingerprints. It prints as REDACTED and the zero Fingerprint stands for
// "no token".
type Fingerprint struct{ sum [sha256.Size]byte }

// FingerprintOf returns tok's fingerprint. Expiries and Extra do not count:
// stamping a RefreshExpiry on a token does not make it another token.
func FingerprintOf(tok Token) Fingerprint {
	if tok.AccessToken == "" && tok.RefreshToken == "" && tok.Secret == "" {
		return Fingerprint{}
	}
	h := sha256.New()
	h.Write([]byte("arbion-token-fingerprint-v1\x00"))
	for _, part := range [...]string{tok.AccessToken, tok.RefreshToken, tok.Secret} {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(part)))
		h.Write(n[:])
		h.Write([]byte(part))
	}
	var f Fingerprint
	h.Sum(f.sum[:0])
	return f
}

// IsZero reports whether f is the fingerprint of no token.
func (f Fingerprint) IsZero() bool { return f == Fingerprint{} }

// Bytes returns the 32 bytes of the fingerprint, for a host store that
// keeps it in a column. It is a one-way hash, yet treat it like the token:
// do not log it.
func (f Fingerprint) Bytes() []byte { return bytes.Clone(f.sum[:]) }

// String never shows the hash.
func (f Fingerprint) String() string {
	if f.IsZero() {
		return "auth.Fingerprint(none)"
	}
	return "auth.Fingerprint(" + redacted + ")"
}

// GoString is String.
func (f Fingerprint) GoString() string { return f.String() }

// Format makes every fmt verb print the redacted form.
func (f Fingerprint) Format(s fmt.State, verb rune) { writeRedacted(s, verb, f) }

// LogValue makes slog print the redacted form.
func (f Fingerprint) LogValue() slog.Value { return slog.StringValue(f.String()) }

// errTokenChanged is the cause of a lost compare-and-swap.
var errTokenChanged = errors.New("the stored token changed since it was read (another process saved first): re-read it")

func staleError(key, path string) error {
	return &StoreError{Op: "compare-and-swap", Key: key, Path: path, Kind: errors.ErrStaleVersion, Err: errTokenChanged}
}

// MemoryStore is a [TokenStore] in memory, lost when the process exits. It
// is also a [SwapStore] and a [RefreshLocker] (within the process). It
// prints without its tokens.
type MemoryStore struct {
	mu     sync.Mutex
	tokens map[string]Token
	locks  map[string]chan struct{} // refresh locks, one per key
}

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{tokens: map[string]Token{}, locks: map[string]chan struct{}{}}
}

// CompareAndSwap stores a copy of tok under key if the stored token's
// fingerprint is old; see [SwapStore].
func (s *MemoryStore) CompareAndSwap(ctx context.Context, key string, old Fingerprint, tok Token) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if FingerprintOf(s.tokens[key]) != old {
		return staleError(key, "")
	}
	s.tokens[key] = tok.clone()
	return nil
}

// LockRefresh takes the refresh lock of key; see [RefreshLocker].
func (s *MemoryStore) LockRefresh(ctx context.Context, key string) (func(), error) {
	s.mu.Lock()
	if s.locks == nil {
		s.locks = map[string]chan struct{}{}
	}
	l, ok := s.locks[key]
	if !ok {
		l = make(chan struct{}, 1)
		s.locks[key] = l
	}
	s.mu.Unlock()
	select {
	case l <- struct{}{}:
		var once sync.Once
		return func() { once.Do(func() { <-l }) }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// String describes the store without its tokens.
func (s *MemoryStore) String() string {
	if s == nil {
		return "auth.MemoryStore(nil)"
	}
	s.mu.Lock()
	n := len(s.tokens)
	s.mu.Unlock()
	return fmt.Sprintf("auth.MemoryStore{tokens:%d REDACTED}", n)
}

// GoString is String.
func (s *MemoryStore) GoString() string { return s.String() }

// Format makes every fmt verb print the redacted form.
func (s *MemoryStore) Format(f fmt.State, verb rune) { writeRedacted(f, verb, s) }

// LogValue makes slog print the store without its tokens.
func (s *MemoryStore) LogValue() slog.Value { return slog.StringValue(s.String()) }

// Load returns a copy of the token under key, or ErrNoToken.
func (s *MemoryStore) Load(ctx context.Context, key string) (Token, error) {
	if err := ctx.Err(); err != nil {
		return Token{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	tok, ok := s.tokens[key]
	if !ok {
		return Token{}, ErrNoToken
	}
	return tok.clone(), nil
}

// Save stores a copy of tok under key.
func (s *MemoryStore) Save(ctx context.Context, key string, tok Token) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens[key] = tok.clone()
	return nil
}

// Delete removes the token under key (log out). Deleting a missing key is
// not an error.
func (s *MemoryStore) Delete(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.tokens, key)
	return nil
}
