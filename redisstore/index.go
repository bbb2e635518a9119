package redisstore

import (
	"crypto/sha256"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/wachtwijzer/wachtwijzer/conformance"
	"github.com/wachtwijzer/wachtwijzer/fhirjson"
)

// ixop is one index entry operation: kind 's' (set), 'z' (sorted set), 'g'
// (geo set) or 'h' (hash field); score is the zset score, "lon,lat" for geo
// entries, the value for hash fields.
type ixop struct {
	kind   byte
	key    string
	member string
	score  string
	// sticky entries are only ever added (the systems seen by a token
	// index), never removed with the version that added them.
	sticky bool
}

// ixid identifies an index entry (kind, key, member): what diff pairs up.
type ixid struct {
	kind        byte
	key, member string
}

func (o ixop) ident() ixid { return ixid{o.kind, o.key, o.member} }

// maxNarrowWidth is the widest date value kept in the narrow index (a
// day, 25 hours on the autumn DST change).
const maxNarrowWidth = 25*3600*1000 - 1

// systemTag shortens a code system inside lex index members: 8 base32
// characters of its SHA-256 ("" stays ""). Collisions between the few
// systems of one parameter are negligible (40 bits).
func systemTag(system string) string {
	if system == "" {
		return ""
	}
	if t, ok := systemTags.Load(system); ok {
		return t.(string)
	}
	sum := sha256.Sum256([]byte(system))
	t := b32.EncodeToString(sum[:5])
	if systemTagsN.Add(1) <= maxSystemTags {
		systemTags.Store(system, t)
	}
	return t
}

// systemTags caches systemTag (every token entry asks; a deployment has
// few systems) up to maxSystemTags of them, so clients sending ever new
// systems cannot grow it without bound.
var (
	systemTags  sync.Map
	systemTagsN atomic.Int64
)

const maxSystemTags = 4096

// entries computes every index entry of one version of a live resource, in
// every generation the shard's write fence names (two while a reindex
// builds the next one).
func (s *Store) entries(typ, id string, res *fhirjson.Value, rec *record) []ixop {
	if isProjection(typ) {
		return s.projectionEntries(typ, id, rec.json)
	}
	var out []ixop
	for _, g := range s.writeGens(typ, s.keys.shard(id)) {
		out = s.entriesIn(out, s.keys.withGen(g), typ, id, res, rec)
	}
	return out
}

// entriesIn appends the index entries of one generation (keys k).
func (s *Store) entriesIn(out []ixop, k keys, typ, id string, res *fhirjson.Value, rec *record) []ixop {
	shard := k.shard(id)
	out = append(out, ixop{kind: 'z', key: k.index(typ, shard, "_lastUpdated"), member: id, score: strconv.FormatInt(rec.ms, 10)})
	if rec.prov.Owner != "" {
		out = append(out, ixop{kind: 's', key: k.index(typ, shard, "_owner", rec.prov.Owner), member: id})
	}
	lean := s.leanGen(k.gen)
	var parts partValues // the parts' values, extracted once
	for _, p := range s.reg.Indexed(typ) {
		if p.Code == "_lastUpdated" {
			continue
		}
		var vals conformance.Values
		switch {
		case lean && p.IsPart():
			vals.Strings = parts.of(p, res)
		default:
			vals = p.Extract(res)
		}
		if lean && len(p.Parts()) > 0 {
			vals.Strings = parts.without(vals.Strings, p, res)
		}
		if vals.Empty() {
			continue
		}
		out = s.paramEntries(out, k, typ, id, shard, p, &vals, lean)
	}
	for _, c := range s.reg.Compounds(typ) {
		out = s.compoundEntries(out, k, typ, id, shard, c, res)
	}
	return s.mediationEntries(out, k, typ, id, shard, res)
}

// partValues holds the values of the string parameters that are parts of
// others (conformance.SearchParam.Parts) for one resource.
type partValues []partValue

type partValue struct {
	p    *conformance.SearchParam
	vals []string
}

// of returns part's values, extracting them the first time.
func (pv *partValues) of(part *conformance.SearchParam, res *fhirjson.Value) []string {
	for _, x := range *pv {
		if x.p == part {
			return x.vals
		}
	}
	vals := part.Extract(res).Strings
	*pv = append(*pv, partValue{part, vals})
	return vals
}

// without drops the values of string parameter p that one of its parts
// takes too: those are found through the part's index, which a search of p
// reads as well.
func (pv *partValues) without(vals []string, p *conformance.SearchParam, res *fhirjson.Value) []string {
	out := make([]string, 0, len(vals))
	for _, v := range vals {
		held := false
		for _, part := range p.Parts() {
			if slices.Contains(pv.of(part, res), v) {
				held = true
				break
			}
		}
		if !held {
			out = append(out, v)
		}
	}
	return out
}

func (s *Store) paramEntries(out []ixop, k keys, typ, id string, shard int, p *conformance.SearchParam, v *conformance.Values, lean bool) []ixop {
	name := p.IndexName()
	key := k.index(typ, shard, name)
	switch p.Type {
	case conformance.TypeToken:
		if p.Layout == "lex" {
			bySys := map[string]bool{}
			for _, t := range v.Tokens {
				out = append(out, ixop{kind: 'z', key: key, member: lexMember(t.Code, systemTag(t.System), id), score: "0"})
				if t.System != "" && !bySys[t.System] {
					bySys[t.System] = true
					if lean { // a set member costs a fraction of a sorted-set one
						out = append(out, ixop{kind: 's', key: k.index(typ, shard, name, "sys", systemTag(t.System)), member: id})
					} else {
						out = append(out, ixop{kind: 'z', key: k.index(typ, shard, name, "sys"), member: systemTag(t.System) + "\x00" + id, score: "0"})
					}
				}
			}
		} else {
			for _, t := range v.Tokens {
				out = append(out, ixop{kind: 's', key: k.index(typ, shard, name, t.System+"|"+t.Code), member: id})
				out = append(out, ixop{kind: 's', key: k.index(typ, shard, name, "~"), member: t.System, sticky: true})
				out = append(out, ixop{kind: 's', key: k.index(typ, shard, name, "~:"+t.System), member: t.Code, sticky: true})
			}
		}
		for _, t := range v.OfType {
			out = append(out, ixop{kind: 'z', key: k.index(typ, shard, name, "of-type"), member: t.System + "|" + t.Code + "\x00" + id, score: "0"})
		}
		out = s.textEntries(out, k, typ, id, shard, name, p.Layout, v)
	case conformance.TypeReference:
		for _, r := range v.Refs {
			switch {
			case r.ID != "" && (r.URL == "" || r.Type != ""):
				out = append(out, ixop{kind: 'z', key: key, member: r.ID + "\x00" + r.Type + "\x00" + id, score: "0"})
			case r.URL != "":
				out = append(out, ixop{kind: 'z', key: key, member: r.URL + "\x00\x00" + id, score: "0"})
			}
			if r.IdentValue != "" {
				out = append(out, ixop{kind: 'z', key: k.index(typ, shard, name, "identifier"), member: lexMember(r.IdentValue, systemTag(r.IdentSystem), id), score: "0"})
			}
		}
	case conformance.TypeString:
		seen := map[string]bool{}
		for _, str := range v.Strings {
			m := conformance.Normalize(str) + "\x00" + str + "\x00" + id
			if !seen[m] {
				seen[m] = true
				out = append(out, ixop{kind: 'z', key: key, member: m, score: "0"})
			}
		}
	case conformance.TypeURI:
		for _, u := range v.URIs {
			out = append(out, ixop{kind: 'z', key: key, member: u + "\x00" + id, score: "0"})
		}
	case conformance.TypeDate:
		out = dateEntries(out, k, typ, id, shard, name, p.WidthMillis(), v.Ranges)
	case conformance.TypeNumber:
		for i, n := range v.Numbers {
			out = append(out, ixop{kind: 'z', key: key, member: member(id, i), score: strconv.FormatFloat(n, 'g', -1, 64)})
		}
	case conformance.TypeQuantity:
		for i, q := range v.Quantities {
			out = append(out, ixop{kind: 'z', key: k.index(typ, shard, name, q.System+"|"+q.Code), member: member(id, i), score: strconv.FormatFloat(q.Value, 'g', -1, 64)})
			out = append(out, ixop{kind: 'z', key: key, member: member(id, i), score: strconv.FormatFloat(q.Value, 'g', -1, 64)})
		}
	case conformance.TypeSpecial:
		if len(v.Geos) > 0 {
			g := v.Geos[0]
			out = append(out, ixop{kind: 'g', key: key, member: id, score: strconv.FormatFloat(g.Lon, 'f', -1, 64) + "," + strconv.FormatFloat(g.Lat, 'f', -1, 64)})
		}
	}
	return out
}

// textEntries makes :text searchable. For set-indexed tokens the display
// texts are recorded once per distinct (text, code) pair in a sticky lex
// registry "folded text\0system|code", so :text resolves to the codes and
// then to their value sets — no per-resource entry; a CodeableConcept.text
// without a code becomes its own value set "@text|folded". Lex-indexed
// tokens (identifier types) keep a per-resource text index.
func (s *Store) textEntries(out []ixop, k keys, typ, id string, shard int, name, layout string, v *conformance.Values) []ixop {
	if len(v.Texts) == 0 {
		return out
	}
	if layout == "lex" {
		for _, txt := range v.Texts {
			out = append(out, ixop{kind: 'z', key: k.index(typ, shard, name, "text"), member: conformance.Normalize(txt) + "\x00" + id, score: "0"})
		}
		return out
	}
	reg := k.index(typ, shard, name, "~text")
	coded := map[string]bool{}
	for _, t := range v.TextCodes {
		out = append(out, ixop{kind: 'z', key: reg, member: conformance.Normalize(t.Text) + "\x00" + t.System + "|" + t.Code, score: "0", sticky: true})
		coded[t.Text] = true
	}
	for _, txt := range v.Texts {
		if coded[txt] {
			continue
		}
		f := conformance.Normalize(txt)
		out = append(out, ixop{kind: 's', key: k.index(typ, shard, name, "@text|"+f), member: id})
		out = append(out, ixop{kind: 'z', key: reg, member: f + "\x00@text|" + f, score: "0", sticky: true})
	}
	return out
}

func member(id string, k int) string {
	if k == 0 {
		return id
	}
	return id + "|" + strconv.Itoa(k)
}

// wideKinds is the number of width classes of wide date values: class b
// holds finite values wider than maxNarrowWidth and at most 2^b days wide
// (b = 1 … wideKinds; 2^22 days outlast any FHIR date).
const wideKinds = 22

const dayMillis = 24 * 3600 * 1000

// wideKind names the index a date range wider than maxNarrowWidth lives in:
// "b<k>" for finite ranges (by width class), "oe" open end (scored by the
// lower bound), "os" open start (scored by the upper bound), "all" open on
// both sides.
func wideKind(r conformance.Range) (string, string) {
	switch {
	case r.Lo == conformance.MinRange && r.Hi == conformance.MaxRange:
		return "all", "0"
	case r.Hi == conformance.MaxRange:
		return "oe", strconv.FormatInt(r.Lo, 10)
	case r.Lo == conformance.MinRange:
		return "os", strconv.FormatInt(r.Hi, 10)
	}
	w := r.Hi - r.Lo
	for b := 1; b < wideKinds; b++ {
		if w <= int64(dayMillis)<<b {
			return "b" + strconv.Itoa(b), strconv.FormatInt(r.Lo, 10)
		}
	}
	return "b" + strconv.Itoa(wideKinds), strconv.FormatInt(r.Lo, 10)
}

// wideWidth is the widest value of width class "b<k>".
func wideWidth(kind string) int64 {
	b, _ := strconv.Atoi(strings.TrimPrefix(kind, "b"))
	return int64(dayMillis) << b
}

// dateEntries indexes date ranges. A single value of the parameter's usual
// width is one narrow-zset member (score = lower bound); anything else —
// another width, several values, an open or wide range — is also described
// in full in the exceptions hash. Ranges wider than a day live in a width
// class zset (score = lower bound), so a search bounds their lower bound on
// both ends; open-ended ranges in their own zsets; the classes in use are
// recorded in the sticky ":wk" set.
func dateEntries(out []ixop, k keys, typ, id string, shard int, name string, width int64, ranges []conformance.Range) []ixop {
	narrow := k.index(typ, shard, name)
	plain := len(ranges) == 1 && ranges[0].Hi-ranges[0].Lo == width && ranges[0].Lo != conformance.MinRange && ranges[0].Hi != conformance.MaxRange
	if !plain {
		var b strings.Builder
		for i, r := range ranges {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(fmtBound(r.Lo))
			b.WriteByte(':')
			b.WriteString(fmtBound(r.Hi))
		}
		out = append(out, ixop{kind: 'h', key: k.index(typ, shard, name, "x"), member: id, score: b.String()})
	}
	for i, r := range ranges {
		m := member(id, i)
		if r.Lo != conformance.MinRange && r.Hi != conformance.MaxRange && r.Hi-r.Lo <= maxNarrowWidth {
			out = append(out, ixop{kind: 'z', key: narrow, member: m, score: strconv.FormatInt(r.Lo, 10)})
			continue
		}
		kind, score := wideKind(r)
		out = append(out, ixop{kind: 'z', key: k.index(typ, shard, name, "w"+kind), member: id + "|" + strconv.Itoa(i), score: score})
		out = append(out, ixop{kind: 's', key: k.index(typ, shard, name, "wk"), member: kind, sticky: true})
	}
	return out
}

func fmtBound(v int64) string {
	switch v {
	case conformance.MinRange:
		return "-inf"
	case conformance.MaxRange:
		return "+inf"
	}
	return strconv.FormatInt(v, 10)
}

// diff returns the operations that turn the index entries of the old
// version into those of the new one.
func diff(old, new []ixop) []ixop {
	new = uniqueSets(new)
	if len(old) == 0 {
		return new
	}
	prev := make(map[ixid]ixop, len(old))
	for _, o := range old {
		prev[o.ident()] = o
	}
	out := make([]ixop, 0, len(new))
	for _, n := range new {
		if o, ok := prev[n.ident()]; ok {
			delete(prev, n.ident())
			if o.score == n.score {
				continue
			}
		}
		out = append(out, n)
	}
	for _, o := range old {
		if _, gone := prev[o.ident()]; gone && !o.sticky {
			o.kind = o.kind | 0x80 // removal
			out = append(out, o)
		}
	}
	return out
}

// uniqueSets drops repeated set-index entries of one version (three
// participants with the same status add the same member three times): a
// set member is there once, however often it is added. Entries of other
// kinds are kept as they are (a sorted-set member's last score wins).
func uniqueSets(ix []ixop) []ixop {
	return dropRepeated(ix, nil, func(o ixop) bool { return o.kind == 's' })
}

// dropRepeated returns ix without the entries that take part (part) and
// whose identity seen already holds; it adds the others' to seen (nil: a
// fresh one). ix itself is returned, unchanged, when nothing is dropped.
func dropRepeated(ix []ixop, seen map[ixid]bool, part func(ixop) bool) []ixop {
	var out []ixop // nil until one is dropped
	for i, o := range ix {
		if !part(o) {
			if out != nil {
				out = append(out, o)
			}
			continue
		}
		if seen == nil {
			seen = make(map[ixid]bool, len(ix))
		}
		id := o.ident()
		if seen[id] {
			if out == nil {
				out = append(make([]ixop, 0, len(ix)), ix[:i]...)
			}
			continue
		}
		seen[id] = true
		if out != nil {
			out = append(out, o)
		}
	}
	if out == nil {
		return ix
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
	return opcodes[o.code()]
}

// code is the kind the scripts see: a registry (sticky) addition is spelled
// in upper case ("+S", "+Z"), so a script can run it for a write it skips
// (see dropSeenSticky).
func (o ixop) code() byte {
	if o.sticky && o.kind >= 'a' && o.kind <= 'z' {
		return o.kind - 'a' + 'A'
	}
	return o.kind
}

// dropSeenSticky drops from ix the registry (sticky) additions an earlier
// write of the same commit already carries (seen, filled as it goes): a
// batch of 100 imported Appointments adds each status, specialty and
// service-type registry entry once, not 100 times. The script runs a
// write's registry additions even when it skips the write, so the entry is
// added whichever write carries it. ix itself is left as it is.
func dropSeenSticky(ix []ixop, seen map[ixid]bool) []ixop {
	return dropRepeated(ix, seen, func(o ixop) bool { return o.sticky })
}

// opcodes spells every ixop kind as the scripts' "+k" / "-k" (built once:
// a commit sends hundreds).
var opcodes = func() (out [256]string) {
	for k := 0; k < 256; k++ {
		sign := "+"
		if k&0x80 != 0 {
			sign = "-"
		}
		out[k] = sign + string(rune(k&0x7f))
	}
	return out
}()

// opcodeArgs are opcodes as ARGV values (boxed once, not per argument).
var opcodeArgs = func() (out [256]any) {
	for k, op := range opcodes {
		out[k] = op
	}
	return out
}()

var _ = math.Inf
