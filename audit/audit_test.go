package audit_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/audit"
	"github.com/wachtwijzer/wachtwijzer/internal/redistest"
	"github.com/wachtwijzer/wachtwijzer/redisstore"
)

func TestMain(m *testing.M) { os.Exit(redistest.RunMain(m)) }

var t0 = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

func open(t *testing.T, c redis.UniversalClient, prefix string) *redisstore.Store {
	t.Helper()
	s, err := redisstore.Open(context.Background(), redisstore.Options{Client: c, Prefix: prefix, Clock: &ww.FixedClock{T: t0}})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func event(i int) *audit.Event {
	return &audit.Event{Client: "zvA", Role: "insurer", Organization: "7119", Action: "R", Interaction: "read",
		Route: "GET /fhir/:type/:id", Target: fmt.Sprintf("ServiceRequest/sr%d", i), Outcome: 200, Source: "10.0.0.1",
		PurposeOfUse: "COVERAGE", LegalGround: "Zvw art. 11 <zorgplicht> & AVG", Patients: []string{fmt.Sprintf("pat%d", i)}}
}

func TestChainVerifyExportAndTamper(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Shared(t)
	c := srv.Client(t)
	prefix := redistest.Prefix(t)
	st := open(t, c, prefix)
	// two gateways on one Redis append to one chain, interleaved
	logs := []*audit.Log{audit.New(st, &ww.FixedClock{T: t0}), audit.New(st, &ww.FixedClock{T: t0})}
	var wg sync.WaitGroup
	for g, l := range logs {
		wg.Add(1)
		go func(g int, l *audit.Log) {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				if err := l.Record(ctx, event(g*100+i)); err != nil {
					t.Error(err)
				}
			}
		}(g, l)
	}
	wg.Wait()
	n, err := logs[0].Verify(ctx)
	if err != nil || n != 40 {
		t.Fatalf("verify: %d entries, %v", n, err)
	}
	var buf bytes.Buffer
	if n, err := logs[0].Export(ctx, &buf); err != nil || n != 40 {
		t.Fatalf("export: %d, %v", n, err)
	}
	if strings.Contains(buf.String(), "999911120") {
		t.Fatal("a BSN in the export")
	}
	if n, err := audit.VerifyExport(bytes.NewReader(buf.Bytes())); err != nil || n != 40 {
		t.Fatalf("verify export: %d, %v", n, err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	for _, c := range []struct {
		name   string
		mutate func([]string) []string
		want   string
	}{
		{"an event changed", func(ls []string) []string {
			ls[5] = strings.Replace(ls[5], `"outcome":200`, `"outcome":404`, 1)
			return ls
		}, "changed"},
		{"an entry removed", func(ls []string) []string { return append(ls[:7:7], ls[8:]...) }, "removed"},
		{"the last entry removed", func(ls []string) []string { return ls[:len(ls)-1] }, "removed"},
		{"an entry and its successor's prev rewritten", func(ls []string) []string {
			var e audit.Entry
			_ = json.Unmarshal([]byte(ls[3]), &e)
			e.Event = json.RawMessage(strings.Replace(string(e.Event), "pat", "pot", 1))
			e.Hash = audit.Hash(e.Prev, e.Event) // a forger recomputes this hash…
			b, _ := json.Marshal(e)
			ls[3] = string(b)
			return ls // …but the next entry still points at the old one
		}, "removed or inserted"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ls := c.mutate(append([]string(nil), lines...))
			_, err := audit.VerifyExport(strings.NewReader(strings.Join(ls, "\n")))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("verify of a tampered export: %v, want %q", err, c.want)
			}
		})
	}
	// deleting an entry in Redis itself (as an operator with full rights)
	log, _ := st.AuditKeys()
	msgs, err := c.XRange(ctx, log, "-", "+").Result()
	if err != nil || len(msgs) != 40 {
		t.Fatal(err, len(msgs))
	}
	if err := c.XDel(ctx, log, msgs[10].ID).Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := logs[0].Verify(ctx); err == nil || !strings.Contains(err.Error(), "entry 11") {
		t.Fatalf("verify after XDEL: %v", err)
	}
	if err := c.XDel(ctx, log, msgs[10].ID).Err(); err != nil {
		t.Fatal(err)
	}
}

func TestTailDeletionDetected(t *testing.T) {
	ctx := context.Background()
	c := redistest.Shared(t).Client(t)
	st := open(t, c, redistest.Prefix(t))
	l := audit.New(st, nil)
	for i := 0; i < 3; i++ {
		if err := l.Record(ctx, event(i)); err != nil {
			t.Fatal(err)
		}
	}
	log, _ := st.AuditKeys()
	msgs, _ := c.XRange(ctx, log, "-", "+").Result()
	c.XDel(ctx, log, msgs[2].ID)
	if _, err := l.Verify(ctx); err == nil || !strings.Contains(err.Error(), "at the end were removed") {
		t.Fatalf("verify after deleting the last entry: %v", err)
	}
}

// TestGatewayACL applies the documented ACL to a real redis-server: the
// gateway's user works on its data and appends to the chain, and XDEL,
// XTRIM and DEL on the audit keys are refused.
func TestGatewayACL(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t, redistest.Options{})
	admin := srv.Client(t)
	if err := admin.Do(ctx, append([]any{"ACL"}, audit.ACL("ww", "gateway", "s3cret")...)...).Err(); err != nil {
		t.Fatal(err)
	}
	gw := redis.NewClient(&redis.Options{Addr: srv.Addr, Username: "gateway", Password: "s3cret"})
	t.Cleanup(func() { gw.Close() })
	st := open(t, gw, "ww")
	if _, err := st.Commit(ctx, &ww.Commit{Writes: []ww.Write{{Op: ww.OpUpdate, Type: "Patient", ID: "p1",
		JSON: []byte(`{"resourceType":"Patient","id":"p1","identifier":[{"system":"http://fhir.nl/fhir/NamingSystem/bsn","value":"999911120"}]}`)}}}); err != nil {
		t.Fatalf("the gateway user cannot write data: %v", err)
	}
	if res, err := st.Search(ctx, &ww.Query{Type: "Patient", Clauses: []ww.Clause{{Param: "identifier", Values: []string{"http://fhir.nl/fhir/NamingSystem/bsn|999911120"}}}, Count: 10}); err != nil || len(res.Resources) != 1 {
		t.Fatalf("the gateway user cannot search: %v", err)
	}
	l := audit.New(st, nil)
	for i := 0; i < 3; i++ {
		if err := l.Record(ctx, event(i)); err != nil {
			t.Fatalf("the gateway user cannot append to the audit chain: %v", err)
		}
	}
	if n, err := l.Verify(ctx); err != nil || n != 3 {
		t.Fatalf("verify as the gateway user: %d %v", n, err)
	}
	log, head := st.AuditKeys()
	msgs, err := gw.XRange(ctx, log, "-", "+").Result()
	if err != nil || len(msgs) != 3 {
		t.Fatal(err)
	}
	for name, cmd := range map[string]*redis.IntCmd{
		"XDEL":          gw.XDel(ctx, log, msgs[0].ID),
		"XTRIM":         gw.XTrimMaxLen(ctx, log, 0),
		"DEL log":       gw.Del(ctx, log),
		"DEL head":      gw.Del(ctx, head),
		"UNLINK":        gw.Unlink(ctx, log),
		"EXPIRE (TTL)":  boolAsInt(gw.Expire(ctx, log, time.Second)),
		"XDEL (script)": intOf(gw.Eval(ctx, "return redis.call('XDEL', KEYS[1], ARGV[1])", []string{log}, msgs[0].ID)),
	} {
		if err := cmd.Err(); err == nil || !strings.Contains(err.Error(), "NOPERM") && !strings.Contains(err.Error(), "can't access") {
			t.Errorf("%s on the audit stream as the gateway: %v, want NOPERM", name, err)
		}
	}
	if n, _ := admin.XLen(ctx, log).Result(); n != 3 {
		t.Fatalf("the stream has %d entries, want 3", n)
	}
}

func boolAsInt(c *redis.BoolCmd) *redis.IntCmd {
	out := redis.NewIntCmd(context.Background())
	out.SetErr(c.Err())
	return out
}

func intOf(c *redis.Cmd) *redis.IntCmd {
	out := redis.NewIntCmd(context.Background())
	out.SetErr(c.Err())
	return out
}

// countingBackend counts the appends that reach Redis.
type countingBackend struct {
	audit.Backend
	mu      sync.Mutex
	calls   int
	entries int
}

func (b *countingBackend) AppendAudit(ctx context.Context, head string, es []redisstore.AuditAppend) ([]string, bool, string, error) {
	b.mu.Lock()
	b.calls++
	b.entries += len(es)
	b.mu.Unlock()
	return b.Backend.AppendAudit(ctx, head, es)
}

// TestGroupCommit: concurrent requests on two gateways share appends (fewer
// script calls than entries), every Record returns only once its entry is
// stored, and the chain verifies with every event exactly once.
func TestGroupCommit(t *testing.T) {
	ctx := context.Background()
	c := redistest.Shared(t).Client(t)
	st := open(t, c, redistest.Prefix(t))
	backs := []*countingBackend{{Backend: st}, {Backend: st}}
	const perLog, workers = 200, 16
	var wg sync.WaitGroup
	for g, b := range backs {
		l := audit.New(b, &ww.FixedClock{T: t0})
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := w; i < perLog; i += workers {
					if err := l.Record(ctx, event(g*1000+i)); err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
	}
	wg.Wait()
	l := audit.New(st, nil)
	n, err := l.Verify(ctx)
	if err != nil || n != 2*perLog {
		t.Fatalf("verify: %d entries, %v", n, err)
	}
	seen := map[string]int{}
	groups := 0
	if err := l.Each(ctx, func(e audit.Entry) error {
		evs, err := e.Events()
		if err != nil {
			return err
		}
		if len(evs) > 1 {
			groups++
		}
		for _, raw := range evs {
			var ev audit.Event
			if err := json.Unmarshal(raw, &ev); err != nil {
				return err
			}
			seen[ev.Target]++
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 2*perLog {
		t.Fatalf("%d distinct events, want %d", len(seen), 2*perLog)
	}
	for target, n := range seen {
		if n != 1 {
			t.Fatalf("%s logged %d times", target, n)
		}
	}
	if groups == 0 {
		t.Fatal("no entry holds a group commit's events")
	}
	// changing one event of a group commit breaks its entry's hash
	var buf bytes.Buffer
	if _, err := l.Export(ctx, &buf); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	for i, ln := range lines {
		if strings.Contains(ln, `"event":[`) {
			lines[i] = strings.Replace(ln, `"outcome":200`, `"outcome":404`, 1)
			break
		}
	}
	if _, err := audit.VerifyExport(strings.NewReader(strings.Join(lines, "\n"))); err == nil || !strings.Contains(err.Error(), "changed") {
		t.Fatalf("verify of an export with a group commit's event changed: %v", err)
	}
	// every event is found by the AuditEvent search, once, paging through
	// the group commits' entries
	found := map[string]int{}
	q := audit.Query{Count: 7}
	for pages := 0; ; pages++ {
		page, next, err := l.Search(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page {
			var ev audit.Event
			if err := json.Unmarshal(e.Event, &ev); err != nil {
				t.Fatalf("search entry %s: %v", e.ID, err)
			}
			found[ev.Target]++
			if _, err := audit.FHIR(e); err != nil {
				t.Fatal(err)
			}
		}
		if next == "" || pages > 2*perLog {
			break
		}
		q.Before = next
	}
	if len(found) != 2*perLog {
		t.Fatalf("the search found %d distinct events, want %d", len(found), 2*perLog)
	}
	for target, n := range found {
		if n != 1 {
			t.Fatalf("the search returned %s %d times", target, n)
		}
	}
	calls := backs[0].calls + backs[1].calls
	entries := backs[0].entries + backs[1].entries
	if calls >= 2*perLog {
		t.Fatalf("%d appends for %d events: no group commit", calls, 2*perLog)
	}
	t.Logf("%d events in %d appends (%d entries sent, stale retries included; %d entries hold a group)", 2*perLog, calls, entries, groups)
}

// panickyBackend panics on its first append.
type panickyBackend struct {
	audit.Backend
	once sync.Once
}

func (b *panickyBackend) AppendAudit(ctx context.Context, head string, es []redisstore.AuditAppend) ([]string, bool, string, error) {
	b.once.Do(func() { panic("append blew up") })
	return b.Backend.AppendAudit(ctx, head, es)
}

// TestPanicInAppendReleasesTheLead: a panic inside an append fails that
// batch's requests (the leading one panics on, to the recovery middleware)
// and later Records go ahead instead of waiting for a lead nobody holds.
func TestPanicInAppendReleasesTheLead(t *testing.T) {
	ctx := context.Background()
	c := redistest.Shared(t).Client(t)
	st := open(t, c, redistest.Prefix(t))
	l := audit.New(&panickyBackend{Backend: st}, &ww.FixedClock{T: t0})
	var wg sync.WaitGroup
	var panics, failed, ok sync.Map
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				if v := recover(); v != nil {
					panics.Store(i, v)
				}
			}()
			if err := l.Record(ctx, event(i)); err != nil {
				failed.Store(i, err)
			} else {
				ok.Store(i, true)
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Records hang after a panic in an append")
	}
	np := 0
	panics.Range(func(any, any) bool { np++; return true })
	if np != 1 {
		t.Fatalf("%d Records panicked, want the one leading", np)
	}
	if err := l.Record(ctx, event(100)); err != nil {
		t.Fatalf("a Record after the panic: %v", err)
	}
	n, err := audit.New(st, nil).Verify(ctx)
	if err != nil {
		t.Fatal(err)
	}
	nok := 1 // event 100
	ok.Range(func(any, any) bool { nok++; return true })
	if n != nok {
		t.Fatalf("the chain holds %d events, %d Records succeeded", n, nok)
	}
}

// losingBackend makes its first appends stale: before each, another
// gateway's Log appends, moving the head.
type losingBackend struct {
	audit.Backend
	rival *audit.Log
	lose  int
}

func (b *losingBackend) AppendAudit(ctx context.Context, head string, es []redisstore.AuditAppend) ([]string, bool, string, error) {
	if b.lose > 0 {
		b.lose--
		if err := b.rival.Record(ctx, event(900+b.lose)); err != nil {
			return nil, false, "", err
		}
	}
	return b.Backend.AppendAudit(ctx, head, es)
}

// TestContendedAppendBacksOffOnTheClock: a gateway that keeps losing the
// head to another backs off through its clock (a FixedClock moves, nothing
// sleeps), then appends, and the chain verifies.
func TestContendedAppendBacksOffOnTheClock(t *testing.T) {
	ctx := context.Background()
	c := redistest.Shared(t).Client(t)
	st := open(t, c, redistest.Prefix(t))
	clock := &ww.FixedClock{T: t0}
	b := &losingBackend{Backend: st, rival: audit.New(st, &ww.FixedClock{T: t0}), lose: 4}
	l := audit.New(b, clock)
	if err := l.Record(ctx, event(1)); err != nil {
		t.Fatal(err)
	}
	// appends 0 and 1 retry at once; 2 and 3 back off first
	if d := clock.Now().Sub(t0); d <= 0 || d > 2*150*time.Microsecond {
		t.Fatalf("the clock moved %v during the back-off; want (0, 300µs]", d)
	}
	n, err := audit.New(st, nil).Verify(ctx)
	if err != nil || n != 5 {
		t.Fatalf("verify: %d entries, %v; want 5 (4 rival entries and ours)", n, err)
	}
}
