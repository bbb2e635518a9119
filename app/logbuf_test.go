package app

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"
)

type countingWriter struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	writes int
}

func (w *countingWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.writes++
	return w.buf.Write(p)
}

// TestLineBufferBatchesAndFlushes: lines come out whole and in order, in
// fewer writes than lines, a full buffer flushes at once and Close flushes
// the rest.
func TestLineBufferBatchesAndFlushes(t *testing.T) {
	w := &countingWriter{}
	b := newLineBuffer(w, 64, time.Hour)
	var want strings.Builder
	for i := 0; i < 10; i++ {
		line := strings.Repeat(string(rune('a'+i)), 9) + "\n"
		want.WriteString(line)
		b.Write([]byte(line))
	}
	w.mu.Lock()
	if w.writes != 1 || w.buf.Len() != 70 {
		t.Fatalf("after 10 lines of 10 bytes with max 64: %d writes, %d bytes (want 1 write of 70)", w.writes, w.buf.Len())
	}
	w.mu.Unlock()
	b.Write([]byte("tail\n"))
	want.WriteString("tail\n")
	b.Close()
	if w.buf.String() != want.String() || w.writes != 2 {
		t.Fatalf("after Close: %d writes, %q", w.writes, w.buf.String())
	}
}
