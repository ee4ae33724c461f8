package stoploss

import (
	"context"
	"sync"
)

// Lock makes sure that only one supervisor acts for an account at a time,
// across replicas, for one call at a time. The in-process default is
// [MemoryLock]; store/sqlstore's Lease implements it on SQLite and
// PostgreSQL (both pass stoplosstest.LockContract). A process that trades
// the account for its whole life holds a Config.Leader instead.
type Lock interface {
	// TryAcquire takes the account's lock without waiting. ok is false when
	// another holder has it. release gives it back and is safe to call more
	// than once; it is nil when ok is false.
	TryAcquire(ctx context.Context, account string) (release func(), ok bool, err error)
}

// MemoryLock is the in-process [Lock]: share one value between supervisors
// in the same process.
type MemoryLock struct {
	mu   sync.Mutex
	held map[string]uint64
	next uint64
}

// NewMemoryLock returns a lock with nothing held.
func NewMemoryLock() *MemoryLock { return &MemoryLock{held: make(map[string]uint64)} }

// TryAcquire implements [Lock].
func (l *MemoryLock) TryAcquire(ctx context.Context, account string) (func(), bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, busy := l.held[account]; busy {
		return nil, false, nil
	}
	l.next++
	token := l.next
	l.held[account] = token
	return func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		if l.held[account] == token { // a second release must not free a later holder
			delete(l.held, account)
		}
	}, true, nil
}
