package conformance

import (
	"sort"
	"strconv"
	"strings"
	"sync"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/fhirjson"
)

// ExtensionDef says what an extension may hold and where it may appear.
// The project's extensions come from their StructureDefinitions under
// conformance/resources/ (so adding one is adding a file); the core HL7
// extensions come from the generated structure table. Tests and packages
// may add definitions with RegisterExtension.
type ExtensionDef struct {
	URL string
	// Types are the allowed value[x] types ("integer", "Reference", …);
	// empty for a complex extension, which holds nested extensions only.
	Types []string
	// Context are the FHIRPath expressions of where the extension may
	// appear: a resource or data type ("HealthcareService", "Address"), an
	// element path ("Appointment.status") or "Element" for anywhere.
	Context []string
	// Sub are the nested extensions of a complex extension, by their
	// relative url.
	Sub map[string]*ExtensionDef
	// Min and Max bound how often a nested extension occurs (Max -1:
	// unbounded).
	Min, Max int
	// Project marks the project's own extensions: breaking their
	// definition is an error; a core extension used out of its context is
	// a warning.
	Project bool
	// ValueSet is the required binding of a code or Coding value: the
	// canonical URL of a ValueSet in the conformance registry.
	ValueSet string
}

var (
	extMu   sync.RWMutex
	extDefs = map[string]*ExtensionDef{}
)

// RegisterExtension adds or replaces an extension definition.
func RegisterExtension(d *ExtensionDef) {
	extMu.Lock()
	defer extMu.Unlock()
	extDefs[d.URL] = d
}

// LookupExtension returns the definition of an extension URL: a
// registered (project) one, else a core one.
func LookupExtension(url string) (*ExtensionDef, bool) {
	ConformanceResources() // registers the project extensions
	extMu.RLock()
	d, ok := extDefs[url]
	extMu.RUnlock()
	if ok {
		return d, true
	}
	if c, ok := loadSpec().coreExts[url]; ok {
		return coreDef(url, c), true
	}
	return nil, false
}

var coreCache sync.Map

func coreDef(url string, c *coreExt) *ExtensionDef {
	if d, ok := coreCache.Load(url); ok {
		return d.(*ExtensionDef)
	}
	d := convertCore(url, c)
	coreCache.Store(url, d)
	return d
}

func convertCore(url string, c *coreExt) *ExtensionDef {
	d := &ExtensionDef{URL: url, Types: c.Types, Context: c.Context, Min: c.Min, Max: 1}
	if c.Max == "*" {
		d.Max = -1
	} else if c.Max != "" {
		d.Max, _ = strconv.Atoi(c.Max)
	}
	for name, s := range c.Sub {
		if d.Sub == nil {
			d.Sub = map[string]*ExtensionDef{}
		}
		d.Sub[name] = convertCore(name, s)
	}
	return d
}

// ExtensionFromStructureDefinition reads an extension definition from a
// StructureDefinition of type Extension (its differential, or its
// snapshot when it has no differential).
func ExtensionFromStructureDefinition(sd *fhirjson.Value) (*ExtensionDef, bool) {
	if sd.GetStr("resourceType") != "StructureDefinition" || sd.GetStr("type") != "Extension" {
		return nil, false
	}
	d := &ExtensionDef{URL: sd.GetStr("url"), Min: 0, Max: -1}
	if ctx := sd.Get("context"); ctx != nil {
		for _, c := range ctx.Items {
			if e := c.GetStr("expression"); e != "" {
				d.Context = append(d.Context, e)
			}
		}
	}
	els := sd.Get("differential").Get("element")
	if els == nil {
		els = sd.Get("snapshot").Get("element")
	}
	if els == nil {
		return d, true
	}
	for _, el := range els.Items {
		id := el.GetStr("id")
		if id == "" {
			id = el.GetStr("path")
		}
		types := func() []string {
			var out []string
			if ts := el.Get("type"); ts != nil {
				for _, t := range ts.Items {
					out = append(out, t.GetStr("code"))
				}
			}
			return out
		}
		if id == "Extension.value[x]" {
			if el.GetStr("max") != "0" {
				d.Types = types()
				d.ValueSet = requiredBinding(el)
			}
			continue
		}
		rest, ok := strings.CutPrefix(id, "Extension.extension:")
		if !ok {
			continue
		}
		name, tail, _ := strings.Cut(rest, ".")
		if d.Sub == nil {
			d.Sub = map[string]*ExtensionDef{}
		}
		sub := d.Sub[name]
		if sub == nil {
			sub = &ExtensionDef{URL: name, Max: 1, Project: true}
			d.Sub[name] = sub
		}
		switch tail {
		case "":
			if n := el.Get("min"); n != nil {
				sub.Min, _ = strconv.Atoi(string(n.Raw))
			}
			switch m := el.GetStr("max"); m {
			case "*":
				sub.Max = -1
			case "":
			default:
				sub.Max, _ = strconv.Atoi(m)
			}
		case "value[x]":
			sub.Types = types()
			sub.ValueSet = requiredBinding(el)
		}
	}
	d.Project = true
	return d, true
}

func requiredBinding(el *fhirjson.Value) string {
	b := el.Get("binding")
	if b.GetStr("strength") != "required" {
		return ""
	}
	vs, _, _ := strings.Cut(b.GetStr("valueSet"), "|")
	return vs
}

// registryCodes returns the codes by system of a ValueSet in the
// conformance registry whose compose includes whole CodeSystems of the
// registry or lists concepts; false when it cannot be expanded here.
func registryCodes(url string) (map[string]map[string]bool, bool) {
	if c, ok := vsCache.Load(url); ok {
		m := c.(map[string]map[string]bool)
		return m, m != nil
	}
	reg := ConformanceResources()
	var out map[string]map[string]bool
	if vs, ok := reg.ByURL("ValueSet", url); ok {
		out = map[string]map[string]bool{}
		inc := vs.Tree.Get("compose").Get("include")
		for _, in := range inc.Items {
			sys := in.GetStr("system")
			if out[sys] == nil {
				out[sys] = map[string]bool{}
			}
			if cs := in.Get("concept"); cs != nil {
				for _, c := range cs.Items {
					out[sys][c.GetStr("code")] = true
				}
				continue
			}
			cs, ok := reg.ByURL("CodeSystem", sys)
			if !ok || in.Get("filter") != nil {
				out = nil
				break
			}
			var walk func(*fhirjson.Value)
			walk = func(list *fhirjson.Value) {
				for _, c := range list.Items {
					out[sys][c.GetStr("code")] = true
					if sub := c.Get("concept"); sub != nil {
						walk(sub)
					}
				}
			}
			if cl := cs.Tree.Get("concept"); cl != nil {
				walk(cl)
			}
		}
	}
	vsCache.Store(url, out)
	return out, out != nil
}

var vsCache sync.Map

// checkBinding checks a code or Coding value against a definition's
// required value set.
func (w *walker) checkBinding(v *fhirjson.Value, def *ExtensionDef, vkey string) {
	if def.ValueSet == "" || vkey == "" {
		return
	}
	codes, ok := registryCodes(def.ValueSet)
	if !ok {
		return
	}
	val := v.Get(vkey)
	var code string
	switch vkey {
	case "valueCode":
		code, _ = val.Str()
		for _, set := range codes {
			if set[code] {
				return
			}
		}
	case "valueCoding":
		code = val.GetStr("code")
		if codes[val.GetStr("system")][code] {
			return
		}
	default:
		return
	}
	var all []string
	for _, set := range codes {
		for c := range set {
			all = append(all, c)
		}
	}
	sort.Strings(all)
	mark := w.push(vkey)
	w.ruleAt(ww.SeverityError, "code-invalid", "is %q, which is not in the required value set %s of %s; use one of %s", code, def.ValueSet, def.URL, strings.Join(all, ", "))
	w.path = w.path[:mark]
}

// valueKey returns the value[x] member of an extension and its type name.
func valueKey(v *fhirjson.Value) (key, typ string) {
	for _, m := range v.Members {
		if t, ok := strings.CutPrefix(m.Key, "value"); ok && t != "" {
			return m.Key, strings.ToLower(t[:1]) + t[1:]
		}
	}
	return "", ""
}

// typeAllowed matches a value type against a definition's types (a
// primitive name is lower-case in value[x]: valueString → string, but
// complex ones keep their case: valueCodeableConcept → CodeableConcept).
func typeAllowed(typ string, types []string) bool {
	for _, t := range types {
		if strings.EqualFold(t, typ) {
			return true
		}
	}
	return false
}

// extension checks an Extension value: ext-1 and, for a known URL, its
// definition.
func (w *walker) extension(v *fhirjson.Value) {
	url, _ := v.Get("url").Str()
	vkey, vtyp := valueKey(v)
	sub := v.Get("extension")
	if vkey != "" && sub != nil {
		w.errAt("structure", "has both a %s and nested extensions; an extension has one or the other (ext-1)", vkey)
	} else if vkey == "" && sub == nil {
		w.errAt("structure", "has neither a value[x] nor nested extensions; an extension needs one of them (ext-1)")
	}
	holder := w.frames[len(w.frames)-1]
	if holder.typ == "Extension" {
		return // a nested extension: its parent's definition checks it
	}
	if url == "" {
		return
	}
	if !strings.Contains(url, ":") {
		w.errAt("value", "has url %q; the url of an extension that is not nested in another must be absolute (its StructureDefinition's canonical URL)", url)
		return
	}
	def, ok := LookupExtension(url)
	if !ok {
		if strings.HasPrefix(url, ww.CanonicalBase+"/") {
			w.ruleAt(ww.SeverityWarning, "not-found", "uses the project extension %s, which has no StructureDefinition on this server; it was not checked", url)
		}
		return
	}
	w.checkExtension(v, def, vkey, vtyp, holder)
}

func (w *walker) checkExtension(v *fhirjson.Value, def *ExtensionDef, vkey, vtyp string, holder frame) {
	sev := ww.SeverityError
	if !def.Project {
		sev = ww.SeverityWarning
	}
	if len(def.Context) > 0 && !w.contextMatches(def.Context, holder) {
		w.ruleAt(sev, "structure", "uses extension %s on %s, but its definition allows it only on %s", def.URL, w.holderPath(holder), strings.Join(def.Context, ", "))
	}
	w.checkExtensionContent(v, def, vkey, vtyp)
}

// checkExtensionContent checks the value type and nested extensions
// against a definition; its findings are errors (the value breaks the
// definition whoever owns it).
func (w *walker) checkExtensionContent(v *fhirjson.Value, def *ExtensionDef, vkey, vtyp string) {
	switch {
	case vkey != "" && len(def.Types) == 0 && def.Sub != nil:
		w.ruleAt(ww.SeverityError, "structure", "has %s, but %s is a complex extension: its data goes in nested extensions (%s)", vkey, def.URL, subNames(def))
	case vkey != "" && len(def.Types) > 0 && !typeAllowed(vtyp, def.Types):
		w.ruleAt(ww.SeverityError, "structure", "has %s, but extension %s takes a value of type %s", vkey, def.URL, strings.Join(def.Types, " or "))
	case vkey == "" && len(def.Types) > 0 && def.Sub == nil:
		w.ruleAt(ww.SeverityError, "required", "has no value; extension %s takes value%s", def.URL, upperFirst(def.Types[0]))
	default:
		w.checkBinding(v, def, vkey)
	}
	if def.Sub == nil {
		return
	}
	counts := map[string]int{}
	if subs := v.Get("extension"); subs != nil && subs.Kind == fhirjson.Array {
		for i, it := range subs.Items {
			if it.Kind != fhirjson.Object {
				continue
			}
			name, _ := it.Get("url").Str()
			mark := w.push("extension")
			m2 := w.pushIndex(i)
			sd, ok := def.Sub[name]
			if !ok {
				w.ruleAt(ww.SeverityError, "structure", "has url %q, which is not a part of extension %s; its parts are %s", name, def.URL, subNames(def))
			} else {
				counts[name]++
				k, t := valueKey(it)
				w.checkExtensionContent(it, sd, k, t)
			}
			w.path = w.path[:m2]
			w.path = w.path[:mark]
		}
	}
	names := make([]string, 0, len(def.Sub))
	for n := range def.Sub {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		sd := def.Sub[n]
		c := counts[n]
		if c < sd.Min {
			w.ruleAt(ww.SeverityError, "required", "lacks the part %q of extension %s (needed %d, found %d)", n, def.URL, sd.Min, c)
		}
		if sd.Max >= 0 && c > sd.Max {
			w.ruleAt(ww.SeverityError, "structure", "has the part %q of extension %s %d times; at most %d allowed", n, def.URL, c, sd.Max)
		}
	}
}

func subNames(def *ExtensionDef) string {
	names := make([]string, 0, len(def.Sub))
	for n := range def.Sub {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// holderPath is the element path of the extension's holder without
// indices and '_' prefixes: "Patient.name.family".
func (w *walker) holderPath(h frame) string {
	p := w.path[:h.pathLen]
	b := make([]byte, 0, len(p))
	for i := 0; i < len(p); i++ {
		switch c := p[i]; {
		case c == '[':
			for i < len(p) && p[i] != ']' {
				i++
			}
		case c == '_' && (i == 0 || p[i-1] == '.'):
		default:
			b = append(b, c)
		}
	}
	return string(b)
}

func (w *walker) contextMatches(ctx []string, h frame) bool {
	path := w.holderPath(h)
	for _, c := range ctx {
		switch {
		case c == "Element" || c == "Resource" || c == "DomainResource" || c == "Any" || strings.Contains(c, "://"):
			return true
		case c == h.typ || c == path:
			return true
		case c == "BackboneElement" && h.typ == "":
			return true
		}
		// A context on a data type's element ("HumanName.family") or on
		// a resource's element reached through a contained resource.
		if i := strings.IndexByte(path, '.'); i >= 0 && strings.HasSuffix(path, "."+c) {
			return true
		}
	}
	return false
}
