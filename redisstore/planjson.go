package redisstore

import (
	"encoding/json"
	"reflect"
	"slices"
	"strconv"
	"strings"
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

// del removes member k.
func (o *jobj) del(k string) {
	for i, kv := range *o {
		if kv.k == k {
			*o = append((*o)[:i], (*o)[i+1:]...)
			return
		}
	}
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
// filterJSON and callPlan build: maps, slices, strings, integers, booleans)
// to dst, byte for byte what encoding/json writes: map keys sorted, strings
// escaped as json.Marshal escapes them. It writes the common shapes itself
// (json.Marshal's reflection and key sorting per map cost more than the
// search script's own work on a 16-shard plan) and hands anything else to
// json.Marshal.
func appendPlan(dst []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(dst, "null"...), nil
	case string:
		return appendPlanString(dst, x), nil
	case bool:
		return strconv.AppendBool(dst, x), nil
	case int:
		return strconv.AppendInt(dst, int64(x), 10), nil
	case int64:
		return strconv.AppendInt(dst, x, 10), nil
	case jobj:
		if x == nil {
			return append(dst, "null"...), nil
		}
		var buf [16]int
		order := buf[:0]
		for i := range x {
			order = append(order, i)
		}
		slices.SortFunc(order, func(a, b int) int { return strings.Compare(x[a].k, x[b].k) })
		dst = append(dst, '{')
		var err error
		for i, j := range order {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(appendPlanString(dst, x[j].k), ':')
			if dst, err = appendPlan(dst, x[j].v); err != nil {
				return dst, err
			}
		}
		return append(dst, '}'), nil
	case []jobj:
		if x == nil {
			return append(dst, "null"...), nil
		}
		dst = append(dst, '[')
		var err error
		for i, e := range x {
			if i > 0 {
				dst = append(dst, ',')
			}
			if dst, err = appendPlan(dst, e); err != nil {
				return dst, err
			}
		}
		return append(dst, ']'), nil
	case map[string]any:
		if x == nil {
			return append(dst, "null"...), nil
		}
		var buf [16]string
		keys := buf[:0]
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		dst = append(dst, '{')
		var err error
		for i, k := range keys {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(appendPlanString(dst, k), ':')
			if dst, err = appendPlan(dst, x[k]); err != nil {
				return dst, err
			}
		}
		return append(dst, '}'), nil
	case []any:
		if x == nil {
			return append(dst, "null"...), nil
		}
		dst = append(dst, '[')
		var err error
		for i, e := range x {
			if i > 0 {
				dst = append(dst, ',')
			}
			if dst, err = appendPlan(dst, e); err != nil {
				return dst, err
			}
		}
		return append(dst, ']'), nil
	case []int:
		if x == nil {
			return append(dst, "null"...), nil
		}
		dst = append(dst, '[')
		for i, e := range x {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = strconv.AppendInt(dst, int64(e), 10)
		}
		return append(dst, ']'), nil
	case []string:
		if x == nil {
			return append(dst, "null"...), nil
		}
		dst = append(dst, '[')
		for i, e := range x {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendPlanString(dst, e)
		}
		return append(dst, ']'), nil
	case [][2]int:
		if x == nil {
			return append(dst, "null"...), nil
		}
		dst = append(dst, '[')
		for i, e := range x {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(strconv.AppendInt(append(strconv.AppendInt(append(dst, '['), int64(e[0]), 10), ','), int64(e[1]), 10), ']')
		}
		return append(dst, ']'), nil
	case [][][]any:
		if x == nil {
			return append(dst, "null"...), nil
		}
		dst = append(dst, '[')
		var err error
		for i, e := range x {
			if i > 0 {
				dst = append(dst, ',')
			}
			if e == nil {
				dst = append(dst, "null"...)
				continue
			}
			dst = append(dst, '[')
			for j, c := range e {
				if j > 0 {
					dst = append(dst, ',')
				}
				if dst, err = appendPlan(dst, c); err != nil {
					return dst, err
				}
			}
			dst = append(dst, ']')
		}
		return append(dst, ']'), nil
	case map[string][2]string:
		if x == nil {
			return append(dst, "null"...), nil
		}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		dst = append(dst, '{')
		for i, k := range keys {
			if i > 0 {
				dst = append(dst, ',')
			}
			w := x[k]
			dst = append(appendPlanString(dst, k), ':', '[')
			dst = append(appendPlanString(append(appendPlanString(dst, w[0]), ','), w[1]), ']')
		}
		return append(dst, '}'), nil
	case []map[string]any:
		if x == nil {
			return append(dst, "null"...), nil
		}
		dst = append(dst, '[')
		var err error
		for i, e := range x {
			if i > 0 {
				dst = append(dst, ',')
			}
			if e == nil {
				dst = append(dst, "null"...)
				continue
			}
			if dst, err = appendPlan(dst, e); err != nil {
				return dst, err
			}
		}
		return append(dst, ']'), nil
	}
	b, err := json.Marshal(v)
	return append(dst, b...), err
}

// appendPlanString appends s as a JSON string: printable ASCII that
// encoding/json leaves alone is copied, anything else goes through
// json.Marshal (its escapes for control characters, <, >, &, U+2028/9 and
// invalid UTF-8).
func appendPlanString(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			b, _ := json.Marshal(s)
			return append(dst, b...)
		}
	}
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"')
}

// samePlanValue reports whether two plan values are equal, as
// reflect.DeepEqual would, without reflection for the common shapes.
func samePlanValue(a, b any) bool {
	switch x := a.(type) {
	case string:
		y, ok := b.(string)
		return ok && x == y
	case int:
		y, ok := b.(int)
		return ok && x == y
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case []int:
		y, ok := b.([]int)
		return ok && (x == nil) == (y == nil) && slices.Equal(x, y)
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || (x == nil) != (y == nil) || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			w, ok := y[k]
			if !ok || !samePlanValue(v, w) {
				return false
			}
		}
		return true
	case jobj:
		y, ok := b.(jobj)
		if !ok || (x == nil) != (y == nil) || len(x) != len(y) {
			return false
		}
		for i := range x {
			if x[i].k != y[i].k || !samePlanValue(x[i].v, y[i].v) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || (x == nil) != (y == nil) || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !samePlanValue(x[i], y[i]) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(a, b)
}
