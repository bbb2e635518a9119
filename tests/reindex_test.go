package tests

import (
	"strings"
	"testing"

	"github.com/wachtwijzer/wachtwijzer/internal/redistest"
)

// wachtwijzer reindex against a Redis a gateway is serving from: the
// gateway keeps answering during the build, notices the switch by itself
// and its searches and writes are right afterwards.
func TestReindexCommandWhileServing(t *testing.T) {
	redistest.Require(t)
	url := redistest.Shared(t).URL()
	prefix := redistest.Prefix(t)
	g := StartGateway(t, GatewayOptions{RedisURL: url, Args: []string{"--key-prefix", prefix}})
	seedSearchWorld(t, g)
	before := ids(t, g.Do(t, "GET", "/fhir/Slot?status=free&_sort=start", nil), "match")
	code, out := run(t, nil, "reindex", "--redis-url", url, "--key-prefix", prefix, "--batch", "7")
	if code != 0 || !strings.Contains(out, "into index generation 2") || !strings.Contains(out, "deleted") {
		t.Fatalf("reindex exit %d:\n%s", code, out)
	}
	if !strings.Contains(out, "indexing resources") {
		t.Fatalf("no progress output:\n%s", out)
	}
	after := ids(t, g.Do(t, "GET", "/fhir/Slot?status=free&_sort=start", nil), "match")
	if strings.Join(before, ",") != strings.Join(after, ",") || len(after) != 5 {
		t.Fatalf("before %v, after %v", before, after)
	}
	// A write through the running gateway lands in the new generation.
	expect(t, g.Do(t, "PUT", "/fhir/Patient/after-reindex", patientJSON("after-reindex", "999911120", "Nareindex")), 201)
	same(t, ids(t, g.Do(t, "GET", "/fhir/Patient?family=nareindex", nil), "match"), "Patient/after-reindex")
	// And a second reindex moves on to generation 3.
	code, out = run(t, nil, "reindex", "--redis-url", url, "--key-prefix", prefix)
	if code != 0 || !strings.Contains(out, "into index generation 3") {
		t.Fatalf("second reindex exit %d:\n%s", code, out)
	}
	same(t, ids(t, g.Do(t, "GET", "/fhir/Patient?family=nareindex", nil), "match"), "Patient/after-reindex")
	for _, q := range []string{"Appointment?actor:Patient.family=jans", "Location?near=52.09|5.12|60|km", "Patient?_has:Appointment:patient:status=waitlist"} {
		if got := ids(t, g.Do(t, "GET", "/fhir/"+q, nil), "match"); len(got) == 0 {
			t.Fatalf("%s after two reindexes: nothing", q)
		}
	}
}
