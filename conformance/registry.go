package conformance

import (
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
)

// ParamType is the type of a search parameter.
type ParamType string

// The search-parameter types.
const (
	TypeToken     ParamType = "token"
	TypeString    ParamType = "string"
	TypeDate      ParamType = "date"
	TypeReference ParamType = "reference"
	TypeNumber    ParamType = "number"
	TypeQuantity  ParamType = "quantity"
	TypeURI       ParamType = "uri"
	TypeSpecial   ParamType = "special"
)

// SearchParam is one registered search parameter of one resource type.
type SearchParam struct {
	// Resource is the type the parameter belongs to ("Resource" for the
	// common _id, _lastUpdated, … before they are copied to every type).
	Resource string `json:"resource"`
	// Code is the name used in URLs.
	Code string    `json:"code"`
	Type ParamType `json:"type"`
	// Expression is the FHIRPath of the definition.
	Expression string `json:"expression,omitempty"`
	// Targets are the resource types a reference may point to.
	Targets []string `json:"target,omitempty"`
	// URL is the canonical URL of the SearchParameter.
	URL         string `json:"url"`
	Description string `json:"description,omitempty"`
	// Index names the parameter whose index this one reads (a parameter
	// that is another one restricted to one target type, such as
	// Appointment.patient over Appointment.actor, shares its index).
	Index string `json:"index,omitempty"`
	// Layout chooses the Redis index shape (see redisstore/keys.go):
	// "set" for few distinct values, "lex" for many.
	Layout string `json:"layout,omitempty"`
	// Restrict limits an aliased reference parameter to one target type
	// (Appointment.patient reads the actor index for Patient targets).
	Restrict string `json:"restrict,omitempty"`
	// Width is the usual precision of a date parameter's values: "second"
	// (default), "day" (birth dates, authored dates) or "ms"; values of
	// another width are recorded as exceptions in the index.
	Width string `json:"width,omitempty"`
	// Derive names a computed token: "present-not-false" (Patient.deceased).
	Derive string `json:"derive,omitempty"`
	// Custom marks the project's own parameters.
	Custom bool `json:"custom,omitempty"`

	expr *Expr
	// parts are the string parameters over sub-elements of this one's
	// element (Patient.name.family, .given under Patient.name; see Parts).
	parts []*SearchParam
	// isPart: this parameter is one of another one's parts.
	isPart bool
}

// IsPart reports whether the parameter is one of another's Parts.
func (p *SearchParam) IsPart() bool { return p.isPart }

// Parts returns the string parameters of the same type whose expression is
// this one's followed by one of the sub-elements a string search of this
// one matches (Patient.address.city under Patient.address). Their values
// are a subset of this parameter's, so the store keeps in this parameter's
// index only the values no part holds, and a search of this parameter
// reads the union of its index and the parts' (a name is not indexed three
// times: under name, family and given).
func (p *SearchParam) Parts() []*SearchParam { return p.parts }

// Compiled returns the compiled expression (nil for parameters the store
// computes itself, such as _id and _lastUpdated).
func (p *SearchParam) Compiled() *Expr { return p.expr }

// IndexName is the name of the index the parameter reads and writes.
func (p *SearchParam) IndexName() string {
	if p.Index != "" {
		return p.Index
	}
	return p.Code
}

//go:embed searchparams.json
var registryJSON []byte

// Registry holds the search parameters of every served type.
type Registry struct {
	byType    map[string]map[string]*SearchParam
	compounds map[string][]Compound
	// compoundsPrint identifies the compound definitions (see
	// CompoundsFingerprint).
	compoundsPrint string
	// indexed holds Indexed's answer per type (built once: every write
	// asks).
	indexed map[string][]*SearchParam
	// partsPrint identifies the string parameters' parts (see
	// PartsFingerprint).
	partsPrint string
}

// Compound is a compound index: equality on several token or reference
// parameters, ordered by a date parameter (Slot status + service-type by
// start; Appointment practitioner by date). The store keeps it
// beside the single-parameter indexes and uses it when a search gives every
// one of the parameters. A resource without a value of the sort parameter
// has no entry, so unless SortRequired (the element is 1..1) the store uses
// the compound only when the search itself requires a value (a date clause
// on it).
type Compound struct {
	Resource     string   `json:"resource"`
	Params       []string `json:"params"`
	Sort         string   `json:"sort"`
	SortRequired bool     `json:"sortRequired"`
}

// Name is the compound's index name.
func (c Compound) Name() string { return "~c:" + strings.Join(c.Params, "+") }

// CompoundsFingerprint identifies the compound index definitions: a store
// uses its compound indexes only when they were built under the same
// definitions (a fresh layout, or a reindex by this release).
func (r *Registry) CompoundsFingerprint() string { return r.compoundsPrint }

// Compounds returns the compound indexes of typ.
func (r *Registry) Compounds(typ string) []Compound { return r.compounds[typ] }

var registry = mustLoadRegistry(registryJSON)

// Params returns the registry loaded from the embedded data.
func Params() *Registry { return registry }

// storeComputed are parameters whose values the store keeps itself.
var storeComputed = map[string]bool{"_id": true, "_lastUpdated": true}

func mustLoadRegistry(data []byte) *Registry {
	r, err := LoadRegistry(data)
	if err != nil {
		panic("conformance: search-parameter registry: " + err.Error())
	}
	return r
}

// LoadRegistry parses registry data: {"params": [SearchParam, …]}.
// Parameters of resource "Resource" apply to every served type.
func LoadRegistry(data []byte) (*Registry, error) {
	var doc struct {
		Params    []SearchParam `json:"params"`
		Compounds []Compound    `json:"compounds"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	r := &Registry{byType: map[string]map[string]*SearchParam{}, compounds: map[string][]Compound{}}
	var common []SearchParam
	for _, p := range doc.Params {
		if p.Resource == "Resource" {
			common = append(common, p)
			continue
		}
		if !Supported(p.Resource) {
			continue
		}
		if err := r.add(p); err != nil {
			return nil, err
		}
	}
	for _, c := range doc.Compounds {
		for _, code := range append(append([]string(nil), c.Params...), c.Sort) {
			if _, ok := r.byType[c.Resource][code]; !ok {
				return nil, fmt.Errorf("compound index on %s names unknown parameter %q", c.Resource, code)
			}
		}
		r.compounds[c.Resource] = append(r.compounds[c.Resource], c)
	}
	if b, err := json.Marshal(doc.Compounds); err == nil {
		sum := sha256.Sum256(b)
		r.compoundsPrint = hex.EncodeToString(sum[:8])
	}
	for _, t := range TypeNames() {
		for _, c := range common {
			c.Resource = t
			if c.Expression != "" {
				c.Expression = strings.ReplaceAll(c.Expression, "Resource.", t+".")
			}
			if err := r.add(c); err != nil {
				return nil, err
			}
		}
	}
	r.indexed = map[string][]*SearchParam{}
	for t := range r.byType {
		for _, p := range r.ForType(t) {
			if p.Index == "" && p.expr != nil {
				r.indexed[t] = append(r.indexed[t], p)
			}
		}
	}
	r.partsPrint = r.linkParts()
	return r, nil
}

// linkParts finds every string parameter's parts (see Parts) and returns
// the fingerprint of what it found.
func (r *Registry) linkParts() string {
	var print []string
	for _, t := range slices.Sorted(maps.Keys(r.indexed)) {
		byExpr := map[string]*SearchParam{}
		for _, p := range r.indexed[t] {
			if p.Type == TypeString && simplePath(p.Expression) {
				byExpr[p.Expression] = p
			}
		}
		for _, whole := range r.indexed[t] {
			if byExpr[whole.Expression] != whole {
				continue
			}
			var names []string
			for _, f := range stringFields {
				if part := byExpr[whole.Expression+"."+f]; part != nil {
					whole.parts = append(whole.parts, part)
					part.isPart = true
					names = append(names, part.Code)
				}
			}
			if len(names) > 0 {
				print = append(print, t+"."+whole.Code+"="+strings.Join(names, ","))
			}
		}
	}
	sum := sha256.Sum256([]byte(strings.Join(print, ";")))
	return hex.EncodeToString(sum[:8])
}

// simplePath reports whether a FHIRPath expression is a plain path
// (Patient.name), with no union, function or filter.
func simplePath(e string) bool {
	if e == "" {
		return false
	}
	for _, c := range e {
		if !(c == '.' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// PartsFingerprint identifies which string parameters' values are kept in
// their parts' indexes (see Parts): a store writes an index generation that
// way only when it was built under the same definitions.
func (r *Registry) PartsFingerprint() string { return r.partsPrint }

func (r *Registry) add(p SearchParam) error {
	m := r.byType[p.Resource]
	if m == nil {
		m = map[string]*SearchParam{}
		r.byType[p.Resource] = m
	}
	if _, dup := m[p.Code]; dup {
		return fmt.Errorf("%s.%s defined twice", p.Resource, p.Code)
	}
	switch p.Type {
	case TypeToken, TypeString, TypeDate, TypeReference, TypeNumber, TypeQuantity, TypeURI, TypeSpecial:
	default:
		return fmt.Errorf("%s.%s: unknown type %q", p.Resource, p.Code, p.Type)
	}
	if p.Expression != "" && !storeComputed[p.Code] {
		e, err := CompileExpr(p.Resource, p.Expression)
		if err != nil {
			return fmt.Errorf("%s.%s: %w", p.Resource, p.Code, err)
		}
		p.expr = e
	}
	cp := p
	m[p.Code] = &cp
	return nil
}

// Lookup returns the parameter code of type typ.
func (r *Registry) Lookup(typ, code string) (*SearchParam, bool) {
	p, ok := r.byType[typ][code]
	return p, ok
}

// ForType returns the parameters of typ sorted by code.
func (r *Registry) ForType(typ string) []*SearchParam {
	m := r.byType[typ]
	out := make([]*SearchParam, 0, len(m))
	for _, p := range m {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Code < out[j].Code })
	return out
}

// Indexed returns the parameters of typ that own an index (not those that
// read another one's), sorted by code.
func (r *Registry) Indexed(typ string) []*SearchParam { return r.indexed[typ] }
