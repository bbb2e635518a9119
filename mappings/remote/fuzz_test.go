package remote

import (
	"testing"
	"time"

	"github.com/wachtwijzer/wachtwijzer/fhirjson"
)

// FuzzMap: any parsed JSON maps or is refused, never panics; references
// are rewritten idempotently in shape (a mapped tree serialises).
func FuzzMap(f *testing.F) {
	f.Add([]byte(`{"resourceType":"Appointment","id":"a","participant":[{"actor":{"reference":"Patient/p/_history/1"}}],"meta":{"extension":{}}}`))
	f.Add([]byte(`{"resourceType":"Patient","id":"p","contained":[{"resourceType":"X","id":"c","reference":"Patient/q"}],"link":[{"other":{"reference":"https://src.example/fhir/Patient/r"}}]}`))
	f.Add([]byte(`{"resourceType":"Slot","id":"s","meta":[]}`))
	m := &Mapper{Key: []byte("k"), Base: "https://src.example/fhir", SyncTime: time.Unix(1, 0)}
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := fhirjson.Parse(b, fhirjson.Limits{MaxDepth: 64})
		if err != nil {
			return
		}
		if r, err := m.Map(v); err == nil {
			if _, err := fhirjson.Parse(r.Tree.Bytes(), fhirjson.Limits{MaxDepth: 80}); err != nil {
				t.Fatalf("the mapped resource is not JSON: %v", err)
			}
		}
	})
}
