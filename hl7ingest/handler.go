package hl7ingest

import (
	"bytes"
	"context"
	"fmt"

	"github.com/wachtwijzer/wachtwijzer/mappings/hl7v2"
	"github.com/wachtwijzer/wachtwijzer/mllp"
)

// Handler is the mllp.Handler of the HL7 feed: every message through
// Process, every reply the ACK it built (after the durable write).
type Handler struct {
	P *Processor
	// Channels, when set, are the --mllp-channels in force: each message is
	// checked against them as they are when it arrives, so a channel
	// withdrawn or remapped by a reload applies to connections already
	// open, not only to new ones.
	Channels *ChannelsFile
}

var _ mllp.Handler = Handler{}

// Handle processes one message and returns its ACK (nil when the sender
// asked for none). On a connection that Channels admitted, a message from
// another organisation than the connection's gets AR and is not stored; so
// does every message on a connection the channels in force no longer admit.
func (h Handler) Handle(ctx context.Context, c *mllp.ConnInfo, msg []byte) ([]byte, error) {
	if c != nil && c.Organization != "" {
		org := c.Organization
		if h.Channels != nil {
			now, err := h.Channels.Admit(c)
			if err != nil {
				return h.P.withdrawnACK(msg, err.Error()), nil
			}
			org = now
		}
		if ack, refused := h.P.foreignSenderACK(msg, org); refused {
			return ack, nil
		}
	}
	return h.P.Process(ctx, msg, ProcessOptions{}).ACK, nil
}

// Oversize answers a frame over the size limit with AR (ERR 100, the size
// and the limit), built from the MSH in its first bytes; it is not stored.
func (h Handler) Oversize(_ context.Context, _ *mllp.ConnInfo, prefix []byte, size int) ([]byte, error) {
	return h.P.OversizeACK(prefix, size), nil
}

// OversizeACK builds the AR for a message of size bytes of which prefix
// are the first.
func (p *Processor) OversizeACK(prefix []byte, size int) []byte {
	line := prefix
	if i := bytes.IndexAny(line, "\r\n"); i >= 0 {
		line = line[:i]
	}
	m, _ := hl7v2.Parse(append(append([]byte(nil), line...), '\r'), hl7v2.ParseOptions{Senders: p.o.Senders.Config()})
	code := "AR"
	if hl7v2.Mode(m) {
		code = "CR"
	}
	problem := hl7v2.Problem{Severity: hl7v2.SeverityError, Code: hl7v2.CodeSegmentSequence,
		Text: fmt.Sprintf("message of %d bytes exceeds this receiver's limit; it was not processed", size)}
	p.m.messages.WithLabelValues("other", "other", code).Inc()
	p.log.Warn("hl7 oversize message rejected", "bytes", size)
	return hl7v2.BuildACK(m, code, []hl7v2.Problem{problem}, p.o.ACK)
}
