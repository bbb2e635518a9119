package remote

import (
	"strings"
	"testing"
	"time"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/fhirjson"
)

func TestMapRewritesIdsReferencesAndMeta(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	m := &Mapper{Key: key, Base: "https://fhir.zkh.example.nl/r4/", SyncTime: time.Date(2026, 11, 25, 9, 30, 0, 0, time.UTC)}
	src := `{"resourceType":"Appointment","id":"a1","meta":{"versionId":"7","lastUpdated":"2026-11-25T08:00:00.123+01:00","profile":["x"],"extension":[{"url":"` + ww.ExtLastSourceSync + `","valueDateTime":"2020-01-01"}]},` +
		`"identifier":[{"system":"urn:oid:2.16.528.1.1007.3.3.1234","value":"A-1"}],"status":"booked",` +
		`"basedOn":[{"reference":"ServiceRequest/sr9/_history/2"}],"slot":[{"reference":"https://fhir.zkh.example.nl/r4/Slot/s1"}],` +
		`"participant":[{"actor":{"reference":"Patient/p1","display":"J"}},{"actor":{"reference":"#loc"}},{"actor":{"reference":"https://elsewhere.example/Practitioner/x"}}]}`
	tree, err := fhirjson.Parse([]byte(src), fhirjson.Limits{MaxDepth: 50})
	if err != nil {
		t.Fatal(err)
	}
	r, err := m.Map(tree)
	if err != nil {
		t.Fatal(err)
	}
	ns := "https://fhir.zkh.example.nl/r4"
	if r.ID != ww.DeriveID(key, "Appointment", ns, "a1") || r.VersionKey != "v7" || !r.LastUpdated.Equal(time.Date(2026, 11, 25, 7, 0, 0, 123e6, time.UTC)) {
		t.Fatalf("mapped %+v", r)
	}
	out := string(r.Tree.Bytes())
	for _, want := range []string{
		`"id":"` + r.ID + `"`,
		`"reference":"ServiceRequest/` + ww.DeriveID(key, "ServiceRequest", ns, "sr9") + `"`,
		`"reference":"Slot/` + ww.DeriveID(key, "Slot", ns, "s1") + `"`,
		`"reference":"Patient/` + ww.DeriveID(key, "Patient", ns, "p1") + `"`,
		`"reference":"#loc"`, `"reference":"https://elsewhere.example/Practitioner/x"`,
		`"system":"urn:oid:2.16.528.1.1007.3.3.1234","value":"A-1"`,
		`"source":"https://fhir.zkh.example.nl/r4/Appointment/a1"`,
		`"valueDateTime":"2026-11-25T09:30:00.000Z"`, `"profile":["x"]`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("mapped resource lacks %s:\n%s", want, out)
		}
	}
	if strings.Contains(out, "versionId") || strings.Contains(out, "2020-01-01") || strings.Count(out, ww.ExtLastSourceSync) != 1 {
		t.Errorf("source meta survived:\n%s", out)
	}
	if got := LastSourceSync(r.Tree); !got.Equal(m.SyncTime) {
		t.Errorf("LastSourceSync = %v", got)
	}
	// Another namespace gives other ids; the same one the same.
	m2 := &Mapper{Key: key, Base: "https://moved.example.nl/fhir", Namespace: ns}
	if m2.ID("Appointment", "a1") != r.ID {
		t.Error("an explicit namespace does not keep ids across a base URL move")
	}
}

func TestVersionKeyFallsBackToContentHash(t *testing.T) {
	m := &Mapper{Key: []byte("k"), Base: "https://x.example"}
	a, _ := fhirjson.Parse([]byte(`{"resourceType":"Slot","id":"s","status":"free"}`), fhirjson.Limits{})
	b, _ := fhirjson.Parse([]byte(`{"resourceType":"Slot","id":"s","status":"busy"}`), fhirjson.Limits{})
	ra, _ := m.Map(a)
	rb, _ := m.Map(b)
	if !strings.HasPrefix(ra.VersionKey, "h") || ra.VersionKey == rb.VersionKey {
		t.Fatalf("content keys %q %q", ra.VersionKey, rb.VersionKey)
	}
	for _, bad := range []string{`[]`, `{"id":"x"}`, `{"resourceType":"Slot"}`, `{"resourceType":"slot","id":"x"}`, `{"resourceType":"Slot","id":"a b"}`} {
		v, _ := fhirjson.Parse([]byte(bad), fhirjson.Limits{})
		if _, err := m.Map(v); err == nil {
			t.Errorf("%s mapped", bad)
		}
	}
}
