package conformance

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/fhirjson"
)

// MaxIssues caps the issues one validation reports; a resource with more
// problems gets the first MaxIssues and a note that more were left out.
const MaxIssues = 50

// issue classes: structural findings against the base R4 definitions
// (400) and findings of rules and profiles (422).
const (
	classStructure = iota
	classRule
)

type classified struct {
	ww.Issue
	class int
}

// walker validates one resource tree against the structure table in a
// single pass. Paths are built in one byte buffer and turned into strings
// only when an issue is reported.
type walker struct {
	issues    []classified
	errors    int
	truncated bool
	path      []byte
	frames    []frame
	// containedIDs are the ids of the root resource's contained
	// resources, for "#id" references.
	containedIDs map[string]bool
	rootType     string
	// inContained is set while walking a contained resource.
	inContained bool
}

// frame is one complex value being walked: its type name ("" for a
// backbone element) and where its path starts.
type frame struct {
	typ     string
	pathLen int
}

func (w *walker) full() bool { return len(w.issues) >= MaxIssues }

func (w *walker) add(class int, sev ww.Severity, code, expr, msg string) {
	if w.full() {
		w.truncated = true
		return
	}
	if sev == ww.SeverityError || sev == ww.SeverityFatal {
		w.errors++
	}
	w.issues = append(w.issues, classified{ww.Issue{Severity: sev, Code: code, Diagnostics: msg, Expression: []string{expr}}, class})
}

// errAt reports a structural error at the current path; the message
// starts with the path.
func (w *walker) errAt(code, format string, args ...any) {
	if w.full() {
		w.truncated = true
		return
	}
	p := string(w.path)
	w.add(classStructure, ww.SeverityError, code, p, p+" "+fmt.Sprintf(format, args...))
}

func (w *walker) ruleAt(sev ww.Severity, code, format string, args ...any) {
	if w.full() {
		w.truncated = true
		return
	}
	p := string(w.path)
	w.add(classRule, sev, code, p, p+" "+fmt.Sprintf(format, args...))
}

func (w *walker) push(key string) int {
	n := len(w.path)
	w.path = append(w.path, '.')
	w.path = append(w.path, key...)
	return n
}

func (w *walker) pushIndex(i int) int {
	n := len(w.path)
	w.path = append(w.path, '[')
	w.path = strconv.AppendInt(w.path, int64(i), 10)
	w.path = append(w.path, ']')
	return n
}

type choiceSeen struct {
	index int
	key   string
}

// presence records which elements of a complex value were seen.
type presence struct {
	bits [4]uint64
	more map[int]bool
}

func (p *presence) set(i int) {
	if i < 256 {
		p.bits[i>>6] |= 1 << (i & 63)
		return
	}
	if p.more == nil {
		p.more = map[int]bool{}
	}
	p.more[i] = true
}

func (p *presence) has(i int) bool {
	if i < 256 {
		return p.bits[i>>6]&(1<<(i&63)) != 0
	}
	return p.more[i]
}

// resource walks a resource of type td (the root or a contained one).
func (w *walker) resource(v *fhirjson.Value, td *typeDef) {
	w.complex(v, td.complex, td.name)
}

// complex walks an object against a content model.
func (w *walker) complex(v *fhirjson.Value, cd *complexDef, typeName string) {
	if v.Kind != fhirjson.Object {
		w.errAt("structure", "must be a JSON object (%s), got %s", article(typeNameOr(typeName, "an element with children")), kindPhrase(v))
		return
	}
	if len(v.Members) == 0 {
		w.errAt("structure", "is an empty object; empty objects are not allowed in FHIR JSON, leave the element out instead")
		return
	}
	w.frames = append(w.frames, frame{typ: typeName, pathLen: len(w.path)})
	var seen presence
	var choices []choiceSeen
	for i := range v.Members {
		m := &v.Members[i]
		key := m.Key
		if cd.resource && key == "resourceType" {
			continue
		}
		mark := w.push(key)
		switch {
		case key == "" || key[0] == '_' && len(key) == 1:
			w.errAt("structure", "is not a valid element name")
		case key[0] == '_':
			match, ok := cd.byKey[key[1:]]
			if !ok || match.typ == nil || match.typ.prim == primNone {
				w.errAt("structure", "is not allowed: a '_' member carries the id and extensions of a primitive element, and %s has no primitive element %q", cd.path, key[1:])
			} else {
				seen.set(match.el.index)
				w.primitiveExtension(m.Value, match.el, v.Get(key[1:]), typeName, key[1:])
			}
		default:
			match, ok := cd.byKey[key]
			if !ok {
				w.unknown(key, cd)
				break
			}
			el := match.el
			if el.choice {
				for _, c := range choices {
					if c.index == el.index && c.key != key {
						w.errAt("structure", "cannot appear together with %s: %s takes one type only", c.key, el.name)
					}
				}
				choices = append(choices, choiceSeen{el.index, key})
			}
			seen.set(el.index)
			if cd.resource && key == "id" {
				if b, ok := strBytes(m.Value); !ok || !ww.ValidID(string(b)) {
					w.errAt("value", "must be an id: 1-64 characters of A-Z, a-z, 0-9, '-' and '.'")
				}
				break
			}
			w.element(m.Value, el, match.typ, v, key)
		}
		w.path = w.path[:mark]
		if w.full() {
			w.truncated = true
			break
		}
	}
	for _, el := range cd.required {
		if !seen.has(el.index) {
			name := el.name
			if el.choice {
				name = choiceNames(el)
			}
			card := "1"
			if el.many() {
				card = strconv.Itoa(el.min) + " or more"
			}
			w.errAt("required", "has no %s; %s needs %s (cardinality %d..%s)", name, cd.path, card, el.min, maxString(el.max))
		}
	}
	for _, inv := range cd.invs {
		if inv.ok(v) {
			continue
		}
		if inv.warn {
			w.add(classStructure, ww.SeverityWarning, "invariant", string(w.path), string(w.path)+" "+inv.text+" ("+inv.key+", reported as a warning for now)")
		} else {
			w.errAt("invariant", "%s (%s)", inv.text, inv.key)
		}
	}
	w.frames = w.frames[:len(w.frames)-1]
}

func typeNameOr(s, alt string) string {
	if s == "" {
		return alt
	}
	return s
}

func article(s string) string {
	if s == "" {
		return s
	}
	if strings.HasPrefix(s, "an ") || strings.HasPrefix(s, "a ") {
		return s
	}
	switch s[0] {
	case 'A', 'E', 'I', 'O', 'U', 'a', 'e', 'i', 'o', 'u':
		return "an " + s
	}
	return "a " + s
}

func maxString(m int) string {
	if m < 0 {
		return "*"
	}
	return strconv.Itoa(m)
}

func choiceNames(el *elemDef) string {
	base := strings.TrimSuffix(el.name, "[x]")
	var names []string
	for _, t := range el.types {
		names = append(names, base+strings.ToUpper(t.name[:1])+t.name[1:])
	}
	return el.name + " (" + strings.Join(names, ", ") + ")"
}

// unknown reports an element the definition does not have, with the
// nearest valid name when there is one.
func (w *walker) unknown(key string, cd *complexDef) {
	for _, el := range cd.elems {
		if el.choice && (key == strings.TrimSuffix(el.name, "[x]") || key == el.name) {
			w.errAt("structure", "is not an element of %s: a choice element needs its type in the name, one of %s", cd.path, choiceNames(el))
			return
		}
	}
	if key == "resourceType" {
		w.errAt("structure", "is not allowed here: only a resource has a resourceType, and %s is not one", cd.path)
		return
	}
	if best := nearest(key, cd); best != "" {
		w.errAt("structure", "is not an element of %s; did you mean %s? Unknown elements are rejected, not ignored", cd.path, best)
		return
	}
	w.errAt("structure", "is not an element of %s; unknown elements are rejected, not ignored (put extra data in an extension)", cd.path)
}

// nearest returns the element name closest to key (case-insensitive
// equality or an edit distance of at most 2).
func nearest(key string, cd *complexDef) string {
	best, bestD := "", 3
	keys := make([]string, 0, len(cd.byKey))
	for k := range cd.byKey {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if strings.EqualFold(k, key) {
			return k
		}
		if d := editDistance(strings.ToLower(k), strings.ToLower(key), bestD); d < bestD {
			best, bestD = k, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance, giving up at limit.
func editDistance(a, b string, limit int) int {
	if d := len(a) - len(b); d >= limit || -d >= limit {
		return limit
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		rowMin := cur[0]
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			rowMin = min(rowMin, cur[j])
		}
		if rowMin >= limit {
			return limit
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// element walks the value of one member: an array for repeating elements,
// a single value otherwise.
func (w *walker) element(v *fhirjson.Value, el *elemDef, typ *typeDef, parent *fhirjson.Value, key string) {
	if !el.many() {
		switch v.Kind {
		case fhirjson.Array:
			w.errAt("structure", "must be a single value, not an array: %s occurs at most once (cardinality %d..1)", el.name, el.min)
		case fhirjson.Null:
			w.errAt("structure", "is null; null is not allowed here, leave the element out instead")
		default:
			w.value(v, el, typ)
		}
		return
	}
	if v.Kind != fhirjson.Array {
		w.errAt("structure", "must be an array ([…]): %s repeats (cardinality %d..%s); wrap the value in [ ]", el.name, el.min, maxString(el.max))
		return
	}
	if len(v.Items) == 0 {
		w.errAt("structure", "is an empty array; empty arrays are not allowed in FHIR JSON, leave the element out instead")
		return
	}
	if el.max > 0 && len(v.Items) > el.max {
		w.errAt("structure", "has %d items; %s allows at most %d", len(v.Items), el.name, el.max)
	}
	var ext *fhirjson.Value
	for i, it := range v.Items {
		mark := w.pushIndex(i)
		if it.Kind == fhirjson.Null {
			if typ == nil || typ.prim == primNone {
				w.errAt("structure", "is null; null may only stand in an array of primitive values, to align it with its '_%s' extensions", key)
			} else {
				if ext == nil {
					ext = parent.Get("_" + key)
				}
				if ext == nil || ext.Kind != fhirjson.Array || i >= len(ext.Items) || ext.Items[i].Kind == fhirjson.Null {
					w.errAt("structure", "is null without an extension in _%s[%d]; null only aligns a value with its extensions", key, i)
				}
			}
		} else {
			w.value(it, el, typ)
		}
		w.path = w.path[:mark]
	}
}

// value walks one value of an element.
func (w *walker) value(v *fhirjson.Value, el *elemDef, typ *typeDef) {
	if el.nested != nil {
		w.complex(v, el.nested, "")
		return
	}
	if typ == nil {
		w.errAt("structure", "has no type")
		return
	}
	if typ.prim != primNone {
		if v.Kind == fhirjson.String && len(v.Raw) == 2 {
			w.errAt("structure", "is an empty string; empty strings are not allowed in FHIR JSON, leave the element out instead")
			return
		}
		if msg := checkPrimitive(typ.prim, typ.name, v); msg != "" {
			code := "value"
			if v.Kind != fhirjson.String || typ.prim <= primDecimal {
				code = "structure"
			}
			w.errAt(code, "%s", msg)
			return
		}
		if el.vs != nil && typ.prim == primCode {
			b, _ := strBytes(v)
			if !el.vs.hasCode(string(b)) {
				w.errAt("code-invalid", "%s is not a code of the required value set %s; use one of %s", strconv.Quote(string(b)), el.vs.url, codeList(el.vs))
			}
		}
		return
	}
	if typ.name == "Resource" {
		w.inlineResource(v)
		return
	}
	w.complex(v, typ.complex, typ.name)
	if v.Kind != fhirjson.Object {
		return
	}
	switch typ.name {
	case "Reference":
		w.reference(v, el)
	case "Extension":
		w.extension(v)
	case "Identifier":
		w.identifier(v)
	case "Coding":
		if el.vs != nil {
			w.coding(v, el.vs)
		}
	case "CodeableConcept":
		if el.vs != nil {
			w.codeableConcept(v, el.vs)
		}
	}
}

func codeList(vs *valueSet) string {
	codes := make([]string, 0, len(vs.codes))
	for c := range vs.codes {
		codes = append(codes, c)
	}
	sort.Strings(codes)
	if len(codes) > 25 {
		return strings.Join(codes[:25], ", ") + ", … (" + strconv.Itoa(len(codes)) + " codes)"
	}
	return strings.Join(codes, ", ")
}

// primitiveExtension walks a '_field' member: an object with id and
// extensions (or, for a repeating field, an array of them aligned with
// the values, null where a value has none).
func (w *walker) primitiveExtension(v *fhirjson.Value, el *elemDef, values *fhirjson.Value, parentType, field string) {
	holder := field
	if parentType != "" {
		holder = parentType + "." + field
	}
	if !el.many() {
		if v.Kind == fhirjson.Array {
			w.errAt("structure", "must be an object, not an array: %s occurs at most once", field)
			return
		}
		w.complex(v, spec.elementDef, holder)
		return
	}
	if v.Kind != fhirjson.Array {
		w.errAt("structure", "must be an array aligned with %s: %s repeats", field, field)
		return
	}
	if values != nil && values.Kind == fhirjson.Array && len(values.Items) != len(v.Items) {
		w.errAt("structure", "has %d items but %s has %d; the arrays must align, with null where an item has no value or no extension", len(v.Items), field, len(values.Items))
	}
	allNull := true
	for i, it := range v.Items {
		mark := w.pushIndex(i)
		if it.Kind != fhirjson.Null {
			allNull = false
			w.complex(it, spec.elementDef, holder)
		} else if values == nil || values.Kind != fhirjson.Array || i >= len(values.Items) || values.Items[i].Kind == fhirjson.Null {
			w.errAt("structure", "is null and so is %s[%d]; an item needs a value or an extension", field, i)
		}
		w.path = w.path[:mark]
	}
	if allNull && len(v.Items) > 0 {
		w.errAt("structure", "holds only nulls; leave it out instead")
	}
}

// inlineResource walks a resource inside another (contained,
// Bundle.entry.resource, Parameters.parameter.resource).
func (w *walker) inlineResource(v *fhirjson.Value) {
	if v.Kind != fhirjson.Object {
		w.errAt("structure", "must be a resource (a JSON object with a resourceType), got %s", kindPhrase(v))
		return
	}
	rtv := v.Get("resourceType")
	rt, _ := rtv.Str()
	td := spec.types[rt]
	switch {
	case rtv == nil:
		w.errAt("required", "has no resourceType; a resource inside another needs one")
		return
	case td == nil || !td.resource || !spec.resourceTypes[rt]:
		w.errAt("value", "has resourceType %q, which is not an R4 resource type", rt)
		return
	}
	contained := strings.HasSuffix(w.elementName(), "contained")
	if contained {
		if w.inContained {
			w.errAt("structure", "is a contained resource inside a contained resource; contained resources must not contain resources (dom-2)")
			return
		}
		if id := v.Get("id"); id == nil {
			w.errAt("required", "has no id; a contained resource needs one, referenced as \"#id\"")
		}
		if m := v.Get("meta"); m != nil && (m.Get("versionId") != nil || m.Get("lastUpdated") != nil) {
			w.errAt("structure", "has meta.versionId or meta.lastUpdated; a contained resource must not (dom-4)")
		}
		w.inContained = true
		defer func() { w.inContained = false }()
	}
	w.resource(v, td)
}

// elementName is the last element name of the current path, without an
// index.
func (w *walker) elementName() string {
	p := w.path
	if n := len(p); n > 0 && p[n-1] == ']' {
		for n > 0 && p[n-1] != '[' {
			n--
		}
		p = p[:max(n-1, 0)]
	}
	if i := lastDot(p); i >= 0 {
		return string(p[i+1:])
	}
	return string(p)
}

func lastDot(p []byte) int {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] == '.' {
			return i
		}
	}
	return -1
}

// reference checks Reference.reference: a relative Type/id (of an allowed
// target type), an absolute URL, urn:uuid:/urn:oid:, or "#id" of a
// contained resource.
func (w *walker) reference(v *fhirjson.Value, el *elemDef) {
	rv := v.Get("reference")
	if rv == nil {
		return
	}
	b, ok := strBytes(rv)
	if !ok || len(b) == 0 {
		return // reported by the primitive check
	}
	ref := string(b)
	mark := w.push("reference")
	defer func() { w.path = w.path[:mark] }()
	switch {
	case ref[0] == '#':
		if len(ref) > 1 && !w.containedIDs[ref[1:]] {
			w.errAt("value", "is %q, but the resource has no contained resource with id %q", ref, ref[1:])
		}
		return
	case strings.HasPrefix(ref, "urn:uuid:"):
		if !validUUID(b) {
			w.errAt("value", "is not a valid urn:uuid: reference (urn:uuid: and 36 lower-case hex characters and dashes)")
		}
		return
	case strings.HasPrefix(ref, "urn:oid:"):
		if !validOID(b) {
			w.errAt("value", "is not a valid urn:oid: reference")
		}
		return
	case strings.Contains(ref, "://"):
		if strings.ContainsAny(ref, " \t\r\n") {
			w.errAt("value", "is an absolute URL with white space in it")
			return
		}
		// The last Type/id of an absolute URL names the type.
		rest := ref
		if i := strings.Index(rest, "/_history/"); i >= 0 {
			rest = rest[:i]
		}
		if i := strings.LastIndexByte(rest, '/'); i > 0 {
			if j := strings.LastIndexByte(rest[:i], '/'); j >= 0 && spec.resourceTypes[rest[j+1:i]] {
				w.checkTarget(rest[j+1:i], el, v)
			}
		}
		return
	case strings.IndexByte(ref, '?') >= 0:
		typ, _, _ := strings.Cut(ref, "?")
		w.errAt("value", "is a conditional reference (%s?…); those are resolved only inside a transaction Bundle, so refer to %s/[id] here", typ, typ)
		return
	}
	typ, rest, ok := strings.Cut(ref, "/")
	id, hist, versioned := strings.Cut(rest, "/")
	vid := ""
	if versioned {
		var ok2 bool
		vid, ok2 = strings.CutPrefix(hist, "_history/")
		if !ok2 || vid == "" || strings.IndexByte(vid, '/') >= 0 {
			ok = false
		}
	}
	if !ok {
		w.errAt("value", "is %q; a reference must be Type/id (e.g. Patient/123), Type/id/_history/version, an absolute URL, urn:uuid:… or #id of a contained resource", ref)
		return
	}
	if !spec.resourceTypes[typ] {
		w.errAt("value", "refers to %q, which is not an R4 resource type; a relative reference is Type/id, e.g. Patient/123", typ)
		return
	}
	if !ww.ValidID(id) {
		w.errAt("value", "has id %q, which is not a valid id (1-64 characters of A-Z, a-z, 0-9, '-' and '.')", id)
		return
	}
	if versioned && !allDigits([]byte(vid)) {
		w.errAt("value", "has version %q; a version id is a number", vid)
		return
	}
	w.checkTarget(typ, el, v)
}

func (w *walker) checkTarget(typ string, el *elemDef, ref *fhirjson.Value) {
	if tv := ref.Get("type"); tv != nil {
		if t, ok := tv.Str(); ok && t != typ && !strings.HasSuffix(t, "/"+typ) {
			w.errAt("value", "refers to a %s, but Reference.type says %s", typ, t)
		}
	}
	if len(el.targets) == 0 {
		return
	}
	for _, t := range el.targets {
		if t == typ {
			return
		}
	}
	w.errAt("value", "refers to a %s; %s may refer to %s only", typ, el.name, strings.Join(el.targets, ", "))
}

func (w *walker) coding(v *fhirjson.Value, vs *valueSet) {
	sys, _ := v.Get("system").Str()
	code, _ := v.Get("code").Str()
	if !vs.has(sys, code) {
		w.errAt("code-invalid", "has system %q and code %q, which are not in the required value set %s; use one of %s", sys, code, vs.url, codeList(vs))
	}
}

func (w *walker) codeableConcept(v *fhirjson.Value, vs *valueSet) {
	cs := v.Get("coding")
	if cs != nil && cs.Kind == fhirjson.Array {
		for _, c := range cs.Items {
			sys, _ := c.Get("system").Str()
			code, _ := c.Get("code").Str()
			if vs.has(sys, code) {
				return
			}
		}
	}
	w.errAt("code-invalid", "has no coding from the required value set %s; add a coding with one of %s", vs.url, codeList(vs))
}
