package redisstore

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/conformance"
)

// ReindexOptions configure Reindex.
type ReindexOptions struct {
	// Progress, when set, is told each phase's size ("build": resources,
	// "delete": old index keys; total -1 when unknown) and each step.
	Progress func(phase string, total int64, done int)
	// Batch is the resources per reindex script call (default 200).
	Batch int
	// AfterBuild, when set, runs after the new generation is complete and
	// before the switch (tests use it to write and search in between).
	AfterBuild func(ctx context.Context) error
}

// ReindexResult says what a reindex did.
type ReindexResult struct {
	From, To    int
	Resources   int64
	DeletedKeys int64
	Resumed     bool
}

// Reindex builds the next index generation from the stored resources while
// searches read the current one and writes maintain both, switches
// searches to it, and deletes the old generation's keys in batches:
//
//  1. P:layout gets building = g+1; every shard's write fence gains w<g+1>,
//     so every write from then on (a write planned before fails its fence
//     guard and plans again) writes entries of both generations.
//  2. Every current version (SCAN over the version keys) is indexed into
//     g+1 by reindex.lua, which writes only if the version is still the one
//     read (else it is read again).
//  3. Every read fence gains r<g+1>; P:layout gen = g+1 (searches planned
//     with g still pass their fence and read a complete g); then every
//     fence drops g, and a search planned with g gets "stale", re-reads
//     P:layout and plans again with g+1.
//  4. The keys of g are deleted (SCAN + UNLINK, in batches).
//
// A reindex that stopped half-way is resumed by running it again (the
// building generation is kept). Gateways of an older version that do not
// know the fences must be stopped or upgraded first.
func (s *Store) Reindex(ctx context.Context, o ReindexOptions) (*ReindexResult, error) {
	const op = "redisstore.Reindex"
	if o.Batch <= 0 {
		o.Batch = 200
	}
	progress := o.Progress
	if progress == nil {
		progress = func(string, int64, int) {}
	}
	lk := s.keys.layout()
	l, err := s.rdb.HGetAll(ctx, lk).Result()
	if err != nil {
		return nil, redisErr(op, err)
	}
	from, err := strconv.Atoi(l["gen"])
	if err != nil || from <= 0 {
		return nil, ww.Errorf(ww.KindInternal, "exception", "%s holds a corrupt generation %q", lk, l["gen"])
	}
	res := &ReindexResult{From: from, To: from + 1}
	to := from + 1
	if b := l["building"]; b != "" {
		if building, _ := strconv.Atoi(b); building != to {
			return nil, ww.Errorf(ww.KindInternal, "exception", "%s says generation %s is being built while %d is read", lk, b, from)
		}
		res.Resumed = true
		// a build begun under other parts definitions (or by an older
		// release) goes on as it began: lean only if it began lean
	} else if err := s.rdb.HSet(ctx, lk, "building", to, layoutScheme+strconv.Itoa(to), s.scheme()).Err(); err != nil {
		return nil, redisErr(op, err)
	} else {
		l[layoutScheme+strconv.Itoa(to)] = s.scheme()
	}
	s.setSchemes(l)
	// 1. Every write from now on maintains both generations.
	if err := s.eachFence(ctx, func(pipe redis.Pipeliner, w, r string) {
		pipe.SAdd(ctx, w, genMember('w', to))
	}); err != nil {
		return nil, err
	}
	s.forgetFences()
	// 2. Fill the new generation.
	total := int64(0)
	for _, typ := range indexedTypes() {
		pipe := s.rdb.Pipeline()
		var cmds []*redis.IntCmd
		for sh := 0; sh < s.keys.shards; sh++ {
			cmds = append(cmds, pipe.ZCard(ctx, s.keys.withGen(from).index(typ, sh, "_lastUpdated")))
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return nil, redisErr(op, err)
		}
		for _, c := range cmds {
			total += c.Val()
		}
	}
	progress("build", total, 0)
	var indexed atomic.Int64
	err = s.scanKeys(ctx, s.keys.recordPattern(), func(keys []string) error {
		n, err := s.reindexBatch(ctx, to, keys, o.Batch)
		indexed.Add(int64(n))
		progress("build", total, n)
		return err
	})
	if err != nil {
		return nil, err
	}
	res.Resources = indexed.Load()
	if o.AfterBuild != nil {
		if err := o.AfterBuild(ctx); err != nil {
			return nil, err
		}
	}
	// 3. Switch: both generations readable, then the new one only.
	if err := s.eachFence(ctx, func(pipe redis.Pipeliner, w, r string) {
		pipe.SAdd(ctx, r, genMember('r', to))
	}); err != nil {
		return nil, err
	}
	if err := s.rdb.HSet(ctx, lk, "gen", to, layoutCompounds, s.reg.CompoundsFingerprint()).Err(); err != nil {
		return nil, redisErr(op, err)
	}
	s.gen.Store(int64(to))
	s.compoundsOK.Store(true)
	if err := s.eachFence(ctx, func(pipe redis.Pipeliner, w, r string) {
		pipe.SRem(ctx, r, genMember('r', from))
		pipe.SRem(ctx, w, genMember('w', from))
	}); err != nil {
		return nil, err
	}
	s.forgetFences()
	if err := s.rdb.HDel(ctx, lk, "building", layoutScheme+strconv.Itoa(from)).Err(); err != nil {
		return nil, redisErr(op, err)
	}
	// 4. Delete the old generation.
	progress("delete", -1, 0)
	var deleted atomic.Int64
	err = s.scanKeys(ctx, s.keys.genPattern(from), func(keys []string) error {
		pipe := s.rdb.Pipeline()
		for _, k := range keys {
			pipe.Unlink(ctx, k)
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return redisErr(op, err)
		}
		deleted.Add(int64(len(keys)))
		progress("delete", -1, len(keys))
		return nil
	})
	res.DeletedKeys = deleted.Load()
	return res, err
}

func (s *Store) forgetFences() {
	s.fences.Range(func(k, _ any) bool {
		s.fences.Delete(k)
		return true
	})
}

// eachFence queues fn's commands for every shard's fences (write, read)
// and runs them.
func (s *Store) eachFence(ctx context.Context, fn func(pipe redis.Pipeliner, w, r string)) error {
	pipe := s.rdb.Pipeline()
	for _, typ := range indexedTypes() {
		for sh := 0; sh < s.keys.shards; sh++ {
			fn(pipe, s.keys.writeFence(typ, sh), s.keys.readFence(typ, sh))
		}
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return redisErr("redisstore.Reindex", err)
	}
	return nil
}

// scanKeys calls fn with batches of the keys matching pattern (every master
// of a Cluster, in parallel).
func (s *Store) scanKeys(ctx context.Context, pattern string, fn func([]string) error) error {
	var mu sync.Mutex
	each := func(keys []string) error {
		mu.Lock()
		defer mu.Unlock()
		return fn(keys)
	}
	scan := func(ctx context.Context, c *redis.Client) error {
		var cursor uint64
		for {
			keys, next, err := c.Scan(ctx, cursor, pattern, 1000).Result()
			if err != nil {
				return redisErr("redisstore.Reindex", err)
			}
			if len(keys) > 0 {
				if err := each(keys); err != nil {
					return err
				}
			}
			if next == 0 {
				return nil
			}
			cursor = next
		}
	}
	if s.cluster != nil {
		return s.cluster.ForEachMaster(ctx, scan)
	}
	c, ok := s.rdb.(*redis.Client)
	if !ok {
		return fmt.Errorf("redisstore: reindex needs a standalone client or a Cluster client")
	}
	return scan(ctx, c)
}

// parseRecordKey splits P:{T.ss}:r:<id> into type and id.
func (s *Store) parseRecordKey(k string) (typ, id string, ok bool) {
	rest, ok := strings.CutPrefix(k, s.keys.prefix+":{")
	if !ok {
		return "", "", false
	}
	tag, id, ok := strings.Cut(rest, "}:r:")
	if !ok {
		return "", "", false
	}
	dot := strings.LastIndexByte(tag, '.')
	if dot < 0 {
		return "", "", false
	}
	typ = tag[:dot]
	return typ, id, conformance.Supported(typ) || isProjection(typ)
}

// reindexBatch indexes the current versions behind keys into generation
// gen, in script calls of at most batch resources per hash tag; versions
// that move meanwhile are read again. It returns how many live resources
// it indexed.
func (s *Store) reindexBatch(ctx context.Context, gen int, recordKeys []string, batch int) (int, error) {
	const op = "redisstore.Reindex"
	type item struct {
		typ, id, key string
	}
	var todo []item
	for _, k := range recordKeys {
		if typ, id, ok := s.parseRecordKey(k); ok {
			todo = append(todo, item{typ, id, k})
		}
	}
	indexed := 0
	kg := s.keys.withGen(gen)
	for attempt := 0; len(todo) > 0; attempt++ {
		if attempt > 50 {
			return indexed, ww.Errorf(ww.KindConflict, "conflict", "%d resources kept changing while being reindexed; run the reindex again", len(todo))
		}
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return indexed, ctx.Err()
			case <-time.After(time.Duration(attempt) * 5 * time.Millisecond):
			}
		}
		pipe := s.rdb.Pipeline()
		gets := make([]*redis.StringCmd, len(todo))
		for i, it := range todo {
			gets[i] = pipe.Get(ctx, it.key)
		}
		if _, err := pipe.Exec(ctx); err != nil && err != redis.Nil {
			return indexed, redisErr(op, err)
		}
		type prepared struct {
			it  item
			vid int64
			ix  []ixop
		}
		groups := map[string][]prepared{}
		var order []string
		for i, it := range todo {
			raw, err := gets[i].Bytes()
			if err != nil {
				continue // gone
			}
			rec, err := decodeRecord(raw)
			if err != nil {
				return indexed, ww.Wrap(op, ww.KindInternal, err, "corrupt stored version of "+it.typ+"/"+it.id)
			}
			if rec.deleted || rec.vid == 0 {
				continue
			}
			var ix []ixop
			if rec.txid == "" {
				if isProjection(it.typ) {
					ix = s.projectionEntriesIn(kg, it.typ, it.id, rec.json)
				} else {
					tree, err := parseStored(rec.json)
					if err != nil {
						return indexed, ww.Wrap(op, ww.KindInternal, err, "corrupt stored version of "+it.typ+"/"+it.id)
					}
					ix = s.entriesIn(nil, kg, it.typ, it.id, tree, rec)
				}
			}
			tag := tagOfKeyParts(it.typ, s.keys.shard(it.id))
			if _, ok := groups[tag]; !ok {
				order = append(order, tag)
			}
			groups[tag] = append(groups[tag], prepared{it, rec.vid, ix})
		}
		var again []item
		for _, tag := range order {
			g := groups[tag]
			for start := 0; start < len(g); start += batch {
				end := min(start+batch, len(g))
				part := g[start:end]
				a := newArgv()
				a.add(len(part))
				for _, p := range part {
					a.add(a.key(p.it.key), p.vid, len(p.ix))
					for _, o := range p.ix {
						a.add(o.opcode(), a.key(o.key), o.member, o.score)
					}
				}
				v, err := s.runScript(ctx, "reindex", s.scripts.reindex, a.keys, a.args)
				if err != nil {
					return indexed, redisErr(op, err)
				}
				moved := map[int]bool{}
				if arr, ok := v.([]any); ok {
					for _, x := range arr {
						if n, ok := x.(int64); ok {
							moved[int(n)-1] = true
						}
					}
				}
				for i, p := range part {
					if moved[i] {
						again = append(again, p.it)
					} else {
						indexed++
					}
				}
			}
		}
		todo = again
	}
	return indexed, nil
}

// indexedTypes are the types whose records carry index entries: the served
// resource types and the internal projection types of the insurer
// operations.
func indexedTypes() []string {
	return append(conformance.TypeNames(), ProjectionTypes...)
}
