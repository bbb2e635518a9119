// Package mllp is the TCP listener that hospital interface engines send HL7
// v2 feeds to, speaking the Minimal Lower Layer Protocol. It knows nothing
// about HL7 content: it cuts the byte stream into frames, hands each message
// to a Handler and writes back, framed, what the Handler returns (the ACK).
//
// # Framing
//
// A frame is a start block 0x0B, the message, an end block 0x1C and a
// carriage return 0x0D. Reader (usable on its own, and fuzzed) is tolerant
// of what real engines send:
//
//   - bytes before a start block (CR/LF between frames) are skipped and
//     counted (EventSkippedBytes, logged at debug);
//   - the frame ends at 0x1C; the 0x0D after it is consumed when it is the
//     next byte but never waited for, so a frame missing it is accepted
//     when a start block, EOF or anything else follows (EventMissingCR), and
//     a sender that omits it still gets its ACK at once;
//   - a start block inside a frame drops the partial frame and starts anew
//     (EventAbandoned, logged at warn): HL7 content never contains 0x0B;
//   - a frame unterminated at EOF is dropped (ErrTruncated, logged at warn);
//   - a frame with no content is ignored without a reply (EventEmptyFrame);
//   - a frame over Options.MaxMessageBytes is read to its end block and
//     discarded, then Handler.Oversize is called with its first bytes
//     (OversizePrefixBytes, enough for the MSH segment) so that the
//     integrator can answer with an AR ACK; the connection then reads the
//     next frame as usual.
//
// # Connections
//
// Each connection is served by one goroutine: read a message, call
// Handler.Handle, write the reply, read the next, so messages on one
// connection are handled strictly in order and never two at once, while
// connections run concurrently. A handler error closes the connection
// without a reply (the sender keeps the message and retries); so does a
// handler panic, which is recovered and logged with its stack and never
// takes the server down. A connection on which no byte arrives for
// Options.IdleTimeout is closed; the timeout restarts on every read and does
// not run while a handler works.
//
// TLS is optional: with Options.TLSConfig every connection handshakes first,
// and mutual TLS is a matter of tls.Config.ClientAuth and ClientCAs; the
// verified client certificate is in ConnInfo.PeerCertificate.
//
// # Shutdown
//
// Server.Shutdown closes the listener, stops every connection from reading
// further messages (a partly received frame is dropped, unanswered, so the
// sender resends it), lets handlers already running finish and their replies
// be written, then closes the connections. At the context's deadline it
// force-closes what is left and cancels the handlers' context. Server.Serve
// returns only when no handler is running any more.
//
// # Observability
//
// Logs go to Options.Logger and never carry message content (it holds
// patient data), only sizes, connection ids and remote addresses. Counters
// go to Options.Metrics as Events, so that the integrator can export them
// without this package importing a metrics library. Options.Clock stamps
// connections and times handlers; socket deadlines (idle, write, handshake)
// necessarily run on the real clock.
//
// Client is a small sender for tests and tools.
package mllp
