// Package jsonpath walks JSON decoded into any (maps, slices, strings) by a
// path of object keys and array indexes: Get(r, "participant", 0, "actor",
// "reference"). The tests use it to read resources without a struct per type.
package jsonpath

// Get walks v along path (string keys and int indexes); nil when a step is
// absent.
func Get(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			a, ok := v.([]any)
			if !ok || k < 0 || k >= len(a) {
				return nil
			}
			v = a[k]
		default:
			return nil
		}
	}
	return v
}

// Str is Get as a string ("" when absent or not a string).
func Str(v any, path ...any) string {
	s, _ := Get(v, path...).(string)
	return s
}

// List is Get as an array (nil when absent or not an array).
func List(v any, path ...any) []any {
	a, _ := Get(v, path...).([]any)
	return a
}
