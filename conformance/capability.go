package conformance

import (
	"encoding/json"
	"sort"
	"sync"
	"time"
)

// Operation declares an operation the gateway serves, for the
// CapabilityStatement. Packages that serve operations register them.
type Operation struct {
	Name       string   // without "$"
	Definition string   // canonical URL of the OperationDefinition
	Types      []string // resource types it is defined on; empty for system level
}

var (
	opsMu sync.Mutex
	ops   []Operation
)

// RegisterOperation declares an operation. Call it from init or before the
// gateway starts serving.
func RegisterOperation(op Operation) {
	opsMu.Lock()
	defer opsMu.Unlock()
	for _, o := range ops {
		if o.Name == op.Name && equalStrings(o.Types, op.Types) {
			return
		}
	}
	ops = append(ops, op)
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Operations returns the registered operations.
func Operations() []Operation {
	ConformanceResources() // registers the operations its OperationDefinitions define
	opsMu.Lock()
	defer opsMu.Unlock()
	return append([]Operation(nil), ops...)
}

// ServerInfo is what the CapabilityStatement says about this deployment.
type ServerInfo struct {
	Version string
	BaseURL string
	// Started is the statement's date.
	Started time.Time
	// Security describes authentication when enabled (nil: none).
	Security *Security
}

// Security is the rest.security section.
type Security struct {
	CORS        bool
	Service     []string // codes of http://terminology.hl7.org/CodeSystem/restful-security-service
	Description string
	TokenURL    string
}

type capStatement struct {
	ResourceType   string           `json:"resourceType"`
	ID             string           `json:"id"`
	URL            string           `json:"url"`
	Name           string           `json:"name"`
	Title          string           `json:"title"`
	Status         string           `json:"status"`
	Date           string           `json:"date"`
	Publisher      string           `json:"publisher"`
	Description    string           `json:"description"`
	Kind           string           `json:"kind"`
	Software       capSoftware      `json:"software"`
	Implementation capImpl          `json:"implementation"`
	FHIRVersion    string           `json:"fhirVersion"`
	Format         []string         `json:"format"`
	PatchFormat    []string         `json:"patchFormat,omitempty"`
	Rest           []capRest        `json:"rest"`
	Extension      []map[string]any `json:"extension,omitempty"`
}

type capSoftware struct {
	Name    string `json:"name"`
	Version string `json:"version,omitempty"`
}

type capImpl struct {
	Description string `json:"description"`
	URL         string `json:"url,omitempty"`
}

type capRest struct {
	Mode          string           `json:"mode"`
	Documentation string           `json:"documentation,omitempty"`
	Security      *capSecurity     `json:"security,omitempty"`
	Resource      []capResource    `json:"resource"`
	Interaction   []capInteraction `json:"interaction"`
	SearchParam   []capSearchParam `json:"searchParam,omitempty"`
	Operation     []capOperation   `json:"operation,omitempty"`
}

type capSecurity struct {
	CORS        bool             `json:"cors"`
	Service     []map[string]any `json:"service,omitempty"`
	Description string           `json:"description,omitempty"`
	Extension   []map[string]any `json:"extension,omitempty"`
}

type capResource struct {
	Type              string           `json:"type"`
	Profile           string           `json:"profile,omitempty"`
	Documentation     string           `json:"documentation,omitempty"`
	Interaction       []capInteraction `json:"interaction"`
	Versioning        string           `json:"versioning"`
	ReadHistory       bool             `json:"readHistory"`
	UpdateCreate      bool             `json:"updateCreate"`
	ConditionalCreate bool             `json:"conditionalCreate"`
	ConditionalRead   string           `json:"conditionalRead"`
	ConditionalUpdate bool             `json:"conditionalUpdate"`
	ConditionalDelete string           `json:"conditionalDelete"`
	ReferencePolicy   []string         `json:"referencePolicy,omitempty"`
	SearchInclude     []string         `json:"searchInclude,omitempty"`
	SearchRevInclude  []string         `json:"searchRevInclude,omitempty"`
	SearchParam       []capSearchParam `json:"searchParam,omitempty"`
	Operation         []capOperation   `json:"operation,omitempty"`
}

type capInteraction struct {
	Code string `json:"code"`
}

type capSearchParam struct {
	Name          string `json:"name"`
	Definition    string `json:"definition,omitempty"`
	Type          string `json:"type"`
	Documentation string `json:"documentation,omitempty"`
}

type capOperation struct {
	Name       string `json:"name"`
	Definition string `json:"definition"`
}

// Features are capabilities later issues switch on; the statement reports
// only what is served.
var Features = struct {
	Includes bool // _include/_revinclude served
}{}

// IncludeLists returns searchInclude/searchRevInclude values for typ, set
// by the search engine when it serves them.
var IncludeLists func(typ string) (includes, revincludes []string)

// CapabilityStatement returns the JSON of the server's CapabilityStatement.
func CapabilityStatement(info ServerInfo) []byte {
	cs := capStatement{
		ResourceType: "CapabilityStatement",
		ID:           "wachtwijzer",
		URL:          "https://wachtwijzer.nl/fhir/CapabilityStatement/wachtwijzer",
		Name:         "Wachtwijzer",
		Title:        "Wachtwijzer FHIR R4 gateway",
		Status:       "active",
		Date:         info.Started.UTC().Format(time.RFC3339),
		Publisher:    "Wachtwijzer",
		Description: "FHIR R4 gateway for Dutch hospital waiting lists and capacity: ingests HL7 v2, CSV and FHIR, " +
			"stores in Redis and serves insurer mediation queries. Date search values without a zone are read in Europe/Amsterdam.",
		Kind:           "instance",
		Software:       capSoftware{Name: "Wachtwijzer", Version: info.Version},
		Implementation: capImpl{Description: "Wachtwijzer gateway", URL: info.BaseURL},
		FHIRVersion:    "4.0.1",
		Format:         []string{"application/fhir+json", "json"},
	}
	rest := capRest{
		Mode:          "server",
		Documentation: "Dates without a zone in search values are interpreted in Europe/Amsterdam. Unknown search parameters are ignored unless Prefer: handling=strict.",
		Interaction:   []capInteraction{{"transaction"}, {"batch"}, {"history-system"}},
	}
	if info.Security != nil {
		sec := &capSecurity{CORS: info.Security.CORS, Description: info.Security.Description}
		for _, s := range info.Security.Service {
			sec.Service = append(sec.Service, map[string]any{"coding": []map[string]any{{"system": "http://terminology.hl7.org/CodeSystem/restful-security-service", "code": s}}})
		}
		if info.Security.TokenURL != "" {
			sec.Extension = []map[string]any{{
				"url":       "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris",
				"extension": []map[string]any{{"url": "token", "valueUri": info.Security.TokenURL}},
			}}
		}
		rest.Security = sec
	} else {
		rest.Security = &capSecurity{Description: "No authentication is enabled on this deployment: every client may read and write. " +
			"Enable it before exposing the gateway beyond a trusted network."}
	}
	opsList := Operations()
	for _, t := range TypeNames() {
		ti := types[t]
		r := capResource{
			Type:              t,
			Profile:           ti.Profile,
			Versioning:        "versioned-update",
			ReadHistory:       true,
			UpdateCreate:      true,
			ConditionalCreate: true,
			ConditionalRead:   "not-supported",
			ConditionalUpdate: true,
			ConditionalDelete: "single",
			ReferencePolicy:   []string{"literal", "logical"},
		}
		r.Interaction = []capInteraction{{"read"}, {"vread"}, {"search-type"}, {"history-instance"}, {"history-type"}}
		if !ti.ReadOnly {
			r.Interaction = append(r.Interaction, capInteraction{"create"}, capInteraction{"update"}, capInteraction{"delete"})
		}
		for _, p := range registry.ForType(t) {
			r.SearchParam = append(r.SearchParam, capSearchParam{Name: p.Code, Definition: p.URL, Type: string(p.Type), Documentation: p.Description})
		}
		if IncludeLists != nil {
			r.SearchInclude, r.SearchRevInclude = IncludeLists(t)
		}
		for _, o := range opsList {
			for _, ot := range o.Types {
				if ot == t {
					r.Operation = append(r.Operation, capOperation{Name: o.Name, Definition: o.Definition})
				}
			}
		}
		rest.Resource = append(rest.Resource, r)
	}
	for _, t := range ConformanceTypeNames() {
		r := capResource{
			Type:              t,
			Documentation:     "Served read-only from the gateway's conformance registry (the contract of its extensions, operations, search parameters and code systems).",
			Interaction:       []capInteraction{{"read"}, {"vread"}, {"search-type"}},
			Versioning:        "versioned",
			ConditionalRead:   "not-supported",
			ConditionalDelete: "not-supported",
		}
		for _, p := range ConformanceSearchParams(t) {
			r.SearchParam = append(r.SearchParam, capSearchParam{Name: p.Code, Definition: p.Definition, Type: string(p.Type)})
		}
		rest.Resource = append(rest.Resource, r)
	}
	rest.Resource = append(rest.Resource, computedResources(opsList)...)
	sort.Slice(rest.Resource, func(i, j int) bool { return rest.Resource[i].Type < rest.Resource[j].Type })
	for _, o := range opsList {
		if len(o.Types) == 0 {
			rest.Operation = append(rest.Operation, capOperation{Name: o.Name, Definition: o.Definition})
		}
	}
	sort.Slice(rest.Operation, func(i, j int) bool { return rest.Operation[i].Name < rest.Operation[j].Name })
	cs.Rest = []capRest{rest}
	b, err := json.Marshal(cs)
	if err != nil {
		panic("conformance: CapabilityStatement: " + err.Error())
	}
	return b
}

// computedResources lists the types that only carry operations
// (MeasureReport/$regional-capacity): neither stored nor conformance types.
func computedResources(opsList []Operation) []capResource {
	var out []capResource
	seen := map[string]bool{}
	for _, t := range ConformanceTypeNames() {
		seen[t] = true
	}
	var more []string
	for _, o := range opsList {
		for _, t := range o.Types {
			if !Supported(t) && !seen[t] {
				seen[t] = true
				more = append(more, t)
			}
		}
	}
	sort.Strings(more)
	for _, t := range more {
		r := capResource{Type: t, Versioning: "no-version", ConditionalRead: "not-supported", ConditionalDelete: "not-supported",
			Documentation: "Computed by operations only; not stored.", Interaction: []capInteraction{}}
		for _, o := range opsList {
			for _, ot := range o.Types {
				if ot == t {
					r.Operation = append(r.Operation, capOperation{Name: o.Name, Definition: o.Definition})
				}
			}
		}
		out = append(out, r)
	}
	return out
}
