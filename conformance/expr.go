package conformance

import (
	"fmt"
	"strings"
	"unicode"

	"github.com/wachtwijzer/wachtwijzer/fhirjson"
)

// Expr is a compiled search-parameter expression: the subset of FHIRPath the
// R4 search-parameter definitions use for the served types (paths, unions,
// `as`/ofType on choice elements, where(resolve() is T), where(field='x'),
// extension('url')).
type Expr struct {
	Source string
	alts   []path
}

type step struct {
	name string
	// choice is the type suffix for a choice element (`as dateTime` on
	// occurrence → occurrenceDateTime); empty otherwise.
	choice string
	// refType keeps only references to this type (where(resolve() is T)).
	refType string
	// field/equals keep only objects whose field equals a literal.
	field, equals string
	// extURL keeps only extensions with this url (extension('url')).
	extURL string
}

type path []step

// Node is one value an expression selects, with its FHIR type when the
// expression or a choice suffix tells it.
type Node struct {
	V *fhirjson.Value
	// Type is the FHIR datatype from a choice suffix ("dateTime",
	// "Period", …) or "" when only the JSON shape says.
	Type string
	// RefType, for references selected through where(resolve() is T).
	RefType string
}

// CompileExpr compiles a search-parameter expression for resource type typ.
func CompileExpr(typ, src string) (*Expr, error) {
	e := &Expr{Source: src}
	for _, part := range splitTop(src, '|') {
		p, err := compilePath(typ, strings.TrimSpace(part))
		if err != nil {
			return nil, fmt.Errorf("expression %q: %w", src, err)
		}
		if p != nil {
			e.alts = append(e.alts, p)
		}
	}
	if len(e.alts) == 0 {
		return nil, fmt.Errorf("expression %q selects nothing for %s", src, typ)
	}
	return e, nil
}

// splitTop splits s on sep outside parentheses and quotes.
func splitTop(s string, sep byte) []string {
	var out []string
	depth, start := 0, 0
	inQuote := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\'':
			inQuote = !inQuote
		case inQuote:
		case c == '(':
			depth++
		case c == ')':
			depth--
		case c == sep && depth == 0:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// compilePath compiles one alternative; it returns nil (no error) for an
// alternative rooted at another resource type (shared definitions such as
// "Patient.identifier | Practitioner.identifier").
func compilePath(typ, s string) (path, error) {
	for strings.HasPrefix(s, "(") && strings.HasSuffix(s, ")") && matchingParen(s) == len(s)-1 {
		s = strings.TrimSpace(s[1 : len(s)-1])
	}
	var asType string
	if i := strings.LastIndex(s, " as "); i > 0 && !strings.Contains(s[i:], "(") {
		asType = strings.TrimSpace(s[i+4:])
		s = strings.TrimSpace(s[:i])
	}
	for strings.HasPrefix(s, "(") && strings.HasSuffix(s, ")") && matchingParen(s) == len(s)-1 {
		s = strings.TrimSpace(s[1 : len(s)-1])
	}
	parts := splitTop(s, '.')
	if len(parts) == 0 {
		return nil, fmt.Errorf("empty path")
	}
	root := strings.TrimSpace(parts[0])
	if root != typ && root != "Resource" && root != "DomainResource" {
		return nil, nil
	}
	var p path
	for _, raw := range parts[1:] {
		raw = strings.TrimSpace(raw)
		switch {
		case strings.HasPrefix(raw, "where(resolve() is ") && strings.HasSuffix(raw, ")"):
			if len(p) == 0 {
				return nil, fmt.Errorf("where() without a preceding element")
			}
			p[len(p)-1].refType = strings.TrimSuffix(strings.TrimPrefix(raw, "where(resolve() is "), ")")
		case strings.HasPrefix(raw, "where(") && strings.HasSuffix(raw, ")"):
			if len(p) == 0 {
				return nil, fmt.Errorf("where() without a preceding element")
			}
			cond := strings.TrimSuffix(strings.TrimPrefix(raw, "where("), ")")
			f, v, ok := strings.Cut(cond, "=")
			v = strings.TrimSpace(v)
			if !ok || len(v) < 2 || v[0] != '\'' || v[len(v)-1] != '\'' {
				return nil, fmt.Errorf("unsupported where(%s)", cond)
			}
			p[len(p)-1].field, p[len(p)-1].equals = strings.TrimSpace(f), v[1:len(v)-1]
		case strings.HasPrefix(raw, "as(") || strings.HasPrefix(raw, "ofType("):
			if len(p) == 0 {
				return nil, fmt.Errorf("%s without a preceding element", raw)
			}
			_, arg, _ := strings.Cut(raw, "(")
			p[len(p)-1].choice = strings.TrimSuffix(arg, ")")
		case strings.HasPrefix(raw, "extension('") && strings.HasSuffix(raw, "')"):
			p = append(p, step{name: "extension", extURL: strings.TrimSuffix(strings.TrimPrefix(raw, "extension('"), "')")})
		case isName(raw):
			p = append(p, step{name: raw})
		default:
			return nil, fmt.Errorf("unsupported step %q", raw)
		}
	}
	if len(p) == 0 {
		return nil, fmt.Errorf("path selects the resource itself")
	}
	if asType != "" {
		p[len(p)-1].choice = asType
	}
	return p, nil
}

func matchingParen(s string) int {
	depth := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}

func isName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_') {
			return false
		}
	}
	return true
}

// Eval returns the values the expression selects in res.
func (e *Expr) Eval(res *fhirjson.Value) []Node {
	var out []Node
	for _, p := range e.alts {
		out = p.eval(res, out)
	}
	return out
}

func (p path) eval(res *fhirjson.Value, out []Node) []Node {
	cur := []Node{{V: res}}
	for _, st := range p {
		var next []Node
		for _, n := range cur {
			if n.V.Kind != fhirjson.Object {
				continue
			}
			next = st.apply(n.V, next)
		}
		cur = next
		if len(cur) == 0 {
			return out
		}
	}
	return append(out, cur...)
}

func (st step) apply(obj *fhirjson.Value, out []Node) []Node {
	add := func(v *fhirjson.Value, typ string) {
		if v.Kind == fhirjson.Array {
			for _, it := range v.Items {
				out = st.keep(it, typ, out)
			}
			return
		}
		out = st.keep(v, typ, out)
	}
	if st.choice != "" {
		if v := obj.Get(st.name + upperFirst(st.choice)); v != nil {
			add(v, st.choice)
		}
		return out
	}
	if v := obj.Get(st.name); v != nil {
		add(v, "")
		return out
	}
	// A choice element named without `as`: take whichever variant is there.
	for _, m := range obj.Members {
		if len(m.Key) > len(st.name) && strings.HasPrefix(m.Key, st.name) && m.Key[len(st.name)] >= 'A' && m.Key[len(st.name)] <= 'Z' {
			add(m.Value, lowerFirstType(m.Key[len(st.name):]))
		}
	}
	return out
}

func (st step) keep(v *fhirjson.Value, typ string, out []Node) []Node {
	if v.Kind == fhirjson.Null {
		return out
	}
	if st.extURL != "" && v.GetStr("url") != st.extURL {
		return out
	}
	if st.field != "" && v.GetStr(st.field) != st.equals {
		return out
	}
	if st.refType != "" {
		ref := v.GetStr("reference")
		if !refIsType(ref, st.refType) {
			// A reference by identifier with a matching type element.
			if v.GetStr("type") != st.refType || ref != "" {
				return out
			}
		}
		return append(out, Node{V: v, Type: "Reference", RefType: st.refType})
	}
	return append(out, Node{V: v, Type: typ})
}

// refIsType reports whether a literal reference points at typ (relative
// "Type/id" or absolute ".../Type/id").
func refIsType(ref, typ string) bool {
	if ref == "" || strings.HasPrefix(ref, "#") {
		return false
	}
	if strings.HasPrefix(ref, typ+"/") {
		return true
	}
	return strings.Contains(ref, "/"+typ+"/")
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// lowerFirstType turns a choice suffix into its datatype name: "DateTime"
// → "dateTime", "Period" → "Period" (complex types keep their capital).
func lowerFirstType(s string) string {
	switch s {
	case "Boolean", "Integer", "String", "Decimal", "Uri", "Url", "Canonical", "Base64Binary", "Instant",
		"Date", "DateTime", "Time", "Code", "Oid", "Id", "Markdown", "UnsignedInt", "PositiveInt", "Uuid":
		return strings.ToLower(s[:1]) + s[1:]
	}
	return s
}
