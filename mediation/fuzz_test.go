package mediation

import (
	"testing"
)

// FuzzLoaders feeds arbitrary bytes to every configuration and value
// parser of the package (regions, Treeknorm table, provider kinds, PC4
// coordinates, specialty and date values): none may panic, and what they
// accept must be usable.
func FuzzLoaders(f *testing.F) {
	f.Add([]byte(defaultRegions))
	f.Add([]byte(`{"kinds":{"outpatient":21},"specialisms":{"305":{"outpatient":35}}}`))
	f.Add([]byte(`{"codes":{"urn:oid:2.16.840.1.113883.2.4.6.7|0602":"umc"},"agbPrefixes":{"22":"zbc"}}`))
	f.Add([]byte("pc4;lat;lon\n6525;51.82;5.86\n"))
	f.Add([]byte("http://ei.vektis.nl/codelijsten/COD016-VEKT|305"))
	f.Add([]byte("2026-03-29T23:30:00Z"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if r, err := LoadRegions(b); err == nil {
			r.Of("6525")
			r.Of(string(b))
		}
		if n, err := LoadNorms(b); err == nil {
			for _, k := range WaitKinds {
				if d := n.Days(k, "0305"); d <= 0 {
					t.Fatalf("norm %d for %s", d, k)
				}
			}
		}
		if k, err := LoadProviderKinds(b); err == nil {
			k.Of(&OrgFacts{AGB: "06010101", Types: []string{string(b)}})
		}
		if g, err := ParsePC4Geo(b); err == nil {
			for pc, p := range g {
				if len(pc) != 4 || p.Lat < -90 || p.Lat > 90 {
					t.Fatalf("accepted %q %v", pc, p)
				}
			}
		}
		if s, err := ParseSpecialty(string(b)); err == nil && len(s) != 4 {
			t.Fatalf("specialty %q from %q", s, b)
		}
		if d, ok := DayOfFHIR(string(b)); ok && d.String() == "" {
			t.Fatal("a day without a date")
		}
		if d, err := ParseDay(string(b)); err == nil {
			if back, _ := ParseDay(d.String()); back != d {
				t.Fatalf("ParseDay(%q) does not round-trip", b)
			}
		}
	})
}
