//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package auth

import (
	"errors"
	"os"
	"syscall"
)

// flockLock is held as long as its file stays open; the kernel releases it
// when the process dies, so a crash never leaves a stale lock.
type flockLock struct{ f *os.File }

func (l flockLock) unlock() {
	_ = syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
	_ = l.f.Close()
}

// tryLockFile takes flock(LOCK_EX|LOCK_NB) on path, creating the file
// (mode 0600) if needed. The file is never removed: removing a lock file
// lets two processes lock two different files.
func tryLockFile(path string) (fileLock, bool, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, false, lockError(path, err)
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if err == nil {
		return flockLock{f}, false, nil
	}
	_ = f.Close()
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return nil, true, nil
	}
	return nil, false, lockError(path, err)
}
