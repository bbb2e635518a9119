package redisstore

import "github.com/wachtwijzer/wachtwijzer/fhirjson"

// lastSourceSync is the meta extension pull stamps on every resource it
// writes: when it last saw the resource, not what the resource says.
const lastSourceSync = "http://hl7.org/fhir/StructureDefinition/lastSourceSync"

// content is a resource's JSON without what only says when and from where
// it was written: meta.versionId, meta.lastUpdated, meta.source and the
// lastSourceSync extension. Two versions with the same content say the same
// thing, so an update that would not change it is not written (a feed that
// resends the same Organization with every message, a pull that sees an
// unchanged resource again).
func content(v *fhirjson.Value) []byte {
	if v.Kind != fhirjson.Object {
		return v.Bytes()
	}
	dst := make([]byte, 0, 512)
	dst = append(dst, '{')
	n := 0
	for _, m := range v.Members {
		val := m.Value
		if m.Key == "meta" && val.Kind == fhirjson.Object {
			if val = metaContent(val); val == nil {
				continue
			}
		}
		if n > 0 {
			dst = append(dst, ',')
		}
		n++
		dst = fhirjson.AppendQuoted(dst, m.Key)
		dst = append(dst, ':')
		dst = val.AppendTo(dst)
	}
	return append(dst, '}')
}

// metaContent is meta without the stamps content leaves out (nil when
// nothing else is in it).
func metaContent(meta *fhirjson.Value) *fhirjson.Value {
	out := fhirjson.NewObject()
	for _, m := range meta.Members {
		switch m.Key {
		case "versionId", "lastUpdated", "source":
			continue
		case "extension":
			if ext := withoutExtension(m.Value, lastSourceSync); ext != nil {
				out.Members = append(out.Members, fhirjson.Member{Key: m.Key, Value: ext})
			}
			continue
		}
		out.Members = append(out.Members, m)
	}
	if len(out.Members) == 0 {
		return nil
	}
	return out
}

// withoutExtension drops the extensions with url from an extension array
// (nil when none is left).
func withoutExtension(arr *fhirjson.Value, url string) *fhirjson.Value {
	if arr.Kind != fhirjson.Array {
		return arr
	}
	out := fhirjson.NewArray()
	for _, it := range arr.Items {
		if it.Kind == fhirjson.Object && it.GetStr("url") == url {
			continue
		}
		out.Items = append(out.Items, it)
	}
	if len(out.Items) == 0 {
		return nil
	}
	return out
}
