package redisstore

import (
	"context"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/fhirjson"
)

// Cluster transactions.
//
// A Commit whose keys span hash slots cannot be one script on Redis Cluster.
// It runs in three phases:
//
//  1. The coordinator writes a transaction record P:tx:<txid> (state
//     "preparing", a deadline, the list of writes) and indexes it in
//     P:txopen. Per shard, prepare.lua checks expected versions and that
//     shard's share of the guards, parks the new record in P:{T.ss}:p:<id>
//     and marks the current record with the txid.
//  2. txstate.lua flips the record preparing → committed. That single write
//     is the commit point.
//  3. Per shard, apply.lua installs the pending records and their index
//     entries; then the record is deleted.
//
// Readers that meet a marked record consult the transaction record: they see
// the pending version once it is committed and the old one before, so a
// transaction's resources become visible by id all at once. Writers that meet
// a mark wait for the transaction, or finish it (roll forward when committed,
// roll back when still preparing past its deadline). Start-up recovery does
// the same for every open transaction.
//
// Isolation reached on Cluster: reads by id are atomic per transaction,
// also when one request reads many records across nodes (readSnapshot: a
// page of search results shows a transaction wholly or not at all); a
// search that runs during phase 3 may match on the index entries of some
// shards and not yet of others (milliseconds); guards are checked per shard, so two
// conditional creates with the same criteria are serialised by a criteria
// lock (P:{T.cond}:lk:…) rather than by the guard alone. On standalone Redis
// every Commit is one script and fully serialisable.

// commitCluster runs the protocol for plans and guards spanning slots.
func (s *Store) commitCluster(ctx context.Context, plans []*wplan, guards []*gplan, rc *receiptPlan) (scriptReply, error) {
	const op = "redisstore.Commit"
	txid := ww.NewID()
	deadline := s.clock.Now().Add(s.txTimeout).UnixMilli()
	var names []string
	for _, pl := range plans {
		if pl.write {
			names = append(names, pl.w.Type+"/"+pl.w.ID)
		}
	}
	txKey := s.keys.tx(txid)
	pipe := s.rdb.TxPipeline()
	fields := []any{"state", "preparing", "deadline", deadline, "writes", strings.Join(names, ",")}
	if rc != nil {
		// The receipt rides in the transaction record: it is committed with
		// the commit point and written when the transaction is applied (by
		// the coordinator, or by recovery).
		fields = append(fields, "rkey", rc.key, "rval", rc.value, "rttl", rc.ttlMs)
	}
	pipe.HSet(ctx, txKey, fields...)
	if _, err := pipe.Exec(ctx); err != nil {
		return scriptReply{}, redisErr(op, err)
	}
	if err := s.rdb.ZAdd(ctx, s.keys.txOpen(), redis.Z{Score: float64(deadline), Member: txid}).Err(); err != nil {
		return scriptReply{}, redisErr(op, err)
	}
	groups := s.groupByTag(plans, guards)
	replies := make([]scriptReply, len(groups))
	errs := make([]error, len(groups))
	var wg sync.WaitGroup
	for i, g := range groups {
		wg.Add(1)
		go func(i int, g *tagGroup) {
			defer wg.Done()
			a := newArgv()
			a.add(len(g.plans), len(g.guards), txid)
			for _, pl := range g.plans {
				s.addWrite(a, pl)
			}
			for _, gp := range g.guards {
				s.addGuard(a, gp)
			}
			v, err := s.runScript(ctx, "prepare", s.scripts.prepare, a.keys, a.args)
			if err != nil {
				errs[i] = err
				return
			}
			replies[i], errs[i] = parseReply(v)
			// Map the group-local write indexes back to the commit's.
			if replies[i].status == "conflict" || replies[i].status == "locked" {
				replies[i].index = g.index[replies[i].index]
			}
			if len(replies[i].skips) > 0 {
				skips := map[int]byte{}
				for j, why := range replies[i].skips {
					skips[g.index[j]] = why
				}
				replies[i].skips = skips
			}
		}(i, g)
	}
	wg.Wait()
	var fail *scriptReply
	var failErr error
	for i := range groups {
		if errs[i] != nil && failErr == nil {
			failErr = errs[i]
		}
		if errs[i] == nil && replies[i].status != "ok" && fail == nil {
			fail = &replies[i]
		}
	}
	if fail != nil || failErr != nil {
		s.abortTx(context.WithoutCancel(ctx), txid, plans)
		if failErr != nil {
			return scriptReply{}, redisErr(op, failErr)
		}
		return *fail, nil
	}
	moved, err := s.scripts.txstate.Run(ctx, s.rdb, []string{txKey}, "preparing", "committed").Result()
	if err != nil {
		// The commit point is unknown: recovery decides (it rolls back a
		// transaction still preparing after its deadline).
		return scriptReply{}, redisErr(op, err)
	}
	if n, _ := moved.(int64); n != 1 {
		s.abortTx(context.WithoutCancel(ctx), txid, plans)
		return scriptReply{status: "conflict", index: 0, vid: -1}, nil
	}
	s.applyTx(context.WithoutCancel(ctx), txid, plans, rc)
	out := scriptReply{status: "ok"}
	for i := range replies {
		for j, why := range replies[i].skips {
			if out.skips == nil {
				out.skips = map[int]byte{}
			}
			out.skips[j] = why
		}
	}
	return out, nil
}

type tagGroup struct {
	plans  []*wplan
	index  []int // commit index of each plan
	guards []*gplan
}

// groupByTag splits writes and guard ranges by hash tag (shard).
func (s *Store) groupByTag(plans []*wplan, guards []*gplan) []*tagGroup {
	byTag := map[string]*tagGroup{}
	get := func(t string) *tagGroup {
		g := byTag[t]
		if g == nil {
			g = &tagGroup{}
			byTag[t] = g
		}
		return g
	}
	for i, pl := range plans {
		g := get(tagOfKeyParts(pl.w.Type, pl.shard))
		g.plans = append(g.plans, pl)
		g.index = append(g.index, i)
	}
	for _, gp := range guards {
		// Each tag evaluates the guard over its own ranges and must find
		// exactly the expected ids that live in it.
		per := map[string]*gplan{}
		shardOf := map[string]int{}
		for ci, cl := range gp.clauses {
			for _, r := range cl {
				sub := per[r.tag]
				if sub == nil {
					sub = &gplan{typ: gp.typ, clauses: make([][]grange, len(gp.clauses))}
					per[r.tag] = sub
					shardOf[r.tag] = r.shard
				}
				sub.clauses[ci] = append(sub.clauses[ci], r)
			}
		}
		for tag, sub := range per {
			sub.expected = s.expectedIn(gp.expected, shardOf[tag])
			if gp.fence {
				sub.expected, sub.fence = gp.expected, true
			}
			get(tag).guards = append(get(tag).guards, sub)
		}
	}
	out := make([]*tagGroup, 0, len(byTag))
	tags := make([]string, 0, len(byTag))
	for t := range byTag {
		tags = append(tags, t)
	}
	sort.Strings(tags)
	for _, t := range tags {
		out = append(out, byTag[t])
	}
	return out
}

// expectedIn keeps the expected ids that live in shard (ids hash to one
// shard of the guard's type, and each shard checks only its own).
func (s *Store) expectedIn(expected string, shard int) string {
	if expected == "" {
		return ""
	}
	var keep []string
	for _, id := range strings.Split(expected, ",") {
		if s.keys.shard(id) == shard {
			keep = append(keep, id)
		}
	}
	return strings.Join(keep, ",")
}

func (s *Store) applyTx(ctx context.Context, txid string, plans []*wplan, rc *receiptPlan) {
	groups := s.groupByTag(plans, nil)
	var wg sync.WaitGroup
	ok := true
	var mu sync.Mutex
	for _, g := range groups {
		wg.Add(1)
		go func(g *tagGroup) {
			defer wg.Done()
			a := newArgv()
			a.add(len(g.plans), 0, txid)
			for _, pl := range g.plans {
				s.addWrite(a, pl)
			}
			if _, err := s.runScript(ctx, "apply", s.scripts.apply, a.keys, a.args); err != nil {
				s.log.Error("cluster transaction committed but not applied; recovery will finish it", "tx", txid, "err", err)
				mu.Lock()
				ok = false
				mu.Unlock()
			}
		}(g)
	}
	wg.Wait()
	if ok && rc != nil {
		var err error
		if rc.ttlMs > 0 {
			err = s.rdb.Set(ctx, rc.key, rc.value, time.Duration(rc.ttlMs)*time.Millisecond).Err()
		} else {
			err = s.rdb.Set(ctx, rc.key, rc.value, 0).Err()
		}
		if err != nil {
			s.log.Error("cluster transaction committed but its receipt not written; recovery will finish it", "tx", txid, "err", err)
			ok = false
		}
	}
	if ok {
		s.forgetTx(ctx, txid)
	}
}

func (s *Store) abortTx(ctx context.Context, txid string, plans []*wplan) {
	_, _ = s.scripts.txstate.Run(ctx, s.rdb, []string{s.keys.tx(txid)}, "preparing", "aborted").Result()
	ok := true
	for _, g := range s.groupByTag(plans, nil) {
		a := newArgv()
		a.add(len(g.plans), 0, txid)
		for _, pl := range g.plans {
			s.addWrite(a, pl)
		}
		if _, err := s.runScript(ctx, "abort", s.scripts.abort, a.keys, a.args); err != nil {
			s.log.Error("cluster transaction rollback incomplete; recovery will finish it", "tx", txid, "err", err)
			ok = false
		}
	}
	if ok {
		s.forgetTx(ctx, txid)
	}
}

func (s *Store) forgetTx(ctx context.Context, txid string) {
	s.rdb.Del(ctx, s.keys.tx(txid))
	s.rdb.ZRem(ctx, s.keys.txOpen(), txid)
}

// resolvePending returns what a reader sees of a record marked by a Cluster
// transaction: the pending version when the transaction committed, the
// marked record otherwise (nil for a placeholder of a resource that does not
// exist yet).
func (s *Store) resolvePending(ctx context.Context, typ, id string, rec *record) (*record, error) {
	state, err := s.rdb.HGet(ctx, s.keys.tx(rec.txid), "state").Result()
	if err != nil && err != redis.Nil {
		return nil, redisErr("redisstore.Read", err)
	}
	return s.resolveWithState(ctx, typ, id, rec, state)
}

// resolveWithState is resolvePending with the transaction's state already
// read ("" when its record is gone).
func (s *Store) resolveWithState(ctx context.Context, typ, id string, rec *record, state string) (*record, error) {
	if state == "committed" {
		// The pending version, unless a later transaction parks its own.
		vals, err := s.rdb.HMGet(ctx, s.keys.pend(typ, id), "tx", "rec").Result()
		if err != nil {
			return nil, redisErr("redisstore.Read", err)
		}
		if tx, _ := vals[0].(string); tx == rec.txid {
			if raw, ok := vals[1].(string); ok {
				if p, err := decodeRecord([]byte(raw)); err == nil {
					return p, nil
				}
			}
		}
		// Applied meanwhile: the transaction's version (the one after the
		// marked record) is current, or in history when a later write came.
		want := rec.vid + 1
		if raw, err := s.rdb.Get(ctx, s.keys.cur(typ, id)).Bytes(); err == nil {
			if cur, err := decodeRecord(raw); err == nil && cur.vid == want {
				cur.txid = ""
				return cur, nil
			}
		}
		if raw, err := s.rdb.HGet(ctx, s.keys.hist(typ, id), strconv.FormatInt(want, 10)).Bytes(); err == nil {
			if h, err := decodeRecord(raw); err == nil {
				return h, nil
			}
		}
	}
	if rec.vid == 0 {
		return nil, nil
	}
	out := *rec
	out.txid = ""
	return &out, nil
}

// waitUnlocked waits for the transaction holding a resource, finishing it
// when it is committed or stale.
func (s *Store) waitUnlocked(ctx context.Context, txid string) error {
	deadline := time.Now().Add(s.txTimeout + time.Second)
	for {
		done, err := s.recoverTx(ctx, txid, false)
		if err != nil {
			return err
		}
		if done {
			return nil
		}
		if time.Now().After(deadline) {
			return ww.Errorf(ww.KindConflict, "lock-error", "the resource is held by a transaction that has not finished; try again")
		}
		select {
		case <-ctx.Done():
			return redisErr("redisstore.Commit", ctx.Err())
		case <-time.After(time.Duration(2+rand.IntN(8)) * time.Millisecond):
		}
	}
}

// RecoverTransactions finishes or rolls back every open Cluster transaction
// past its deadline (all of them when force is set and the caller knows no
// coordinator is alive, such as at start-up of the only gateway — force only
// applies to transactions past their deadline or already decided).
func (s *Store) RecoverTransactions(ctx context.Context, force bool) error {
	ids, err := s.rdb.ZRange(ctx, s.keys.txOpen(), 0, -1).Result()
	if err != nil {
		return redisErr("redisstore.RecoverTransactions", err)
	}
	for _, txid := range ids {
		if _, err := s.recoverTx(ctx, txid, force); err != nil {
			return err
		}
	}
	return nil
}

// recoverTx finishes a transaction that is committed, rolls back one that
// is aborted or still preparing past its deadline, and reports whether the
// transaction is finished.
func (s *Store) recoverTx(ctx context.Context, txid string, _ bool) (bool, error) {
	const op = "redisstore.recover"
	rec, err := s.rdb.HGetAll(ctx, s.keys.tx(txid)).Result()
	if err != nil {
		return false, redisErr(op, err)
	}
	state := rec["state"]
	if state == "" {
		s.rdb.ZRem(ctx, s.keys.txOpen(), txid)
		return true, nil
	}
	deadline, _ := strconv.ParseInt(rec["deadline"], 10, 64)
	if state == "preparing" {
		if s.clock.Now().UnixMilli() < deadline {
			return false, nil
		}
		moved, err := s.scripts.txstate.Run(ctx, s.rdb, []string{s.keys.tx(txid)}, "preparing", "aborted").Result()
		if err != nil {
			return false, redisErr(op, err)
		}
		if n, _ := moved.(int64); n == 1 {
			state = "aborted"
		} else if st, _ := moved.(string); st != "" {
			state = st
		}
	}
	plans, err := s.recoveryPlans(ctx, txid, rec["writes"])
	if err != nil {
		return false, err
	}
	switch state {
	case "committed":
		s.log.Info("finishing a committed cluster transaction", "tx", txid, "writes", len(plans))
		var rc *receiptPlan
		if rec["rkey"] != "" {
			ttl, _ := strconv.ParseInt(rec["rttl"], 10, 64)
			rc = &receiptPlan{key: rec["rkey"], value: rec["rval"], ttlMs: ttl}
		}
		s.applyTx(ctx, txid, plans, rc)
	case "aborted":
		s.log.Info("rolling back a cluster transaction", "tx", txid, "writes", len(plans))
		s.abortTx(ctx, txid, plans)
	}
	return true, nil
}

// recoveryPlans rebuilds the apply plans of a transaction from its pending
// records: the index operations are recomputed from the current and the
// pending JSON, as the coordinator did.
func (s *Store) recoveryPlans(ctx context.Context, txid, writes string) ([]*wplan, error) {
	const op = "redisstore.recover"
	var plans []*wplan
	if writes == "" {
		return nil, nil
	}
	for _, name := range strings.Split(writes, ",") {
		typ, id, ok := strings.Cut(name, "/")
		if !ok {
			continue
		}
		w := &ww.Write{Type: typ, ID: id}
		pl := &wplan{w: w, shard: s.keys.shard(id), nohist: isProjection(typ)}
		pend, err := s.rdb.HGetAll(ctx, s.keys.pend(typ, id)).Result()
		if err != nil {
			return nil, redisErr(op, err)
		}
		if pend["tx"] != txid {
			plans = append(plans, pl) // nothing pending: abort only clears marks
			continue
		}
		newRec, err := decodeRecord([]byte(pend["rec"]))
		if err != nil {
			return nil, ww.Wrap(op, ww.KindInternal, err, "corrupt pending version")
		}
		var oldIx []ixop
		if raw, err := s.rdb.Get(ctx, s.keys.cur(typ, id)).Bytes(); err == nil {
			if old, err := decodeRecord(raw); err == nil && old.vid > 0 && !old.deleted {
				if tree, err := fhirjson.Parse(old.json, fhirjson.Limits{MaxDepth: 200}); err == nil {
					oldIx = s.entries(typ, id, tree, old)
				}
			}
		}
		pl.write = true
		pl.rec = newRec
		if newRec.deleted {
			pl.ix = removals(oldIx)
		} else {
			tree, err := fhirjson.Parse(newRec.json, fhirjson.Limits{MaxDepth: 200})
			if err != nil {
				return nil, ww.Wrap(op, ww.KindInternal, err, "corrupt pending version")
			}
			pl.ix = diff(oldIx, s.entries(typ, id, tree, newRec))
		}
		plans = append(plans, pl)
	}
	return plans, nil
}

// condLock takes the Cluster lock that serialises conditional creates with
// the same criteria; it returns the release function.
func (s *Store) CondLock(ctx context.Context, typ, criteria string) (func(), error) {
	if s.cluster == nil {
		return func() {}, nil
	}
	key := s.keys.condLock(typ, criteria)
	token := ww.NewID()
	deadline := time.Now().Add(s.txTimeout)
	for {
		ok, err := s.rdb.SetNX(ctx, key, token, s.txTimeout).Result()
		if err != nil {
			return nil, redisErr("redisstore.CondLock", err)
		}
		if ok {
			return func() {
				c := context.WithoutCancel(ctx)
				if v, _ := s.rdb.Get(c, key).Result(); v == token {
					s.rdb.Del(c, key)
				}
			}, nil
		}
		if time.Now().After(deadline) {
			return nil, ww.Errorf(ww.KindConflict, "lock-error", "another conditional write with the same criteria is in progress; try again")
		}
		select {
		case <-ctx.Done():
			return nil, redisErr("redisstore.CondLock", ctx.Err())
		case <-time.After(time.Duration(2+rand.IntN(8)) * time.Millisecond):
		}
	}
}

// maxSnapshotRounds bounds how often a multi-record Cluster read is retried
// while transactions keep changing the records it reads.
const maxSnapshotRounds = 8

// readSnapshot reads the current records under keys on Cluster so that a
// transaction is wholly visible or not at all, although the keys span nodes
// and one pipeline is no snapshot. It reads the records, then the state of
// every transaction marking them, then the record headers again: when no
// header changed, every record held its value at the moment the states were
// read, and resolving the marks with those states shows each transaction
// either before (still preparing: none of its records is applied yet) or
// after (committed: all of them are prepared or applied). Otherwise it
// reads again, at most maxSnapshotRounds times.
func (s *Store) readSnapshot(ctx context.Context, typ string, ids, keys []string) ([]*record, error) {
	const op = "redisstore.readRecords"
	raws, err := s.getStrings(ctx, keys, false)
	if err != nil {
		return nil, err
	}
	for round := 0; ; round++ {
		recs := make([]*record, len(ids))
		states := map[string]string{}
		for i, raw := range raws {
			if raw == "" {
				continue
			}
			if recs[i], err = decodeRecord([]byte(raw)); err != nil {
				return nil, ww.Wrap(op, ww.KindInternal, err, "corrupt stored version")
			}
			if tx := recs[i].txid; tx != "" {
				states[tx] = ""
			}
		}
		if len(states) > 0 {
			pipe := s.rdb.Pipeline()
			cmds := map[string]*redis.StringCmd{}
			for tx := range states {
				cmds[tx] = pipe.HGet(ctx, s.keys.tx(tx), "state")
			}
			if _, err := pipe.Exec(ctx); err != nil && err != redis.Nil {
				return nil, redisErr(op, err)
			}
			for tx, c := range cmds {
				states[tx], _ = c.Result()
			}
		}
		stable, err := s.unchanged(ctx, keys, raws)
		if err != nil {
			return nil, err
		}
		if !stable && round+1 >= maxSnapshotRounds {
			return nil, ww.Errorf(ww.KindUnavailable, "transient", "the resources kept changing while they were read; try again").WithOp(op)
		}
		if stable {
			for i, rec := range recs {
				if rec != nil && rec.txid != "" {
					if recs[i], err = s.resolveWithState(ctx, typ, ids[i], rec, states[rec.txid]); err != nil {
						return nil, err
					}
				}
			}
			return recs, nil
		}
		if raws, err = s.getStrings(ctx, keys, false); err != nil {
			return nil, err
		}
	}
}

// unchanged reports whether the records under keys still have the headers
// of raws (a single record needs no second look).
func (s *Store) unchanged(ctx context.Context, keys, raws []string) (bool, error) {
	if len(keys) == 1 {
		return true, nil
	}
	again, err := s.getStrings(ctx, keys, true)
	if err != nil {
		return false, err
	}
	for i := range raws {
		if recordHead(raws[i]) != recordHead(again[i]) {
			return false, nil
		}
	}
	return true, nil
}

// recordHeadBytes covers a record header's version and transaction fields
// ("v<vid>\t<txid>\t"): a version id and a 16-character id fit well within.
const recordHeadBytes = 48

// recordHead is the version and transaction part of a record's header.
func recordHead(raw string) string {
	if i := strings.IndexByte(raw, '\t'); i >= 0 {
		if j := strings.IndexByte(raw[i+1:], '\t'); j >= 0 {
			return raw[:i+1+j]
		}
	}
	if len(raw) > recordHeadBytes {
		return raw[:recordHeadBytes]
	}
	return raw
}

// getStrings reads keys in one pipeline ("" for a missing key); with head
// only the first recordHeadBytes bytes of each.
func (s *Store) getStrings(ctx context.Context, keys []string, head bool) ([]string, error) {
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.StringCmd, len(keys))
	for i, k := range keys {
		if head {
			cmds[i] = pipe.GetRange(ctx, k, 0, recordHeadBytes-1)
		} else {
			cmds[i] = pipe.Get(ctx, k)
		}
	}
	if _, err := pipe.Exec(ctx); err != nil && err != redis.Nil {
		return nil, redisErr("redisstore.readRecords", err)
	}
	out := make([]string, len(keys))
	for i, c := range cmds {
		out[i], _ = c.Result()
	}
	return out, nil
}
