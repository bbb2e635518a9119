package redisstore

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"

	ww "github.com/wachtwijzer/wachtwijzer"
)

// partsPatient is a Patient whose name and address values are all held by
// a part's index except the name's text and the address's line.
func partsPatient(id, family, city string) []byte {
	b, _ := json.Marshal(map[string]any{"resourceType": "Patient", "id": id,
		"identifier": []any{map[string]any{"system": bsnSystem, "value": "9999" + id}},
		"name":       []any{map[string]any{"text": "Mevr. " + family, "family": family, "given": []any{"Anna"}}},
		"address":    []any{map[string]any{"line": []any{"Kerkstraat 1"}, "city": city, "postalCode": "3511 AB", "country": "NL"}}})
	return b
}

const bsnSystem = "http://fhir.nl/fhir/NamingSystem/bsn"

// sysShape reports which shapes of Patient's by-system identifier entries
// generation g holds: "set" (lean), "lex" (full).
func sysShape(t *testing.T, s *Store, g int) (shapes []string) {
	t.Helper()
	k := s.keys.withGen(g)
	var sets, lex int64
	for sh := 0; sh < s.keys.shards; sh++ {
		sets += s.rdb.Exists(context.Background(), k.index("Patient", sh, "identifier", "sys", systemTag(bsnSystem))).Val()
		lex += s.rdb.Exists(context.Background(), k.index("Patient", sh, "identifier", "sys")).Val()
	}
	if sets > 0 {
		shapes = append(shapes, "set")
	}
	if lex > 0 {
		shapes = append(shapes, "lex")
	}
	return shapes
}

// patientIDs runs a Patient search of one clause and returns the ids found,
// sorted.
func patientIDs(t *testing.T, s *Store, cl ww.Clause) []string {
	t.Helper()
	res, err := s.Search(context.Background(), &ww.Query{Type: "Patient", Count: 100, Clauses: []ww.Clause{cl}})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, x := range res.Resources {
		ids = append(ids, x.ID)
	}
	sort.Strings(ids)
	return ids
}

// indexValues lists the folded values in one string index of Patient, over
// every shard of generation g.
func indexValues(t *testing.T, s *Store, g int, param string) []string {
	t.Helper()
	k := s.keys.withGen(g)
	var out []string
	for sh := 0; sh < s.keys.shards; sh++ {
		ms, err := s.rdb.ZRange(context.Background(), k.index("Patient", sh, param), 0, -1).Result()
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			out = append(out, m[:strings.IndexByte(m, 0)])
		}
	}
	sort.Strings(out)
	return out
}

// TestStringPartsLeanAndFull: a new layout keeps in the name and address
// indexes only what no part's index holds, and by-system identifier entries
// as sets; a generation an older release
// built (every value in every index) is written that way until a reindex,
// and updates on either leave no stale entry; searches answer the same on
// both.
func TestStringPartsLeanAndFull(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		search := func(st *Store, param, mod, v string) []string {
			t.Helper()
			return patientIDs(t, st, ww.Clause{Param: param, Modifier: mod, Values: []string{v}})
		}
		check := func(st *Store, when string) {
			t.Helper()
			for _, c := range []struct {
				param, mod, v string
				want          []string
			}{
				{"name", "", "pieter", []string{"lp1"}},
				{"name", "", "jans", []string{"lp2"}},
				{"name", "", "anna", []string{"lp1", "lp2"}},
				{"name", "", "mevr", []string{"lp1", "lp2"}},
				{"name", "exact", "Pietersen", []string{"lp1"}},
				{"name", "contains", "ters", []string{"lp1"}},
				{"address", "", "zwol", []string{"lp1"}},
				{"address", "", "utrecht", []string{"lp2"}},
				{"address", "", "kerk", []string{"lp1", "lp2"}},
				{"address", "", "3511", []string{"lp1", "lp2"}},
				{"address", "exact", "NL", []string{"lp1", "lp2"}},
				{"address-city", "", "utrecht", []string{"lp2"}},
				{"identifier", "", bsnSystem + "|", []string{"lp1", "lp2"}},
				{"identifier", "", "http://example.org/mrn|", nil},
				{"identifier", "", bsnSystem + "|9999lp1", []string{"lp1"}},
			} {
				if got := search(st, c.param, c.mod, c.v); !reflect.DeepEqual(got, c.want) && (len(got) > 0 || len(c.want) > 0) {
					t.Errorf("%s: %s:%s=%s → %v, want %v", when, c.param, c.mod, c.v, got, c.want)
				}
			}
		}
		load := func(st *Store) {
			write(t, st, ww.Write{Op: ww.OpUpdate, Type: "Patient", ID: "lp1", JSON: partsPatient("lp1", "Jansen", "Utrecht")})
			write(t, st, ww.Write{Op: ww.OpUpdate, Type: "Patient", ID: "lp2", JSON: partsPatient("lp2", "Jansen", "Utrecht")})
			// lp1 moves: its old family and city must leave every index
			write(t, st, ww.Write{Op: ww.OpUpdate, Type: "Patient", ID: "lp1", JSON: partsPatient("lp1", "Pietersen", "Zwolle")})
		}

		// a new layout: lean from the first write
		if !s.leanGen(1) {
			t.Fatal("a new layout's generation 1 is not lean")
		}
		load(s)
		if got := indexValues(t, s, 1, "name"); !reflect.DeepEqual(got, []string{"mevr. jansen", "mevr. pietersen"}) {
			t.Errorf("lean name index holds %q", got)
		}
		if got := indexValues(t, s, 1, "address"); !reflect.DeepEqual(got, []string{"kerkstraat 1", "kerkstraat 1"}) {
			t.Errorf("lean address index holds %q", got)
		}
		check(s, "lean")
		if got := sysShape(t, s, 1); !reflect.DeepEqual(got, []string{"set"}) {
			t.Errorf("lean by-system entries: %v", got)
		}

		// the layout as an older release left it: no parts field
		old := openStore(t, s.rdb)
		if err := old.rdb.HDel(ctx, old.keys.layout(), layoutScheme+"1").Err(); err != nil {
			t.Fatal(err)
		}
		old, err := Open(ctx, Options{Client: s.rdb, Prefix: old.keys.prefix, Clock: s.clock})
		if err != nil {
			t.Fatal(err)
		}
		if old.leanGen(1) {
			t.Fatal("a generation without a parts fingerprint is written lean")
		}
		load(old)
		full := []string{"anna", "anna", "jansen", "mevr. jansen", "mevr. pietersen", "pietersen"}
		if got := indexValues(t, old, 1, "name"); !reflect.DeepEqual(got, full) {
			t.Errorf("full name index holds %q, want %q", got, full)
		}
		check(old, "full")
		if got := sysShape(t, old, 1); !reflect.DeepEqual(got, []string{"lex"}) {
			t.Errorf("full by-system entries: %v", got)
		}

		// a reindex builds the next generation lean, and it stays exact
		if _, err := old.Reindex(ctx, ReindexOptions{Batch: 1}); err != nil {
			t.Fatal(err)
		}
		if !old.leanGen(2) {
			t.Fatal("the reindexed generation is not lean")
		}
		write(t, old, ww.Write{Op: ww.OpUpdate, Type: "Patient", ID: "lp2", JSON: partsPatient("lp2", "Jansen", "Utrecht")})
		if got := indexValues(t, old, 2, "name"); !reflect.DeepEqual(got, []string{"mevr. jansen", "mevr. pietersen"}) {
			t.Errorf("reindexed name index holds %q", got)
		}
		check(old, "after reindex")
		if got := sysShape(t, old, 2); !reflect.DeepEqual(got, []string{"set"}) {
			t.Errorf("reindexed by-system entries: %v", got)
		}
		// another gateway that opened before the reindex learns of it
		other, err := Open(ctx, Options{Client: s.rdb, Prefix: old.keys.prefix, Clock: s.clock})
		if err != nil {
			t.Fatal(err)
		}
		if !other.leanGen(2) {
			t.Fatal("a gateway opened after the reindex does not write generation 2 lean")
		}
	})
}

// TestRegistryEntriesOncePerCommit: a commit sends each registry entry
// (the systems and codes seen) once, on the first write that has it, and
// the script adds the entry even when it skips that write. Here the first
// write carries gender "other" and the script skips it (its stored source
// time moved past the write's after Go planned it), and only the second, a
// new Patient, is stored with it: gender=| (any code), which lists the
// codes from the registry, must find it.
func TestRegistryEntriesOncePerCommit(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		pat := func(id, gender string) []byte {
			return []byte(`{"resourceType":"Patient","id":"` + id + `","gender":"` + gender + `"}`)
		}
		write(t, s, ww.Write{Op: ww.OpUpdate, Type: "Patient", ID: "rg1", JSON: pat("rg1", "male"), SourceTime: ww.SourceTime{Lo: 1000, Hi: 2000}})
		// registries are per shard: the others share rg1's
		var same []string
		for n := 2; len(same) < 2; n++ {
			if id := fmt.Sprintf("rg%d", n); s.keys.shard(id) == s.keys.shard("rg1") {
				same = append(same, id)
			}
		}
		writes := []ww.Write{
			{Op: ww.OpUpdate, Type: "Patient", ID: "rg1", JSON: pat("rg1", "other"), SourceTime: ww.SourceTime{Lo: 5000, Hi: 6000}},
			{Op: ww.OpUpdate, Type: "Patient", ID: same[0], JSON: pat(same[0], "other")},
			{Op: ww.OpUpdate, Type: "Patient", ID: same[1], JSON: pat(same[1], "other")},
		}
		plans, err := s.plan(ctx, writes, false)
		if err != nil {
			t.Fatal(err)
		}
		// the stored rg1 now says a newer source time, same version
		key := s.keys.cur("Patient", "rg1")
		raw, err := s.rdb.Get(ctx, key).Bytes()
		if err != nil {
			t.Fatal(err)
		}
		rec, err := decodeRecord(raw)
		if err != nil {
			t.Fatal(err)
		}
		rec.srcLo = 9000
		if err := s.rdb.Set(ctx, key, rec.encode(), 0).Err(); err != nil {
			t.Fatal(err)
		}
		reply, err := s.run(ctx, plans, nil, nil, nil)
		if err != nil || reply.status != "ok" {
			t.Fatalf("run: %+v %v", reply, err)
		}
		// gender=| (any code of the empty system) lists the codes from the
		// registry: "other" must be among them
		for _, c := range []struct {
			q    string
			want []string
		}{
			{"other", same},
			{"|", append([]string{"rg1"}, same...)},
			{"http://hl7.org/fhir/administrative-gender|", append([]string{"rg1"}, same...)},
		} {
			if ids := patientIDs(t, s, ww.Clause{Param: "gender", Values: []string{c.q}}); !reflect.DeepEqual(ids, c.want) {
				t.Errorf("gender=%s → %v, want %v", c.q, ids, c.want)
			}
		}
	})
}

// TestDropSeenSticky: repeated registry additions leave a commit's later
// writes; everything else stays, in order.
func TestDropSeenSticky(t *testing.T) {
	reg := ixop{kind: 's', key: "k:~", member: "sys", sticky: true}
	val := ixop{kind: 's', key: "k:sys|a", member: "id1"}
	seen := map[ixid]bool{}
	first := []ixop{val, reg}
	if got := dropSeenSticky(first, seen); len(got) != 2 {
		t.Fatalf("first write: %v", got)
	}
	val2 := ixop{kind: 's', key: "k:sys|a", member: "id2"}
	got := dropSeenSticky([]ixop{reg, val2}, seen)
	if !reflect.DeepEqual(got, []ixop{val2}) {
		t.Fatalf("second write: %v", got)
	}
	if reg.code() != 'S' || val.code() != 's' || (ixop{kind: 'z', sticky: true}).code() != 'Z' {
		t.Fatal("registry additions are not spelled in upper case")
	}
}
