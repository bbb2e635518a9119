package conformance

import (
	"context"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/fhirjson"
)

// Rule is an extra check run on every write after the structural checks
// (business rules a package owns). It reports issues; an issue of severity
// error or fatal rejects the write with 422.
type Rule func(typ string, res *fhirjson.Value) []ww.Issue

var rules []Rule

// AddRule registers a validation rule. Call it from init only.
func AddRule(r Rule) { rules = append(rules, r) }

// Options adjust one validation.
type Options struct {
	// Profiles are checked as if the resource claimed them in
	// meta.profile ($validate's profile parameter).
	Profiles []string
}

// Validate is the hook every write passes (REST, transactions, HL7 mapping
// output, pull, import). It walks the parsed resource once against the
// FHIR R4 definitions (conformance/structure.json): unknown elements,
// JSON value types, cardinality, primitive formats (instant, dateTime,
// date, code, id, uri, …), required bindings, '_field' primitive
// extensions, extension structure, reference format and target types,
// contained resources. Then the Dutch identifier rules (BSN elfproef, AGB,
// URA, UZOVI), the project's extensions against their StructureDefinitions,
// the profiles claimed in meta.profile and the registered rules. It reports
// up to MaxIssues issues at once, each with a FHIRPath expression and a
// diagnostic that says how to fix it: with a structural problem the error
// is KindInvalid (400), with only rule and profile problems
// KindUnprocessable (422). Warnings alone do not fail.
func Validate(ctx context.Context, typ string, res *fhirjson.Value) error {
	issues, kind := Check(ctx, typ, res, Options{})
	if kind == 0 {
		return nil
	}
	return &ww.Error{Op: "conformance.Validate", Kind: kind, Issues: issues}
}

// Check validates like Validate and returns every issue found (warnings
// included) and the kind of error they amount to: 0 when the resource is
// valid, KindInvalid for structural errors, KindUnprocessable for rule
// errors only, KindNotFound for an unsupported type and KindNotAllowed for
// a read-only conformance type.
func Check(ctx context.Context, typ string, res *fhirjson.Value, o Options) ([]ww.Issue, ww.Kind) {
	if IsConformanceType(typ) {
		e := ww.Errorf(ww.KindNotAllowed, "not-supported", "%s resources are served read-only from the gateway's conformance registry; they cannot be written", typ).At(typ)
		return e.Issues, e.Kind
	}
	td, ok := loadSpec().types[typ]
	if _, served := types[typ]; !served || !ok {
		e := ww.Errorf(ww.KindNotFound, "not-supported", "resource type %q is not supported by this server; see /fhir/metadata", typ).At(typ)
		return e.Issues, e.Kind
	}
	if res == nil || res.Kind != fhirjson.Object {
		e := ww.Errorf(ww.KindInvalid, "structure", "%s resource must be a JSON object", article(typ)).At(typ)
		return e.Issues, e.Kind
	}
	w := &walker{rootType: typ}
	w.path = append(make([]byte, 0, 128), typ...)
	rtv := res.Get("resourceType")
	rt, isStr := rtv.Str()
	switch {
	case rtv == nil:
		w.add(classStructure, ww.SeverityError, "required", "resourceType", "the resource has no resourceType; add \"resourceType\": \""+typ+"\"")
	case !isStr:
		w.add(classStructure, ww.SeverityError, "structure", "resourceType", "resourceType must be a string such as \""+typ+"\"")
	case rt != typ:
		w.add(classStructure, ww.SeverityError, "invalid", "resourceType", "resourceType \""+rt+"\" does not match the type "+typ+" of the request")
	}
	if c := res.Get("contained"); c != nil && c.Kind == fhirjson.Array {
		w.containedIDs = map[string]bool{}
		for i, it := range c.Items {
			id, _ := it.Get("id").Str()
			if id == "" {
				continue
			}
			if w.containedIDs[id] {
				mark := w.push("contained")
				w.pushIndex(i)
				w.errAt("value", "has id %q, which another contained resource has too; contained ids must be unique", id)
				w.path = w.path[:mark]
			}
			w.containedIDs[id] = true
		}
	}
	w.resource(res, td)
	w.checkProfiles(typ, res, o.Profiles)
	if !w.full() {
		for _, r := range rules {
			for _, is := range r(typ, res) {
				if is.Severity == ww.SeverityError || is.Severity == ww.SeverityFatal {
					w.errors++
				}
				if !w.full() {
					w.issues = append(w.issues, classified{is, classRule})
				} else {
					w.truncated = true
				}
			}
		}
	}
	out := make([]ww.Issue, 0, len(w.issues)+1)
	kind := ww.Kind(0)
	for _, is := range w.issues {
		out = append(out, is.Issue)
		if is.Severity != ww.SeverityError && is.Severity != ww.SeverityFatal {
			continue
		}
		if is.class == classStructure {
			kind = ww.KindInvalid
		} else if kind == 0 {
			kind = ww.KindUnprocessable
		}
	}
	if w.truncated {
		out = append(out, ww.Issue{Severity: ww.SeverityInformation, Code: "too-costly",
			Diagnostics: "more issues were found; only the first " + itoa(MaxIssues) + " are reported", Expression: []string{typ}})
	}
	return out, kind
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}
