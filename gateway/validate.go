package gateway

import (
	"net/http"
	"strings"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/conformance"
	"github.com/wachtwijzer/wachtwijzer/fhirjson"
)

func init() {
	conformance.RegisterOperation(conformance.Operation{
		Name:       "validate",
		Definition: "http://hl7.org/fhir/OperationDefinition/Resource-validate",
		Types:      conformance.TypeNames(),
	})
}

// validateOperation serves $validate (R4 Resource-validate) at type level
// (POST [type]/$validate with the resource, or a Parameters resource with
// resource, mode and profile) and instance level (GET [type]/[id]/$validate
// checks the stored version; POST checks the body against that instance).
// It runs the same conformance.Check every write passes and writes
// nothing: the answer is 200 with an OperationOutcome, holding an
// information issue when the resource is valid and the error and warning
// issues otherwise. Input the operation cannot process (no resource,
// unreadable JSON, an unknown mode) is a 400.
func (g *Gateway) validateOperation(r *request, typ, id string) *response {
	if err := checkType(typ); err != nil {
		return errResponse(err)
	}
	if id != "" && !ww.ValidID(id) {
		return errResponse(ww.Errorf(ww.KindNotFound, "not-found", "%q is not a valid resource id", id))
	}
	mode := r.query.Get("mode")
	profiles := append([]string(nil), r.query["profile"]...)
	var tree *fhirjson.Value
	if r.method == http.MethodPost && len(r.body) > 0 {
		body, err := parseJSON(r.body, g.o.Limits)
		if err != nil {
			return errResponse(err)
		}
		if body.GetStr("resourceType") == "Parameters" {
			if tree, mode, profiles, err = validateParameters(body, mode, profiles); err != nil {
				return errResponse(err)
			}
		} else {
			tree = body
		}
	}
	switch mode {
	case "", "create", "update", "delete", "profile":
	default:
		return errResponse(ww.Errorf(ww.KindInvalid, "value", "mode %q is not a $validate mode; use create, update, delete or profile", mode).At("mode"))
	}
	var found []ww.Issue
	if mode == "delete" {
		if id == "" {
			return errResponse(ww.Errorf(ww.KindInvalid, "required", "mode=delete needs an instance: POST %s/[id]/$validate?mode=delete", typ))
		}
		if _, err := g.store.Read(r.ctx, typ, id); err != nil {
			return errResponse(err)
		}
		return &response{status: http.StatusOK, body: info(typ + "/" + id + " exists and can be deleted; nothing was deleted")}
	}
	if tree == nil {
		if id == "" {
			return errResponse(ww.Errorf(ww.KindInvalid, "required", "$validate needs a resource: POST it to %s/$validate, as it is or as parameter \"resource\" of a Parameters resource", typ))
		}
		stored, err := g.store.Read(r.ctx, typ, id)
		if err != nil {
			return errResponse(err)
		}
		if tree, err = fhirjson.Parse(stored.JSON, fhirjson.Limits{}); err != nil {
			return errResponse(&ww.Error{Op: "gateway.validate", Kind: ww.KindInternal, Err: err})
		}
	}
	if mode == "update" || (id != "" && r.method == http.MethodPost) {
		bodyID := tree.GetStr("id")
		switch {
		case bodyID == "" && mode == "update":
			found = append(found, ww.Issue{Severity: ww.SeverityError, Code: "required", Expression: []string{typ + ".id"},
				Diagnostics: "an update needs the resource id in the body"})
		case id != "" && bodyID != "" && bodyID != id:
			found = append(found, ww.Issue{Severity: ww.SeverityError, Code: "invalid", Expression: []string{typ + ".id"},
				Diagnostics: "the resource id \"" + bodyID + "\" does not match the id \"" + id + "\" in the URL"})
		}
	}
	issues, kind := conformance.Check(r.ctx, typ, tree, conformance.Options{Profiles: profiles})
	if kind == ww.KindNotFound || kind == ww.KindNotAllowed {
		return errResponse(&ww.Error{Op: "gateway.validate", Kind: kind, Issues: issues})
	}
	issues = append(found, issues...)
	errors := 0
	for _, is := range issues {
		if is.Severity == ww.SeverityError || is.Severity == ww.SeverityFatal {
			errors++
		}
	}
	if errors == 0 {
		what := "the " + typ
		if id != "" {
			what = typ + "/" + id
		}
		msg := what + " is valid: it conforms to FHIR R4, the Dutch identifier rules and the profiles it claims"
		if len(issues) > 0 {
			msg += " (see the warnings)"
		}
		issues = append([]ww.Issue{{Severity: ww.SeverityInformation, Code: "informational", Diagnostics: msg}}, issues...)
	}
	return &response{status: http.StatusOK, body: operationOutcome(issues)}
}

// validateParameters reads $validate's Parameters: resource, mode,
// profile.
func validateParameters(p *fhirjson.Value, mode string, profiles []string) (*fhirjson.Value, string, []string, error) {
	var res *fhirjson.Value
	params := p.Get("parameter")
	if params != nil && params.Kind != fhirjson.Array {
		return nil, "", nil, ww.Errorf(ww.KindInvalid, "structure", "Parameters.parameter must be an array").At("Parameters.parameter")
	}
	if params != nil {
		for _, it := range params.Items {
			switch name := it.GetStr("name"); name {
			case "resource":
				res = it.Get("resource")
				if res == nil || res.Kind != fhirjson.Object {
					return nil, "", nil, ww.Errorf(ww.KindInvalid, "required", "parameter \"resource\" needs the resource in parameter.resource").At("Parameters.parameter.resource")
				}
			case "mode":
				m := it.GetStr("valueCode")
				if m == "" {
					m = it.GetStr("valueString")
				}
				mode = m
			case "profile":
				for _, k := range []string{"valueUri", "valueCanonical", "valueString"} {
					if u := it.GetStr(k); u != "" {
						profiles = append(profiles, u)
					}
				}
			default:
				return nil, "", nil, ww.Errorf(ww.KindInvalid, "not-supported", "$validate has no parameter %q; it takes resource, mode and profile", strings.TrimSpace(name)).At("Parameters.parameter")
			}
		}
	}
	return res, mode, profiles, nil
}
