package demo

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/wachtwijzer/wachtwijzer/conformance/nlid"
	"github.com/wachtwijzer/wachtwijzer/internal/jsonpath"
)

// asOfCases are the load dates every invariant is checked on.
var asOfCases = []struct {
	name string
	asOf time.Time
}{
	{"winter weekday", time.Date(2026, 1, 14, 10, 0, 0, 0, amsterdam)},
	{"slot horizon spans the spring DST switch", time.Date(2026, 3, 20, 10, 0, 0, 0, amsterdam)},
	{"loaded on a Sunday", time.Date(2026, 5, 17, 20, 0, 0, 0, amsterdam)},
	{"slot horizon spans the autumn DST switch", time.Date(2026, 10, 15, 8, 0, 0, 0, amsterdam)},
	{"New Year's Day: the switcher's new coverage starts today", time.Date(2027, 1, 1, 0, 30, 0, 0, amsterdam)},
	{"UTC evening that is already the next day in Amsterdam", time.Date(2026, 6, 30, 23, 30, 0, 0, time.UTC)},
}

// res is a parsed resource of the set.
type res struct {
	Resource
	pos int
	m   map[string]any
}

// set is the demo set parsed for inspection.
type set struct {
	list   []*res
	byRef  map[string]*res // "Type/id" → resource
	byType map[string][]*res
	today  time.Time // the asOf calendar date, midnight Amsterdam
}

func load(t *testing.T, asOf time.Time) *set {
	t.Helper()
	s := &set{byRef: map[string]*res{}, byType: map[string][]*res{}}
	l := asOf.In(amsterdam)
	s.today = time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, amsterdam)
	for i, r := range Resources(asOf) {
		var m map[string]any
		dec := json.NewDecoder(bytes.NewReader(r.JSON))
		dec.UseNumber()
		if err := dec.Decode(&m); err != nil {
			t.Fatalf("%s/%s: not JSON: %v", r.Type, r.ID, err)
		}
		p := &res{Resource: r, pos: i, m: m}
		key := r.Type + "/" + r.ID
		if _, dup := s.byRef[key]; dup {
			t.Fatalf("duplicate resource %s", key)
		}
		s.list = append(s.list, p)
		s.byRef[key] = p
		s.byType[r.Type] = append(s.byType[r.Type], p)
	}
	return s
}

func get(v any, path ...any) any { return jsonpath.Get(v, path...) }

func getStr(v any, path ...any) string { return jsonpath.Str(v, path...) }

func getList(v any, path ...any) []any { return jsonpath.List(v, path...) }

// identifierValue returns the value of the first identifier with system.
func identifierValue(m map[string]any, system string) string {
	for _, id := range getList(m, "identifier") {
		if getStr(id, "system") == system {
			return getStr(id, "value")
		}
	}
	return ""
}

// hasCoding reports whether a CodeableConcept has a coding system|code.
func hasCoding(cc any, system, code string) bool {
	for _, c := range getList(cc, "coding") {
		if getStr(c, "system") == system && getStr(c, "code") == code {
			return true
		}
	}
	return false
}

// codeIn returns the code of the first coding with system in a
// CodeableConcept.
func codeIn(cc any, system string) string {
	for _, c := range getList(cc, "coding") {
		if getStr(c, "system") == system {
			return getStr(c, "code")
		}
	}
	return ""
}

func parseDate(t *testing.T, s string) time.Time {
	t.Helper()
	d, err := time.ParseInLocation(layoutDate, s, amsterdam)
	if err != nil {
		t.Fatalf("date %q: %v", s, err)
	}
	return d
}

// days returns the calendar days from a to b (Amsterdam midnights).
func days(a, b time.Time) int {
	ay, am, ad := a.Date()
	by, bm, bd := b.Date()
	return int(time.Date(by, bm, bd, 0, 0, 0, 0, time.UTC).Sub(time.Date(ay, am, ad, 0, 0, 0, 0, time.UTC)) / (24 * time.Hour))
}

func TestResourcesDeterministic(t *testing.T) {
	tests := []struct {
		name   string
		a, b   time.Time
		sameAs bool
	}{
		{"same asOf twice", time.Date(2026, 3, 20, 10, 0, 0, 0, amsterdam), time.Date(2026, 3, 20, 10, 0, 0, 0, amsterdam), true},
		{"start and end of the same Amsterdam day", time.Date(2026, 3, 20, 0, 1, 0, 0, amsterdam), time.Date(2026, 3, 20, 23, 59, 0, 0, amsterdam), true},
		{"23:30 UTC on 30 June is 1 July in Amsterdam", time.Date(2026, 6, 30, 23, 30, 0, 0, time.UTC), time.Date(2026, 7, 1, 12, 0, 0, 0, amsterdam), true},
		{"the next day shifts the dates", time.Date(2026, 3, 20, 10, 0, 0, 0, amsterdam), time.Date(2026, 3, 21, 10, 0, 0, 0, amsterdam), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := Resources(tt.a), Resources(tt.b)
			same := len(a) == len(b)
			for i := 0; same && i < len(a); i++ {
				same = a[i].Type == b[i].Type && a[i].ID == b[i].ID && bytes.Equal(a[i].JSON, b[i].JSON)
			}
			if same != tt.sameAs {
				t.Fatalf("byte-identical = %v, want %v", same, tt.sameAs)
			}
			if len(a) != len(b) {
				t.Fatalf("%d resources vs %d: the ids must not depend on the date", len(a), len(b))
			}
			for i := range a {
				if a[i].Type != b[i].Type || a[i].ID != b[i].ID {
					t.Fatalf("resource %d is %s/%s vs %s/%s: ids must be fixed", i, a[i].Type, a[i].ID, b[i].Type, b[i].ID)
				}
			}
		})
	}
}

// strictDecode decodes a resource into the samply struct rejecting unknown
// fields, which catches misspelled element names that the samply
// Unmarshal functions silently drop.
func strictDecode[T any](b []byte) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	delete(m, "resourceType")
	nb, err := json.Marshal(m)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(nb))
	dec.DisallowUnknownFields()
	var v T
	return dec.Decode(&v)
}

// parsers parse each resource type with the samply models: the
// Unmarshal function, then a strict decode.
var parsers = map[string][2]func([]byte) error{
	"Organization":      {func(b []byte) error { _, err := fhir.UnmarshalOrganization(b); return err }, strictDecode[fhir.Organization]},
	"Location":          {func(b []byte) error { _, err := fhir.UnmarshalLocation(b); return err }, strictDecode[fhir.Location]},
	"HealthcareService": {func(b []byte) error { _, err := fhir.UnmarshalHealthcareService(b); return err }, strictDecode[fhir.HealthcareService]},
	"Practitioner":      {func(b []byte) error { _, err := fhir.UnmarshalPractitioner(b); return err }, strictDecode[fhir.Practitioner]},
	"PractitionerRole":  {func(b []byte) error { _, err := fhir.UnmarshalPractitionerRole(b); return err }, strictDecode[fhir.PractitionerRole]},
	"Schedule":          {func(b []byte) error { _, err := fhir.UnmarshalSchedule(b); return err }, strictDecode[fhir.Schedule]},
	"Slot":              {func(b []byte) error { _, err := fhir.UnmarshalSlot(b); return err }, strictDecode[fhir.Slot]},
	"Patient":           {func(b []byte) error { _, err := fhir.UnmarshalPatient(b); return err }, strictDecode[fhir.Patient]},
	"Coverage":          {func(b []byte) error { _, err := fhir.UnmarshalCoverage(b); return err }, strictDecode[fhir.Coverage]},
	"InsurancePlan":     {func(b []byte) error { _, err := fhir.UnmarshalInsurancePlan(b); return err }, strictDecode[fhir.InsurancePlan]},
	"ServiceRequest":    {func(b []byte) error { _, err := fhir.UnmarshalServiceRequest(b); return err }, strictDecode[fhir.ServiceRequest]},
	"Appointment":       {func(b []byte) error { _, err := fhir.UnmarshalAppointment(b); return err }, strictDecode[fhir.Appointment]},
}

var validID = regexp.MustCompile(`^[A-Za-z0-9\-.]{1,64}$`)

func TestEveryResourceParsesAsFHIR(t *testing.T) {
	for _, c := range asOfCases {
		t.Run(c.name, func(t *testing.T) {
			s := load(t, c.asOf)
			for _, r := range s.list {
				p, ok := parsers[r.Type]
				if !ok {
					t.Errorf("%s/%s: no parser for this type", r.Type, r.ID)
					continue
				}
				if err := p[0](r.JSON); err != nil {
					t.Errorf("%s/%s: samply Unmarshal: %v", r.Type, r.ID, err)
				}
				if err := p[1](r.JSON); err != nil {
					t.Errorf("%s/%s: unknown or mistyped element: %v", r.Type, r.ID, err)
				}
				if got := getStr(r.m, "resourceType"); got != r.Type {
					t.Errorf("%s/%s: resourceType %q", r.Type, r.ID, got)
				}
				if got := getStr(r.m, "id"); got != r.ID {
					t.Errorf("%s/%s: id %q", r.Type, r.ID, got)
				}
				if !validID.MatchString(r.ID) || !strings.HasPrefix(r.ID, "demo-") {
					t.Errorf("%s/%s: not a valid FHIR id with the demo- prefix", r.Type, r.ID)
				}
				var compact bytes.Buffer
				if err := json.Compact(&compact, r.JSON); err != nil || !bytes.Equal(compact.Bytes(), r.JSON) {
					t.Errorf("%s/%s: JSON is not minified", r.Type, r.ID)
				}
			}
		})
	}
}

// findEmpty returns the path of the first empty string, array, object or
// null inside v.
func findEmpty(v any, path string) string {
	switch x := v.(type) {
	case nil:
		return path + " (null)"
	case string:
		if x == "" || strings.TrimSpace(x) != x {
			return path + " (empty or padded string)"
		}
	case []any:
		if len(x) == 0 {
			return path + " (empty array)"
		}
		for i, e := range x {
			if p := findEmpty(e, fmt.Sprintf("%s[%d]", path, i)); p != "" {
				return p
			}
		}
	case map[string]any:
		if len(x) == 0 {
			return path + " (empty object)"
		}
		for k, e := range x {
			if p := findEmpty(e, path+"."+k); p != "" {
				return p
			}
		}
	}
	return ""
}

func TestNoEmptyValues(t *testing.T) {
	s := load(t, asOfCases[0].asOf)
	for _, r := range s.list {
		if p := findEmpty(r.m, r.Type); p != "" {
			t.Errorf("%s/%s: %s is invalid FHIR", r.Type, r.ID, p)
		}
	}
}

// references returns every Reference.reference string inside v.
func references(v any) []string {
	var out []string
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			out = append(out, references(e)...)
		}
	case map[string]any:
		for k, e := range x {
			if s, ok := e.(string); ok && k == "reference" {
				out = append(out, s)
			} else {
				out = append(out, references(e)...)
			}
		}
	}
	return out
}

func TestReferencesResolveInsideTheSetAndComeFirst(t *testing.T) {
	for _, c := range asOfCases {
		t.Run(c.name, func(t *testing.T) {
			s := load(t, c.asOf)
			n := 0
			for _, r := range s.list {
				for _, ref := range references(r.m) {
					n++
					target, ok := s.byRef[ref]
					if !ok {
						t.Errorf("%s/%s: reference %q does not resolve", r.Type, r.ID, ref)
						continue
					}
					if target.pos >= r.pos {
						t.Errorf("%s/%s: references %s, which comes later in the load order", r.Type, r.ID, ref)
					}
				}
			}
			if n <= len(s.byType["Slot"]) {
				t.Errorf("only %d references found; the walk is broken", n)
			}
		})
	}
}

func TestResourceCounts(t *testing.T) {
	s := load(t, asOfCases[1].asOf)
	tests := []struct {
		typ      string
		min, max int
	}{
		{"Organization", 9, 9},
		{"Location", 6, 12},
		{"HealthcareService", 12, 30},
		{"Practitioner", 6, 30},
		{"PractitionerRole", 6, 30},
		{"Schedule", 6, 30},
		{"Slot", 300, 600},
		{"Patient", 12, 16},
		{"Coverage", 12, 16},
		{"InsurancePlan", 3, 3},
		{"ServiceRequest", 10, 30},
		{"Appointment", 10, 30},
	}
	for _, tt := range tests {
		t.Run(tt.typ, func(t *testing.T) {
			if n := len(s.byType[tt.typ]); n < tt.min || n > tt.max {
				t.Errorf("%d %s resources, want %d–%d", n, tt.typ, tt.min, tt.max)
			}
		})
	}
}

func TestOrganizationsAndIdentifiers(t *testing.T) {
	s := load(t, asOfCases[0].asOf)
	kinds := map[string]int{}
	provinces := map[string]bool{}
	for _, r := range s.byType["Organization"] {
		if uzovi := identifierValue(r.m, nlid.SystemUZOVI); uzovi != "" {
			if err := nlid.CheckUZOVI(uzovi); err != nil {
				t.Errorf("%s: %v", r.ID, err)
			}
			if !hasCoding(get(r.m, "type", 0), systemOrgType, "ins") {
				t.Errorf("%s: insurer without organization-type ins", r.ID)
			}
			kinds["insurer"]++
			continue
		}
		agb := identifierValue(r.m, nlid.SystemAGB)
		if err := nlid.CheckAGB(agb); err != nil {
			t.Errorf("%s: AGB: %v", r.ID, err)
		}
		if err := nlid.CheckURA(identifierValue(r.m, nlid.SystemURA)); err != nil {
			t.Errorf("%s: URA: %v", r.ID, err)
		}
		orgType := codeIn(get(r.m, "type", 0), nlid.SystemSpecialismOID)
		wantKind := map[string]string{"0601": nlid.KindHospital, "0602": nlid.KindHospital, "2200": nlid.KindZBC}[orgType]
		if got := nlid.AGBKind(agb); got == "" || got != wantKind {
			t.Errorf("%s: type %s but AGB kind %q", r.ID, orgType, got)
		}
		if agb == "06020502" || agb == "06020101" {
			t.Errorf("%s uses a real hospital's AGB code", r.ID)
		}
		kinds[orgType]++
		provinces[getStr(r.m, "address", 0, "state")] = true
	}
	want := map[string]int{"0602": 1, "0601": 2, "2200": 3, "insurer": 3}
	for k, n := range want {
		if kinds[k] != n {
			t.Errorf("%d organisations of kind %s, want %d", kinds[k], k, n)
		}
	}
	if len(provinces) != 6 {
		t.Errorf("providers in %d provinces, want 6 different ones", len(provinces))
	}
	for _, r := range s.byType["Practitioner"] {
		if agb := identifierValue(r.m, nlid.SystemAGB); nlid.AGBKind(agb) != nlid.KindSpecialist {
			t.Errorf("%s: AGB %q is not a medical specialist's", r.ID, agb)
		}
	}
}

var postalCode = regexp.MustCompile(`^[1-9][0-9]{3} [A-Z]{2}$`)

func TestLocationsHaveDutchAddressesAndPositions(t *testing.T) {
	s := load(t, asOfCases[0].asOf)
	for _, r := range s.byType["Location"] {
		if pc := getStr(r.m, "address", "postalCode"); !postalCode.MatchString(pc) {
			t.Errorf("%s: postal code %q", r.ID, pc)
		}
		if getStr(r.m, "address", "country") != "NL" || getStr(r.m, "address", "city") == "" || len(getList(r.m, "address", "line")) == 0 {
			t.Errorf("%s: incomplete address", r.ID)
		}
		lat, _ := get(r.m, "position", "latitude").(json.Number).Float64()
		lon, _ := get(r.m, "position", "longitude").(json.Number).Float64()
		if lat < 50.75 || lat > 53.55 || lon < 3.35 || lon > 7.25 {
			t.Errorf("%s: position %v,%v is not in the Netherlands", r.ID, lat, lon)
		}
		if !strings.HasPrefix(getStr(r.m, "managingOrganization", "reference"), "Organization/") {
			t.Errorf("%s: no managingOrganization", r.ID)
		}
	}
}

// publishedWaits returns kind → days of a HealthcareService.
func publishedWaits(t *testing.T, r *res) (map[string]int, []string) {
	out := map[string]int{}
	var measured []string
	for _, e := range getList(r.m, "extension") {
		if getStr(e, "url") != urlPublishedWait {
			continue
		}
		var kind string
		var days int
		for _, sub := range getList(e, "extension") {
			switch getStr(sub, "url") {
			case "kind":
				kind = getStr(sub, "valueCode")
			case "days":
				n, _ := get(sub, "valueInteger").(json.Number).Int64()
				days = int(n)
			case "measuredOn":
				measured = append(measured, getStr(sub, "valueDate"))
			case "source":
			default:
				t.Errorf("%s: unexpected sub-extension %q", r.ID, getStr(sub, "url"))
			}
		}
		out[kind] = days
	}
	return out, measured
}

func TestPublishedWaitingTimes(t *testing.T) {
	for _, c := range asOfCases {
		t.Run(c.name, func(t *testing.T) {
			s := load(t, c.asOf)
			umc := map[string]map[string]int{} // specialism → kind → days
			zbc := map[string][]map[string]int{}
			for _, r := range s.byType["HealthcareService"] {
				waits, measured := publishedWaits(t, r)
				if _, ok := waits["outpatient"]; !ok {
					t.Errorf("%s: no published outpatient wait", r.ID)
				}
				for _, m := range measured {
					d := parseDate(t, m)
					_, week := d.ISOWeek()
					if d.Weekday() != time.Tuesday || week%2 != 0 || d.After(s.today) || days(d, s.today) > 21 {
						t.Errorf("%s: measuredOn %s is not the latest even-week Tuesday before asOf", r.ID, m)
					}
				}
				spec := codeIn(get(r.m, "specialty", 0), nlid.SystemSpecialismOID)
				org := s.byRef[getStr(r.m, "providedBy", "reference")]
				switch codeIn(get(org.m, "type", 0), nlid.SystemSpecialismOID) {
				case "0602":
					umc[spec] = waits
				case "2200":
					zbc[spec] = append(zbc[spec], waits)
				}
			}
			compared := 0
			for spec, list := range zbc {
				for _, z := range list {
					for kind, d := range z {
						if u, ok := umc[spec][kind]; ok {
							compared++
							if d >= u {
								t.Errorf("specialism %s %s: ZBC publishes %d days, UMC %d", spec, kind, d, u)
							}
						}
					}
				}
			}
			if compared == 0 {
				t.Error("no specialism offered by both a ZBC and the UMC")
			}
		})
	}
}

var instantWithOffset = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}$`)

// parseInstant checks that s is an instant with an explicit offset equal
// to Amsterdam's offset at that moment, and returns it in Amsterdam time.
func parseInstant(t *testing.T, what, s string) time.Time {
	t.Helper()
	if !instantWithOffset.MatchString(s) {
		t.Errorf("%s: %q is not an instant with an offset", what, s)
		return time.Time{}
	}
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Errorf("%s: %q: %v", what, s, err)
		return time.Time{}
	}
	if v.In(amsterdam).Format(layoutInstant) != s {
		t.Errorf("%s: %q has the wrong offset for Europe/Amsterdam (DST)", what, s)
	}
	return v.In(amsterdam)
}

func TestSlotsOnWeekdaysWithinOpeningHours(t *testing.T) {
	for _, c := range asOfCases {
		t.Run(c.name, func(t *testing.T) {
			s := load(t, c.asOf)
			offsets := map[string]bool{}
			free := map[bool][2]int{} // isZBC → {free, total}
			for _, r := range s.byType["Slot"] {
				start := parseInstant(t, r.ID+" start", getStr(r.m, "start"))
				end := parseInstant(t, r.ID+" end", getStr(r.m, "end"))
				if start.IsZero() || end.IsZero() {
					continue
				}
				offsets[getStr(r.m, "start")[19:]] = true
				if !start.Before(end) {
					t.Errorf("%s: start %v not before end %v", r.ID, start, end)
				}
				if wd := start.Weekday(); wd == time.Saturday || wd == time.Sunday {
					t.Errorf("%s: on a %v", r.ID, wd)
				}
				open := time.Date(start.Year(), start.Month(), start.Day(), 8, 30, 0, 0, amsterdam)
				shut := time.Date(start.Year(), start.Month(), start.Day(), 16, 30, 0, 0, amsterdam)
				if start.Before(open) || end.After(shut) {
					t.Errorf("%s: %s–%s is outside 08:30–16:30", r.ID, start.Format("15:04"), end.Format("15:04"))
				}
				if d := days(s.today, start); d < 1 || d > 42 {
					t.Errorf("%s: %d days after asOf, want within the next 6 weeks", r.ID, d)
				}
				if len(getList(r.m, "specialty")) == 0 {
					t.Errorf("%s: no specialty", r.ID)
				}
				sched := s.byRef[getStr(r.m, "schedule", "reference")]
				if codeIn(get(sched.m, "specialty", 0), nlid.SystemSpecialismOID) != codeIn(get(r.m, "specialty", 0), nlid.SystemSpecialismOID) {
					t.Errorf("%s: specialty differs from its Schedule's", r.ID)
				}
				isZBC := strings.Contains(r.ID, "-zbc-")
				f := free[isZBC]
				if getStr(r.m, "status") == "free" {
					f[0]++
				}
				f[1]++
				free[isZBC] = f
			}
			zbcShare := float64(free[true][0]) / float64(free[true][1])
			hospShare := float64(free[false][0]) / float64(free[false][1])
			if zbcShare <= hospShare || free[false][0] == 0 {
				t.Errorf("free share ZBC %.2f, hospitals %.2f: ZBCs should have more free slots, hospitals some", zbcShare, hospShare)
			}
			t.Logf("offsets seen: %v; free share ZBC %.2f, hospitals %.2f", offsets, zbcShare, hospShare)
		})
	}
}

func TestSlotHorizonAcrossDSTHasBothOffsets(t *testing.T) {
	for _, asOf := range []time.Time{asOfCases[1].asOf, asOfCases[3].asOf} {
		seen := map[string]bool{}
		for _, r := range load(t, asOf).byType["Slot"] {
			seen[getStr(r.m, "start")[19:]] = true
		}
		if !seen["+01:00"] || !seen["+02:00"] {
			t.Errorf("asOf %s: slot offsets %v, want both +01:00 and +02:00", asOf.Format(layoutDate), seen)
		}
	}
}

func TestSchedulesHaveCapacityActors(t *testing.T) {
	s := load(t, asOfCases[0].asOf)
	for _, r := range s.byType["Schedule"] {
		types := map[string]bool{}
		for _, a := range getList(r.m, "actor") {
			types[strings.Split(getStr(a, "reference"), "/")[0]] = true
		}
		if !types["Location"] || !(types["HealthcareService"] || types["PractitionerRole"]) {
			t.Errorf("%s: actors %v, want a Location and a HealthcareService or PractitionerRole", r.ID, types)
		}
		if len(getList(r.m, "specialty")) == 0 || get(r.m, "planningHorizon", "start") == nil {
			t.Errorf("%s: no specialty or planning horizon", r.ID)
		}
	}
}

func TestPatientsMembersAndContracts(t *testing.T) {
	for _, c := range asOfCases {
		t.Run(c.name, func(t *testing.T) {
			s := load(t, c.asOf)
			records := map[string]int{} // BSN → Patient records
			for _, r := range s.byType["Patient"] {
				b := identifierValue(r.m, nlid.SystemBSN)
				if !nlid.ValidBSN(b) {
					t.Errorf("%s: BSN fails the elfproef", r.ID)
				}
				if b == "999911120" || b == "123456782" {
					t.Errorf("%s: uses a public test BSN", r.ID)
				}
				records[b]++
				hasLocal := false
				for _, id := range getList(r.m, "identifier") {
					sys := getStr(id, "system")
					if strings.HasPrefix(sys, localSystemPrefix) && strings.HasSuffix(sys, "/patient") {
						agb := strings.TrimSuffix(strings.TrimPrefix(sys, localSystemPrefix), "/patient")
						hasLocal = nlid.CheckAGB(agb) == nil
					}
				}
				if !hasLocal {
					t.Errorf("%s: no hospital patient number", r.ID)
				}
				if !postalCode.MatchString(getStr(r.m, "address", 0, "postalCode")) {
					t.Errorf("%s: home postal code %q", r.ID, getStr(r.m, "address", 0, "postalCode"))
				}
				if getStr(r.m, "address", 0, "extension", 0, "url") != urlGeolocation ||
					len(getList(r.m, "address", 0, "extension", 0, "extension")) != 2 {
					t.Errorf("%s: home address without geolocation", r.ID)
				}
			}
			twice := 0
			for _, n := range records {
				if n == 2 {
					twice++
				}
			}
			if twice == 0 {
				t.Error("no person appears as two Patient records with the same BSN")
			}

			// Each person is covered by exactly one insurer on asOf.
			covered := map[string][]string{} // BSN → UZOVI
			for _, r := range s.byType["Coverage"] {
				start := parseDate(t, getStr(r.m, "period", "start"))
				end := s.today
				if e := getStr(r.m, "period", "end"); e != "" {
					end = parseDate(t, e)
				}
				if getStr(r.m, "status") != "active" || getStr(r.m, "subscriberId") == "" {
					t.Errorf("%s: not active or no subscriberId", r.ID)
				}
				if start.After(s.today) || end.Before(s.today) {
					continue
				}
				payor := s.byRef[getStr(r.m, "payor", 0, "reference")]
				uzovi := identifierValue(payor.m, nlid.SystemUZOVI)
				b := identifierValue(s.byRef[getStr(r.m, "beneficiary", "reference")].m, nlid.SystemBSN)
				covered[b] = append(covered[b], uzovi)
			}
			for b := range records {
				if len(covered[b]) != 1 {
					t.Errorf("a person is covered by %d insurers on asOf, want 1", len(covered[b]))
				}
			}
			if len(s.byType["Coverage"]) <= len(records) {
				t.Error("no historical Coverage whose period does not cover asOf")
			}

			providers := 0
			for _, r := range s.byType["Organization"] {
				if identifierValue(r.m, nlid.SystemAGB) != "" {
					providers++
				}
			}
			for _, r := range s.byType["InsurancePlan"] {
				if getStr(r.m, "status") != "active" || parseDate(t, getStr(r.m, "period", "start")).After(s.today) {
					t.Errorf("%s: not active on asOf", r.ID)
				}
				owner := s.byRef[getStr(r.m, "ownedBy", "reference")]
				if identifierValue(owner.m, nlid.SystemUZOVI) == "" {
					t.Errorf("%s: owner is not an insurer", r.ID)
				}
				if n := len(getList(r.m, "network")); n == 0 || n >= providers {
					t.Errorf("%s: %d contracted providers of %d; contracted and non-contracted must both occur", r.ID, n, providers)
				}
			}
		})
	}
}

func TestEveryAppointmentStatusOccurs(t *testing.T) {
	s := load(t, asOfCases[0].asOf)
	seen := map[string]bool{}
	for _, r := range s.byType["Appointment"] {
		seen[getStr(r.m, "status")] = true
	}
	for _, st := range []string{"proposed", "pending", "booked", "arrived", "fulfilled", "cancelled", "noshow", "entered-in-error", "checked-in", "waitlist"} {
		if !seen[st] {
			t.Errorf("no Appointment with status %s", st)
		}
	}
}

func TestAppointments(t *testing.T) {
	for _, c := range asOfCases {
		t.Run(c.name, func(t *testing.T) {
			s := load(t, c.asOf)
			slots := 0
			for _, r := range s.byType["Appointment"] {
				status := getStr(r.m, "status")
				if !strings.HasPrefix(getStr(r.m, "basedOn", 0, "reference"), "ServiceRequest/") {
					t.Errorf("%s: not basedOn a ServiceRequest", r.ID)
				}
				parseInstant(t, r.ID+" created", getStr(r.m, "created"))
				participants := map[string]bool{}
				for _, p := range getList(r.m, "participant") {
					participants[strings.Split(getStr(p, "actor", "reference"), "/")[0]] = true
					if getStr(p, "status") == "" {
						t.Errorf("%s: participant without status", r.ID)
					}
				}
				if !participants["Patient"] || !participants["Practitioner"] || !participants["Location"] {
					t.Errorf("%s: participants %v, want Patient, Practitioner and Location", r.ID, participants)
				}
				if status == "waitlist" {
					if get(r.m, "start") != nil || get(r.m, "requestedPeriod", 0, "start") == nil {
						t.Errorf("%s: a waitlist entry has no start but a requestedPeriod", r.ID)
					}
					continue
				}
				start := parseInstant(t, r.ID+" start", getStr(r.m, "start"))
				end := parseInstant(t, r.ID+" end", getStr(r.m, "end"))
				if !start.Before(end) {
					t.Errorf("%s: start not before end", r.ID)
				}
				for _, sl := range getList(r.m, "slot") {
					slots++
					slot := s.byRef[getStr(sl, "reference")]
					if getStr(slot.m, "status") != "busy" {
						t.Errorf("%s books %s, which is not busy", r.ID, slot.ID)
					}
					if getStr(slot.m, "start") != getStr(r.m, "start") {
						t.Errorf("%s: start differs from its Slot's", r.ID)
					}
				}
			}
			if slots == 0 {
				t.Error("no Appointment books a Slot")
			}
		})
	}
}

// Treeknorm maxima in days per wait kind (DOMAIN.md); "treatment" of unknown
// kind takes the stricter 42.
var norm = map[string]int{"outpatient": 28, "diagnostics": 28, "treatment-day": 42, "treatment-inpatient": 49, "treatment": 42}

// bookedStatuses are the Appointment statuses that end a wait.
var bookedStatuses = map[string]bool{"booked": true, "arrived": true, "checked-in": true, "fulfilled": true}

func TestWaitsAgainstTheTreeknorm(t *testing.T) {
	tests := []struct {
		sr, situation, want string
	}{
		{"demo-sr-0001", "outpatient 50 days, on the waiting list", "exceeded"},
		{"demo-sr-0002", "day treatment 80 days, booked a month ahead", "exceeded"},
		{"demo-sr-0003", "outpatient 10 days, booked within two weeks", "within"},
		{"demo-sr-0004", "inpatient treatment 35 days, not booked (at risk)", "within"},
		{"demo-sr-0005", "outpatient 25 days, appointment entered in error (at risk)", "within"},
		{"demo-sr-0006", "treatment of unknown kind 45 days: stricter 42 applies", "exceeded"},
		{"demo-sr-0007", "diagnostics 35 days on hold by the patient's choice", "on-hold"},
		{"demo-sr-0008", "highly complex inpatient treatment 60 days, booked 9 weeks ahead", "exceeded"},
		{"demo-sr-0009", "ZBC outpatient visit took place", "completed"},
		{"demo-sr-0010", "ZBC outpatient 5 days, arrived today", "within"},
		{"demo-sr-0011", "outpatient 30 days, cancelled and only a proposal since", "exceeded"},
		{"demo-sr-0012", "day treatment 20 days, booked 10 days ahead", "within"},
		{"demo-sr-0013", "same person as demo-pat-03 at a ZBC, day treatment booked", "within"},
		{"demo-sr-0014", "outpatient 15 days after a no-show", "within"},
		{"demo-sr-0015", "diagnostics 40 days, appointment only pending", "exceeded"},
		{"demo-sr-0016", "outpatient 14 days, checked in today", "within"},
		{"demo-sr-0017", "day treatment 50 days on hold by the patient's choice", "on-hold"},
		{"demo-sr-0018", "ZBC outpatient 3 days, booked on a slot", "within"},
		{"demo-sr-0019", "outpatient 40 days, not booked", "exceeded"},
		{"demo-sr-0020", "diagnostics 20 days, not booked (at risk)", "within"},
		{"demo-sr-0021", "same person as demo-pat-03 at a ZBC, outpatient 33 days, not booked", "exceeded"},
	}
	for _, c := range asOfCases {
		t.Run(c.name, func(t *testing.T) {
			s := load(t, c.asOf)
			if len(tests) != len(s.byType["ServiceRequest"]) {
				t.Fatalf("%d ServiceRequests, the table covers %d", len(s.byType["ServiceRequest"]), len(tests))
			}
			// The wait ends at the earliest appointment that holds.
			ends := map[string]time.Time{}
			for _, r := range s.byType["Appointment"] {
				if !bookedStatuses[getStr(r.m, "status")] {
					continue
				}
				sr := strings.TrimPrefix(getStr(r.m, "basedOn", 0, "reference"), "ServiceRequest/")
				start := parseInstant(t, r.ID, getStr(r.m, "start"))
				if e, ok := ends[sr]; !ok || start.Before(e) {
					ends[sr] = start
				}
			}
			got := map[string]int{}
			for _, tt := range tests {
				r := s.byRef["ServiceRequest/"+tt.sr]
				if r == nil {
					t.Fatalf("%s missing", tt.sr)
				}
				kind := codeIn(get(r.m, "category", 0), systemWaitKind)
				if getStr(r.m, "intent") != "order" || codeIn(get(r.m, "performerType"), nlid.SystemSpecialismOID) == "" {
					t.Errorf("%s: no intent order or no performerType specialism", tt.sr)
				}
				if !strings.HasPrefix(getStr(r.m, "performer", 0, "reference"), "Organization/") {
					t.Errorf("%s: performer is not an Organization", tt.sr)
				}
				authored := parseDate(t, getStr(r.m, "authoredOn"))
				end, booked := ends[tt.sr]
				if !booked {
					end = s.today
				}
				waited := days(authored, end)
				var class string
				switch getStr(r.m, "status") {
				case "on-hold":
					class = "on-hold"
				case "completed":
					class = "completed"
				case "active":
					class = "within"
					if waited > norm[kind] {
						class = "exceeded"
					}
				}
				got[class]++
				if class != tt.want {
					t.Errorf("%s (%s): %s, waited %d days against a norm of %d: %s, want %s",
						tt.sr, tt.situation, kind, waited, norm[kind], class, tt.want)
				}
			}
			for _, kind := range []string{"exceeded", "within", "on-hold", "completed"} {
				if got[kind] == 0 {
					t.Errorf("no wait %s", kind)
				}
			}
		})
	}
}

func TestWaitsCoverTheWaitModel(t *testing.T) {
	s := load(t, asOfCases[0].asOf)
	today := s.today
	var pastOutpatient, pastTreatment, within, high bool
	kinds := map[string]bool{}
	for _, r := range s.byType["ServiceRequest"] {
		kind := codeIn(get(r.m, "category", 0), systemWaitKind)
		kinds[kind] = true
		for _, cat := range getList(r.m, "category") {
			if hasCoding(cat, systemComplexity, "high") {
				high = true
			}
		}
		if getStr(r.m, "status") != "active" {
			continue
		}
		waited := days(parseDate(t, getStr(r.m, "authoredOn")), today)
		switch {
		case kind == "outpatient" && waited > 28:
			pastOutpatient = true
		case strings.HasPrefix(kind, "treatment") && waited > 42:
			pastTreatment = true
		}
		if waited <= norm[kind] {
			within = true
		}
		local := identifierValue(r.m, localSystem(identifierValue(s.byRef[getStr(r.m, "performer", 0, "reference")].m, nlid.SystemAGB), "order"))
		if local == "" {
			t.Errorf("%s: no order number in the provider's order system", r.ID)
		}
	}
	if !pastOutpatient || !pastTreatment || !within || !high {
		t.Errorf("past outpatient norm %v, past treatment norm %v, within norm %v, complexity high %v; want all",
			pastOutpatient, pastTreatment, within, high)
	}
	for _, k := range []string{"outpatient", "diagnostics", "treatment-day", "treatment-inpatient", "treatment"} {
		if !kinds[k] {
			t.Errorf("no wait of kind %s", k)
		}
	}
}

func TestSpecialtiesUseKnownAGBCodes(t *testing.T) {
	s := load(t, asOfCases[0].asOf)
	for _, r := range s.list {
		var concepts []any
		concepts = append(concepts, getList(r.m, "specialty")...)
		if pt := get(r.m, "performerType"); pt != nil {
			concepts = append(concepts, pt)
		}
		for _, cc := range concepts {
			code := codeIn(cc, nlid.SystemSpecialismOID)
			if _, ok := nlid.SpecialismDisplay(code); !ok {
				t.Errorf("%s/%s: specialism %q not in nlid.Specialisms", r.Type, r.ID, code)
			}
		}
	}
}
