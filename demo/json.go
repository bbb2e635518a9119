package demo

import (
	"bytes"
	"encoding/json"
)

// field is one member of a JSON object.
type field struct {
	key string
	val any
}

// obj is a JSON object that keeps its members in order and leaves out empty
// ones (nil, "", empty arrays and empty objects), because FHIR forbids
// empty values.
type obj []field

// MarshalJSON writes o with its members in order, skipping empty values.
func (o obj) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	n := 0
	for _, f := range o {
		if isEmpty(f.val) {
			continue
		}
		v, err := json.Marshal(f.val)
		if err != nil {
			return nil, err
		}
		if n > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(f.key)
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
		n++
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// isEmpty reports whether v would be an empty FHIR value.
func isEmpty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	case obj:
		for _, f := range x {
			if !isEmpty(f.val) {
				return false
			}
		}
		return true
	case []obj:
		return len(x) == 0
	case []string:
		return len(x) == 0
	case []any:
		return len(x) == 0
	}
	return false
}

// ref is a FHIR Reference to typ/id.
func ref(typ, id string) obj {
	return obj{{"reference", typ + "/" + id}}
}

// refDisplay is a FHIR Reference to typ/id with a display text.
func refDisplay(typ, id, display string) obj {
	return obj{{"reference", typ + "/" + id}, {"display", display}}
}

// coding is a FHIR Coding.
func coding(system, code, display string) obj {
	return obj{{"system", system}, {"code", code}, {"display", display}}
}

// concept is a FHIR CodeableConcept holding one coding.
func concept(system, code, display string) obj {
	return obj{{"coding", []obj{coding(system, code, display)}}}
}

// identifier is a FHIR Identifier.
func identifier(system, value string) obj {
	return obj{{"system", system}, {"value", value}}
}
