package risk

import (
	"context"
	"sync"
)

// StateStore persists the trading state of each account, so that a halt
// survives a restart and is shared by every replica (see
// Config.StateStore). Implementations are safe for concurrent use;
// store/sqlstore has one, [MemoryStateStore] is the in-process one.
type StateStore interface {
	// LoadTradingState returns the account's stored state and its reason;
	// found is false when nothing was ever stored for the account.
	LoadTradingState(ctx context.Context, account string) (s State, reason string, found bool, err error)
	// SaveTradingState stores the account's state and its reason.
	SaveTradingState(ctx context.Context, account string, s State, reason string) error
}

// MemoryStateStore is the in-process [StateStore]: engines of one process
// that share it share their trading state.
type MemoryStateStore struct {
	mu     sync.Mutex
	states map[string]storedState
}

type storedState struct {
	state  State
	reason string
}

// NewMemoryStateStore returns an empty store.
func NewMemoryStateStore() *MemoryStateStore {
	return &MemoryStateStore{states: make(map[string]storedState)}
}

// LoadTradingState implements [StateStore].
func (m *MemoryStateStore) LoadTradingState(ctx context.Context, account string) (State, string, bool, error) {
	if err := ctx.Err(); err != nil {
		return Halted, "", false, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	st, ok := m.states[account]
	return st.state, st.reason, ok, nil
}

// SaveTradingState implements [StateStore].
func (m *MemoryStateStore) SaveTradingState(ctx context.Context, account string, s State, reason string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.states[account] = storedState{s, reason}
	return nil
}
