package tests

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/encoding/charmap"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/internal/redistest"
)

type manifest struct {
	TransactionTime string `json:"transactionTime"`
	Request         string `json:"request"`
	Output          []struct {
		Type  string `json:"type"`
		URL   string `json:"url"`
		Count int    `json:"count"`
	} `json:"output"`
	Error []struct {
		Type  string `json:"type"`
		Count int    `json:"count"`
	} `json:"error"`
	Outcome map[string]any `json:"outcome"`
}

func decodeManifest(t *testing.T, b []byte) manifest {
	t.Helper()
	var m manifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("manifest: %v: %s", err, b)
	}
	return m
}

func (m manifest) count(typ string) int {
	for _, o := range m.Output {
		if o.Type == typ {
			return o.Count
		}
	}
	return 0
}

const uploadNDJSON = `{"resourceType":"Patient","id":"imp-1","name":[{"family":"Een"}]}
{"resourceType":"Patient","id":"imp-2","name":[{"family":"Twee"}]}

{"resourceType":"Patient","id":"imp-3","name":[{"family":
{"resourceType":"Observation","id":"x"}
{"resourceType":"Slot","id":"imp-s1","schedule":{"reference":"Schedule/x"},"status":"free","start":"2026-12-20T09:00:00+01:00","end":"2026-12-20T09:20:00+01:00"}
`

func TestImportOperationUploadAsyncAndURLs(t *testing.T) {
	g := StartGateway(t, GatewayOptions{})
	// Synchronous upload: valid lines written, bad ones reported.
	r := expect(t, g.Do(t, "POST", "/fhir/$import", uploadNDJSON, "Content-Type: application/fhir+ndjson"), 200)
	m := decodeManifest(t, r.Body)
	if m.count("Patient") != 2 || m.count("Slot") != 1 || len(m.Error) != 1 || m.Error[0].Count != 2 {
		t.Fatalf("manifest %s", r.Body)
	}
	if !strings.Contains(string(r.Body), "upload:4") || !strings.Contains(string(r.Body), "upload:5") {
		t.Fatalf("the rejected lines are not named: %s", r.Body)
	}
	expect(t, g.Do(t, "GET", "/fhir/Patient/imp-2", nil), 200)

	// Asynchronous: 202 and a status URL; polling gives 202 then the manifest.
	r = expect(t, g.Do(t, "POST", "/fhir/$import", strings.ReplaceAll(uploadNDJSON, "imp-", "async-"), "Content-Type: application/fhir+ndjson", "Prefer: respond-async"), 202)
	loc := r.Header.Get("Content-Location")
	if !strings.Contains(loc, "/fhir/$import-status/") {
		t.Fatalf("Content-Location %q", loc)
	}
	var done *Resp
	waitFor(t, "the asynchronous import", 20*time.Second, func() bool {
		p := g.Do(t, "GET", loc, nil)
		switch p.Status {
		case 202:
			if p.Header.Get("X-Progress") == "" {
				t.Fatal("202 without X-Progress")
			}
			return false
		case 200:
			done = p
			return true
		}
		t.Fatalf("poll: %d %s", p.Status, p.Body)
		return false
	})
	if dm := decodeManifest(t, done.Body); dm.count("Patient") != 2 {
		t.Fatalf("async manifest %s", done.Body)
	}
	expect(t, g.Do(t, "GET", "/fhir/Patient/async-1", nil), 200)
	outcome(t, g.Do(t, "GET", "/fhir/$import-status/nosuchjob", nil), 404, "not-found")

	// A Parameters listing files by URL (Bulk Data style), fetched with the
	// retrying client: a first 503 is retried; a line of the wrong type is
	// rejected.
	calls := 0
	files := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		if calls == 1 {
			w.Header().Set("Retry-After", "0")
			http.Error(w, "busy", 503)
			return
		}
		w.Header().Set("Content-Type", "application/fhir+ndjson")
		w.Write([]byte(`{"resourceType":"Patient","id":"url-1","name":[{"family":"Url"}]}` + "\n" + `{"resourceType":"Slot","id":"url-s","schedule":{"reference":"Schedule/x"},"status":"free","start":"2026-12-20T09:00:00+01:00","end":"2026-12-20T09:20:00+01:00"}` + "\n"))
	}))
	defer files.Close()
	params := `{"resourceType":"Parameters","parameter":[{"name":"inputFormat","valueCode":"application/fhir+ndjson"},{"name":"input","part":[{"name":"type","valueCode":"Patient"},{"name":"url","valueUrl":"` + files.URL + `/Patient.ndjson"}]}]}`
	r = expect(t, g.Do(t, "POST", "/fhir/$import", params), 200)
	if pm := decodeManifest(t, r.Body); pm.count("Patient") != 1 || len(pm.Error) != 1 || !strings.Contains(string(r.Body), "declared as Patient") {
		t.Fatalf("URL import manifest %s", r.Body)
	}
	expect(t, g.Do(t, "GET", "/fhir/Patient/url-1", nil), 200)

	outcome(t, g.Do(t, "POST", "/fhir/$import", `{"resourceType":"Parameters","parameter":[{"name":"input","part":[{"name":"url","valueUrl":"file:///etc/passwd"}]}]}`), 400, "value")
	outcome(t, g.Do(t, "POST", "/fhir/$import", "a,b", "Content-Type: text/csv"), 415, "not-supported")
	outcome(t, g.Do(t, "POST", "/fhir/$import", "", "Content-Type: application/fhir+ndjson"), 400, "required")
}

func TestImportOperationSizeLimit(t *testing.T) {
	g := StartGateway(t, GatewayOptions{Args: []string{"--import-max-bytes", "300"}})
	outcome(t, g.Do(t, "POST", "/fhir/$import", uploadNDJSON+uploadNDJSON, "Content-Type: application/fhir+ndjson"), 413, "too-long", "--import-max-bytes")
}

func slotsOf(t *testing.T, g *Gateway) []map[string]any {
	t.Helper()
	r := expect(t, g.Do(t, "GET", "/fhir/Slot?_count=500", nil), 200)
	var b struct {
		Entry []struct {
			Resource map[string]any `json:"resource"`
		} `json:"entry"`
	}
	json.Unmarshal(r.Body, &b)
	var out []map[string]any
	for _, e := range b.Entry {
		out = append(out, e.Resource)
	}
	return out
}

func slotKeys(slots []map[string]any) []string {
	var ks []string
	for _, s := range slots {
		ks = append(ks, str(s["start"])+"|"+str(s["end"])+"|"+str(s["status"]))
	}
	sort.Strings(ks)
	return ks
}

// TestBulkPublishFromOneGatewayIntoAnother publishes gateway A's capacity
// at $bulk-publish and imports it into gateway B: the same slots, with
// their schedules and locations linked under B's ids; an increment
// (_since) brings a changed slot over.
func TestBulkPublishFromOneGatewayIntoAnother(t *testing.T) {
	redistest.Require(t)
	url := redistest.Shared(t).URL()
	pa, pb := redistest.Prefix(t), redistest.Prefix(t)
	a := StartGateway(t, GatewayOptions{RedisURL: url, Args: []string{"--key-prefix", pa}})
	day := time.Now().In(ww.Amsterdam).AddDate(0, 0, 3).Format("2006-01-02")
	tx := `{"resourceType":"Bundle","type":"transaction","entry":[
	 {"resource":{"resourceType":"Location","id":"loc1","name":"ZBC Oost","address":{"city":"Enschede","postalCode":"7511 AA"}},"request":{"method":"PUT","url":"Location/loc1"}},
	 {"resource":{"resourceType":"Schedule","id":"sch1","actor":[{"reference":"Location/loc1"}],"serviceType":[{"coding":[{"system":"https://wachtwijzer.nl/fhir/CodeSystem/wait-kind","code":"outpatient"}]}]},"request":{"method":"PUT","url":"Schedule/sch1"}},
	 {"resource":{"resourceType":"Slot","id":"s1","schedule":{"reference":"Schedule/sch1"},"status":"free","start":"` + day + `T09:00:00+01:00","end":"` + day + `T09:20:00+01:00","extension":[{"url":"http://fhir-registry.smarthealthit.org/StructureDefinition/booking-deep-link","valueUrl":"https://zbc.example.nl/boek?s=1"}]},"request":{"method":"PUT","url":"Slot/s1"}},
	 {"resource":{"resourceType":"Slot","id":"s2","schedule":{"reference":"Schedule/sch1"},"status":"busy","start":"` + day + `T09:20:00+01:00","end":"` + day + `T09:40:00+01:00"},"request":{"method":"PUT","url":"Slot/s2"}},
	 {"resource":{"resourceType":"Slot","id":"s3","schedule":{"reference":"Schedule/sch1"},"status":"free","start":"` + day + `T09:40:00+01:00","end":"` + day + `T10:00:00+01:00"},"request":{"method":"PUT","url":"Slot/s3"}}]}`
	expect(t, a.Do(t, "POST", "/fhir", tx), 200)

	r := expect(t, a.Do(t, "GET", "/fhir/$bulk-publish", nil), 200)
	mf := decodeManifest(t, r.Body)
	if len(mf.Output) < 3 || !strings.HasSuffix(mf.Request, "/$bulk-publish") {
		t.Fatalf("manifest %s", r.Body)
	}
	for _, o := range mf.Output {
		if o.Type == "Slot" {
			f := expect(t, a.Do(t, "GET", o.URL, nil), 200)
			if f.Header.Get("Content-Type") != "application/fhir+ndjson" || strings.Count(string(f.Body), "\n") != 3 {
				t.Fatalf("Slot file %q: %s", f.Header.Get("Content-Type"), f.Body)
			}
		}
	}
	importInto := func(extra ...string) string {
		args := append([]string{"import", "--redis-url", url, "--key-prefix", pb, "--format", "bulk-publish"}, extra...)
		code, out := run(t, nil, append(args, a.Base+"/$bulk-publish")...)
		if code != 0 {
			t.Fatalf("import: exit %d: %s", code, out)
		}
		return out
	}
	importInto()
	b := StartGateway(t, GatewayOptions{RedisURL: url, Args: []string{"--key-prefix", pb}})
	sa, sb := slotsOf(t, a), slotsOf(t, b)
	if strings.Join(slotKeys(sa), ",") != strings.Join(slotKeys(sb), ",") {
		t.Fatalf("different slots:\nA %v\nB %v", slotKeys(sa), slotKeys(sb))
	}
	deep := 0
	for _, s := range sb {
		ref := str(path(s, "schedule", "reference"))
		sch := expect(t, b.Do(t, "GET", "/fhir/"+ref, nil), 200).JSON(t)
		if loc := str(path(sch, "actor", 0, "reference")); expect(t, b.Do(t, "GET", "/fhir/"+loc, nil), 200) == nil {
			t.Fatal("unreachable")
		}
		if !strings.Contains(toJSON(s), ww.ExtLastSourceSync) {
			t.Fatalf("imported slot without lastSourceSync: %v", s)
		}
		if strings.Contains(toJSON(s), "booking-deep-link") {
			deep++
		}
	}
	if deep != 1 {
		t.Fatalf("%d slots keep the booking deep link, want 1", deep)
	}
	// An increment: a slot is booked at A; the next import brings it.
	expect(t, a.Do(t, "PUT", "/fhir/Slot/s3", `{"resourceType":"Slot","id":"s3","schedule":{"reference":"Schedule/sch1"},"status":"busy","start":"`+day+`T09:40:00+01:00","end":"`+day+`T10:00:00+01:00"}`), 200)
	importInto()
	if strings.Join(slotKeys(slotsOf(t, a)), ",") != strings.Join(slotKeys(slotsOf(t, b)), ",") {
		t.Fatalf("the increment did not arrive:\nA %v\nB %v", slotKeys(slotsOf(t, a)), slotKeys(slotsOf(t, b)))
	}
}

func toJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestSmartSchedulingLinksSampleFiles imports the shared sample publisher
// (manifest and NDJSON, served by a test server) and checks every resource
// and extension arrived, linked under the gateway's ids.
func TestSmartSchedulingLinksSampleFiles(t *testing.T) {
	dir := filepath.Join("..", "..", "shared", "data", "standards", "smart-scheduling-links")
	raw, err := os.ReadFile(filepath.Join(dir, "bulk-publish-manifest.json"))
	if err != nil {
		t.Skipf("the shared SMART Scheduling Links samples are absent (%v)", err)
	}
	redistest.Require(t)
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "$bulk-publish") {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(strings.ReplaceAll(string(raw), "https://zbc-voorbeeld.example.nl", srv.URL)))
			return
		}
		b, err := os.ReadFile(filepath.Join(dir, filepath.Base(r.URL.Path)))
		if err != nil {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/fhir+ndjson")
		w.Write(b)
	}))
	defer srv.Close()
	url := redistest.Shared(t).URL()
	p := redistest.Prefix(t)
	code, out := run(t, nil, "import", "--redis-url", url, "--key-prefix", p, "--format", "bulk-publish", srv.URL+"/fhir-publish/$bulk-publish")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, out)
	}
	g := StartGateway(t, GatewayOptions{RedisURL: url, Args: []string{"--key-prefix", p}})
	count := func(typ string) []map[string]any {
		r := expect(t, g.Do(t, "GET", "/fhir/"+typ+"?_count=100", nil), 200)
		var b struct {
			Entry []struct {
				Resource map[string]any `json:"resource"`
			} `json:"entry"`
		}
		json.Unmarshal(r.Body, &b)
		var out []map[string]any
		for _, e := range b.Entry {
			out = append(out, e.Resource)
		}
		return out
	}
	locs, scheds, slots := count("Location"), count("Schedule"), count("Slot")
	if len(locs) != 2 || len(scheds) != 2 || len(slots) != 3 {
		t.Fatalf("%d locations, %d schedules, %d slots; the publisher has 2, 2, 3", len(locs), len(scheds), len(slots))
	}
	all := toJSON(slots) + toJSON(scheds)
	for _, want := range []string{"booking-deep-link", "https://zbc-voorbeeld.example.nl/boeken?slot=opaque-0", "booking-phone", "slot-capacity", "has-availability"} {
		if !strings.Contains(all, want) {
			t.Errorf("the import lost %s", want)
		}
	}
	for _, s := range scheds {
		ref := str(path(s, "actor", 0, "reference"))
		if strings.Contains(ref, "zbc-gron-1") || strings.Contains(ref, "zbc-assen-1") {
			t.Fatalf("the actor reference was not rewritten: %s", ref)
		}
		expect(t, g.Do(t, "GET", "/fhir/"+ref, nil), 200)
	}
}

const csvMapping = `{
  "sender": {"agb": "6011234", "name": "Ziekenhuis Noord"},
  "dialect": {"separator": ";", "charset": "windows-1252", "header": true, "skipRows": 1},
  "columns": {"patientNumber": "PatNr", "bsn": "BSN", "family": "Naam", "birthDate": "GebDat",
    "orderNumber": "Verwijzing", "referralDate": "Datum verwijzing", "specialism": "Spec", "kind": "Soort",
    "appointmentNumber": "Afspr", "appointmentDate": "Afspraak", "appointmentStatus": "Status afspraak"},
  "codes": {"specialism": {"ORTH": "0305"}, "kind": {"POLI": "outpatient"}, "appointmentStatus": {"Gepland": "booked"}},
  "dateFormats": ["02-01-2006"], "appointmentMinutes": 20
}`

func win1252(t *testing.T, s string) []byte {
	b, err := charmap.Windows1252.NewEncoder().Bytes([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestHospitalCSVExportImportAndCloseMissing imports a messy Windows-1252
// export (a title line, semicolons, blank lines, a bad date), reports the
// bad row and imports the rest; the next export updates and, with
// --close-missing, closes the wait that left the list.
func TestHospitalCSVExportImportAndCloseMissing(t *testing.T) {
	redistest.Require(t)
	url := redistest.Shared(t).URL()
	p := redistest.Prefix(t)
	dir := t.TempDir()
	mapping := filepath.Join(dir, "zkh-noord.json")
	os.WriteFile(mapping, []byte(csvMapping), 0o600)
	hdr := "Export wachtlijst – Ziekenhuis Noord\r\nPatNr;BSN;Naam;GebDat;Verwijzing;Datum verwijzing;Spec;Soort;Afspr;Afspraak;Status afspraak\r\n"
	first := filepath.Join(dir, "export-1.csv")
	os.WriteFile(first, win1252(t, hdr+
		"P001;999911120;Jansen-Ölçek;01-02-1950;V1;03-11-2026;ORTH;POLI;A1;15-12-2026 09:30;Gepland\r\n\r\n"+
		"P002;123456782;De Vries;12-12-1980;V2;31-11-2026;ORTH;POLI;;;\r\n"+
		"P003;;\"Bakker; B.\";05-05-1970;V3;01-10-2026;0305;POLI;;;\r\n\r\n"), 0o600)
	report := filepath.Join(dir, "report.csv")
	code, out := run(t, nil, "import", "--redis-url", url, "--key-prefix", p, "--format", "hospital-csv", "--mapping", mapping, "--report", report, first)
	if code != 1 || !strings.Contains(out, "export-1.csv:5") || !strings.Contains(out, "Datum verwijzing") {
		t.Fatalf("exit %d (want 1: one row rejected, named with its line and column): %s", code, out)
	}
	if strings.Contains(out, "123456782") || strings.Contains(out, "De Vries") {
		t.Fatalf("the report carries patient data: %s", out)
	}
	rep, _ := os.ReadFile(report)
	for _, want := range []string{"3;imported", "5;rejected", "6;imported"} {
		if !strings.Contains(string(rep), want) {
			t.Fatalf("the per-row report lacks %q:\n%s", want, rep)
		}
	}
	g := StartGateway(t, GatewayOptions{RedisURL: url, Args: []string{"--key-prefix", p}})
	key := func(typ, kind, v string) string {
		r := expect(t, g.Do(t, "GET", "/fhir/"+typ+"?identifier="+ww.HospitalSystem("06011234", kind)+"|"+v, nil), 200).JSON(t)
		if n := len(path(r, "entry").([]any)); n != 1 {
			t.Fatalf("%s %s: %d matches", typ, v, n)
		}
		return str(path(r, "entry", 0, "resource", "id"))
	}
	v1 := key("ServiceRequest", "order", "V1")
	v3 := key("ServiceRequest", "order", "V3")
	ap := expect(t, g.Do(t, "GET", "/fhir/Appointment/"+key("Appointment", "appointment", "A1"), nil), 200).JSON(t)
	if str(ap["start"]) != "2026-12-15T09:30:00+01:00" || str(ap["end"]) != "2026-12-15T09:50:00+01:00" {
		t.Fatalf("appointment %v", ap)
	}
	pat := expect(t, g.Do(t, "GET", "/fhir/Patient?identifier="+ww.SystemBSN+"|999911120", nil), 200)
	if !strings.Contains(string(pat.Body), "Jansen-Ölçek") {
		t.Fatalf("the Windows-1252 name was not decoded: %s", pat.Body)
	}
	r := g.Do(t, "GET", "/fhir/ServiceRequest?identifier="+ww.HospitalSystem("06011234", "order")+"|V2", nil).JSON(t)
	if path(r, "entry") != nil {
		t.Fatal("the rejected row was imported")
	}

	// The next export: V1 is gone (treated), V3 stays, V2 is fixed.
	second := filepath.Join(dir, "export-2.csv")
	os.WriteFile(second, win1252(t, hdr+
		"P002;123456782;De Vries;12-12-1980;V2;30-11-2026;ORTH;POLI;;;\r\n"+
		"P003;;\"Bakker; B.\";05-05-1970;V3;01-10-2026;0305;POLI;;;\r\n"), 0o600)
	code, out = run(t, nil, "import", "--redis-url", url, "--key-prefix", p, "--format", "hospital-csv", "--mapping", mapping, "--close-missing", second)
	if code != 0 {
		t.Fatalf("second export: exit %d: %s", code, out)
	}
	if !strings.Contains(out, `"closed":1`) && !strings.Contains(out, "closed=1") {
		t.Fatalf("one wait should be closed: %s", out)
	}
	sr1 := expect(t, g.Do(t, "GET", "/fhir/ServiceRequest/"+v1, nil), 200).JSON(t)
	sr3 := expect(t, g.Do(t, "GET", "/fhir/ServiceRequest/"+v3, nil), 200).JSON(t)
	// V3 came again unchanged: no new version is written for it.
	if sr1["status"] != "completed" || sr3["status"] != "active" || str(path(sr3, "meta", "versionId")) != "1" {
		t.Fatalf("after --close-missing: V1 %v, V3 %v (version %v)", sr1["status"], sr3["status"], path(sr3, "meta", "versionId"))
	}
	key("ServiceRequest", "order", "V2")
}
