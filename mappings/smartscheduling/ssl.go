package smartscheduling

import (
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"time"

	"github.com/wachtwijzer/wachtwijzer/fhirjson"
	"github.com/wachtwijzer/wachtwijzer/mappings/remote"
)

// Extension URLs of SMART Scheduling Links.
const (
	ExtBookingDeepLink = "http://fhir-registry.smarthealthit.org/StructureDefinition/booking-deep-link"
	ExtBookingPhone    = "http://fhir-registry.smarthealthit.org/StructureDefinition/booking-phone"
	ExtSlotCapacity    = "http://fhir-registry.smarthealthit.org/StructureDefinition/slot-capacity"
	ExtHasAvailability = "http://fhir-registry.smarthealthit.org/StructureDefinition/has-availability"
)

// Types are the resource types a client reads from a manifest, in the
// order they should be written (targets before the resources pointing at
// them).
var Types = []string{"Location", "HealthcareService", "PractitionerRole", "Schedule", "Slot"}

// Manifest is a $bulk-publish manifest.
type Manifest struct {
	TransactionTime time.Time
	Request         string
	Output          []Output
	Errors          int
}

// Output is one file of a manifest.
type Output struct {
	Type string
	URL  string
	// States are the extension.state hints (ISO 3166-2 codes, e.g. NL-GR).
	States []string
}

// Error is a manifest or resource that breaks the specification.
type Error struct{ Msg string }

func (e *Error) Error() string { return e.Msg }

func errf(format string, args ...any) error { return &Error{fmt.Sprintf(format, args...)} }

var instantRE = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$`)

// ParseInstant reads a FHIR instant (seconds and an offset required).
func ParseInstant(s string) (time.Time, error) {
	if !instantRE.MatchString(s) {
		return time.Time{}, errf("%q is not a FHIR instant (YYYY-MM-DDThh:mm:ss with Z or ±hh:mm)", s)
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, errf("%q is not a valid instant: %v", s, err)
	}
	return t, nil
}

// ParseManifest reads a manifest; base resolves relative output URLs.
func ParseManifest(b []byte, base string) (*Manifest, error) {
	var raw struct {
		TransactionTime *string `json:"transactionTime"`
		Request         string  `json:"request"`
		Output          []struct {
			Type      string `json:"type"`
			URL       string `json:"url"`
			Extension *struct {
				State []string `json:"state"`
			} `json:"extension"`
		} `json:"output"`
		Error []json.RawMessage `json:"error"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, errf("the manifest is not the expected JSON object: %v", err)
	}
	if raw.TransactionTime == nil {
		return nil, errf("the manifest has no transactionTime")
	}
	tt, err := ParseInstant(*raw.TransactionTime)
	if err != nil {
		return nil, errf("transactionTime: %v", err)
	}
	if raw.Output == nil {
		return nil, errf("the manifest has no output array")
	}
	bu, err := url.Parse(base)
	if err != nil {
		return nil, errf("base %q is not a URL", base)
	}
	m := &Manifest{TransactionTime: tt, Request: raw.Request, Errors: len(raw.Error)}
	for i, o := range raw.Output {
		u, err := bu.Parse(o.URL)
		if err != nil || o.URL == "" || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, errf("output[%d].url %q is not an http(s) URL", i, o.URL)
		}
		out := Output{Type: o.Type, URL: u.String()}
		if o.Extension != nil {
			out.States = o.Extension.State
		}
		m.Output = append(m.Output, out)
	}
	return m, nil
}

// Outputs returns the manifest's files of the known Types, in Types order
// (other types are ignored, as the specification asks of clients).
func (m *Manifest) Outputs() []Output {
	var out []Output
	for _, t := range Types {
		for _, o := range m.Output {
			if o.Type == t {
				out = append(out, o)
			}
		}
	}
	return out
}

var slotStatus = map[string]bool{"free": true, "busy": true, "busy-tentative": true, "busy-unavailable": true, "entered-in-error": true}

// ParseResource reads and checks one NDJSON line of a file of type typ.
func ParseResource(line []byte, typ string) (*fhirjson.Value, error) {
	v, err := fhirjson.Parse(line, fhirjson.Limits{MaxDepth: 64, MaxItems: 10000})
	if err != nil {
		return nil, errf("not JSON: %v", err)
	}
	if v.Kind != fhirjson.Object {
		return nil, errf("a line must hold one resource object")
	}
	if rt := v.GetStr("resourceType"); rt != typ {
		return nil, errf("resourceType %q in a %s file", rt, typ)
	}
	switch typ {
	case "Slot":
		if ref := v.Get("schedule"); ref == nil || ref.GetStr("reference") == "" {
			return nil, errf("Slot.schedule.reference is required")
		}
		if st := v.GetStr("status"); !slotStatus[st] {
			return nil, errf("Slot.status %q is not free, busy, busy-tentative, busy-unavailable or entered-in-error", st)
		}
		start, err := ParseInstant(v.GetStr("start"))
		if err != nil {
			return nil, errf("Slot.start: %v", err)
		}
		end, err := ParseInstant(v.GetStr("end"))
		if err != nil {
			return nil, errf("Slot.end: %v", err)
		}
		if !end.After(start) {
			return nil, errf("Slot.end is not after Slot.start")
		}
	case "Schedule":
		if a := v.Get("actor"); a == nil || a.Kind != fhirjson.Array || len(a.Items) == 0 {
			return nil, errf("Schedule.actor needs at least one reference")
		}
	}
	if ext := v.Get("extension"); ext != nil && ext.Kind == fhirjson.Array {
		for _, e := range ext.Items {
			if e.Kind != fhirjson.Object {
				continue
			}
			if e.GetStr("url") == ExtBookingDeepLink {
				if u, err := url.Parse(e.GetStr("valueUrl")); err != nil || (u.Scheme != "https" && u.Scheme != "http") {
					return nil, errf("booking-deep-link must carry an http(s) valueUrl")
				}
			}
		}
	}
	return v, nil
}

// Map parses, checks and maps one line into the gateway's ids.
func Map(m *remote.Mapper, line []byte, typ string) (*remote.Resource, error) {
	v, err := ParseResource(line, typ)
	if err != nil {
		return nil, err
	}
	return m.Map(v)
}

// Extension returns the value member of the first extension with url on a
// resource (nil when absent).
func Extension(v *fhirjson.Value, url string) *fhirjson.Value {
	ext := v.Get("extension")
	if ext == nil || ext.Kind != fhirjson.Array {
		return nil
	}
	for _, e := range ext.Items {
		if e.Kind == fhirjson.Object && e.GetStr("url") == url {
			for _, mem := range e.Members {
				if len(mem.Key) > 5 && mem.Key[:5] == "value" {
					return mem.Value
				}
			}
		}
	}
	return nil
}

// BuildManifest writes a manifest.
func BuildManifest(transactionTime time.Time, request string, outputs []Output) []byte {
	type ext struct {
		State []string `json:"state"`
	}
	type out struct {
		Type      string `json:"type"`
		URL       string `json:"url"`
		Extension *ext   `json:"extension,omitempty"`
	}
	m := struct {
		TransactionTime string `json:"transactionTime"`
		Request         string `json:"request"`
		Output          []out  `json:"output"`
		Error           []any  `json:"error"`
	}{TransactionTime: transactionTime.UTC().Format("2006-01-02T15:04:05.000Z"), Request: request, Output: []out{}, Error: []any{}}
	for _, o := range outputs {
		x := out{Type: o.Type, URL: o.URL}
		if len(o.States) > 0 {
			x.Extension = &ext{State: o.States}
		}
		m.Output = append(m.Output, x)
	}
	b, _ := json.Marshal(m)
	return b
}
