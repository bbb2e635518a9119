package tests

import (
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/wachtwijzer/wachtwijzer/internal/redistest"
)

// seedSearchWorld loads a small world through one transaction.
func seedSearchWorld(t *testing.T, g *Gateway) {
	t.Helper()
	var es []string
	put := func(typ, id, body string) {
		es = append(es, entry("", "PUT", typ+"/"+id, body))
	}
	loc := func(id, name, city string, lat, lon float64) {
		put("Location", id, fmt.Sprintf(`{"resourceType":"Location","id":%q,"name":%q,"address":{"city":%q},"position":{"latitude":%g,"longitude":%g},"managingOrganization":{"reference":"Organization/org-%s"}}`, id, name, city, lat, lon, id))
		put("Organization", "org-"+id, fmt.Sprintf(`{"resourceType":"Organization","id":"org-%s","name":"Org %s","identifier":[{"system":"http://fhir.nl/fhir/NamingSystem/agb-z","value":"0699%04d"}]}`, id, name, len(es)))
	}
	loc("ams", "AMC", "Amsterdam", 52.2942, 4.9581)
	loc("utr", "UMC Utrecht", "Utrecht", 52.0865, 5.1798)
	loc("nmg", "Radboud", "Nijmegen", 51.8244, 5.8616)
	loc("gro", "UMCG", "Groningen", 53.2222, 6.5756)
	for _, l := range []string{"ams", "utr", "nmg", "gro"} {
		put("HealthcareService", "hs-"+l, fmt.Sprintf(`{"resourceType":"HealthcareService","id":"hs-%s","providedBy":{"reference":"Organization/org-%s"},"location":[{"reference":"Location/%s"}],"specialty":[{"coding":[{"system":"urn:oid:2.16.840.1.113883.2.4.6.7","code":"0305","display":"Orthopedie"}]}],"name":"Orthopedie %s"}`, l, l, l, l))
		put("Schedule", "sch-"+l, fmt.Sprintf(`{"resourceType":"Schedule","id":"sch-%s","actor":[{"reference":"Location/%s"},{"reference":"HealthcareService/hs-%s"}]}`, l, l, l))
	}
	// Slots: on 2026-12-01 in Amsterdam local time, including 00:30 (still 30 Nov in UTC).
	slot := func(id, sch, start, end, status, svc string) {
		put("Slot", id, fmt.Sprintf(`{"resourceType":"Slot","id":%q,"schedule":{"reference":"Schedule/%s"},"status":%q,"start":%q,"end":%q,"serviceType":[{"coding":[{"system":"urn:oid:2.16.840.1.113883.2.4.6.7","code":%q}]}]}`, id, sch, status, start, end, svc))
	}
	slot("s-early", "sch-ams", "2026-12-01T00:30:00+01:00", "2026-12-01T00:45:00+01:00", "free", "0305")
	slot("s-morning", "sch-ams", "2026-12-01T09:00:00+01:00", "2026-12-01T09:15:00+01:00", "free", "0305")
	slot("s-busy", "sch-utr", "2026-12-01T09:00:00+01:00", "2026-12-01T09:15:00+01:00", "busy", "0305")
	slot("s-utr", "sch-utr", "2026-12-02T10:00:00+01:00", "2026-12-02T10:15:00+01:00", "free", "0305")
	slot("s-nmg", "sch-nmg", "2026-12-03T11:00:00+01:00", "2026-12-03T11:15:00+01:00", "free", "0301")
	slot("s-dst", "sch-gro", "2026-03-29T03:30:00+02:00", "2026-03-29T03:45:00+02:00", "free", "0305")
	put("Patient", "pat-1", `{"resourceType":"Patient","id":"pat-1","identifier":[{"system":"http://fhir.nl/fhir/NamingSystem/bsn","value":"999911120","type":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0203","code":"NNNLD"}]}}],"name":[{"family":"Ríjsbergen","given":["Émile"]}],"birthDate":"1957-03","meta":{"tag":[{"system":"https://example.org/tags","code":"demo"}],"profile":["http://nictiz.nl/fhir/StructureDefinition/nl-core-Patient"]}}`)
	put("Patient", "pat-2", `{"resourceType":"Patient","id":"pat-2","name":[{"family":"Jansen"}],"gender":"female"}`)
	put("Practitioner", "dr-1", `{"resourceType":"Practitioner","id":"dr-1","name":[{"family":"Bakker"}]}`)
	appt := func(id, status, start, pat string) {
		s := ""
		if start != "" {
			s = fmt.Sprintf(`"start":%q,`, start)
		}
		put("Appointment", id, fmt.Sprintf(`{"resourceType":"Appointment","id":%q,"status":%q,%s"participant":[{"status":"accepted","actor":{"reference":"Patient/%s"}},{"status":"accepted","actor":{"reference":"Practitioner/dr-1"}},{"status":"accepted","actor":{"reference":"Location/ams"}}],"basedOn":[{"reference":"ServiceRequest/sr-%s","identifier":{"system":"https://h.example/order","value":"ORD-%s"}}]}`, id, status, s, pat, id, id))
	}
	appt("ap-1", "booked", "2026-12-01T09:00:00+01:00", "pat-1")
	appt("ap-2", "booked", "2026-12-02T09:00:00+01:00", "pat-2")
	appt("ap-3", "waitlist", "", "pat-1")
	// a waitlist appointment with a requested period and a creation time;
	// a booked one with an end, at millisecond precision
	put("Appointment", "ap-4", `{"resourceType":"Appointment","id":"ap-4","status":"waitlist","created":"2026-11-20T10:00:00+01:00","requestedPeriod":[{"start":"2026-12-01","end":"2027-02-28"}],"participant":[{"status":"needs-action","actor":{"reference":"Patient/pat-4"}}]}`)
	put("Appointment", "ap-5", `{"resourceType":"Appointment","id":"ap-5","status":"booked","start":"2026-12-04T10:00:00.250+01:00","end":"2026-12-04T10:30:00.250+01:00","created":"2026-11-02","participant":[{"status":"accepted","actor":{"reference":"Patient/pat-4"}}]}`)
	// the autumn DST change: 02:30 happens twice on 2026-10-25 in Amsterdam
	slot("s-dst-a", "sch-gro", "2026-10-25T02:30:00+02:00", "2026-10-25T02:45:00+02:00", "busy-unavailable", "0305")
	slot("s-dst-b", "sch-gro", "2026-10-25T02:30:00+01:00", "2026-10-25T02:45:00+01:00", "busy-unavailable", "0305")
	slot("s-dst-c", "sch-gro", "2026-10-25T23:30:00+01:00", "2026-10-25T23:45:00+01:00", "busy-unavailable", "0305")
	slot("s-dst-d", "sch-gro", "2026-10-24T23:30:00+02:00", "2026-10-24T23:45:00+02:00", "busy-unavailable", "0305")
	// a Period target: a schedule planning December
	put("Schedule", "sch-dec", `{"resourceType":"Schedule","id":"sch-dec","actor":[{"reference":"Location/ams"}],"planningHorizon":{"start":"2026-12-01","end":"2026-12-31"}}`)
	put("Patient", "pat-3", `{"resourceType":"Patient","id":"pat-3","meta":{"security":[{"system":"http://terminology.hl7.org/CodeSystem/v3-Confidentiality","code":"R"}]},"gender":"male","name":[{"family":"Geheim"}]}`)
	expect(t, g.Do(t, "POST", "/fhir", bundle("transaction", es...)), 200)
}

// ids returns the ids of a searchset's match entries (and of include
// entries when mode is "include").
func ids(t *testing.T, r *Resp, mode string) []string {
	t.Helper()
	b := expect(t, r, 200).JSON(t)
	var out []string
	entries, _ := b["entry"].([]any)
	for _, e := range entries {
		if str(path(e, "search", "mode")) == mode {
			out = append(out, str(path(e, "resource", "resourceType"))+"/"+str(path(e, "resource", "id")))
		}
	}
	return out
}

func sorted(xs []string) []string {
	out := append([]string(nil), xs...)
	sort.Strings(out)
	return out
}

func same(t *testing.T, got []string, want ...string) {
	t.Helper()
	if strings.Join(sorted(got), ",") != strings.Join(sorted(want), ",") {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func TestSearchSpecCases(t *testing.T) {
	g := StartGateway(t, GatewayOptions{})
	seedSearchWorld(t, g)
	q := func(t *testing.T, p string) []string { return ids(t, g.Do(t, "GET", "/fhir/"+p, nil), "match") }
	cases := []struct {
		name, query string
		want        []string
	}{
		{"token code", "Slot?status=busy", []string{"Slot/s-busy"}},
		{"token OR", "Slot?status=busy,free&service-type=0301", []string{"Slot/s-nmg"}},
		{"token system|code", "Slot?service-type=urn:oid:2.16.840.1.113883.2.4.6.7|0301", []string{"Slot/s-nmg"}},
		{"token system| any code", "HealthcareService?specialty=urn:oid:2.16.840.1.113883.2.4.6.7|", []string{"HealthcareService/hs-ams", "HealthcareService/hs-utr", "HealthcareService/hs-nmg", "HealthcareService/hs-gro"}},
		{"token |code means no system", "Slot?service-type=|0301", nil},
		{"token :not", "Slot?status:not=free", []string{"Slot/s-busy", "Slot/s-dst-a", "Slot/s-dst-b", "Slot/s-dst-c", "Slot/s-dst-d"}},
		{"token :text on the display", "HealthcareService?specialty:text=ortho&_id=hs-ams", []string{"HealthcareService/hs-ams"}},
		{"identifier :of-type", "Patient?identifier:of-type=http://terminology.hl7.org/CodeSystem/v2-0203|NNNLD|999911120", []string{"Patient/pat-1"}},
		{"string: accent- and case-insensitive prefix", "Patient?family=rijs", []string{"Patient/pat-1"}},
		{"string :exact is case and accent sensitive", "Patient?family:exact=Rijsbergen", nil},
		{"string :exact hit", "Patient?family:exact=Ríjsbergen", []string{"Patient/pat-1"}},
		{"string :contains", "Patient?name:contains=ijsb", []string{"Patient/pat-1"}},
		{"given with accents folded", "Patient?given=emile", []string{"Patient/pat-1"}},
		{"reference Type/id", "Appointment?actor=Patient/pat-1", []string{"Appointment/ap-1", "Appointment/ap-3"}},
		{"reference id only", "Appointment?patient=pat-2", []string{"Appointment/ap-2"}},
		{"reference :Type modifier", "Appointment?actor:Location=ams&status=booked", []string{"Appointment/ap-1", "Appointment/ap-2"}},
		{"reference absolute URL on this server", "Appointment?actor=" + url.QueryEscape(g.Base+"/Patient/pat-2"), []string{"Appointment/ap-2"}},
		{"reference :identifier", "Appointment?based-on:identifier=https://h.example/order|ORD-ap-2", []string{"Appointment/ap-2"}},
		{"date day in Amsterdam includes 00:30 local (23:30 UTC the day before)", "Slot?start=2026-12-01", []string{"Slot/s-early", "Slot/s-morning", "Slot/s-busy"}},
		{"date ge and lt make a bounded range", "Slot?start=ge2026-12-02&start=lt2026-12-03", []string{"Slot/s-utr"}},
		{"date gt at minute precision excludes the minute itself", "Slot?start=gt2026-12-01T09:00", []string{"Slot/s-utr", "Slot/s-nmg"}},
		{"date month precision", "Slot?start=2026-03", []string{"Slot/s-dst"}},
		{"date on the spring DST day", "Slot?start=2026-03-29", []string{"Slot/s-dst"}},
		{"date sa and eb", "Slot?start=sa2026-12-02&start=eb2026-12-31", []string{"Slot/s-nmg"}},
		{"date with an explicit UTC offset", "Slot?start=2026-11-30T23:30Z", []string{"Slot/s-early"}},
		{"birthdate month value against a year search", "Patient?birthdate=1957", []string{"Patient/pat-1"}},
		{"birthdate ne", "Patient?birthdate=ne1957-03-04", []string{"Patient/pat-1"}},
		{"custom end parameter", "Slot?end=le2026-12-01T00:45", []string{"Slot/s-early", "Slot/s-dst", "Slot/s-dst-a", "Slot/s-dst-b", "Slot/s-dst-c", "Slot/s-dst-d"}},
		{"_lastUpdated", "Patient?_lastUpdated=gt2000-01-01&_id=pat-2", []string{"Patient/pat-2"}},
		{"_tag", "Patient?_tag=https://example.org/tags|demo", []string{"Patient/pat-1"}},
		{"_profile uri", "Patient?_profile=http://nictiz.nl/fhir/StructureDefinition/nl-core-Patient", []string{"Patient/pat-1"}},
		{"uri :below", "Patient?_profile:below=http://nictiz.nl/fhir/", []string{"Patient/pat-1"}},
		{"missing=true on a date", "Appointment?date:missing=true", []string{"Appointment/ap-3", "Appointment/ap-4"}},
		{"missing=true on a token", "Patient?gender:missing=true", []string{"Patient/pat-1"}},
		{"missing=false on a reference", "Location?partof:missing=false", nil},
		{"chain with a type", "Appointment?actor:Patient.family=jans", []string{"Appointment/ap-2"}},
		{"chain through two references", "Slot?schedule.actor:Location.address-city=utrecht", []string{"Slot/s-busy", "Slot/s-utr"}},
		{"_has reverse chain", "Patient?_has:Appointment:patient:status=waitlist", []string{"Patient/pat-1"}},
		{"near within 60 km of Utrecht", "Location?near=52.09|5.12|60|km", []string{"Location/ams", "Location/utr", "Location/nmg"}},
		{"near in metres", "Location?near=52.09|5.12|10000|m", []string{"Location/utr"}},
		{"near in US miles", "Location?near=52.09|5.12|30|[mi_us]", []string{"Location/ams", "Location/utr"}},
		{"compound index (status + service-type by start)", "Slot?status=free&service-type=0305&start=ge2026-12-01&_sort=start&_count=2", []string{"Slot/s-early", "Slot/s-morning"}},
		{"requested-period overlapping December (custom)", "Appointment?requested-period=ge2026-12-01&requested-period=le2026-12-31", []string{"Appointment/ap-4"}},
		{"requested-period eq needs the whole period inside", "Appointment?requested-period=2026-12", nil},
		{"requested-period eq with a wide enough value", "Appointment?requested-period=ge2026-11-30&requested-period=lt2027-03-01&requested-period=sa2026-11-30", []string{"Appointment/ap-4"}},
		{"created at day precision (custom)", "Appointment?created=2026-11-20", []string{"Appointment/ap-4"}},
		{"created before a date", "Appointment?created=lt2026-11-10", []string{"Appointment/ap-5"}},
		{"Appointment end (custom)", "Appointment?end=ge2026-12-04T10:30", []string{"Appointment/ap-5"}},
		{"date at second precision contains the milliseconds", "Appointment?date=2026-12-04T10:00:00%2B01:00", []string{"Appointment/ap-5"}},
		{"date at millisecond precision", "Appointment?date=2026-12-04T10:00:00.250%2B01:00", []string{"Appointment/ap-5"}},
		{"date at another millisecond", "Appointment?date=2026-12-04T10:00:00.251%2B01:00", nil},
		{"gt at second precision excludes that second", "Appointment?date=gt2026-12-04T10:00:00%2B01:00", nil},
		{"date OR", "Appointment?date=2026-12-01,2026-12-04", []string{"Appointment/ap-1", "Appointment/ap-5"}},
		{"the ap prefix widens the value", "Slot?start=ap2026-12-02&service-type=0301", []string{"Slot/s-nmg"}},
		{"ap does not reach months away", "Slot?start=ap2026-12-02&_id=s-dst", nil},
		{"the autumn DST day has 25 hours", "Slot?start=2026-10-25", []string{"Slot/s-dst-a", "Slot/s-dst-b", "Slot/s-dst-c"}},
		{"the second 02:30 on the autumn DST day", "Slot?start=2026-10-25T02:30%2B01:00", []string{"Slot/s-dst-b"}},
		{"Period target inside the search month", "Schedule?date=2026-12", []string{"Schedule/sch-dec"}},
		{"Period target not inside one day", "Schedule?date=2026-12-15", nil},
		{"Period target overlaps ge", "Schedule?date=ge2026-12-15", []string{"Schedule/sch-dec"}},
		{"Period target starts after", "Schedule?date=sa2026-11-30", []string{"Schedule/sch-dec"}},
		{"Period target does not end before", "Schedule?date=eb2026-12-15", nil},
		{"_security", "Patient?_security=http://terminology.hl7.org/CodeSystem/v3-Confidentiality|R", []string{"Patient/pat-3"}},
		{"identifier system| (any value)", "Patient?identifier=http://fhir.nl/fhir/NamingSystem/bsn|", []string{"Patient/pat-1"}},
		{"string :contains OR", "Patient?family:contains=ijsb,nse", []string{"Patient/pat-1", "Patient/pat-2"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { same(t, q(t, c.query), c.want...) })
	}
	t.Run("sort by date descending, then id", func(t *testing.T) {
		got := q(t, "Slot?_sort=-start,_id&_count=3")
		if strings.Join(got, ",") != "Slot/s-nmg,Slot/s-utr,Slot/s-busy" {
			t.Fatalf("order %v", got)
		}
	})
	t.Run("sort by distance with the location-distance extension", func(t *testing.T) {
		r := expect(t, g.Do(t, "GET", "/fhir/Location?near=52.09|5.12|200&_sort=distance", nil), 200)
		got := ids(t, r, "match")
		if strings.Join(got, ",") != "Location/utr,Location/ams,Location/nmg,Location/gro" {
			t.Fatalf("order %v", got)
		}
		b := r.JSON(t)
		d := path(b, "entry", 0, "search", "extension", 0)
		if str(path(d, "url")) != "http://hl7.org/fhir/StructureDefinition/location-distance" || str(path(d, "valueDistance", "code")) != "km" {
			t.Fatalf("distance extension: %v", d)
		}
	})
	t.Run("sort by a string puts accented names in folded order", func(t *testing.T) {
		got := q(t, "Patient?_sort=family&_id=pat-1,pat-2")
		if strings.Join(got, ",") != "Patient/pat-2,Patient/pat-1" {
			t.Fatalf("order %v", got)
		}
	})
	t.Run("_include and _revinclude", func(t *testing.T) {
		r := g.Do(t, "GET", "/fhir/Appointment?_id=ap-2&_include=Appointment:patient&_include=Appointment:actor:Practitioner", nil)
		same(t, ids(t, r, "include"), "Patient/pat-2", "Practitioner/dr-1")
		r = g.Do(t, "GET", "/fhir/Location?near=52.09|5.12|25|km&_revinclude=HealthcareService:location", nil)
		same(t, ids(t, r, "match"), "Location/utr")
		same(t, ids(t, r, "include"), "HealthcareService/hs-utr")
		// :iterate follows the included services to their organisations.
		r = g.Do(t, "GET", "/fhir/Location?_id=nmg&_revinclude=HealthcareService:location&_include:iterate=HealthcareService:organization", nil)
		same(t, ids(t, r, "include"), "HealthcareService/hs-nmg", "Organization/org-nmg")
		// _include=* follows every reference.
		r = g.Do(t, "GET", "/fhir/Slot?_id=s-nmg&_include=*", nil)
		same(t, ids(t, r, "include"), "Schedule/sch-nmg")
	})
	t.Run("_summary=true keeps the summary elements", func(t *testing.T) {
		b := expect(t, g.Do(t, "GET", "/fhir/Appointment?_id=ap-1&_summary=true", nil), 200).JSON(t)
		res := path(b, "entry", 0, "resource").(map[string]any)
		if res["status"] != "booked" || res["start"] == nil || res["participant"] != nil || res["basedOn"] != nil || !strings.Contains(fmt.Sprint(res["meta"]), "SUBSETTED") {
			t.Fatalf("_summary=true: %v", res)
		}
	})
	t.Run("_total=estimate and none", func(t *testing.T) {
		b := expect(t, g.Do(t, "GET", "/fhir/Slot?status=free&_total=estimate", nil), 200).JSON(t)
		if fmt.Sprint(b["total"]) != "5" {
			t.Fatalf("estimate %v", b["total"])
		}
		b = expect(t, g.Do(t, "GET", "/fhir/Slot?status=free&_total=none", nil), 200).JSON(t)
		if _, has := b["total"]; has {
			t.Fatalf("a total with _total=none: %v", b["total"])
		}
	})
	t.Run("_count defaults to 50 and is capped at 1000", func(t *testing.T) {
		var es []string
		for i := 0; i < 55; i++ {
			es = append(es, entry("", "PUT", fmt.Sprintf("Practitioner/veel%02d", i), fmt.Sprintf(`{"resourceType":"Practitioner","id":"veel%02d","name":[{"family":"Veel"}]}`, i)))
		}
		expect(t, g.Do(t, "POST", "/fhir", bundle("transaction", es...)), 200)
		b := expect(t, g.Do(t, "GET", "/fhir/Practitioner?family=veel", nil), 200).JSON(t)
		if n := len(asSlice(b["entry"])); n != 50 || linkOf(b, "next") == "" {
			t.Fatalf("default page: %d entries, next %q", n, linkOf(b, "next"))
		}
		b = expect(t, g.Do(t, "GET", "/fhir/Practitioner?family=veel&_count=5000", nil), 200).JSON(t)
		if n := len(asSlice(b["entry"])); n != 55 || !strings.Contains(linkOf(b, "self"), "_count=1000") {
			t.Fatalf("_count=5000: %d entries, self %s", n, linkOf(b, "self"))
		}
	})
	t.Run("sort with a missing value puts it last", func(t *testing.T) {
		got := q(t, "Appointment?_sort=date&_count=10")
		if strings.Join(got, ",") != "Appointment/ap-1,Appointment/ap-2,Appointment/ap-5,Appointment/ap-3,Appointment/ap-4" {
			t.Fatalf("order %v", got)
		}
	})
	t.Run("totals and summary", func(t *testing.T) {
		b := expect(t, g.Do(t, "GET", "/fhir/Slot?status=free&_total=accurate&_count=1", nil), 200).JSON(t)
		if fmt.Sprint(b["total"]) != "5" || len(b["entry"].([]any)) != 1 {
			t.Fatalf("accurate total %v with %d entries", b["total"], len(b["entry"].([]any)))
		}
		b = expect(t, g.Do(t, "GET", "/fhir/Slot?status=free&_summary=count", nil), 200).JSON(t)
		if fmt.Sprint(b["total"]) != "5" || b["entry"] != nil {
			t.Fatalf("_summary=count: %v", b)
		}
		b = expect(t, g.Do(t, "GET", "/fhir/Slot?status=free", nil), 200).JSON(t)
		if _, has := b["total"]; has {
			t.Fatalf("a total without _total: %v", b["total"])
		}
	})
	t.Run("_elements subsets and tags SUBSETTED", func(t *testing.T) {
		b := expect(t, g.Do(t, "GET", "/fhir/Patient?_id=pat-1&_elements=birthDate", nil), 200).JSON(t)
		res := path(b, "entry", 0, "resource").(map[string]any)
		if res["name"] != nil || res["birthDate"] != "1957-03" || !strings.Contains(fmt.Sprint(res["meta"]), "SUBSETTED") {
			t.Fatalf("_elements: %v", res)
		}
	})
	t.Run("__explain shows the plan", func(t *testing.T) {
		r := g.Do(t, "GET", "/fhir/Slot?start=ge2026-12-02&start=lt2026-12-03&__explain=true", nil)
		if !strings.Contains(string(r.Body), "start (date index) in [") {
			t.Fatalf("no plan: %s", r.Body)
		}
	})
	t.Run("POST _search equals GET", func(t *testing.T) {
		r := g.Do(t, "POST", "/fhir/Patient/_search", "family=rijs", "Content-Type: application/x-www-form-urlencoded")
		same(t, ids(t, r, "match"), "Patient/pat-1")
	})
	t.Run("malformed values are 400 naming parameter and value", func(t *testing.T) {
		for _, bad := range []string{"Slot?start=2026-13-01", "Slot?start=ge2026-12-01T10", "Location?near=95|5|10", "Location?near=52|5|10|miles", "Appointment?actor=Nope/1", "Slot?status:in=x", "Patient?name:missing=maybe", "Slot?_count=-1", "Slot?_total=most", "Appointment?minutes-duration=lots", "Appointment?_include=nonsense"} {
			r := g.Do(t, "GET", "/fhir/"+bad, nil)
			if r.Status != 400 {
				t.Errorf("%s: status %d %s", bad, r.Status, r.Body)
			}
		}
	})
}

// The lessons in the pitfalls table of standards-research §6, each a named
// regression.
func TestSearchPitfalls(t *testing.T) {
	g := StartGateway(t, GatewayOptions{})
	seedSearchWorld(t, g)
	t.Run("zone-less date search is Amsterdam, not UTC", func(t *testing.T) {
		same(t, ids(t, g.Do(t, "GET", "/fhir/Slot?start=2026-12-01&_id=s-early", nil), "match"), "Slot/s-early")
	})
	t.Run("open-ended range is bounded on both ends in the plan", func(t *testing.T) {
		r := g.Do(t, "GET", "/fhir/Slot?start=ge2026-12-01&start=lt2026-12-02&__explain=true", nil)
		if !regexp.MustCompile(`start \(date index\) in \[\d+, \d+\]; wider values by width class, lower bounds within \[-?\d+, \d+\]`).Match(r.Body) {
			t.Fatalf("unbounded scan: %s", r.Body)
		}
	})
	t.Run("no duplicates or gaps across pages with equal sort values", func(t *testing.T) {
		var es []string
		for i := 0; i < 23; i++ {
			es = append(es, entry("", "PUT", fmt.Sprintf("Slot/eq%02d", i), fmt.Sprintf(`{"resourceType":"Slot","id":"eq%02d","schedule":{"reference":"Schedule/sch-ams"},"status":"busy-tentative","start":"2027-01-05T09:00:00+01:00","end":"2027-01-05T09:15:00+01:00"}`, i)))
		}
		expect(t, g.Do(t, "POST", "/fhir", bundle("transaction", es...)), 200)
		seen := map[string]bool{}
		next := g.URL + "/fhir/Slot?status=busy-tentative&_sort=start&_count=5"
		for next != "" {
			b := expect(t, g.Do(t, "GET", next, nil), 200).JSON(t)
			for _, e := range asSlice(b["entry"]) {
				id := str(path(e, "resource", "id"))
				if seen[id] {
					t.Fatalf("%s on two pages", id)
				}
				seen[id] = true
			}
			next = linkOf(b, "next")
		}
		if len(seen) != 23 {
			t.Fatalf("%d of 23 slots seen", len(seen))
		}
	})
	t.Run("edited page links are rejected", func(t *testing.T) {
		b := g.Do(t, "GET", "/fhir/Slot?_count=2", nil).JSON(t)
		next := linkOf(b, "next")
		edited := strings.Replace(next, "_count=2", "_count=3", 1)
		outcome(t, g.Do(t, "GET", edited, nil), 400, "invalid", "another search")
		outcome(t, g.Do(t, "GET", "/fhir/Slot?_count=2&_page=bm90LWEtdG9rZW4", nil), 400, "invalid", "page token")
	})
	t.Run("_revinclude over the cap is reported, not truncated silently", func(t *testing.T) {
		capped := StartGateway(t, GatewayOptions{Args: []string{"--search-include-cap", "3"}})
		seedSearchWorld(t, capped)
		r := capped.Do(t, "GET", "/fhir/Location?_revinclude=HealthcareService:location&_revinclude=Schedule:actor", nil)
		if n := len(ids(t, r, "include")); n != 3 {
			t.Fatalf("%d included with a cap of 3", n)
		}
		out := ids(t, r, "outcome")
		if len(out) != 1 || !strings.Contains(string(r.Body), "more than 3") {
			t.Fatalf("no outcome entry naming the cap: %s", r.Body)
		}
		// the same search under the default cap includes all eight
		if n := len(ids(t, g.Do(t, "GET", "/fhir/Location?_revinclude=HealthcareService:location&_revinclude=Schedule:actor&_id=ams,utr,nmg,gro", nil), "include")); n != 9 {
			t.Fatalf("%d included under the default cap", n)
		}
	})
	t.Run("next missing when authz filters after paging: the filter is inside the index query", func(t *testing.T) {
		// The gateway has no tenancy yet; the store's Policy seam is tested
		// with a restrictive Policy in redisstore
		// (TestPolicyFiltersBeforePagingAndCounting): full pages, next
		// links to the end and totals of what the principal sees.
		b := expect(t, g.Do(t, "GET", "/fhir/Slot?_count=2&_total=accurate", nil), 200).JSON(t)
		if len(asSlice(b["entry"])) != 2 || linkOf(b, "next") == "" {
			t.Fatalf("page: %v", b)
		}
	})
	t.Run("If-None-Exist referring to a placeholder is resolved first", func(t *testing.T) {
		tx := bundle("transaction",
			entry("urn:uuid:9d6f1c2e-0000-4000-8000-000000000001", "PUT", "Patient/pin-1", `{"resourceType":"Patient","id":"pin-1","name":[{"family":"Placeholder"}]}`),
			entry("", "POST", "Coverage", `{"resourceType":"Coverage","status":"active","beneficiary":{"reference":"urn:uuid:9d6f1c2e-0000-4000-8000-000000000001"},"payor":[{"reference":"Organization/org-ams"}]}`,
				`"ifNoneExist":"beneficiary=urn:uuid:9d6f1c2e-0000-4000-8000-000000000001"`))
		first := expect(t, g.Do(t, "POST", "/fhir", tx), 200).JSON(t)
		if st := str(path(first, "entry", 1, "response", "status")); !strings.HasPrefix(st, "201") {
			t.Fatalf("first run: coverage %s", st)
		}
		second := expect(t, g.Do(t, "POST", "/fhir", tx), 200).JSON(t)
		if st := str(path(second, "entry", 1, "response", "status")); !strings.HasPrefix(st, "200") {
			t.Fatalf("second run: coverage %s (the criteria must find the first one)", st)
		}
		if got := ids(t, g.Do(t, "GET", "/fhir/Coverage?beneficiary=Patient/pin-1", nil), "match"); len(got) != 1 || !strings.Contains(str(path(first, "entry", 1, "response", "location")), got[0]) {
			t.Fatalf("coverages of pin-1: %v (created %s)", got, str(path(first, "entry", 1, "response", "location")))
		}
	})
	t.Run("wide date values are bounded on both ends in the plan", func(t *testing.T) {
		r := g.Do(t, "GET", "/fhir/Appointment?requested-period=ge2026-12-01&requested-period=le2026-12-31&__explain=true", nil)
		same(t, ids(t, r, "match"), "Appointment/ap-4")
		if !regexp.MustCompile(`wider values by width class, lower bounds within \[-?\d+, \d+\]`).Match(r.Body) {
			t.Fatalf("wide values not bounded: %s", r.Body)
		}
	})
	t.Run(":iterate combined with a plain _revinclude keeps both", func(t *testing.T) {
		r := g.Do(t, "GET", "/fhir/Location?_id=utr&_revinclude=HealthcareService:location&_revinclude=Schedule:actor&_include:iterate=HealthcareService:organization", nil)
		same(t, ids(t, r, "include"), "HealthcareService/hs-utr", "Schedule/sch-utr", "Organization/org-utr")
	})
	t.Run("unsupported parameter: dropped from self, 400 with handling=strict", func(t *testing.T) {
		b := expect(t, g.Do(t, "GET", "/fhir/Location?bogus=1&name=UMC", nil), 200).JSON(t)
		if self := linkOf(b, "self"); strings.Contains(self, "bogus") {
			t.Fatalf("self keeps the unknown parameter: %s", self)
		}
		outcome(t, g.Do(t, "GET", "/fhir/Location?bogus=1", nil, "Prefer: handling=strict"), 400, "not-supported", "bogus")
		for _, c := range []struct{ query, dropped string }{
			{"Location?name=UMC&_revinclude=*", "_revinclude"},
			{"Location?name=UMC&_include=Nope:thing", "_include"},
			{"Location?name=UMC&_revinclude=HealthcareService:nope", "_revinclude"},
			{"Appointment?status=booked&actor:Patient.bogus=x", "bogus"},
		} {
			b := expect(t, g.Do(t, "GET", "/fhir/"+c.query, nil), 200).JSON(t)
			if self := linkOf(b, "self"); strings.Contains(self, c.dropped) || len(asSlice(b["entry"])) == 0 {
				t.Fatalf("%s: self %s, %d entries", c.query, self, len(asSlice(b["entry"])))
			}
			outcome(t, g.Do(t, "GET", "/fhir/"+c.query, nil, "Prefer: handling=strict"), 400, "not-supported")
		}
	})
	t.Run("near is not ignored: distance restricts the result", func(t *testing.T) {
		same(t, ids(t, g.Do(t, "GET", "/fhir/Location?near=53.22|6.57|5|km", nil), "match"), "Location/gro")
	})
	t.Run("near units are UCUM and ranges are validated", func(t *testing.T) {
		outcome(t, g.Do(t, "GET", "/fhir/Location?near=52|5|10|mi", nil), 400, "value", "UCUM")
		outcome(t, g.Do(t, "GET", "/fhir/Location?near=52|190|10", nil), 400, "value", "longitude")
	})
	t.Run("slot offsets are kept as sent", func(t *testing.T) {
		b := g.Do(t, "GET", "/fhir/Slot/s-dst", nil).JSON(t)
		if b["start"] != "2026-03-29T03:30:00+02:00" {
			t.Fatalf("start changed: %v", b["start"])
		}
	})
}

// Paging under concurrent writes: entries not modified while paging are
// never duplicated or skipped — while a writer creates, updates and deletes
// other resources of the same search, on standalone Redis and on Cluster.
func TestPagingUnderConcurrentWrites(t *testing.T) {
	t.Run("standalone", func(t *testing.T) { pagingUnderWrites(t, StartGateway(t, GatewayOptions{})) })
	t.Run("cluster", func(t *testing.T) {
		cl := redistest.SharedCluster(t)
		pagingUnderWrites(t, StartGateway(t, GatewayOptions{NoRedis: true, Args: []string{"--redis-cluster", strings.Join(cl.Addrs, ","), "--key-prefix", redistest.Prefix(t)}}))
	})
}

func pagingUnderWrites(t *testing.T, g *Gateway) {
	stable := 120
	if testing.Short() {
		stable = 60
	}
	var es []string
	for i := 0; i < stable; i++ {
		es = append(es, entry("", "PUT", fmt.Sprintf("Patient/stable%03d", i), patientJSON(fmt.Sprintf("stable%03d", i), "999911120", fmt.Sprintf("Stabiel%03d", i))))
	}
	for i := 0; i < 40; i++ {
		es = append(es, entry("", "PUT", fmt.Sprintf("Patient/churn%02d", i), patientJSON(fmt.Sprintf("churn%02d", i), "999911120", fmt.Sprintf("Stabiel%03d", i*3))))
	}
	expect(t, g.Do(t, "POST", "/fhir", bundle("transaction", es...)), 200)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	writes := 0
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			id := fmt.Sprintf("churn%02d", i%40)
			switch i % 3 {
			case 0: // a new patient matching the searches
				g.Do(t, "POST", "/fhir/Patient", patientJSON("", "999911120", fmt.Sprintf("Stabiel%03d", i%stable)))
			case 1: // an update that moves a churning patient in the sort order
				g.Do(t, "PUT", "/fhir/Patient/"+id, patientJSON(id, "999911120", fmt.Sprintf("Stabiel%03d", (i*7)%stable)))
			case 2:
				g.Do(t, "DELETE", "/fhir/Patient/"+id, nil)
			}
			writes++
		}
	}()
	check := func(query string) {
		seen := map[string]int{}
		next := g.URL + query
		for next != "" {
			b := expect(t, g.Do(t, "GET", next, nil), 200).JSON(t)
			for _, e := range asSlice(b["entry"]) {
				if id := str(path(e, "resource", "id")); strings.HasPrefix(id, "stable") {
					seen[id]++
				}
			}
			next = linkOf(b, "next")
		}
		if len(seen) != stable {
			t.Errorf("%s: saw %d of %d unmodified patients", query, len(seen), stable)
		}
		for id, n := range seen {
			if n != 1 {
				t.Errorf("%s: %s seen %d times", query, id, n)
			}
		}
	}
	for _, q := range []string{
		"/fhir/Patient?family=stabiel&_sort=family&_count=7",
		"/fhir/Patient?identifier=999911120&_count=9",
		"/fhir/Patient?identifier=999911120&_sort=-_lastUpdated&_count=11",
		"/fhir/Patient?family=stabiel&_sort=-family,_id&_count=13",
	} {
		check(q)
	}
	close(stop)
	wg.Wait()
	if writes == 0 {
		t.Fatal("the writer wrote nothing while paging")
	}
}

func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}

func linkOf(b map[string]any, rel string) string {
	for _, l := range asSlice(b["link"]) {
		if path(l, "relation") == rel {
			return str(path(l, "url"))
		}
	}
	return ""
}
