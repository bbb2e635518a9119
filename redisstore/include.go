package redisstore

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/redis/go-redis/v9"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/conformance"
)

// DefaultIncludeCap bounds the resources _include/_revinclude add to one
// page; more are left out with a warning (never silently).
const DefaultIncludeCap = 1000

// includes resolves _include and _revinclude for a page: forward includes
// follow the references of the page's resources, reverse includes look the
// page's resources up in the source type's reference index; :iterate repeats
// on what was included, up to maxIterate rounds.
func (s *Store) includes(ctx context.Context, q *ww.Query, res *ww.SearchResult) error {
	limit := q.IncludeCap
	if limit <= 0 {
		limit = DefaultIncludeCap
	}
	p := ww.PrincipalFrom(ctx)
	seen := map[string]bool{}
	for _, r := range res.Resources {
		seen[r.Type+"/"+r.ID] = true
	}
	current := res.Resources
	truncated := false
	for round := 0; round <= s.lim.MaxIterate && len(current) > 0 && !truncated; round++ {
		want := map[string]map[string]bool{} // type → ids
		for _, inc := range q.Includes {
			if round > 0 && !inc.Iterate {
				continue
			}
			var refs []string
			var err error
			if inc.Reverse {
				refs, err = s.reverseRefs(ctx, inc, current)
			} else {
				refs = s.forwardRefs(inc, current)
			}
			if err != nil {
				return err
			}
			for _, ref := range refs {
				if seen[ref] {
					continue
				}
				typ, id, _ := strings.Cut(ref, "/")
				if want[typ] == nil {
					want[typ] = map[string]bool{}
				}
				want[typ][id] = true
			}
		}
		var next []*ww.Resource
		types := make([]string, 0, len(want))
		for t := range want {
			types = append(types, t)
		}
		sort.Strings(types)
		for _, typ := range types {
			if s.policy.Allow(ctx, p, ww.AccessSearch, typ) != nil {
				continue
			}
			ids := make([]string, 0, len(want[typ]))
			for id := range want[typ] {
				ids = append(ids, id)
			}
			sort.Strings(ids)
			recs, err := s.readRecords(ctx, typ, ids)
			if err != nil {
				return err
			}
			for i, rec := range recs {
				if rec == nil || rec.deleted || rec.vid == 0 {
					continue
				}
				r := rec.resource(typ, ids[i])
				if ok, err := s.policy.Visible(ctx, p, r); err != nil || !ok {
					continue
				}
				if len(res.Included) >= limit {
					truncated = true
					break
				}
				seen[typ+"/"+r.ID] = true
				res.Included = append(res.Included, r)
				next = append(next, r)
			}
		}
		current = next
	}
	if truncated {
		res.Issues = append(res.Issues, ww.Issue{Severity: ww.SeverityWarning, Code: "too-costly",
			Diagnostics: fmt.Sprintf("_include/_revinclude matched more than %d resources; only the first %d are included on this page", limit, limit)})
	}
	return nil
}

// refParams returns the reference parameters an include names (all of the
// source type's for "*").
func (s *Store) refParams(inc ww.Include) []*conformance.SearchParam {
	if inc.Param == "*" {
		var out []*conformance.SearchParam
		for _, p := range s.reg.ForType(inc.Source) {
			if p.Type == conformance.TypeReference && p.Index == "" {
				out = append(out, p)
			}
		}
		return out
	}
	if p, ok := s.reg.Lookup(inc.Source, inc.Param); ok && p.Type == conformance.TypeReference {
		return []*conformance.SearchParam{p}
	}
	return nil
}

func (s *Store) forwardRefs(inc ww.Include, from []*ww.Resource) []string {
	var out []string
	params := s.refParams(inc)
	for _, r := range from {
		if r.Type != inc.Source {
			continue
		}
		tree, err := parseStored(r.JSON)
		if err != nil {
			continue
		}
		for _, p := range params {
			for _, ref := range p.Extract(tree).Refs {
				if ref.ID == "" || ref.Type == "" || !conformance.Supported(ref.Type) {
					continue
				}
				if inc.Target != "" && ref.Type != inc.Target {
					continue
				}
				if p.Restrict != "" && ref.Type != p.Restrict {
					continue
				}
				out = append(out, ref.Type+"/"+ref.ID)
			}
		}
	}
	return out
}

func (s *Store) reverseRefs(ctx context.Context, inc ww.Include, targets []*ww.Resource) ([]string, error) {
	params := s.refParams(inc)
	if len(params) == 0 {
		return nil, nil
	}
	k := s.kr()
	pipe := s.rdb.Pipeline()
	var cmds []*redis.StringSliceCmd
	for _, t := range targets {
		if inc.Target != "" && t.Type != inc.Target {
			continue
		}
		for _, p := range params {
			if p.Restrict != "" && p.Restrict != t.Type {
				continue
			}
			rg := prefixRange(t.ID + "\x00" + t.Type + "\x00")
			for sh := 0; sh < s.keys.shards; sh++ {
				cmds = append(cmds, pipe.ZRangeByLex(ctx, k.index(inc.Source, sh, p.IndexName()), &redis.ZRangeBy{Min: rg[0], Max: rg[1]}))
			}
		}
	}
	if len(cmds) == 0 {
		return nil, nil
	}
	if _, err := pipe.Exec(ctx); err != nil && err != redis.Nil {
		return nil, redisErr("redisstore.Search", err)
	}
	var out []string
	for _, c := range cmds {
		for _, m := range c.Val() {
			out = append(out, inc.Source+"/"+m[strings.LastIndexByte(m, 0)+1:])
		}
	}
	return out, nil
}
