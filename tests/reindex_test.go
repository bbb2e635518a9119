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

// The insurer operations read indexes of their own (wait and member
// projections, free capacity): a reindex rebuilds those too, so the
// operations answer the same after the switch.
func TestReindexKeepsTheInsurerOperations(t *testing.T) {
	redistest.Require(t)
	url := redistest.Shared(t).URL()
	prefix := redistest.Prefix(t)
	g := StartGateway(t, GatewayOptions{RedisURL: url, Args: []string{"--key-prefix", prefix, "--demo"}})
	queries := []string{
		"/fhir/ServiceRequest/$long-waits?state=all",
		"/fhir/ServiceRequest/$long-waits?insurer=7119&state=all",
		"/fhir/Slot/$availability?_count=20",
	}
	before := map[string][]string{}
	for _, q := range queries {
		before[q], _ = opIDs(t, g, q)
		if len(before[q]) == 0 {
			t.Fatalf("%s answers nothing on the demo before the reindex", q)
		}
	}
	capBefore := expect(t, g.Do(t, "GET", "/fhir/MeasureReport/$regional-capacity?_format=csv", nil), 200).Body
	if code, out := run(t, nil, "reindex", "--redis-url", url, "--key-prefix", prefix); code != 0 {
		t.Fatalf("reindex exit %d:\n%s", code, out)
	}
	for _, q := range queries {
		after, _ := opIDs(t, g, q)
		if strings.Join(after, ",") != strings.Join(before[q], ",") {
			t.Fatalf("%s after a reindex: %v, before %v", q, after, before[q])
		}
	}
	if capAfter := expect(t, g.Do(t, "GET", "/fhir/MeasureReport/$regional-capacity?_format=csv", nil), 200).Body; string(capAfter) != string(capBefore) {
		t.Fatalf("regional capacity changed with a reindex:\n%s\nwas\n%s", capAfter, capBefore)
	}
}
