package redisstore

import (
	"strconv"
	"strings"

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
		vals := s.compoundValues(typ, code, res)
		if len(vals) == 0 {
			return out
		}
		var next [][]string
		for _, prefix := range combos {
			for _, v := range vals {
				next = append(next, append(append([]string(nil), prefix...), v))
			}
		}
		combos = next
	}
	for _, combo := range combos {
		out = append(out, ixop{kind: 'z', key: k.index(typ, shard, c.Name(), combo...), member: id, score: score})
	}
	return out
}

// compoundValues lists the values parameter code takes in res as compound
// key parts: "system|code" of a token, "Type/id" of a literal reference
// (of the parameter's Restrict type, read from the index it shares), each
// once.
func (s *Store) compoundValues(typ, code string, res *fhirjson.Value) []string {
	p, ok := s.reg.Lookup(typ, code)
	if !ok {
		return nil
	}
	var out []string
	if p.Type != conformance.TypeReference {
		for _, t := range p.Extract(res).Tokens {
			out = append(out, t.System+"|"+t.Code)
		}
		return out
	}
	src := p
	if base, ok := s.reg.Lookup(typ, p.IndexName()); ok {
		src = base
	}
	seen := map[string]bool{}
	for _, r := range src.Extract(res).Refs {
		if r.ID == "" || r.Type == "" || (p.Restrict != "" && r.Type != p.Restrict) {
			continue
		}
		if v := r.Type + "/" + r.ID; !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}

// applyCompound adds a compound filter when the clauses give an equality on
// every part of a compound index: the covered token filters and reference
// filters are dropped (the compound implies them) and, when the search sorts by the compound's date, the compound is
// what the script streams. A reference part takes a clause on the parameter
// or on the index it shares ("actor" for "practitioner") whose values all
// name the part's type. A compound whose date may be missing is used only
// when a date clause on it requires a value.
func (s *Store) applyCompound(p *qplan, clauses []ww.Clause, base string) {
	if !s.compoundsOK.Load() {
		return // not built for every resource yet: the plain indexes answer
	}
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
			sp, _ := s.reg.Lookup(p.typ, code)
			if sp == nil {
				ok = false
				break
			}
			if sp.Type == conformance.TypeReference {
				part, found := refPart(s.reg, p.typ, sp, clauses, base)
				if !found {
					ok = false
					break
				}
				parts = append(parts, part)
				continue
			}
			cl, found := byParam[code]
			if !found || cl.Param != code {
				ok = false
				break
			}
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
		sortParam, _ := s.reg.Lookup(p.typ, c.Sort)
		if sortParam == nil {
			continue
		}
		if !c.SortRequired {
			dated := false
			for _, x := range p.filters {
				dated = dated || (x.kind == "date" && x.index == sortParam.IndexName())
			}
			if !dated {
				continue
			}
		}
		f := &filter{kind: "cz", index: c.Name(), czParts: parts, czSort: c.Sort, a: "-inf", b: "+inf", describe: "compound index " + c.Name() + " ordered by " + c.Sort}
		// Drop the token filters the compound covers, and a reference
		// filter that asks exactly one part's references.
		keep := p.filters[:0]
		for _, x := range p.filters {
			covered := refCovered(x, parts)
			if x.kind == "set" {
				for _, code := range c.Params {
					if sp, _ := s.reg.Lookup(p.typ, code); sp != nil && sp.Type == conformance.TypeToken && x.index == sp.IndexName() {
						covered = true
					}
				}
			}
			if x.kind == "date" && x.index == sortParam.IndexName() {
				f.a, f.b = x.a, x.b
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

// refCovered reports whether x is the reference index filter of a
// compound part: the same index and the same typed references, so the
// compound implies it.
func refCovered(x *filter, parts []czPart) bool {
	if x.kind != "lex" || x.sub != "" || len(x.exact) == 0 {
		return false
	}
	for _, pt := range parts {
		if !pt.ref || pt.index != x.index || len(pt.exact) != len(x.exact) {
			continue
		}
		same := true
		for i, v := range pt.exact {
			typ, id, _ := strings.Cut(v, "/")
			same = same && x.exact[i] == id+"\x00"+typ+"\x00"
		}
		if same {
			return true
		}
	}
	return false
}

// refPart finds a clause that makes reference parameter sp a compound part:
// on sp itself or on the unrestricted parameter of its index, without
// modifier or chain, every value a local Type/id of sp's Restrict type.
func refPart(reg *conformance.Registry, typ string, sp *conformance.SearchParam, clauses []ww.Clause, base string) (czPart, bool) {
	for _, cl := range clauses {
		if cl.Modifier != "" || cl.Chain != "" || len(cl.Values) == 0 {
			continue
		}
		cp, _ := reg.Lookup(typ, cl.Param)
		if cp == nil || cp.Type != conformance.TypeReference || cp.IndexName() != sp.IndexName() || (cp != sp && cp.Restrict != "") {
			continue
		}
		part := czPart{index: sp.IndexName(), ref: true}
		for _, v := range cl.Values {
			rv, err := conformance.ParseReference(cl.Param, v, cp.Restrict, base)
			if err != nil || rv.URL != "" || rv.ID == "" || (sp.Restrict != "" && rv.Type != sp.Restrict) || rv.Type == "" {
				part.exact = nil
				break
			}
			part.exact = append(part.exact, rv.Type+"/"+rv.ID)
		}
		if len(part.exact) > 0 {
			return part, true
		}
	}
	return czPart{}, false
}

// czPart is one token of a compound filter: exact system|code values and
// codes of any system (resolved in the script from the "~" registry).
type czPart struct {
	index string
	exact []string
	any   []string
	ref   bool // a reference part: exact holds Type/id
}
