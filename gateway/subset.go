package gateway

import (
	"strings"

	"github.com/wachtwijzer/wachtwijzer/conformance"
	"github.com/wachtwijzer/wachtwijzer/fhirjson"
)

// subsetter returns a transform for _elements (and _summary=true/data/text)
// on a stored resource, or nil when the full resource is asked for. Subsetted
// resources carry the SUBSETTED tag.
func subsetter(q map[string][]string) func([]byte) []byte {
	var keep map[string]bool
	if els := q["_elements"]; len(els) > 0 {
		keep = map[string]bool{}
		for _, e := range els {
			for _, f := range strings.Split(e, ",") {
				if f = strings.TrimSpace(f); f != "" {
					if i := strings.IndexByte(f, '.'); i >= 0 {
						f = f[i+1:] // "Patient.name" → "name"
					}
					keep[f] = true
				}
			}
		}
	}
	drop := map[string]bool{}
	summary := false
	if s := q["_summary"]; len(s) > 0 {
		switch s[0] {
		case "data":
			drop["text"] = true
		case "text":
			keep = map[string]bool{"text": true, "id": true, "meta": true}
		case "true":
			summary = true
		}
	}
	if keep == nil && len(drop) == 0 && !summary {
		return nil
	}
	return func(b []byte) []byte {
		v, err := fhirjson.Parse(b, fhirjson.Limits{MaxDepth: 200})
		if err != nil {
			return b
		}
		if summary {
			summarise(v.GetStr("resourceType"), "", v)
			tagSubsetted(v)
			return v.Bytes()
		}
		out := v.Members[:0:0]
		for _, m := range v.Members {
			switch {
			case m.Key == "resourceType" || m.Key == "id" || m.Key == "meta":
			case keep != nil && !keep[m.Key] && !keep[strings.TrimPrefix(m.Key, "_")]:
				continue
			case drop[m.Key]:
				continue
			}
			out = append(out, m)
		}
		v.Members = out
		tagSubsetted(v)
		return v.Bytes()
	}
}

// summarise keeps the elements of an object that the R4 definitions mark as
// summary (resourceType, id and meta always); a kept backbone element whose
// children are listed is filtered the same way, other kept elements whole.
func summarise(typ, prefix string, v *fhirjson.Value) {
	out := v.Members[:0:0]
	for _, m := range v.Members {
		if prefix == "" && (m.Key == "resourceType" || m.Key == "id" || m.Key == "meta") {
			out = append(out, m)
			continue
		}
		path := prefix + strings.TrimPrefix(m.Key, "_")
		keep, byChild := conformance.SummaryElement(typ, path)
		if !keep {
			continue
		}
		if byChild {
			switch m.Value.Kind {
			case fhirjson.Object:
				summarise(typ, path+".", m.Value)
			case fhirjson.Array:
				for _, it := range m.Value.Items {
					if it.Kind == fhirjson.Object {
						summarise(typ, path+".", it)
					}
				}
			}
		}
		out = append(out, m)
	}
	v.Members = out
}

func tagSubsetted(v *fhirjson.Value) {
	meta := v.Get("meta")
	if meta == nil {
		meta = fhirjson.NewObject()
		v.SetFirst(2, "meta", meta)
	}
	tags := meta.Get("tag")
	if tags == nil || tags.Kind != fhirjson.Array {
		tags = fhirjson.NewArray()
		meta.Set("tag", tags)
	}
	t := fhirjson.NewObject()
	t.Set("system", fhirjson.NewString("http://terminology.hl7.org/CodeSystem/v3-ObservationValue"))
	t.Set("code", fhirjson.NewString("SUBSETTED"))
	tags.Items = append(tags.Items, t)
}
