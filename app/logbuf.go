package app

import (
	"io"
	"sync"
	"time"
)

// lineBuffer batches the access log's lines: one write(2) per flush instead
// of one per request. It flushes when it holds more than max bytes, every
// interval, and on Close; a line is never split across writes.
type lineBuffer struct {
	mu   sync.Mutex
	w    io.Writer
	buf  []byte
	max  int
	stop chan struct{}
	done chan struct{}
}

// newLineBuffer starts the flusher; Close stops it and writes what is left.
func newLineBuffer(w io.Writer, max int, interval time.Duration) *lineBuffer {
	b := &lineBuffer{w: w, max: max, buf: make([]byte, 0, max+1024), stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(b.done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				b.Flush()
			case <-b.stop:
				b.Flush()
				return
			}
		}
	}()
	return b
}

// Write appends p (one log record) and flushes when the buffer is full.
func (b *lineBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if len(b.buf) >= b.max {
		b.flushLocked()
	}
	return len(p), nil
}

// Flush writes what is buffered.
func (b *lineBuffer) Flush() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.flushLocked()
}

func (b *lineBuffer) flushLocked() {
	if len(b.buf) == 0 {
		return
	}
	_, _ = b.w.Write(b.buf)
	b.buf = b.buf[:0]
}

// Close stops the flusher after a last flush.
func (b *lineBuffer) Close() error {
	select {
	case <-b.stop:
	default:
		close(b.stop)
	}
	<-b.done
	return nil
}
