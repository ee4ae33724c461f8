package auth

import (
	"context"
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

// MemoryStore is a [TokenStore] in memory, lost when the process exits.
type MemoryStore struct {
	mu     sync.Mutex
	tokens map[string]Token
}

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore { return &MemoryStore{tokens: map[string]Token{}} }

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
