package redisstore

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"

	ww "github.com/wachtwijzer/wachtwijzer"
)

// The differential test generates random Appointments and Patients, runs
// random searches through the store and through a deliberately naive
// evaluator written here on decoded JSON, and compares the ids (and their
// order when sorted).

type naiveRes struct {
	typ, id string
	m       map[string]any
	lastMod int64
}

var (
	statuses  = []string{"booked", "fulfilled", "cancelled", "noshow", "waitlist", "proposed"}
	sysA      = "urn:oid:2.16.840.1.113883.2.4.6.7"
	sysB      = "http://ei.vektis.nl/codelijsten/COD016-VEKT"
	codes     = []string{"0301", "0305", "0313", "0320"}
	families  = []string{"Jansen", "de Vries", "Bakker", "Ríjsbergen", "Müller", "Smit", "Van Dijk", "Janssen"}
	givens    = []string{"Jan", "Anna", "Émile", "Piet", "Sanne"}
	cities    = []string{"Amsterdam", "Utrecht", "Nijmegen", "Den Haag", "Zwolle"}
	amsLoc, _ = time.LoadLocation("Europe/Amsterdam")
)

// instants around both 2026 DST changes, at second and millisecond precision.
func randInstant(r *rand.Rand) string {
	bases := []time.Time{time.Date(2026, 3, 29, 0, 0, 0, 0, amsLoc), time.Date(2026, 10, 25, 0, 0, 0, 0, amsLoc), time.Date(2026, 12, 1, 8, 0, 0, 0, amsLoc)}
	t := bases[r.IntN(len(bases))].Add(time.Duration(r.IntN(72*60)-24*60) * time.Minute)
	switch r.IntN(3) {
	case 0:
		return t.UTC().Format("2006-01-02T15:04:05Z")
	case 1:
		return t.Format("2006-01-02T15:04:05-07:00")
	default:
		return t.Add(time.Duration(r.IntN(1000)) * time.Millisecond).Format("2006-01-02T15:04:05.000-07:00")
	}
}

func randDate(r *rand.Rand) string {
	t := time.Date(1940+r.IntN(70), time.Month(1+r.IntN(12)), 1+r.IntN(28), 0, 0, 0, 0, time.UTC)
	switch r.IntN(4) {
	case 0:
		return t.Format("2006")
	case 1:
		return t.Format("2006-01")
	default:
		return t.Format("2006-01-02")
	}
}

func genAppointment(r *rand.Rand, i int) map[string]any {
	a := map[string]any{"resourceType": "Appointment", "id": fmt.Sprintf("a%03d", i), "status": statuses[r.IntN(len(statuses))]}
	parts := []any{}
	parts = append(parts, map[string]any{"status": "accepted", "actor": map[string]any{"reference": fmt.Sprintf("Patient/p%02d", r.IntN(20))}})
	if r.IntN(3) > 0 {
		parts = append(parts, map[string]any{"status": "accepted", "actor": map[string]any{"reference": fmt.Sprintf("Practitioner/dr%d", r.IntN(6))}})
	}
	a["participant"] = parts
	if a["status"] != "waitlist" && r.IntN(5) > 0 {
		a["start"] = randInstant(r)
		if r.IntN(2) == 0 {
			a["end"] = randInstant(r)
		}
	}
	if r.IntN(4) > 0 {
		sys := sysA
		if r.IntN(3) == 0 {
			sys = sysB
		}
		a["serviceType"] = []any{map[string]any{"coding": []any{map[string]any{"system": sys, "code": codes[r.IntN(len(codes))], "display": "Spec " + codes[r.IntN(len(codes))]}}}}
	}
	if r.IntN(3) > 0 {
		sys := "https://h.example/appt"
		if r.IntN(4) == 0 {
			sys = "https://other.example/appt"
		}
		a["identifier"] = []any{map[string]any{"system": sys, "value": fmt.Sprintf("X%d", r.IntN(50))}}
	}
	if r.IntN(2) == 0 {
		// requested periods: bounded (days to months wide), open-ended, or a day
		rp := map[string]any{}
		start := time.Date(2026, time.Month(1+r.IntN(12)), 1+r.IntN(28), 0, 0, 0, 0, amsLoc)
		switch r.IntN(4) {
		case 0:
			rp["start"], rp["end"] = start.Format("2006-01-02"), start.AddDate(0, r.IntN(5), 1+r.IntN(20)).Format("2006-01-02")
		case 1:
			rp["start"] = start.Format("2006-01-02")
		case 2:
			rp["end"] = start.Format("2006-01-02")
		default:
			rp["start"], rp["end"] = start.Format("2006-01-02"), start.Format("2006-01-02")
		}
		a["requestedPeriod"] = []any{rp}
	}
	if r.IntN(3) > 0 {
		a["minutesDuration"] = []int{10, 15, 20, 30, 45, 60}[r.IntN(6)]
	}
	return a
}

func genPatient(r *rand.Rand, i int) map[string]any {
	p := map[string]any{"resourceType": "Patient", "id": fmt.Sprintf("p%02d", i), "gender": []string{"male", "female", "other"}[r.IntN(3)]}
	if r.IntN(5) > 0 {
		name := map[string]any{"family": families[r.IntN(len(families))]}
		if r.IntN(2) == 0 {
			name["given"] = []any{givens[r.IntN(len(givens))]}
		}
		switch r.IntN(4) {
		case 0: // a text only the name index holds
			name["text"] = givens[r.IntN(len(givens))] + " " + name["family"].(string)
		case 1:
			name["prefix"] = []any{"Dr."}
		}
		p["name"] = []any{name}
	}
	if r.IntN(4) > 0 {
		p["birthDate"] = randDate(r)
	}
	if r.IntN(3) > 0 {
		addr := map[string]any{"city": cities[r.IntN(len(cities))]}
		if r.IntN(2) == 0 {
			addr["line"] = []any{families[r.IntN(len(families))] + "straat " + fmt.Sprint(1+r.IntN(9))}
		}
		if r.IntN(2) == 0 {
			addr["postalCode"] = fmt.Sprintf("35%02d AB", r.IntN(4))
		}
		p["address"] = []any{addr}
	}
	return p
}

// --- the naive evaluator -------------------------------------------------

func naiveFold(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch r {
		case 'í', 'ì', 'ï', 'î':
			r = 'i'
		case 'é', 'è', 'ë', 'ê':
			r = 'e'
		case 'ü', 'ú':
			r = 'u'
		case 'á', 'à', 'ä':
			r = 'a'
		case 'ó', 'ö':
			r = 'o'
		}
		if !unicode.Is(unicode.Mn, r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// naiveRange parses a FHIR date/dateTime/instant into [lo, hi] ms.
func naiveRange(s string) (int64, int64, bool) {
	layouts := []struct {
		layout string
		add    func(time.Time) time.Time
	}{
		{"2006-01-02T15:04:05.000Z07:00", func(t time.Time) time.Time { return t.Add(time.Millisecond) }},
		{"2006-01-02T15:04:05Z07:00", func(t time.Time) time.Time { return t.Add(time.Second) }},
		{"2006-01-02T15:04Z07:00", func(t time.Time) time.Time { return t.Add(time.Minute) }},
	}
	for _, l := range layouts {
		if t, err := time.Parse(l.layout, s); err == nil {
			return t.UnixMilli(), l.add(t).UnixMilli() - 1, true
		}
	}
	local := []struct {
		layout string
		add    func(time.Time) time.Time
	}{
		{"2006-01-02T15:04:05", func(t time.Time) time.Time { return t.Add(time.Second) }},
		{"2006-01-02T15:04", func(t time.Time) time.Time { return t.Add(time.Minute) }},
		{"2006-01-02", func(t time.Time) time.Time { return t.AddDate(0, 0, 1) }},
		{"2006-01", func(t time.Time) time.Time { return t.AddDate(0, 1, 0) }},
		{"2006", func(t time.Time) time.Time { return t.AddDate(1, 0, 0) }},
	}
	for _, l := range local {
		if t, err := time.ParseInLocation(l.layout, s, amsLoc); err == nil {
			return t.UnixMilli(), l.add(t).UnixMilli() - 1, true
		}
	}
	return 0, 0, false
}

// naivePeriod is a Period's range: start's lower bound to end's upper
// bound, open ends unbounded.
func naivePeriod(m map[string]any) (int64, int64, bool) {
	lo, hi := int64(math.MinInt64), int64(math.MaxInt64)
	s, hasS := m["start"].(string)
	e, hasE := m["end"].(string)
	if !hasS && !hasE {
		return 0, 0, false
	}
	if hasS {
		lo, _, _ = naiveRange(s)
	}
	if hasE {
		_, hi, _ = naiveRange(e)
	}
	return lo, hi, true
}

func naiveNumber(v string, t float64) bool {
	prefix := "eq"
	if len(v) > 2 && v[0] >= 'a' && v[0] <= 'z' {
		prefix, v = v[:2], v[2:]
	}
	x, _ := strconv.ParseFloat(v, 64)
	half := 0.5
	if i := strings.IndexByte(v, '.'); i >= 0 {
		half = 0.5 * math.Pow(10, -float64(len(v)-i-1))
	}
	lo, hi := x-half, x+half
	switch prefix {
	case "eq":
		return t >= lo && t < hi
	case "ap":
		d := math.Abs(x) / 10
		return t >= x-d && t < x+d
	case "ne":
		return !(t >= lo && t < hi)
	case "gt", "sa":
		return t > x
	case "lt", "eb":
		return t < x
	case "ge":
		return t >= x
	case "le":
		return t <= x
	}
	return false
}

func naiveDate(prefix string, slo, shi, lo, hi int64) bool {
	switch prefix {
	case "eq":
		return lo >= slo && hi <= shi
	case "ne":
		return !(lo >= slo && hi <= shi)
	case "gt":
		return hi > shi
	case "lt":
		return lo < slo
	case "ge":
		return hi > shi || (lo >= slo && hi <= shi)
	case "le":
		return lo < slo || (lo >= slo && hi <= shi)
	case "sa":
		return lo > shi
	case "eb":
		return hi < slo
	}
	return false
}

func strs(v any, keys ...string) []string {
	cur := []any{v}
	for _, k := range keys {
		var next []any
		for _, c := range cur {
			m, ok := c.(map[string]any)
			if !ok {
				continue
			}
			switch x := m[k].(type) {
			case []any:
				next = append(next, x...)
			case nil:
			default:
				next = append(next, x)
			}
		}
		cur = next
	}
	var out []string
	for _, c := range cur {
		if s, ok := c.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// naiveWorld is every resource, for chains and _has.
var naiveWorld []naiveRes

// naiveMatch evaluates one clause on one resource.
func naiveMatch(res naiveRes, cl ww.Clause) bool {
	m := res.m
	some := func(vals []string, f func(string) bool) bool {
		for _, v := range vals {
			if f(v) {
				return true
			}
		}
		return false
	}
	or := func(f func(v string) bool) bool {
		for _, v := range cl.Values {
			if f(v) {
				return true
			}
		}
		return false
	}
	switch res.typ + "." + cl.Param {
	case "Appointment.status", "Patient.gender":
		field := map[string]string{"status": "status", "gender": "gender"}[cl.Param]
		hit := or(func(v string) bool { return some(strs(m, field), func(s string) bool { return s == v }) })
		if cl.Modifier == "not" {
			return !hit
		}
		return hit
	case "Appointment.service-type":
		return or(func(v string) bool {
			sys, code, hasSys := strings.Cut(v, "|")
			if !hasSys {
				code, sys = v, ""
			}
			for _, st := range asList(m["serviceType"]) {
				for _, c := range asList(st.(map[string]any)["coding"]) {
					cm := c.(map[string]any)
					cs, cc := cm["system"].(string), cm["code"].(string)
					switch {
					case !hasSys && cc == code, hasSys && code == "" && cs == sys, hasSys && cs == sys && cc == code:
						return true
					}
				}
			}
			return false
		})
	case "Appointment.actor", "Appointment.patient", "Appointment.practitioner":
		want := map[string]string{"actor": "", "patient": "Patient", "practitioner": "Practitioner"}[cl.Param]
		if cl.Chain != "" {
			// actor:Patient.family=v: a participant Patient whose family matches
			for _, ref := range strs(m, "participant", "actor", "reference") {
				typ, id, _ := strings.Cut(ref, "/")
				if typ != "Patient" || (cl.Modifier != "" && cl.Modifier != "Patient") {
					continue
				}
				for _, p := range naiveWorld {
					if p.typ == "Patient" && p.id == id && naiveMatch(p, ww.Clause{Param: cl.Chain, Values: cl.Values}) {
						return true
					}
				}
			}
			return false
		}
		return or(func(v string) bool {
			return some(strs(m, "participant", "actor", "reference"), func(ref string) bool {
				typ, id, _ := strings.Cut(ref, "/")
				if want != "" && typ != want {
					return false
				}
				if cl.Modifier != "" && typ != cl.Modifier {
					return false
				}
				if strings.Contains(v, "/") {
					return v == ref
				}
				return v == id
			})
		})
	case "Appointment.identifier":
		return or(func(v string) bool {
			sys, val, hasSys := strings.Cut(v, "|")
			for _, id := range asList(m["identifier"]) {
				im := id.(map[string]any)
				if hasSys && val == "" && im["system"] == sys {
					return true
				}
				if im["value"] == val && (!hasSys || im["system"] == sys) || (!hasSys && im["value"] == v) {
					return true
				}
			}
			return false
		})
	case "Appointment.requested-period":
		return or(func(v string) bool {
			prefix := "eq"
			if len(v) > 2 && v[0] >= 'a' && v[0] <= 'z' {
				prefix, v = v[:2], v[2:]
			}
			slo, shi, _ := naiveRange(v)
			for _, rp := range asList(m["requestedPeriod"]) {
				if lo, hi, ok := naivePeriod(rp.(map[string]any)); ok && naiveDate(prefix, slo, shi, lo, hi) {
					return true
				}
			}
			return false
		})
	case "Appointment.minutes-duration":
		t, ok := m["minutesDuration"].(float64)
		if !ok {
			if i, isInt := m["minutesDuration"].(int); isInt {
				t, ok = float64(i), true
			}
		}
		return ok && or(func(v string) bool { return naiveNumber(v, t) })
	case "Patient._has":
		// _has:Appointment:patient:status=v
		return or(func(v string) bool {
			for _, a := range naiveWorld {
				if a.typ == "Appointment" && strs(a.m, "status")[0] == v {
					for _, ref := range strs(a.m, "participant", "actor", "reference") {
						if ref == "Patient/"+res.id {
							return true
						}
					}
				}
			}
			return false
		})
	case "Appointment.date", "Appointment.end", "Patient.birthdate":
		field := map[string]string{"date": "start", "end": "end", "birthdate": "birthDate"}[cl.Param]
		return or(func(v string) bool {
			prefix := "eq"
			if len(v) > 2 && v[0] >= 'a' && v[0] <= 'z' {
				prefix, v = v[:2], v[2:]
			}
			slo, shi, _ := naiveRange(v)
			return some(strs(m, field), func(s string) bool {
				lo, hi, ok := naiveRange(s)
				return ok && naiveDate(prefix, slo, shi, lo, hi)
			})
		})
	case "Patient.family", "Patient.given", "Patient.address-city", "Patient.name", "Patient.address":
		var vals []string
		switch cl.Param {
		case "family":
			vals = strs(m, "name", "family")
		case "given":
			vals = strs(m, "name", "given")
		case "address-city":
			vals = strs(m, "address", "city")
		case "name":
			for _, f := range []string{"text", "family", "given", "prefix", "suffix"} {
				vals = append(vals, strs(m, "name", f)...)
			}
		case "address":
			for _, f := range []string{"text", "line", "city", "district", "state", "postalCode", "country"} {
				vals = append(vals, strs(m, "address", f)...)
			}
		}
		return or(func(v string) bool {
			return some(vals, func(s string) bool {
				switch cl.Modifier {
				case "exact":
					return s == v
				case "contains":
					return strings.Contains(naiveFold(s), naiveFold(v))
				}
				return strings.HasPrefix(naiveFold(s), naiveFold(v))
			})
		})
	case "Appointment._id", "Patient._id":
		return or(func(v string) bool { return v == res.id })
	}
	panic("naive evaluator does not know " + res.typ + "." + cl.Param)
}

func asList(v any) []any {
	if l, ok := v.([]any); ok {
		return l
	}
	return nil
}

// naiveSortValue: dates by the start of the range, strings folded.
func naiveSortValue(res naiveRes, key ww.SortKey) (float64, string, bool) {
	switch key.Param {
	case "_lastUpdated":
		return float64(res.lastMod), "", true
	case "_id":
		return 0, res.id, true
	case "date", "birthdate":
		field := map[string]string{"date": "start", "birthdate": "birthDate"}[key.Param]
		for _, s := range strs(res.m, field) {
			lo, _, ok := naiveRange(s)
			return float64(lo), "", ok
		}
		return 0, "", false
	case "requested-period":
		found := false
		best := 0.0
		for _, rp := range asList(res.m["requestedPeriod"]) {
			lo, _, ok := naivePeriod(rp.(map[string]any))
			if !ok || lo == math.MinInt64 {
				continue
			}
			if !found || (key.Descending && float64(lo) > best) || (!key.Descending && float64(lo) < best) {
				best, found = float64(lo), true
			}
		}
		return best, "", found
	case "minutes-duration":
		switch t := res.m["minutesDuration"].(type) {
		case int:
			return float64(t), "", true
		case float64:
			return t, "", true
		}
		return 0, "", false
	case "status":
		return 0, strs(res.m, "status")[0], true
	case "family":
		vals := strs(res.m, "name", "family")
		if len(vals) == 0 {
			return 0, "", false
		}
		best := naiveFold(vals[0])
		for _, v := range vals[1:] {
			if f := naiveFold(v); (key.Descending && f > best) || (!key.Descending && f < best) {
				best = f
			}
		}
		return 0, best, true
	}
	panic("naive sort " + key.Param)
}

func naiveSearch(all []naiveRes, q *ww.Query) []string {
	var hits []naiveRes
	for _, r := range all {
		if r.typ != q.Type {
			continue
		}
		ok := true
		for _, cl := range q.Clauses {
			if !naiveMatch(r, cl) {
				ok = false
				break
			}
		}
		if ok {
			hits = append(hits, r)
		}
	}
	keys := q.Sort
	if len(keys) == 0 {
		keys = []ww.SortKey{{Param: "_lastUpdated"}}
	}
	sort.SliceStable(hits, func(i, j int) bool {
		all := true
		for _, key := range keys {
			ni, si, oki := naiveSortValue(hits[i], key)
			nj, sj, okj := naiveSortValue(hits[j], key)
			switch {
			case oki != okj:
				return oki
			case !oki:
				continue
			case ni != nj || si != sj:
				if key.Descending {
					return ni > nj || (ni == nj && si > sj)
				}
				return ni < nj || (ni == nj && si < sj)
			}
			all = false
		}
		if all && hits[i].lastMod != hits[j].lastMod {
			// no value for any key: last, in _lastUpdated then id order
			return hits[i].lastMod < hits[j].lastMod
		}
		return hits[i].id < hits[j].id
	})
	ids := make([]string, len(hits))
	for i, h := range hits {
		ids[i] = h.id
	}
	return ids
}

// --- queries --------------------------------------------------------------

func randQuery(r *rand.Rand) *ww.Query {
	pick := func(xs ...string) string { return xs[r.IntN(len(xs))] }
	prefixes := []string{"", "eq", "ne", "gt", "lt", "ge", "le", "sa", "eb"}
	if r.IntN(2) == 0 {
		q := &ww.Query{Type: "Appointment", Count: 1000}
		for n := 1 + r.IntN(3); n > 0; n-- {
			switch r.IntN(13) {
			case 0:
				q.Clauses = append(q.Clauses, ww.Clause{Param: "status", Values: []string{pick(statuses...)}})
			case 1:
				q.Clauses = append(q.Clauses, ww.Clause{Param: "status", Modifier: "not", Values: []string{pick(statuses...)}})
			case 2:
				q.Clauses = append(q.Clauses, ww.Clause{Param: "service-type", Values: []string{pick(codes...), sysA + "|" + pick(codes...), sysB + "|", pick(codes...) + "," + pick(codes...)}[r.IntN(4):][:1]})
			case 3:
				q.Clauses = append(q.Clauses, ww.Clause{Param: "actor", Values: []string{fmt.Sprintf("Patient/p%02d", r.IntN(20))}})
			case 4:
				q.Clauses = append(q.Clauses, ww.Clause{Param: pick("practitioner", "actor"), Values: []string{fmt.Sprintf("dr%d", r.IntN(6))}})
			case 5:
				v := randInstant(r)
				switch r.IntN(4) {
				case 0:
					v = v[:10]
				case 1:
					v = v[:16]
				case 2:
					v = v[:7]
				}
				q.Clauses = append(q.Clauses, ww.Clause{Param: pick("date", "end"), Values: []string{prefixes[r.IntN(len(prefixes))] + v}})
			case 6:
				q.Clauses = append(q.Clauses, ww.Clause{Param: "identifier", Values: []string{pick(fmt.Sprintf("X%d", r.IntN(50)), fmt.Sprintf("https://h.example/appt|X%d", r.IntN(50)))}})
			case 7:
				q.Clauses = append(q.Clauses, ww.Clause{Param: "_id", Values: []string{fmt.Sprintf("a%03d", r.IntN(300)), fmt.Sprintf("a%03d", r.IntN(300))}})
			case 8:
				d := time.Date(2026, time.Month(1+r.IntN(12)), 1+r.IntN(28), 0, 0, 0, 0, amsLoc).Format([]string{"2006-01-02", "2006-01", "2006"}[r.IntN(3)])
				vals := []string{prefixes[r.IntN(len(prefixes))] + d}
				if r.IntN(3) == 0 {
					vals = append(vals, prefixes[r.IntN(len(prefixes))]+time.Date(2026, time.Month(1+r.IntN(12)), 1, 0, 0, 0, 0, amsLoc).Format("2006-01-02"))
				}
				q.Clauses = append(q.Clauses, ww.Clause{Param: "requested-period", Values: vals})
			case 9:
				vals := []string{pick("", "gt", "lt", "ge", "le", "ne", "ap") + pick("10", "15", "20", "30", "45", "60", "25")}
				if r.IntN(3) == 0 {
					vals = append(vals, pick("10", "45", "gt50"))
				}
				q.Clauses = append(q.Clauses, ww.Clause{Param: "minutes-duration", Values: vals})
			case 10:
				q.Clauses = append(q.Clauses, ww.Clause{Param: "identifier", Values: []string{pick("https://h.example/appt|", "https://other.example/appt|")}})
			case 11:
				d1, d2 := randInstant(r)[:10], randInstant(r)[:10]
				q.Clauses = append(q.Clauses, ww.Clause{Param: "date", Values: []string{d1, pick("", "ge", "lt") + d2}})
			case 12:
				q.Clauses = append(q.Clauses, ww.Clause{Param: "actor", Modifier: "Patient", Chain: "family", Values: []string{strings.ToLower(pick(families...))[:2]}})
			}
		}
		switch r.IntN(6) {
		case 0:
			q.Sort = []ww.SortKey{{Param: pick("date", "_lastUpdated", "_id", "requested-period", "minutes-duration"), Descending: r.IntN(2) == 0}}
		case 1:
			q.Sort = []ww.SortKey{{Param: pick("date", "requested-period", "minutes-duration"), Descending: r.IntN(2) == 0}, {Param: pick("_id", "status", "date"), Descending: r.IntN(2) == 0}}
		case 2:
			q.Sort = []ww.SortKey{{Param: "status"}, {Param: "date", Descending: r.IntN(2) == 0}}
		}
		return q
	}
	q := &ww.Query{Type: "Patient", Count: 1000}
	for n := 1 + r.IntN(2); n > 0; n-- {
		switch r.IntN(9) {
		case 7: // name and address read their parts' indexes too
			q.Clauses = append(q.Clauses, ww.Clause{Param: pick("name", "address"), Values: []string{pick("jan", "dr", "bak", "utr", "35", "van", "smitstraat", "e")}})
		case 8:
			q.Clauses = append(q.Clauses, ww.Clause{Param: pick("name", "address"), Modifier: "exact", Values: []string{pick(families...), pick(cities...), "Dr.", "3501 AB"}})
		case 0:
			q.Clauses = append(q.Clauses, ww.Clause{Param: "family", Values: []string{strings.ToLower(pick(families...))[:1+r.IntN(3)]}})
		case 1:
			q.Clauses = append(q.Clauses, ww.Clause{Param: "family", Modifier: "exact", Values: []string{pick(families...)}})
		case 2:
			q.Clauses = append(q.Clauses, ww.Clause{Param: pick("name", "family"), Modifier: "contains", Values: []string{pick("an", "ij", "ü", "ies", "jk")}})
		case 3:
			v := randDate(r)
			q.Clauses = append(q.Clauses, ww.Clause{Param: "birthdate", Values: []string{prefixes[r.IntN(len(prefixes))] + v}})
		case 4:
			q.Clauses = append(q.Clauses, ww.Clause{Param: "gender", Values: []string{pick("male", "female", "male,other")}})
		case 5:
			q.Clauses = append(q.Clauses, ww.Clause{Param: pick("address-city", "given"), Values: []string{pick("am", "utr", "den h", "Émi", "emile", "a")}})
		case 6:
			q.Clauses = append(q.Clauses, ww.Clause{Param: "_has", Modifier: "Appointment:patient:status", Values: []string{pick(statuses...)}})
		}
	}
	if r.IntN(3) == 0 {
		q.Sort = []ww.SortKey{{Param: pick("birthdate", "family", "_lastUpdated"), Descending: r.IntN(2) == 0}}
	}
	if r.IntN(5) == 0 {
		q.Sort = append(q.Sort, ww.SortKey{Param: pick("family", "birthdate", "_id"), Descending: r.IntN(2) == 0})
	}
	return q
}

func testSize(short, full int) int {
	if os.Getenv("WACHTWIJZER_TEST_SIZE") == "full" {
		return full
	}
	if testing.Short() {
		return short / 2
	}
	return short
}

// TestSearchAgreesWithNaiveEvaluator compares every random search, paged
// through with a random page size, with the naive evaluator (sets and
// order), on a store with the default limits and on one whose lowered
// limits send the same searches down the large-result paths (sort-index
// walks, budget continuations, missing-value walks).
func TestSearchAgreesWithNaiveEvaluator(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		r := rand.New(rand.NewPCG(42, 7))
		var all []naiveRes
		load := func(m map[string]any) {
			b, _ := json.Marshal(m)
			res := write(t, s, ww.Write{Op: ww.OpUpdate, Type: m["resourceType"].(string), ID: m["id"].(string), JSON: b})
			s.clock.(*ww.FixedClock).Advance(time.Millisecond)
			var back map[string]any
			_ = json.Unmarshal(b, &back)
			all = append(all, naiveRes{typ: res.Resource.Type, id: res.Resource.ID, m: back, lastMod: res.Resource.LastUpdated.UnixMilli()})
		}
		for i := 0; i < 20; i++ {
			load(genPatient(r, i))
		}
		for i := 0; i < 300; i++ {
			load(genAppointment(r, i))
		}
		naiveWorld = all
		small, err := Open(ctx, Options{Client: s.rdb, Prefix: s.keys.prefix, Clock: s.clock, Limits: smallLimits})
		if err != nil {
			t.Fatal(err)
		}
		cases := testSize(500, 6000)
		if s.cluster != nil {
			cases = testSize(120, 3000)
		}
		for c := 0; c < cases; c++ {
			q := randQuery(r)
			want := naiveSearch(all, q)
			store, which := s, "default limits"
			if c%2 == 1 {
				store, which = small, "small limits"
			}
			size := []int{1, 3, 7, 20, 1000}[r.IntN(5)]
			var got []string
			q.Count, q.After = size, nil
			pages := 0
			for {
				res, err := store.Search(ctx, q)
				if err != nil {
					if ww.IsKind(err, ww.KindInvalid) && strings.Contains(err.Error(), "more than") {
						break // a documented cap (chains over 1000 ids): not a mismatch
					}
					t.Fatalf("case %d (%s) %s %+v sort %v: %v", c, which, q.Type, q.Clauses, q.Sort, err)
				}
				for _, x := range res.Resources {
					got = append(got, x.ID)
				}
				pages++
				if res.Next == nil {
					break
				}
				if pages > 400 {
					t.Fatalf("case %d: paging does not end", c)
				}
				q.After = res.Next
			}
			if !reflect.DeepEqual(got, want) && !(len(got) == 0 && len(want) == 0) {
				t.Fatalf("case %d (%s, page size %d, %d pages): %s %+v sort %v\n got %v\nwant %v", c, which, size, pages, q.Type, q.Clauses, q.Sort, got, want)
			}
		}
		t.Logf("%d random searches, paged, agree with the naive evaluator", cases)
	})
}
