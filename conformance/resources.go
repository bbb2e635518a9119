package conformance

import (
	"embed"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/fhirjson"
)

// The conformance resource registry: the project's StructureDefinitions,
// OperationDefinitions, CodeSystems, ValueSets and Measures
// are JSON files under conformance/resources/ (one resource a file, named
// <Type>-<id>.json), embedded in the binary and served read-only under
// /fhir/<Type>/<id>. Adding one is dropping a file there: an Extension
// StructureDefinition also becomes the definition its extension is
// validated against. SearchParameters are generated from the search
// registry (searchparams.json), so every parameter the gateway serves has
// its definition served too.
//
//go:embed resources/*.json
var resourceFiles embed.FS

// conformanceTypes are the types served from the registry, read-only.
var conformanceTypes = map[string]bool{
	"StructureDefinition": true, "OperationDefinition": true, "SearchParameter": true,
	"CodeSystem": true, "ValueSet": true, "Measure": true,
}

// IsConformanceType reports whether typ is served read-only from the
// conformance registry.
func IsConformanceType(typ string) bool { return conformanceTypes[typ] }

// ConformanceTypeNames returns the registry's types, sorted.
func ConformanceTypeNames() []string {
	out := make([]string, 0, len(conformanceTypes))
	for t := range conformanceTypes {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// RegistryDate is the meta.lastUpdated of registry resources without a
// date of their own.
var RegistryDate = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)

// ConfResource is one served conformance resource.
type ConfResource struct {
	Type, ID, URL string
	LastUpdated   time.Time
	// JSON is what is served: the file with meta.versionId "1" and
	// meta.lastUpdated set.
	JSON []byte
	Tree *fhirjson.Value
}

// ConfRegistry holds the conformance resources.
type ConfRegistry struct {
	byType map[string][]*ConfResource
	byID   map[string]*ConfResource
	byURL  map[string]*ConfResource
	// Errors are problems found loading the files (a duplicate id or url,
	// a file that is not a conformance resource); the resource in question
	// is left out. A test keeps the list empty.
	Errors []string
}

var (
	confOnce sync.Once
	confReg  *ConfRegistry
)

// ConformanceResources returns the registry, loading it on first use.
func ConformanceResources() *ConfRegistry {
	confOnce.Do(func() { confReg = loadConformance() })
	return confReg
}

func loadConformance() *ConfRegistry {
	r := &ConfRegistry{byType: map[string][]*ConfResource{}, byID: map[string]*ConfResource{}, byURL: map[string]*ConfResource{}}
	entries, err := resourceFiles.ReadDir("resources")
	if err != nil {
		r.Errors = append(r.Errors, "read conformance/resources: "+err.Error())
	}
	for _, e := range entries {
		name := "resources/" + e.Name()
		raw, err := resourceFiles.ReadFile(name)
		if err != nil {
			r.Errors = append(r.Errors, name+": "+err.Error())
			continue
		}
		tree, err := fhirjson.Parse(raw, fhirjson.Limits{})
		if err != nil {
			r.Errors = append(r.Errors, name+": "+err.Error())
			continue
		}
		if err := r.add(tree); err != nil {
			r.Errors = append(r.Errors, name+": "+err.Error())
		}
	}
	for _, sp := range searchParameterResources() {
		if _, dup := r.byURL["SearchParameter|"+sp.GetStr("url")]; dup {
			continue // a file defines it
		}
		if err := r.add(sp); err != nil {
			r.Errors = append(r.Errors, "generated SearchParameter "+sp.GetStr("url")+": "+err.Error())
		}
	}
	for _, list := range r.byType {
		sort.Slice(list, func(i, j int) bool { return list[i].ID < list[j].ID })
	}
	for _, sd := range r.byType["StructureDefinition"] {
		if d, ok := ExtensionFromStructureDefinition(sd.Tree); ok {
			RegisterExtension(d)
		}
	}
	for _, od := range r.byType["OperationDefinition"] {
		if op, ok := operationOf(od.Tree); ok {
			RegisterOperation(op)
		}
	}
	return r
}

// operationOf is the operation a project OperationDefinition declares
// (canonical base https://wachtwijzer.nl/fhir): its code, and the resource
// types it runs on at type or instance level (none: a system operation).
// The spec's own definitions the registry serves (Resource-validate) are
// registered by their handlers.
func operationOf(od *fhirjson.Value) (Operation, bool) {
	url := od.GetStr("url")
	if !strings.HasPrefix(url, "https://wachtwijzer.nl/fhir/") {
		return Operation{}, false
	}
	op := Operation{Name: od.GetStr("code"), Definition: url}
	level := func(k string) bool { b := od.Get(k); return b != nil && string(b.Raw) == "true" }
	if level("type") || level("instance") {
		if rs := od.Get("resource"); rs != nil && rs.Kind == fhirjson.Array {
			for _, it := range rs.Items {
				if t, ok := it.Str(); ok {
					op.Types = append(op.Types, t)
				}
			}
		}
	}
	if op.Name == "" || !(level("system") || level("type") || level("instance")) {
		return Operation{}, false
	}
	return op, true
}

func (r *ConfRegistry) add(tree *fhirjson.Value) error {
	typ := tree.GetStr("resourceType")
	if !conformanceTypes[typ] {
		return fmt.Errorf("resourceType %q is not a conformance type (%s)", typ, strings.Join(ConformanceTypeNames(), ", "))
	}
	id := tree.GetStr("id")
	if !ww.ValidID(id) {
		return fmt.Errorf("%s has no valid id", typ)
	}
	url := tree.GetStr("url")
	if url == "" {
		return fmt.Errorf("%s/%s has no url", typ, id)
	}
	if _, dup := r.byID[typ+"/"+id]; dup {
		return fmt.Errorf("%s/%s is defined twice", typ, id)
	}
	if prev, dup := r.byURL[typ+"|"+url]; dup {
		return fmt.Errorf("%s/%s has the url %s of %s/%s too", typ, id, url, prev.Type, prev.ID)
	}
	last := RegistryDate
	if d := tree.GetStr("date"); len(d) >= 10 {
		if t, err := time.Parse("2006-01-02", d[:10]); err == nil {
			last = t.UTC()
		}
	}
	meta := fhirjson.NewObject()
	meta.Set("versionId", fhirjson.NewString("1"))
	meta.Set("lastUpdated", fhirjson.NewString(last.Format("2006-01-02T15:04:05Z")))
	if old := tree.Get("meta"); old != nil {
		for _, m := range old.Members {
			if m.Key != "versionId" && m.Key != "lastUpdated" {
				meta.Set(m.Key, m.Value)
			}
		}
	}
	tree.Delete("meta")
	pos := 0
	for i, m := range tree.Members {
		if m.Key == "id" {
			pos = i + 1
		}
	}
	tree.SetFirst(pos, "meta", meta)
	cr := &ConfResource{Type: typ, ID: id, URL: url, LastUpdated: last, Tree: tree, JSON: tree.Bytes()}
	r.byType[typ] = append(r.byType[typ], cr)
	r.byID[typ+"/"+id] = cr
	r.byURL[typ+"|"+url] = cr
	return nil
}

// Get returns the resource typ/id.
func (r *ConfRegistry) Get(typ, id string) (*ConfResource, bool) {
	c, ok := r.byID[typ+"/"+id]
	return c, ok
}

// ByURL returns the resource of typ with the canonical url (a "|version"
// suffix is ignored).
func (r *ConfRegistry) ByURL(typ, url string) (*ConfResource, bool) {
	c, ok := r.byURL[typ+"|"+strings.SplitN(url, "|", 2)[0]]
	return c, ok
}

// List returns the resources of typ sorted by id.
func (r *ConfRegistry) List(typ string) []*ConfResource { return r.byType[typ] }

// searchParameterResources builds a SearchParameter for every parameter of
// the search registry, one per canonical URL (a parameter the spec defines
// for several types, such as clinical-patient, lists every served base).
func searchParameterResources() []*fhirjson.Value {
	type group struct {
		p     *SearchParam
		bases []string
		exprs []string
	}
	groups := map[string]*group{}
	var urls []string
	for _, t := range TypeNames() {
		for _, p := range registry.ForType(t) {
			g := groups[p.URL]
			if g == nil {
				g = &group{p: p}
				groups[p.URL] = g
				urls = append(urls, p.URL)
			}
			g.bases = append(g.bases, t)
			if p.Expression != "" {
				g.exprs = append(g.exprs, p.Expression)
			}
		}
	}
	sort.Strings(urls)
	ids := map[string]bool{}
	var out []*fhirjson.Value
	for _, url := range urls {
		g := groups[url]
		p := g.p
		id := canonicalID(url)
		for n := 2; ids[id]; n++ {
			id = fmt.Sprintf("%s-%d", canonicalID(url), n)
		}
		ids[id] = true
		res := fhirjson.NewObject()
		res.Set("resourceType", fhirjson.NewString("SearchParameter"))
		res.Set("id", fhirjson.NewString(id))
		res.Set("url", fhirjson.NewString(url))
		res.Set("name", fhirjson.NewString(p.Code))
		res.Set("status", fhirjson.NewString("active"))
		if p.Custom || strings.HasPrefix(url, ww.CanonicalBase) {
			res.Set("publisher", fhirjson.NewString("Wachtwijzer"))
		} else {
			res.Set("publisher", fhirjson.NewString("HL7 FHIR R4 (4.0.1), as served by Wachtwijzer"))
		}
		desc := p.Description
		if desc == "" {
			desc = p.Code + " (" + string(p.Type) + ")"
		}
		if p.Derive != "" {
			desc += " Computed by the gateway (" + p.Derive + "), not a plain evaluation of the expression."
		}
		res.Set("description", fhirjson.NewString(desc))
		res.Set("code", fhirjson.NewString(p.Code))
		bases := make([]*fhirjson.Value, len(g.bases))
		for i, b := range g.bases {
			bases[i] = fhirjson.NewString(b)
		}
		res.Set("base", fhirjson.NewArray(bases...))
		res.Set("type", fhirjson.NewString(string(p.Type)))
		if len(g.exprs) > 0 {
			res.Set("expression", fhirjson.NewString(strings.Join(dedupe(g.exprs), " | ")))
		}
		if len(p.Targets) > 0 {
			ts := make([]*fhirjson.Value, len(p.Targets))
			for i, t := range p.Targets {
				ts[i] = fhirjson.NewString(t)
			}
			res.Set("target", fhirjson.NewArray(ts...))
		}
		out = append(out, res)
	}
	return out
}

func dedupe(s []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range s {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

// canonicalID derives a resource id from the last segment of a canonical
// URL (characters an id may not have become '-').
func canonicalID(url string) string {
	seg := url[strings.LastIndexByte(url, '/')+1:]
	b := []byte(seg)
	for i, c := range b {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			b[i] = '-'
		}
	}
	s := strings.Trim(string(b), "-")
	if s == "" {
		s = "param"
	}
	if len(s) > 64 {
		s = s[:64]
	}
	return s
}

// ValidateConformanceResource checks a registry resource against the R4
// structure (the registry's own files must be valid FHIR).
func ValidateConformanceResource(c *ConfResource) []ww.Issue {
	td := loadSpec().types[c.Type]
	w := &walker{rootType: c.Type}
	w.path = append(w.path, c.Type...)
	w.resource(c.Tree, td)
	out := make([]ww.Issue, len(w.issues))
	for i, is := range w.issues {
		out[i] = is.Issue
	}
	return out
}

// OperationInputs returns the names of an operation's input parameters, as
// its OperationDefinition (OperationDefinition/<code>) declares them.
func OperationInputs(code string) []string {
	c, ok := ConformanceResources().Get("OperationDefinition", code)
	if !ok {
		return nil
	}
	var out []string
	if ps := c.Tree.Get("parameter"); ps != nil && ps.Kind == fhirjson.Array {
		for _, p := range ps.Items {
			if p.GetStr("use") == "in" {
				out = append(out, p.GetStr("name"))
			}
		}
	}
	return out
}
