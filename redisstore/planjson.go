package redisstore

import (
	"encoding/json"
	"slices"
	"strconv"

	"github.com/wachtwijzer/wachtwijzer/fhirjson"
)

// jobj is a JSON object of a search plan: its members in the order they
// were set, written with the keys sorted, as encoding/json writes a map. A
// plan over 16 shards has a hundred small objects; a slice costs far less
// to build than a map.
type jobj []jkv

type jkv struct {
	k string
	v any
}

// set sets member k to v.
func (o *jobj) set(k string, v any) {
	for i := range *o {
		if (*o)[i].k == k {
			(*o)[i].v = v
			return
		}
	}
	*o = append(*o, jkv{k, v})
}

// get returns member k.
func (o jobj) get(k string) (any, bool) {
	for _, kv := range o {
		if kv.k == k {
			return kv.v, true
		}
	}
	return nil, false
}

// MarshalJSON writes o as encoding/json writes the map of its members (the
// reference appendPlan is checked against).
func (o jobj) MarshalJSON() ([]byte, error) {
	if o == nil {
		return []byte("null"), nil
	}
	m := make(map[string]any, len(o))
	for _, kv := range o {
		m[kv.k] = kv.v
	}
	return json.Marshal(m)
}

// verifyScriptJSON makes every search compare appendPlan's bytes with
// encoding/json's, and decodeSearchReply's reading of the reply with
// json.Unmarshal's (set by this package's tests).
var verifyScriptJSON bool

// appendPlan appends the JSON of a search plan (the tree shardJSON,
// filterJSON and callPlan build: objects, slices, strings, integers,
// booleans) to dst, byte for byte what encoding/json writes for it (jobj as
// the map of its members): keys sorted, strings escaped as json.Marshal
// escapes them. It writes the common shapes itself (reflection cost the
// gateway more per 16-shard search than building the plan did) and hands
// anything else to json.Marshal.
func appendPlan(dst []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(dst, "null"...), nil
	case string:
		return fhirjson.AppendMarshaled(dst, x), nil
	case bool:
		return strconv.AppendBool(dst, x), nil
	case int:
		return strconv.AppendInt(dst, int64(x), 10), nil
	case int64:
		return strconv.AppendInt(dst, x, 10), nil
	case [2]string:
		return append(fhirjson.AppendMarshaled(append(fhirjson.AppendMarshaled(append(dst, '['), x[0]), ','), x[1]), ']'), nil
	case [2]int:
		return append(strconv.AppendInt(append(strconv.AppendInt(append(dst, '['), int64(x[0]), 10), ','), int64(x[1]), 10), ']'), nil
	case jobj:
		if x == nil {
			return append(dst, "null"...), nil
		}
		var buf [16]string
		keys := buf[:0]
		for _, kv := range x {
			keys = append(keys, kv.k)
		}
		return appendObject(dst, keys, func(k string) any { v, _ := x.get(k); return v })
	case map[string][2]string:
		if x == nil {
			return append(dst, "null"...), nil
		}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		return appendObject(dst, keys, func(k string) any { return x[k] })
	case []any:
		return appendArray(dst, x, appendPlan)
	case []jobj:
		return appendArray(dst, x, func(d []byte, e jobj) ([]byte, error) { return appendPlan(d, e) })
	case [][][]any:
		return appendArray(dst, x, func(d []byte, e [][]any) ([]byte, error) {
			return appendArray(d, e, func(d []byte, e []any) ([]byte, error) { return appendPlan(d, e) })
		})
	case []int:
		return appendArray(dst, x, func(d []byte, e int) ([]byte, error) { return strconv.AppendInt(d, int64(e), 10), nil })
	case []string:
		return appendArray(dst, x, func(d []byte, e string) ([]byte, error) { return fhirjson.AppendMarshaled(d, e), nil })
	case [][2]int:
		return appendArray(dst, x, func(d []byte, e [2]int) ([]byte, error) { return appendPlan(d, e) })
	}
	b, err := json.Marshal(v)
	return append(dst, b...), err
}

// appendArray writes xs as a JSON array (null when nil), each element with
// elem.
func appendArray[T any](dst []byte, xs []T, elem func([]byte, T) ([]byte, error)) ([]byte, error) {
	if xs == nil {
		return append(dst, "null"...), nil
	}
	dst = append(dst, '[')
	var err error
	for i, e := range xs {
		if i > 0 {
			dst = append(dst, ',')
		}
		if dst, err = elem(dst, e); err != nil {
			return dst, err
		}
	}
	return append(dst, ']'), nil
}

// appendObject writes a JSON object of the members keys names (sorted
// here, as encoding/json sorts a map's keys), each valued by value.
func appendObject(dst []byte, keys []string, value func(string) any) ([]byte, error) {
	slices.Sort(keys)
	dst = append(dst, '{')
	var err error
	for i, k := range keys {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(fhirjson.AppendMarshaled(dst, k), ':')
		if dst, err = appendPlan(dst, value(k)); err != nil {
			return dst, err
		}
	}
	return append(dst, '}'), nil
}
