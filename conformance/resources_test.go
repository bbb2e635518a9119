package conformance

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestConformanceResourcesLoadCleanly(t *testing.T) {
	reg := ConformanceResources()
	if len(reg.Errors) > 0 {
		t.Fatalf("conformance/resources has problems:\n%s", strings.Join(reg.Errors, "\n"))
	}
	n := 0
	for _, typ := range ConformanceTypeNames() {
		for _, c := range reg.List(typ) {
			n++
			for _, is := range ValidateConformanceResource(c) {
				if is.Severity == "error" || is.Severity == "fatal" {
					t.Errorf("%s/%s is not valid R4: %+v", c.Type, c.ID, is)
				}
			}
			if got, ok := reg.ByURL(typ, c.URL); !ok || got != c {
				t.Errorf("%s/%s cannot be found by its url %s", c.Type, c.ID, c.URL)
			}
		}
	}
	if n < 10 {
		t.Fatalf("only %d conformance resources", n)
	}
	for _, want := range []string{"CodeSystem/wait-kind", "CodeSystem/complexity", "Measure/regional-capacity", "OperationDefinition/Resource-validate", "StructureDefinition/published-waiting-time"} {
		typ, id, _ := strings.Cut(want, "/")
		if _, ok := reg.Get(typ, id); !ok {
			t.Errorf("%s is not served", want)
		}
	}
}

// Every parameter of the search registry has its SearchParameter served,
// the custom ones under the project's canonical base.
func TestEverySearchParameterIsServed(t *testing.T) {
	reg := ConformanceResources()
	for _, typ := range TypeNames() {
		for _, p := range Params().ForType(typ) {
			c, ok := reg.ByURL("SearchParameter", p.URL)
			if !ok {
				t.Errorf("%s.%s: no SearchParameter %s", typ, p.Code, p.URL)
				continue
			}
			if p.Custom && c.URL != "https://wachtwijzer.nl/fhir/SearchParameter/"+typ+"-"+p.Code {
				t.Errorf("custom %s.%s has url %s", typ, p.Code, c.URL)
			}
			var sp struct {
				Code string   `json:"code"`
				Base []string `json:"base"`
			}
			json.Unmarshal(c.JSON, &sp)
			if sp.Code != p.Code || !contains(sp.Base, typ) {
				t.Errorf("SearchParameter %s: code %s base %v, want %s on %s", c.ID, sp.Code, sp.Base, p.Code, typ)
			}
		}
	}
	if c, ok := reg.Get("SearchParameter", "Appointment-end"); !ok || !strings.HasPrefix(c.URL, "https://wachtwijzer.nl/fhir/SearchParameter/") {
		t.Errorf("the custom Appointment end parameter is not SearchParameter/Appointment-end")
	}
}

func TestProjectExtensionsComeFromTheirStructureDefinitions(t *testing.T) {
	d, ok := LookupExtension("https://wachtwijzer.nl/fhir/StructureDefinition/published-waiting-time")
	if !ok || !d.Project || d.Sub["kind"] == nil || d.Sub["kind"].Min != 1 || d.Sub["days"].Types[0] != "integer" {
		t.Fatalf("published-waiting-time not read from its StructureDefinition: %+v", d)
	}
	if d.Context[0] != "HealthcareService" {
		t.Errorf("context %v", d.Context)
	}
}

func TestCapabilityStatementListsEverything(t *testing.T) {
	var cs struct {
		Rest []struct {
			Security *struct {
				Description string `json:"description"`
			} `json:"security"`
			Resource []struct {
				Type        string `json:"type"`
				Interaction []struct {
					Code string `json:"code"`
				} `json:"interaction"`
				SearchParam []struct {
					Name, Definition string
				} `json:"searchParam"`
				Operation []struct {
					Name, Definition string
				} `json:"operation"`
			} `json:"resource"`
		} `json:"rest"`
	}
	RegisterOperation(Operation{Name: "validate", Definition: "http://hl7.org/fhir/OperationDefinition/Resource-validate", Types: TypeNames()})
	if err := json.Unmarshal(CapabilityStatement(ServerInfo{Started: time.Now()}), &cs); err != nil {
		t.Fatal(err)
	}
	rest := cs.Rest[0]
	if rest.Security == nil || rest.Security.Description == "" {
		t.Error("no security section")
	}
	byType := map[string]int{}
	for i, r := range rest.Resource {
		byType[r.Type] = i
	}
	for _, typ := range append(TypeNames(), ConformanceTypeNames()...) {
		i, ok := byType[typ]
		if !ok {
			t.Errorf("%s is not listed", typ)
			continue
		}
		if len(rest.Resource[i].SearchParam) == 0 {
			t.Errorf("%s lists no search parameters", typ)
		}
	}
	a := rest.Resource[byType["Appointment"]]
	var hasEnd, hasValidate bool
	for _, p := range a.SearchParam {
		hasEnd = hasEnd || p.Name == "end" && strings.HasPrefix(p.Definition, "https://wachtwijzer.nl/fhir/SearchParameter/")
	}
	for _, o := range a.Operation {
		hasValidate = hasValidate || o.Name == "validate"
	}
	if !hasEnd || !hasValidate {
		t.Errorf("Appointment: custom end parameter %v, $validate %v", hasEnd, hasValidate)
	}
	sd := rest.Resource[byType["StructureDefinition"]]
	for _, it := range sd.Interaction {
		if it.Code == "create" || it.Code == "update" || it.Code == "delete" {
			t.Errorf("StructureDefinition must be read-only, lists %s", it.Code)
		}
	}
}
