package tests

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

// demoGateway starts the binary with --demo on the shared redis-server.
func demoGateway(t *testing.T) (*Gateway, *naive, int) {
	t.Helper()
	g := StartGateway(t, GatewayOptions{Args: []string{"--demo"}})
	n := newNaive(t)
	n.loadGateway(t, g)
	ams, _ := time.LoadLocation("Europe/Amsterdam")
	l := time.Now().In(ams)
	today := int(time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, time.UTC).Unix() / 86400)
	return g, n, today
}

func TestInsurerOperationsOnTheDemo(t *testing.T) {
	g, n, today := demoGateway(t)
	defer g.Stop()
	asOf := dayString(today)
	all := n.waits(today)
	ids := func(keep func(w naiveWait) bool) []string {
		var out []string
		for _, w := range all {
			if keep(w) {
				out = append(out, w.id)
			}
		}
		return out
	}

	t.Run("long waits of every member: the demo's exceeded referrals, longest excess first", func(t *testing.T) {
		got, res := opIDs(t, g, "/fhir/ServiceRequest/$long-waits?_count=3")
		want := ids(func(w naiveWait) bool { return w.exceeded() })
		if strings.Join(got, ",") != strings.Join(want, ",") || len(want) < 6 {
			t.Fatalf("got %v\nwant %v", got, want)
		}
		for _, id := range []string{"demo-sr-0001", "demo-sr-0006", "demo-sr-0011", "demo-sr-0019", "demo-sr-0021"} {
			if !contains(got, id) {
				t.Errorf("%s (exceeded in the demo's story) is missing", id)
			}
		}
		for _, id := range []string{"demo-sr-0007", "demo-sr-0017"} {
			if contains(got, id) {
				t.Errorf("%s is on hold and must never count as exceeded", id)
			}
		}
		for _, r := range res {
			if str(r["id"]) == "demo-sr-0006" {
				if ext := waitingTime(r); ext["normDays"] != "42" || !strings.Contains(ext["note"], "inpatient") {
					t.Errorf("treatment of unknown kind: %v", ext)
				}
			}
		}
	})
	t.Run("one insurer's members, joined by BSN across Patient records", func(t *testing.T) {
		m := n.members("7119", today)
		got, _ := opIDs(t, g, "/fhir/ServiceRequest/$long-waits?insurer=7119&state=all")
		want := ids(func(w naiveWait) bool { return m[w.patient] })
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("got %v want %v", got, want)
		}
		// demo-sr-0013 and 0021 hang off the ZBC's record of the person of
		// demo-pat-03, whose Coverage points at demo-pat-03 itself.
		if !contains(got, "demo-sr-0013") || !contains(got, "demo-sr-0021") {
			t.Fatalf("waits of the second Patient record of a member are missing: %v", got)
		}
		// The switcher (demo-pat-05) left 7119 on 31 December.
		if contains(got, "demo-sr-0005") {
			t.Fatal("a wait of a member whose 7119 coverage ended is listed")
		}
	})
	t.Run("includes the Patients and the holding Appointments", func(t *testing.T) {
		b := expect(t, g.Do(t, "GET", "/fhir/ServiceRequest/$long-waits?specialty=0305", nil), 200).JSON(t)
		inc := map[string]bool{}
		for _, e := range listOf(b["entry"]) {
			if str(path(e, "search", "mode")) == "include" {
				inc[str(path(e, "resource", "resourceType"))+"/"+str(path(e, "resource", "id"))] = true
			}
		}
		if !inc["Patient/demo-pat-01"] || !inc["Appointment/demo-appt-0002"] || !inc["Patient/demo-pat-02"] {
			t.Fatalf("includes %v", inc)
		}
	})
	t.Run("POST with Parameters answers as GET", func(t *testing.T) {
		body := `{"resourceType":"Parameters","parameter":[{"name":"insurer","valueString":"7119"},{"name":"state","valueCode":"all"},{"name":"asOf","valueDate":"` + asOf + `"}]}`
		b := expect(t, g.Do(t, "POST", "/fhir/ServiceRequest/$long-waits", body), 200).JSON(t)
		var got []string
		for _, e := range listOf(b["entry"]) {
			if str(path(e, "search", "mode")) == "match" {
				got = append(got, str(path(e, "resource", "id")))
			}
		}
		want, _ := opIDs(t, g, "/fhir/ServiceRequest/$long-waits?insurer=7119&state=all&asOf="+asOf)
		if strings.Join(got, ",") != strings.Join(want, ",") || len(got) == 0 {
			t.Fatalf("POST %v, GET %v", got, want)
		}
	})
	t.Run("asOf stays in the page token", func(t *testing.T) {
		b := expect(t, g.Do(t, "GET", "/fhir/ServiceRequest/$long-waits?state=all&_count=2&asOf="+dayString(today-30), nil), 200).JSON(t)
		next := ""
		for _, l := range listOf(b["link"]) {
			if str(path(l, "relation")) == "next" {
				next = str(path(l, "url"))
			}
		}
		if next == "" {
			t.Fatal("no next link")
		}
		// Replace the asOf in the next link: the token belongs to the
		// original query, so it is refused.
		tampered := strings.Replace(next, "asOf="+dayString(today-30), "asOf="+asOf, 1)
		outcome(t, g.Do(t, "GET", tampered, nil), 400, "invalid", "page token")
		u, _ := url.Parse(next)
		tok := u.Query().Get("_page")
		q := u.Query()
		q.Set("_page", tok[:len(tok)-2]+"xx")
		u.RawQuery = q.Encode()
		outcome(t, g.Do(t, "GET", u.String(), nil), 400, "invalid", "page token")
		// Every page of one answer uses the asOf of the first.
		_, res := opIDs(t, g, "/fhir/ServiceRequest/$long-waits?state=all&_count=2&asOf="+dayString(today-30))
		want := n.waits(today - 30)
		if len(res) != len(want) {
			t.Fatalf("%d waits on asOf−30, naive %d", len(res), len(want))
		}
		for i, r := range res {
			if ext := waitingTime(r); ext["waitDays"] != strconv.Itoa(want[i].wait) {
				t.Fatalf("%s: %v, naive wait %d on asOf−30", r["id"], ext, want[i].wait)
			}
		}
	})
	t.Run("bad parameters are clear errors", func(t *testing.T) {
		outcome(t, g.Do(t, "GET", "/fhir/ServiceRequest/$long-waits?asOf=31-12-2026", nil), 400, "value", "asOf")
		outcome(t, g.Do(t, "GET", "/fhir/ServiceRequest/$long-waits?insurer=71", nil), 400, "value", "UZOVI")
		outcome(t, g.Do(t, "GET", "/fhir/ServiceRequest/$long-waits?state=late", nil), 400, "value", "exceeded, at-risk or all")
		outcome(t, g.Do(t, "GET", "/fhir/ServiceRequest/$long-waits?kind=surgery", nil), 400, "value", "wait kind")
		outcome(t, g.Do(t, "GET", "/fhir/ServiceRequest/$long-waits?specialty=http://snomed.info/sct|123", nil), 400, "value", "specialty")
		outcome(t, g.Do(t, "GET", "/fhir/ServiceRequest/$long-waits?colour=blue", nil, "Prefer: handling=strict"), 400, "not-supported", "colour")
		expect(t, g.Do(t, "GET", "/fhir/ServiceRequest/$long-waits?colour=blue", nil), 200)
		outcome(t, g.Do(t, "POST", "/fhir/ServiceRequest/$long-waits", `{"resourceType":"Patient"}`), 400, "invalid", "Parameters")
		outcome(t, g.Do(t, "GET", "/fhir/Slot/$availability?_sort=distance", nil), 400, "required", "near")
		outcome(t, g.Do(t, "GET", "/fhir/Slot/$availability?contracted=true", nil), 400, "required", "insurer")
		outcome(t, g.Do(t, "GET", "/fhir/MeasureReport/$regional-capacity?region=Atlantis", nil), 400, "value", "region")
		outcome(t, g.Do(t, "GET", "/fhir/ServiceRequest/demo-sr-0009/$mediation-options", nil), 422, "business-rule", "not an open wait")
		outcome(t, g.Do(t, "GET", "/fhir/ServiceRequest/nope/$mediation-options", nil), 404, "not-found")
	})

	t.Run("free capacity near Nijmegen, contracted marked", func(t *testing.T) {
		b := expect(t, g.Do(t, "GET", "/fhir/Slot/$availability?near=51.84|5.86|60|km&insurer=3332&_count=50&specialty=0305", nil), 200).JSON(t)
		var starts []string
		inc := map[string]int{}
		for _, e := range listOf(b["entry"]) {
			r := path(e, "resource")
			switch str(path(e, "search", "mode")) {
			case "match":
				if str(path(r, "status")) != "free" {
					t.Fatalf("a %s slot: %v", path(r, "status"), r)
				}
				starts = append(starts, str(path(r, "start")))
				exts := map[string]bool{}
				for _, x := range listOf(path(r, "extension")) {
					exts[str(path(x, "url"))] = true
				}
				if !exts["https://wachtwijzer.nl/fhir/StructureDefinition/distanceKm"] || !exts["https://wachtwijzer.nl/fhir/StructureDefinition/contracted"] {
					t.Fatalf("slot extensions %v", exts)
				}
				if str(path(e, "search", "extension", 0, "url")) != "http://hl7.org/fhir/StructureDefinition/location-distance" {
					t.Fatal("no location-distance search extension")
				}
			case "include":
				inc[str(path(r, "resourceType"))]++
			}
		}
		if len(starts) == 0 {
			t.Fatal("no free orthopedie slot within 60 km of Nijmegen")
		}
		for i := 1; i < len(starts); i++ {
			a, _ := time.Parse(time.RFC3339, starts[i-1])
			c, _ := time.Parse(time.RFC3339, starts[i])
			if c.Before(a) {
				t.Fatalf("not by start: %s before %s", starts[i], starts[i-1])
			}
		}
		for _, typ := range []string{"Schedule", "HealthcareService", "Organization", "Location"} {
			if inc[typ] == 0 {
				t.Errorf("no %s included", typ)
			}
		}
		zbc := expect(t, g.Do(t, "GET", "/fhir/Slot/$availability?provider-kind=zbc&_count=200", nil), 200).JSON(t)
		for _, e := range listOf(zbc["entry"]) {
			if str(path(e, "search", "mode")) == "include" && str(path(e, "resource", "resourceType")) == "Organization" {
				if !strings.HasPrefix(str(path(e, "resource", "id")), "demo-org-zbc") {
					t.Fatalf("provider-kind=zbc includes %s", path(e, "resource", "id"))
				}
			}
		}
	})

	t.Run("mediation options for a long wait", func(t *testing.T) {
		b := expect(t, g.Do(t, "GET", "/fhir/ServiceRequest/demo-sr-0001/$mediation-options", nil), 200).JSON(t)
		n := 0
		for _, e := range listOf(b["entry"]) {
			if str(path(e, "search", "mode")) != "match" {
				continue
			}
			n++
			if numStr(path(e, "search", "score")) != strconv.Itoa(n) {
				t.Fatalf("option %d has score %v", n, path(e, "search", "score"))
			}
			opt := map[string]bool{}
			for _, x := range listOf(path(e, "resource", "extension")) {
				if str(path(x, "url")) == "https://wachtwijzer.nl/fhir/StructureDefinition/mediation-option" {
					for _, s := range listOf(path(x, "extension")) {
						opt[str(path(s, "url"))] = true
					}
				}
			}
			for _, k := range []string{"rank", "daysGained", "distanceKm", "contracted", "reason"} {
				if !opt[k] {
					t.Fatalf("mediation-option lacks %s: %v", k, opt)
				}
			}
		}
		if n == 0 {
			t.Fatalf("no option for demo-sr-0001 (orthopedie, 50 days): %v", b)
		}
	})

	t.Run("regional capacity: Gelderland orthopedie published, small cells suppressed, CSV", func(t *testing.T) {
		b := expect(t, g.Do(t, "GET", "/fhir/MeasureReport/$regional-capacity", nil), 200).JSON(t)
		if str(b["type"]) != "collection" || len(listOf(b["entry"])) != 12 {
			t.Fatalf("want a collection of 12 MeasureReports, got %s with %d", b["type"], len(listOf(b["entry"])))
		}
		found, suppressed := false, false
		var geWait []int
		geExceeded := 0
		for _, w := range all {
			if _, _, pc, _ := n.home(w.patient); province(pc) == "NL-GE" && w.spec == "0305" && !w.onHold {
				geWait = append(geWait, w.wait)
				if w.exceeded() {
					geExceeded++
				}
			}
		}
		for _, e := range listOf(b["entry"]) {
			mr := path(e, "resource")
			for _, grp := range listOf(path(mr, "group")) {
				region, spec := str(path(mr, "subject", "identifier", "value")), str(path(grp, "code", "coding", 0, "code"))
				pops := map[string]any{}
				for _, p := range listOf(path(grp, "population")) {
					pops[str(path(p, "code", "coding", 0, "code"))] = p
				}
				if region == "NL-GE" && spec == "0305" {
					found = true
					if numStr(path(pops["waiting"], "count")) != strconv.Itoa(len(geWait)) || numStr(path(pops["exceeded"], "count")) != strconv.Itoa(geExceeded) {
						t.Fatalf("Gelderland orthopedie %v, naive waiting %d exceeded %d", pops, len(geWait), geExceeded)
					}
				}
				if path(pops["waiting"], "_count", "extension", 0, "valueCode") == "masked" {
					suppressed = true
				}
			}
		}
		if !found || len(geWait) < 5 || !suppressed {
			t.Fatalf("published Gelderland orthopedie %v (%d waits), some cell suppressed %v", found, len(geWait), suppressed)
		}
		csv := expect(t, g.Do(t, "GET", "/fhir/MeasureReport/$regional-capacity?_format=csv&region=NL-GE", nil), 200)
		if !strings.Contains(string(csv.Body), "NL-GE;Gelderland;0305;"+asOf+";8;"+strconv.Itoa(len(geWait))+";"+strconv.Itoa(geExceeded)+";") {
			t.Fatalf("CSV: %s", csv.Body)
		}
	})

	t.Run("artefacts are served and listed", func(t *testing.T) {
		cs := expect(t, g.Do(t, "GET", "/fhir/metadata", nil), 200).JSON(t)
		ops := map[string]string{}
		for _, r := range listOf(path(cs, "rest", 0, "resource")) {
			for _, o := range listOf(path(r, "operation")) {
				ops[str(path(r, "type"))+"/"+str(path(o, "name"))] = str(path(o, "definition"))
			}
		}
		for _, op := range []string{"ServiceRequest/long-waits", "Slot/availability", "ServiceRequest/mediation-options", "MeasureReport/regional-capacity", "Task/mediation-report", "HealthcareService/import-waiting-times"} {
			def := ops[op]
			if def == "" {
				t.Fatalf("CapabilityStatement lacks %s: %v", op, ops)
			}
			id := def[strings.LastIndex(def, "/")+1:]
			od := expect(t, g.Do(t, "GET", "/fhir/OperationDefinition/"+id, nil), 200).JSON(t)
			if str(od["url"]) != def || str(od["resourceType"]) != "OperationDefinition" {
				t.Fatalf("OperationDefinition/%s: %v", id, od["url"])
			}
		}
		for _, p := range []string{"/fhir/StructureDefinition/waiting-time", "/fhir/StructureDefinition/mediation-option", "/fhir/StructureDefinition/published-waiting-time",
			"/fhir/CodeSystem/wait-kind", "/fhir/CodeSystem/provider-kind", "/fhir/Measure/regional-capacity"} {
			expect(t, g.Do(t, "GET", p, nil), 200)
		}
		expect(t, g.Do(t, "GET", "/fhir/StructureDefinition/nope", nil), 404)
		b := expect(t, g.Do(t, "GET", "/fhir/CodeSystem", nil), 200).JSON(t)
		if numStr(b["total"]) == "0" {
			t.Fatal("no CodeSystems listed")
		}
	})

	t.Run("published waits are searchable", func(t *testing.T) {
		// Every demo service with a published wait above its norm.
		want := 0
		for _, hs := range n.res["HealthcareService"] {
			over := false
			for _, e := range listOf(hs["extension"]) {
				k, d := "", -1
				for _, s := range listOf(path(e, "extension")) {
					switch str(path(s, "url")) {
					case "kind":
						k = str(path(s, "valueCode"))
					case "days":
						d, _ = strconv.Atoi(numStr(path(s, "valueInteger")))
					}
				}
				if k != "" && d > norms[k] {
					over = true
				}
			}
			if over {
				want++
			}
		}
		b := expect(t, g.Do(t, "GET", "/fhir/HealthcareService?exceeds-norm=true&_summary=count", nil), 200).JSON(t)
		if numStr(b["total"]) != strconv.Itoa(want) || want == 0 {
			t.Fatalf("exceeds-norm=true: %v, naive %d", b["total"], want)
		}
		expect(t, g.Do(t, "GET", "/fhir/HealthcareService?wait-type=treatment&wait-days=gt30", nil), 200)
	})
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

func TestMediationTaskLifecycleAndReport(t *testing.T) {
	g, _, today := demoGateway(t)
	defer g.Stop()
	task := func(status, extra string) string {
		return `{"resourceType":"Task","status":"` + status + `","intent":"order","code":{"coding":[{"system":"https://wachtwijzer.nl/fhir/CodeSystem/task-code","code":"mediation"}]},` +
			`"for":{"reference":"Patient/demo-pat-01"},"owner":{"reference":"Organization/demo-org-zv-oost"},"focus":{"reference":"ServiceRequest/demo-sr-0001"},"authoredOn":"` + dayString(today) + `"` + extra + `}`
	}
	out := `,"output":[{"type":{"coding":[{"system":"https://wachtwijzer.nl/fhir/CodeSystem/mediation-output","code":"chosen-provider"}]},"valueReference":{"reference":"Organization/demo-org-zbc-brabant"}},` +
		`{"type":{"coding":[{"system":"https://wachtwijzer.nl/fhir/CodeSystem/mediation-output","code":"days-gained"}]},"valueInteger":37}]`
	outcome(t, g.Do(t, "POST", "/fhir/Task", task("completed", out)), 422, "business-rule", "starts with status requested")
	r := expect(t, g.Do(t, "POST", "/fhir/Task", task("requested", "")), 201)
	id := str(r.JSON(t)["id"])
	put := func(status, extra string) *Resp {
		body := strings.Replace(task(status, extra), `{"resourceType":"Task",`, `{"resourceType":"Task","id":"`+id+`",`, 1)
		return g.Do(t, "PUT", "/fhir/Task/"+id, body)
	}
	outcome(t, put("completed", out), 422, "business-rule", "cannot go from requested to completed")
	expect(t, put("in-progress", ""), 200)
	outcome(t, put("completed", ""), 422, "business-rule", "chosen provider")
	expect(t, put("completed", out), 200)
	outcome(t, put("in-progress", ""), 422, "business-rule", "completed to in-progress")
	outcome(t, g.Do(t, "POST", "/fhir/Task", strings.Replace(task("requested", ""), `"focus":{"reference":"ServiceRequest/demo-sr-0001"},`, "", 1)), 422, "business-rule", "focus")
	// A second one, cancelled.
	r2 := expect(t, g.Do(t, "POST", "/fhir/Task", task("requested", "")), 201)
	id2 := str(r2.JSON(t)["id"])
	body := strings.Replace(task("cancelled", ""), `{"resourceType":"Task",`, `{"resourceType":"Task","id":"`+id2+`",`, 1)
	expect(t, g.Do(t, "PUT", "/fhir/Task/"+id2, body), 200)

	rep := expect(t, g.Do(t, "GET", "/fhir/Task/$mediation-report?insurer=3332", nil), 200).JSON(t)
	groups := listOf(rep["parameter"])
	if len(groups) != 1 {
		t.Fatalf("report groups: %s", rep)
	}
	parts := map[string]string{}
	for _, p := range listOf(path(groups[0], "part")) {
		m := p.(map[string]any)
		for k, v := range m {
			if strings.HasPrefix(k, "value") {
				parts[str(m["name"])] = fmt.Sprint(v)
			}
		}
	}
	if parts["completed"] != "1" || parts["cancelled"] != "1" || parts["days-gained"] != "37" || !strings.Contains(parts["specialty"], "0305") {
		t.Fatalf("report parts %v", parts)
	}
	if other := expect(t, g.Do(t, "GET", "/fhir/Task/$mediation-report?insurer=7119", nil), 200).JSON(t); len(listOf(other["parameter"])) != 0 {
		t.Fatalf("another insurer sees 3332's mediations: %v", other)
	}
}

func TestImportWaitingTimesOverHTTP(t *testing.T) {
	g, n, _ := demoGateway(t)
	defer g.Stop()
	// One row for a demo service (its location AGB and specialism) and
	// three bad rows; ISO-8859-1, ';', CRLF, as the NZa publishes.
	var loc, locAGB, provAGB, spec string
	for _, hs := range n.res["HealthcareService"] {
		if str(path(hs, "id")) == "demo-hs-umc-oost-0305" {
			loc = refID(listOf(hs["location"])[0], "Location")
			spec = strings.TrimPrefix(spec4(listOf(hs["specialty"])[0]), "0")
		}
	}
	for _, id := range listOf(n.res["Location"][loc]["identifier"]) {
		locAGB = str(path(id, "value"))
	}
	org := refID(n.res["Location"][loc]["managingOrganization"], "Organization")
	for _, id := range listOf(n.res["Organization"][org]["identifier"]) {
		if str(path(id, "system")) == "http://fhir.nl/fhir/NamingSystem/agb-z" {
			provAGB = str(path(id, "value"))
		}
	}
	if loc == "" || locAGB == "" || provAGB == "" {
		t.Fatal("the demo service has no location or AGB codes")
	}
	date := time.Now().Format("2006-01-02")
	header := "Date;WaitingTime;InsufficientObservations;KVKNumber;CareProvider;CareProvider_AGBCode;LocationKey;Location_AGBCode;Location;Street;StreetNumber;PostalCode;City;TreatmentKey;TreatmentNumber;Treatment;TreatmentType;Specialism;Description"
	rows := []string{
		header,
		date + ";61;Nee;12345678;UMC Oost;" + provAGB + ";k1;" + locAGB + ";Hoofdlocatie;Weg;1;6525GA;Nijmegen;t1;" + spec + "1;Eerste polikliniekbezoek;Polikliniekbezoek;Orthopedie (" + spec + ");x",
		date + ";;Ja;12345678;Zorggroep Fryslân;22990001;k2;22990002;Fryslân Kliniek;Wei;2;8911AA;Leeuwarden;t2;3013;Behandeling;Behandeling;Chirurgie (303);y",
		date + ";10;Nee;1;X;123;k3;;Loc;;;;;t3;1;T;Polikliniekbezoek;Orthopedie (305);bad AGB",
		date + ";10;Nee;1;X;22990001;k4;22990003;Loc;;;;;t4;1;T;Spoedeisend;Orthopedie (305);bad type",
		date + ";abc;Nee;1;X;22990001;k5;22990003;Loc;;;;;t5;1;T;Diagnostiek;Orthopedie (305);bad wait",
	}
	latin1 := func(s string) []byte {
		var b []byte
		for _, r := range s {
			b = append(b, byte(r))
		}
		return b
	}
	csv := latin1(strings.Join(rows, "\r\n") + "\r\n")
	r := g.Do(t, "POST", "/fhir/HealthcareService/$import-waiting-times", csv, "Content-Type: text/csv")
	b := expect(t, r, 200).JSON(t)
	body := string(r.Body)
	for _, want := range []string{"5 rows: 2 imported", "3 rejected", "line 4", "CareProvider_AGBCode", "line 5", "TreatmentType", "line 6", "WaitingTime", "created 1 Organizations, 1 Locations"} {
		if !strings.Contains(body, want) {
			t.Fatalf("report lacks %q: %s", want, body)
		}
	}
	_ = b
	hs := expect(t, g.Do(t, "GET", "/fhir/HealthcareService/demo-hs-umc-oost-0305", nil), 200)
	if !strings.Contains(string(hs.Body), `"valueInteger":61`) || !strings.Contains(string(hs.Body), `"versionId":"2"`) {
		t.Fatalf("the demo service was not updated with 61 days: %s", hs.Body)
	}
	hist := expect(t, g.Do(t, "GET", "/fhir/HealthcareService/demo-hs-umc-oost-0305/_history", nil), 200).JSON(t)
	if numStr(hist["total"]) != "2" {
		t.Fatalf("history keeps %v versions, want 2", hist["total"])
	}
	// The created Organization and Location carry the Frisian name, decoded
	// from ISO-8859-1.
	s := expect(t, g.Do(t, "GET", "/fhir/Location?name=Fryslân", nil), 200)
	if !strings.Contains(string(s.Body), "Fryslân Kliniek") {
		t.Fatalf("ISO-8859-1 not decoded: %s", s.Body)
	}
	// An older publication does not replace the newer figure.
	old := strings.Replace(rows[1], date, "2020-01-07", 1)
	r = g.Do(t, "POST", "/fhir/HealthcareService/$import-waiting-times", latin1(header+"\r\n"+old+"\r\n"), "Content-Type: text/csv")
	if !strings.Contains(string(r.Body), "older than the stored") {
		t.Fatalf("older row not reported: %s", r.Body)
	}
	hs = expect(t, g.Do(t, "GET", "/fhir/HealthcareService/demo-hs-umc-oost-0305", nil), 200)
	if !strings.Contains(string(hs.Body), `"versionId":"2"`) {
		t.Fatal("an older publication rewrote the service")
	}
	// The JSON of the WaitingTimeMSZ API, inside a Parameters attachment.
	js := `[{"Date":"` + date + `T00:00:00","WaitingTime":55,"InsufficientObservations":"Nee","CareProvider":"UMC Oost","CareProvider_AGBCode":"` + provAGB + `","Location_AGBCode":"` + locAGB + `","TreatmentType":"Polikliniekbezoek","Specialism":"Orthopedie (` + spec + `)"}]`
	params := `{"resourceType":"Parameters","parameter":[{"name":"file","valueAttachment":{"contentType":"application/json","data":"` + base64.StdEncoding.EncodeToString([]byte(js)) + `"}}]}`
	r = expect(t, g.Do(t, "POST", "/fhir/HealthcareService/$import-waiting-times", params), 200)
	if !strings.Contains(string(r.Body), "1 rows: 1 imported") {
		t.Fatalf("JSON import: %s", r.Body)
	}
	hs = expect(t, g.Do(t, "GET", "/fhir/HealthcareService/demo-hs-umc-oost-0305", nil), 200)
	if !strings.Contains(string(hs.Body), `"valueInteger":55`) {
		t.Fatalf("JSON figure not stored: %s", hs.Body)
	}
	outcome(t, g.Do(t, "POST", "/fhir/HealthcareService/$import-waiting-times", "no;header;here\r\n1;2;3\r\n", "Content-Type: text/csv"), 400, "structure", "missing columns")
	outcome(t, g.Do(t, "POST", "/fhir/HealthcareService/$import-waiting-times", "x", "Content-Type: application/pdf"), 415, "not-supported")
	outcome(t, g.Do(t, "GET", "/fhir/HealthcareService/$import-waiting-times", nil), 405, "not-supported", "POST")
}
