package redisstore

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/conformance"
	"github.com/wachtwijzer/wachtwijzer/fhirjson"
	"github.com/wachtwijzer/wachtwijzer/fhirtime"
)

// maxCommitAttempts bounds the retries of a Commit whose writes raced
// another writer (unconditional updates re-read and try again).
const maxCommitAttempts = 50

// wplan is one write, resolved against the current version.
type wplan struct {
	w      *ww.Write
	shard  int
	blind  bool // a create planned without reading what is stored
	expect int64
	write  bool // false: only check the expected version (no-op delete)
	// keep: Go expects the script to keep the stored resource (IfAbsent on
	// a live one, or an older SourceTime); no record is sent, and the script
	// reports a conflict when the condition no longer holds.
	keep   bool
	rec    *record
	ix     []ixop
	result ww.WriteResult
	// prev is the JSON of the live version the write replaces (nil when
	// none), for the projections; prevTree and tree are prev and the new
	// version as planOne parsed them (nil when it did not), so the
	// projections do not parse them again.
	prev           []byte
	prevTree, tree *fhirjson.Value
	// nohist: the write keeps no history (projection records).
	nohist bool
}

// gplan is one guard as index ranges.
type gplan struct {
	typ      string
	expected string
	clauses  [][]grange
	// fence marks a generation fence (generation.go): its expected members
	// are not resource ids.
	fence bool
}

// grange is one index lookup of a guard clause: kind L (lex range), S (set
// members), Z (score range) or R (a resource id is live).
type grange struct {
	kind     byte
	key      string
	min, max string
	shard    int
	tag      string // hash tag, for Cluster grouping
}

// Commit applies c atomically.
func (s *Store) Commit(ctx context.Context, c *ww.Commit) ([]ww.WriteResult, error) {
	const op = "redisstore.Commit"
	p := ww.PrincipalFrom(ctx)
	seen := map[string]bool{}
	for i := range c.Writes {
		w := &c.Writes[i]
		if !conformance.Supported(w.Type) || !ww.ValidID(w.ID) {
			return nil, ww.Errorf(ww.KindInvalid, "invalid", "cannot write %s/%s", w.Type, w.ID).WithOp(op)
		}
		k := w.Type + "/" + w.ID
		if seen[k] {
			return nil, ww.Errorf(ww.KindInvalid, "invalid", "%s is written twice in one commit", k).WithOp(op)
		}
		seen[k] = true
		access := ww.AccessWrite
		if w.Op == ww.OpDelete {
			access = ww.AccessDelete
		}
		if err := s.policy.Allow(ctx, p, access, w.Type); err != nil {
			return nil, err
		}
		if err := s.policy.Writable(ctx, p, w); err != nil {
			return nil, err
		}
	}
	rc, err := s.planReceipt(c.Receipt)
	if err != nil {
		return nil, err
	}
	rel, err := s.planRelease(c.Release)
	if err != nil {
		return nil, err
	}
	for attempt := 0; ; attempt++ {
		widened, err := s.hiddenGuards(ctx, p, c.Guards)
		if err != nil {
			return nil, err
		}
		guards, err := s.planGuards(widened)
		if err != nil {
			return nil, err
		}
		// The first attempt plans creates blind (a new id has no stored
		// version to read); the script's version check catches a taken id,
		// and the next attempt reads it.
		plans, err := s.plan(ctx, c.Writes, attempt == 0)
		if err != nil {
			return nil, err
		}
		// The wait and member projections the writes change, in the same
		// commit.
		if plans, err = s.project(ctx, plans); err != nil {
			return nil, err
		}
		fences := s.fenceGuards(plans, guards)
		reply, err := s.run(ctx, plans, append(guards[:len(guards):len(guards)], fences...), rc, rel)
		if err != nil {
			return nil, err
		}
		switch reply.status {
		case "ok":
			if rel != nil && s.cluster != nil {
				// On a Cluster the lease lives in a slot of its own: it is
				// given up after the commit point.
				if err := s.ReleaseLease(context.WithoutCancel(ctx), c.Release.Name, c.Release.Holder); err != nil {
					s.log.Warn("commit landed but its lease was not released; it lapses by itself", "err", err)
				}
			}
			out := make([]ww.WriteResult, len(c.Writes))
			for i := range out {
				out[i] = plans[i].result
			}
			for i, why := range reply.skips {
				if i < 0 || i >= len(out) {
					return nil, ww.Wrap(op, ww.KindInternal, fmt.Errorf("script skipped write %d of %d", i+1, len(out)), "storage error")
				}
				out[i] = ww.WriteResult{Outcome: ww.Unchanged}
				if why == 's' {
					out[i].Outcome = ww.Superseded
				}
			}
			return out, nil
		case "conflict":
			pl := plans[reply.index]
			w := pl.w
			if pl.blind {
				break // the id is taken: plan again with what is stored
			}
			if w.IfMatch > 0 || w.IfMissing || w.Op == ww.OpCreate {
				return nil, preconditionErr(w, reply.vid)
			}
		case "guard":
			// A reindex moved a generation fence: plan again with it.
			if changed, err := s.refreshFences(ctx, fences); err != nil {
				return nil, err
			} else if changed && attempt < maxCommitAttempts {
				continue
			}
			return nil, ww.Errorf(ww.KindConflict, "conflict",
				"the resources matching the conditional criteria changed while the write was prepared; try again").WithOp(op)
		case "locked":
			if err := s.waitUnlocked(ctx, reply.tx); err != nil {
				return nil, err
			}
		default:
			return nil, ww.Wrap(op, ww.KindInternal, fmt.Errorf("unexpected script reply %q", reply.status), "storage error")
		}
		if attempt >= maxCommitAttempts {
			return nil, ww.Errorf(ww.KindConflict, "conflict", "too many concurrent writes to the same resources; try again").WithOp(op)
		}
	}
}

func preconditionErr(w *ww.Write, actual int64) error {
	switch {
	case w.IfMatch > 0:
		return ww.Errorf(ww.KindPrecondition, "conflict", "%s/%s is at version %d, not the version %d given in If-Match", w.Type, w.ID, actual, w.IfMatch).At("If-Match")
	case w.Op == ww.OpCreate:
		return ww.Errorf(ww.KindConflict, "duplicate", "%s/%s already exists", w.Type, w.ID)
	default:
		return ww.Errorf(ww.KindConflict, "duplicate", "%s/%s already exists (version %d)", w.Type, w.ID, actual)
	}
}

// plan reads the current versions and builds each write's new record and
// index operations.
//
// With blind, creates skip the read: they expect no stored version, and the
// write script's version check refuses them when there is one. With blind
// too, the versions read ahead with the commit's claim (WithReads) are
// taken as read.
func (s *Store) plan(ctx context.Context, writes []ww.Write, blind bool) ([]*wplan, error) {
	const op = "redisstore.Commit"
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.StringCmd, len(writes))
	var pre *Reads
	if blind {
		pre = readsFrom(ctx) // the first attempt only
	}
	reads := 0
	for i := range writes {
		if blind && writes[i].Op == ww.OpCreate {
			continue
		}
		k := s.keys.cur(writes[i].Type, writes[i].ID)
		if cmds[i] = pre.read(k, &writes[i]); cmds[i] != nil {
			continue
		}
		cmds[i] = pipe.Get(ctx, k)
		reads++
	}
	if reads > 0 {
		if _, err := pipe.Exec(ctx); err != nil && err != redis.Nil {
			return nil, redisErr(op, err)
		}
	}
	now := s.clock.Now().UnixMilli()
	plans := make([]*wplan, len(writes))
	for i := range writes {
		w := &writes[i]
		pl := &wplan{w: w, shard: s.keys.shard(w.ID), blind: cmds[i] == nil}
		old, err := s.stored(ctx, w, cmds[i])
		if err != nil {
			return nil, err
		}
		if err := s.planOne(pl, old, now); err != nil {
			return nil, err
		}
		plans[i] = pl
	}
	return plans, nil
}

// stored decodes what a plan read for w (nil for a blind create or when
// nothing is stored), finishing a pending Cluster transaction first.
func (s *Store) stored(ctx context.Context, w *ww.Write, cmd *redis.StringCmd) (*record, error) {
	if cmd == nil {
		return nil, nil
	}
	raw, err := cmd.Bytes()
	if err != nil {
		return nil, nil // redis.Nil: nothing stored (other errors failed Exec)
	}
	old, err := decodeRecord(raw)
	if err != nil {
		return nil, ww.Wrap("redisstore.Commit", ww.KindInternal, err, "corrupt stored version")
	}
	if old.txid != "" {
		return s.resolvePending(ctx, w.Type, w.ID, old)
	}
	return old, nil
}

func (s *Store) planOne(pl *wplan, old *record, now int64) error {
	w := pl.w
	live := old != nil && !old.deleted && old.vid > 0
	if old != nil {
		pl.expect = old.vid
	}
	if w.IfMatch > 0 && (!live || old.vid != w.IfMatch) {
		actual := int64(0)
		if old != nil {
			actual = old.vid
		}
		if !live {
			return ww.Errorf(ww.KindPrecondition, "conflict", "%s/%s does not exist or was deleted, so If-Match %d cannot hold", w.Type, w.ID, w.IfMatch).At("If-Match")
		}
		return preconditionErr(w, actual)
	}
	if live && (w.Op == ww.OpCreate || w.IfMissing) && !w.IfAbsent {
		return preconditionErr(w, old.vid)
	}
	if w.Op != ww.OpDelete && old != nil && ((w.IfAbsent && live) || (!w.SourceTime.IsZero() && old.srcLo != 0 && old.srcLo >= w.SourceTime.Hi)) {
		// The stored version stays; the script checks that it still holds.
		pl.keep = true
		pl.result = ww.WriteResult{Outcome: ww.Unchanged}
		return nil
	}
	var oldTree *fhirjson.Value
	if live {
		pl.prev = old.json
		var err error
		if oldTree, err = fhirjson.Parse(old.json, fhirjson.Limits{MaxDepth: 200}); err != nil {
			return ww.Wrap("redisstore.Commit", ww.KindInternal, err, "corrupt stored version")
		}
	}
	// The stored version's index entries, computed only for a write that
	// changes something (an unchanged one touches no entry).
	oldIx := func() []ixop {
		if !live {
			return nil
		}
		return s.entries(w.Type, w.ID, oldTree, old)
	}
	ms := now
	if old != nil && ms <= old.ms {
		ms = old.ms + 1
	}
	if w.Op == ww.OpDelete {
		if !live {
			pl.result = ww.WriteResult{Outcome: ww.Unchanged}
			return nil
		}
		pl.write = true
		pl.rec = &record{vid: old.vid + 1, ms: ms, deleted: true, prov: w.Provenance}
		pl.ix = removals(oldIx())
		pl.result = ww.WriteResult{Outcome: ww.Deleted, Resource: pl.rec.resource(w.Type, w.ID)}
		return nil
	}
	tree, err := writeTree(w)
	if err != nil {
		return ww.Errorf(ww.KindInvalid, "structure", "%v", err)
	}
	if tree.Kind != fhirjson.Object {
		return ww.Errorf(ww.KindInvalid, "structure", "a resource must be a JSON object")
	}
	if err := conformance.CheckTransition(w.Type, oldTree, tree); err != nil {
		return err
	}
	rec := &record{vid: 1, ms: ms, prov: w.Provenance, srcLo: w.SourceTime.Lo}
	if old != nil {
		rec.vid = old.vid + 1
	}
	stampMeta(tree, w.Type, w.ID, rec)
	if live && w.Op == ww.OpUpdate && w.IfMatch == 0 && !w.IfMissing && old.prov.Owner == w.Provenance.Owner && bytes.Equal(content(oldTree), content(tree)) {
		// Nothing changes: no new version. The script only checks that
		// the stored version is still the one compared with. (An If-Match
		// update always writes: each one that wins makes a version.)
		pl.result = ww.WriteResult{Outcome: ww.Unchanged, Resource: old.resource(w.Type, w.ID)}
		return nil
	}
	rec.json = tree.Bytes()
	pl.prevTree, pl.tree = oldTree, tree
	pl.write = true
	pl.rec = rec
	pl.ix = diff(oldIx(), s.entries(w.Type, w.ID, tree, rec))
	outcome := ww.Created
	if live {
		outcome = ww.Updated
	}
	pl.result = ww.WriteResult{Outcome: outcome, Resource: rec.resource(w.Type, w.ID)}
	return nil
}

// writeTree returns the tree of w's JSON: when the caller parsed it
// (w.Tree), a copy of its top level and meta, the two objects stampMeta
// changes (the rest is shared and only read); else w.JSON parsed.
func writeTree(w *ww.Write) (*fhirjson.Value, error) {
	t := w.Tree
	if t == nil || t.Kind != fhirjson.Object {
		return fhirjson.Parse(w.JSON, fhirjson.Limits{MaxDepth: 200})
	}
	c := *t
	c.Members = append(make([]fhirjson.Member, 0, len(t.Members)+3), t.Members...)
	for i := range c.Members {
		if m := c.Members[i].Value; c.Members[i].Key == "meta" && m != nil && m.Kind == fhirjson.Object {
			mc := *m
			mc.Members = append(make([]fhirjson.Member, 0, len(m.Members)+2), m.Members...)
			c.Members[i].Value = &mc
		}
	}
	return &c, nil
}

// stampMeta puts resourceType, id and meta (with the server's versionId and
// lastUpdated, the client's other meta elements kept) at the head of the
// resource.
func stampMeta(tree *fhirjson.Value, typ, id string, rec *record) {
	meta := tree.Get("meta")
	if meta == nil || meta.Kind != fhirjson.Object {
		meta = fhirjson.NewObject()
	}
	meta.SetFirst(0, "versionId", fhirjson.NewString(strconv.FormatInt(rec.vid, 10)))
	meta.SetFirst(1, "lastUpdated", fhirjson.NewString(fhirtime.FormatInstant(time.UnixMilli(rec.ms))))
	tree.SetFirst(0, "resourceType", fhirjson.NewString(typ))
	tree.SetFirst(1, "id", fhirjson.NewString(id))
	tree.SetFirst(2, "meta", meta)
}

// scriptReply is the decoded reply of commit.lua and prepare.lua.
type scriptReply struct {
	status string
	index  int // 0-based write or guard
	vid    int64
	tx     string
	found  string
	// skips are the writes the script left alone (0-based index → 'u'
	// unchanged or 's' superseded), with status ok.
	skips map[int]byte
}

// parseSkips reads the "3u,5s" skip list of an ok reply.
func parseSkips(s string) (map[int]byte, error) {
	if s == "" {
		return nil, nil
	}
	out := map[int]byte{}
	for _, p := range strings.Split(s, ",") {
		if len(p) < 2 {
			return nil, fmt.Errorf("bad skip entry %q", p)
		}
		n, err := strconv.Atoi(p[:len(p)-1])
		if err != nil {
			return nil, fmt.Errorf("bad skip entry %q", p)
		}
		out[n-1] = p[len(p)-1]
	}
	return out, nil
}

func parseReply(v any) (scriptReply, error) {
	arr, ok := v.([]any)
	if !ok || len(arr) == 0 {
		return scriptReply{}, fmt.Errorf("unexpected script reply %v", v)
	}
	st, _ := arr[0].(string)
	r := scriptReply{status: st}
	if st == "ok" {
		if len(arr) >= 2 {
			if sk, _ := arr[1].(string); sk != "" {
				skips, err := parseSkips(sk)
				if err != nil {
					return r, err
				}
				r.skips = skips
			}
		}
		return r, nil
	}
	if len(arr) >= 3 {
		n, _ := arr[1].(int64)
		r.index = int(n) - 1
		switch x := arr[2].(type) {
		case int64:
			r.vid = x
		case string:
			r.tx, r.found = x, x
		}
	}
	return r, nil
}

// argv collects the KEYS and ARGV of a script call, deduplicating keys.
type argv struct {
	keys   []string
	keyIdx map[string]int
	args   []any
	strIdx map[string]int
}

func newArgv() *argv { return &argv{keyIdx: map[string]int{}} }

// keyRefs are the ARGV spellings of the first key indexes (a commit refers
// to its keys hundreds of times).
var keyRefs = func() []string {
	out := make([]string, 1024)
	for i := range out {
		out[i] = strconv.Itoa(i)
	}
	return out
}()

// keyRefArgs are keyRefs as ARGV values (boxed once, not per argument).
var keyRefArgs = func() []any {
	out := make([]any, len(keyRefs))
	for i, r := range keyRefs {
		out[i] = r
	}
	return out
}()

func keyRef(i int) string {
	if i < len(keyRefs) {
		return keyRefs[i]
	}
	return strconv.Itoa(i)
}

func keyRefArg(i int) any {
	if i < len(keyRefArgs) {
		return keyRefArgs[i]
	}
	return strconv.Itoa(i)
}

// keyIndex returns k's 1-based index in KEYS, adding it when new.
func (a *argv) keyIndex(k string) int {
	if i, ok := a.keyIdx[k]; ok {
		return i
	}
	a.keys = append(a.keys, k)
	a.keyIdx[k] = len(a.keys)
	return len(a.keys)
}

func (a *argv) key(k string) string { return keyRef(a.keyIndex(k)) }

// keyArg is key as an ARGV value.
func (a *argv) keyArg(k string) any { return keyRefArg(a.keyIndex(k)) }

func (a *argv) add(v ...any) { a.args = append(a.args, v...) }

// str appends a binary-safe string argument for the search script and
// returns its ARGV index (ARGV[1] is the plan, so strings start at 2); a
// string given again (the same range in every shard) reuses its index.
func (a *argv) str(s string) int {
	if i, ok := a.strIdx[s]; ok {
		return i
	}
	if a.strIdx == nil {
		a.strIdx = map[string]int{}
	}
	a.args = append(a.args, s)
	a.strIdx[s] = len(a.args) + 1
	return len(a.args) + 1
}

// addWrite appends one write in the script encoding.
func (s *Store) addWrite(a *argv, pl *wplan) { s.addWriteOps(a, pl, pl.ix) }

// addWriteOps appends one write with the index operations ix.
func (s *Store) addWriteOps(a *argv, pl *wplan, ix []ixop) {
	w := pl.w
	mode, rec, hmember, hscore := "c", "", "", "0"
	switch {
	case pl.keep:
		mode = "k"
	case pl.write:
		mode = "w"
		rec = string(pl.rec.encode())
		if !pl.nohist {
			hmember = w.ID + "/" + strconv.FormatInt(pl.rec.vid, 10)
			hscore = strconv.FormatInt(pl.rec.ms, 10)
		}
	}
	cond, srcHi := "", ""
	if w.IfAbsent && w.Op != ww.OpDelete {
		cond = "a"
	}
	if !w.SourceTime.IsZero() && w.Op != ww.OpDelete {
		srcHi = strconv.FormatInt(w.SourceTime.Hi, 10)
	}
	a.add(a.keyArg(s.keys.cur(w.Type, w.ID)), a.keyArg(s.keys.hist(w.Type, w.ID)), a.keyArg(s.keys.typeHist(w.Type, pl.shard)),
		a.keyArg(s.keys.pend(w.Type, w.ID)), pl.expect, mode, rec, hmember, hscore, cond, srcHi, len(ix))
	for _, o := range ix {
		var score any = o.score
		if o.score == "0" {
			score = argZero
		}
		a.args = append(a.args, opcodeArgs[o.code()], a.keyArg(o.key), o.member, score)
	}
}

// argZero is the score of lex entries, boxed once.
var argZero any = "0"

// addGuard appends one guard, keeping only the ranges in tags (all when nil)
// and only the expected ids of those tags.
func (s *Store) addGuard(a *argv, g *gplan) {
	a.add(g.expected, len(g.clauses))
	for _, cl := range g.clauses {
		a.add(len(cl))
		for _, r := range cl {
			a.add(string(r.kind), a.key(r.key), r.min, r.max)
		}
	}
}

// run executes the plans: one commit script when every key shares a slot
// (always on standalone), else the Cluster commit protocol.
func (s *Store) run(ctx context.Context, plans []*wplan, guards []*gplan, rc *receiptPlan, rel *releasePlan) (scriptReply, error) {
	// On a Cluster a receipt lives in its own slot, so a commit with one
	// always takes the commit protocol.
	if s.cluster != nil && (rc != nil || spansShards(plans, guards)) {
		return s.commitCluster(ctx, plans, guards, rc)
	}
	if len(plans) == 0 && len(guards) == 0 && rc == nil && (rel == nil || s.cluster != nil) {
		return scriptReply{status: "ok"}, nil
	}
	var v any
	var err error
	if s.cluster != nil {
		// One slot: the commit script alone (the lease, in a slot of its
		// own, is released by Commit; batches would span slots).
		a := s.commitArgs(plans, guards, rc, nil)
		v, err = s.runScript(ctx, "commit", s.scripts.commit, a.keys, a.args)
	} else {
		a := s.commitArgs(plans, guards, rc, rel)
		v, err = s.commitScript(ctx, a.keys, a.args)
	}
	if err != nil {
		return scriptReply{}, redisErr("redisstore.Commit", err)
	}
	return parseReply(v)
}

func (s *Store) runScript(ctx context.Context, name string, sc *redis.Script, keys []string, args []any) (any, error) {
	start := time.Now()
	v, err := sc.Run(ctx, s.rdb, keys, args...).Result()
	if s.observe != nil {
		s.observe(name, time.Since(start), err)
	}
	return v, err
}

// commitArgs encodes a standalone commit for commit.lua.
func (s *Store) commitArgs(plans []*wplan, guards []*gplan, rc *receiptPlan, rel *releasePlan) *argv {
	a := newArgv()
	n := 8
	for _, pl := range plans {
		n += 12 + 4*len(pl.ix)
	}
	a.args = make([]any, 0, n)
	a.keys = make([]string, 0, n/4)
	a.add(len(plans), len(guards), "")
	var seen map[ixid]bool
	for _, pl := range plans {
		ix := pl.ix
		if len(plans) > 1 {
			if seen == nil {
				seen = map[ixid]bool{}
			}
			ix = dropSeenSticky(ix, seen)
		}
		s.addWriteOps(a, pl, ix)
	}
	for _, g := range guards {
		s.addGuard(a, g)
	}
	if rc != nil {
		a.add(1, a.key(rc.key), rc.value, rc.ttlMs)
	} else {
		a.add(0)
	}
	if rel != nil {
		a.add(1, a.key(rel.key), rel.holder)
	} else {
		a.add(0)
	}
	return a
}

func spansShards(plans []*wplan, guards []*gplan) bool {
	tag := ""
	same := func(t string) bool {
		if tag == "" {
			tag = t
		}
		return tag == t
	}
	for _, pl := range plans {
		if !same(tagOfKeyParts(pl.w.Type, pl.shard)) {
			return true
		}
	}
	for _, g := range guards {
		for _, cl := range g.clauses {
			for _, r := range cl {
				if !same(r.tag) {
					return true
				}
			}
		}
	}
	return false
}

func tagOfKeyParts(typ string, shard int) string { return typ + "." + strconv.Itoa(shard) }

// receiptPlan is a Commit's receipt with its key.
type receiptPlan struct {
	key   string
	value string
	ttlMs int64
}

func (s *Store) planReceipt(r *ww.Receipt) (*receiptPlan, error) {
	if r == nil {
		return nil, nil
	}
	if !validReceiptKind(r.Kind) || r.Key == "" || len(r.Key) > 512 {
		return nil, ww.Errorf(ww.KindInvalid, "invalid", "invalid receipt %q/%q", r.Kind, r.Key).WithOp("redisstore.Commit")
	}
	return &receiptPlan{key: s.keys.receipt(r.Kind, r.Key), value: string(r.Value), ttlMs: r.TTL.Milliseconds()}, nil
}

// releasePlan is a Commit's lease release with its key.
type releasePlan struct {
	key, holder string
}

func (s *Store) planRelease(r *ww.LeaseRef) (*releasePlan, error) {
	if r == nil {
		return nil, nil
	}
	if err := checkNames("redisstore.Commit", r.Name); err != nil {
		return nil, err
	}
	if r.Holder == "" {
		return nil, ww.Errorf(ww.KindInvalid, "invalid", "a lease release without a holder").WithOp("redisstore.Commit")
	}
	return &releasePlan{key: s.keys.lease(r.Name), holder: r.Holder}, nil
}

// maxHiddenMatches caps the resources a restricted principal's guard
// criteria may match beyond what it sees.
const maxHiddenMatches = 1000

// hiddenGuards widens guards by the matches their principal may not see.
// The caller resolved the criteria through the Policy, so Expect holds what
// the principal sees, while the script checks the index itself: without
// this, a hidden match would fail every such guard, a conditional create
// that matches only another organisation's resource would answer 409
// instead of creating, and that answer would tell that the resource
// exists. The hidden matches join Expect, so they neither block the write
// nor show; a change among them fails the guard like any other (the caller
// resolves again). A type the principal sees whole (no Filter) is left as
// it is; otherwise the criteria's index ranges are read once (one pipelined
// round trip) and only matches outside Expect are read and judged.
func (s *Store) hiddenGuards(ctx context.Context, p *ww.Principal, guards []ww.Guard) ([]ww.Guard, error) {
	if len(guards) == 0 || p.Role == ww.RoleSystem {
		return guards, nil
	}
	const op = "redisstore.Commit"
	out := append([]ww.Guard(nil), guards...)
	sys := ww.WithPrincipal(ctx, &ww.Principal{Role: ww.RoleSystem, ClientID: "guard"})
	for i, g := range guards {
		if len(g.Criteria) == 0 {
			continue
		}
		filter, err := s.policy.Filter(ctx, p, g.Type)
		if err != nil {
			return nil, err
		}
		if len(filter) == 0 {
			continue
		}
		found, err := s.guardMatches(ctx, g)
		if err != nil {
			return nil, err
		}
		expect := map[string]bool{}
		for _, id := range g.Expect {
			expect[id] = true
		}
		var extra []string
		for _, id := range found {
			if !expect[id] {
				extra = append(extra, id)
			}
		}
		if len(extra) == 0 {
			continue
		}
		if len(extra) > maxHiddenMatches {
			return nil, ww.Errorf(ww.KindPrecondition, "too-costly", "the conditional criteria match too many %s resources; make them narrower", g.Type).WithOp(op)
		}
		rs, err := s.ReadLive(sys, g.Type, extra)
		if err != nil {
			return nil, err
		}
		widened := append([]string(nil), g.Expect...)
		for _, r := range rs {
			if r == nil {
				continue
			}
			vis, err := s.policy.Visible(ctx, p, r)
			if err != nil {
				return nil, err
			}
			if !vis {
				widened = append(widened, r.ID)
			}
		}
		out[i].Expect = widened
	}
	return out, nil
}

// guardMatches evaluates a guard's criteria on the index as commit.lua
// does (the union of each clause's ranges, intersected over the clauses);
// an _id criterion yields its ids unread.
func (s *Store) guardMatches(ctx context.Context, g ww.Guard) ([]string, error) {
	clauses := make([][]grange, 0, len(g.Criteria))
	for _, cl := range g.Criteria {
		rs, err := s.clauseRanges(g.Type, cl)
		if err != nil {
			return nil, err
		}
		clauses = append(clauses, rs)
	}
	pipe := s.rdb.Pipeline()
	cmds := make([][]*redis.StringSliceCmd, len(clauses))
	for ci, rs := range clauses {
		for _, r := range rs {
			if r.kind == 'L' {
				cmds[ci] = append(cmds[ci], pipe.ZRangeByLex(ctx, r.key, &redis.ZRangeBy{Min: r.min, Max: r.max}))
			}
		}
	}
	if pipe.Len() > 0 {
		if _, err := pipe.Exec(ctx); err != nil {
			return nil, redisErr("redisstore.Commit", err)
		}
	}
	var acc map[string]bool
	for ci, rs := range clauses {
		set := map[string]bool{}
		k := 0
		for _, r := range rs {
			switch r.kind {
			case 'L':
				for _, m := range cmds[ci][k].Val() {
					set[m[strings.LastIndexByte(m, 0)+1:]] = true
				}
				k++
			case 'R':
				set[r.min] = true
			}
		}
		if acc == nil {
			acc = set
			continue
		}
		for id := range acc {
			if !set[id] {
				delete(acc, id)
			}
		}
	}
	out := make([]string, 0, len(acc))
	for id := range acc {
		out = append(out, id)
	}
	sort.Strings(out)
	return out, nil
}

// planGuards turns guards into index ranges over every shard of their type.
func (s *Store) planGuards(guards []ww.Guard) ([]*gplan, error) {
	out := make([]*gplan, 0, len(guards))
	for _, g := range guards {
		exp := append([]string(nil), g.Expect...)
		sort.Strings(exp)
		gp := &gplan{typ: g.Type, expected: strings.Join(exp, ",")}
		for _, cl := range g.Criteria {
			rs, err := s.clauseRanges(g.Type, cl)
			if err != nil {
				return nil, err
			}
			gp.clauses = append(gp.clauses, rs)
		}
		out = append(out, gp)
	}
	return out, nil
}
