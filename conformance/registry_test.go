package conformance

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRegistryLoadsEveryServedType(t *testing.T) {
	r := Params()
	for _, typ := range TypeNames() {
		ps := r.ForType(typ)
		if len(ps) < 5 {
			t.Errorf("%s has only %d search parameters", typ, len(ps))
		}
		for _, common := range []string{"_id", "_lastUpdated", "_tag", "_profile", "_security"} {
			if _, ok := r.Lookup(typ, common); !ok {
				t.Errorf("%s lacks %s", typ, common)
			}
		}
	}
}

func TestRegistryParametersAreSane(t *testing.T) {
	r := Params()
	for _, typ := range TypeNames() {
		for _, p := range r.ForType(typ) {
			where := typ + "." + p.Code
			if p.URL == "" || !strings.HasPrefix(p.URL, "http") {
				t.Errorf("%s: no canonical URL", where)
			}
			if p.Custom != strings.HasPrefix(p.URL, "https://wachtwijzer.nl/fhir/SearchParameter/") {
				t.Errorf("%s: custom=%v but url %s", where, p.Custom, p.URL)
			}
			if p.Custom && p.URL != "https://wachtwijzer.nl/fhir/SearchParameter/"+typ+"-"+p.Code {
				t.Errorf("%s: custom url %s is not <Type>-<code>", where, p.URL)
			}
			if p.Expression == "" && !storeComputed[p.Code] {
				t.Errorf("%s: no expression", where)
			}
			if p.Expression != "" && !storeComputed[p.Code] && p.Compiled() == nil {
				t.Errorf("%s: expression %q not compiled", where, p.Expression)
			}
			switch p.Type {
			case TypeReference:
				if len(p.Targets) == 0 {
					t.Errorf("%s: a reference without targets", where)
				}
				if p.Layout != "lex" {
					t.Errorf("%s: a reference needs the lex layout", where)
				}
				if p.Restrict != "" && !contains(p.Targets, p.Restrict) {
					t.Errorf("%s: restricted to %s, not among its targets %v", where, p.Restrict, p.Targets)
				}
			default:
				if len(p.Targets) > 0 {
					t.Errorf("%s (%s) has targets", where, p.Type)
				}
			}
			if p.Index != "" {
				base, ok := r.Lookup(typ, p.Index)
				if !ok || base.Type != p.Type {
					t.Errorf("%s reads the index of %s, which is not a %s parameter of %s", where, p.Index, p.Type, typ)
				}
			}
			if p.Width != "" && p.Type != TypeDate {
				t.Errorf("%s: a width on a %s", where, p.Type)
			}
		}
		for _, c := range r.Compounds(typ) {
			for _, code := range c.Params {
				if p, ok := r.Lookup(typ, code); !ok || (p.Type != TypeToken && p.Type != TypeReference) {
					t.Errorf("compound %s names %s, not a token or reference of %s", c.Name(), code, typ)
				}
			}
			if p, ok := r.Lookup(typ, c.Sort); !ok || p.Type != TypeDate {
				t.Errorf("compound %s sorts by %s, not a date", c.Name(), c.Sort)
			}
		}
	}
	for _, want := range []string{"Appointment.end", "Slot.end", "Appointment.requested-period", "Appointment.created", "Appointment.minutes-duration", "ServiceRequest.quantity"} {
		typ, code, _ := strings.Cut(want, ".")
		if p, ok := r.Lookup(typ, code); !ok || !p.Custom {
			t.Errorf("custom parameter %s missing", want)
		}
	}
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// The registry agrees with the spec's definitions (the shared subset file,
// read when present): same type and, for references, targets among the
// spec's; every spec parameter of a served type is registered.
func TestRegistryMatchesTheR4Definitions(t *testing.T) {
	path := filepath.Join("..", "..", "shared", "data", "standards", "fhir-r4-search-parameters-subset.json")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Skipf("spec subset not present (%v): skipping the cross-check", err)
	}
	var bundle struct {
		Entry []struct {
			Resource struct {
				Code   string   `json:"code"`
				Base   []string `json:"base"`
				Type   string   `json:"type"`
				Target []string `json:"target"`
				URL    string   `json:"url"`
			} `json:"resource"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(b, &bundle); err != nil {
		t.Fatal(err)
	}
	skipped := map[string]bool{"_text": true, "_content": true, "_query": true, "_list": true, "_has": true, "phonetic": true, "_type": true}
	r := Params()
	checked := 0
	for _, e := range bundle.Entry {
		sp := e.Resource
		if skipped[sp.Code] {
			continue
		}
		for _, base := range sp.Base {
			types := []string{base}
			if base == "Resource" || base == "DomainResource" {
				types = TypeNames()
			}
			for _, typ := range types {
				if !Supported(typ) {
					continue
				}
				p, ok := r.Lookup(typ, sp.Code)
				if !ok {
					t.Errorf("%s.%s (%s) from the spec is not registered", typ, sp.Code, sp.URL)
					continue
				}
				checked++
				if string(p.Type) != sp.Type {
					t.Errorf("%s.%s: registered as %s, the spec says %s", typ, sp.Code, p.Type, sp.Type)
				}
				for _, tgt := range p.Targets {
					if !contains(sp.Target, tgt) {
						t.Errorf("%s.%s: target %s is not among the spec's %v", typ, sp.Code, tgt, sp.Target)
					}
				}
			}
		}
	}
	if checked < 100 {
		t.Fatalf("only %d parameters cross-checked", checked)
	}
}

func TestSummaryTable(t *testing.T) {
	for _, c := range []struct {
		typ, path   string
		keep, child bool
	}{
		{"Appointment", "status", true, false},
		{"Appointment", "participant", false, false},
		{"Appointment", "comment", false, false},
		{"Patient", "name", true, false},
		{"Patient", "deceasedBoolean", true, false},
		{"Patient", "photo", false, false},
		{"Patient", "link", true, true},
		{"Patient", "link.other", true, false},
	} {
		keep, child := SummaryElement(c.typ, c.path)
		if keep != c.keep || child != c.child {
			t.Errorf("%s.%s: keep %v (children %v), want %v (%v)", c.typ, c.path, keep, child, c.keep, c.child)
		}
	}
}
