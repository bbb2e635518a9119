package redisproc

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wachtwijzer/wachtwijzer/internal/redistest"
)

// shortDir returns a fresh directory with a short path (t.TempDir paths can
// exceed the unix socket limit), removed when the test ends.
func shortDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "rp")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
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

func testLogger() (*slog.Logger, *syncBuffer) {
	buf := &syncBuffer{}
	return slog.New(slog.NewTextHandler(buf, nil)), buf
}

func client(t *testing.T, i *Instance) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Network: i.Network, Addr: i.Addr, MaxRetries: -1, DialerRetries: 1})
	t.Cleanup(func() { c.Close() })
	return c
}

func start(t *testing.T, o Options) *Instance {
	t.Helper()
	if o.Logger == nil {
		o.Logger, _ = testLogger()
	}
	i, err := Start(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { i.Close(context.Background()) })
	return i
}

func TestStartPersistsAcrossRestart(t *testing.T) {
	redistest.Require(t)
	ctx := context.Background()
	dir := filepath.Join(shortDir(t), "data") // created by Start
	i := start(t, Options{DataDir: dir})
	if i.Kind != KindRedisServer || i.Network != "unix" || i.Addr != SocketPath(dir) || i.Socket != i.Addr || !i.Persistent {
		t.Fatalf("unexpected instance %+v", i)
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("data dir mode: %v, %v; want 0700", fi.Mode(), err)
	}
	if fi, err := os.Stat(i.Socket); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("socket mode: %v, %v; want 0700", fi.Mode(), err)
	}
	rdb := client(t, i)
	if err := rdb.Set(ctx, "k", "persisted", 0).Err(); err != nil {
		t.Fatal(err)
	}
	cfg, err := rdb.ConfigGet(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{"appendonly": "yes", "appendfsync": "everysec", "save": "", "maxmemory-policy": "noeviction", "protected-mode": "yes"} {
		if cfg[k] != want {
			t.Errorf("CONFIG %s = %q, want %q", k, cfg[k], want)
		}
	}
	tcp := redis.NewClient(&redis.Options{Addr: i.TCPAddr})
	defer tcp.Close()
	if err := tcp.Ping(ctx).Err(); err != nil {
		t.Fatalf("PING on TCPAddr %s: %v", i.TCPAddr, err)
	}

	if err := i.Close(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-i.Done():
	default:
		t.Fatal("Done not closed after Close")
	}
	if err := i.Close(ctx); err != nil {
		t.Fatalf("second Close: %v", err)
	}

	j := start(t, Options{DataDir: dir})
	if got, err := client(t, j).Get(ctx, "k").Result(); err != nil || got != "persisted" {
		t.Fatalf("GET after restart = %q, %v; want persisted", got, err)
	}
}

func TestSecondStartAndConnect(t *testing.T) {
	redistest.Require(t)
	ctx := context.Background()
	dir := shortDir(t)
	a := start(t, Options{DataDir: dir})

	_, err := Start(ctx, Options{DataDir: dir})
	if !errors.Is(err, ErrInUse) || !strings.Contains(err.Error(), "already runs") {
		t.Fatalf("second Start: %v; want ErrInUse saying a gateway already runs", err)
	}

	c, err := Connect(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if c.Kind != KindRedisServer || c.Network != "unix" || c.Addr != a.Addr || !c.Persistent || c.TCPAddr != a.TCPAddr {
		t.Fatalf("Connect = %+v; want the running instance %+v", c, a)
	}
	if err := client(t, c).Set(ctx, "from-import", "1", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if got, err := client(t, a).Get(ctx, "from-import").Result(); err != nil || got != "1" {
		t.Fatalf("owner no longer answers after the connected Instance's Close: %q, %v", got, err)
	}

	if err := a.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := Connect(ctx, dir); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("Connect after Close: %v; want ErrNotRunning", err)
	}
}

func TestConnectNotRunning(t *testing.T) {
	ctx := context.Background()
	dir := shortDir(t)
	if _, err := Connect(ctx, dir); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("Connect on empty dir: %v; want ErrNotRunning", err)
	}

	// A dead socket file, as a crash leaves it.
	l, err := net.Listen("unix", SocketPath(dir))
	if err != nil {
		t.Fatal(err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close()
	if _, err := os.Stat(SocketPath(dir)); err != nil {
		t.Fatal(err)
	}
	if _, err := Connect(ctx, dir); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("Connect on stale socket: %v; want ErrNotRunning", err)
	}

	redistest.Require(t)
	i := start(t, Options{DataDir: dir}) // removes the stale socket
	if err := client(t, i).Ping(ctx).Err(); err != nil {
		t.Fatal(err)
	}
}

func TestCrashRecovery(t *testing.T) {
	redistest.Require(t)
	ctx := context.Background()
	dir := shortDir(t)
	logger, logs := testLogger()
	i := start(t, Options{DataDir: dir, AppendFsync: "always", Logger: logger})
	if err := client(t, i).Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	i.proc.cmd.Process.Kill() // redis-server crashes: socket file stays behind
	select {
	case <-i.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("Done not closed after the process died")
	}
	if err := i.Close(ctx); err == nil || !strings.Contains(err.Error(), "already exited") {
		t.Fatalf("Close after crash: %v; want an error saying it had exited", err)
	}
	if !strings.Contains(logs.String(), "exited unexpectedly") {
		t.Errorf("unexpected exit not logged:\n%s", logs)
	}
	if _, err := os.Stat(SocketPath(dir)); err != nil {
		t.Fatalf("expected a stale socket after the crash: %v", err)
	}
	j := start(t, Options{DataDir: dir})
	if got, err := client(t, j).Get(ctx, "k").Result(); err != nil || got != "v" {
		t.Fatalf("GET after crash and restart = %q, %v; want v", got, err)
	}
}

func TestDataDirTooLong(t *testing.T) {
	// Any existing binary will do: the path is rejected before it runs.
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(shortDir(t), strings.Repeat("d", 120))
	_, err = Start(context.Background(), Options{DataDir: dir, Binary: self})
	if err == nil || !strings.Contains(err.Error(), "shorter --data-dir") || !strings.Contains(err.Error(), SocketPath(dir)) {
		t.Fatalf("Start with long data dir: %v; want an error naming the path and suggesting a shorter --data-dir", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("long data dir was created: %v", err)
	}
}

func TestMiniredisFallback(t *testing.T) {
	ctx := context.Background()
	missing := filepath.Join(shortDir(t), "no", "redis-server")

	_, err := Start(ctx, Options{DataDir: shortDir(t), Binary: missing})
	if !errors.Is(err, ErrNoRedisServer) {
		t.Fatalf("Start without binary: %v; want ErrNoRedisServer", err)
	}

	logger, logs := testLogger()
	i := start(t, Options{Binary: missing, AllowInProcess: true, Logger: logger})
	if i.Kind != KindMiniredis || i.Network != "tcp" || i.Persistent || !strings.HasPrefix(i.Addr, "127.0.0.1:") {
		t.Fatalf("unexpected instance %+v", i)
	}
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "NOT persisted") {
		t.Fatalf("no loud warning logged:\n%s", logs)
	}
	rdb := client(t, i)
	if err := rdb.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if got, err := rdb.Get(ctx, "k").Result(); err != nil || got != "v" {
		t.Fatalf("GET = %q, %v", got, err)
	}
	if err := i.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := rdb.Ping(ctx).Err(); err == nil {
		t.Fatal("miniredis still answers after Close")
	}
}
