package conformance

// The write-path validation as it was before the table-driven walker
// (typed-model decode with encoding/json, plus the JSON-rule walk), kept
// only as the baseline of BenchmarkValidate*: the before and after figures
// come from the same run on the same machine.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/fhirjson"
)

// Validate is the hook every write passes (REST, transactions, HL7 mapping
// output, pull, import). It checks that res is a resource of type typ,
// follows the FHIR JSON rules, fits the R4 structure of the typed model
// (contained resources included) and passes the registered rules. It
// reports every issue it finds at once: structural problems as KindInvalid
// (400), rule violations as KindUnprocessable (422).
func legacyValidate(ctx context.Context, typ string, res *fhirjson.Value) error {
	ti, ok := types[typ]
	if !ok {
		return ww.Errorf(ww.KindNotFound, "not-supported", "resource type %q is not supported by this server", typ)
	}
	if res == nil || res.Kind != fhirjson.Object {
		return ww.Errorf(ww.KindInvalid, "structure", "a %s resource must be a JSON object", typ)
	}
	var issues []ww.Issue
	rt, isStr := res.Get("resourceType").Str()
	switch {
	case res.Get("resourceType") == nil:
		issues = append(issues, legacyErrIssue("required", "resourceType", "the resource has no resourceType; expected %q", typ))
	case !isStr:
		issues = append(issues, legacyErrIssue("structure", "resourceType", "resourceType must be a string"))
	case rt != typ:
		issues = append(issues, legacyErrIssue("invalid", "resourceType", "resourceType %q does not match the type %q of the request", rt, typ))
	}
	if idv := res.Get("id"); idv != nil {
		if id, ok := idv.Str(); !ok || !ww.ValidID(id) {
			issues = append(issues, legacyErrIssue("value", typ+".id", "id must be 1-64 characters of A-Z, a-z, 0-9, '-' and '.'"))
		}
	}
	issues = append(issues, legacyJSONRules(typ, res)...)
	if len(issues) == 0 {
		raw := res.Bytes()
		if err := ti.check(raw); err != nil {
			issues = append(issues, legacyModelIssue(typ, res, err))
		}
		issues = append(issues, legacyCheckContained(typ, res)...)
	}
	if len(issues) > 0 {
		return &ww.Error{Op: "conformance.Validate", Kind: ww.KindInvalid, Issues: issues}
	}
	if legacyHasError(issues) {
		return &ww.Error{Op: "conformance.Validate", Kind: ww.KindUnprocessable, Issues: issues}
	}
	return nil
}

func legacyHasError(issues []ww.Issue) bool {
	for _, is := range issues {
		if is.Severity == ww.SeverityError || is.Severity == ww.SeverityFatal {
			return true
		}
	}
	return false
}

func legacyErrIssue(code, expr, format string, args ...any) ww.Issue {
	return ww.Issue{Severity: ww.SeverityError, Code: code, Diagnostics: fmt.Sprintf(format, args...), Expression: []string{expr}}
}

// jsonRules checks the FHIR JSON representation rules the models do not:
// no empty strings, objects or arrays, and null only inside arrays (where it
// aligns primitive extensions with their values).
func legacyJSONRules(typ string, res *fhirjson.Value) []ww.Issue {
	var issues []ww.Issue
	var walk func(path string, v *fhirjson.Value, inArray bool)
	walk = func(path string, v *fhirjson.Value, inArray bool) {
		if len(issues) >= 20 {
			return
		}
		switch v.Kind {
		case fhirjson.Null:
			if !inArray {
				issues = append(issues, legacyErrIssue("structure", path, "null is not allowed here; leave the element out instead"))
			}
		case fhirjson.String:
			if len(v.Raw) == 2 {
				issues = append(issues, legacyErrIssue("structure", path, "empty strings are not allowed; leave the element out instead"))
			}
		case fhirjson.Object:
			if len(v.Members) == 0 {
				issues = append(issues, legacyErrIssue("structure", path, "empty objects are not allowed; leave the element out instead"))
			}
			for _, m := range v.Members {
				walk(path+"."+m.Key, m.Value, false)
			}
		case fhirjson.Array:
			if len(v.Items) == 0 {
				issues = append(issues, legacyErrIssue("structure", path, "empty arrays are not allowed; leave the element out instead"))
			}
			allNull := len(v.Items) > 0
			for i, it := range v.Items {
				walk(path+"["+strconv.Itoa(i)+"]", it, true)
				allNull = allNull && it.Kind == fhirjson.Null
			}
			if allNull {
				issues = append(issues, legacyErrIssue("structure", path, "an array of only nulls is not allowed"))
			}
		}
	}
	for _, m := range res.Members {
		walk(typ+"."+m.Key, m.Value, false)
	}
	return issues
}

var legacyCodeErr = regexp.MustCompile("unknown ([A-Za-z]+) code `(.*)`")

// modelIssue turns a decode error of the typed model into an issue naming
// the element.
func legacyModelIssue(typ string, res *fhirjson.Value, err error) ww.Issue {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		expr := typ
		if te.Field != "" {
			expr = typ + "." + te.Field
		}
		return legacyErrIssue("structure", expr, "%s: expected %s, got a JSON %s", expr, legacyGoTypeName(te.Type.String()), te.Value)
	}
	if m := legacyCodeErr.FindStringSubmatch(err.Error()); m != nil {
		code := m[2]
		path := legacyFindString(res, typ, code)
		if path == "" {
			path = typ
		}
		return legacyErrIssue("code-invalid", path, "%q is not a valid %s code", strings.Trim(code, `"`), m[1])
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return legacyErrIssue("structure", typ, "the resource could not be read as %s: %v", typ, err)
	}
	return legacyErrIssue("structure", typ, "the resource does not fit the R4 %s structure: %v", typ, err)
}

func legacyGoTypeName(t string) string {
	t = strings.TrimPrefix(t, "fhir.")
	switch {
	case strings.HasPrefix(t, "[]"):
		return "an array"
	case t == "string" || strings.HasPrefix(t, "*string"):
		return "a string"
	case strings.Contains(t, "int"):
		return "an integer"
	case strings.Contains(t, "bool"):
		return "a boolean"
	case strings.Contains(t, "Number"):
		return "a number"
	}
	return "an object"
}

// findString returns the path of the first string value equal to s.
func legacyFindString(root *fhirjson.Value, typ, s string) string {
	found := ""
	fhirjson.Walk(root, typ, func(path string, v *fhirjson.Value) bool {
		if found != "" {
			return false
		}
		if str, ok := v.Str(); ok && str == s {
			found = path
			return false
		}
		return true
	})
	return found
}

// checkContained checks each contained resource with the model of its
// type.
func legacyCheckContained(typ string, res *fhirjson.Value) []ww.Issue {
	c := res.Get("contained")
	if c == nil {
		return nil
	}
	if c.Kind != fhirjson.Array {
		return []ww.Issue{legacyErrIssue("structure", typ+".contained", "contained must be an array of resources")}
	}
	var issues []ww.Issue
	ids := map[string]bool{}
	for i, it := range c.Items {
		path := fmt.Sprintf("%s.contained[%d]", typ, i)
		if it.Kind != fhirjson.Object {
			issues = append(issues, legacyErrIssue("structure", path, "a contained resource must be an object"))
			continue
		}
		rt, _ := it.Get("resourceType").Str()
		id, _ := it.Get("id").Str()
		if rt == "" {
			issues = append(issues, legacyErrIssue("required", path+".resourceType", "a contained resource needs a resourceType"))
			continue
		}
		if id == "" {
			issues = append(issues, legacyErrIssue("required", path+".id", "a contained resource needs an id, referenced as #id"))
		} else if ids[id] {
			issues = append(issues, legacyErrIssue("value", path+".id", "contained id %q is used twice", id))
		}
		ids[id] = true
		if it.Get("contained") != nil {
			issues = append(issues, legacyErrIssue("structure", path+".contained", "contained resources must not contain resources (dom-2)"))
		}
		if chk, ok := containedCheckers[rt]; ok {
			if err := chk(it.Bytes()); err != nil {
				is := legacyModelIssue(rt, it, err)
				for j := range is.Expression {
					is.Expression[j] = path + strings.TrimPrefix(is.Expression[j], rt)
				}
				issues = append(issues, is)
			}
		}
	}
	return issues
}

func benchLegacy(b *testing.B, typ, file string) {
	tree := benchTree(b, file)
	if err := legacyValidate(context.Background(), typ, tree); err != nil {
		b.Fatalf("the benchmark resource must be valid: %v", err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := legacyValidate(context.Background(), typ, tree); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkValidateModelDecodeAppointment(b *testing.B) {
	benchLegacy(b, "Appointment", "testdata/appointment.json")
}
func BenchmarkValidateModelDecodePatient(b *testing.B) {
	benchLegacy(b, "Patient", "testdata/patient.json")
}
