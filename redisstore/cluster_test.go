package redisstore

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/internal/redistest"
)

// crashAfterPrepare runs phase one of a Cluster transaction and stops, as a
// coordinator that dies would; with commit it also flips the record.
func crashAfterPrepare(t *testing.T, s *Store, writes []ww.Write, commit bool) string {
	t.Helper()
	ctx := context.Background()
	plans, err := s.plan(ctx, writes, false)
	if err != nil {
		t.Fatal(err)
	}
	txid := ww.NewID()
	deadline := s.clock.Now().Add(s.txTimeout).UnixMilli()
	var names string
	for i, pl := range plans {
		if i > 0 {
			names += ","
		}
		names += pl.w.Type + "/" + pl.w.ID
	}
	s.rdb.HSet(ctx, s.keys.tx(txid), "state", "preparing", "deadline", deadline, "writes", names)
	s.rdb.ZAdd(ctx, s.keys.txOpen(), redisZ(deadline, txid))
	for _, g := range s.groupByTag(plans, nil) {
		a := newArgv()
		a.add(len(g.plans), 0, txid)
		for _, pl := range g.plans {
			s.addWrite(a, pl)
		}
		v, err := s.scripts.prepare.Run(ctx, s.rdb, a.keys, a.args...).Result()
		if r, _ := parseReply(v); err != nil || r.status != "ok" {
			t.Fatalf("prepare: %v %v", err, v)
		}
	}
	if commit {
		s.scripts.txstate.Run(ctx, s.rdb, []string{s.keys.tx(txid)}, "preparing", "committed")
	}
	return txid
}

func txWrites(n int, tag string) []ww.Write {
	var ws []ww.Write
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("%s%d", tag, i)
		ws = append(ws, ww.Write{Op: ww.OpUpdate, Type: "Patient", ID: id, JSON: patient(id, "999911120", tag)})
	}
	return ws
}

func TestClusterRecoveryRollsBackAnUncommittedTransaction(t *testing.T) {
	s := openStore(t, redistest.SharedCluster(t).Client(t))
	ctx := context.Background()
	write(t, s, ww.Write{Op: ww.OpCreate, Type: "Patient", ID: "rb0", JSON: patient("rb0", "999911120", "before")})
	crashAfterPrepare(t, s, txWrites(6, "rb"), false)
	// Readers see the state before the transaction.
	if r, err := s.Read(ctx, "Patient", "rb0"); err != nil || r.VersionID != 1 {
		t.Fatalf("reader saw an uncommitted version: %v %+v", err, r)
	}
	if _, err := s.Read(ctx, "Patient", "rb3"); !ww.IsKind(err, ww.KindNotFound) {
		t.Fatalf("uncommitted create visible: %v", err)
	}
	// Before the deadline recovery leaves it alone; after, it rolls back.
	if err := s.RecoverTransactions(ctx, true); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.rdb.ZCard(ctx, s.keys.txOpen()).Result(); n != 1 {
		t.Fatalf("a transaction inside its deadline was recovered")
	}
	s.clock.(*ww.FixedClock).Advance(time.Minute)
	if err := s.RecoverTransactions(ctx, true); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.rdb.ZCard(ctx, s.keys.txOpen()).Result(); n != 0 {
		t.Fatalf("transaction still open after recovery")
	}
	// The resources are writable again and untouched.
	r := write(t, s, ww.Write{Op: ww.OpUpdate, Type: "Patient", ID: "rb0", JSON: patient("rb0", "999911120", "after")})
	if r.Resource.VersionID != 2 {
		t.Fatalf("version after rollback: %d", r.Resource.VersionID)
	}
	if _, err := s.Read(ctx, "Patient", "rb3"); !ww.IsKind(err, ww.KindNotFound) {
		t.Fatalf("rolled-back create visible: %v", err)
	}
}

func TestClusterCommittedTransactionIsVisibleAndFinishedByRecovery(t *testing.T) {
	s := openStore(t, redistest.SharedCluster(t).Client(t))
	ctx := context.Background()
	crashAfterPrepare(t, s, txWrites(6, "cm"), true)
	// Committed but not applied: readers already see every write.
	for i := 0; i < 6; i++ {
		if _, err := s.Read(ctx, "Patient", fmt.Sprintf("cm%d", i)); err != nil {
			t.Fatalf("committed write cm%d not visible: %v", i, err)
		}
	}
	// A writer meeting the mark rolls the transaction forward first.
	r := write(t, s, ww.Write{Op: ww.OpUpdate, Type: "Patient", ID: "cm0", JSON: patient("cm0", "999911120", "next")})
	if r.Resource.VersionID != 2 {
		t.Fatalf("write after a committed transaction got version %d, want 2", r.Resource.VersionID)
	}
	if err := s.RecoverTransactions(ctx, true); err != nil {
		t.Fatal(err)
	}
	found, err := s.Search(ctx, &ww.Query{Type: "Patient", Count: 100, Clauses: []ww.Clause{{Param: "identifier", Values: []string{"999911120"}}}})
	if err != nil || len(found.Resources) != 6 {
		t.Fatalf("index after roll-forward: %v, %d resources", err, len(found.Resources))
	}
	if n, _ := s.rdb.ZCard(ctx, s.keys.txOpen()).Result(); n != 0 {
		t.Fatalf("transaction still open")
	}
}

func redisZ(score int64, member string) redis.Z {
	return redis.Z{Score: float64(score), Member: member}
}
