//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package redisproc

import (
	"errors"
	"os"
	"syscall"
)

// errLocked reports that another process holds the data dir's lock.
var errLocked = errors.New("locked by another process")

// lockFile takes an exclusive, non-blocking flock on path. The lock lives as
// long as the returned file stays open (the descriptor is close-on-exec, so
// redis-server does not inherit it).
func lockFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, errLocked
		}
		return nil, err
	}
	return f, nil
}

// unlockFile releases the lock taken by lockFile.
func unlockFile(f *os.File) error {
	err := syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	return errors.Join(err, f.Close())
}
