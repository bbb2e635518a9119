package mllp

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	ww "github.com/wachtwijzer/wachtwijzer"
)

// counter is a Metrics for tests.
type counter struct {
	mu sync.Mutex
	n  map[Event]int
}

func (c *counter) Add(e Event, n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[Event]int{}
	}
	c.n[e] += n
}

func (c *counter) get(e Event) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[e]
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// testServer is a running Server with its counters and log.
type testServer struct {
	*Server
	m      *counter
	log    *syncBuffer
	served chan error
	once   sync.Once
}

// start listens on a free loopback port and serves h until the test ends.
func start(t *testing.T, o Options, h Handler) *testServer {
	t.Helper()
	ts := &testServer{m: &counter{}, log: &syncBuffer{}, served: make(chan error, 1)}
	o.Addr = "127.0.0.1:0"
	o.Metrics = ts.m
	o.Logger = slog.New(slog.NewTextHandler(ts.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s, err := Listen(o)
	if err != nil {
		t.Fatal(err)
	}
	ts.Server = s
	go func() { ts.served <- s.Serve(context.Background(), h) }()
	t.Cleanup(func() { ts.stop(t) })
	return ts
}

// stop shuts the server down and waits for Serve, once; counters are final
// afterwards.
func (ts *testServer) stop(t *testing.T) {
	t.Helper()
	ts.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := ts.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-ts.served; err != nil {
			t.Errorf("Serve: %v", err)
		}
		if strings.Contains(ts.log.String(), "MSH|") {
			t.Errorf("message content in the log:\n%s", ts.log)
		}
	})
}

func (ts *testServer) addr() string { return ts.Addr().String() }

func dial(t *testing.T, addr string) *Client {
	t.Helper()
	c, err := Dial(context.Background(), addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// ack answers "ACK|" + msg.
var ack = HandlerFunc(func(_ context.Context, _ *ConnInfo, msg []byte) ([]byte, error) {
	return append([]byte("ACK|"), msg...), nil
})

// expectClosed checks that the server closes c without sending anything.
func expectClosed(t *testing.T, c net.Conn) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	b, err := io.ReadAll(c)
	if err != nil && !errors.Is(err, net.ErrClosed) && !isReset(err) {
		t.Fatalf("read: %v (got %q)", err, b)
	}
	if len(b) > 0 {
		t.Fatalf("got %q, want the connection closed without a reply", b)
	}
}

func isReset(err error) bool {
	return err != nil && (strings.Contains(err.Error(), "reset") || strings.Contains(err.Error(), "broken pipe"))
}

func TestRoundTrip(t *testing.T) {
	clock := &ww.FixedClock{T: time.Date(2026, 3, 1, 9, 0, 0, 0, ww.Amsterdam)}
	var info atomic.Pointer[ConnInfo]
	ts := start(t, Options{Clock: clock}, HandlerFunc(func(ctx context.Context, c *ConnInfo, msg []byte) ([]byte, error) {
		info.Store(c)
		return ack(ctx, c, msg)
	}))
	c := dial(t, ts.addr())
	reply, err := c.Send(ctxT(t), []byte("MSH|^~\\&|A\rPID|1"))
	if err != nil {
		t.Fatal(err)
	}
	if string(reply) != "ACK|MSH|^~\\&|A\rPID|1" {
		t.Fatalf("reply = %q", reply)
	}
	ci := info.Load()
	if ci.ID != 1 || !ci.Accepted.Equal(clock.T) || ci.TLS != nil || ci.Remote.String() != c.Conn().LocalAddr().String() {
		t.Fatalf("ConnInfo = %+v", ci)
	}
	ts.stop(t) // counters are final once Serve has returned
	if ts.m.get(EventMessage) != 1 || ts.m.get(EventReply) != 1 || ts.m.get(EventConnOpened) != 1 {
		t.Fatalf("metrics = %v", ts.m.n)
	}
}

func TestMessagesInOrder(t *testing.T) {
	var inFlight, overlap atomic.Int32
	ts := start(t, Options{}, HandlerFunc(func(ctx context.Context, c *ConnInfo, msg []byte) ([]byte, error) {
		if inFlight.Add(1) > 1 {
			overlap.Add(1)
		}
		defer inFlight.Add(-1)
		return ack(ctx, c, msg)
	}))
	c := dial(t, ts.addr())
	// Pipeline ten frames in one write; the replies must come back in order.
	var all []byte
	for i := range 10 {
		all = append(all, Frame(fmt.Appendf(nil, "MSH|%d", i))...)
	}
	if _, err := c.Conn().Write(all); err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		reply, err := c.Read(ctxT(t))
		if err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf("ACK|MSH|%d", i); string(reply) != want {
			t.Fatalf("reply %d = %q, want %q", i, reply, want)
		}
	}
	if overlap.Load() != 0 {
		t.Fatal("two messages of one connection were handled at once")
	}
}

func TestTolerantFraming(t *testing.T) {
	ts := start(t, Options{}, ack)
	c := dial(t, ts.addr())
	ctx := ctxT(t)
	raw := c.Conn()
	expect := func(want string) {
		t.Helper()
		reply, err := c.Read(ctx)
		if err != nil || string(reply) != want {
			t.Fatalf("reply = %q, %v; want %q", reply, err, want)
		}
	}
	// Leading CR/LF.
	raw.Write([]byte("\r\n\r\n\x0bMSH|1\x1c\r"))
	expect("ACK|MSH|1")
	// Missing final CR: the reply must come without waiting for more bytes.
	raw.Write([]byte("\x0bMSH|2\x1c"))
	expect("ACK|MSH|2")
	// A late CR, then a frame right after an end block without CR.
	raw.Write([]byte("\r\x0bMSH|3\x1c\x0bMSH|4\x1c\r\n"))
	expect("ACK|MSH|3")
	expect("ACK|MSH|4")
	// One byte per write.
	for _, b := range Frame([]byte("MSH|5\rPID|1")) {
		if _, err := raw.Write([]byte{b}); err != nil {
			t.Fatal(err)
		}
	}
	expect("ACK|MSH|5\rPID|1")
	// An empty frame is ignored without a reply.
	raw.Write([]byte("\x0b\x1c\r\x0bMSH|6\x1c\r"))
	expect("ACK|MSH|6")

	if n := ts.m.get(EventSkippedBytes); n != 5 {
		t.Errorf("skipped bytes = %d, want 5", n)
	}
	if n := ts.m.get(EventMissingCR); n != 1 { // MSH|3 only: MSH|2's CR came late
		t.Errorf("missing CR = %d, want 1", n)
	}
	if n := ts.m.get(EventEmptyFrame); n != 1 {
		t.Errorf("empty frames = %d, want 1", n)
	}
}

func TestTruncatedFrameDropped(t *testing.T) {
	var calls atomic.Int32
	ts := start(t, Options{}, HandlerFunc(func(ctx context.Context, c *ConnInfo, msg []byte) ([]byte, error) {
		calls.Add(1)
		return ack(ctx, c, msg)
	}))
	c := dial(t, ts.addr())
	c.Conn().Write([]byte("\x0bMSH|partial"))
	c.Conn().(*net.TCPConn).CloseWrite()
	expectClosed(t, c.Conn())
	if calls.Load() != 0 || ts.m.get(EventTruncated) != 1 {
		t.Fatalf("calls = %d, truncated = %d", calls.Load(), ts.m.get(EventTruncated))
	}
}

type oversizeHandler struct{ HandlerFunc }

func (oversizeHandler) Oversize(_ context.Context, _ *ConnInfo, prefix []byte, size int) ([]byte, error) {
	msh, _, _ := bytes.Cut(prefix, []byte("\r"))
	return fmt.Appendf(nil, "AR|%d|%s", size, msh), nil
}

func TestOversize(t *testing.T) {
	ts := start(t, Options{MaxMessageBytes: 1000}, oversizeHandler{ack})
	c := dial(t, ts.addr())
	ctx := ctxT(t)
	big := "MSH|BIG\r" + strings.Repeat("OBX|x\r", 10000)
	reply, err := c.Send(ctx, []byte(big))
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("AR|%d|MSH|BIG", len(big)); string(reply) != want {
		t.Fatalf("reply = %q, want %q", reply, want)
	}
	reply, err = c.Send(ctx, []byte("MSH|small"))
	if err != nil || string(reply) != "ACK|MSH|small" {
		t.Fatalf("next reply = %q, %v", reply, err)
	}
	if ts.m.get(EventOversize) != 1 {
		t.Fatalf("oversize = %d", ts.m.get(EventOversize))
	}
}

func TestOversizeDefaultSendsNothing(t *testing.T) {
	ts := start(t, Options{MaxMessageBytes: 10}, ack)
	c := dial(t, ts.addr())
	if err := c.Write(ctxT(t), []byte("MSH|0123456789")); err != nil {
		t.Fatal(err)
	}
	reply, err := c.Send(ctxT(t), []byte("MSH|1"))
	if err != nil || string(reply) != "ACK|MSH|1" {
		t.Fatalf("reply = %q, %v", reply, err)
	}
	if ts.m.get(EventNoReply) != 1 {
		t.Fatalf("no_reply = %d", ts.m.get(EventNoReply))
	}
}

func TestConcurrentConnections(t *testing.T) {
	const conns, perConn = 50, 20
	ts := start(t, Options{}, ack)
	ctx := ctxT(t)
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	for i := range conns {
		wg.Go(func() {
			c, err := Dial(ctx, ts.addr(), nil)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			for j := range perConn {
				msg := fmt.Sprintf("MSH|%d|%d", i, j)
				reply, err := c.Send(ctx, []byte(msg))
				if err != nil {
					errs <- err
					return
				}
				if string(reply) != "ACK|"+msg {
					errs <- fmt.Errorf("reply %q to %q", reply, msg)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	ts.stop(t)
	if n := ts.m.get(EventReply); n != conns*perConn {
		t.Fatalf("replies = %d, want %d", n, conns*perConn)
	}
}

func TestIdleTimeout(t *testing.T) {
	ts := start(t, Options{IdleTimeout: 100 * time.Millisecond}, ack)
	c := dial(t, ts.addr())
	if _, err := c.Send(ctxT(t), []byte("MSH|1")); err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	expectClosed(t, c.Conn())
	if d := time.Since(began); d < 50*time.Millisecond {
		t.Fatalf("closed after %v", d)
	}
	if ts.m.get(EventIdleTimeout) != 1 {
		t.Fatalf("idle timeouts = %d", ts.m.get(EventIdleTimeout))
	}
}

func TestHandlerErrorClosesWithoutReply(t *testing.T) {
	ts := start(t, Options{}, HandlerFunc(func(context.Context, *ConnInfo, []byte) ([]byte, error) {
		return nil, errors.New("store unavailable")
	}))
	c := dial(t, ts.addr())
	_, err := c.Send(ctxT(t), []byte("MSH|1"))
	if !errors.Is(err, io.EOF) && !isReset(err) {
		t.Fatalf("Send = %v, want EOF", err)
	}
	if ts.m.get(EventHandlerError) != 1 || ts.m.get(EventReply) != 0 {
		t.Fatalf("metrics = %v", ts.m.n)
	}
}

func TestHandlerPanicContained(t *testing.T) {
	ts := start(t, Options{}, HandlerFunc(func(ctx context.Context, c *ConnInfo, msg []byte) ([]byte, error) {
		if string(msg) == "MSH|boom" {
			panic("boom")
		}
		return ack(ctx, c, msg)
	}))
	c := dial(t, ts.addr())
	if _, err := c.Send(ctxT(t), []byte("MSH|boom")); err == nil {
		t.Fatal("Send after a panic succeeded")
	}
	c2 := dial(t, ts.addr())
	reply, err := c2.Send(ctxT(t), []byte("MSH|ok"))
	if err != nil || string(reply) != "ACK|MSH|ok" {
		t.Fatalf("after the panic: %q, %v", reply, err)
	}
	if ts.m.get(EventHandlerPanic) != 1 || !strings.Contains(ts.log.String(), "panicked") {
		t.Fatalf("panic not counted or logged: %v", ts.m.n)
	}
}

func TestAlreadyFramedReplyCloses(t *testing.T) {
	ts := start(t, Options{}, HandlerFunc(func(_ context.Context, _ *ConnInfo, msg []byte) ([]byte, error) {
		return Frame(msg), nil
	}))
	c := dial(t, ts.addr())
	if _, err := c.Send(ctxT(t), []byte("MSH|1")); err == nil {
		t.Fatal("framed reply was sent")
	}
	if ts.m.get(EventBadReply) != 1 {
		t.Fatalf("bad replies = %d", ts.m.get(EventBadReply))
	}
}

func TestMaxConns(t *testing.T) {
	ts := start(t, Options{MaxConns: 1}, ack)
	c := dial(t, ts.addr())
	if _, err := c.Send(ctxT(t), []byte("MSH|1")); err != nil {
		t.Fatal(err)
	}
	c2 := dial(t, ts.addr())
	c2.Write(ctxT(t), []byte("MSH|2"))
	expectClosed(t, c2.Conn())
	if ts.m.get(EventConnRejected) != 1 {
		t.Fatalf("rejected = %d", ts.m.get(EventConnRejected))
	}
	if _, err := c.Send(ctxT(t), []byte("MSH|3")); err != nil {
		t.Fatalf("first connection after the rejection: %v", err)
	}
}

func TestShutdownDrains(t *testing.T) {
	entered := make(chan struct{}, 1)
	release := make(chan struct{})
	var calls atomic.Int32
	o := Options{Addr: "127.0.0.1:0", Logger: slog.New(slog.DiscardHandler)}
	s, err := Listen(o)
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() {
		served <- s.Serve(context.Background(), HandlerFunc(func(ctx context.Context, c *ConnInfo, msg []byte) ([]byte, error) {
			calls.Add(1)
			if string(msg) == "MSH|slow" {
				entered <- struct{}{}
				<-release
			}
			return ack(ctx, c, msg)
		}))
	}()
	ctx := ctxT(t)
	busy := dial(t, s.Addr().String())
	idle := dial(t, s.Addr().String())
	if _, err := idle.Send(ctx, []byte("MSH|warmup")); err != nil {
		t.Fatal(err)
	}
	// The slow message, and one pipelined behind it that must not be read.
	busy.Conn().Write(append(Frame([]byte("MSH|slow")), Frame([]byte("MSH|queued"))...))
	<-entered

	shut := make(chan error, 1)
	go func() { shut <- s.Shutdown(ctx) }()
	// The idle connection is closed at once; new connections are refused.
	expectClosed(t, idle.Conn())
	if c, err := net.Dial("tcp", s.Addr().String()); err == nil {
		c.Close()
		t.Fatal("dial succeeded after Shutdown")
	}
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned %v with a handler running", err)
	default:
	}
	close(release)
	reply, err := busy.Read(ctx)
	if err != nil || string(reply) != "ACK|MSH|slow" {
		t.Fatalf("in-flight reply = %q, %v", reply, err)
	}
	expectClosed(t, busy.Conn())
	if err := <-shut; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if err := <-served; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if n := calls.Load(); n != 2 {
		t.Fatalf("handler calls = %d, want 2 (the queued message must not be read)", n)
	}
	if err := s.Serve(context.Background(), ack); !errors.Is(err, ErrServerClosed) {
		t.Fatalf("Serve after Shutdown = %v", err)
	}
}

func TestShutdownForces(t *testing.T) {
	entered := make(chan struct{})
	handlerCtxDone := make(chan struct{})
	s, err := Listen(Options{Addr: "127.0.0.1:0", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() {
		served <- s.Serve(context.Background(), HandlerFunc(func(ctx context.Context, _ *ConnInfo, _ []byte) ([]byte, error) {
			close(entered)
			<-ctx.Done()
			close(handlerCtxDone)
			return nil, ctx.Err()
		}))
	}()
	c := dial(t, s.Addr().String())
	c.Write(ctxT(t), []byte("MSH|stuck"))
	<-entered
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // the deadline has passed: force at once
	if err := s.Shutdown(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Shutdown = %v, want context.Canceled", err)
	}
	<-handlerCtxDone
	if err := <-served; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	expectClosed(t, c.Conn())
}

func TestServeContextCancelStops(t *testing.T) {
	s, err := Listen(Options{Addr: "127.0.0.1:0", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, ack) }()
	c := dial(t, s.Addr().String())
	if _, err := c.Send(ctxT(t), []byte("MSH|1")); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-served; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	expectClosed(t, c.Conn())
}

func TestListenErrors(t *testing.T) {
	if _, err := Listen(Options{}); err == nil {
		t.Error("Listen without Addr succeeded")
	}
	if _, err := Listen(Options{Addr: "127.0.0.1:0", TLSConfig: &tls.Config{}}); err == nil {
		t.Error("Listen with a certificate-less TLS config succeeded")
	}
	s, err := Listen(Options{Addr: "127.0.0.1:0", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown(context.Background())
	if _, err := Listen(Options{Addr: s.Addr().String()}); err == nil {
		t.Error("Listen on a bound port succeeded")
	}
}

// pki is a throwaway CA with a server and a client certificate.
type pki struct {
	pool   *x509.CertPool
	server tls.Certificate
	client tls.Certificate
}

func newPKI(t *testing.T) *pki {
	t.Helper()
	key := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	now := time.Now()
	caKey := key()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	leaf := func(serial int64, cn string, usage x509.ExtKeyUsage) tls.Certificate {
		k := key()
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
			IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &k.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: k}
	}
	p := &pki{pool: x509.NewCertPool()}
	p.pool.AddCert(ca)
	p.server = leaf(2, "mllp.test", x509.ExtKeyUsageServerAuth)
	p.client = leaf(3, "interface-engine-1", x509.ExtKeyUsageClientAuth)
	return p
}

func TestTLS(t *testing.T) {
	p := newPKI(t)
	var info atomic.Pointer[ConnInfo]
	h := HandlerFunc(func(ctx context.Context, c *ConnInfo, msg []byte) ([]byte, error) {
		info.Store(c)
		return ack(ctx, c, msg)
	})
	ts := start(t, Options{TLSConfig: &tls.Config{Certificates: []tls.Certificate{p.server}}}, h)
	c, err := Dial(ctxT(t), ts.addr(), &tls.Config{RootCAs: p.pool})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	reply, err := c.Send(ctxT(t), []byte("MSH|tls"))
	if err != nil || string(reply) != "ACK|MSH|tls" {
		t.Fatalf("reply = %q, %v", reply, err)
	}
	if ci := info.Load(); ci.TLS == nil || !ci.TLS.HandshakeComplete || ci.PeerCertificate != nil {
		t.Fatalf("ConnInfo = %+v", ci)
	}
	// A plain-TCP client does not get through.
	raw := dial(t, ts.addr())
	raw.Conn().Write(Frame([]byte("MSH|plain")))
	expectClosed(t, raw.Conn())
	if ts.m.get(EventHandshakeFailed) != 1 {
		t.Fatalf("handshake failures = %d", ts.m.get(EventHandshakeFailed))
	}
}

func TestMutualTLS(t *testing.T) {
	p := newPKI(t)
	var info atomic.Pointer[ConnInfo]
	h := HandlerFunc(func(ctx context.Context, c *ConnInfo, msg []byte) ([]byte, error) {
		info.Store(c)
		return ack(ctx, c, msg)
	})
	ts := start(t, Options{TLSConfig: &tls.Config{
		Certificates: []tls.Certificate{p.server},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    p.pool,
	}}, h)

	c, err := Dial(ctxT(t), ts.addr(), &tls.Config{RootCAs: p.pool, Certificates: []tls.Certificate{p.client}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	reply, err := c.Send(ctxT(t), []byte("MSH|mtls"))
	if err != nil || string(reply) != "ACK|MSH|mtls" {
		t.Fatalf("reply = %q, %v", reply, err)
	}
	if ci := info.Load(); ci.PeerCertificate == nil || ci.PeerCertificate.Subject.CommonName != "interface-engine-1" {
		t.Fatalf("PeerCertificate = %+v", ci.PeerCertificate)
	}

	// Without a client certificate: TLS 1.3 reports the rejection on the
	// first read, so the send fails there.
	anon, err := Dial(ctxT(t), ts.addr(), &tls.Config{RootCAs: p.pool})
	if err == nil {
		defer anon.Close()
		_, err = anon.Send(ctxT(t), []byte("MSH|anon"))
	}
	if err == nil {
		t.Fatal("a client without certificate was served")
	}
}

func TestIdleTimeoutRestartsOnEveryByte(t *testing.T) {
	const idle = 300 * time.Millisecond
	ts := start(t, Options{IdleTimeout: idle}, ack)
	c := dial(t, ts.addr())
	// A frame trickling in over about twice the idle timeout, one byte
	// well within it each time, is still received.
	frame := Frame([]byte("MSH|trickle|0123456789"))
	for _, b := range frame {
		if _, err := c.Conn().Write([]byte{b}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(idle / 10)
	}
	reply, err := c.Read(ctxT(t))
	if err != nil || string(reply) != "ACK|MSH|trickle|0123456789" {
		t.Fatalf("reply = %q, %v", reply, err)
	}
	if ts.m.get(EventIdleTimeout) != 0 {
		t.Fatal("idle timeout fired while bytes were arriving")
	}
}

func TestClientContext(t *testing.T) {
	entered := make(chan struct{})
	release := make(chan struct{})
	ts := start(t, Options{}, HandlerFunc(func(ctx context.Context, c *ConnInfo, msg []byte) ([]byte, error) {
		close(entered)
		<-release
		return ack(ctx, c, msg)
	}))
	defer close(release)
	c := dial(t, ts.addr())
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-entered // Send is waiting for the reply
		cancel()
	}()
	if _, err := c.Send(ctx, []byte("MSH|1")); !errors.Is(err, context.Canceled) {
		t.Fatalf("Send = %v, want context.Canceled", err)
	}
	if _, err := c.Send(context.Background(), []byte("MSH|\x0b")); err == nil {
		t.Fatal("Send of a message with a start block succeeded")
	}
}

// Options.Admit refuses a connection before any byte is read (closed
// without a reply, counted, logged) and names the organisation of an
// admitted one in ConnInfo.
func TestAdmit(t *testing.T) {
	var info atomic.Pointer[ConnInfo]
	allow := atomic.Bool{}
	h := HandlerFunc(func(ctx context.Context, c *ConnInfo, msg []byte) ([]byte, error) {
		info.Store(c)
		return ack(ctx, c, msg)
	})
	ts := start(t, Options{Admit: func(c *ConnInfo) (string, error) {
		if c.Remote == nil || !allow.Load() {
			return "", errors.New("not on the list")
		}
		return "06011234", nil
	}}, h)
	refused := dial(t, ts.addr())
	refused.Conn().Write(Frame([]byte("MSH|refused")))
	expectClosed(t, refused.Conn())
	if info.Load() != nil {
		t.Fatal("the handler ran for a refused connection")
	}
	allow.Store(true)
	c := dial(t, ts.addr())
	reply, err := c.Send(ctxT(t), []byte("MSH|admitted"))
	if err != nil || string(reply) != "ACK|MSH|admitted" {
		t.Fatalf("reply = %q, %v", reply, err)
	}
	if ci := info.Load(); ci.Organization != "06011234" {
		t.Fatalf("ConnInfo.Organization = %q", ci.Organization)
	}
	ts.stop(t)
	if ts.m.get(EventConnRefused) != 1 || ts.m.get(EventConnOpened) != 1 || ts.m.get(EventMessage) != 1 {
		t.Fatalf("refused %d, opened %d, messages %d", ts.m.get(EventConnRefused), ts.m.get(EventConnOpened), ts.m.get(EventMessage))
	}
	if !strings.Contains(ts.log.String(), "mllp connection refused") || !strings.Contains(ts.log.String(), "not on the list") {
		t.Fatalf("refusal not logged:\n%s", ts.log)
	}
}
