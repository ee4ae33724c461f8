package auth

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestLockFile: the platform lock excludes a second holder (another open of
// the same path, as another process would), a waiter gives up with its
// context, and unlock lets the next one in.
func TestLockFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.lock")
	first, err := lockFile(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	if _, busy, err := tryLockFile(path); !busy || err != nil {
		t.Fatalf("second try while held: busy=%v err=%v, want busy", busy, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := lockFile(ctx, path); err != context.Canceled {
		t.Fatalf("waiting with a cancelled context: %v, want context.Canceled", err)
	}
	first.unlock()
	second, busy, err := tryLockFile(path)
	if busy || err != nil {
		t.Fatalf("after unlock: busy=%v err=%v", busy, err)
	}
	second.unlock()
}

// TestExclLock: the portable fallback. A held lock is busy until unlocked
// or until its lease is over (a crashed holder), and then it is broken.
func TestExclLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.lock")
	now := time.Now()
	tests := []struct {
		name     string
		at       time.Time
		wantBusy bool
	}{
		{"held", now, true},
		{"held, lease not over", now.Add(exclLease - time.Second), true},
	}
	held, busy, err := tryExclLock(path, now)
	if busy || err != nil {
		t.Fatalf("first lock: busy=%v err=%v", busy, err)
	}
	for _, tt := range tests {
		if _, busy, err := tryExclLock(path, tt.at); busy != tt.wantBusy || err != nil {
			t.Errorf("%s: busy=%v err=%v, want busy=%v", tt.name, busy, err, tt.wantBusy)
		}
	}
	held.unlock()
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("unlock left the lock file: %v", err)
	}
	// A crashed holder: the file stays; after the lease it is broken.
	if _, _, err := tryExclLock(path, now); err != nil {
		t.Fatal(err)
	}
	if _, busy, _ := tryExclLock(path, now.Add(exclLease+time.Second)); !busy {
		t.Error("breaking a stale lock should report busy once (then retry)")
	}
	l, busy, err := tryExclLock(path, now.Add(exclLease+time.Second))
	if busy || err != nil {
		t.Fatalf("after breaking the stale lock: busy=%v err=%v", busy, err)
	}
	l.unlock()
}
