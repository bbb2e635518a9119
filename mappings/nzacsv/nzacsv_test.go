package nzacsv

import (
	"bytes"
	"strings"
	"testing"
	"time"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/fhirjson"
	"github.com/wachtwijzer/wachtwijzer/gen"
	"github.com/wachtwijzer/wachtwijzer/mediation"
)

const header = "Date;WaitingTime;InsufficientObservations;KVKNumber;CareProvider;CareProvider_AGBCode;LocationKey;Location_AGBCode;Location;Street;StreetNumber;PostalCode;City;TreatmentKey;TreatmentNumber;Treatment;TreatmentType;Specialism;Description"

func latin1(s string) []byte {
	var b []byte
	for _, r := range s {
		b = append(b, byte(r))
	}
	return b
}

func TestParseTheGeneratedPublication(t *testing.T) {
	var buf bytes.Buffer
	cfg := gen.Config{Seed: 7, Appointments: 2000, AsOf: time.Date(2026, 3, 31, 12, 0, 0, 0, time.UTC)}
	n, err := gen.WriteNZaCSV(&buf, cfg)
	if err != nil {
		t.Fatal(err)
	}
	rows, errs, err := ParseCSV(buf.Bytes())
	if err != nil || len(errs) != 0 {
		t.Fatalf("%v %v", err, errs)
	}
	if len(rows) != n {
		t.Fatalf("%d rows, gen wrote %d", len(rows), n)
	}
	kinds := map[string]int{}
	for _, r := range rows {
		kinds[r.Kind]++
		if len(r.Specialism) != 4 || len(r.ProviderAGB) != 8 || r.Date == mediation.NoDay || r.HasDays == r.Insufficient {
			t.Fatalf("row %+v", r)
		}
		if r.PostalCode != "" && r.PostalCode[4] != ' ' {
			t.Fatalf("postcode %q not formatted", r.PostalCode)
		}
	}
	if kinds["outpatient"] == 0 || kinds["diagnostics"] == 0 || kinds["treatment"] == 0 {
		t.Fatalf("kinds %v", kinds)
	}
	// The rows meet the world's HealthcareServices (same derived ids).
	key := []byte("k")
	cfg.DeploymentKey = key
	hs := map[string]bool{}
	if err := gen.Generate(cfg, gen.SinkFunc(func(typ, id string, _ []byte) error {
		if typ == "HealthcareService" || typ == "Organization" || typ == "Location" {
			hs[typ+"/"+id] = true
		}
		return nil
	})); err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		ids := IDsOf(key, &r)
		for _, ref := range []string{"HealthcareService/" + ids.Service, "Organization/" + ids.Org, "Location/" + ids.Location} {
			if !hs[ref] {
				t.Fatalf("row line %d derives %s, which the world does not have", r.Line, ref)
			}
		}
	}
}

func TestRowsThatBreakARuleAreReportedAndSkipped(t *testing.T) {
	good := "2026-03-24;35;Nee;12345678;Ziekenhuis Fryslân;6010101;k1;6010102;Locatie Súd;Dyk;3;8911aa;Leeuwarden;t1;3051;Eerste bezoek;Polikliniekbezoek;Orthopedie (305);x"
	cases := []struct {
		name, row, field string
	}{
		{"a date that is not one", strings.Replace(good, "2026-03-24", "24/03/2026", 1), "Date"},
		{"an AGB code of 6 digits", strings.Replace(good, ";6010101;", ";601010;", 1), "CareProvider_AGBCode"},
		{"a location AGB with letters", strings.Replace(good, ";6010102;", ";60101O2;", 1), "Location_AGBCode"},
		{"no location at all", strings.Replace(strings.Replace(good, ";k1;", ";;", 1), ";6010102;", ";;", 1), "Location_AGBCode"},
		{"an unknown treatment type", strings.Replace(good, "Polikliniekbezoek", "Spoed", 1), "TreatmentType"},
		{"a specialism without code", strings.Replace(good, "Orthopedie (305)", "Orthopedie", 1), "Specialism"},
		{"InsufficientObservations neither Ja nor Nee", strings.Replace(good, ";Nee;", ";Misschien;", 1), "InsufficientObservations"},
		{"Nee without a waiting time", strings.Replace(good, ";35;Nee;", ";;Nee;", 1), "WaitingTime"},
		{"a negative waiting time", strings.Replace(good, ";35;", ";-3;", 1), "WaitingTime"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rows, errs, err := ParseCSV(latin1(header + "\r\n" + good + "\r\n" + c.row + "\r\n" + good + "\r\n"))
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) != 2 || len(errs) != 1 || errs[0].Line != 3 || errs[0].Field != c.field {
				t.Fatalf("rows %d, errors %+v", len(rows), errs)
			}
		})
	}
	rows, _, _ := ParseCSV(latin1(header + "\r\n" + good + "\r\n"))
	r := rows[0]
	if r.ProviderAGB != "06010101" || r.LocationAGB != "06010102" || r.Specialism != "0305" || r.SpecialismName != "Orthopedie" ||
		r.CareProvider != "Ziekenhuis Fryslân" || r.Location != "Locatie Súd" || r.PostalCode != "8911 AA" || r.Days != 35 || r.Kind != "outpatient" {
		t.Fatalf("row %+v", r)
	}
	// InsufficientObservations Ja: no days, even when a number is given.
	rows, errs, _ := ParseCSV(latin1(header + "\r\n" + strings.Replace(good, ";35;Nee;", ";;Ja;", 1) + "\r\n"))
	if len(errs) != 0 || rows[0].HasDays || !rows[0].Insufficient {
		t.Fatalf("Ja: %+v %v", rows, errs)
	}
	// UTF-8 with a BOM is read too; columns in another order and case.
	utf := "\ufeffspecialism;treatmenttype;date;waitingtime;insufficientobservations;careprovider_agbcode;location_agbcode;careprovider\n" +
		"Oogheelkunde (301);Behandeling;2026-03-24;40;Nee;06010101;06010102;Ziekenhuis Fryslân\n"
	rows, errs, err := ParseCSV([]byte(utf))
	if err != nil || len(errs) != 0 || rows[0].CareProvider != "Ziekenhuis Fryslân" || rows[0].Kind != "treatment" || rows[0].Specialism != "0301" {
		t.Fatalf("UTF-8: %+v %v %v", rows, errs, err)
	}
	if _, _, err := ParseCSV([]byte("a;b;c\n1;2;3\n")); err == nil || !strings.Contains(err.Error(), "missing columns") {
		t.Fatalf("a file without the NZa columns: %v", err)
	}
}

func TestParseTheAPIJSON(t *testing.T) {
	js := `{"value":[{"Date":"2026-03-24T00:00:00","WaitingTime":35,"InsufficientObservations":"Nee","CareProvider_AGBCode":"06010101","Location_AGBCode":"06010102",
		"TreatmentType":"Diagnostiek","Specialism":"Radiologie (362)","KVKNumber":12345678},
		{"Date":"2026-03-24","WaitingTime":null,"InsufficientObservations":true,"CareProvider_AGBCode":"06010101","Location_AGBCode":"06010102","TreatmentType":"Behandeling","Specialism":"Radiologie (362)"},
		{"Date":"2026-03-24","WaitingTime":"x","InsufficientObservations":"Nee","CareProvider_AGBCode":"06010101","Location_AGBCode":"06010102","TreatmentType":"Behandeling","Specialism":"Radiologie (362)"},
		"not a record"]}`
	rows, errs, err := ParseJSON([]byte(js))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || len(errs) != 2 || errs[0].Line != 3 || errs[1].Line != 4 {
		t.Fatalf("rows %+v errors %+v", rows, errs)
	}
	if rows[0].KvK != "12345678" || rows[0].Days != 35 || rows[0].Kind != "diagnostics" || !rows[1].Insufficient {
		t.Fatalf("rows %+v", rows)
	}
	for _, bad := range []string{`{"a":1}`, `nope`, `[{"Date":"2026-01-01"}]`} {
		if _, _, err := ParseJSON([]byte(bad)); err == nil {
			t.Errorf("ParseJSON(%s) accepted", bad)
		}
	}
}

func figures(t *testing.T, js []byte) map[string]string {
	t.Helper()
	v, err := fhirjson.Parse(js, fhirjson.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, p := range mediation.PublishedWaits(v) {
		d := "none"
		if p.HasDays {
			d = string(rune('0'+p.Days/10)) + string(rune('0'+p.Days%10))
		}
		out[p.Kind+"|"+p.Treatment] = d + "@" + p.MeasuredOn.String()
	}
	return out
}

func TestANewerPublicationReplacesTheOlderFigure(t *testing.T) {
	row := func(date string, days int, typ, number string) *Row {
		d, _ := mediation.ParseDay(date)
		k := map[string]string{"Polikliniekbezoek": "outpatient", "Diagnostiek": "diagnostics", "Behandeling": "treatment"}[typ]
		return &Row{Line: 2, Date: d, Days: days, HasDays: true, ProviderAGB: "06010101", LocationAGB: "06010102", Kind: k, TreatmentType: typ,
			TreatmentNumber: number, Treatment: "T" + number, Specialism: "0305", SpecialismName: "Orthopedie", CareProvider: "Z", Location: "L"}
	}
	ids := IDsOf([]byte("k"), row("2026-03-10", 1, "Polikliniekbezoek", ""))
	js, changed, older, err := MergeService(nil, ids, []*Row{row("2026-03-10", 30, "Polikliniekbezoek", "3051"), row("2026-03-10", 45, "Behandeling", "3053"), row("2026-03-10", 50, "Behandeling", "3054")})
	if err != nil || !changed || len(older) != 0 {
		t.Fatal(err, changed, older)
	}
	if f := figures(t, js); f["outpatient|"] != "30@2026-03-10" || f["treatment|3053"] != "45@2026-03-10" || f["treatment|3054"] != "50@2026-03-10" {
		t.Fatalf("new service figures %v", f)
	}
	if !strings.Contains(string(js), ww.SystemHealthcareService) || !strings.Contains(string(js), "Location/"+ids.Location) {
		t.Fatalf("new service %s", js)
	}
	// Two weeks later: the outpatient figure is replaced, treatment 3053
	// too; an older row for 3054 is skipped.
	js2, changed, older, _ := MergeService(js, ids, []*Row{row("2026-03-24", 33, "Polikliniekbezoek", "3051"), row("2026-03-24", 40, "Behandeling", "3053"), row("2026-02-24", 60, "Behandeling", "3054")})
	if !changed || len(older) != 1 || older[0].Field != "Date" {
		t.Fatalf("changed %v older %v", changed, older)
	}
	if f := figures(t, js2); f["outpatient|"] != "33@2026-03-24" || f["treatment|3053"] != "40@2026-03-24" || f["treatment|3054"] != "50@2026-03-10" {
		t.Fatalf("after the newer publication %v", f)
	}
	// The same publication again changes nothing.
	_, changed, _, _ = MergeService(js2, ids, []*Row{row("2026-03-24", 33, "Polikliniekbezoek", "3051")})
	if changed {
		t.Fatal("re-importing the same figure rewrites the service")
	}
	// A treatment figure without a number (another source) gives way to
	// the publication's numbered ones; other extensions stay.
	other := []byte(`{"resourceType":"HealthcareService","id":"x","extension":[{"url":"http://example.org/keep","valueString":"k"},{"url":"` + ww.ExtPublishedWait + `","extension":[{"url":"kind","valueCode":"treatment"},{"url":"days","valueInteger":70},{"url":"measuredOn","valueDate":"2026-03-10"}]}]}`)
	js3, _, _, _ := MergeService(other, ids, []*Row{row("2026-03-24", 41, "Behandeling", "3053")})
	if f := figures(t, js3); len(f) != 1 || f["treatment|3053"] != "41@2026-03-24" || !strings.Contains(string(js3), "http://example.org/keep") {
		t.Fatalf("figures %v in %s", f, js3)
	}
}
