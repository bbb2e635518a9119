package tests

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/internal/faultsource"
	"github.com/wachtwijzer/wachtwijzer/internal/redistest"
)

type sourceStatus struct {
	ID          string    `json:"id"`
	Records     int64     `json:"records"`
	LastSuccess time.Time `json:"lastSuccess"`
	LastError   string    `json:"lastError"`
	Stale       bool      `json:"stale"`
	Leader      string    `json:"leader"`
}

func pullStatus(t *testing.T, g *Gateway) []sourceStatus {
	t.Helper()
	r := expect(t, g.Do(t, "GET", "/status", nil), 200)
	var doc struct {
		Sources []sourceStatus `json:"sources"`
	}
	if err := json.Unmarshal(r.Body, &doc); err != nil {
		t.Fatalf("/status: %v: %s", err, r.Body)
	}
	return doc.Sources
}

func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestPullKilledMidSyncResumesFromDurableCursor kills the gateway with
// SIGKILL while it pulls a slow source, starts another on the same Redis,
// and checks that it continues from the durable cursor (not from the start),
// and that afterwards the gateway holds every source resource exactly once
// (each at version 1: nothing was written twice).
func TestPullKilledMidSyncResumesFromDurableCursor(t *testing.T) {
	redistest.Require(t)
	src := faultsource.New()
	base := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
	const n = 60
	for i := 0; i < n; i++ {
		src.PutAt(map[string]any{"resourceType": "Patient", "id": fmt.Sprintf("p%02d", i), "name": []any{map[string]any{"family": fmt.Sprintf("F%02d", i)}}}, base.Add(time.Duration(i)*time.Second))
	}
	src.Delay = 120 * time.Millisecond
	hs := httptest.NewServer(src)
	defer hs.Close()
	cfg := writeFile(t, "sources.json", `{"sources":[{"id":"zkh","baseUrl":"`+hs.URL+`/fhir","interval":"1s","pageSize":5,"resources":[{"type":"Patient"}]}]}`)
	prefix := redistest.Prefix(t)
	args := []string{"--key-prefix", prefix, "--pull-sources", cfg, "--pull-overlap", "1s", "--pull-lease-ttl", "2s"}
	url := redistest.Shared(t).URL()
	a := StartGateway(t, GatewayOptions{RedisURL: url, Args: args})
	// The source serves a page every 120 ms: kill after five of twelve.
	waitFor(t, "five pages served", 30*time.Second, func() bool { return src.PagesServed() >= 5 })
	a.Kill()
	if src.PagesServed() >= n/5 {
		t.Fatal("the first gateway pulled everything before it was killed")
	}
	before := len(src.SearchQueries())
	b := StartGateway(t, GatewayOptions{RedisURL: url, Args: args})
	waitFor(t, "the restarted gateway to finish the source", 60*time.Second, func() bool {
		st := pullStatus(t, b)
		return len(st) == 1 && st[0].Records == n && !st[0].LastSuccess.IsZero()
	})
	qs := src.SearchQueries()
	if len(qs) <= before {
		t.Fatal("the restarted gateway never searched")
	}
	// The first run start after the kill (a request of the dead gateway may
	// still have been in flight).
	var resume string
	for _, q := range qs[before:] {
		if q.Get("_page") == "" {
			resume = q.Get("_lastUpdated")
			if resume == "" {
				t.Fatalf("the restarted gateway started from scratch (no _lastUpdated): %v", q)
			}
			break
		}
	}
	if !strings.HasPrefix(resume, "ge") {
		t.Fatalf("the restarted gateway started from scratch (no _lastUpdated): %v", qs[before])
	}
	at, err := time.Parse(time.RFC3339Nano, resume[2:])
	if err != nil || !at.After(base.Add(5*time.Second)) {
		t.Fatalf("the restart resumed from %s, not from the durable cursor past the first pages", resume)
	}
	r := expect(t, b.Do(t, "GET", "/fhir/Patient?_count=200", nil), 200)
	var bundle struct {
		Entry []struct {
			Resource struct {
				ID   string `json:"id"`
				Meta struct {
					VersionID string `json:"versionId"`
				} `json:"meta"`
				Name []struct {
					Family string `json:"family"`
				} `json:"name"`
			} `json:"resource"`
		} `json:"entry"`
	}
	json.Unmarshal(r.Body, &bundle)
	if len(bundle.Entry) != n {
		t.Fatalf("the gateway holds %d Patients, the source %d", len(bundle.Entry), n)
	}
	seen := map[string]bool{}
	for _, e := range bundle.Entry {
		if e.Resource.Meta.VersionID != "1" {
			t.Fatalf("%s is at version %s: written twice", e.Resource.ID, e.Resource.Meta.VersionID)
		}
		seen[e.Resource.Name[0].Family] = true
	}
	for i := 0; i < n; i++ {
		if !seen[fmt.Sprintf("F%02d", i)] {
			t.Fatalf("source patient %d is missing: a gap", i)
		}
	}
	// The freshness tag: this source is fresh, so nothing is tagged.
	if strings.Contains(string(r.Body), ww.SystemFreshness) {
		t.Fatal("a fresh source's resources carry the stale tag")
	}
}
