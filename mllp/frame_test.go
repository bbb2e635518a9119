package mllp

import (
	"bytes"
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
)

// readAll reads frames until an error and returns them (oversize frames as
// "!TOOLARGE:<size>:<prefix>") with the final error.
func readAll(r *Reader) ([]string, error) {
	var out []string
	for {
		msg, err := r.Next()
		var tl *TooLargeError
		switch {
		case err == nil:
			out = append(out, string(msg))
		case errors.As(err, &tl):
			out = append(out, "!TOOLARGE:"+strconv.Itoa(tl.Size)+":"+string(tl.Prefix))
		default:
			return out, err
		}
	}
}

func TestFrame(t *testing.T) {
	got := Frame([]byte("MSH|^~\\&|A"))
	if want := "\x0bMSH|^~\\&|A\x1c\r"; string(got) != want {
		t.Fatalf("Frame = %q, want %q", got, want)
	}
}

func TestReader(t *testing.T) {
	const max = 10
	cases := []struct {
		name  string
		in    string
		want  []string
		err   error
		stats ReaderStats
	}{
		{"empty stream", "", nil, io.EOF, ReaderStats{}},
		{"one frame", "\x0bMSH|1\x1c\r", []string{"MSH|1"}, io.EOF, ReaderStats{Frames: 1}},
		{"two frames", "\x0bA\x1c\r\x0bB\x1c\r", []string{"A", "B"}, io.EOF, ReaderStats{Frames: 2}},
		{"segments keep their CRs", "\x0bM|1\rP|2\r\x1c\r", []string{"M|1\rP|2\r"}, io.EOF, ReaderStats{Frames: 1}},
		{"leading CR/LF", "\r\n\r\n\x0bA\x1c\r", []string{"A"}, io.EOF, ReaderStats{Frames: 1, SkippedBytes: 4}},
		{"CR/LF between frames", "\x0bA\x1c\r\n\x0bB\x1c\r\n", []string{"A", "B"}, io.EOF, ReaderStats{Frames: 2, SkippedBytes: 2}},
		{"noise only", "hello\r\n", nil, io.EOF, ReaderStats{SkippedBytes: 7}},
		{"missing CR then start", "\x0bA\x1c\x0bB\x1c\r", []string{"A", "B"}, io.EOF, ReaderStats{Frames: 2, MissingCR: 1}},
		{"missing CR at EOF", "\x0bA\x1c", []string{"A"}, io.EOF, ReaderStats{Frames: 1, MissingCR: 1}},
		{"missing CR then LF", "\x0bA\x1c\n\x0bB\x1c\r", []string{"A", "B"}, io.EOF, ReaderStats{Frames: 2, MissingCR: 1, SkippedBytes: 1}},
		{"empty frame", "\x0b\x1c\r", []string{""}, io.EOF, ReaderStats{Frames: 1}},
		{"unterminated at EOF", "\x0bA\x1c\r\x0bMSH|partial", []string{"A"}, ErrTruncated, ReaderStats{Frames: 1}},
		{"start block inside frame restarts", "\x0bA-partial\x0bB\x1c\r", []string{"B"}, io.EOF, ReaderStats{Frames: 1, Abandoned: 1}},
		{"exactly max", "\x0b0123456789\x1c\r", []string{"0123456789"}, io.EOF, ReaderStats{Frames: 1}},
		{"oversize then next", "\x0b0123456789X\x1c\r\x0bB\x1c\r", []string{"!TOOLARGE:11:0123456789", "B"}, io.EOF, ReaderStats{Frames: 1, Oversize: 1}},
		{"oversize unterminated", "\x0b0123456789XYZ", nil, ErrTruncated, ReaderStats{}},
		{"oversize abandoned by start block", "\x0b0123456789XYZ\x0bB\x1c\r", []string{"B"}, io.EOF, ReaderStats{Frames: 1, Abandoned: 1}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, mode := range []string{"bulk", "one byte"} {
				var src io.Reader = strings.NewReader(tc.in)
				if mode == "one byte" {
					src = iotest.OneByteReader(src)
				}
				r := NewReader(src, max)
				got, err := readAll(r)
				if !errors.Is(err, tc.err) {
					t.Fatalf("%s: err = %v, want %v", mode, err, tc.err)
				}
				if strings.Join(got, "|") != strings.Join(tc.want, "|") || len(got) != len(tc.want) {
					t.Fatalf("%s: frames = %q, want %q", mode, got, tc.want)
				}
				if r.Stats() != tc.stats {
					t.Fatalf("%s: stats = %+v, want %+v", mode, r.Stats(), tc.stats)
				}
				if _, err := r.Next(); err != io.EOF {
					t.Fatalf("%s: Next after end = %v, want io.EOF", mode, err)
				}
			}
		})
	}
}

func TestReaderOversizePrefix(t *testing.T) {
	big := bytes.Repeat([]byte("x"), 3*OversizePrefixBytes)
	copy(big, "MSH|^~\\&|SENDER")
	in := append(Frame(big), Frame([]byte("next"))...)
	r := NewReader(iotest.HalfReader(bytes.NewReader(in)), 2*OversizePrefixBytes)
	_, err := r.Next()
	var tl *TooLargeError
	if !errors.As(err, &tl) || !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err = %v, want *TooLargeError", err)
	}
	if tl.Size != len(big) || tl.Limit != 2*OversizePrefixBytes || !bytes.Equal(tl.Prefix, big[:OversizePrefixBytes]) {
		t.Fatalf("TooLargeError = size %d limit %d prefix %d bytes", tl.Size, tl.Limit, len(tl.Prefix))
	}
	msg, err := r.Next()
	if err != nil || string(msg) != "next" {
		t.Fatalf("next frame = %q, %v", msg, err)
	}
}

func TestReaderLargeFrameAcrossBuffers(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789\r"), 20000) // > the 32 KiB buffer
	r := NewReader(bytes.NewReader(append(Frame(big), Frame(big)...)), len(big))
	for i := 0; i < 2; i++ {
		msg, err := r.Next()
		if err != nil || !bytes.Equal(msg, big) {
			t.Fatalf("frame %d: %d bytes, %v", i, len(msg), err)
		}
	}
}

func TestReaderPassesReadErrors(t *testing.T) {
	boom := errors.New("boom")
	r := NewReader(io.MultiReader(strings.NewReader("\x0bpart"), iotest.ErrReader(boom)), 0)
	if _, err := r.Next(); !errors.Is(err, boom) {
		t.Fatalf("err = %v, want boom", err)
	}
	if !r.InFrame() {
		t.Fatal("InFrame = false after an error mid-frame")
	}
}
