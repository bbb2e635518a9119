package tests

import (
	"strings"
	"testing"
	"time"

	"github.com/wachtwijzer/wachtwijzer/internal/redistest"
)

// TestRedisOutage: while Redis is down, reads (through the autopipeliner)
// and writes answer promptly with a 503 OperationOutcome instead of hanging
// or a 500; once Redis is back, the gateway serves again without a
// restart, with what was acknowledged before the outage.
func TestRedisOutage(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{AppendOnly: true, AppendFsync: "always"})
	for _, mode := range []struct {
		name string
		args []string
	}{
		{"autopipelined reads", nil},
		{"reads without the autopipeliner", []string{"--redis-no-autopipeline"}},
	} {
		t.Run(mode.name, func(t *testing.T) {
			g := StartGateway(t, GatewayOptions{RedisURL: srv.URL(), Args: mode.args})
			body := `{"resourceType":"Organization","id":"org-outage","name":"Ziekenhuis Noord"}`
			r := g.Do(t, "PUT", "/fhir/Organization/org-outage", body)
			if r.Status != 200 && r.Status != 201 {
				t.Fatalf("write before the outage: %d %s", r.Status, r.Body)
			}
			expect(t, g.Do(t, "GET", "/fhir/Organization/org-outage", nil), 200)

			srv.Kill(t)
			for _, c := range []struct{ method, path, body string }{
				{"GET", "/fhir/Organization/org-outage", ""},
				{"PUT", "/fhir/Organization/org-outage", body},
			} {
				start := time.Now()
				var b any
				if c.body != "" {
					b = c.body
				}
				r := g.Do(t, c.method, c.path, b)
				if took := time.Since(start); took > 15*time.Second {
					t.Errorf("%s during the outage took %v", c.method, took)
				}
				if r.Status != 503 || !strings.Contains(string(r.Body), "OperationOutcome") {
					t.Errorf("%s during the outage: %d %s", c.method, r.Status, r.Body)
				}
			}

			srv.Restart(t)
			deadline := time.Now().Add(20 * time.Second)
			for {
				r := g.Do(t, "GET", "/fhir/Organization/org-outage", nil)
				if r.Status == 200 && strings.Contains(string(r.Body), "Ziekenhuis Noord") {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("no read after Redis came back: %d %s", r.Status, r.Body)
				}
				time.Sleep(100 * time.Millisecond)
			}
		})
	}
}
