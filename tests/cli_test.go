package tests

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wachtwijzer/wachtwijzer/internal/redistest"
)

// run runs the binary to completion and returns its exit code and output.
func run(t *testing.T, env []string, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = append(cleanEnv(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), out.String()
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0, out.String()
}

func TestHelpListsFlagsVariablesAndDefaults(t *testing.T) {
	code, out := run(t, nil, "serve", "--help")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{"--addr", "WACHTWIJZER_ADDR", "127.0.0.1:8080", "--redis-url", "WACHTWIJZER_REDIS_URL", "REDIS_URL", "--redis-cluster", "WACHTWIJZER_REDIS_CLUSTER",
		"--redis-username", "--redis-password", "--redis-tls", "--key-prefix", "default ww", "--data-dir", "--demo", "--log-format", "--shutdown-timeout", "WACHTWIJZER_SHUTDOWN_TIMEOUT",
		"--mllp-addr", "WACHTWIJZER_MLLP_ADDR", "--mllp-tls-cert", "--mllp-tls-key", "--mllp-client-ca", "--mllp-max-bytes", "--mllp-idle-timeout", "--hl7-senders", "--hl7-dedup-ttl", "WACHTWIJZER_HL7_DEDUP_TTL", "default 168h0m0s"} {
		if !strings.Contains(out, want) {
			t.Errorf("serve --help lacks %q", want)
		}
	}
	code, out = run(t, nil)
	if code != 2 || !strings.Contains(out, "serve") {
		t.Fatalf("no command: exit %d: %s", code, out)
	}
}

func TestUsageErrorsExit2(t *testing.T) {
	cases := []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"URL and cluster together", nil, []string{"serve", "--redis-url", "redis://127.0.0.1:1", "--redis-cluster", "127.0.0.1:2"}, "exclude each other"},
		{"URL from env and cluster from flag", []string{"REDIS_URL=redis://127.0.0.1:1"}, []string{"serve", "--redis-cluster", "127.0.0.1:2"}, "exclude each other"},
		{"no Redis and no --demo", nil, []string{"serve", "--data-dir", "/tmp/ww-none-" + redistest.Prefix(t)}, "no Redis configured"},
		{"unknown flag", nil, []string{"serve", "--bogus"}, "bogus"},
		{"bad env value", []string{"WACHTWIJZER_SHUTDOWN_TIMEOUT=soon"}, []string{"serve"}, "WACHTWIJZER_SHUTDOWN_TIMEOUT"},
		{"unknown command", nil, []string{"frobnicate"}, "unknown command"},
		{"braces in the key prefix", nil, []string{"serve", "--redis-url", "redis://127.0.0.1:1", "--key-prefix", "w{x}"}, "--key-prefix"},
		{"import with no Redis and no redis-server", []string{"PATH=/nonexistent"}, []string{"import", "--data-dir", "/tmp/ww-none-" + redistest.Prefix(t), "/dev/null"}, "throwaway in-process Redis"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out := run(t, c.env, c.args...)
			if code != 2 || !strings.Contains(out, c.want) {
				t.Fatalf("exit %d, want 2 mentioning %q: %s", code, c.want, out)
			}
		})
	}
}

func TestEnvironmentAndFlagPrecedence(t *testing.T) {
	redistest.Require(t)
	srv := redistest.Shared(t)
	// The URL from REDIS_URL (alias), the prefix from the environment, and
	// --addr from the flag overriding WACHTWIJZER_ADDR.
	g := StartGateway(t, GatewayOptions{NoRedis: true, Env: []string{"REDIS_URL=" + srv.URL(), "WACHTWIJZER_KEY_PREFIX=envprefix" + redistest.Prefix(t), "WACHTWIJZER_ADDR=127.0.0.1:1"}})
	if strings.HasSuffix(g.URL, ":1") {
		t.Fatal("WACHTWIJZER_ADDR beat the --addr flag")
	}
	expect(t, g.Do(t, "PUT", "/fhir/Patient/env1", patientJSON("env1", "999911120", "E")), 201)
	keys, err := srv.Client(t).Keys(context.Background(), "envprefix*").Result()
	if err != nil || len(keys) == 0 {
		t.Fatalf("WACHTWIJZER_KEY_PREFIX was not used: %v %v", keys, err)
	}
}

func TestSIGTERMExitsCleanlyAndHealthcheck(t *testing.T) {
	g := StartGateway(t, GatewayOptions{})
	addr := strings.TrimPrefix(g.URL, "http://")
	if code, out := run(t, nil, "healthcheck", "--addr", addr); code != 0 || !strings.Contains(out, "ready") {
		t.Fatalf("healthcheck of a running gateway: exit %d %s", code, out)
	}
	if err := g.Stop(); err != nil {
		t.Fatalf("SIGTERM: %v\n%s", err, g.Stderr.String())
	}
	if !strings.Contains(g.Stderr.String(), "stopped") {
		t.Fatalf("no clean shutdown logged: %s", g.Stderr.String())
	}
	if code, _ := run(t, nil, "healthcheck", "--addr", addr, "--timeout", "1s"); code != 1 {
		t.Fatalf("healthcheck of a stopped gateway: exit %d, want 1", code)
	}
}

// The default run: --demo without a Redis starts a private redis-server
// under --data-dir, loads the demo data, and a restart finds it again
// without writing anything twice.
func TestDemoOnTheEmbeddedRedisServer(t *testing.T) {
	redistest.Require(t)
	dir, err := os.MkdirTemp("", "wwdemo")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	args := []string{"--demo", "--data-dir", dir, "--embedded-appendfsync", "always"}
	g := StartGateway(t, GatewayOptions{NoRedis: true, Args: args})
	if !strings.Contains(g.Stderr.String(), "embedded redis-server") {
		t.Fatalf("the embedded redis-server was not announced: %s", g.Stderr.String())
	}
	p := expect(t, g.Do(t, "GET", "/fhir/Patient/demo-pat-01", nil), 200)
	if p.Header.Get("ETag") != `W/"1"` {
		t.Fatalf("demo patient version %s", p.Header.Get("ETag"))
	}
	expect(t, g.Do(t, "GET", "/fhir/ServiceRequest/demo-sr-0001", nil), 200)
	expect(t, g.Do(t, "PUT", "/fhir/Patient/mine", patientJSON("mine", "999911120", "Blijft")), 201)
	if err := g.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "appendonlydir")); err != nil {
		t.Fatalf("no AOF under the data dir: %v", err)
	}
	g2 := StartGateway(t, GatewayOptions{NoRedis: true, Args: args})
	if !strings.Contains(g2.Stderr.String(), `"written":0`) {
		t.Fatalf("the second demo load wrote data: %s", g2.Stderr.String())
	}
	expect(t, g2.Do(t, "GET", "/fhir/Patient/mine", nil), 200)
	if v := g2.Do(t, "GET", "/fhir/Patient/demo-pat-01", nil).Header.Get("ETag"); v != `W/"1"` {
		t.Fatalf("demo patient rewritten on restart: %s", v)
	}
}

// Without redis-server on PATH the demo still runs on the in-process
// fallback, and says loudly that it neither persists nor scales.
func TestDemoFallsBackToInProcessRedis(t *testing.T) {
	dir := t.TempDir()
	bin := t.TempDir()
	// A PATH that has `go`'s directory only: no redis-server.
	g := StartGateway(t, GatewayOptions{NoRedis: true, Args: []string{"--demo", "--data-dir", filepath.Join(dir, "d")}, Env: []string{"PATH=" + bin}})
	if !strings.Contains(g.Stderr.String(), "NOT persisted") {
		t.Fatalf("the in-process fallback was not announced: %s", g.Stderr.String())
	}
	expect(t, g.Do(t, "GET", "/fhir/Organization/demo-org-umc-oost", nil), 200)
}

// SIGTERM drains: a request whose body is still arriving when the signal
// comes is finished and answered before the process exits 0.
func TestSIGTERMDrainsInFlightRequests(t *testing.T) {
	g := StartGateway(t, GatewayOptions{})
	body := patientJSON("drain1", "999911120", "Draaiend")
	conn, err := net.Dial("tcp", strings.TrimPrefix(g.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	br := bufio.NewReader(conn)
	// A first request on the connection makes sure the server has accepted
	// it (a connection still in the listen backlog is reset by any server
	// that stops listening).
	fmt.Fprintf(conn, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
	if resp, err := http.ReadResponse(br, nil); err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz on the connection: %v", err)
	} else {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	half := len(body) / 2
	fmt.Fprintf(conn, "PUT /fhir/Patient/drain1 HTTP/1.1\r\nHost: x\r\nContent-Type: application/fhir+json\r\nContent-Length: %d\r\n\r\n%s", len(body), body[:half])
	time.Sleep(100 * time.Millisecond) // not a timing assertion: lets the server read the headers
	g.cmd.Process.Signal(syscall.SIGTERM)
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(g.Stderr.String(), "shutting down"); {
		if time.Now().After(deadline) {
			t.Fatalf("no shutdown logged after SIGTERM:\n%s", g.Stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := conn.Write([]byte(body[half:])); err != nil {
		t.Fatalf("the connection was closed mid-request: %v", err)
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("no response to the in-flight request: %v\n%s", err, g.Stderr.String())
	}
	resp.Body.Close()
	if resp.StatusCode != 201 {
		t.Fatalf("in-flight PUT answered %d, want 201", resp.StatusCode)
	}
	select {
	case err := <-g.done:
		g.exited = true
		if err != nil {
			t.Fatalf("exit after drain: %v\n%s", err, g.Stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the gateway did not exit after draining")
	}
}
