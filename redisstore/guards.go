package redisstore

import (
	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/conformance"
)

// clauseRanges turns one conditional criterion into the index lookups whose
// union matches it, over every shard of typ, for the guard commit.lua checks
// atomically with a conditional write. Conditional criteria support _id and
// lex-indexed tokens (identifier and the like) and references: the
// parameters that name one resource or tie it to another.
func (s *Store) clauseRanges(typ string, cl ww.Clause) ([]grange, error) {
	k := s.kr()
	var out []grange
	if cl.Param == "_id" && cl.Modifier == "" {
		for _, id := range cl.Values {
			sh := s.keys.shard(id)
			out = append(out, grange{kind: 'R', key: s.keys.cur(typ, id), min: id, shard: sh, tag: tagOfKeyParts(typ, sh)})
		}
		return out, nil
	}
	p, ok := s.reg.Lookup(typ, cl.Param)
	if !ok {
		return nil, ww.Errorf(ww.KindInvalid, "not-supported", "%s has no search parameter %q", typ, cl.Param)
	}
	if p.Type == conformance.TypeReference && p.Layout == "lex" && cl.Modifier == "" {
		// a reference: Type/id or id (placeholders are substituted first)
		for _, v := range cl.Values {
			rv, err := conformance.ParseReference(cl.Param, v, p.Restrict, "")
			if err != nil {
				return nil, err
			}
			pre := rv.ID + "\x00"
			switch {
			case rv.URL != "":
				pre = rv.URL + "\x00\x00"
			case rv.Type != "":
				pre = rv.ID + "\x00" + rv.Type + "\x00"
			}
			r := prefixRange(pre)
			for sh := 0; sh < s.keys.shards; sh++ {
				out = append(out, grange{kind: 'L', key: k.index(typ, sh, p.IndexName()), min: r[0], max: r[1], shard: sh, tag: tagOfKeyParts(typ, sh)})
			}
		}
		return out, nil
	}
	if p.Type != conformance.TypeToken || p.Layout != "lex" || cl.Modifier != "" {
		return nil, ww.Errorf(ww.KindInvalid, "not-supported", "%s:%s is not supported in conditional criteria", cl.Param, cl.Modifier)
	}
	for _, v := range cl.Values {
		system, code, hasSystem := conformance.SplitToken(v)
		if code == "" {
			return nil, ww.Errorf(ww.KindInvalid, "not-supported", "%s=%s (any code of a system) is not supported in conditional criteria; give system|value", cl.Param, v)
		}
		r := prefixRange(code + "\x00")
		min, max := r[0], r[1]
		if hasSystem {
			r := prefixRange(code + "\x00" + systemTag(system) + "\x00")
			min, max = r[0], r[1]
		}
		for sh := 0; sh < s.keys.shards; sh++ {
			out = append(out, grange{kind: 'L', key: k.index(typ, sh, p.IndexName()), min: min, max: max, shard: sh, tag: tagOfKeyParts(typ, sh)})
		}
	}
	return out, nil
}
