//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package redisproc

import (
	"errors"
	"fmt"
	"os"
	"runtime"
)

var errLocked = errors.New("locked by another process")

// lockFile fails: this platform has no flock, so the data dir cannot be
// owned exclusively and the embedded redis-server is not offered.
func lockFile(path string) (*os.File, error) {
	return nil, fmt.Errorf("lock %s: data-dir locking is not supported on %s", path, runtime.GOOS)
}

func unlockFile(f *os.File) error { return f.Close() }
