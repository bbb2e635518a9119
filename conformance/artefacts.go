package conformance

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"

	"sort"
	"strings"
)

// The project's own conformance artefacts (canonical base
// https://wachtwijzer.nl/fhir): OperationDefinitions of the operations the
// gateway serves, StructureDefinitions of its extensions, CodeSystems and
// the Measure of $regional-capacity, one JSON file each under artefacts/.
// They are the contract: the gateway serves them read-only
// (GET /fhir/OperationDefinition/long-waits, GET /fhir/CodeSystem, …) and
// the CapabilityStatement lists every OperationDefinition as an operation
// of its resource types (or of the system), so the statement, the
// definitions and the handlers share one source.

//go:embed artefacts/*.json
var artefactFS embed.FS

// ArtefactTypes are the resource types of the served artefacts.
var ArtefactTypes = []string{"CodeSystem", "Measure", "OperationDefinition", "StructureDefinition"}

type artefact struct {
	typ, id, url string
	json         []byte
}

var artefacts = mustLoadArtefacts()

func mustLoadArtefacts() map[string]*artefact {
	out, err := loadArtefacts()
	if err != nil {
		panic("conformance: artefacts: " + err.Error())
	}
	return out
}

func loadArtefacts() (map[string]*artefact, error) {
	out := map[string]*artefact{}
	entries, err := artefactFS.ReadDir("artefacts")
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		raw, err := artefactFS.ReadFile("artefacts/" + e.Name())
		if err != nil {
			return nil, err
		}
		var head struct {
			ResourceType string `json:"resourceType"`
			ID           string `json:"id"`
			URL          string `json:"url"`
		}
		var od struct {
			Code     string   `json:"code"`
			Resource []string `json:"resource"`
			System   bool     `json:"system"`
			Type     bool     `json:"type"`
			Instance bool     `json:"instance"`
		}
		if err := json.Unmarshal(raw, &head); err != nil {
			return nil, fmt.Errorf("%s: %w", e.Name(), err)
		}
		if want := head.ResourceType + "-" + head.ID + ".json"; e.Name() != want {
			return nil, fmt.Errorf("%s holds %s/%s (name it %s)", e.Name(), head.ResourceType, head.ID, want)
		}
		if head.URL != "https://wachtwijzer.nl/fhir/"+head.ResourceType+"/"+head.ID {
			return nil, fmt.Errorf("%s: url %q is not under the canonical base https://wachtwijzer.nl/fhir", e.Name(), head.URL)
		}
		var compact bytes.Buffer
		if err := json.Compact(&compact, raw); err != nil {
			return nil, fmt.Errorf("%s: %w", e.Name(), err)
		}
		out[head.ResourceType+"/"+head.ID] = &artefact{typ: head.ResourceType, id: head.ID, url: head.URL, json: compact.Bytes()}
		if head.ResourceType == "OperationDefinition" {
			if err := json.Unmarshal(raw, &od); err != nil {
				return nil, fmt.Errorf("%s: %w", e.Name(), err)
			}
			op := Operation{Name: od.Code, Definition: head.URL}
			if od.Type || od.Instance {
				op.Types = od.Resource
			}
			if od.System || od.Type || od.Instance {
				RegisterOperation(op)
			}
		}
	}
	return out, nil
}

// IsArtefactType reports whether typ is a type of served artefacts.
func IsArtefactType(typ string) bool {
	for _, t := range ArtefactTypes {
		if t == typ {
			return true
		}
	}
	return false
}

// Artefact returns the JSON of one artefact.
func Artefact(typ, id string) ([]byte, bool) {
	a, ok := artefacts[typ+"/"+id]
	if !ok {
		return nil, false
	}
	return a.json, true
}

// ArtefactIDs lists the ids of the artefacts of a type, sorted; with url
// set, only the one with that canonical URL (a "|version" suffix is
// ignored).
func ArtefactIDs(typ, url string) []string {
	url, _, _ = strings.Cut(url, "|")
	var out []string
	for _, a := range artefacts {
		if a.typ == typ && (url == "" || a.url == url) {
			out = append(out, a.id)
		}
	}
	sort.Strings(out)
	return out
}

// OperationInputs returns the names of an operation's input parameters, as
// its OperationDefinition declares them.
func OperationInputs(code string) []string {
	raw, ok := Artefact("OperationDefinition", code)
	if !ok {
		return nil
	}
	var od struct {
		Parameter []struct {
			Name string `json:"name"`
			Use  string `json:"use"`
		} `json:"parameter"`
	}
	_ = json.Unmarshal(raw, &od)
	var out []string
	for _, p := range od.Parameter {
		if p.Use == "in" {
			out = append(out, p.Name)
		}
	}
	return out
}
