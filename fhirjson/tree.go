package fhirjson

import (
	"encoding/json"
	"strconv"
	"unicode/utf8"
)

// Get returns the member named key of an object, or nil.
func (v *Value) Get(key string) *Value {
	if v == nil || v.Kind != Object {
		return nil
	}
	for i := range v.Members {
		if v.Members[i].Key == key {
			return v.Members[i].Value
		}
	}
	return nil
}

// Str returns the decoded value of a string, and false for other kinds.
func (v *Value) Str() (string, bool) {
	if v == nil || v.Kind != String {
		return "", false
	}
	s, err := decodeString(v.Raw)
	if err != nil {
		return "", false
	}
	return s, true
}

// GetStr returns the string member named key, or "".
func (v *Value) GetStr(key string) string {
	s, _ := v.Get(key).Str()
	return s
}

// Set replaces the member named key, or appends it when absent.
func (v *Value) Set(key string, nv *Value) {
	for i := range v.Members {
		if v.Members[i].Key == key {
			v.Members[i].Value = nv
			return
		}
	}
	v.Members = append(v.Members, Member{Key: key, Value: nv})
}

// SetFirst puts the member named key at position pos (moving it there when
// present), so that resourceType, id and meta lead a resource.
func (v *Value) SetFirst(pos int, key string, nv *Value) {
	for i := range v.Members {
		if v.Members[i].Key == key {
			copy(v.Members[i:], v.Members[i+1:])
			v.Members = v.Members[:len(v.Members)-1]
			break
		}
	}
	if pos > len(v.Members) {
		pos = len(v.Members)
	}
	v.Members = append(v.Members, Member{})
	copy(v.Members[pos+1:], v.Members[pos:])
	v.Members[pos] = Member{Key: key, Value: nv}
}

// Delete removes the member named key, if present.
func (v *Value) Delete(key string) {
	for i := range v.Members {
		if v.Members[i].Key == key {
			v.Members = append(v.Members[:i], v.Members[i+1:]...)
			return
		}
	}
}

// NewString builds a string value.
func NewString(s string) *Value {
	return &Value{Kind: String, Raw: AppendQuoted(nil, s), Off: -1}
}

// NewNumber builds a number value from an integer.
func NewNumber(n int64) *Value {
	return &Value{Kind: Number, Raw: strconv.AppendInt(nil, n, 10), Off: -1}
}

// NewBool builds a boolean value.
func NewBool(b bool) *Value {
	if b {
		return &Value{Kind: Bool, Raw: []byte("true"), Off: -1}
	}
	return &Value{Kind: Bool, Raw: []byte("false"), Off: -1}
}

// NewRaw wraps already serialised, valid JSON so it can be placed in a tree
// without decoding it.
func NewRaw(b []byte) *Value { return &Value{Kind: Raw, Raw: b, Off: -1} }

// NewObject builds an empty object.
func NewObject() *Value { return &Value{Kind: Object, Off: -1} }

// NewArray builds an array of the given items.
func NewArray(items ...*Value) *Value { return &Value{Kind: Array, Items: items, Off: -1} }

// AppendTo appends the minified JSON of v to dst.
func (v *Value) AppendTo(dst []byte) []byte {
	switch v.Kind {
	case Object:
		dst = append(dst, '{')
		for i, m := range v.Members {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = AppendQuoted(dst, m.Key)
			dst = append(dst, ':')
			dst = m.Value.AppendTo(dst)
		}
		return append(dst, '}')
	case Array:
		dst = append(dst, '[')
		for i, it := range v.Items {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = it.AppendTo(dst)
		}
		return append(dst, ']')
	default:
		return append(dst, v.Raw...)
	}
}

// Bytes returns the minified JSON of v.
func (v *Value) Bytes() []byte { return v.AppendTo(make([]byte, 0, 256)) }

const hexDigits = "0123456789abcdef"

// AppendMarshaled appends s as json.Marshal writes it, byte for byte (its
// escapes for <, > and &, U+2028/9, control characters and invalid UTF-8):
// for output that must match encoding/json's (the audit log's events, the
// search plans). Plain printable ASCII is copied; anything else goes
// through json.Marshal.
func AppendMarshaled(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s)
			return append(dst, q...)
		}
	}
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"')
}

// AppendQuoted appends s as a JSON string literal. Unlike encoding/json it
// leaves <, > and & alone, as FHIR clients expect.
func AppendQuoted(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		}
		i += n
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// Walk calls fn for v and every value below it, depth first, with the
// FHIRPath-like location of each ("Appointment.participant[0].actor").
// fn returns false to skip a value's children.
func Walk(v *Value, path string, fn func(path string, v *Value) bool) {
	if !fn(path, v) {
		return
	}
	switch v.Kind {
	case Object:
		for _, m := range v.Members {
			Walk(m.Value, path+"."+m.Key, fn)
		}
	case Array:
		for i, it := range v.Items {
			Walk(it, path+"["+strconv.Itoa(i)+"]", fn)
		}
	}
}
