package redisstore

import (
	"strconv"

	"github.com/wachtwijzer/wachtwijzer/conformance"
	"github.com/wachtwijzer/wachtwijzer/fhirjson"
)

// ixop is one index entry operation: kind 's' (set), 'z' (sorted set) or
// 'g' (geo set); score is the zset score, or "lon,lat" for geo entries.
type ixop struct {
	kind   byte
	key    string
	member string
	score  string
	// sticky entries are only ever added (the systems seen by a token
	// index), never removed with the version that added them.
	sticky bool
}

func (o ixop) id() string { return string(o.kind) + o.key + "\x01" + o.member }

// entries computes every index entry of one version of a live resource.
func (s *Store) entries(typ, id string, res *fhirjson.Value, rec *record) []ixop {
	shard := s.keys.shard(id)
	out := make([]ixop, 0, 16)
	out = append(out, ixop{kind: 'z', key: s.keys.index(typ, shard, "_lastUpdated"), member: id, score: strconv.FormatInt(rec.ms, 10)})
	if rec.prov.Owner != "" {
		out = append(out, ixop{kind: 's', key: s.keys.index(typ, shard, "_owner", rec.prov.Owner), member: id})
	}
	for _, p := range s.reg.Indexed(typ) {
		vals := p.Extract(res)
		if vals.Empty() {
			continue
		}
		out = s.paramEntries(out, typ, id, shard, p, &vals)
	}
	return out
}

func (s *Store) paramEntries(out []ixop, typ, id string, shard int, p *conformance.SearchParam, v *conformance.Values) []ixop {
	name := p.IndexName()
	switch p.Type {
	case conformance.TypeToken:
		if p.Layout == "lex" {
			key := s.keys.index(typ, shard, name)
			for _, t := range v.Tokens {
				out = append(out, ixop{kind: 'z', key: key, member: lexMember(t.Code, t.System, id), score: "0"})
			}
			return out
		}
		for _, t := range v.Tokens {
			out = append(out, ixop{kind: 's', key: s.keys.index(typ, shard, name, t.System+"|"+t.Code), member: id})
			out = append(out, ixop{kind: 's', key: s.keys.index(typ, shard, name, "~"), member: t.System, sticky: true})
		}
	}
	return out
}

// diff returns the operations that turn the index entries of the old
// version into those of the new one, as ARGV-ready ops: "+s", "-s", "+z",
// "-z", "+g", "-g".
func diff(old, new []ixop) []ixop {
	if len(old) == 0 {
		return new
	}
	prev := make(map[string]ixop, len(old))
	for _, o := range old {
		prev[o.id()] = o
	}
	out := make([]ixop, 0, len(new))
	for _, n := range new {
		if o, ok := prev[n.id()]; ok {
			delete(prev, n.id())
			if o.score == n.score {
				continue
			}
		}
		out = append(out, n)
	}
	for _, o := range old {
		if _, gone := prev[o.id()]; gone && !o.sticky {
			o.kind = o.kind | 0x80 // removal
			out = append(out, o)
		}
	}
	return out
}

// removals marks every entry of a version for removal (for deletes).
func removals(old []ixop) []ixop {
	out := make([]ixop, 0, len(old))
	for _, o := range old {
		if !o.sticky {
			o.kind |= 0x80
			out = append(out, o)
		}
	}
	return out
}

func (o ixop) opcode() string {
	sign := "+"
	if o.kind&0x80 != 0 {
		sign = "-"
	}
	return sign + string(o.kind&0x7f)
}
