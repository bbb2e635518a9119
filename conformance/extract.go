package conformance

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/wachtwijzer/wachtwijzer/fhirjson"
	"github.com/wachtwijzer/wachtwijzer/fhirtime"
)

// Token is a token value: a code with its system ("" when it has none).
type Token struct {
	System string
	Code   string
}

// TextCode is a display text with the code it displays.
type TextCode struct {
	Text, System, Code string
}

// Ref is a reference value.
type Ref struct {
	// Type and ID of a literal reference ("Patient/123" or an absolute URL
	// whose last two segments are Type/id).
	Type, ID string
	// URL is the reference as written when it is absolute or canonical.
	URL string
	// Identifier of a logical reference (Reference.identifier).
	IdentSystem, IdentValue string
}

// Range is a date value's range in Unix milliseconds, [Lo, Hi] inclusive.
// Open ends are math.MinInt64 / math.MaxInt64.
type Range struct {
	Lo, Hi int64
}

// Quantity is a quantity value.
type Quantity struct {
	Value        float64
	System, Code string
}

// Geo is a position.
type Geo struct {
	Lat, Lon float64
}

// Values are the index values one parameter takes in one resource.
type Values struct {
	Tokens []Token
	// OfType are identifier tokens qualified by identifier type
	// (type-system|type-code|value) for :of-type.
	OfType []Token
	// Texts are the display/text strings of tokens, for :text.
	Texts []string
	// TextCodes pairs each coded display with its code (for the :text
	// registry); Texts without a TextCodes entry are free text.
	TextCodes []TextCode
	// Strings are string values as written.
	Strings    []string
	Ranges     []Range
	Refs       []Ref
	Numbers    []float64
	Quantities []Quantity
	URIs       []string
	Geos       []Geo
}

// Empty reports whether no value was found.
func (v *Values) Empty() bool {
	return len(v.Tokens) == 0 && len(v.Strings) == 0 && len(v.Ranges) == 0 && len(v.Refs) == 0 &&
		len(v.Numbers) == 0 && len(v.Quantities) == 0 && len(v.URIs) == 0 && len(v.Geos) == 0
}

// Extract returns the values parameter p takes in resource res.
func (p *SearchParam) Extract(res *fhirjson.Value) Values {
	var vals Values
	if p.expr == nil {
		return vals
	}
	nodes := p.expr.Eval(res)
	if p.Derive == "present-not-false" {
		present := false
		for _, n := range nodes {
			if !(n.V.Kind == fhirjson.Bool && string(n.V.Raw) == "false") {
				present = true
			}
		}
		vals.Tokens = append(vals.Tokens, Token{Code: fmt.Sprint(present)})
		return vals
	}
	if p.Derive == "exceeds-norm" {
		vals.Tokens = append(vals.Tokens, Token{Code: fmt.Sprint(exceedsNorm(nodes))})
		return vals
	}
	for _, n := range nodes {
		switch p.Type {
		case TypeToken:
			tokens(n, &vals)
		case TypeString:
			strs(n.V, &vals.Strings)
		case TypeDate:
			if r, ok := dateRange(n); ok {
				vals.Ranges = append(vals.Ranges, r)
			}
		case TypeReference:
			if r, ok := reference(n.V); ok {
				vals.Refs = append(vals.Refs, r)
			}
		case TypeNumber:
			if n.V.Kind == fhirjson.Number {
				if f, err := strconv.ParseFloat(string(n.V.Raw), 64); err == nil {
					vals.Numbers = append(vals.Numbers, f)
				}
			}
		case TypeQuantity:
			if q, ok := quantity(n.V); ok {
				vals.Quantities = append(vals.Quantities, q)
			}
		case TypeURI:
			if s, ok := n.V.Str(); ok {
				vals.URIs = append(vals.URIs, s)
			}
		case TypeSpecial:
			if g, ok := geo(n.V); ok {
				vals.Geos = append(vals.Geos, g)
			}
		}
	}
	return vals
}

func tokens(n Node, vals *Values) {
	v := n.V
	switch v.Kind {
	case fhirjson.String:
		s, _ := v.Str()
		vals.Tokens = append(vals.Tokens, Token{Code: s})
	case fhirjson.Bool:
		vals.Tokens = append(vals.Tokens, Token{Code: string(v.Raw)})
	case fhirjson.Object:
		if cs := v.Get("coding"); cs != nil || v.Get("text") != nil {
			// CodeableConcept
			if cs != nil && cs.Kind == fhirjson.Array {
				for _, c := range cs.Items {
					coding(c, vals)
				}
			}
			if t := v.GetStr("text"); t != "" {
				vals.Texts = append(vals.Texts, t)
			}
			return
		}
		if val, ok := v.Get("value").Str(); ok && v.Get("code") == nil {
			// Identifier or ContactPoint
			sys := v.GetStr("system")
			vals.Tokens = append(vals.Tokens, Token{System: sys, Code: val})
			if typ := v.Get("type"); typ != nil {
				if cs := typ.Get("coding"); cs != nil && cs.Kind == fhirjson.Array {
					for _, c := range cs.Items {
						if tc := c.GetStr("code"); tc != "" {
							vals.OfType = append(vals.OfType, Token{System: c.GetStr("system") + "|" + tc, Code: val})
						}
					}
				}
				if t := typ.GetStr("text"); t != "" {
					vals.Texts = append(vals.Texts, t)
				}
			}
			return
		}
		coding(v, vals)
	}
}

func coding(c *fhirjson.Value, vals *Values) {
	code := c.GetStr("code")
	if code == "" {
		return
	}
	sys := c.GetStr("system")
	vals.Tokens = append(vals.Tokens, Token{System: sys, Code: code})
	if d := c.GetStr("display"); d != "" {
		vals.Texts = append(vals.Texts, d)
		vals.TextCodes = append(vals.TextCodes, TextCode{Text: d, System: sys, Code: code})
	}
}

// stringFields are the parts of complex types a string search matches.
var stringFields = []string{"text", "family", "given", "prefix", "suffix", "line", "city", "district", "state", "postalCode", "country"}

func strs(v *fhirjson.Value, out *[]string) {
	switch v.Kind {
	case fhirjson.String:
		if s, ok := v.Str(); ok {
			*out = append(*out, s)
		}
	case fhirjson.Array:
		for _, it := range v.Items {
			strs(it, out)
		}
	case fhirjson.Object:
		for _, f := range stringFields {
			if x := v.Get(f); x != nil {
				strs(x, out)
			}
		}
	}
}

// MinRange and MaxRange are the open ends of a date range.
const (
	MinRange = math.MinInt64
	MaxRange = math.MaxInt64
)

func dateRange(n Node) (Range, bool) {
	v := n.V
	switch v.Kind {
	case fhirjson.String:
		s, _ := v.Str()
		return rangeOf(s)
	case fhirjson.Object:
		// Period
		r := Range{Lo: MinRange, Hi: MaxRange}
		start, end := v.GetStr("start"), v.GetStr("end")
		if start == "" && end == "" {
			return Range{}, false
		}
		if start != "" {
			sr, ok := rangeOf(start)
			if !ok {
				return Range{}, false
			}
			r.Lo = sr.Lo
		}
		if end != "" {
			er, ok := rangeOf(end)
			if !ok {
				return Range{}, false
			}
			r.Hi = er.Hi
		}
		return r, true
	}
	return Range{}, false
}

// rangeOf parses a date, dateTime or instant into its inclusive range.
func rangeOf(s string) (Range, bool) {
	fv, err := fhirtime.Parse(s, fhirtime.DateTime, nil)
	if err != nil {
		return Range{}, false
	}
	lo, hi := fv.Range()
	return Range{Lo: lo.UnixMilli(), Hi: hi.Add(-time.Millisecond).UnixMilli()}, true
}

func reference(v *fhirjson.Value) (Ref, bool) {
	if v.Kind == fhirjson.String { // canonical or uri
		s, _ := v.Str()
		return Ref{URL: s}, s != ""
	}
	if v.Kind != fhirjson.Object {
		return Ref{}, false
	}
	var r Ref
	if ref := v.GetStr("reference"); ref != "" && !strings.HasPrefix(ref, "#") {
		r.Type, r.ID, r.URL = SplitReference(ref)
	}
	if id := v.Get("identifier"); id != nil {
		r.IdentSystem, r.IdentValue = id.GetStr("system"), id.GetStr("value")
	}
	if r.ID == "" && r.URL == "" && r.IdentValue == "" {
		return Ref{}, false
	}
	return r, true
}

// SplitReference splits a literal reference into type and id; for an
// absolute URL it also returns the URL. "Patient/1/_history/2" → Patient, 1.
func SplitReference(ref string) (typ, id, url string) {
	s := ref
	if i := strings.Index(s, "/_history/"); i >= 0 {
		s = s[:i]
	}
	if strings.Contains(ref, "://") || strings.HasPrefix(ref, "urn:") {
		url = ref
	}
	parts := strings.Split(s, "/")
	if len(parts) >= 2 {
		t, i := parts[len(parts)-2], parts[len(parts)-1]
		if t != "" && t[0] >= 'A' && t[0] <= 'Z' && i != "" {
			return t, i, url
		}
	}
	return "", "", url
}

func quantity(v *fhirjson.Value) (Quantity, bool) {
	if v.Kind != fhirjson.Object {
		return Quantity{}, false
	}
	num := v.Get("value")
	if num == nil || num.Kind != fhirjson.Number {
		return Quantity{}, false
	}
	f, err := strconv.ParseFloat(string(num.Raw), 64)
	if err != nil {
		return Quantity{}, false
	}
	code := v.GetStr("code")
	if code == "" {
		code = v.GetStr("unit")
	}
	return Quantity{Value: f, System: v.GetStr("system"), Code: code}, true
}

func geo(v *fhirjson.Value) (Geo, bool) {
	if v.Kind != fhirjson.Object {
		return Geo{}, false
	}
	lat, lon := v.Get("latitude"), v.Get("longitude")
	if lat == nil || lon == nil || lat.Kind != fhirjson.Number || lon.Kind != fhirjson.Number {
		return Geo{}, false
	}
	la, err1 := strconv.ParseFloat(string(lat.Raw), 64)
	lo, err2 := strconv.ParseFloat(string(lon.Raw), 64)
	if err1 != nil || err2 != nil || la < -85.05112878 || la > 85.05112878 || lo < -180 || lo > 180 {
		return Geo{}, false
	}
	return Geo{Lat: la, Lon: lo}, true
}
