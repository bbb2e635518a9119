package redisstore

import (
	"context"
	"sort"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"

	ww "github.com/wachtwijzer/wachtwijzer"
)

// kr returns the keys of the generation searches read now.
func (s *Store) kr() keys { return s.keys.withGen(int(s.gen.Load())) }

// Generation is the index generation searches read.
func (s *Store) Generation() int { return int(s.gen.Load()) }

// refreshGen re-reads the read generation from P:layout (after a search
// script found its fence moved) and forgets the cached fences.
func (s *Store) refreshGen(ctx context.Context) error {
	g, err := s.readGen(ctx, "redisstore.Search")
	if err != nil {
		return err
	}
	s.gen.Store(int64(g))
	s.fences.Range(func(k, _ any) bool {
		s.fences.Delete(k)
		return true
	})
	return nil
}

// readGen reads the read generation and the compound fingerprint from
// P:layout, and turns the compound indexes on or off to match (a gateway
// that learns of a reindex through a write's fences, not a search's, must
// also start using the compounds the reindex built).
func (s *Store) readGen(ctx context.Context, op string) (int, error) {
	l, err := s.rdb.HGetAll(ctx, s.keys.layout()).Result()
	if err != nil {
		return 0, redisErr(op, err)
	}
	v := l["gen"]
	s.setCompounds(l[layoutCompounds], false)
	s.setSchemes(l)
	g, err := strconv.Atoi(v)
	if err != nil || g <= 0 {
		return 0, ww.Errorf(ww.KindInternal, "exception", "%s holds a corrupt index generation %q", s.keys.layout(), v)
	}
	return g, nil
}

// layoutCompounds is the layout field holding the fingerprint of the compound
// definitions the compound indexes were built under.
const layoutCompounds = "compounds"

// setCompounds turns the compound indexes on when stored (the fingerprint
// they were built under) is this registry's; warn logs when they stay off.
func (s *Store) setCompounds(stored string, warn bool) {
	ok := stored == s.reg.CompoundsFingerprint()
	s.compoundsOK.Store(ok)
	if !ok && warn {
		s.log.Warn("the compound search indexes were built under other definitions (or before them): searches use the plain indexes, exact but slower, until `wachtwijzer reindex` runs", "layout", s.keys.layout())
	}
}

// layoutScheme prefixes the layout fields ("scheme:<g>") holding, per index
// generation, the index scheme it was built under (see Store.scheme). A
// generation built under this release's scheme is written lean: a string
// parameter's index leaves out the values its parts' indexes hold
// (conformance.SearchParam.Parts), and a lex token's by-system entries are
// set members. Any other generation (one an older release built) is written
// as it was built: every string value in every index, by-system entries in
// a lex sorted set. Searches read both shapes, so both answer the same.
const layoutScheme = "scheme:"

// schemeSysSets names the by-system entries of lex tokens as sets
// (P:{T.ss}:xg:<param>:sys:<systemtag>), part of this release's scheme.
const schemeSysSets = "syssets"

// scheme is this release's index scheme: the string parameters' parts and
// the by-system shape.
func (s *Store) scheme() string { return s.reg.PartsFingerprint() + "+" + schemeSysSets }

// setSchemes learns from the layout fields which generations are lean.
func (s *Store) setSchemes(l map[string]string) {
	for f, v := range l {
		if rest, ok := strings.CutPrefix(f, layoutScheme); ok {
			if g, err := strconv.Atoi(rest); err == nil {
				s.lean.Store(g, v == s.scheme())
			}
		}
	}
}

// leanGen reports whether generation g is written lean (see layoutScheme).
func (s *Store) leanGen(g int) bool {
	v, ok := s.lean.Load(g)
	return ok && v.(bool)
}

// CompoundsReady reports whether searches use the compound indexes.
func (s *Store) CompoundsReady() bool { return s.compoundsOK.Load() }

// fenceMembers returns the cached members of a fence key (sorted); a key
// not seen yet is assumed to hold the read generation alone.
func (s *Store) fenceMembers(key string, kind byte) []string {
	if v, ok := s.fences.Load(key); ok {
		return v.([]string)
	}
	return []string{genMember(kind, int(s.gen.Load()))}
}

// writeGens returns the generations a write to a shard must maintain.
func (s *Store) writeGens(typ string, shard int) []int {
	var out []int
	for _, m := range s.fenceMembers(s.keys.writeFence(typ, shard), 'w') {
		if g, err := strconv.Atoi(strings.TrimPrefix(m, "w")); err == nil {
			out = append(out, g)
		}
	}
	if len(out) == 0 {
		out = []int{int(s.gen.Load())}
	}
	return out
}

// fenceGuards are the guards that make a commit's index entries safe
// against a concurrent reindex: per shard written, its write fence is what
// the entries were computed for; per shard a user guard reads, its read
// fence holds the generation the guard's keys belong to.
func (s *Store) fenceGuards(plans []*wplan, guards []*gplan) []*gplan {
	var out []*gplan
	seen := map[string]bool{}
	add := func(typ string, shard int, key string, kind byte) {
		if seen[key] {
			return
		}
		seen[key] = true
		out = append(out, &gplan{typ: typ, fence: true, expected: strings.Join(s.fenceMembers(key, kind), ","),
			clauses: [][]grange{{{kind: 'S', key: key, shard: shard, tag: tagOfKeyParts(typ, shard)}}}})
	}
	for _, pl := range plans {
		if pl.write {
			add(pl.w.Type, pl.shard, s.keys.writeFence(pl.w.Type, pl.shard), 'w')
		}
	}
	for _, g := range guards {
		for _, cl := range g.clauses {
			for _, r := range cl {
				add(g.typ, r.shard, s.keys.readFence(g.typ, r.shard), 'r')
			}
		}
	}
	return out
}

// refreshFences re-reads the fences of guards and reports whether any
// differs from what the commit assumed (the commit then plans again).
func (s *Store) refreshFences(ctx context.Context, fences []*gplan) (bool, error) {
	if len(fences) == 0 {
		return false, nil
	}
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.StringSliceCmd, len(fences))
	for i, f := range fences {
		cmds[i] = pipe.SMembers(ctx, f.clauses[0][0].key)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return false, redisErr("redisstore.Commit", err)
	}
	changed := false
	for i, f := range fences {
		ms := cmds[i].Val()
		sort.Strings(ms)
		if strings.Join(ms, ",") != f.expected {
			changed = true
		}
		s.fences.Store(f.clauses[0][0].key, ms)
	}
	if changed {
		if g, err := s.readGen(ctx, "redisstore.Commit"); err == nil {
			s.gen.Store(int64(g))
		}
	}
	return changed, nil
}

// initFences creates the fences of every served type's shards that do not
// exist yet (a new deployment, or a new type) with the current generation.
// Fences that exist are never touched here: only a reindex moves them.
func (s *Store) initFences(ctx context.Context) error {
	g := int(s.gen.Load())
	var keys []string
	var kinds []byte
	for _, typ := range indexedTypes() {
		for sh := 0; sh < s.keys.shards; sh++ {
			keys = append(keys, s.keys.writeFence(typ, sh), s.keys.readFence(typ, sh))
			kinds = append(kinds, 'w', 'r')
		}
	}
	pipe := s.rdb.Pipeline()
	exists := make([]*redis.IntCmd, len(keys))
	for i, k := range keys {
		exists[i] = pipe.Exists(ctx, k)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return redisErr("redisstore.Open", err)
	}
	pipe = s.rdb.Pipeline()
	n := 0
	for i, k := range keys {
		if exists[i].Val() == 0 {
			pipe.SAdd(ctx, k, genMember(kinds[i], g))
			n++
		}
	}
	if n == 0 {
		return nil
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return redisErr("redisstore.Open", err)
	}
	return nil
}
