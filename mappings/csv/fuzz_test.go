package csv

import (
	"strings"
	"testing"

	"github.com/wachtwijzer/wachtwijzer/gen"
)

// FuzzParse feeds arbitrary bytes through the default mapping and the
// messy Windows-1252 one: Parse must never panic, and every mapped row must
// be JSON a resource parser reads.
func FuzzParse(f *testing.F) {
	hdr := strings.Join(gen.HospitalHeader, ";") + "\n"
	f.Add([]byte(hdr+"P1;999911120;Jansen;1950-01-01;1234 AB;O1;2026-11-01;0305;outpatient;2026-12-01T09:00:00+01:00;booked;O1;Piet;M;active;hoog;06011235;A1\n"), false)
	f.Add([]byte(hdr+"\"unterminated;x\n\n;;;\n"), false)
	f.Add([]byte("title\r\nPatNr;BSN\r\n\xff\xfe;\x80\r\n"), true)
	f.Add([]byte(""), true)
	def := DefaultMapping("06011234")
	messy, err := LoadMapping([]byte(messyMapping))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte, useMessy bool) {
		m := def
		if useMessy {
			m = messy
		}
		res, err := Parse(data, m, key)
		if err != nil {
			return
		}
		for _, r := range res.Rows {
			if len(r.Errors) > 0 {
				continue
			}
			for _, x := range r.Resources {
				decodeOK(t, x.JSON)
			}
		}
	})
}

func decodeOK(t *testing.T, b []byte) {
	t.Helper()
	if !strings.HasPrefix(string(b), `{"resourceType":`) {
		t.Fatalf("not a resource: %s", b)
	}
}

// FuzzLoadMapping: a mapping file of any bytes is read or refused, never a
// panic; an accepted one can parse an export.
func FuzzLoadMapping(f *testing.F) {
	f.Add([]byte(messyMapping))
	f.Add([]byte(`{"sender":{"agb":"06011234"},"dialect":{"header":false,"separator":"\t"},"columns":{"patientNumber":"#1","orderNumber":"#2","referralDate":"#3","specialism":"#4"}}`))
	f.Add([]byte(`{"sender":{"agb":"06011234"},"timeZone":"Mars/Olympus","columns":{}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := LoadMapping(b)
		if err != nil {
			return
		}
		Parse([]byte("a;b;c;d\n1;2;3;4\n"), m, key)
	})
}
