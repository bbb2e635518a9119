package redisstore

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/conformance"
)

// SplitToken splits a token search value into system and code, honouring
// the "\|" escape. hasSystem is true when a '|' was present ("|code" means
// explicitly no system, "system|" any code in the system).
func SplitToken(v string) (system, code string, hasSystem bool) {
	for i := 0; i < len(v); i++ {
		if v[i] == '\\' {
			i++
			continue
		}
		if v[i] == '|' {
			return unescape(v[:i]), unescape(v[i+1:]), true
		}
	}
	return "", unescape(v), false
}

func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// clauseRanges turns one clause into the index lookups whose union matches
// it, over every shard of typ.
func (s *Store) clauseRanges(typ string, cl ww.Clause) ([]grange, error) {
	var out []grange
	if cl.Param == "_id" && cl.Modifier == "" {
		for _, id := range cl.Values {
			sh := s.keys.shard(id)
			out = append(out, grange{kind: 'R', key: s.keys.cur(typ, id), min: id, max: "", shard: sh, tag: tagOfKeyParts(typ, sh)})
		}
		return out, nil
	}
	if cl.Param == "_owner" && cl.Modifier == "" {
		for sh := 0; sh < s.keys.shards; sh++ {
			for _, v := range cl.Values {
				out = append(out, grange{kind: 'S', key: s.keys.index(typ, sh, "_owner", v), shard: sh, tag: tagOfKeyParts(typ, sh)})
			}
		}
		return out, nil
	}
	p, ok := s.reg.Lookup(typ, cl.Param)
	if !ok {
		return nil, ww.Errorf(ww.KindInvalid, "not-supported", "%s has no search parameter %q", typ, cl.Param)
	}
	if p.Type != conformance.TypeToken || p.Layout != "lex" || cl.Modifier != "" {
		return nil, ww.Errorf(ww.KindInvalid, "not-supported", "%s:%s is not supported in conditional criteria", cl.Param, cl.Modifier)
	}
	for _, v := range cl.Values {
		system, code, hasSystem := SplitToken(v)
		if code == "" {
			return nil, ww.Errorf(ww.KindInvalid, "not-supported", "%s=%s (any code of a system) is not supported in conditional criteria; give system|value", cl.Param, v)
		}
		min, max := "["+code+"\x00", "("+code+"\x01"
		if hasSystem {
			min, max = "["+code+"\x00"+system+"\x00", "("+code+"\x00"+system+"\x01"
		}
		for sh := 0; sh < s.keys.shards; sh++ {
			out = append(out, grange{kind: 'L', key: s.keys.index(typ, sh, p.IndexName()), min: min, max: max, shard: sh, tag: tagOfKeyParts(typ, sh)})
		}
	}
	return out, nil
}

// lookup runs index ranges (union) and returns the matching ids.
func (s *Store) lookup(ctx context.Context, rs []grange) (map[string]bool, error) {
	pipe := s.rdb.Pipeline()
	type rc struct {
		r   grange
		ss  *redis.StringSliceCmd
		str *redis.StringCmd
	}
	cmds := make([]rc, len(rs))
	for i, r := range rs {
		cmds[i].r = r
		switch r.kind {
		case 'L':
			cmds[i].ss = pipe.ZRangeByLex(ctx, r.key, &redis.ZRangeBy{Min: r.min, Max: r.max})
		case 'S':
			cmds[i].ss = pipe.SMembers(ctx, r.key)
		case 'Z':
			cmds[i].ss = pipe.ZRangeByScore(ctx, r.key, &redis.ZRangeBy{Min: r.min, Max: r.max})
		case 'R':
			cmds[i].str = pipe.Get(ctx, r.key)
		}
	}
	if _, err := pipe.Exec(ctx); err != nil && err != redis.Nil {
		return nil, redisErr("redisstore.Search", err)
	}
	out := map[string]bool{}
	for _, c := range cmds {
		if c.str != nil {
			raw, err := c.str.Bytes()
			if err != nil {
				continue
			}
			if rec, err := decodeRecord(raw); err == nil && rec.vid > 0 && !rec.deleted {
				out[c.r.min] = true
			}
			continue
		}
		for _, m := range c.ss.Val() {
			if c.r.kind == 'L' {
				out[m[strings.LastIndexByte(m, 0)+1:]] = true
			} else {
				id, _, _ := strings.Cut(m, "|")
				out[id] = true
			}
		}
	}
	return out, nil
}

// Search runs a query. This executor supports the criteria of conditional
// interactions (_id and identifier-like lex token parameters) and listing
// a whole type; results are ordered by id.
func (s *Store) Search(ctx context.Context, q *ww.Query) (*ww.SearchResult, error) {
	p := ww.PrincipalFrom(ctx)
	if err := s.policy.Allow(ctx, p, ww.AccessSearch, q.Type); err != nil {
		return nil, err
	}
	extra, err := s.policy.Filter(ctx, p, q.Type)
	if err != nil {
		return nil, err
	}
	clauses := append(append([]ww.Clause(nil), q.Clauses...), extra...)
	var ids []string
	if len(clauses) == 0 {
		if ids, err = s.allIDs(ctx, q.Type); err != nil {
			return nil, err
		}
	} else {
		var acc map[string]bool
		for _, cl := range clauses {
			rs, err := s.clauseRanges(q.Type, cl)
			if err != nil {
				return nil, err
			}
			got, err := s.lookup(ctx, rs)
			if err != nil {
				return nil, err
			}
			if acc == nil {
				acc = got
				continue
			}
			for id := range acc {
				if !got[id] {
					delete(acc, id)
				}
			}
		}
		for id := range acc {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	res := &ww.SearchResult{Total: -1}
	if q.Total == ww.TotalAccurate || q.Total == ww.TotalEstimate {
		res.Total = len(ids)
	}
	if q.After != nil {
		i := sort.SearchStrings(ids, q.After.ID)
		for i < len(ids) && ids[i] <= q.After.ID {
			i++
		}
		ids = ids[i:]
	}
	count := q.Count
	if count <= 0 {
		count = 50
	}
	for len(ids) > 0 && len(res.Resources) < count {
		n := count - len(res.Resources)
		if n > len(ids) {
			n = len(ids)
		}
		batch := ids[:n]
		ids = ids[n:]
		recs, err := s.readRecords(ctx, q.Type, batch)
		if err != nil {
			return nil, err
		}
		for i, rec := range recs {
			if rec == nil || rec.deleted || rec.vid == 0 {
				continue
			}
			r := rec.resource(q.Type, batch[i])
			if ok, err := s.policy.Visible(ctx, p, r); err != nil || !ok {
				continue
			}
			res.Resources = append(res.Resources, r)
		}
	}
	if len(ids) > 0 && len(res.Resources) > 0 {
		res.Next = &ww.Cursor{ID: res.Resources[len(res.Resources)-1].ID}
	}
	if q.Explain {
		res.Plan = append(res.Plan, fmt.Sprintf("%d clauses over %d shards, ordered by id", len(clauses), s.keys.shards))
	}
	return res, nil
}

// allIDs lists the live ids of a type from the _lastUpdated indexes.
func (s *Store) allIDs(ctx context.Context, typ string) ([]string, error) {
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.StringSliceCmd, s.keys.shards)
	for sh := 0; sh < s.keys.shards; sh++ {
		cmds[sh] = pipe.ZRange(ctx, s.keys.index(typ, sh, "_lastUpdated"), 0, -1)
	}
	if _, err := pipe.Exec(ctx); err != nil && err != redis.Nil {
		return nil, redisErr("redisstore.Search", err)
	}
	var ids []string
	for _, c := range cmds {
		ids = append(ids, c.Val()...)
	}
	return ids, nil
}

var _ = strconv.Itoa
