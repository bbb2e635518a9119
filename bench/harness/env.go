package main

import (
	"bufio"
	"context"
	"crypto"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

// env is the running benchmark environment.
type env struct {
	c      config
	bin    string
	redis  []*proc // one redis-server, or the cluster's nodes
	addrs  []string
	gw     *proc
	gwURL  string
	world  string
	sample *sample
	procs  []*proc
	// debugAddr serves the gateway's pprof endpoints (with --profile).
	debugAddr string
	// token is the bearer token every request carries (--auth).
	token string
}

type proc struct {
	cmd *exec.Cmd
	log string
	dir string // a data directory removed once the process is stopped
}

func (p *proc) stop() {
	if p == nil || p.cmd.Process == nil {
		return
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		p.cmd.Process.Kill()
	}
}

func setup(ctx context.Context, c config) (*env, error) {
	e := &env{c: c, world: filepath.Join(c.out, fmt.Sprintf("world-%d-%d", c.appointments, c.seed))}
	e.bin = filepath.Join(c.out, "wachtwijzer")
	logf("building the gateway")
	build := exec.CommandContext(ctx, "go", "build", "-o", e.bin, "./cmd/wachtwijzer")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return nil, fmt.Errorf("build: %w", err)
	}
	if c.cluster {
		return e, e.startCluster(ctx)
	}
	port, err := freePort(false)
	if err != nil {
		return nil, err
	}
	p, err := e.startRedis(ctx, port, nil)
	if err != nil {
		return nil, err
	}
	e.redis = []*proc{p}
	e.addrs = []string{fmt.Sprintf("127.0.0.1:%d", port)}
	return e, nil
}

func (e *env) close() {
	e.gw.stop()
	for _, p := range e.procs {
		p.stop()
	}
	for _, r := range e.redis {
		r.stop()
		if r != nil && r.dir != "" {
			os.RemoveAll(r.dir) // its AOF is as big as the world
		}
	}
}

func freePort(cluster bool) (int, error) {
	for i := 0; i < 50; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		p := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if !cluster {
			return p, nil
		}
		if p+10000 > 65535 {
			continue
		}
		if l2, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p+10000)); err == nil {
			l2.Close()
			return p, nil
		}
	}
	return 0, fmt.Errorf("no free port")
}

// startRedis runs a redis-server with AOF everysec (as a production
// deployment would) in its own directory.
func (e *env) startRedis(ctx context.Context, port int, extra []string) (*proc, error) {
	dir := filepath.Join(e.c.out, fmt.Sprintf("redis-%d", port))
	os.RemoveAll(dir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	args := []string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "",
		"--appendonly", "yes", "--appendfsync", "everysec", "--maxmemory-policy", "noeviction",
		"--logfile", filepath.Join(dir, "redis.log"), "--daemonize", "no"}
	args = append(args, extra...)
	cmd := exec.Command("redis-server", args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("redis-server: %w", err)
	}
	c := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", port)})
	defer c.Close()
	for i := 0; i < 100; i++ {
		if c.Ping(ctx).Err() == nil {
			return &proc{cmd: cmd, log: filepath.Join(dir, "redis.log"), dir: dir}, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return nil, fmt.Errorf("redis-server on %d did not start", port)
}

func (e *env) startCluster(ctx context.Context) error {
	for i := 0; i < 3; i++ {
		port, err := freePort(true)
		if err != nil {
			return err
		}
		p, err := e.startRedis(ctx, port, []string{"--cluster-enabled", "yes", "--cluster-config-file", fmt.Sprintf("nodes-%d.conf", port)})
		if err != nil {
			return err
		}
		e.redis = append(e.redis, p)
		e.addrs = append(e.addrs, fmt.Sprintf("127.0.0.1:%d", port))
	}
	args := append([]string{"--cluster", "create"}, e.addrs...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	out, err := exec.CommandContext(ctx, "redis-cli", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("cluster create: %v: %s", err, out)
	}
	for i := 0; i < 100; i++ {
		ok := true
		for _, a := range e.addrs {
			info, _ := exec.CommandContext(ctx, "redis-cli", "-h", "127.0.0.1", "-p", strings.Split(a, ":")[1], "cluster", "info").Output()
			if !strings.Contains(string(info), "cluster_state:ok") {
				ok = false
			}
		}
		if ok {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("cluster did not become ok")
}

// redisFlags are the gateway's flags for the benchmark's Redis.
func (e *env) redisFlags() []string {
	if e.c.cluster {
		return []string{"--redis-cluster", strings.Join(e.addrs, ",")}
	}
	return []string{"--redis-url", "redis://" + e.addrs[0]}
}

// clients returns a client per node (for INFO and memory scans).
func (e *env) clients() []*redis.Client {
	var cs []*redis.Client
	for _, a := range e.addrs {
		cs = append(cs, redis.NewClient(&redis.Options{Addr: a}))
	}
	return cs
}

var listenRE = regexp.MustCompile(`listening on (http://[0-9.:]+)`)

func (e *env) startGateway(ctx context.Context) error {
	log := filepath.Join(e.c.out, "gateway.log")
	f, err := os.Create(log)
	if err != nil {
		return err
	}
	args := append([]string{"serve", "--addr", "127.0.0.1:0", "--log-format", "json"}, e.redisFlags()...)
	var benchKey crypto.Signer
	if e.c.auth {
		cfgFile, key, err := writeBenchAuth(e.c.out)
		if err != nil {
			return err
		}
		benchKey = key
		args = append(args, "--auth-config", cfgFile)
	} else {
		args = append(args, "--insecure-dev")
	}
	if e.c.profile {
		port, err := freePort(false)
		if err != nil {
			return err
		}
		e.debugAddr = fmt.Sprintf("127.0.0.1:%d", port)
		args = append(args, "--debug-addr", e.debugAddr)
	}
	args = append(args, e.c.serveArgs...)
	cmd := exec.Command(e.bin, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	pr, pw, _ := os.Pipe()
	cmd.Stderr = pw
	cmd.Stdout = f
	if err := cmd.Start(); err != nil {
		return err
	}
	pw.Close()
	urlc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		sent := false
		for sc.Scan() {
			line := sc.Text()
			f.WriteString(line + "\n")
			if m := listenRE.FindStringSubmatch(line); m != nil && !sent {
				urlc <- m[1]
				sent = true
			}
		}
	}()
	select {
	case u := <-urlc:
		e.gwURL = u
		e.gw = &proc{cmd: cmd, log: log}
		if benchKey != nil {
			if e.token, err = benchToken(ctx, u, benchKey); err != nil {
				return err
			}
			logf("authentication on: every request carries a bearer token of client bench-admin")
		}
		logf("gateway at %s (GOMAXPROCS %d on %d CPUs)", u, runtime.GOMAXPROCS(0), runtime.NumCPU())
		return nil
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		return fmt.Errorf("gateway did not start; see %s", log)
	}
}

// machine describes the machine for the report.
func machine() map[string]any {
	m := map[string]any{"cpus": runtime.NumCPU(), "go": runtime.Version()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "model name") {
				m["cpu"] = strings.TrimSpace(strings.SplitN(l, ":", 2)[1])
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "MemTotal") {
				m["memory"] = strings.TrimSpace(strings.SplitN(l, ":", 2)[1])
			}
		}
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		m["loadavg_at_start"] = strings.Join(strings.Fields(string(b))[:3], " ")
	}
	if out, err := exec.Command("redis-server", "--version").Output(); err == nil {
		m["redis"] = strings.TrimSpace(string(out))
	}
	return m
}
