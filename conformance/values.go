package conformance

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/fhirtime"
)

// strippers pools accent-removing transformers: a transform.Chain keeps
// state, so one must not serve two goroutines at once.
var strippers = sync.Pool{New: func() any {
	return transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)
}}

// Normalize folds a string for the default string search: lower case,
// accents removed ("Ríjsbergen" → "rijsbergen"), white space collapsed.
func Normalize(s string) string {
	if out, ok := foldASCII(s); ok {
		return out
	}
	return unicodeFold(s)
}

// unicodeFold is Normalize through the Unicode transforms (any input).
func unicodeFold(s string) string {
	t := strippers.Get().(transform.Transformer)
	t.Reset()
	out, _, err := transform.String(t, s)
	strippers.Put(t)
	if err != nil {
		out = s
	}
	return strings.Join(strings.Fields(strings.ToLower(out)), " ")
}

// foldASCII is Normalize of an ASCII string (which has no accents to
// remove), without the Unicode transforms: most names, cities and postcodes
// are ASCII, and every indexed string is folded. ok is false when s is not
// ASCII. An already folded string is returned as it is.
func foldASCII(s string) (out string, ok bool) {
	folded := true
	space := true // at the start, or after a space: a space here is not kept
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 0x80:
			return "", false
		case asciiSpace(c):
			if c != ' ' || space || i == len(s)-1 {
				folded = false
			}
			space = true
		case c >= 'A' && c <= 'Z':
			folded = false
			space = false
		default:
			space = false
		}
	}
	if folded {
		return s, true
	}
	b := make([]byte, 0, len(s))
	pending := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if asciiSpace(c) {
			pending = len(b) > 0
			continue
		}
		if pending {
			b = append(b, ' ')
			pending = false
		}
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		b = append(b, c)
	}
	return string(b), true
}

// asciiSpace reports the ASCII white space strings.Fields splits on.
func asciiSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

// Prefix is a comparison prefix of number, date and quantity values.
type Prefix string

// The prefixes.
const (
	Eq Prefix = "eq"
	Ne Prefix = "ne"
	Gt Prefix = "gt"
	Lt Prefix = "lt"
	Ge Prefix = "ge"
	Le Prefix = "le"
	Sa Prefix = "sa"
	Eb Prefix = "eb"
	Ap Prefix = "ap"
)

func cutPrefix(v string) (Prefix, string) {
	if len(v) > 2 {
		switch p := Prefix(v[:2]); p {
		case Eq, Ne, Gt, Lt, Ge, Le, Sa, Eb, Ap:
			return p, v[2:]
		}
	}
	return Eq, v
}

// DateValue is a parsed date search value: a prefix and the search range
// [Lo, Hi] in Unix milliseconds (inclusive).
type DateValue struct {
	Prefix Prefix
	Lo, Hi int64
}

func badValue(param, value, format string, args ...any) error {
	return ww.Errorf(ww.KindInvalid, "value", "search parameter %s: %q %s", param, value, fmt.Sprintf(format, args...)).At(param)
}

// ParseDate parses a date search value ("ge2026-03", "2026-03-29T10:00").
// Values without a zone are Europe/Amsterdam; now anchors the ap prefix.
func ParseDate(param, raw string, now time.Time) (DateValue, error) {
	p, v := cutPrefix(raw)
	fv, err := fhirtime.Parse(v, fhirtime.Search, nil)
	if err != nil {
		return DateValue{}, badValue(param, raw, "is not a date: %v (use YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DDThh:mm[:ss][Z|±hh:mm], with an optional prefix eq ne gt lt ge le sa eb ap)", err)
	}
	lo, hi := fv.Range()
	d := DateValue{Prefix: p, Lo: lo.UnixMilli(), Hi: hi.UnixMilli() - 1}
	if p == Ap {
		// ±10 % of the distance between now and the value (at least a day).
		gap := now.Sub(lo)
		if gap < 0 {
			gap = -gap
		}
		slack := gap / 10
		if slack < 24*time.Hour {
			slack = 24 * time.Hour
		}
		d.Lo -= slack.Milliseconds()
		d.Hi += slack.Milliseconds()
	}
	return d, nil
}

// NumberValue is a parsed number search value with its implicit range from
// the precision given ("100" means [99.5, 100.5)).
type NumberValue struct {
	Prefix Prefix
	Value  float64
	Lo, Hi float64
}

// ParseNumber parses a number search value.
func ParseNumber(param, raw string) (NumberValue, error) {
	p, v := cutPrefix(raw)
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return NumberValue{}, badValue(param, raw, "is not a number")
	}
	decimals := 0
	mant := strings.ToLower(v)
	exp := 0
	if i := strings.IndexByte(mant, 'e'); i >= 0 {
		exp, _ = strconv.Atoi(mant[i+1:])
		mant = mant[:i]
	}
	if i := strings.IndexByte(mant, '.'); i >= 0 {
		decimals = len(mant) - i - 1
	}
	half := 0.5 * math.Pow(10, float64(exp-decimals))
	return NumberValue{Prefix: p, Value: f, Lo: f - half, Hi: f + half}, nil
}

// RefValue is a parsed reference search value.
type RefValue struct {
	Type, ID string
	URL      string // absolute or canonical
}

// ParseReference parses a reference search value: "Type/id", "id", or an
// absolute URL (a URL under base is read as Type/id). typeMod is the :Type
// modifier.
func ParseReference(param, raw, typeMod, base string) (RefValue, error) {
	v := raw
	if base != "" && strings.HasPrefix(v, base+"/") {
		v = strings.TrimPrefix(v, base+"/")
	}
	if strings.Contains(v, "://") || strings.HasPrefix(v, "urn:") {
		return RefValue{URL: v}, nil
	}
	if i := strings.Index(v, "/_history/"); i >= 0 {
		v = v[:i]
	}
	typ, id, hasType := strings.Cut(v, "/")
	if !hasType {
		typ, id = "", v
	}
	if typeMod != "" {
		if typ != "" && typ != typeMod {
			return RefValue{}, badValue(param, raw, "names type %s but the modifier :%s another", typ, typeMod)
		}
		typ = typeMod
	}
	if !ww.ValidID(id) || (typ != "" && !Supported(typ) && !knownRefTypes[typ]) {
		return RefValue{}, badValue(param, raw, "is not a reference (use Type/id, an id, or an absolute URL)")
	}
	return RefValue{Type: typ, ID: id}, nil
}

// knownRefTypes are reference targets that are not served but may appear.
var knownRefTypes = map[string]bool{"Device": true, "RelatedPerson": true, "Encounter": true, "Group": true, "Condition": true,
	"Observation": true, "Endpoint": true, "Medication": true, "Specimen": true, "DiagnosticReport": true, "DocumentReference": true}

// NearValue is a parsed Location near value.
type NearValue struct {
	Lat, Lon float64
	// Km is the radius in kilometres (the server default when not given).
	Km float64
}

// DefaultNearKm is the radius of a near search without a distance.
const DefaultNearKm = 25

// ParseNear parses lat|lon|distance|unit. Units are UCUM: km (default), m
// and [mi_us]; latitudes must lie in [-90, 90] and longitudes in [-180, 180].
func ParseNear(param, raw string) (NearValue, error) {
	parts := strings.Split(raw, "|")
	if len(parts) < 2 || len(parts) > 4 {
		return NearValue{}, badValue(param, raw, "must be latitude|longitude|distance|unit")
	}
	lat, err1 := strconv.ParseFloat(parts[0], 64)
	lon, err2 := strconv.ParseFloat(parts[1], 64)
	if err1 != nil || err2 != nil || lat < -90 || lat > 90 || lon < -180 || lon > 180 {
		return NearValue{}, badValue(param, raw, "needs a latitude in [-90, 90] and a longitude in [-180, 180]")
	}
	n := NearValue{Lat: lat, Lon: lon, Km: DefaultNearKm}
	if len(parts) >= 3 && parts[2] != "" {
		d, err := strconv.ParseFloat(parts[2], 64)
		if err != nil || d < 0 || d > 20000 {
			return NearValue{}, badValue(param, raw, "has a distance that is not a number between 0 and 20000")
		}
		unit := "km"
		if len(parts) == 4 && parts[3] != "" {
			unit = parts[3]
		}
		switch unit {
		case "km":
			n.Km = d
		case "m":
			n.Km = d / 1000
		case "[mi_us]", "[mi_i]":
			n.Km = d * 1.609344
		default:
			return NearValue{}, badValue(param, raw, "has unit %q; use the UCUM units km, m or [mi_us]", unit)
		}
	}
	return n, nil
}

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
			return Unescape(v[:i]), Unescape(v[i+1:]), true
		}
	}
	return "", Unescape(v), false
}

// Unescape removes search-value escapes (\, \| \$ \\).
func Unescape(s string) string {
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

// WidthMillis is a date parameter's usual value width.
func (p *SearchParam) WidthMillis() int64 {
	switch p.Width {
	case "day":
		return 86400000 - 1
	case "ms":
		return 0
	}
	if p.Code == "_lastUpdated" {
		return 0
	}
	return 999
}
