package gen

import (
	"strconv"
)

// Minified FHIR JSON is written by appending to a byte slice: no
// reflection, no maps, fields in a fixed order. Values are never empty
// (callers leave out absent elements), which keeps the output valid FHIR.

const hexDigits = "0123456789abcdef"

// str appends s as a JSON string.
func str(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"':
			b = append(b, '\\', '"')
		case '\\':
			b = append(b, '\\', '\\')
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&15])
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// kv appends ,"key":"value" (or without the comma when first).
func kv(b []byte, key, val string) []byte {
	b = key1(b, key)
	return str(b, val)
}

// key1 appends ,"key": — the comma is left out right after { or [.
func key1(b []byte, key string) []byte {
	if n := len(b); n > 0 && b[n-1] != '{' && b[n-1] != '[' {
		b = append(b, ',')
	}
	b = append(b, '"')
	b = append(b, key...)
	return append(b, '"', ':')
}

func kint(b []byte, key string, v int) []byte {
	b = key1(b, key)
	return strconv.AppendInt(b, int64(v), 10)
}

func kbool(b []byte, key string, v bool) []byte {
	b = key1(b, key)
	return strconv.AppendBool(b, v)
}

// kdec appends a decimal rounded to 5 places.
func kdec(b []byte, key string, v float64) []byte {
	b = key1(b, key)
	return appendDec(b, v)
}

func appendDec(b []byte, v float64) []byte {
	return strconv.AppendFloat(b, float64(int64(v*1e5+sign(v)*0.5))/1e5, 'f', -1, 64)
}

func sign(v float64) float64 {
	if v < 0 {
		return -1
	}
	return 1
}

// head starts a resource: {"resourceType":typ,"id":id
func head(b []byte, typ, id string) []byte {
	b = append(b, `{"resourceType":"`...)
	b = append(b, typ...)
	b = append(b, `","id":"`...)
	b = append(b, id...)
	return append(b, '"')
}

// coding appends a Coding object.
func coding(b []byte, system, code, display string) []byte {
	b = append(b, '{')
	b = kv(b, "system", system)
	b = kv(b, "code", code)
	if display != "" {
		b = kv(b, "display", display)
	}
	return append(b, '}')
}

// concept appends a CodeableConcept with one coding.
func concept(b []byte, system, code, display string) []byte {
	b = append(b, `{"coding":[`...)
	b = coding(b, system, code, display)
	return append(b, ']', '}')
}

// kconcept appends "key":CodeableConcept.
func kconcept(b []byte, key, system, code, display string) []byte {
	b = key1(b, key)
	return concept(b, system, code, display)
}

// kconcepts appends "key":[CodeableConcept].
func kconcepts(b []byte, key, system, code, display string) []byte {
	b = key1(b, key)
	b = append(b, '[')
	b = concept(b, system, code, display)
	return append(b, ']')
}

// ref appends a Reference object.
func ref(b []byte, typ, id, display string) []byte {
	b = append(b, `{"reference":"`...)
	b = append(b, typ...)
	b = append(b, '/')
	b = append(b, id...)
	b = append(b, '"')
	if display != "" {
		b = kv(b, "display", display)
	}
	return append(b, '}')
}

func kref(b []byte, key, typ, id, display string) []byte {
	b = key1(b, key)
	return ref(b, typ, id, display)
}

func krefs(b []byte, key, typ, id, display string) []byte {
	b = key1(b, key)
	b = append(b, '[')
	b = ref(b, typ, id, display)
	return append(b, ']')
}

// ident appends an Identifier object (use may be empty).
func ident(b []byte, use, system, value string) []byte {
	b = append(b, '{')
	if use != "" {
		b = kv(b, "use", use)
	}
	b = kv(b, "system", system)
	b = kv(b, "value", value)
	return append(b, '}')
}
