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
// page's resources up in the source type's reference index (each lookup
// bounded by what the cap still allows); :iterate repeats on what was
// included, up to MaxIterate rounds. Nothing beyond the cap is read, and
// every cut is reported as an issue (an OperationOutcome entry).
func (s *Store) includes(ctx context.Context, q *ww.Query, res *ww.SearchResult) error {
	limit := q.IncludeCap
	if limit <= 0 {
		limit = s.lim.IncludeCap
	}
	p := ww.PrincipalFrom(ctx)
	seen := map[string]bool{}
	for _, r := range res.Resources {
		seen[r.Type+"/"+r.ID] = true
	}
	iterates := false
	for _, inc := range q.Includes {
		iterates = iterates || inc.Iterate
	}
	current := res.Resources
	truncated, stopped := false, false
	for round := 0; len(current) > 0 && !truncated; round++ {
		if round > 0 && !iterates {
			break
		}
		if round > s.lim.MaxIterate {
			stopped = true
			break
		}
		room := limit - len(res.Included)
		var refs []string
		wanted := map[string]bool{}
		addRef := func(ref string) {
			if !seen[ref] && !wanted[ref] {
				wanted[ref] = true
				refs = append(refs, ref)
			}
		}
		for _, inc := range q.Includes {
			if round > 0 && !inc.Iterate {
				continue
			}
			if inc.Reverse {
				rr, err := s.reverseRefs(ctx, inc, current, room+1-len(refs))
				if err != nil {
					return err
				}
				for _, ref := range rr {
					addRef(ref)
				}
			} else {
				for _, ref := range s.forwardRefs(inc, current) {
					addRef(ref)
				}
			}
		}
		if len(refs) > room {
			truncated = true
			refs = refs[:room]
		}
		want := map[string][]string{} // type → ids, in reference order
		var types []string
		for _, ref := range refs {
			typ, id, _ := strings.Cut(ref, "/")
			if _, ok := want[typ]; !ok {
				types = append(types, typ)
			}
			want[typ] = append(want[typ], id)
		}
		sort.Strings(types)
		var next []*ww.Resource
		for _, typ := range types {
			if s.policy.Allow(ctx, p, ww.AccessSearch, typ) != nil {
				continue
			}
			ids := want[typ]
			recs, err := s.readRecords(ctx, typ, ids)
			if err != nil {
				return err
			}
			for i, rec := range recs {
				seen[typ+"/"+ids[i]] = true
				if rec == nil || rec.deleted || rec.vid == 0 {
					continue
				}
				r := rec.resource(typ, ids[i])
				if ok, err := s.policy.Visible(ctx, p, r); err != nil || !ok {
					continue
				}
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
	if stopped {
		res.Issues = append(res.Issues, ww.Issue{Severity: ww.SeverityWarning, Code: "too-costly",
			Diagnostics: fmt.Sprintf(":iterate stopped after %d rounds; resources further along the references are not included", s.lim.MaxIterate)})
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

// reverseRefs finds up to max source resources referring to targets (each
// index lookup limited to what is still wanted).
func (s *Store) reverseRefs(ctx context.Context, inc ww.Include, targets []*ww.Resource, max int) ([]string, error) {
	params := s.refParams(inc)
	if len(params) == 0 || max <= 0 {
		return nil, nil
	}
	k := s.kr()
	var out []string
	seen := map[string]bool{}
	// One pipeline per target batch, so the cap stops the reading early.
	const batch = 50
	for start := 0; start < len(targets) && len(out) < max; start += batch {
		end := min(start+batch, len(targets))
		pipe := s.rdb.Pipeline()
		var cmds []*redis.StringSliceCmd
		for _, t := range targets[start:end] {
			if inc.Target != "" && t.Type != inc.Target {
				continue
			}
			for _, p := range params {
				if p.Restrict != "" && p.Restrict != t.Type {
					continue
				}
				rg := prefixRange(t.ID + "\x00" + t.Type + "\x00")
				for sh := 0; sh < s.keys.shards; sh++ {
					cmds = append(cmds, pipe.ZRangeByLex(ctx, k.index(inc.Source, sh, p.IndexName()), &redis.ZRangeBy{Min: rg[0], Max: rg[1], Count: int64(max - len(out) + 1)}))
				}
			}
		}
		if len(cmds) == 0 {
			continue
		}
		if _, err := pipe.Exec(ctx); err != nil && err != redis.Nil {
			return nil, redisErr("redisstore.Search", err)
		}
		for _, c := range cmds {
			for _, m := range c.Val() {
				ref := inc.Source + "/" + m[strings.LastIndexByte(m, 0)+1:]
				if !seen[ref] {
					seen[ref] = true
					out = append(out, ref)
				}
			}
		}
	}
	return out, nil
}
