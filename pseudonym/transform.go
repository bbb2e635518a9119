package pseudonym

import (
	"strings"

	"github.com/wachtwijzer/wachtwijzer/fhirjson"
)

// Facts are what pseudonymisation needs of a Patient.
type Facts struct {
	BSN string // "" when the Patient has none
	PC4 string // the home address's 4-digit postcode, "" when unknown
}

// PatientRefs returns the ids of the Patients a response body refers to by
// literal reference ("Patient/x", or an absolute URL ending in Patient/x).
func PatientRefs(body []byte) []string {
	tree, err := fhirjson.Parse(body, fhirjson.Limits{})
	if err != nil {
		return nil
	}
	seen := map[string]bool{}
	var out []string
	walk(tree, func(ref *fhirjson.Value, id string) {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}, nil)
	return out
}

// patientID returns the id of a Patient reference string, "" for others.
func patientID(s string) string {
	i := strings.LastIndex(s, "Patient/")
	if i < 0 || i > 0 && s[i-1] != '/' {
		return ""
	}
	id, _, _ := strings.Cut(s[i+len("Patient/"):], "/")
	return id
}

// walk calls onRef for every Reference object pointing at a Patient and
// onResource for every resource object.
func walk(v *fhirjson.Value, onRef func(ref *fhirjson.Value, id string), onResource func(*fhirjson.Value)) {
	switch v.Kind {
	case fhirjson.Object:
		if onResource != nil && v.GetStr("resourceType") != "" {
			onResource(v)
		}
		if s := v.GetStr("reference"); s != "" {
			if id := patientID(s); id != "" {
				onRef(v, id)
				return
			}
		}
		for _, m := range v.Members {
			walk(m.Value, onRef, onResource)
		}
	case fhirjson.Array:
		for _, it := range v.Items {
			walk(it, onRef, onResource)
		}
	}
}

// Transform pseudonymises a response body for an insurer: every Patient
// reference becomes the member's pseudonym identifier (reference and display
// removed), every ServiceRequest whose subject was a Patient gets the member's
// PC4 extension, and Patient resources are dropped from Bundles. It returns
// the new body and the Patient ids it replaced (for the audit log).
func (k *Keys) Transform(uzovi string, body []byte, facts map[string]Facts) ([]byte, []string, error) {
	tree, err := fhirjson.Parse(body, fhirjson.Limits{})
	if err != nil {
		return body, nil, nil // not JSON: nothing to pseudonymise
	}
	var ids []string
	var ferr error
	pc4Of := map[*fhirjson.Value]string{}
	walk(tree, func(ref *fhirjson.Value, id string) {
		ids = append(ids, id)
		f := facts[id]
		var p string
		var err error
		if f.BSN != "" {
			p, err = k.Pseudonym(uzovi, f.BSN)
		} else {
			p, err = k.PatientPseudonym(uzovi, id)
		}
		if err != nil {
			ferr = err
			return
		}
		ident := fhirjson.NewObject()
		ident.Set("system", fhirjson.NewString(System(uzovi)))
		ident.Set("value", fhirjson.NewString(p))
		ref.Members = nil
		ref.Set("type", fhirjson.NewString("Patient"))
		ref.Set("identifier", ident)
	}, func(res *fhirjson.Value) {
		if res.GetStr("resourceType") != "ServiceRequest" {
			return
		}
		if s := res.Get("subject"); s != nil {
			if id := patientID(s.GetStr("reference")); id != "" {
				pc4Of[res] = facts[id].PC4
			}
		}
	})
	if ferr != nil {
		return nil, nil, ferr
	}
	for res, pc4 := range pc4Of {
		if pc4 == "" {
			continue
		}
		ext := fhirjson.NewObject()
		ext.Set("url", fhirjson.NewString(ExtPC4))
		ext.Set("valueString", fhirjson.NewString(pc4))
		if arr := res.Get("extension"); arr != nil && arr.Kind == fhirjson.Array {
			arr.Items = append(arr.Items, ext)
		} else {
			res.Set("extension", fhirjson.NewArray(ext))
		}
	}
	dropPatients(tree)
	return tree.Bytes(), ids, nil
}

// dropPatients removes Patient entries from a Bundle (and from Bundles in
// its entries, as in a batch response).
func dropPatients(v *fhirjson.Value) {
	if v.Kind != fhirjson.Object || v.GetStr("resourceType") != "Bundle" {
		return
	}
	entries := v.Get("entry")
	if entries == nil || entries.Kind != fhirjson.Array {
		return
	}
	out := entries.Items[:0]
	for _, e := range entries.Items {
		r := e.Get("resource")
		if r != nil && r.GetStr("resourceType") == "Patient" {
			continue
		}
		if r != nil {
			dropPatients(r)
		}
		out = append(out, e)
	}
	entries.Items = out
}
