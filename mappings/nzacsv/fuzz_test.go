package nzacsv

import (
	"bytes"
	"testing"
	"time"

	"github.com/wachtwijzer/wachtwijzer/gen"
)

// FuzzParse feeds arbitrary bytes to both parsers and the mapping: none may
// panic, every row they return must satisfy the row rules, and merging the
// rows must give valid JSON. Seeds: testdata/fuzz/FuzzParse plus a
// generated publication.
func FuzzParse(f *testing.F) {
	var buf bytes.Buffer
	gen.WriteNZaCSV(&buf, gen.Config{Seed: 3, Appointments: 50, AsOf: time.Date(2026, 3, 31, 0, 0, 0, 0, time.UTC)})
	lines := bytes.SplitN(buf.Bytes(), []byte("\r\n"), 4)
	f.Add(bytes.Join(lines[:3], []byte("\r\n")))
	f.Add([]byte(header + "\r\n2026-03-24;;Ja;1;X;6010101;k;;L;;;;;t;3051;T;Behandeling;Orthopedie (305);d\r\n"))
	f.Add([]byte(`[{"Date":"2026-03-24","WaitingTime":3,"InsufficientObservations":"Nee","CareProvider_AGBCode":"06010101","LocationKey":"k","TreatmentType":"Diagnostiek","Specialism":"305"}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, parse := range []func([]byte) ([]Row, []RowError, error){ParseCSV, ParseJSON} {
			rows, _, err := parse(data)
			if err != nil {
				continue
			}
			for i := range rows {
				r := &rows[i]
				if len(r.ProviderAGB) != 8 || len(r.Specialism) != 4 || r.Kind == "" || (r.LocationAGB == "" && r.LocationKey == "") || r.HasDays == r.Insufficient {
					t.Fatalf("a row that breaks the rules passed: %+v", r)
				}
				ids := IDsOf([]byte("k"), r)
				js, _, _, err := MergeService(nil, ids, []*Row{r})
				if err != nil {
					t.Fatal(err)
				}
				if _, _, _, err := MergeService(js, ids, []*Row{r}); err != nil {
					t.Fatalf("the merged service does not parse again: %v", err)
				}
				_ = NewLocation(r, ids, nil)
				_ = NewOrganization(r, ids)
			}
		}
	})
}
