package redisstore

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/fhirjson"
	"github.com/wachtwijzer/wachtwijzer/internal/redistest"
)

func TestMain(m *testing.M) { os.Exit(redistest.RunMain(m)) }

// backends runs a test against a real standalone Redis and a real 3-master
// Redis Cluster.
func backends(t *testing.T, fn func(t *testing.T, s *Store)) {
	t.Run("standalone", func(t *testing.T) {
		srv := redistest.Shared(t)
		fn(t, openStore(t, srv.Client(t)))
	})
	t.Run("cluster", func(t *testing.T) {
		cl := redistest.SharedCluster(t)
		fn(t, openStore(t, cl.Client(t)))
	})
}

func openStore(t *testing.T, c redis.UniversalClient) *Store {
	t.Helper()
	s, err := Open(context.Background(), Options{Client: c, Prefix: redistest.Prefix(t), Clock: &ww.FixedClock{T: time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)}})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func patient(id, bsn, family string) []byte {
	return []byte(fmt.Sprintf(`{"resourceType":"Patient","id":%q,"identifier":[{"system":"http://fhir.nl/fhir/NamingSystem/bsn","value":%q}],"name":[{"family":%q}],"_gender":{"extension":[{"url":"http://example.org/x","valueString":"y"}]}}`, id, bsn, family))
}

func write(t *testing.T, s *Store, w ww.Write) ww.WriteResult {
	t.Helper()
	res, err := s.Commit(context.Background(), &ww.Commit{Writes: []ww.Write{w}})
	if err != nil {
		t.Fatalf("commit %s/%s: %v", w.Type, w.ID, err)
	}
	return res[0]
}

func TestCreateReadUpdateDeleteHistory(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		r := write(t, s, ww.Write{Op: ww.OpCreate, Type: "Patient", ID: "p1", JSON: patient("ignored", "999911120", "Jansen"), Provenance: ww.Provenance{Owner: "org1", Channel: ww.ChannelREST}})
		if r.Outcome != ww.Created || r.Resource.VersionID != 1 {
			t.Fatalf("create: %+v", r)
		}
		got, err := s.Read(ctx, "Patient", "p1")
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(got.JSON, &m); err != nil {
			t.Fatal(err)
		}
		if m["id"] != "p1" || m["meta"].(map[string]any)["versionId"] != "1" || m["_gender"] == nil {
			t.Fatalf("stored JSON: %s", got.JSON)
		}
		if !strings.HasPrefix(string(got.JSON), `{"resourceType":"Patient","id":"p1","meta":{"versionId":"1","lastUpdated":"2026-11-25T10:00:00.000Z"}`) {
			t.Fatalf("meta not spliced at the head: %s", got.JSON)
		}
		if got.Provenance.Owner != "org1" || got.Provenance.Channel != ww.ChannelREST {
			t.Fatalf("provenance: %+v", got.Provenance)
		}
		// Update twice, the second with a stale If-Match.
		r = write(t, s, ww.Write{Op: ww.OpUpdate, Type: "Patient", ID: "p1", JSON: patient("p1", "999911120", "Jansen-de Vries")})
		if r.Outcome != ww.Updated || r.Resource.VersionID != 2 || !r.Resource.LastUpdated.After(got.LastUpdated) {
			t.Fatalf("update: %+v", r)
		}
		_, err = s.Commit(ctx, &ww.Commit{Writes: []ww.Write{{Op: ww.OpUpdate, Type: "Patient", ID: "p1", IfMatch: 1, JSON: patient("p1", "999911120", "X")}}})
		if !ww.IsKind(err, ww.KindPrecondition) {
			t.Fatalf("stale If-Match: want precondition, got %v", err)
		}
		v1, err := s.VRead(ctx, "Patient", "p1", 1)
		if err != nil || !strings.Contains(string(v1.JSON), `"Jansen"`) {
			t.Fatalf("vread 1: %v %s", err, v1.JSON)
		}
		// Delete: read → gone, history keeps three versions.
		r = write(t, s, ww.Write{Op: ww.OpDelete, Type: "Patient", ID: "p1"})
		if r.Outcome != ww.Deleted || r.Resource.VersionID != 3 {
			t.Fatalf("delete: %+v", r)
		}
		if _, err := s.Read(ctx, "Patient", "p1"); !ww.IsKind(err, ww.KindGone) {
			t.Fatalf("read after delete: %v", err)
		}
		if r := write(t, s, ww.Write{Op: ww.OpDelete, Type: "Patient", ID: "p1"}); r.Outcome != ww.Unchanged {
			t.Fatalf("second delete: %+v", r)
		}
		h, err := s.History(ctx, &ww.HistoryQuery{Type: "Patient", ID: "p1"})
		if err != nil {
			t.Fatal(err)
		}
		var vids []int64
		for _, v := range h.Versions {
			vids = append(vids, v.VersionID)
		}
		if !reflect.DeepEqual(vids, []int64{3, 2, 1}) || !h.Versions[0].Deleted {
			t.Fatalf("history: %v", vids)
		}
		// The identifier index follows the live version only.
		found, err := s.Search(ctx, &ww.Query{Type: "Patient", Count: 100, Clauses: []ww.Clause{{Param: "identifier", Values: []string{"http://fhir.nl/fhir/NamingSystem/bsn|999911120"}}}})
		if err != nil || len(found.Resources) != 0 {
			t.Fatalf("deleted resource still indexed: %v %+v", err, found)
		}
		// Re-create after delete continues the version line.
		r = write(t, s, ww.Write{Op: ww.OpUpdate, Type: "Patient", ID: "p1", JSON: patient("p1", "999911120", "Terug")})
		if r.Outcome != ww.Created || r.Resource.VersionID != 4 {
			t.Fatalf("re-create: %+v", r)
		}
		th, err := s.History(ctx, &ww.HistoryQuery{Type: "Patient", Count: 2})
		if err != nil || len(th.Versions) != 2 || th.Versions[0].VersionID != 4 || th.Next == nil {
			t.Fatalf("type history page 1: %v %+v", err, th)
		}
		th2, err := s.History(ctx, &ww.HistoryQuery{Type: "Patient", Count: 2, After: th.Next})
		if err != nil || len(th2.Versions) != 2 || th2.Versions[0].VersionID != 2 || th2.Versions[1].VersionID != 1 {
			t.Fatalf("type history page 2: %v %+v", err, th2)
		}
	})
}

func TestTransactionIsAllOrNothing(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		write(t, s, ww.Write{Op: ww.OpCreate, Type: "Patient", ID: "exists", JSON: patient("exists", "123456782", "A")})
		// Ten writes across shards and types, one of which conflicts.
		var writes []ww.Write
		for i := 0; i < 10; i++ {
			writes = append(writes, ww.Write{Op: ww.OpCreate, Type: "Patient", ID: fmt.Sprintf("tx%d", i), JSON: patient("x", "999911120", "T")})
		}
		writes = append(writes, ww.Write{Op: ww.OpCreate, Type: "Patient", ID: "exists", JSON: patient("exists", "1", "B")})
		if _, err := s.Commit(ctx, &ww.Commit{Writes: writes}); !ww.IsKind(err, ww.KindConflict) {
			t.Fatalf("want conflict, got %v", err)
		}
		for i := 0; i < 10; i++ {
			if _, err := s.Read(ctx, "Patient", fmt.Sprintf("tx%d", i)); !ww.IsKind(err, ww.KindNotFound) {
				t.Fatalf("tx%d visible after a failed transaction: %v", i, err)
			}
		}
		// Without the conflict everything lands.
		res, err := s.Commit(ctx, &ww.Commit{Writes: writes[:10]})
		if err != nil || len(res) != 10 {
			t.Fatalf("commit: %v", err)
		}
		for i := 0; i < 10; i++ {
			if _, err := s.Read(ctx, "Patient", fmt.Sprintf("tx%d", i)); err != nil {
				t.Fatal(err)
			}
		}
		if s.cluster != nil {
			if n, _ := s.rdb.ZCard(ctx, s.keys.txOpen()).Result(); n != 0 {
				t.Fatalf("%d cluster transactions left open", n)
			}
		}
	})
}

func TestGuardMakesConditionalCreateExclusive(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		crit := []ww.Clause{{Param: "identifier", Values: []string{"http://fhir.nl/fhir/NamingSystem/bsn|249566758"}}}
		var wg sync.WaitGroup
		created := make(chan string, 8)
		for i := 0; i < 8; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				for attempt := 0; attempt < 50; attempt++ {
					unlock, err := s.CondLock(ctx, "Patient", "identifier=bsn|249566758")
					if err != nil {
						continue
					}
					found, err := s.Search(ctx, &ww.Query{Type: "Patient", Count: 100, Clauses: crit})
					if err != nil {
						unlock()
						t.Error(err)
						return
					}
					if len(found.Resources) > 0 {
						unlock()
						return
					}
					id := fmt.Sprintf("c%d", i)
					_, err = s.Commit(ctx, &ww.Commit{Writes: []ww.Write{{Op: ww.OpCreate, Type: "Patient", ID: id, JSON: patient(id, "249566758", "C")}},
						Guards: []ww.Guard{{Type: "Patient", Criteria: crit}}})
					unlock()
					if err == nil {
						created <- id
						return
					}
					if !ww.IsKind(err, ww.KindConflict) {
						t.Error(err)
						return
					}
				}
			}(i)
		}
		wg.Wait()
		close(created)
		var ids []string
		for id := range created {
			ids = append(ids, id)
		}
		if len(ids) != 1 {
			t.Fatalf("conditional creates made %v, want exactly one", ids)
		}
	})
}

func TestConcurrentIfMatchExactlyOneWinsPerVersion(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		write(t, s, ww.Write{Op: ww.OpCreate, Type: "Patient", ID: "race", JSON: patient("race", "999911120", "v1")})
		const workers, rounds = 8, 5
		wins := make(map[int64]int)
		var mu sync.Mutex
		var wg sync.WaitGroup
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				for r := 0; r < rounds; r++ {
					cur, err := s.Read(ctx, "Patient", "race")
					if err != nil {
						t.Error(err)
						return
					}
					_, err = s.Commit(ctx, &ww.Commit{Writes: []ww.Write{{Op: ww.OpUpdate, Type: "Patient", ID: "race", IfMatch: cur.VersionID, JSON: patient("race", "999911120", fmt.Sprintf("w%d", w))}}})
					if err == nil {
						mu.Lock()
						wins[cur.VersionID]++
						mu.Unlock()
					} else if !ww.IsKind(err, ww.KindPrecondition) {
						t.Error(err)
					}
				}
			}(w)
		}
		wg.Wait()
		final, _ := s.Read(ctx, "Patient", "race")
		total := 0
		for v, n := range wins {
			if n != 1 {
				t.Errorf("version %d was updated %d times", v, n)
			}
			total += n
		}
		if int64(total)+1 != final.VersionID {
			t.Fatalf("%d wins but final version %d: an update was lost", total, final.VersionID)
		}
	})
}

func TestLayoutMismatchRefusesToStart(t *testing.T) {
	srv := redistest.Shared(t)
	c := srv.Client(t)
	prefix := redistest.Prefix(t)
	ctx := context.Background()
	if _, err := Open(ctx, Options{Client: c, Prefix: prefix}); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(ctx, Options{Client: c, Prefix: prefix, Shards: 8}); err == nil || !strings.Contains(err.Error(), "16 shards") {
		t.Fatalf("want shard mismatch error, got %v", err)
	}
	c.HSet(ctx, prefix+":layout", "version", 99)
	if _, err := Open(ctx, Options{Client: c, Prefix: prefix}); err == nil || !strings.Contains(err.Error(), "layout version") {
		t.Fatalf("want layout version error, got %v", err)
	}
	if _, err := Open(ctx, Options{Client: c, Prefix: "bad{tag}"}); err == nil {
		t.Fatal("a prefix with braces was accepted")
	}
}

func TestEvictionPolicyIsChecked(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{MaxMemoryPolicy: "allkeys-lru"})
	c := srv.Client(t)
	if _, err := Open(context.Background(), Options{Client: c, Prefix: "ev"}); err == nil || !strings.Contains(err.Error(), "noeviction") {
		t.Fatalf("want noeviction error, got %v", err)
	}
	if _, err := Open(context.Background(), Options{Client: c, Prefix: "ev", AllowEviction: true}); err != nil {
		t.Fatal(err)
	}
}

// A create is planned without reading what is stored; the script's version
// check must still refuse a taken id and let a deleted one be created again.
func TestCreateOfATakenOrDeletedID(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		write(t, s, ww.Write{Op: ww.OpCreate, Type: "Patient", ID: "taken", JSON: patient("taken", "999911120", "A")})
		_, err := s.Commit(ctx, &ww.Commit{Writes: []ww.Write{{Op: ww.OpCreate, Type: "Patient", ID: "taken", JSON: patient("taken", "999911120", "B")}}})
		if !ww.IsKind(err, ww.KindConflict) {
			t.Fatalf("create of a live id: %v, want a conflict", err)
		}
		if r, _ := s.Read(ctx, "Patient", "taken"); r == nil || r.VersionID != 1 || !strings.Contains(string(r.JSON), `"A"`) {
			t.Fatalf("the live resource changed: %+v", r)
		}
		write(t, s, ww.Write{Op: ww.OpDelete, Type: "Patient", ID: "taken"})
		res := write(t, s, ww.Write{Op: ww.OpCreate, Type: "Patient", ID: "taken", JSON: patient("taken", "999911120", "C")})
		if res.Outcome != ww.Created || res.Resource.VersionID != 3 {
			t.Fatalf("create of a deleted id: %+v, want version 3 created", res)
		}
		page, err := s.Search(ctx, &ww.Query{Type: "Patient", Clauses: []ww.Clause{{Param: "family", Values: []string{"C"}}}, Count: 10})
		if err != nil || len(page.Resources) != 1 {
			t.Fatalf("the re-created resource is not indexed: %+v %v", page, err)
		}
	})
}

// An update that changes nothing but the stamps (a feed resending the same
// Organization with every message) writes no new version; any real change,
// and an If-Match update, does.
func TestUnchangedUpdateWritesNoVersion(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		org := func(name, source string) []byte {
			return []byte(fmt.Sprintf(`{"resourceType":"Organization","id":"same","meta":{"source":%q,"versionId":"9"},"name":%q}`, source, name))
		}
		prov := ww.Provenance{Owner: "06011234", Channel: ww.ChannelHL7}
		write(t, s, ww.Write{Op: ww.OpUpdate, Type: "Organization", ID: "same", JSON: org("Noord", "urn:hl7v2:A#1"), Provenance: prov})
		r := write(t, s, ww.Write{Op: ww.OpUpdate, Type: "Organization", ID: "same", JSON: org("Noord", "urn:hl7v2:A#2"), Provenance: prov})
		if r.Outcome != ww.Unchanged || r.Resource == nil || r.Resource.VersionID != 1 {
			t.Fatalf("an unchanged update: %+v, want Unchanged at version 1", r)
		}
		if cur, _ := s.Read(ctx, "Organization", "same"); cur.VersionID != 1 || !strings.Contains(string(cur.JSON), "urn:hl7v2:A#1") {
			t.Fatalf("the stored version changed: %d %s", cur.VersionID, cur.JSON)
		}
		if r := write(t, s, ww.Write{Op: ww.OpUpdate, Type: "Organization", ID: "same", JSON: org("Noord-Oost", "urn:hl7v2:A#3"), Provenance: prov}); r.Outcome != ww.Updated || r.Resource.VersionID != 2 {
			t.Fatalf("a real change: %+v, want version 2", r)
		}
		if r := write(t, s, ww.Write{Op: ww.OpUpdate, IfMatch: 2, Type: "Organization", ID: "same", JSON: org("Noord-Oost", "urn:hl7v2:A#4"), Provenance: prov}); r.Outcome != ww.Updated || r.Resource.VersionID != 3 {
			t.Fatalf("an If-Match update: %+v, want version 3", r)
		}
		other := ww.Provenance{Owner: "22000001", Channel: ww.ChannelREST}
		if r := write(t, s, ww.Write{Op: ww.OpUpdate, Type: "Organization", ID: "same", JSON: org("Noord-Oost", "urn:hl7v2:A#4"), Provenance: other}); r.Outcome != ww.Updated {
			t.Fatalf("the same content from another owner: %+v, want a new version (the owner index changes)", r)
		}
	})
}

// TestWriteTree checks that a write carrying its parsed tree stores what
// the same write without it stores, and leaves the caller's tree as it was
// (the commit stamps meta on a copy).
func TestWriteTree(t *testing.T) {
	s := openStore(t, redistest.Shared(t).Client(t))
	ctx := context.Background()
	body := []byte(`{"resourceType":"Patient","active":true,"meta":{"tag":[{"system":"urn:x","code":"y"}],"versionId":"7"},"name":[{"family":"Jansen"}]}`)
	tree, err := fhirjson.Parse(body, fhirjson.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"plain", "tree"} {
		w := ww.Write{Op: ww.OpCreate, Type: "Patient", ID: id, JSON: body}
		if id == "tree" {
			w.Tree = tree
		}
		write(t, s, w)
		w.Op, w.JSON = ww.OpUpdate, []byte(strings.Replace(string(body), "Jansen", "Smit", 1))
		if id == "tree" {
			tree2, _ := fhirjson.Parse(w.JSON, fhirjson.Limits{})
			w.Tree = tree2
		}
		write(t, s, w)
	}
	if got := string(tree.Bytes()); got != string(body) {
		t.Fatalf("the caller's tree changed: %s", got)
	}
	a, err := s.Read(ctx, "Patient", "plain")
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Read(ctx, "Patient", "tree")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Replace(string(a.JSON), `"plain"`, `"tree"`, 1) != string(b.JSON) || b.VersionID != 2 {
		t.Fatalf("stored with the tree:\n%s\nwithout:\n%s", b.JSON, a.JSON)
	}
	res, err := s.Search(ctx, &ww.Query{Type: "Patient", Clauses: []ww.Clause{{Param: "family", Values: []string{"smit"}}}, Count: 10})
	if err != nil || len(res.Resources) != 2 {
		t.Fatalf("search family=smit: %v, %v", res, err)
	}
}

// TestReadsWithAndWithoutAutoPipeline: concurrent reads answer each its own
// resource (and 404 for a missing one) through the autopipeliner and with
// NoAutoPipeline.
func TestReadsWithAndWithoutAutoPipeline(t *testing.T) {
	c := redistest.Shared(t).Client(t)
	for _, off := range []bool{false, true} {
		t.Run(fmt.Sprintf("NoAutoPipeline=%v", off), func(t *testing.T) {
			ctx := context.Background()
			s, err := Open(ctx, Options{Client: c, Prefix: redistest.Prefix(t), NoAutoPipeline: off})
			if err != nil {
				t.Fatal(err)
			}
			const n = 40
			for i := 0; i < n; i++ {
				write(t, s, ww.Write{Op: ww.OpUpdate, Type: "Patient", ID: fmt.Sprintf("p%d", i), JSON: patient(fmt.Sprintf("p%d", i), "", fmt.Sprintf("Fam%d", i))})
			}
			var wg sync.WaitGroup
			for g := 0; g < 8; g++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := g; i < 4*n; i += 8 {
						id := fmt.Sprintf("p%d", i%n)
						res, err := s.Read(ctx, "Patient", id)
						if err != nil || res.ID != id || !strings.Contains(string(res.JSON), fmt.Sprintf(`"Fam%d"`, i%n)) {
							t.Errorf("read %s: %v %v", id, res, err)
							return
						}
						if _, err := s.Read(ctx, "Patient", "missing"+id); ww.KindOf(err) != ww.KindNotFound {
							t.Errorf("read a missing Patient: %v", err)
							return
						}
					}
				}()
			}
			wg.Wait()
		})
	}
}
