package mllp

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// The MLLP block characters.
const (
	StartBlock byte = 0x0B // <VT>, opens a frame
	EndBlock   byte = 0x1C // <FS>, closes a frame's content
	CR         byte = 0x0D // <CR>, follows EndBlock
)

// DefaultMaxMessageBytes is the frame content limit used when none is given.
const DefaultMaxMessageBytes = 1 << 20

// OversizePrefixBytes is how much of an oversize frame's content is kept (in
// TooLargeError.Prefix and for Handler.Oversize): enough for the MSH segment
// an AR acknowledgement is built from.
const OversizePrefixBytes = 4096

// readBufferBytes sizes the Reader's internal buffer.
const readBufferBytes = 32 << 10

// ErrTooLarge is matched (errors.Is) by the *TooLargeError that Reader.Next
// returns for a frame whose content exceeds the limit.
var ErrTooLarge = errors.New("mllp: frame exceeds the message size limit")

// ErrTruncated is returned by Reader.Next when the stream ends inside a frame
// (a start block was read but no end block followed). The partial frame is
// dropped; later calls return io.EOF.
var ErrTruncated = errors.New("mllp: stream ended inside a frame")

// TooLargeError reports a frame whose content was larger than the Reader's
// limit. The frame has been consumed up to and including its end block, so
// the next call to Next reads the frame after it.
type TooLargeError struct {
	// Size is the length of the frame's content in bytes.
	Size int
	// Limit is the Reader's limit.
	Limit int
	// Prefix holds the first min(Limit, OversizePrefixBytes) bytes of the
	// content. It belongs to the caller.
	Prefix []byte
}

// Error describes the oversize frame.
func (e *TooLargeError) Error() string {
	return fmt.Sprintf("mllp: frame of %d bytes exceeds the limit of %d bytes", e.Size, e.Limit)
}

// Is makes errors.Is(err, ErrTooLarge) true.
func (e *TooLargeError) Is(target error) bool { return target == ErrTooLarge }

// Frame wraps msg in an MLLP frame: StartBlock, msg, EndBlock, CR. Msg must
// not contain StartBlock or EndBlock bytes (HL7 v2 content never does); Frame
// does not check.
func Frame(msg []byte) []byte {
	b := make([]byte, 0, len(msg)+3)
	b = append(b, StartBlock)
	b = append(b, msg...)
	return append(b, EndBlock, CR)
}

// ReaderStats counts what a Reader has seen besides well-formed frames.
type ReaderStats struct {
	// Frames is the number of frames Next returned (empty ones included,
	// oversize ones not).
	Frames int64
	// Oversize is the number of frames reported as *TooLargeError.
	Oversize int64
	// SkippedBytes is the number of bytes discarded outside frames: noise
	// before a start block, such as CR/LF between frames.
	SkippedBytes int64
	// MissingCR is the number of frames whose EndBlock was not followed by a
	// CR (the frame was accepted anyway).
	MissingCR int64
	// Abandoned is the number of partial frames discarded because a new
	// start block arrived before their end block.
	Abandoned int64
}

// Reader splits an MLLP byte stream into messages. It is tolerant of what
// interface engines send in practice:
//
//   - Bytes before a StartBlock (stray CR/LF between frames, keep-alive
//     noise) are skipped and counted in ReaderStats.SkippedBytes.
//   - A frame is complete at its EndBlock. The CR that should follow is
//     consumed if it is the next byte, but the Reader never waits for it:
//     a frame whose EndBlock is followed by a StartBlock, by EOF or by any
//     other byte is accepted and counted in ReaderStats.MissingCR (the
//     other byte is then skipped as noise). So a sender that forgets the
//     CR and waits for its ACK still gets one.
//   - A StartBlock inside a frame abandons the partial frame (counted in
//     ReaderStats.Abandoned) and starts a new one: HL7 v2 content never
//     contains 0x0B, so the sender must have restarted.
//   - EOF inside a frame drops the partial frame and returns ErrTruncated.
//   - A frame whose content exceeds the limit is read to its EndBlock and
//     discarded, and Next returns a *TooLargeError carrying the first bytes
//     of the content; the stream stays usable.
//
// A Reader is not safe for concurrent use.
type Reader struct {
	br       *bufio.Reader
	max      int
	afterEnd bool // the last frame ended at an EndBlock whose CR is not yet seen
	eof      bool
	inFrame  bool
	stats    ReaderStats
}

// NewReader returns a Reader of the frames in r whose content is at most max
// bytes (max <= 0: DefaultMaxMessageBytes).
func NewReader(r io.Reader, max int) *Reader {
	if max <= 0 {
		max = DefaultMaxMessageBytes
	}
	return &Reader{br: bufio.NewReaderSize(r, readBufferBytes), max: max}
}

// Stats returns the counters so far.
func (r *Reader) Stats() ReaderStats { return r.stats }

// InFrame reports whether the Reader stopped inside a frame: after Next
// returned a read error (a timeout, say), a partial frame was lost.
func (r *Reader) InFrame() bool { return r.inFrame }

// Buffered returns the number of bytes read from the underlying reader but
// not yet consumed.
func (r *Reader) Buffered() int { return r.br.Buffered() }

// Next returns the content of the next frame, without the block characters.
// The slice belongs to the caller. At the end of the stream between frames
// it returns io.EOF; see Reader for the other errors. Errors from the
// underlying reader are returned as they are.
func (r *Reader) Next() ([]byte, error) {
	if r.eof {
		return nil, io.EOF
	}
	if err := r.finishEnd(); err != nil {
		return nil, err
	}
	if err := r.skipToStart(); err != nil {
		return nil, err
	}
	return r.readFrame()
}

// finishEnd consumes the CR after the previous frame's EndBlock, if it is
// there.
func (r *Reader) finishEnd() error {
	if !r.afterEnd {
		return nil
	}
	b, err := r.br.ReadByte()
	if err == io.EOF {
		r.afterEnd = false
		r.stats.MissingCR++
		r.eof = true
		return io.EOF
	}
	if err != nil {
		return err
	}
	r.afterEnd = false
	if b != CR {
		r.stats.MissingCR++
		_ = r.br.UnreadByte() // cannot fail right after ReadByte
	}
	return nil
}

// skipToStart discards bytes up to and including the next StartBlock.
func (r *Reader) skipToStart() error {
	for {
		line, err := r.br.ReadSlice(StartBlock)
		switch err {
		case nil:
			r.stats.SkippedBytes += int64(len(line) - 1)
			return nil
		case bufio.ErrBufferFull:
			r.stats.SkippedBytes += int64(len(line))
		case io.EOF:
			r.stats.SkippedBytes += int64(len(line))
			r.eof = true
			return io.EOF
		default:
			r.stats.SkippedBytes += int64(len(line))
			return err
		}
	}
}

// readFrame reads content after a StartBlock up to the EndBlock.
func (r *Reader) readFrame() ([]byte, error) {
	r.inFrame = true
	prefixLen := min(r.max, OversizePrefixBytes)
	var msg []byte
	size := 0
	oversize := false
	for {
		n := max(r.br.Buffered(), 1)
		buf, err := r.br.Peek(n)
		if len(buf) == 0 {
			if err == io.EOF {
				r.eof = true
				r.inFrame = false
				return nil, ErrTruncated
			}
			return nil, err
		}
		i := indexBlock(buf)
		chunk := buf
		if i >= 0 {
			chunk = buf[:i]
		}
		switch {
		case oversize:
		case size+len(chunk) > r.max:
			oversize = true
			if len(msg) >= prefixLen {
				msg = bytes.Clone(msg[:prefixLen])
			} else {
				msg = append(msg, chunk[:min(len(chunk), prefixLen-len(msg))]...)
			}
		default:
			msg = append(msg, chunk...)
		}
		size += len(chunk)
		if i < 0 {
			_, _ = r.br.Discard(len(buf))
			continue
		}
		block := buf[i]
		_, _ = r.br.Discard(i + 1)
		if block == StartBlock {
			r.stats.Abandoned++
			msg, size, oversize = nil, 0, false
			continue
		}
		r.inFrame = false
		r.afterEnd = true
		if oversize {
			r.stats.Oversize++
			return nil, &TooLargeError{Size: size, Limit: r.max, Prefix: msg}
		}
		r.stats.Frames++
		if msg == nil {
			msg = []byte{}
		}
		return msg, nil
	}
}

// indexBlock returns the index of the first StartBlock or EndBlock in b, or
// -1.
func indexBlock(b []byte) int {
	for i, c := range b {
		if c == StartBlock || c == EndBlock {
			return i
		}
	}
	return -1
}
