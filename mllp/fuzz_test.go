package mllp

import (
	"bytes"
	"errors"
	"io"
	"slices"
	"testing"
	"testing/iotest"
)

// FuzzReader checks that the framer never panics or loops, never returns a
// message over its limit, does not depend on how the stream is split, and
// reads Frame(m) back as m.
func FuzzReader(f *testing.F) {
	f.Add([]byte("\x0bMSH|^~\\&|A|B\rPID|1\r\x1c\r"), uint16(64))
	f.Add([]byte("\r\n\x0bA\x1c\x0bB\x1c\r\x0b"), uint16(4))
	f.Add([]byte("\x0b0123456789\x1c\r\x0b\x1c\r"), uint16(5))
	f.Add([]byte("\x1c\r\x0b\x0b\x1c\x1c\r\r"), uint16(0))
	f.Fuzz(func(t *testing.T, data []byte, limit uint16) {
		max := int(limit)
		effective := max
		if effective <= 0 {
			effective = DefaultMaxMessageBytes
		}
		bulk := readFrames(t, NewReader(bytes.NewReader(data), max), effective, len(data))
		split := readFrames(t, NewReader(iotest.OneByteReader(bytes.NewReader(data)), max), effective, len(data))
		if !slices.Equal(bulk, split) {
			t.Fatalf("bulk read %q, one byte at a time %q", bulk, split)
		}

		// Round trip: data as a message, when it is a valid one.
		if bytes.IndexByte(data, StartBlock) >= 0 || bytes.IndexByte(data, EndBlock) >= 0 || len(data) > effective {
			return
		}
		framed := Frame(data)
		for _, in := range [][]byte{framed, framed[:len(framed)-1]} { // with and without the final CR
			r := NewReader(bytes.NewReader(in), max)
			msg, err := r.Next()
			if err != nil || !bytes.Equal(msg, data) {
				t.Fatalf("Frame(%q) read back as %q, %v", data, msg, err)
			}
			if _, err := r.Next(); err != io.EOF {
				t.Fatalf("after the frame: %v, want io.EOF", err)
			}
		}
	})
}

// readFrames reads r to its end and returns what it read, checking the limit and
// that every call makes progress.
func readFrames(t *testing.T, r *Reader, max, n int) []string {
	t.Helper()
	var out []string
	for i := 0; ; i++ {
		if i > n+1 {
			t.Fatalf("more than %d results from %d bytes", i, n)
		}
		msg, err := r.Next()
		var tl *TooLargeError
		switch {
		case err == nil:
			if len(msg) > max {
				t.Fatalf("message of %d bytes over the limit %d", len(msg), max)
			}
			out = append(out, "m:"+string(msg))
		case errors.As(err, &tl):
			if tl.Size <= max || len(tl.Prefix) > min(max, OversizePrefixBytes) || len(tl.Prefix) == 0 {
				t.Fatalf("bad TooLargeError: size %d prefix %d limit %d", tl.Size, len(tl.Prefix), max)
			}
			out = append(out, "big:"+string(tl.Prefix))
		case err == io.EOF:
			return out
		case errors.Is(err, ErrTruncated):
			return append(out, "truncated")
		default:
			t.Fatalf("unexpected error %v", err)
		}
	}
}
