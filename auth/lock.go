package auth

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/arbiontrader/arbion/errors"
)

// fileLock is an advisory lock on a file, shared by every process (and
// every open of the file in one process) that locks the same path.
type fileLock interface{ unlock() }

// lockPoll bounds the wait between two attempts at a busy lock.
const lockPoll = 20 * time.Millisecond

// lockFile takes the exclusive lock on path, waiting as long as ctx allows.
// tryLockFile is the platform's non-blocking attempt: flock where the
// system has it, an O_EXCL lock file with a lease elsewhere.
func lockFile(ctx context.Context, path string) (fileLock, error) {
	wait := time.Millisecond
	for {
		l, busy, err := tryLockFile(path)
		if err != nil {
			return nil, err
		}
		if !busy {
			return l, nil
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
		wait = min(2*wait, lockPoll)
	}
}

// exclLease is how long an O_EXCL lock file is honoured without being
// renewed: a holder that crashed leaves its lock file behind, and the next
// process breaks it once it is older than this. Holders keep their locks
// for a file rewrite or one token request (bounded by its HTTP timeout),
// far less than this.
const exclLease = 2 * time.Minute

// exclLock is the portable lock: a file created with O_EXCL, removed on
// unlock, and broken when older than [exclLease].
type exclLock struct{ path string }

func (l exclLock) unlock() { _ = os.Remove(l.path) }

// tryExclLock tries to create the lock file at path.
func tryExclLock(path string, now time.Time) (fileLock, bool, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err == nil {
		_, _ = f.WriteString(strconv.Itoa(os.Getpid()) + "\n")
		_ = f.Close()
		return exclLock{path}, false, nil
	}
	if !os.IsExist(err) {
		return nil, false, lockError(path, err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, true, nil // removed in between: try again
	}
	if now.Sub(fi.ModTime()) > exclLease {
		// A crashed holder's lock: break it by renaming it away (one
		// breaker wins the rename), then try again.
		stale := path + ".stale-" + strconv.Itoa(os.Getpid())
		if os.Rename(path, stale) == nil {
			// Another breaker may have replaced the stale lock with a live
			// one between the Stat and the Rename: put a live one back
			// (Link never overwrites a lock taken since).
			if fi, err := os.Stat(stale); err == nil && now.Sub(fi.ModTime()) <= exclLease {
				_ = os.Link(stale, path)
			}
			_ = os.Remove(stale)
		}
	}
	return nil, true, nil
}

func lockError(path string, err error) error {
	return &StoreError{Op: "lock", Path: path, Kind: errors.ErrStorage, Err: fmt.Errorf("cannot lock: %w", err)}
}
