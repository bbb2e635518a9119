package smartscheduling

import (
	"testing"
	"time"

	"github.com/wachtwijzer/wachtwijzer/mappings/remote"
)

// FuzzManifest: ParseManifest never panics, and what it accepts has an
// instant and http(s) URLs.
func FuzzManifest(f *testing.F) {
	f.Add([]byte(`{"transactionTime":"2026-11-24T07:00:00Z","request":"https://x/$bulk-publish","output":[{"type":"Slot","url":"https://x/s.ndjson","extension":{"state":["NL-GR"]}}],"error":[]}`))
	f.Add([]byte(`{"transactionTime":"2021-03-10T15:00:00-05","output":[]}`))
	f.Add([]byte(`{"output":[{"type":"Slot","url":"../../etc"}]}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseManifest(b, "https://pub.example/fhir/$bulk-publish")
		if err != nil {
			return
		}
		if m.TransactionTime.IsZero() {
			t.Fatal("accepted without a transactionTime")
		}
		for _, o := range m.Output {
			if len(o.URL) < 8 || (o.URL[:7] != "http://" && o.URL[:8] != "https://") {
				t.Fatalf("accepted URL %q", o.URL)
			}
		}
	})
}

// FuzzResource: a line of any bytes never panics the parser or the mapper.
func FuzzResource(f *testing.F) {
	f.Add([]byte(`{"resourceType":"Slot","id":"s","schedule":{"reference":"Schedule/x"},"status":"free","start":"2026-12-01T09:00:00+01:00","end":"2026-12-01T09:20:00+01:00"}`), "Slot")
	f.Add([]byte(`{"resourceType":"Schedule","id":"x","actor":[{"reference":"Location/l"}],"contained":[{"resourceType":"Location","id":"c"}]}`), "Schedule")
	f.Add([]byte(`{"resourceType":"Location","id":"l","meta":{"versionId":"1","extension":[1,2]}}`), "Location")
	f.Add([]byte(`{"resourceType":"Slot","id":"s","schedule":{"reference":"https://pub.example/fhir/Schedule/x/_history/2"}}`), "Slot")
	m := &remote.Mapper{Key: []byte("k"), Base: "https://pub.example/fhir", SyncTime: time.Unix(0, 0)}
	f.Fuzz(func(t *testing.T, b []byte, typ string) {
		r, err := Map(m, b, typ)
		if err == nil && (r.ID == "" || r.Tree == nil) {
			t.Fatal("mapped without an id")
		}
	})
}
