package mllp

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	ww "github.com/wachtwijzer/wachtwijzer"
)

// Defaults for the zero Options fields.
const (
	DefaultIdleTimeout      = 5 * time.Minute
	DefaultWriteTimeout     = 30 * time.Second
	DefaultHandshakeTimeout = 30 * time.Second
)

// ErrServerClosed is returned by Serve when it is called after Shutdown.
var ErrServerClosed = errors.New("mllp: server closed")

// Handler processes the messages of a connection. A connection calls its
// Handler for one message at a time, in the order the messages arrived;
// different connections call it concurrently.
type Handler interface {
	// Handle processes one message (the frame content, without the block
	// characters; the slice is the handler's to keep) and returns the
	// message to send back, typically an ACK, which the server frames. A
	// nil or empty reply sends nothing. An error closes the connection
	// without a reply: return one when the message could not be stored
	// durably, so that the sender keeps it and retries.
	Handle(ctx context.Context, c *ConnInfo, msg []byte) ([]byte, error)
	// Oversize is called instead of Handle for a frame whose content
	// exceeded Options.MaxMessageBytes, after the frame has been read to its
	// end and discarded. Prefix holds its first bytes (at most
	// OversizePrefixBytes, enough for the MSH segment) and size its full
	// length. The reply is sent like Handle's; typically an AR/AE ACK built
	// from the MSH in prefix. An error closes the connection. The
	// connection goes on reading the next frame.
	Oversize(ctx context.Context, c *ConnInfo, prefix []byte, size int) ([]byte, error)
}

// HandlerFunc adapts a function to Handler. Its Oversize sends nothing, so
// the sender of an oversize message gets no acknowledgement and will time
// out; feeds in production want a Handler that NAKs instead.
type HandlerFunc func(ctx context.Context, c *ConnInfo, msg []byte) ([]byte, error)

// Handle calls f.
func (f HandlerFunc) Handle(ctx context.Context, c *ConnInfo, msg []byte) ([]byte, error) {
	return f(ctx, c, msg)
}

// Oversize sends nothing.
func (f HandlerFunc) Oversize(context.Context, *ConnInfo, []byte, int) ([]byte, error) {
	return nil, nil
}

// ConnInfo describes a connection to a Handler. It does not change after the
// first message.
type ConnInfo struct {
	// ID numbers the server's connections from 1; logs carry it as "conn".
	ID uint64
	// Remote and Local are the connection's addresses.
	Remote, Local net.Addr
	// Accepted is when the connection was accepted (Options.Clock).
	Accepted time.Time
	// TLS is the state after the handshake; nil on plain TCP.
	TLS *tls.ConnectionState
	// PeerCertificate is the client's certificate when it was verified
	// against tls.Config.ClientCAs (ClientAuth VerifyClientCertIfGiven or
	// RequireAndVerifyClientCert); nil otherwise. Certificates sent but not
	// verified are only in TLS.PeerCertificates.
	PeerCertificate *x509.Certificate
	// Organization is the sender identity Options.Admit assigned to the
	// connection ("" without Admit).
	Organization string
}

// Event names something the server counts. Metrics receives them.
type Event string

// The events. Each is added with n = 1 except EventSkippedBytes (n bytes).
const (
	EventConnOpened      Event = "conn_opened"   // connection accepted (and TLS handshake done)
	EventConnRejected    Event = "conn_rejected" // closed at once: MaxConns reached
	EventConnRefused     Event = "conn_refused"  // closed after the handshake: Options.Admit refused it
	EventConnClosed      Event = "conn_closed"   // an opened connection ended
	EventHandshakeFailed Event = "tls_handshake_failed"
	EventMessage         Event = "message"         // a frame handed to Handle
	EventReply           Event = "reply"           // a reply frame written
	EventNoReply         Event = "no_reply"        // Handle or Oversize returned no reply
	EventHandlerError    Event = "handler_error"   // Handle or Oversize returned an error
	EventHandlerPanic    Event = "handler_panic"   // Handle or Oversize panicked
	EventBadReply        Event = "bad_reply"       // a reply contained a block character
	EventOversize        Event = "oversize"        // a frame over MaxMessageBytes
	EventEmptyFrame      Event = "empty_frame"     // a frame with no content (ignored)
	EventTruncated       Event = "truncated_frame" // the peer closed inside a frame
	EventAbandoned       Event = "abandoned_frame" // a start block inside a frame restarted it
	EventSkippedBytes    Event = "skipped_bytes"   // bytes outside frames discarded
	EventMissingCR       Event = "missing_cr"      // a frame's end block lacked its CR
	EventIdleTimeout     Event = "idle_timeout"    // closed after IdleTimeout without a byte
	EventReadError       Event = "read_error"      // another read error closed a connection
	EventWriteError      Event = "write_error"     // writing a reply failed
)

// Metrics receives the server's counters, so that the integrator can export
// them (as Prometheus counters, say) without this package depending on a
// metrics library. Add is called from many goroutines and must be fast.
type Metrics interface {
	Add(e Event, n int)
}

// MetricsFunc adapts a function to Metrics.
type MetricsFunc func(e Event, n int)

// Add calls f.
func (f MetricsFunc) Add(e Event, n int) { f(e, n) }

type noMetrics struct{}

func (noMetrics) Add(Event, int) {}

// Options configure a Server.
type Options struct {
	// Addr is the TCP address to listen on, "host:port"; port 0 picks a
	// free one (Server.Addr tells which). Required.
	Addr string
	// TLSConfig, when set, makes every connection TLS. For mutual TLS set
	// ClientAuth (RequireAndVerifyClientCert) and ClientCAs; the verified
	// certificate is in ConnInfo.PeerCertificate. The config is cloned.
	TLSConfig *tls.Config
	// MaxMessageBytes limits a frame's content (default
	// DefaultMaxMessageBytes, 1 MiB); larger frames go to Handler.Oversize.
	MaxMessageBytes int
	// IdleTimeout closes a connection on which no byte arrived for this
	// long, measured from each read (default 5 min; negative: never). It is
	// not counted while a Handler runs.
	IdleTimeout time.Duration
	// WriteTimeout bounds writing one reply (default 30 s; negative: none).
	WriteTimeout time.Duration
	// HandshakeTimeout bounds the TLS handshake (default 30 s; negative:
	// none).
	HandshakeTimeout time.Duration
	// MaxConns limits the open connections; one more is accepted and closed
	// at once (0: unlimited).
	MaxConns int
	// Logger receives the server's logs (default slog.Default()). They
	// never contain message content.
	Logger *slog.Logger
	// Clock stamps connections and times handlers (default the system
	// clock). Socket deadlines are enforced by the kernel on the real clock.
	Clock ww.Clock
	// Metrics receives counters (default none).
	Metrics Metrics
	// Admit, when set, decides after the TLS handshake (if any) whether a
	// connection may send: it returns the organisation the connection
	// speaks for (ConnInfo.Organization), or an error, upon which the
	// connection is closed without reading a byte and the refusal logged.
	Admit func(c *ConnInfo) (organization string, err error)
}

// Server accepts MLLP connections and hands their messages to a Handler.
type Server struct {
	o      Options
	ln     net.Listener
	log    *slog.Logger
	nextID atomic.Uint64
	wg     sync.WaitGroup // one per connection

	mu       sync.Mutex
	conns    map[*conn]struct{}
	serving  bool
	shutting bool
	ctx      context.Context // handlers' context, set by Serve
	cancel   context.CancelFunc
}

// Listen validates o and binds its address; Serve then accepts connections.
func Listen(o Options) (*Server, error) {
	if o.Addr == "" {
		return nil, errors.New("mllp: Options.Addr is empty (\"127.0.0.1:0\" picks a free port)")
	}
	if o.MaxMessageBytes <= 0 {
		o.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if o.IdleTimeout == 0 {
		o.IdleTimeout = DefaultIdleTimeout
	}
	if o.WriteTimeout == 0 {
		o.WriteTimeout = DefaultWriteTimeout
	}
	if o.HandshakeTimeout == 0 {
		o.HandshakeTimeout = DefaultHandshakeTimeout
	}
	if o.MaxConns < 0 {
		o.MaxConns = 0
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Clock == nil {
		o.Clock = ww.SystemClock{}
	}
	if o.Metrics == nil {
		o.Metrics = noMetrics{}
	}
	if o.TLSConfig != nil {
		o.TLSConfig = o.TLSConfig.Clone()
		if len(o.TLSConfig.Certificates) == 0 && o.TLSConfig.GetCertificate == nil && o.TLSConfig.GetConfigForClient == nil {
			return nil, errors.New("mllp: Options.TLSConfig has no certificate")
		}
	}
	ln, err := net.Listen("tcp", o.Addr)
	if err != nil {
		return nil, fmt.Errorf("mllp: listen on %s: %w", o.Addr, err)
	}
	return &Server{o: o, ln: ln, log: o.Logger, conns: map[*conn]struct{}{}}, nil
}

// Addr returns the address the server listens on.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Conns returns the number of open connections.
func (s *Server) Conns() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// Serve accepts connections and serves each on its own goroutine with h
// until Shutdown, then returns nil once every connection has ended (so no
// Handler call is still running). Handlers get a context derived from ctx
// that is cancelled when Shutdown gives up waiting. Cancelling ctx is a hard
// stop: like a Shutdown whose deadline has passed. Serve may be called once;
// after Shutdown it returns ErrServerClosed.
func (s *Server) Serve(ctx context.Context, h Handler) error {
	if h == nil {
		return errors.New("mllp: Serve: nil Handler")
	}
	s.mu.Lock()
	if s.shutting {
		s.mu.Unlock()
		return ErrServerClosed
	}
	if s.serving {
		s.mu.Unlock()
		return errors.New("mllp: Serve called twice")
	}
	s.serving = true
	s.ctx, s.cancel = context.WithCancel(ctx)
	s.mu.Unlock()
	defer s.cancel()
	stop := context.AfterFunc(ctx, s.forceClose)
	defer stop()

	s.log.Info("mllp listening", "addr", s.ln.Addr().String(), "tls", s.o.TLSConfig != nil)
	var backoff time.Duration
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			if s.isShutting() || errors.Is(err, net.ErrClosed) {
				break
			}
			// Out of file descriptors and the like: wait and retry.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			s.log.Warn("mllp accept failed", "err", err, "retry_in", backoff)
			t := time.NewTimer(backoff)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
			}
			continue
		}
		backoff = 0
		s.start(nc, h)
	}
	s.wg.Wait()
	s.log.Info("mllp stopped", "addr", s.ln.Addr().String())
	return nil
}

// Shutdown stops the server gracefully: it closes the listener, lets each
// connection finish the message it is handling and write its reply, and
// closes every connection before it reads another message (a partly
// received frame is dropped; the sender will resend it). It returns nil once
// all connections have ended. If ctx ends first it force-closes the
// remaining connections, cancels the handlers' context and returns the
// context's error. Shutdown may be called more than once, also before Serve.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	first := !s.shutting
	s.shutting = true
	conns := s.snapshot()
	s.mu.Unlock()
	if first {
		if err := s.ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			s.log.Warn("mllp closing listener", "err", err)
		}
		s.log.Info("mllp shutting down", "conns", len(conns))
	}
	for _, c := range conns {
		c.drain()
	}
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		s.forceClose()
		return fmt.Errorf("mllp: shutdown: forced closing of connections: %w", ctx.Err())
	}
}

// forceClose closes the listener and every connection and cancels the
// handlers' context.
func (s *Server) forceClose() {
	s.mu.Lock()
	s.shutting = true
	conns := s.snapshot()
	cancel := s.cancel
	s.mu.Unlock()
	if err := s.ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
		s.log.Warn("mllp closing listener", "err", err)
	}
	if cancel != nil {
		cancel()
	}
	for _, c := range conns {
		c.kill()
	}
	if len(conns) > 0 {
		s.log.Warn("mllp force-closed connections", "conns", len(conns))
	}
}

func (s *Server) isShutting() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.shutting
}

// snapshot lists the connections; s.mu must be held.
func (s *Server) snapshot() []*conn {
	cs := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		cs = append(cs, c)
	}
	return cs
}

// start registers nc and serves it on a new goroutine, or closes it when the
// server is shutting down or full.
func (s *Server) start(nc net.Conn, h Handler) {
	s.mu.Lock()
	if s.shutting {
		s.mu.Unlock()
		_ = nc.Close()
		return
	}
	if s.o.MaxConns > 0 && len(s.conns) >= s.o.MaxConns {
		s.mu.Unlock()
		s.o.Metrics.Add(EventConnRejected, 1)
		s.log.Warn("mllp connection rejected: too many connections", "remote", nc.RemoteAddr().String(), "max_conns", s.o.MaxConns)
		_ = nc.Close()
		return
	}
	id := s.nextID.Add(1)
	c := &conn{
		s:  s,
		h:  h,
		nc: nc,
		rw: nc,
		info: ConnInfo{
			ID:       id,
			Remote:   nc.RemoteAddr(),
			Local:    nc.LocalAddr(),
			Accepted: s.o.Clock.Now(),
		},
		log: s.log.With("conn", id, "remote", nc.RemoteAddr().String()),
		ctx: s.ctx,
	}
	if s.o.TLSConfig != nil {
		c.rw = tls.Server(nc, s.o.TLSConfig)
	}
	s.conns[c] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()
	go c.serve()
}

// errDraining stops a connection's reads once Shutdown has begun.
var errDraining = errors.New("mllp: server shutting down")

// errPanic marks a recovered handler panic.
var errPanic = errors.New("mllp: handler panicked")

// conn is one accepted connection.
type conn struct {
	s    *Server
	h    Handler
	nc   net.Conn // the TCP connection
	rw   net.Conn // nc, or the TLS connection over it
	info ConnInfo
	log  *slog.Logger
	ctx  context.Context

	mu      sync.Mutex
	closing bool // Shutdown has begun: read nothing more

	messages int
}

// drain stops further reads: a blocked read returns at once, and the
// connection closes after the reply to the message in hand, if any.
func (c *conn) drain() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closing = true
	_ = c.nc.SetReadDeadline(time.Unix(1, 0))
}

// kill closes the connection now.
func (c *conn) kill() {
	c.mu.Lock()
	c.closing = true
	c.mu.Unlock()
	_ = c.nc.Close()
}

func (c *conn) isClosing() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closing
}

// Read reads from the connection with a fresh idle deadline per call, unless
// the server is draining.
func (c *conn) Read(p []byte) (int, error) {
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		return 0, errDraining
	}
	if c.s.o.IdleTimeout > 0 {
		_ = c.rw.SetReadDeadline(time.Now().Add(c.s.o.IdleTimeout))
	}
	c.mu.Unlock()
	return c.rw.Read(p)
}

// serve runs the connection: handshake, then read, handle, reply, repeat.
func (c *conn) serve() {
	reason := "closed"
	defer func() {
		if p := recover(); p != nil {
			c.log.Error("mllp connection panicked", "panic", p, "stack", string(debug.Stack()))
			reason = "panic"
		}
		_ = c.rw.Close()
		c.s.mu.Lock()
		delete(c.s.conns, c)
		c.s.mu.Unlock()
		c.s.wg.Done()
	}()
	if !c.handshake() {
		return
	}
	if !c.admit() {
		return
	}
	c.s.o.Metrics.Add(EventConnOpened, 1)
	c.log.Debug("mllp connection opened", "tls", c.info.TLS != nil)
	defer func() {
		c.s.o.Metrics.Add(EventConnClosed, 1)
		c.log.Debug("mllp connection closed", "reason", reason, "messages", c.messages,
			"duration", c.s.o.Clock.Now().Sub(c.info.Accepted))
	}()
	reason = c.loop()
}

// handshake runs the TLS handshake, if any, and fills in c.info.TLS. It
// reports whether the connection may proceed.
func (c *conn) handshake() bool {
	tc, ok := c.rw.(*tls.Conn)
	if !ok {
		return true
	}
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		return false
	}
	if t := c.s.o.HandshakeTimeout; t > 0 {
		_ = c.nc.SetDeadline(time.Now().Add(t))
	}
	c.mu.Unlock()
	if err := tc.HandshakeContext(c.ctx); err != nil {
		c.s.o.Metrics.Add(EventHandshakeFailed, 1)
		lvl := slog.LevelWarn
		if errors.Is(err, io.EOF) || c.isClosing() {
			lvl = slog.LevelDebug // load-balancer probes, port scans, shutdown
		}
		c.log.Log(c.ctx, lvl, "mllp TLS handshake failed", "err", err)
		return false
	}
	c.mu.Lock()
	_ = c.nc.SetWriteDeadline(time.Time{})
	if !c.closing {
		_ = c.nc.SetReadDeadline(time.Time{})
	}
	c.mu.Unlock()
	st := tc.ConnectionState()
	c.info.TLS = &st
	if len(st.VerifiedChains) > 0 && len(st.VerifiedChains[0]) > 0 {
		c.info.PeerCertificate = st.VerifiedChains[0][0]
	}
	return true
}

// admit runs Options.Admit and reports whether the connection may proceed.
func (c *conn) admit() bool {
	if c.s.o.Admit == nil {
		return true
	}
	org, err := c.s.o.Admit(&c.info)
	if err != nil {
		c.s.o.Metrics.Add(EventConnRefused, 1)
		c.log.Warn("mllp connection refused", "err", err, "tls", c.info.TLS != nil)
		return false
	}
	c.info.Organization = org
	c.log = c.log.With("organization", org)
	return true
}

// loop serves messages until the connection ends and returns why it ended.
func (c *conn) loop() string {
	m := c.s.o.Metrics
	r := NewReader(c, c.s.o.MaxMessageBytes)
	w := bufio.NewWriterSize(c.rw, 4096)
	for {
		if c.isClosing() {
			return "shutdown"
		}
		before := r.Stats()
		msg, err := r.Next()
		c.countStats(before, r.Stats())
		var tl *TooLargeError
		switch {
		case err == nil:
		case errors.As(err, &tl):
			m.Add(EventOversize, 1)
			c.log.Warn("mllp frame too large", "bytes", tl.Size, "limit", tl.Limit)
			reply, err := c.call(func() ([]byte, error) { return c.h.Oversize(c.ctx, &c.info, tl.Prefix, tl.Size) })
			if err != nil {
				return "handler error"
			}
			if !c.reply(w, reply) {
				return "write error"
			}
			continue
		case err == io.EOF:
			return "peer closed"
		case errors.Is(err, ErrTruncated):
			m.Add(EventTruncated, 1)
			c.log.Warn("mllp peer closed inside a frame; partial message dropped")
			return "peer closed inside a frame"
		case errors.Is(err, errDraining) || c.isClosing():
			if r.InFrame() {
				c.log.Info("mllp shutdown dropped a partly received message")
			}
			return "shutdown"
		case isTimeout(err):
			m.Add(EventIdleTimeout, 1)
			if r.InFrame() {
				c.log.Warn("mllp idle timeout inside a frame; partial message dropped", "idle_timeout", c.s.o.IdleTimeout)
			} else {
				c.log.Debug("mllp idle timeout", "idle_timeout", c.s.o.IdleTimeout)
			}
			return "idle timeout"
		default:
			m.Add(EventReadError, 1)
			c.log.Info("mllp read failed", "err", err, "in_frame", r.InFrame())
			return "read error"
		}
		if len(msg) == 0 {
			m.Add(EventEmptyFrame, 1)
			c.log.Debug("mllp empty frame ignored")
			continue
		}
		c.messages++
		m.Add(EventMessage, 1)
		start := c.s.o.Clock.Now()
		reply, err := c.call(func() ([]byte, error) { return c.h.Handle(c.ctx, &c.info, msg) })
		if err != nil {
			return "handler error"
		}
		c.log.Debug("mllp message handled", "bytes", len(msg), "reply_bytes", len(reply),
			"duration", c.s.o.Clock.Now().Sub(start))
		if !c.reply(w, reply) {
			return "write error"
		}
	}
}

// countStats reports what the Reader skipped or repaired.
func (c *conn) countStats(before, after ReaderStats) {
	m := c.s.o.Metrics
	if n := after.SkippedBytes - before.SkippedBytes; n > 0 {
		m.Add(EventSkippedBytes, int(n))
		c.log.Debug("mllp skipped bytes outside frames", "bytes", n)
	}
	if n := after.MissingCR - before.MissingCR; n > 0 {
		m.Add(EventMissingCR, int(n))
		c.log.Debug("mllp frame end block without CR accepted")
	}
	if n := after.Abandoned - before.Abandoned; n > 0 {
		m.Add(EventAbandoned, int(n))
		c.log.Warn("mllp start block inside a frame; partial message dropped", "frames", n)
	}
}

// call runs a handler method, turning a panic into an error; errors are
// counted and logged here.
func (c *conn) call(f func() ([]byte, error)) (reply []byte, err error) {
	defer func() {
		if p := recover(); p != nil {
			c.s.o.Metrics.Add(EventHandlerPanic, 1)
			c.log.Error("mllp handler panicked; closing connection", "panic", p, "stack", string(debug.Stack()))
			reply, err = nil, errPanic
		}
	}()
	reply, err = f()
	if err != nil {
		c.s.o.Metrics.Add(EventHandlerError, 1)
		c.log.Warn("mllp handler failed; closing connection without reply", "err", err)
		return nil, err
	}
	return reply, nil
}

// reply frames and writes msg (nothing when empty) and reports whether the
// connection may go on.
func (c *conn) reply(w *bufio.Writer, msg []byte) bool {
	m := c.s.o.Metrics
	if len(msg) == 0 {
		m.Add(EventNoReply, 1)
		return true
	}
	if bytes.IndexByte(msg, StartBlock) >= 0 || bytes.IndexByte(msg, EndBlock) >= 0 {
		m.Add(EventBadReply, 1)
		c.log.Error("mllp handler reply contains a block character (already framed?); closing connection", "reply_bytes", len(msg))
		return false
	}
	if t := c.s.o.WriteTimeout; t > 0 {
		_ = c.rw.SetWriteDeadline(time.Now().Add(t))
	}
	_ = w.WriteByte(StartBlock)
	_, _ = w.Write(msg)
	_ = w.WriteByte(EndBlock)
	_ = w.WriteByte(CR)
	if err := w.Flush(); err != nil {
		m.Add(EventWriteError, 1)
		c.log.Info("mllp writing reply failed", "err", err)
		return false
	}
	m.Add(EventReply, 1)
	return true
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
