//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package auth

import "time"

// tryLockFile uses an O_EXCL lock file with a lease on systems without
// flock (Windows, ...).
func tryLockFile(path string) (fileLock, bool, error) { return tryExclLock(path, time.Now()) }
