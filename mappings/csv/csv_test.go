package csv

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/encoding/charmap"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/conformance"
	"github.com/wachtwijzer/wachtwijzer/fhirjson"
	"github.com/wachtwijzer/wachtwijzer/gen"
)

var key = []byte("0123456789abcdef0123456789abcdef")

func decode(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestDefaultMappingReadsGenExport maps gen's hospital export and finds the
// very resources gen's FHIR output has: same ids, statuses, dates, kinds and
// specialisms.
func TestDefaultMappingReadsGenExport(t *testing.T) {
	cfg := gen.Config{Seed: 3, Appointments: 2000, AsOf: time.Date(2026, 3, 20, 10, 0, 0, 0, ww.Amsterdam), DeploymentKey: key}
	w, err := gen.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	prov := w.Providers()[0]
	var buf bytes.Buffer
	n, err := w.WriteHospitalCSV(&buf, prov.AGB)
	if err != nil || n == 0 {
		t.Fatalf("%d rows, %v", n, err)
	}
	byID := map[string]map[string]any{}
	if err := gen.Generate(cfg, gen.SinkFunc(func(typ, id string, js []byte) error {
		if typ == "ServiceRequest" || typ == "Appointment" || typ == "Patient" {
			var m map[string]any
			json.Unmarshal(js, &m)
			byID[typ+"/"+id] = m
		}
		return nil
	})); err != nil {
		t.Fatal(err)
	}
	res, err := Parse(buf.Bytes(), DefaultMapping(prov.AGB), key)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != n || len(res.ServiceRequests) != n {
		t.Fatalf("%d rows, %d waits; the export has %d", len(res.Rows), len(res.ServiceRequests), n)
	}
	appts := 0
	for _, row := range res.Rows {
		if len(row.Errors) > 0 {
			t.Fatalf("line %d: %v", row.Line, row.Errors)
		}
		for _, r := range row.Resources {
			g, ok := byID[r.Type+"/"+r.ID]
			if !ok {
				t.Fatalf("line %d: %s/%s is not a resource gen made", row.Line, r.Type, r.ID)
			}
			tree, _ := fhirjson.Parse(r.JSON, fhirjson.Limits{})
			if err := conformance.Validate(t.Context(), r.Type, tree); err != nil {
				t.Fatalf("line %d: %s does not validate: %v\n%s", row.Line, r.Type, err, r.JSON)
			}
			m := decode(t, r.JSON)
			switch r.Type {
			case "ServiceRequest":
				for _, f := range []string{"status", "authoredOn"} {
					if m[f] != g[f] {
						t.Fatalf("line %d: %s %v, gen %v", row.Line, f, m[f], g[f])
					}
				}
				if code(m, "performerType") != code(g, "performerType") || code(m["category"].([]any)[0].(map[string]any), "") != code(g["category"].([]any)[0].(map[string]any), "") {
					t.Fatalf("line %d: specialism or kind differ:\n%s\n%v", row.Line, r.JSON, g)
				}
				if len(m["category"].([]any)) != len(g["category"].([]any)) {
					t.Fatalf("line %d: complexity differs", row.Line)
				}
			case "Appointment":
				appts++
				if m["status"] != g["status"] {
					t.Fatalf("line %d: appointment status %v, gen %v", row.Line, m["status"], g["status"])
				}
				if g["start"] != nil {
					rp := m["requestedPeriod"].([]any)[0].(map[string]any)
					if rp["start"] != g["start"] {
						t.Fatalf("line %d: appointment time %v, gen start %v", row.Line, rp["start"], g["start"])
					}
				}
			case "Patient":
				if m["birthDate"] != g["birthDate"] || m["gender"] != g["gender"] {
					t.Fatalf("line %d: patient %v / %v", row.Line, m, g)
				}
			}
		}
	}
	if appts == 0 {
		t.Fatal("no appointments mapped")
	}
}

func code(m map[string]any, key string) string {
	v := m
	if key != "" {
		v, _ = m[key].(map[string]any)
	}
	c, _ := v["coding"].([]any)
	if len(c) == 0 {
		return ""
	}
	return c[0].(map[string]any)["code"].(string)
}

const messyMapping = `{
  "sender": {"agb": "6011234", "name": "Ziekenhuis Noord"},
  "dialect": {"separator": ";", "charset": "windows-1252", "header": true, "skipRows": 1},
  "columns": {"patientNumber": "PatNr", "bsn": "BSN", "family": "Naam", "birthDate": "GebDat", "postcode": "PC",
    "orderNumber": "Verwijzing", "referralDate": "Datum verwijzing", "specialism": "Spec", "kind": "Soort",
    "appointmentNumber": "Afspr", "appointmentDate": "Afspraak", "appointmentStatus": "Status afspraak", "location": "Locatie"},
  "codes": {"specialism": {"ORTH": "0305", "OOG": "0301"}, "kind": {"POLI": "outpatient", "OK": "treatment-day"},
    "appointmentStatus": {"Gepland": "booked", "Wachtlijst": "waitlist"}},
  "dateFormats": ["02-01-2006"],
  "appointmentMinutes": 15
}`

// messyExport is a Windows-1252 export: a title line, semicolons, quoted
// fields with separators, blank lines, and a row with a bad date.
func messyExport(t *testing.T) []byte {
	t.Helper()
	text := "Wachtlijst export Ziekenhuis Noord – december\r\n" +
		"PatNr;BSN;Naam;GebDat;PC;Verwijzing;Datum verwijzing;Spec;Soort;Afspr;Afspraak;Status afspraak;Locatie\r\n" +
		"P001;999911120;\"Jansen; van der\";01-02-1950;1234ab;V1;03-11-2026;ORTH;POLI;A1;15-12-2026 09:30;Gepland;6011235\r\n" +
		"\r\n" +
		"P002;123456782;Ölçek-Müller;12-12-1980;9700 AA;V2;31-11-2026;OOG;POLI;;;;\r\n" +
		";;;;;;;;;;;;\r\n" +
		"P003;;Brouwer;05-05-1970;;V3;01-10-2026;0305;OK;A3;;Wachtlijst;\r\n" +
		"P004;111111111;Smit;01-01-1960;;V4;01-10-2026;ORTH;POLI;;;;\r\n"
	b, err := charmap.Windows1252.NewEncoder().Bytes([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestMessyExportReportsPerRowAndMapsTheRest(t *testing.T) {
	m, err := LoadMapping([]byte(messyMapping))
	if err != nil {
		t.Fatal(err)
	}
	if m.Sender.AGB != "06011234" {
		t.Fatalf("7-digit AGB not padded: %s", m.Sender.AGB)
	}
	res, err := Parse(messyExport(t), m, key)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != 4 {
		t.Fatalf("%d rows; want 4 (blank lines skipped)", len(res.Rows))
	}
	byLine := map[int]*Row{}
	for _, r := range res.Rows {
		byLine[r.Line] = r
	}
	ok := byLine[3]
	if ok == nil || len(ok.Errors) != 0 || len(ok.Resources) != 3 {
		t.Fatalf("line 3: %+v", ok)
	}
	pat := decode(t, ok.Resources[0].JSON)
	if pat["name"].([]any)[0].(map[string]any)["family"] != "Jansen; van der" || pat["address"].([]any)[0].(map[string]any)["postalCode"] != "1234 AB" {
		t.Fatalf("patient %s", ok.Resources[0].JSON)
	}
	sr := decode(t, ok.Resources[1].JSON)
	if sr["authoredOn"] != "2026-11-03" || code(sr, "performerType") != "0305" || sr["id"] != ww.DeriveID(key, "ServiceRequest", ww.HospitalSystem("06011234", "order"), "V1") {
		t.Fatalf("wait %s", ok.Resources[1].JSON)
	}
	ap := decode(t, ok.Resources[2].JSON)
	if ap["start"] != "2026-12-15T09:30:00+01:00" || ap["end"] != "2026-12-15T09:45:00+01:00" || ap["status"] != "booked" {
		t.Fatalf("appointment %s", ok.Resources[2].JSON)
	}
	if !strings.Contains(string(ok.Resources[1].JSON), ww.DeriveID(key, "Location", ww.SystemAGB, "06011235")) {
		t.Fatal("the 7-digit location AGB was not padded")
	}
	bad := byLine[5]
	if bad == nil || len(bad.Errors) != 1 || !strings.Contains(bad.Errors[0], "line 5, column Datum verwijzing") {
		t.Fatalf("the bad date row: %+v", bad)
	}
	if strings.Contains(bad.Errors[0], "31-11-2026") || strings.Contains(bad.Errors[0], "123456782") {
		t.Fatalf("the report echoes row values: %s", bad.Errors[0])
	}
	wl := byLine[7]
	if wl == nil || len(wl.Errors) != 0 || decode(t, wl.Resources[2].JSON)["status"] != "waitlist" {
		t.Fatalf("waitlist row %+v", wl)
	}
	if bsn := byLine[8]; bsn == nil || len(bsn.Errors) != 1 || !strings.Contains(bsn.Errors[0], "elfproef") {
		t.Fatalf("invalid BSN row %+v", bsn)
	}
	if len(res.ServiceRequests) != 2 {
		t.Fatalf("waits %v", res.ServiceRequests)
	}
}

func TestCharsetsAndBOM(t *testing.T) {
	m := DefaultMapping("06011234")
	row := "P1;999911120;Çelik;1950-01-01;1234 AB;2026-11-01;0305;outpatient;;;O1;Ayşe;V;active;;;\n"
	hdr := strings.Join(gen.HospitalHeader, ";") + "\n"
	bom := append([]byte("\xef\xbb\xbf"), hdr+row...)
	res, err := Parse(bom, m, key)
	if err != nil || len(res.Rows) != 1 || len(res.Rows[0].Errors) > 0 {
		t.Fatalf("UTF-8 with BOM: %v %+v", err, res)
	}
	latin, _ := charmap.ISO8859_1.NewEncoder().Bytes([]byte(hdr + strings.Replace(row, "Ayşe", "Ayse", 1)))
	if _, err := Parse(latin, m, key); err == nil {
		t.Fatal("Latin-1 bytes read as UTF-8 without an error")
	}
	m2 := DefaultMapping("06011234")
	m2.Dialect.Charset = "iso-8859-1"
	res, err = Parse(latin, m2, key)
	if err != nil || !strings.Contains(string(res.Rows[0].Resources[0].JSON), "Çelik") {
		t.Fatalf("Latin-1: %v", err)
	}
}

func TestMappingErrors(t *testing.T) {
	for name, bad := range map[string]string{
		"bad agb":     `{"sender":{"agb":"123"},"columns":{"patientNumber":"a","orderNumber":"b","referralDate":"c","specialism":"d"}}`,
		"unknown col": `{"sender":{"agb":"06011234"},"columns":{"patientNumber":"a","orderNumber":"b","referralDate":"c","specialism":"d","shoeSize":"e"}}`,
		"missing":     `{"sender":{"agb":"06011234"},"columns":{"patientNumber":"a"}}`,
		"charset":     `{"sender":{"agb":"06011234"},"dialect":{"charset":"ebcdic"},"columns":{"patientNumber":"a","orderNumber":"b","referralDate":"c","specialism":"d"}}`,
		"separator":   `{"sender":{"agb":"06011234"},"dialect":{"separator":";;"},"columns":{"patientNumber":"a","orderNumber":"b","referralDate":"c","specialism":"d"}}`,
		"close":       `{"sender":{"agb":"06011234"},"closeStatus":"gone","columns":{"patientNumber":"a","orderNumber":"b","referralDate":"c","specialism":"d"}}`,
		"no header":   `{"sender":{"agb":"06011234"},"dialect":{"header":false},"columns":{"patientNumber":"a","orderNumber":"#2","referralDate":"#3","specialism":"#4"}}`,
	} {
		if _, err := LoadMapping([]byte(bad)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	m := DefaultMapping("06011234")
	if _, err := Parse([]byte("a;b\n1;2\n"), m, key); err == nil || !strings.Contains(err.Error(), "the header has no column") {
		t.Fatalf("a header without the mapped columns: %v", err)
	}
}
