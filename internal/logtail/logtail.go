// Package logtail keeps what a child process (a redis-server started by the
// embedded default or by the tests) last said, for error messages: the tail
// of its output and of its log file.
package logtail

import (
	"io"
	"os"
	"sync"
)

// Buffer keeps the last Max bytes written to it.
type Buffer struct {
	mu  sync.Mutex
	Max int
	buf []byte
}

func (t *Buffer) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, b...)
	if len(t.buf) > t.Max {
		t.buf = t.buf[len(t.buf)-t.Max:]
	}
	return len(b), nil
}

func (t *Buffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}

// FileSize is the size of the file at path (0 when it cannot be read).
func FileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// Of returns up to the last 4 KiB written to path after offset ("" when the
// file cannot be read).
func Of(path string, offset int64) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	if _, err := f.Seek(max(offset, FileSize(path)-4096), io.SeekStart); err != nil {
		return ""
	}
	b, _ := io.ReadAll(f)
	return string(b)
}
