package hl7v2

import (
	"strconv"

	"github.com/wachtwijzer/wachtwijzer/fhirjson"
)

// kv is one member of a JSON object.
type kv struct {
	k string
	v any
}

// obj is a JSON object that keeps its members in order and leaves out
// empty values (nil, "", empty objects and arrays), because FHIR forbids
// them. Values: string, int, bool, obj, []obj, []string.
type obj []kv

func (o obj) bytes() []byte { return appendJSON(make([]byte, 0, 512), o) }

func appendJSON(dst []byte, v any) []byte {
	switch x := v.(type) {
	case string:
		return fhirjson.AppendQuoted(dst, x)
	case int:
		return strconv.AppendInt(dst, int64(x), 10)
	case bool:
		return strconv.AppendBool(dst, x)
	case obj:
		dst = append(dst, '{')
		n := 0
		for _, m := range x {
			if isEmpty(m.v) {
				continue
			}
			if n > 0 {
				dst = append(dst, ',')
			}
			dst = fhirjson.AppendQuoted(dst, m.k)
			dst = append(dst, ':')
			dst = appendJSON(dst, m.v)
			n++
		}
		return append(dst, '}')
	case []obj:
		dst = append(dst, '[')
		n := 0
		for _, it := range x {
			if isEmpty(it) {
				continue
			}
			if n > 0 {
				dst = append(dst, ',')
			}
			dst = appendJSON(dst, it)
			n++
		}
		return append(dst, ']')
	case []string:
		dst = append(dst, '[')
		n := 0
		for _, it := range x {
			if it == "" {
				continue
			}
			if n > 0 {
				dst = append(dst, ',')
			}
			dst = fhirjson.AppendQuoted(dst, it)
			n++
		}
		return append(dst, ']')
	}
	return append(dst, "null"...) // not reached: only the types above are built
}

func isEmpty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	case obj:
		for _, m := range x {
			if !isEmpty(m.v) {
				return false
			}
		}
		return true
	case []obj:
		for _, it := range x {
			if !isEmpty(it) {
				return false
			}
		}
		return true
	case []string:
		for _, it := range x {
			if it != "" {
				return false
			}
		}
		return true
	}
	return false
}
