package redisstore

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/internal/redistest"
)

// day returns the SourceTime of a whole day (UTC) and minute returns one
// minute: the intervals the HL7 ingest derives from EVN-2/MSH-7.
func day(y int, m time.Month, d int) ww.SourceTime {
	lo := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	return ww.SourceTime{Lo: lo.UnixMilli(), Hi: lo.AddDate(0, 0, 1).UnixMilli()}
}

func minute(y int, m time.Month, d, h, mi int) ww.SourceTime {
	lo := time.Date(y, m, d, h, mi, 0, 0, time.UTC)
	return ww.SourceTime{Lo: lo.UnixMilli(), Hi: lo.Add(time.Minute).UnixMilli()}
}

func TestIfAbsentKeepsTheStoredResourceAndTheCommitGoesOn(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		write(t, s, ww.Write{Op: ww.OpUpdate, Type: "Patient", ID: "rich", JSON: patient("rich", "999911120", "Rijk")})
		res, err := s.Commit(ctx, &ww.Commit{Writes: []ww.Write{
			{Op: ww.OpUpdate, IfAbsent: true, Type: "Patient", ID: "rich", JSON: patient("rich", "999911120", "Partial")},
			{Op: ww.OpUpdate, IfAbsent: true, Type: "Patient", ID: "fresh", JSON: patient("fresh", "123456782", "Nieuw")},
			{Op: ww.OpUpdate, Type: "Patient", ID: "other", JSON: patient("other", "123456782", "Ander")},
		}})
		if err != nil {
			t.Fatal(err)
		}
		if res[0].Outcome != ww.Unchanged || res[0].Resource != nil || res[1].Outcome != ww.Created || res[2].Outcome != ww.Created {
			t.Fatalf("outcomes %v %v %v", res[0].Outcome, res[1].Outcome, res[2].Outcome)
		}
		got, _ := s.Read(ctx, "Patient", "rich")
		if got.VersionID != 1 || !strings.Contains(string(got.JSON), "Rijk") {
			t.Fatalf("the stored Patient was overwritten: %s", got.JSON)
		}
		// A deleted resource is not live: IfAbsent writes it again.
		write(t, s, ww.Write{Op: ww.OpDelete, Type: "Patient", ID: "rich"})
		if r := write(t, s, ww.Write{Op: ww.OpUpdate, IfAbsent: true, Type: "Patient", ID: "rich", JSON: patient("rich", "999911120", "Terug")}); r.Outcome != ww.Created || r.Resource.VersionID != 3 {
			t.Fatalf("IfAbsent after delete: %+v", r)
		}
	})
}

// TestIfAbsentIsDecidedInsideTheScript drives the script directly with a
// plan made before another writer created the resource: the script must
// keep the newer resource (not overwrite it, not fail the commit).
func TestIfAbsentIsDecidedInsideTheScript(t *testing.T) {
	s := openStore(t, redistest.Shared(t).Client(t))
	ctx := context.Background()
	w := ww.Write{Op: ww.OpUpdate, IfAbsent: true, Type: "Patient", ID: "late", JSON: patient("late", "999911120", "Late")}
	plans, err := s.plan(ctx, []ww.Write{w}, false)
	if err != nil {
		t.Fatal(err)
	}
	// The resource appears between plan and script: the script sees
	// another version than planned (conflict, Go plans again), and the new
	// plan keeps it.
	write(t, s, ww.Write{Op: ww.OpUpdate, Type: "Patient", ID: "late", JSON: patient("late", "999911120", "Eerder")})
	reply, err := s.run(ctx, plans, nil, nil, nil)
	if err != nil || reply.status != "conflict" {
		t.Fatalf("stale plan: %v %+v", err, reply)
	}
	res, err := s.Commit(ctx, &ww.Commit{Writes: []ww.Write{w}})
	if err != nil || res[0].Outcome != ww.Unchanged {
		t.Fatalf("re-planned: %v %+v", err, res)
	}
	// A write the script decides: mode w with cond a over a resource that
	// is live at the expected version (forged plan: Go believed it absent).
	pl := plans[0]
	pl.expect = 1
	reply, err = s.run(ctx, []*wplan{pl}, nil, nil, nil)
	if err != nil || reply.status != "ok" || reply.skips[0] != 'u' {
		t.Fatalf("script did not skip the if-absent write: %v %+v", err, reply)
	}
	if got, _ := s.Read(ctx, "Patient", "late"); !strings.Contains(string(got.JSON), "Eerder") || got.VersionID != 1 {
		t.Fatalf("overwritten: %s", got.JSON)
	}
	// The same for ordering: a plan made before a newer message landed.
	old := ww.Write{Op: ww.OpUpdate, Type: "Patient", ID: "ordered", SourceTime: minute(2026, 1, 1, 8, 0), JSON: patient("ordered", "999911120", "Oud")}
	plans, err = s.plan(ctx, []ww.Write{old}, false)
	if err != nil {
		t.Fatal(err)
	}
	write(t, s, ww.Write{Op: ww.OpUpdate, Type: "Patient", ID: "ordered", SourceTime: minute(2026, 1, 1, 9, 0), JSON: patient("ordered", "999911120", "Nieuw")})
	plans[0].expect = 1
	reply, err = s.run(ctx, plans, nil, nil, nil)
	if err != nil || reply.status != "ok" || reply.skips[0] != 's' {
		t.Fatalf("script did not skip the older write: %v %+v", err, reply)
	}
	if got, _ := s.Read(ctx, "Patient", "ordered"); !strings.Contains(string(got.JSON), "Nieuw") {
		t.Fatalf("overwritten by an older message: %s", got.JSON)
	}
}

func TestSourceTimeOrdering(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		up := func(id, name string, st ww.SourceTime) ww.Outcome {
			t.Helper()
			res, err := s.Commit(ctx, &ww.Commit{Writes: []ww.Write{{Op: ww.OpUpdate, Type: "Patient", ID: id, SourceTime: st, JSON: patient(id, "999911120", name)}}})
			if err != nil {
				t.Fatal(err)
			}
			return res[0].Outcome
		}
		cases := []struct {
			name          string
			stored, write ww.SourceTime
			want          ww.Outcome
		}{
			{"older minute does not overwrite", minute(2026, 11, 10, 9, 30), minute(2026, 11, 10, 9, 29), ww.Superseded},
			{"same minute overwrites", minute(2026, 11, 10, 9, 30), minute(2026, 11, 10, 9, 30), ww.Updated},
			{"newer minute overwrites", minute(2026, 11, 10, 9, 30), minute(2026, 11, 10, 9, 31), ww.Updated},
			{"a day-precision message on the same day overwrites (coarser precision: equal)", minute(2026, 11, 10, 9, 30), day(2026, 11, 10), ww.Updated},
			{"a day-precision message of the day before does not", minute(2026, 11, 10, 9, 30), day(2026, 11, 9), ww.Superseded},
			{"a minute inside a stored day overwrites (equal at day precision)", day(2026, 11, 10), minute(2026, 11, 10, 0, 5), ww.Updated},
			{"a minute of the day before a stored day does not", day(2026, 11, 10), minute(2026, 11, 9, 23, 59), ww.Superseded},
		}
		for i, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				id := "ord" + string(rune('a'+i))
				if o := up(id, "first", c.stored); o != ww.Created {
					t.Fatalf("first write: %v", o)
				}
				if o := up(id, "second", c.write); o != c.want {
					t.Fatalf("outcome %v, want %v", o, c.want)
				}
				got, _ := s.Read(ctx, "Patient", id)
				wantName, wantLo := "second", c.write.Lo
				if c.want == ww.Superseded {
					wantName, wantLo = "first", c.stored.Lo
				}
				if !strings.Contains(string(got.JSON), wantName) || got.SourceTime.UnixMilli() != wantLo {
					t.Fatalf("stored %s with source time %v", got.JSON, got.SourceTime)
				}
			})
		}
		// A write without a source time (REST) always lands, and a version
		// without one never supersedes.
		up("ordz", "hl7", minute(2026, 11, 10, 9, 30))
		write(t, s, ww.Write{Op: ww.OpUpdate, Type: "Patient", ID: "ordz", JSON: patient("ordz", "999911120", "rest")})
		if o := up("ordz", "old hl7", minute(2020, 1, 1, 0, 0)); o != ww.Updated {
			t.Fatalf("after a REST write: %v", o)
		}
	})
}

func TestReceiptIsAtomicWithTheCommit(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		write(t, s, ww.Write{Op: ww.OpCreate, Type: "Patient", ID: "taken", JSON: patient("taken", "999911120", "A")})
		rc := &ww.Receipt{Kind: "hl7", Key: "MSG1|APP|FAC", Value: []byte(`{"ack":"AA"}`), TTL: time.Hour}
		// A failing commit leaves no receipt.
		_, err := s.Commit(ctx, &ww.Commit{Receipt: rc, Writes: []ww.Write{
			{Op: ww.OpUpdate, Type: "Appointment", ID: "a1", JSON: []byte(`{"resourceType":"Appointment","status":"booked","participant":[{"status":"accepted"}]}`)},
			{Op: ww.OpCreate, Type: "Patient", ID: "taken", JSON: patient("taken", "999911120", "B")},
		}})
		if !ww.IsKind(err, ww.KindConflict) {
			t.Fatalf("want conflict, got %v", err)
		}
		if v, err := s.Receipt(ctx, "hl7", "MSG1|APP|FAC"); err != nil || v != nil {
			t.Fatalf("receipt of a failed commit: %q %v", v, err)
		}
		// A commit across shards lands with its receipt and its TTL.
		res, err := s.Commit(ctx, &ww.Commit{Receipt: rc, Writes: []ww.Write{
			{Op: ww.OpUpdate, Type: "Appointment", ID: "a1", JSON: []byte(`{"resourceType":"Appointment","status":"booked","participant":[{"status":"accepted"}]}`)},
			{Op: ww.OpUpdate, IfAbsent: true, Type: "Patient", ID: "taken", JSON: patient("taken", "999911120", "B")},
		}})
		if err != nil || res[0].Outcome != ww.Created || res[1].Outcome != ww.Unchanged {
			t.Fatalf("commit: %v %+v", err, res)
		}
		v, err := s.Receipt(ctx, "hl7", "MSG1|APP|FAC")
		if err != nil || string(v) != `{"ack":"AA"}` {
			t.Fatalf("receipt: %q %v", v, err)
		}
		ttl, _ := s.rdb.PTTL(ctx, s.keys.receipt("hl7", "MSG1|APP|FAC")).Result()
		if ttl <= 0 || ttl > time.Hour {
			t.Fatalf("receipt TTL %v", ttl)
		}
		found, err := s.FindReceipts(ctx, "hl7", "MSG1|", 10)
		if err != nil || len(found) != 1 || string(found["MSG1|APP|FAC"]) != `{"ack":"AA"}` {
			t.Fatalf("find: %v %v", found, err)
		}
		// A commit with nothing but a receipt.
		if _, err := s.Commit(ctx, &ww.Commit{Receipt: &ww.Receipt{Kind: "hl7", Key: "MSG*2|A|F", Value: []byte("x")}}); err != nil {
			t.Fatal(err)
		}
		if found, _ := s.FindReceipts(ctx, "hl7", "MSG*2|", 10); len(found) != 1 {
			t.Fatalf("glob characters in the key: %v", found)
		}
		if found, _ := s.FindReceipts(ctx, "hl7", "MSG", 10); len(found) != 2 {
			t.Fatalf("prefix: %v", found)
		}
	})
}

func TestClusterRecoveryWritesTheReceiptOfACommittedTransaction(t *testing.T) {
	s := openStore(t, redistest.SharedCluster(t).Client(t))
	ctx := context.Background()
	writes := txWrites(4, "rcpt")
	plans, err := s.plan(ctx, writes, false)
	if err != nil {
		t.Fatal(err)
	}
	// Run the protocol up to the commit point, then "crash": the receipt is
	// in the transaction record only.
	rc := &receiptPlan{key: s.keys.receipt("hl7", "CRASH|A|F"), value: "ack", ttlMs: 60000}
	txid := ww.NewID()
	deadline := s.clock.Now().Add(s.txTimeout).UnixMilli()
	var names []string
	for _, pl := range plans {
		names = append(names, pl.w.Type+"/"+pl.w.ID)
	}
	s.rdb.HSet(ctx, s.keys.tx(txid), "state", "preparing", "deadline", deadline, "writes", strings.Join(names, ","), "rkey", rc.key, "rval", rc.value, "rttl", rc.ttlMs)
	s.rdb.ZAdd(ctx, s.keys.txOpen(), redisZ(deadline, txid))
	for _, g := range s.groupByTag(plans, nil) {
		a := newArgv()
		a.add(len(g.plans), 0, txid)
		for _, pl := range g.plans {
			s.addWrite(a, pl)
		}
		if _, err := s.scripts.prepare.Run(ctx, s.rdb, a.keys, a.args...).Result(); err != nil {
			t.Fatal(err)
		}
	}
	s.scripts.txstate.Run(ctx, s.rdb, []string{s.keys.tx(txid)}, "preparing", "committed")
	if v, _ := s.Receipt(ctx, "hl7", "CRASH|A|F"); v != nil {
		t.Fatal("receipt visible before apply")
	}
	if err := s.RecoverTransactions(ctx, true); err != nil {
		t.Fatal(err)
	}
	if v, _ := s.Receipt(ctx, "hl7", "CRASH|A|F"); string(v) != "ack" {
		t.Fatalf("recovery did not write the receipt: %q", v)
	}
	for _, w := range writes {
		if _, err := s.Read(ctx, "Patient", w.ID); err != nil {
			t.Fatal(err)
		}
	}
}

func TestOldRecordsWithoutSourceTimeDecode(t *testing.T) {
	r, err := decodeRecord([]byte("v3\t\t1700000000000\t\torg\thl7\tsrc\n{}"))
	if err != nil || r.vid != 3 || r.srcLo != 0 || r.prov.Source != "src" || string(r.json) != "{}" {
		t.Fatalf("%+v %v", r, err)
	}
	r2 := &record{vid: 4, ms: 5, prov: ww.Provenance{Source: "s"}, srcLo: 1234, json: []byte("{}")}
	back, err := decodeRecord(r2.encode())
	if err != nil || back.srcLo != 1234 || back.prov.Source != "s" {
		t.Fatalf("%+v %v", back, err)
	}
}

func TestDeadLetters(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		t0 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
		for i, id := range []string{"dl1", "dl2", "dl3"} {
			if existed, err := s.PutDeadLetter(ctx, "hl7", id, t0.Add(time.Duration(i)*time.Second), []byte(id)); err != nil || existed {
				t.Fatal(err, existed)
			}
		}
		if existed, _ := s.PutDeadLetter(ctx, "hl7", "dl2", t0.Add(time.Second), []byte("dl2 again")); !existed {
			t.Fatal("replacing did not report the existing dead letter")
		}
		page, next, err := s.DeadLetters(ctx, "hl7", 0, 2)
		if err != nil || len(page) != 2 || page[0].ID != "dl3" || page[1].ID != "dl2" || string(page[1].Value) != "dl2 again" || next == 0 {
			t.Fatalf("page 1: %v %+v %d", err, page, next)
		}
		page, next, err = s.DeadLetters(ctx, "hl7", next, 2)
		if err != nil || len(page) != 1 || page[0].ID != "dl1" || next != 0 {
			t.Fatalf("page 2: %v %+v %d", err, page, next)
		}
		if d, err := s.GetDeadLetter(ctx, "hl7", "dl1"); err != nil || !d.Received.Equal(t0) {
			t.Fatalf("get: %v %+v", err, d)
		}
		if existed, err := s.DeleteDeadLetter(ctx, "hl7", "dl1"); err != nil || !existed {
			t.Fatal(err)
		}
		if _, err := s.GetDeadLetter(ctx, "hl7", "dl1"); !ww.IsKind(err, ww.KindNotFound) {
			t.Fatalf("after delete: %v", err)
		}
	})
}

// TestCommitBatchAppliesEachCommitAlone drives commitbatch.lua with three
// commits, the second planned before another writer changed its resource:
// it fails its version check and writes nothing, the others land with their
// receipt and lease release.
func TestCommitBatchAppliesEachCommitAlone(t *testing.T) {
	s := openStore(t, redistest.Shared(t).Client(t))
	ctx := context.Background()
	write(t, s, ww.Write{Op: ww.OpUpdate, Type: "Patient", ID: "b-stale", JSON: patient("b-stale", "999911120", "Eerst")})
	planOf := func(w ww.Write) []*wplan {
		t.Helper()
		plans, err := s.plan(ctx, []ww.Write{w}, false)
		if err != nil {
			t.Fatal(err)
		}
		return plans
	}
	pa := planOf(ww.Write{Op: ww.OpUpdate, Type: "Patient", ID: "b-one", JSON: patient("b-one", "999911120", "Een")})
	pb := planOf(ww.Write{Op: ww.OpUpdate, Type: "Patient", ID: "b-stale", JSON: patient("b-stale", "999911120", "Verouderd")})
	pc := planOf(ww.Write{Op: ww.OpUpdate, Type: "Patient", ID: "b-three", JSON: patient("b-three", "999911120", "Drie")})
	write(t, s, ww.Write{Op: ww.OpUpdate, Type: "Patient", ID: "b-stale", JSON: patient("b-stale", "999911120", "Tussendoor")})
	if ok, err := s.Lease(ctx, "hl7.b-three", "me", time.Minute); err != nil || !ok {
		t.Fatalf("lease: %v %v", ok, err)
	}
	rc := &receiptPlan{key: s.keys.receipt("hl7", "b-three"), value: "ack", ttlMs: 60000}
	var batch []*pendingCommit
	for _, c := range []struct {
		plans []*wplan
		rc    *receiptPlan
		rel   *releasePlan
	}{{pa, nil, nil}, {pb, nil, nil}, {pc, rc, &releasePlan{key: s.keys.lease("hl7.b-three"), holder: "me"}}} {
		a := s.commitArgs(c.plans, nil, c.rc, c.rel)
		batch = append(batch, &pendingCommit{ctx: ctx, keys: a.keys, args: a.args, done: make(chan struct{})})
	}
	s.runBatch(batch)
	var status []string
	for _, p := range batch {
		<-p.done
		r, err := parseReply(p.v)
		if p.err != nil || err != nil {
			t.Fatalf("batch reply: %v %v", p.err, err)
		}
		status = append(status, r.status)
	}
	if strings.Join(status, ",") != "ok,conflict,ok" {
		t.Fatalf("replies = %v, want ok,conflict,ok", status)
	}
	for id, want := range map[string]string{"b-one": "Een", "b-stale": "Tussendoor", "b-three": "Drie"} {
		got, err := s.Read(ctx, "Patient", id)
		if err != nil || !strings.Contains(string(got.JSON), want) {
			t.Fatalf("Patient/%s = %v %v, want %s", id, got, err, want)
		}
	}
	if v, _ := s.Receipt(ctx, "hl7", "b-three"); string(v) != "ack" {
		t.Fatalf("receipt = %q", v)
	}
	if h, _ := s.LeaseHolder(ctx, "hl7.b-three"); h != "" {
		t.Fatalf("lease still held by %q", h)
	}
	// Concurrent commits through the batcher all land.
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			id := fmt.Sprintf("b-par-%d", i)
			_, err := s.Commit(ctx, &ww.Commit{Writes: []ww.Write{{Op: ww.OpUpdate, Type: "Patient", ID: id, JSON: patient(id, "999911120", "Par")}}})
			errs <- err
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 16; i++ {
		if _, err := s.Read(ctx, "Patient", fmt.Sprintf("b-par-%d", i)); err != nil {
			t.Fatal(err)
		}
	}
}

// TestUniqueSetsDropsRepeatedSetEntriesOnly: a repeated set member goes
// once; sorted-set entries (whose last score wins) stay as they are.
func TestUniqueSetsDropsRepeatedSetEntriesOnly(t *testing.T) {
	in := []ixop{{kind: 's', key: "k", member: "a"}, {kind: 'z', key: "z", member: "a", score: "1"},
		{kind: 's', key: "k", member: "a"}, {kind: 's', key: "k", member: "b"}, {kind: 'z', key: "z", member: "a", score: "2"},
		{kind: 's', key: "k2", member: "a"}}
	got := uniqueSets(in)
	var ids []string
	for _, o := range got {
		ids = append(ids, string(o.kind)+o.key+"="+o.member+o.score)
	}
	if want := "sk=a,zz=a1,sk=b,zz=a2,sk2=a"; strings.Join(ids, ",") != want {
		t.Fatalf("uniqueSets = %s, want %s", strings.Join(ids, ","), want)
	}
	if one := in[:2]; len(uniqueSets(one)) != 2 {
		t.Fatal("entries without repeats changed")
	}
}
