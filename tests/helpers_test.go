// Package tests holds the end-to-end tests: the real wachtwijzer binary,
// started through one helper (StartGateway), against a real redis-server
// (and a real Redis Cluster), over real sockets.
package tests

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/wachtwijzer/wachtwijzer/internal/jsonpath"
	"github.com/wachtwijzer/wachtwijzer/internal/redistest"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "wwbin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "wachtwijzer")
	build := exec.Command("go", "build", "-o", binary, "../cmd/wachtwijzer")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build the binary:", err)
		os.Exit(1)
	}
	startRecording(dir)
	code := finishRecording(redistest.RunMain(m))
	os.RemoveAll(dir)
	os.Exit(code)
}

// syncBuffer collects a process's output safely.
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

// Gateway is a running wachtwijzer serve process.
type Gateway struct {
	t    testing.TB
	URL  string // http://127.0.0.1:port
	Base string // URL + "/fhir"
	// MLLPAddr is the MLLP listener's HOST:PORT (GatewayOptions.MLLP).
	MLLPAddr string
	cmd      *exec.Cmd
	Stderr   *syncBuffer
	done     chan error
	exited   bool
	clients  map[string]*testClient
}

// GatewayOptions configure StartGateway.
type GatewayOptions struct {
	// RedisURL of the Redis to use; empty uses the package's shared
	// real redis-server with a fresh key prefix.
	RedisURL string
	// Args are extra flags.
	Args []string
	// Env are extra environment variables (KEY=VALUE).
	Env []string
	// NoRedis starts without any Redis flag (for embedded/demo tests).
	NoRedis bool
	// MLLP also starts the HL7 v2 listener on a free port (MLLPAddr).
	MLLP bool
	// Prefix is the key prefix (default a fresh one per test), so that a
	// restarted gateway finds its data again.
	Prefix string
	// Auth starts with authentication on (auth_test.go): an --auth-config
	// of these clients, whose keys the test generates; Gateway.Token mints
	// real tokens through /auth/token. Without it the gateway runs with
	// --insecure-dev on 127.0.0.1.
	Auth *AuthOptions
}

var (
	listening     = regexp.MustCompile(`listening on (https?://[0-9.:\[\]a-z]+)`)
	listeningMLLP = regexp.MustCompile(`listening on mllp://([0-9.:\[\]a-z]+)`)
)

// StartGateway starts the binary on a free port and waits until it
// listens. Every end-to-end test starts gateways through here.
func StartGateway(t testing.TB, o GatewayOptions) *Gateway {
	t.Helper()
	args := []string{"serve", "--addr", "127.0.0.1:0", "--log-format", "json"}
	if !o.NoRedis {
		redistest.Require(t)
		url := o.RedisURL
		if url == "" {
			url = redistest.Shared(t).URL()
		}
		prefix := o.Prefix
		if prefix == "" {
			prefix = redistest.Prefix(t)
		}
		args = append(args, "--key-prefix", prefix, "--redis-url", url)
	}
	if o.MLLP {
		args = append(args, "--mllp-addr", "127.0.0.1:0")
	}
	var clients map[string]*testClient
	if o.Auth != nil {
		var cfgPath string
		cfgPath, clients = writeAuthConfig(t, o.Auth)
		args = append(args, "--auth-config", cfgPath)
	} else {
		args = append(args, "--insecure-dev")
	}
	args = append(args, o.Args...)
	cmd := exec.Command(binary, args...)
	cmd.Env = append(cleanEnv(), o.Env...)
	stderr := &syncBuffer{}
	pr, pw := io.Pipe()
	cmd.Stderr = io.MultiWriter(stderr, pw)
	cmd.Stdout = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	g := &Gateway{t: t, cmd: cmd, Stderr: stderr, done: make(chan error, 1), clients: clients}
	go func() {
		err := cmd.Wait()
		pw.Close()
		g.done <- err
	}()
	urlc := make(chan [2]string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		mllpAddr := ""
		for sc.Scan() {
			// The MLLP line comes first when the listener is on.
			if m := listeningMLLP.FindStringSubmatch(sc.Text()); m != nil {
				mllpAddr = m[1]
			}
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				urlc <- [2]string{m[1], mllpAddr}
				break
			}
		}
		io.Copy(io.Discard, pr)
	}()
	select {
	case u := <-urlc:
		g.URL = u[0]
		g.Base = u[0] + "/fhir"
		g.MLLPAddr = u[1]
		if o.MLLP && g.MLLPAddr == "" {
			t.Fatalf("gateway did not report its MLLP address:\n%s", stderr.String())
		}
	case err := <-g.done:
		g.exited = true
		t.Fatalf("gateway exited before listening: %v\n%s", err, stderr.String())
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("gateway did not listen within 60s:\n%s", stderr.String())
	}
	t.Cleanup(func() { g.Stop() })
	return g
}

// cleanEnv is the test's environment without WACHTWIJZER_ variables, so a
// developer's settings never change what a test runs.
func cleanEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "WACHTWIJZER_") || strings.HasPrefix(kv, "REDIS_URL=") {
			continue
		}
		out = append(out, kv)
	}
	return out
}

// Stop sends SIGTERM and waits; it returns the exit error.
func (g *Gateway) Stop() error {
	if g.exited {
		return nil
	}
	g.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-g.done:
		g.exited = true
		return err
	case <-time.After(30 * time.Second):
		g.cmd.Process.Kill()
		g.exited = true
		return fmt.Errorf("gateway did not stop on SIGTERM")
	}
}

// Kill ends the gateway with SIGKILL, as a crash would.
func (g *Gateway) Kill() {
	if g.exited {
		return
	}
	g.cmd.Process.Kill()
	<-g.done
	g.exited = true
}

// Signal sends a signal to the gateway (SIGHUP reloads the HL7 senders).
func (g *Gateway) Signal(sig os.Signal) error { return g.cmd.Process.Signal(sig) }

// Resp is an HTTP response with its body read.
type Resp struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body (numbers as json.Number).
func (r *Resp) JSON(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	d := json.NewDecoder(bytes.NewReader(r.Body))
	d.UseNumber()
	if err := d.Decode(&m); err != nil {
		t.Fatalf("body is not JSON (%v): %s", err, r.Body)
	}
	return m
}

var client = &http.Client{Timeout: 30 * time.Second}

// Do sends a request; body may be nil, []byte, string or any value to
// marshal. Headers are given as "Name: value".
func (g *Gateway) Do(t testing.TB, method, path string, body any, headers ...string) *Resp {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case string:
		rd = strings.NewReader(b)
	default:
		enc, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(enc)
	}
	u := path
	if !strings.HasPrefix(path, "http") {
		u = g.URL + path
	}
	req, err := http.NewRequestWithContext(context.Background(), method, u, rd)
	if err != nil {
		t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/fhir+json")
	}
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ":")
		req.Header.Set(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	record(t, method, path, resp.StatusCode, resp.Header.Get("Content-Type"), b)
	return &Resp{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// expect fails unless the response has the status.
func expect(t testing.TB, r *Resp, status int) *Resp {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d: %s", r.Status, status, r.Body)
	}
	return r
}

// outcome checks an OperationOutcome: status, issue code, and that the
// diagnostics mention every word in mentions.
func outcome(t testing.TB, r *Resp, status int, code string, mentions ...string) {
	t.Helper()
	expect(t, r, status)
	m := r.JSON(t)
	if m["resourceType"] != "OperationOutcome" {
		t.Fatalf("want an OperationOutcome, got %s", r.Body)
	}
	issues, _ := m["issue"].([]any)
	if len(issues) == 0 {
		t.Fatalf("OperationOutcome without issues: %s", r.Body)
	}
	iss := issues[0].(map[string]any)
	if code != "" && iss["code"] != code {
		t.Fatalf("issue code %v, want %s: %s", iss["code"], code, r.Body)
	}
	for _, w := range mentions {
		if !strings.Contains(string(r.Body), w) {
			t.Fatalf("OperationOutcome does not mention %q: %s", w, r.Body)
		}
	}
	if strings.Contains(string(r.Body), "goroutine") || strings.Contains(string(r.Body), ".go:") {
		t.Fatalf("a stack trace leaked to the client: %s", r.Body)
	}
}

func path(v any, keys ...any) any { return jsonpath.Get(v, keys...) }

func str(v any) string {
	s, _ := v.(string)
	return s
}
