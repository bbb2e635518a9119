package redistest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wachtwijzer/wachtwijzer/internal/logtail"
	"github.com/wachtwijzer/wachtwijzer/internal/resp"
)

// readyTimeout bounds how long a start or restart waits for PING and loading:0.
const readyTimeout = 10 * time.Second

// startAttempts is how often a start is retried when the picked port was taken
// between picking and binding.
const startAttempts = 5

// errAddrInUse marks a start that failed because a port was already bound.
var errAddrInUse = errors.New("address already in use")

// Options configures a server started by Start. The zero value gives a
// non-persistent server with maxmemory-policy noeviction.
type Options struct {
	AppendOnly      bool     // --appendonly yes
	AppendFsync     string   // "always", "everysec" or "no"; empty keeps Redis's default (everysec)
	MaxMemoryPolicy string   // default "noeviction"
	UnixSocket      bool     // also listen on <Dir>/redis.sock (see Socket)
	ExtraArgs       []string // appended to the command line, e.g. {"--maxmemory", "10mb"}
}

// Server is a redis-server child process started for tests.
type Server struct {
	Addr string // 127.0.0.1:port
	Dir  string // working directory: AOF, log, socket, nodes.conf
	Port int

	opts    Options
	cluster bool

	mu      sync.Mutex
	cmd     *exec.Cmd
	done    chan struct{}   // closed when cmd has exited
	output  *logtail.Buffer // stdout and stderr of the current process
	stopped bool
}

// Start starts a fresh private redis-server and stops it (removing its
// directory) when the test ends.
func Start(tb testing.TB, opts Options) *Server {
	tb.Helper()
	Require(tb)
	s, err := newServer(opts, false)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.stop)
	return s
}

// newServer creates a temporary directory and starts redis-server in it,
// retrying on a port race.
func newServer(opts Options, cluster bool) (*Server, error) {
	// A short base directory: unix socket paths must stay below ~100 bytes,
	// and t.TempDir's paths (which contain the test name) can be longer.
	dir, err := os.MkdirTemp("", "rt")
	if err != nil {
		return nil, fmt.Errorf("redistest: start: %w", err)
	}
	s := &Server{Dir: dir, opts: opts, cluster: cluster}
	for range startAttempts {
		port, perr := freePort(cluster)
		if perr != nil {
			err = perr
			break
		}
		s.Port = port
		s.Addr = "127.0.0.1:" + strconv.Itoa(port)
		if err = s.launch(); err == nil {
			return s, nil
		}
		if !errors.Is(err, errAddrInUse) {
			break
		}
	}
	os.RemoveAll(dir)
	return nil, err
}

func (s *Server) logPath() string { return filepath.Join(s.Dir, "redis.log") }

// Socket returns the unix socket path (<Dir>/redis.sock). The server listens
// on it only when started with Options.UnixSocket.
func (s *Server) Socket() string { return filepath.Join(s.Dir, "redis.sock") }

// URL returns the server's address as a redis:// URL.
func (s *Server) URL() string { return "redis://" + s.Addr }

func (s *Server) args() []string {
	appendOnly := "no"
	if s.opts.AppendOnly {
		appendOnly = "yes"
	}
	policy := s.opts.MaxMemoryPolicy
	if policy == "" {
		policy = "noeviction"
	}
	args := []string{
		"--port", strconv.Itoa(s.Port),
		"--bind", "127.0.0.1",
		"--save", "",
		"--dir", s.Dir,
		"--logfile", s.logPath(),
		"--daemonize", "no",
		"--appendonly", appendOnly,
		"--maxmemory-policy", policy,
	}
	if s.opts.AppendFsync != "" {
		args = append(args, "--appendfsync", s.opts.AppendFsync)
	}
	if s.opts.UnixSocket {
		args = append(args, "--unixsocket", s.Socket(), "--unixsocketperm", "700")
	}
	if s.cluster {
		args = append(args,
			"--cluster-enabled", "yes",
			"--cluster-config-file", filepath.Join(s.Dir, "nodes.conf"),
			"--cluster-node-timeout", "5000")
	}
	return append(args, s.opts.ExtraArgs...)
}

// launch starts the process on s.Port and waits until it is ready. On failure
// the process is gone and the error carries the tail of its log.
func (s *Server) launch() error {
	logOffset := logtail.FileSize(s.logPath())
	out := &logtail.Buffer{Max: 4096}
	cmd := exec.Command("redis-server", s.args()...)
	cmd.Dir = s.Dir
	cmd.Stdout = out
	cmd.Stderr = out
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("redistest: start redis-server: %w", err)
	}
	done := make(chan struct{})
	go func() {
		cmd.Wait()
		close(done)
	}()
	s.cmd, s.done, s.output = cmd, done, out

	err := waitReady(s.Addr, done, readyTimeout)
	if err == nil {
		return nil
	}
	cmd.Process.Kill()
	<-done
	tail := logtail.Of(s.logPath(), logOffset) + out.String()
	err = fmt.Errorf("redistest: redis-server on %s: %w\n--- redis.log / output tail ---\n%s", s.Addr, err, tail)
	if strings.Contains(tail, "Address already in use") {
		return fmt.Errorf("%w (%w)", err, errAddrInUse)
	}
	return err
}

// waitReady polls until the server answers PING and has loaded its data, the
// process exits, or timeout passes.
func waitReady(addr string, done <-chan struct{}, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	wait := 5 * time.Millisecond
	for {
		err := resp.Probe(ctx, "tcp", addr)
		if err == nil {
			return nil
		}
		select {
		case <-done:
			return errors.New("process exited during start-up")
		case <-ctx.Done():
			return fmt.Errorf("not ready after %s: %w", timeout, err)
		case <-time.After(wait):
		}
		wait = min(wait*2, 100*time.Millisecond)
	}
}

// Client returns a go-redis client for the server, closed when the test ends.
func (s *Server) Client(tb testing.TB) *redis.Client {
	tb.Helper()
	c := redis.NewClient(&redis.Options{Addr: s.Addr})
	tb.Cleanup(func() { c.Close() })
	return c
}

// Kill stops the server with SIGKILL, as a crash would: no AOF flush beyond
// what appendfsync already guarantees. Restart brings it back.
func (s *Server) Kill(tb testing.TB) {
	tb.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.killLocked()
}

func (s *Server) killLocked() {
	if s.cmd == nil {
		return
	}
	select {
	case <-s.done:
	default:
		s.cmd.Process.Kill()
		<-s.done
	}
}

// Restart starts the server again on the same port and directory, so an AOF
// written before a Kill is replayed; it returns once the server answers PING
// and has finished loading. A running server is first shut down gracefully
// (SIGINT, which redis-server handles like SIGTERM).
func (s *Server) Restart(tb testing.TB) {
	tb.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		tb.Fatalf("redistest: restart %s: server already stopped", s.Addr)
	}
	s.terminateLocked()
	var err error
	// The port is ours by convention only: retry briefly in case another
	// test's port picker grabbed it while the server was down.
	for range 20 {
		if err = s.launch(); err == nil || !errors.Is(err, errAddrInUse) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		tb.Fatalf("redistest: restart: %v", err)
	}
}

// terminateLocked shuts a running server down gracefully (SIGINT), falling
// back to SIGKILL after 10 s.
func (s *Server) terminateLocked() {
	if s.cmd == nil {
		return
	}
	select {
	case <-s.done:
		return
	default:
	}
	s.cmd.Process.Signal(os.Interrupt)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		s.killLocked()
	}
}

// stop kills the server and removes its directory. It is idempotent.
func (s *Server) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return
	}
	s.stopped = true
	s.killLocked()
	os.RemoveAll(s.Dir)
}

var (
	prefixMu   sync.Mutex
	prefixSeen = map[string]bool{}
)

// Prefix returns a key prefix unique within this test binary: "t" followed
// by 12 lowercase hex digits (letters and digits only, never braces, so it
// is valid wherever the gateway accepts a key prefix). Tests sharing a server
// isolate their keys by it.
func Prefix(tb testing.TB) string {
	tb.Helper()
	prefixMu.Lock()
	defer prefixMu.Unlock()
	for {
		var b [6]byte
		rand.Read(b[:])
		p := "t" + hex.EncodeToString(b[:])
		if !prefixSeen[p] {
			prefixSeen[p] = true
			return p
		}
	}
}

// Shared servers and clusters, one per test binary, stopped by RunMain.
var (
	sharedServerOnce sync.Once
	sharedServer     *Server
	sharedServerErr  error

	sharedClusterOnce sync.Once
	sharedCluster     *Cluster
	sharedClusterErr  error
)

// Shared returns the test binary's shared server (default Options), starting
// it on first use. Tests isolate their keys with Prefix. RunMain stops it.
func Shared(tb testing.TB) *Server {
	tb.Helper()
	Require(tb)
	sharedServerOnce.Do(func() {
		sharedServer, sharedServerErr = newServer(Options{}, false)
	})
	if sharedServerErr != nil {
		tb.Fatalf("redistest: shared server: %v", sharedServerErr)
	}
	return sharedServer
}

// RunMain runs the tests and then stops the shared server and cluster. Use it
// from TestMain: func TestMain(m *testing.M) { os.Exit(redistest.RunMain(m)) }.
func RunMain(m *testing.M) int {
	code := m.Run()
	if sharedServer != nil {
		sharedServer.stop()
	}
	if sharedCluster != nil {
		sharedCluster.stop()
	}
	return code
}
