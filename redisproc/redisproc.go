package redisproc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/alicebob/miniredis/v2"

	"github.com/wachtwijzer/wachtwijzer/internal/logtail"
	"github.com/wachtwijzer/wachtwijzer/internal/resp"
)

// Kind says which Redis an Instance is.
type Kind string

// Kinds of Instance.
const (
	KindRedisServer Kind = "redis-server" // a redis-server process (ours or, via Connect, a running gateway's)
	KindMiniredis   Kind = "miniredis"    // in-process emulation: demo only, not persisted
)

// Defaults.
const (
	DefaultAppendFsync  = "everysec"
	DefaultStartTimeout = 60 * time.Second // AOF replay of a large data set takes time
	defaultCloseTimeout = 30 * time.Second // used when Close's ctx has no deadline
	startAttempts       = 3                // retries when the picked TCP port is taken meanwhile
)

// MaxSocketPath is the longest unix socket path accepted, in bytes: macOS and
// the BSDs have a 104-byte sun_path that includes the terminating NUL, and
// redis-server silently truncates longer paths.
const MaxSocketPath = 103

var (
	// ErrNotRunning is returned by Connect when no redis-server answers on the
	// data dir's socket.
	ErrNotRunning = errors.New("redisproc: no embedded redis-server is running on this data dir")

	// ErrInUse is returned by Start when another process owns the data dir.
	ErrInUse = errors.New("redisproc: data dir in use")

	// ErrNoRedisServer is returned by Start when no redis-server binary is
	// found and the in-process fallback is not allowed.
	ErrNoRedisServer = errors.New("redisproc: redis-server not found")

	errAddrInUse = errors.New("address already in use")
	errLoading   = errors.New("redis-server is still loading its AOF")
)

// Options configures Start.
type Options struct {
	DataDir        string        // required for redis-server; created 0700 if missing
	Binary         string        // default: exec.LookPath("redis-server")
	AppendFsync    string        // "always", "everysec" (default) or "no"
	AllowInProcess bool          // permit the miniredis fallback when no binary is found
	StartTimeout   time.Duration // wait for PING and loading:0; default 60 s
	Logger         *slog.Logger  // default slog.Default()
}

// Instance is a running Redis the gateway can use: Network and Addr go into
// go-redis's Options as they are.
type Instance struct {
	Kind       Kind
	Addr       string // go-redis Options.Addr: the socket path for redis-server, host:port for miniredis
	Network    string // go-redis Options.Network: "unix" or "tcp"
	Persistent bool   // data survives a restart (AOF)
	Socket     string // unix socket path (redis-server only)
	TCPAddr    string // 127.0.0.1:port, for redis-cli and debugging
	DataDir    string // absolute data dir (redis-server only)

	owned  bool // Close stops it
	proc   *process
	lock   *os.File
	mini   *miniredis.Miniredis
	logger *slog.Logger

	closeOnce sync.Once
	closeErr  error
}

// process is a started redis-server child.
type process struct {
	cmd       *exec.Cmd
	done      chan struct{}   // closed after Wait returned
	err       error           // Wait's result, valid after done
	out       *logtail.Buffer // stdout+stderr (errors before the log file opens)
	logPath   string
	logOffset int64 // log size before this start, so tails show only this run

	ready    atomic.Bool // start-up succeeded
	stopping atomic.Bool // we are stopping it: its exit is expected
}

func (p *process) tail() string {
	return logtail.Of(p.logPath, p.logOffset) + p.out.String()
}

// SocketPath returns the unix socket of the embedded Redis for dataDir.
func SocketPath(dataDir string) string { return filepath.Join(dataDir, "redis.sock") }

func lockPath(dataDir string) string { return filepath.Join(dataDir, "redis.lock") }

// Start starts the embedded Redis: a redis-server child on Options.DataDir,
// or, when no binary is found and AllowInProcess is set, an in-process
// miniredis. ctx bounds the start-up only, not the life of the Instance.
func Start(ctx context.Context, o Options) (*Instance, error) {
	logger := o.Logger
	if logger == nil {
		logger = slog.Default()
	}
	bin, lookErr := findBinary(o.Binary)
	if lookErr != nil {
		if !o.AllowInProcess {
			return nil, fmt.Errorf("redisproc: start: %w (%v); install redis-server (7.0 or later) or configure an external Redis", ErrNoRedisServer, lookErr)
		}
		return startMiniredis(logger, lookErr)
	}
	return startServer(ctx, o, bin, logger)
}

func findBinary(name string) (string, error) {
	if name == "" {
		name = "redis-server"
	}
	path, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("binary %q not found: %w", name, err)
	}
	return path, nil
}

func startMiniredis(logger *slog.Logger, reason error) (*Instance, error) {
	m := miniredis.NewMiniRedis()
	if err := m.Start(); err != nil {
		return nil, fmt.Errorf("redisproc: start in-process miniredis: %w", err)
	}
	logger.Warn("redisproc: running an IN-PROCESS Redis (miniredis): data is NOT persisted and it does not scale past a demo; install redis-server for a real default",
		"reason", reason.Error(), "addr", m.Addr())
	return &Instance{
		Kind:    KindMiniredis,
		Addr:    m.Addr(),
		Network: "tcp",
		TCPAddr: m.Addr(),
		owned:   true,
		mini:    m,
		logger:  logger,
	}, nil
}

func startServer(ctx context.Context, o Options, bin string, logger *slog.Logger) (*Instance, error) {
	if o.DataDir == "" {
		return nil, errors.New("redisproc: start: a data dir is required for redis-server")
	}
	dir, err := filepath.Abs(o.DataDir)
	if err != nil {
		return nil, fmt.Errorf("redisproc: start: data dir: %w", err)
	}
	sock := SocketPath(dir)
	if len(sock) > MaxSocketPath {
		return nil, fmt.Errorf("redisproc: start: unix socket path %s is %d bytes, longer than the %d bytes a unix socket path may have; choose a shorter --data-dir",
			sock, len(sock), MaxSocketPath)
	}
	fsync := o.AppendFsync
	if fsync == "" {
		fsync = DefaultAppendFsync
	}
	switch fsync {
	case "always", "everysec", "no":
	default:
		return nil, fmt.Errorf("redisproc: start: appendfsync %q: want always, everysec or no", fsync)
	}
	timeout := o.StartTimeout
	if timeout <= 0 {
		timeout = DefaultStartTimeout
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("redisproc: start: create data dir: %w", err)
	}

	lock, err := lockFile(lockPath(dir))
	if errors.Is(err, errLocked) {
		if alive(ctx, sock) {
			return nil, fmt.Errorf("redisproc: start: %w: a gateway already runs on data dir %s (its Redis answers on %s); stop it first, or let other commands use it (they connect through the socket)",
				ErrInUse, dir, sock)
		}
		return nil, fmt.Errorf("redisproc: start: %w: data dir %s is locked by another process%s, whose Redis does not answer on %s (it may be starting or stopping)",
			ErrInUse, dir, lockHolder(dir), sock)
	}
	if err != nil {
		return nil, fmt.Errorf("redisproc: start: lock data dir: %w", err)
	}
	ok := false
	defer func() {
		if !ok {
			unlockFile(lock)
		}
	}()
	if err := lock.Truncate(0); err == nil {
		lock.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}

	if fi, err := os.Lstat(sock); err == nil {
		if fi.Mode()&fs.ModeSocket == 0 {
			return nil, fmt.Errorf("redisproc: start: %s exists and is not a socket; move it away", sock)
		}
		if alive(ctx, sock) {
			return nil, fmt.Errorf("redisproc: start: %w: a redis-server answers on %s but no gateway holds %s; stop that orphan (redis-cli -s %s shutdown) and start again",
				ErrInUse, sock, lockPath(dir), sock)
		}
		if err := os.Remove(sock); err != nil {
			return nil, fmt.Errorf("redisproc: start: remove stale socket: %w", err)
		}
		logger.Info("redisproc: removed stale socket left by a previous run", "socket", sock)
	}

	began := time.Now()
	var p *process
	var port int
	for attempt := 1; ; attempt++ {
		port, err = freePort()
		if err != nil {
			return nil, fmt.Errorf("redisproc: start: %w", err)
		}
		p, err = launch(ctx, bin, dir, port, fsync, timeout, logger)
		if err == nil {
			break
		}
		if !errors.Is(err, errAddrInUse) || attempt == startAttempts {
			return nil, err
		}
	}
	ok = true
	inst := &Instance{
		Kind:       KindRedisServer,
		Addr:       sock,
		Network:    "unix",
		Persistent: true,
		Socket:     sock,
		TCPAddr:    "127.0.0.1:" + strconv.Itoa(port),
		DataDir:    dir,
		owned:      true,
		proc:       p,
		lock:       lock,
		logger:     logger,
	}
	logger.Info("redisproc: embedded redis-server started", "pid", p.cmd.Process.Pid, "socket", sock, "tcp", inst.TCPAddr,
		"data_dir", dir, "appendfsync", fsync, "took", time.Since(began).Round(time.Millisecond))
	return inst, nil
}

// launch starts redis-server and waits until it is ready; on failure the
// process is gone and the error carries the log tail.
func launch(ctx context.Context, bin, dir string, port int, fsync string, timeout time.Duration, logger *slog.Logger) (*process, error) {
	p := &process{
		done:    make(chan struct{}),
		out:     &logtail.Buffer{Max: 4096},
		logPath: filepath.Join(dir, "redis.log"),
	}
	p.logOffset = logtail.FileSize(p.logPath)
	p.cmd = exec.Command(bin,
		"--port", strconv.Itoa(port),
		"--bind", "127.0.0.1",
		"--unixsocket", SocketPath(dir),
		"--unixsocketperm", "700",
		"--dir", dir,
		"--appendonly", "yes",
		"--appendfsync", fsync,
		"--save", "",
		"--maxmemory-policy", "noeviction",
		"--logfile", p.logPath,
		"--daemonize", "no",
		"--protected-mode", "yes",
	)
	p.cmd.Dir = dir
	p.cmd.Stdout = p.out
	p.cmd.Stderr = p.out
	p.cmd.SysProcAttr = sysProcAttr()
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("redisproc: start %s: %w", bin, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		if p.ready.Load() && !p.stopping.Load() {
			logger.Error("redisproc: embedded redis-server exited unexpectedly", "pid", p.cmd.Process.Pid, "err", p.err, "log_tail", lastLines(p.tail(), 10))
		}
		close(p.done)
	}()

	err := waitReady(ctx, SocketPath(dir), p.done, timeout)
	if err == nil {
		p.ready.Store(true)
		return p, nil
	}
	p.stopping.Store(true)
	p.cmd.Process.Kill()
	<-p.done
	tail := p.tail()
	err = fmt.Errorf("redisproc: start redis-server on %s: %w\n--- redis.log tail ---\n%s", dir, err, tail)
	if strings.Contains(tail, "Address already in use") {
		err = fmt.Errorf("%w (%w)", err, errAddrInUse)
	}
	return nil, err
}

// waitReady polls the socket until PING answers and INFO persistence shows
// loading:0, the process exits, ctx ends, or timeout passes.
func waitReady(ctx context.Context, sock string, done <-chan struct{}, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	wait := 5 * time.Millisecond
	for {
		err := ready(ctx, sock)
		if err == nil {
			return nil
		}
		select {
		case <-done:
			return errors.New("redis-server exited during start-up")
		case <-ctx.Done():
			return fmt.Errorf("not ready (%w): %w", ctx.Err(), err)
		case <-time.After(wait):
		}
		wait = min(wait*2, 200*time.Millisecond)
	}
}

// ready reports nil when the server answers PING and has loaded its data.
func ready(ctx context.Context, sock string) error {
	c, err := resp.Dial(ctx, "unix", sock, 2*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := c.Do("PING"); err != nil {
		var re resp.Error
		if errors.As(err, &re) && strings.HasPrefix(string(re), "LOADING") {
			return fmt.Errorf("%w: %w", errLoading, err)
		}
		return err
	}
	v, err := c.Do("INFO", "persistence")
	if err != nil {
		return err
	}
	info, _ := v.(string)
	if loading, _ := resp.InfoField(info, "loading"); loading != "0" {
		return fmt.Errorf("%w (loading:%s)", errLoading, loading)
	}
	return nil
}

// alive reports whether anything speaking RESP answers on sock, even with an
// error such as LOADING.
func alive(ctx context.Context, sock string) bool {
	c, err := resp.Dial(ctx, "unix", sock, time.Second)
	if err != nil {
		return false
	}
	defer c.Close()
	_, err = c.Do("PING")
	var re resp.Error
	return err == nil || errors.As(err, &re)
}

// lockHolder describes the pid recorded in the lock file, if any.
func lockHolder(dir string) string {
	b, err := os.ReadFile(lockPath(dir))
	if pid := strings.TrimSpace(string(b)); err == nil && pid != "" {
		return " (pid " + pid + ")"
	}
	return ""
}

// Done returns a channel closed when the redis-server this Instance started
// exits, whether through Close or unexpectedly. For miniredis and for
// Instances from Connect it returns nil (a channel that never closes).
func (i *Instance) Done() <-chan struct{} {
	if i.proc == nil {
		return nil
	}
	return i.proc.done
}

// Close stops what Start started. For redis-server it sends SHUTDOWN (the AOF
// is fsynced and kept), waits for the process to exit and releases the data
// dir; if ctx ends first (after 30 s when ctx has no deadline) the process is
// killed. For miniredis it closes the server; data is gone. Instances from
// Connect are not owned: Close does nothing. Close is idempotent.
func (i *Instance) Close(ctx context.Context) error {
	if !i.owned {
		return nil
	}
	i.closeOnce.Do(func() {
		if i.mini != nil {
			i.mini.Close()
			return
		}
		i.closeErr = i.stopServer(ctx)
	})
	return i.closeErr
}

func (i *Instance) stopServer(ctx context.Context) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, defaultCloseTimeout)
		defer cancel()
	}
	p := i.proc
	p.stopping.Store(true)
	var errs []error
	select {
	case <-p.done:
		errs = append(errs, fmt.Errorf("redisproc: close: redis-server had already exited: %v", p.err))
	default:
		if err := shutdown(ctx, i.Socket); err != nil {
			errs = append(errs, fmt.Errorf("redisproc: close: %w\n--- redis.log tail ---\n%s", err, lastLines(p.tail(), 10)))
			p.cmd.Process.Signal(syscall.SIGTERM)
		}
		select {
		case <-p.done:
			if p.err != nil && len(errs) == 0 {
				errs = append(errs, fmt.Errorf("redisproc: close: redis-server exited: %w", p.err))
			}
		case <-ctx.Done():
			p.cmd.Process.Kill()
			<-p.done
			errs = append(errs, fmt.Errorf("redisproc: close: redis-server did not exit in time (%w): killed; writes of the last second may be missing from the AOF", ctx.Err()))
		}
	}
	// Only now, with the process gone, may another gateway take the dir.
	if err := unlockFile(i.lock); err != nil {
		errs = append(errs, fmt.Errorf("redisproc: close: unlock data dir: %w", err))
	}
	if len(errs) == 0 {
		i.logger.Info("redisproc: embedded redis-server stopped", "data_dir", i.DataDir)
	}
	return errors.Join(errs...)
}

// shutdown sends SHUTDOWN. Success shows as the server closing the
// connection; an error reply means Redis refused (e.g. it cannot write the AOF).
func shutdown(ctx context.Context, sock string) error {
	c, err := resp.Dial(ctx, "unix", sock, 10*time.Second)
	if err != nil {
		return fmt.Errorf("SHUTDOWN: %w", err)
	}
	defer c.Close()
	_, err = c.Do("SHUTDOWN")
	var re resp.Error
	if errors.As(err, &re) {
		return fmt.Errorf("SHUTDOWN refused: %w", err)
	}
	return nil
}

// Connect finds the embedded redis-server of a gateway running on dataDir,
// for subcommands (import, reindex, …) that share its data dir. It returns an
// Instance that Close leaves running, or an error wrapping ErrNotRunning when
// the socket is missing or nothing answers on it. If the server is still
// loading its AOF, Connect waits until it has loaded or ctx ends (after 60 s
// when ctx has no deadline).
func Connect(ctx context.Context, dataDir string) (*Instance, error) {
	if dataDir == "" {
		return nil, errors.New("redisproc: connect: a data dir is required")
	}
	dir, err := filepath.Abs(dataDir)
	if err != nil {
		return nil, fmt.Errorf("redisproc: connect: data dir: %w", err)
	}
	sock := SocketPath(dir)
	if len(sock) > MaxSocketPath {
		return nil, fmt.Errorf("redisproc: connect: unix socket path %s is longer than %d bytes: %w", sock, MaxSocketPath, ErrNotRunning)
	}
	if _, err := os.Stat(sock); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("redisproc: connect: no socket at %s: %w", sock, ErrNotRunning)
	} else if err != nil {
		return nil, fmt.Errorf("redisproc: connect: %w", err)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultStartTimeout)
		defer cancel()
	}
	wait := 10 * time.Millisecond
	for {
		err := ready(ctx, sock)
		if err == nil {
			break
		}
		if errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ENOENT) ||
			errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) {
			return nil, fmt.Errorf("redisproc: connect: nothing answers on %s (stale socket): %w", sock, ErrNotRunning)
		}
		if !errors.Is(err, errLoading) {
			return nil, fmt.Errorf("redisproc: connect %s: %w", sock, err)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("redisproc: connect %s: %w (last: %w)", sock, ctx.Err(), err)
		case <-time.After(wait):
		}
		wait = min(wait*2, 200*time.Millisecond)
	}
	inst := &Instance{Kind: KindRedisServer, Addr: sock, Network: "unix", Socket: sock, DataDir: dir}
	if c, err := resp.Dial(ctx, "unix", sock, 2*time.Second); err == nil {
		if v, err := c.Do("INFO", "persistence"); err == nil {
			info, _ := v.(string)
			aof, _ := resp.InfoField(info, "aof_enabled")
			inst.Persistent = aof == "1"
		}
		if v, err := c.Do("CONFIG", "GET", "port"); err == nil {
			if kv, ok := v.([]any); ok && len(kv) == 2 {
				if port, _ := kv[1].(string); port != "" && port != "0" {
					inst.TCPAddr = "127.0.0.1:" + port
				}
			}
		}
		c.Close()
	}
	return inst, nil
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pick free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// lastLines returns the last n lines of s.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
