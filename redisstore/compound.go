package redisstore

import (
	"strconv"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/conformance"
	"github.com/wachtwijzer/wachtwijzer/fhirjson"
)

// compoundEntries indexes a resource in a compound index: one zset member
// per combination of its token values, scored by the sort parameter's lower
// bound.
func (s *Store) compoundEntries(out []ixop, k keys, typ, id string, shard int, c conformance.Compound, res *fhirjson.Value) []ixop {
	sp, ok := s.reg.Lookup(typ, c.Sort)
	if !ok {
		return out
	}
	sv := sp.Extract(res)
	if len(sv.Ranges) == 0 || sv.Ranges[0].Lo == conformance.MinRange {
		return out
	}
	score := strconv.FormatInt(sv.Ranges[0].Lo, 10)
	combos := [][]string{{}}
	for _, code := range c.Params {
		p, ok := s.reg.Lookup(typ, code)
		if !ok {
			return out
		}
		vals := p.Extract(res)
		if len(vals.Tokens) == 0 {
			return out
		}
		var next [][]string
		for _, prefix := range combos {
			for _, t := range vals.Tokens {
				next = append(next, append(append([]string(nil), prefix...), t.System+"|"+t.Code))
			}
		}
		combos = next
	}
	for _, combo := range combos {
		out = append(out, ixop{kind: 'z', key: k.index(typ, shard, c.Name(), combo...), member: id, score: score})
	}
	return out
}

// applyCompound adds a compound filter when the clauses give an equality on
// every token of a compound index; the covered token filters are dropped
// (the compound implies them) and, when the search sorts by the compound's
// date, the compound is what the script streams.
func (s *Store) applyCompound(p *qplan, clauses []ww.Clause) {
	for _, c := range s.reg.Compounds(p.typ) {
		byParam := map[string]ww.Clause{}
		for _, cl := range clauses {
			if cl.Modifier == "" && cl.Chain == "" {
				if _, dup := byParam[cl.Param]; dup {
					byParam[cl.Param] = ww.Clause{Param: "\x00dup"}
					continue
				}
				byParam[cl.Param] = cl
			}
		}
		var parts []czPart
		ok := true
		for _, code := range c.Params {
			cl, found := byParam[code]
			if !found || cl.Param != code {
				ok = false
				break
			}
			sp, _ := s.reg.Lookup(p.typ, code)
			if sp.Layout == "lex" {
				ok = false
				break
			}
			part := czPart{index: sp.IndexName()}
			for _, v := range cl.Values {
				system, code, hasSystem := conformance.SplitToken(v)
				switch {
				case hasSystem && code == "":
					ok = false
				case hasSystem:
					part.exact = append(part.exact, system+"|"+code)
				default:
					part.any = append(part.any, code)
				}
			}
			parts = append(parts, part)
		}
		if !ok {
			continue
		}
		f := &filter{kind: "cz", index: c.Name(), czParts: parts, czSort: c.Sort, a: "-inf", b: "+inf", describe: "compound index " + c.Name() + " ordered by " + c.Sort}
		// Drop the token filters the compound covers.
		keep := p.filters[:0]
		for _, x := range p.filters {
			covered := false
			if x.kind == "set" {
				for _, code := range c.Params {
					if sp, _ := s.reg.Lookup(p.typ, code); sp != nil && x.index == sp.IndexName() {
						covered = true
					}
				}
			}
			if x.kind == "date" {
				if sp, _ := s.reg.Lookup(p.typ, c.Sort); sp != nil && x.index == sp.IndexName() {
					f.a, f.b = x.a, x.b
				}
			}
			if !covered {
				keep = append(keep, x)
			}
		}
		p.filters = append(keep, f)
		p.explain = append(p.explain, f.describe)
		if len(p.sort) == 1 && p.sort[0].param != nil && p.sort[0].param.Code == c.Sort {
			p.czSort = f
		}
		return
	}
}

// czPart is one token of a compound filter: exact system|code values and
// codes of any system (resolved in the script from the "~" registry).
type czPart struct {
	index string
	exact []string
	any   []string
}
