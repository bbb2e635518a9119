package hl7v2

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	ww "github.com/wachtwijzer/wachtwijzer"
)

// seg builds a segment from numbered fields.
func seg(name string, fields map[int]string) string {
	n := 0
	for i := range fields {
		n = max(n, i)
	}
	parts := make([]string, n+1)
	parts[0] = name
	for i, v := range fields {
		parts[i] = v
	}
	return strings.Join(parts, "|")
}

const (
	nlAGB       = "06011234" // HIX|ZKH-NOORD in testdata/senders.json
	patientNo   = "7654321"
	testBSN     = "123456782"
	pidNoord    = "PID|1||123456782^^^NLMINBIZA^NNNLD~7654321^^^ZKH-NOORD^MR||de Vries-van Dijk^Johanna^^^^^L||19580214|F|||Kerkstraat 12^^Groningen^^9711AB^NL^H"
	aisOrth     = "AIS|1|A|0305^Orthopedie eerste consult^L|202612011040+0100|||20|min"
	ailPoli     = "AIL|1|A|POLI-ORTH^K2.14^^ZKH-NOORD||||||||Booked"
	aipJansen   = "AIP|1|A|01234567^Jansen^Pieter^^^Dr^^^VEKTIS|ATND^Attending^HL70443||||||||Booked"
	tq1Dec1     = "TQ1|1||||||202612011040+0100|202612011100+0100"
	mshNoordFmt = "MSH|^~\\&|HIX|ZKH-NOORD|WACHTWIJZER|WW|20261103141502+0100||SIU^%s^SIU_S12|CTRL-%s|P|2.5.1"
)

// siuMsg is an SIU of Ziekenhuis Noord for appointment PL-1/FL-1; sch
// overrides SCH fields; segments replace the default TQ1, PID, RGS and
// resource segments when given.
func siuMsg(trig string, sch map[int]string, segments ...string) []byte {
	fields := map[int]string{1: "PL-1", 2: "FL-1", 6: "NEW^Nieuwe afspraak^L", 7: "CONSULT^Eerste polikliniekbezoek^L"}
	for k, v := range sch {
		fields[k] = v
	}
	segs := []string{strings.ReplaceAll(strings.ReplaceAll(mshNoordFmt, "%s^SIU_S12", trig+"^SIU_S12"), "CTRL-%s", "CTRL-"+trig), seg("SCH", fields)}
	if segments == nil {
		segments = []string{tq1Dec1, pidNoord, "RGS|1", aisOrth, ailPoli, aipJansen}
	}
	return hl7(append(segs, segments...)...)
}

func mapWith(t *testing.T, raw []byte, sc *SenderConfig) (*Result, error) {
	t.Helper()
	m := mustParse(t, raw)
	return Map(m, sc, testKey)
}

func TestSIUTriggerEvents(t *testing.T) {
	cases := []struct {
		trig, sch25, status string
		cancelReason        bool   // SCH-6 → cancelationReason
		ext                 string // original code kept in the extension
	}{
		{"S12", "Booked", "booked", false, ""},
		{"S12", "", "booked", false, ""},
		{"S13", "", "booked", false, ""},
		{"S13", "Booked", "booked", false, ""},
		{"S14", "", "booked", false, ""},
		{"S15", "", "cancelled", true, ""},
		{"S15", "Cancelled", "cancelled", true, ""},
		{"S16", "Dc", "cancelled", true, "Dc"},
		{"S16", "", "cancelled", true, ""},
		{"S17", "Deleted", "entered-in-error", false, ""},
		{"S17", "", "entered-in-error", false, ""},
		{"S18", "", "booked", false, ""},
		{"S19", "", "booked", false, ""},
		{"S20", "", "booked", false, ""},
		{"S21", "", "booked", false, ""},
		{"S22", "", "booked", false, ""},
		{"S26", "Noshow", "noshow", false, ""},
		{"S26", "", "noshow", false, ""},
	}
	for _, c := range cases {
		t.Run(c.trig+" SCH-25="+c.sch25, func(t *testing.T) {
			res := mustMap(t, siuMsg(c.trig, map[int]string{25: c.sch25, 6: "CANC^Geannuleerd door patient^L"}))
			a := one(t, res, "Appointment")
			if got := str(a, "status"); got != c.status {
				t.Errorf("status %q, want %q", got, c.status)
			}
			if got := str(a, "cancelationReason", "coding", 0, "code"); (got == "CANC") != c.cancelReason {
				t.Errorf("cancelationReason %q", got)
			}
			if got := str(a, "extension", 0, "valueCoding", "code"); got != c.ext {
				t.Errorf("extension code %q, want %q", got, c.ext)
			}
			if str(a, "start") != "2026-12-01T10:40:00+01:00" || str(a, "end") != "2026-12-01T11:00:00+01:00" {
				t.Errorf("times %s %s", str(a, "start"), str(a, "end"))
			}
			if len(res.Warnings) != 0 {
				t.Errorf("warnings: %s", problemsString(res.Warnings))
			}
			wantID := ww.DeriveID(testKey, "Appointment", ww.HospitalSystem(nlAGB, "appointment"), "FL-1")
			if str(a, "id") != wantID {
				t.Errorf("appointment id %s, want DeriveID(filler id) %s", str(a, "id"), wantID)
			}
		})
	}
}

func TestSIUFillerStatusMapping(t *testing.T) {
	cases := []struct {
		sch25, status, ext string
		unmapped           bool
	}{
		{"Pending", "pending", "", false},
		{"Waitlist", "waitlist", "", false},
		{"WAITLIST", "waitlist", "", false},
		{"Booked", "booked", "", false},
		{"booked", "booked", "", false},
		{"Started", "checked-in", "", false},
		{"Complete", "fulfilled", "", false},
		{"Cancelled", "cancelled", "", false},
		{"Deleted", "entered-in-error", "", false},
		{"Noshow", "noshow", "", false},
		{"NoShow", "noshow", "", false},
		// Gaps in the v2-to-FHIR ConceptMap: our decisions, original kept.
		{"Discontinued", "cancelled", "Discontinued", false},
		{"DC", "cancelled", "DC", false},
		{"Dc", "cancelled", "Dc", false},
		{"Overbook", "booked", "Overbook", false},
		// The sender's own map wins (ARRIVED → arrived in senders.json).
		{"ARRIVED", "arrived", "ARRIVED", false},
		{"arrived", "arrived", "arrived", false},
		// Unknown: the event's status, a warning, the local code kept.
		{"Gepland", "booked", "Gepland", true},
	}
	for _, c := range cases {
		t.Run(c.sch25, func(t *testing.T) {
			res := mustMap(t, siuMsg("S14", map[int]string{25: c.sch25}))
			a := one(t, res, "Appointment")
			if got := str(a, "status"); got != c.status {
				t.Errorf("status %q, want %q", got, c.status)
			}
			if got := str(a, "extension", 0, "valueCoding", "code"); got != c.ext {
				t.Errorf("extension %q, want %q", got, c.ext)
			}
			tagged := str(a, "meta", "tag", 0, "code") == "unmapped" && str(a, "meta", "tag", 0, "system") == SystemIngestFlags
			if tagged != c.unmapped {
				t.Errorf("unmapped tag %v", tagged)
			}
			if c.unmapped {
				if !hasProblem(res.Warnings, "W", "103", "SCH", 25) {
					t.Errorf("want a W 103 at SCH-25, got %s", problemsString(res.Warnings))
				}
				if !slices.Contains(res.Unmapped, "SCH-25="+c.sch25) {
					t.Errorf("Unmapped %v", res.Unmapped)
				}
				if !strings.HasPrefix(str(a, "extension", 0, "valueCoding", "system"), LocalCodeSystemBase+"/"+nlAGB+"/") {
					t.Errorf("local code system %s", str(a, "extension", 0, "valueCoding", "system"))
				}
				if code, _ := Outcome(res.Warnings, nil); code != "AA" {
					t.Errorf("an unmapped code is accepted: %s", code)
				}
			} else if len(res.Warnings) > 0 {
				t.Errorf("warnings: %s", problemsString(res.Warnings))
			}
		})
	}
}

func TestSIUBlockedAndOpenedSlots(t *testing.T) {
	resources := []string{
		"RGS|1",
		"AIL|1||POLI-ORTH^K2.14^^ZKH-NOORD|||202612011300+0100|||120|min",
		"AIP|1||01234567^Jansen^Pieter^^^Dr^^^VEKTIS|||||||",
	}
	schedLoc := ww.DeriveID(testKey, "Schedule", ww.HospitalSystem(nlAGB, "schedule"), "Location/06011235")
	slotLoc := ww.DeriveID(testKey, "Slot", ww.HospitalSystem(nlAGB, "slot"), "FL-1|Location/06011235")
	cases := []struct {
		name, trig, sch25, status string
	}{
		{"S23 blocked time", "S23", "", "busy-unavailable"},
		{"S24 opened again: the same Slot, free", "S24", "", "free"},
		{"S12 with filler status Blocked", "S12", "Blocked", "busy-unavailable"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tq := "TQ1|1||||||202612010800+0100|202612011700+0100"
			res := mustMap(t, siuMsg(c.trig, map[int]string{25: c.sch25, 6: "OK^Onderhoud OK^L"}, append([]string{tq}, resources...)...))
			if got := types(res); got != "Organization,Location,Schedule,Slot,Practitioner,Schedule,Slot" {
				t.Fatalf("resources %s", got)
			}
			slots := decoded(t, res, "Slot")
			loc := slots[0]
			if str(loc, "id") != slotLoc || str(loc, "schedule", "reference") != "Schedule/"+schedLoc {
				t.Errorf("slot/schedule ids %s %s", str(loc, "id"), str(loc, "schedule", "reference"))
			}
			if str(loc, "status") != c.status || str(loc, "start") != "2026-12-01T13:00:00+01:00" || str(loc, "end") != "2026-12-01T15:00:00+01:00" {
				t.Errorf("AIL slot %s %s–%s", str(loc, "status"), str(loc, "start"), str(loc, "end"))
			}
			if str(loc, "comment") != "Onderhoud OK" {
				t.Errorf("comment %q", str(loc, "comment"))
			}
			// The practitioner has no own time: the message's TQ1 applies.
			if p := slots[1]; str(p, "start") != "2026-12-01T08:00:00+01:00" || str(p, "end") != "2026-12-01T17:00:00+01:00" {
				t.Errorf("AIP slot %s–%s", str(p, "start"), str(p, "end"))
			}
		})
	}
	t.Run("S23 without resources: warning, nothing but the Organization", func(t *testing.T) {
		res := mustMap(t, siuMsg("S23", nil, "TQ1|1||||||202612010800+0100|202612011700+0100"))
		if types(res) != "Organization" || !hasProblem(res.Warnings, "W", "100", "SCH", 0) {
			t.Errorf("%s %s", types(res), problemsString(res.Warnings))
		}
	})
	t.Run("S23 with a date only: no Slot (a Slot needs instants)", func(t *testing.T) {
		res := mustMap(t, siuMsg("S23", map[int]string{11: "^^^20261201"}, "RGS|1", "AIL|1||POLI-ORTH"))
		if len(decoded(t, res, "Slot")) != 0 || !hasProblem(res.Warnings, "W", "101", "AIL", 0) {
			t.Errorf("%s %s", types(res), problemsString(res.Warnings))
		}
	})
}

func TestSIUTimes(t *testing.T) {
	cases := []struct {
		name             string
		sch              map[int]string
		segs             []string
		start, end       string
		minutes          int
		reqStart, reqEnd string // requestedPeriod
		warnCode         string // a warning expected
	}{
		{name: "TQ1-7/8 with offsets", segs: []string{tq1Dec1, pidNoord},
			start: "2026-12-01T10:40:00+01:00", end: "2026-12-01T11:00:00+01:00", minutes: 20},
		{name: "v2.3 SCH-11 TQ.4/TQ.5 without offset: Amsterdam", sch: map[int]string{11: "^^20^202612011040^202612011100"}, segs: []string{pidNoord},
			start: "2026-12-01T10:40:00+01:00", end: "2026-12-01T11:00:00+01:00", minutes: 20},
		{name: "SCH-11 start + TQ.3 duration, SCH-10 units", sch: map[int]string{9: "30", 10: "MIN", 11: "^^30^202606011040"}, segs: []string{pidNoord},
			start: "2026-06-01T10:40:00+02:00", end: "2026-06-01T11:10:00+02:00", minutes: 30},
		{name: "SCH-11 start + v2.3 duration M45", sch: map[int]string{11: "^^M45^202606011040"}, segs: []string{pidNoord},
			start: "2026-06-01T10:40:00+02:00", end: "2026-06-01T11:25:00+02:00", minutes: 45},
		{name: "AIS-4 + AIS-7/8 when no TQ1 or SCH-11", segs: []string{pidNoord, "RGS|1", "AIS|1||0305^Orth^L|20261201104000|||25|min^Minutes^ISO"},
			start: "2026-12-01T10:40:00+01:00", end: "2026-12-01T11:05:00+01:00", minutes: 25},
		{name: "AIS duration in seconds (60 s = 1 minute)", segs: []string{pidNoord, "RGS|1", "AIS|1||0305^Orth^L|20261201104000|||60|s"},
			start: "2026-12-01T10:40:00+01:00", end: "2026-12-01T10:41:00+01:00", minutes: 1},
		{name: "SCH-9/10 as the last resort for the duration", sch: map[int]string{9: "1", 10: "H", 11: "^^^202612011040"}, segs: []string{pidNoord},
			start: "2026-12-01T10:40:00+01:00", end: "2026-12-01T11:40:00+01:00", minutes: 60},
		{name: "spring forward: 01:30 → 03:30 local is one hour", segs: []string{"TQ1|1||||||202603290130|202603290330", pidNoord},
			start: "2026-03-29T01:30:00+01:00", end: "2026-03-29T03:30:00+02:00", minutes: 60},
		{name: "autumn back: 02:00 (first) → 03:00 local is two hours", segs: []string{"TQ1|1||||||202610250200|202610250300", pidNoord},
			start: "2026-10-25T02:00:00+02:00", end: "2026-10-25T03:00:00+01:00", minutes: 120},
		{name: "duration across the spring change", segs: []string{"TQ1|1||||||202603290130", pidNoord, "RGS|1", "AIS|1||X^Y^L||||90|min"},
			start: "2026-03-29T01:30:00+01:00", end: "2026-03-29T04:00:00+02:00", minutes: 90},
		{name: "fractional seconds and offset kept", segs: []string{"TQ1|1||||||20261201104000.25+0100|20261201110000.25+0100", pidNoord},
			start: "2026-12-01T10:40:00.25+01:00", end: "2026-12-01T11:00:00.25+01:00", minutes: 20},
		{name: "date-only waitlist: requestedPeriod, never start", sch: map[int]string{11: "^^^20270115", 25: "Waitlist"}, segs: []string{pidNoord},
			reqStart: "2027-01-15", reqEnd: "2027-01-15"},
		{name: "date-only booked: requestedPeriod and a warning (app-3)", sch: map[int]string{11: "^^^20270115^20270116", 25: "Booked"}, segs: []string{pidNoord},
			reqStart: "2027-01-15", reqEnd: "2027-01-16", warnCode: "102"},
		{name: "date-only AIS-4 with a duration: still only the day", sch: map[int]string{25: "Waitlist"}, segs: []string{pidNoord, "RGS|1", "AIS|1||X^Y^L|20270115|||20|min"},
			reqStart: "2027-01-15", reqEnd: "2027-01-15", minutes: 20},
		{name: "start without end or duration: requestedPeriod and a warning", segs: []string{"TQ1|1||||||202612011040+0100", pidNoord},
			reqStart: "2026-12-01T10:40:00+01:00", warnCode: "101"},
		{name: "no time at all (waitlist)", sch: map[int]string{25: "Waitlist"}, segs: []string{pidNoord}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := mustMap(t, siuMsg("S12", c.sch, c.segs...))
			a := one(t, res, "Appointment")
			if str(a, "start") != c.start || str(a, "end") != c.end {
				t.Errorf("start/end %q %q, want %q %q", str(a, "start"), str(a, "end"), c.start, c.end)
			}
			md, _ := get(a, "minutesDuration").(interface{ String() string })
			gotMin := 0
			if md != nil {
				gotMin, _ = strconv.Atoi(md.String())
			}
			if gotMin != c.minutes {
				t.Errorf("minutesDuration %d, want %d", gotMin, c.minutes)
			}
			if str(a, "requestedPeriod", 0, "start") != c.reqStart || str(a, "requestedPeriod", 0, "end") != c.reqEnd {
				t.Errorf("requestedPeriod %v", get(a, "requestedPeriod"))
			}
			if c.warnCode == "" && len(res.Warnings) > 0 || c.warnCode != "" && (len(res.Warnings) != 1 || res.Warnings[0].Code != c.warnCode) {
				t.Errorf("warnings %s, want code %q", problemsString(res.Warnings), c.warnCode)
			}
		})
	}
}

func TestSIUDataErrors(t *testing.T) {
	cases := []struct {
		name  string
		raw   []byte
		code  string
		seg   string
		field int
	}{
		{"SCH-1 and SCH-2 both empty → AE 101", siuMsg("S12", map[int]string{1: "", 2: ""}), "101", "SCH", 2},
		{"no SCH → AE 100", hl7(strings.ReplaceAll(strings.ReplaceAll(mshNoordFmt, "%s", "S12"), "CTRL-S12", "C"), pidNoord), "100", "SCH", 0},
		{"no PID → AE 100", siuMsg("S12", nil, tq1Dec1, "RGS|1", aisOrth), "100", "PID", 0},
		{"PID-3 empty → AE 101", siuMsg("S12", nil, tq1Dec1, "PID|1||||Jansen"), "101", "PID", 3},
		{"BSN alone → AE 101 (never a Patient by BSN)", siuMsg("S12", nil, tq1Dec1, "PID|1||999911120^^^NLMINBIZA^NNNLD||Smit"), "101", "PID", 3},
		{"invalid BSN → AE 102 naming PID-3", siuMsg("S12", nil, tq1Dec1, "PID|1||123456789^^^NLMINBIZA^NNNLD~7654321^^^ZKH^MR"), "102", "PID", 3},
		{"unparseable TQ1-7 → AE 102", siuMsg("S12", nil, "TQ1|1||||||2026-12-01T10:40", pidNoord), "102", "TQ1", 7},
		{"unparseable SCH-11 start → AE 102", siuMsg("S12", map[int]string{11: "^^^20261301"}, pidNoord), "102", "SCH", 11},
		{"unparseable birth date → AE 102", siuMsg("S12", nil, tq1Dec1, "PID|1||7654321^^^ZKH^MR||Jansen||19581314"), "102", "PID", 7},
		{"unparseable Z order date → AE 102", siuMsg("S12", nil, tq1Dec1, pidNoord, "ZWL|1|15-09-2026|ORTH|4|WL-1"), "102", "ZWL", 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			me := mappingError(t, c.raw)
			if me.Reject || !hasProblem(me.Problems, "E", c.code, c.seg, c.field) {
				t.Errorf("got reject=%v %s", me.Reject, problemsString(me.Problems))
			}
			for _, p := range me.Problems {
				if strings.Contains(p.Text, "123456789") || strings.Contains(p.Text, "999911120") {
					t.Errorf("a BSN in a problem text: %s", p.Text)
				}
			}
		})
	}
}

func TestSIUWaitServiceRequest(t *testing.T) {
	orderSystem := ww.HospitalSystem(nlAGB, "order")
	t.Run("SCH-26/27 order numbers → ServiceRequest and basedOn", func(t *testing.T) {
		res := mustMap(t, siuMsg("S12", map[int]string{26: "ORD-1^ZKH-NOORD", 27: "FORD-1"}))
		if got := types(res); got != "Organization,Patient,Location,Practitioner,ServiceRequest,Appointment" {
			t.Fatalf("order %s", got)
		}
		sr, a, p, o := one(t, res, "ServiceRequest"), one(t, res, "Appointment"), one(t, res, "Patient"), one(t, res, "Organization")
		if str(sr, "id") != ww.DeriveID(testKey, "ServiceRequest", orderSystem, "ORD-1") {
			t.Errorf("ServiceRequest id not derived from the placer order number")
		}
		checks := map[string]string{
			"status": "active", "intent": "order",
			"subject.reference":               "Patient/" + str(p, "id"),
			"performer.0.reference":           "Organization/" + str(o, "id"),
			"performerType.coding.0.code":     "0305",
			"performerType.coding.0.system":   ww.SystemSpecialism,
			"category.0.coding.0.system":      ww.SystemWaitKind,
			"category.0.coding.0.code":        "outpatient",
			"authoredOn":                      "2026-11-03",
			"identifier.0.value":              "ORD-1",
			"identifier.0.type.coding.0.code": "PLAC",
			"identifier.1.value":              "FORD-1",
			"identifier.1.type.coding.0.code": "FILL",
			"identifier.0.system":             orderSystem,
		}
		for path, want := range checks {
			var keys []any
			for _, k := range strings.Split(path, ".") {
				if n, err := strconv.Atoi(k); err == nil {
					keys = append(keys, n)
				} else {
					keys = append(keys, k)
				}
			}
			if got := str(sr, keys...); got != want {
				t.Errorf("ServiceRequest.%s = %q, want %q", path, got, want)
			}
		}
		if str(a, "basedOn", 0, "reference") != "ServiceRequest/"+str(sr, "id") {
			t.Errorf("basedOn %v", get(a, "basedOn"))
		}
		if !res.Resources[4].IfAbsent {
			t.Errorf("an SIU ServiceRequest without a Z order date must not overwrite a stored one")
		}
	})
	t.Run("waitlist without an order number: the ServiceRequest from SCH-1", func(t *testing.T) {
		res := mustMap(t, siuMsg("S12", map[int]string{25: "Waitlist", 11: "^^^20270115"}, pidNoord))
		sr := one(t, res, "ServiceRequest")
		if str(sr, "id") != ww.DeriveID(testKey, "ServiceRequest", orderSystem, "PL-1") {
			t.Errorf("id not from SCH-1")
		}
		if a := one(t, res, "Appointment"); str(a, "status") != "waitlist" || str(a, "basedOn", 0, "reference") != "ServiceRequest/"+str(sr, "id") {
			t.Errorf("appointment %v", a)
		}
	})
	t.Run("booked without an order number: no ServiceRequest", func(t *testing.T) {
		res := mustMap(t, siuMsg("S12", nil))
		if len(decoded(t, res, "ServiceRequest")) != 0 {
			t.Errorf("%s", types(res))
		}
	})
	t.Run("Z-segment: order date, specialism and order number", func(t *testing.T) {
		res := mustMap(t, siuMsg("S12", nil, tq1Dec1, pidNoord, "RGS|1", aisOrth, "ZWL|1|20260915|ORTH|4|WACHTLIJST-REF-991"))
		sr := one(t, res, "ServiceRequest")
		if str(sr, "authoredOn") != "2026-09-15" || str(sr, "performerType", "coding", 0, "code") != "0305" || str(sr, "identifier", 0, "value") != "WACHTLIJST-REF-991" {
			t.Errorf("ServiceRequest %v", sr)
		}
		for _, r := range res.Resources {
			if r.Type == "ServiceRequest" && !r.IfAbsent {
				t.Errorf("an SIU never overwrites a stored wait")
			}
		}
	})
	t.Run("unmapped Z specialism: warning, local code kept, tag on the ServiceRequest and the Appointment", func(t *testing.T) {
		res := mustMap(t, siuMsg("S12", map[int]string{26: "ORD-1"}, tq1Dec1, pidNoord, "ZWL|1|20260915|KAAK"))
		sr := one(t, res, "ServiceRequest")
		if str(sr, "meta", "tag", 0, "code") != "unmapped" || str(sr, "performerType", "coding", 0, "code") != "KAAK" ||
			!strings.HasSuffix(str(sr, "performerType", "coding", 0, "system"), "/ZWL-3") {
			t.Errorf("ServiceRequest %v", sr)
		}
		a := one(t, res, "Appointment")
		if str(a, "meta", "tag", 0, "code") != "unmapped" || str(a, "specialty", 0, "coding", 0, "code") != "KAAK" {
			t.Errorf("Appointment without the unmapped tag or the local specialty: %v", a)
		}
		if !slices.Contains(res.Unmapped, "ZWL-3=KAAK") || !hasProblem(res.Warnings, "W", "103", "ZWL", 3) {
			t.Errorf("unmapped %v %s", res.Unmapped, problemsString(res.Warnings))
		}
	})
	t.Run("unmapped Z wait kind: local code kept in category", func(t *testing.T) {
		raw := siuMsg("S12", map[int]string{26: "ORD-1"}, tq1Dec1, pidNoord, "ZWL|1|20260915|0305|SPOED")
		cfg := testConfig(t)
		m := mustParse(t, raw)
		sc := *cfg.For(m.SendingApplication, m.SendingFacility)
		sc.ZSegments = map[string]string{"ZWL-2": "authoredOn", "ZWL-3": "specialism", "ZWL-4": "waitKind"}
		res, err := Map(m, &sc, testKey)
		if err != nil {
			t.Fatal(err)
		}
		checkResources(t, res)
		sr := one(t, res, "ServiceRequest")
		cat := get(sr, "category", 0, "coding").([]any)
		last := cat[len(cat)-1].(map[string]any)
		if last["code"] != "SPOED" || !strings.HasSuffix(last["system"].(string), "/ZWL-4") || str(sr, "meta", "tag", 0, "code") != "unmapped" {
			t.Errorf("ServiceRequest %v", sr)
		}
		if a := one(t, res, "Appointment"); str(a, "meta", "tag", 0, "code") != "unmapped" {
			t.Errorf("Appointment without the unmapped tag: %v", get(a, "meta"))
		}
	})
	t.Run("defaults of the sender", func(t *testing.T) {
		raw := hl7("MSH|^~\\&|HIX|ZKH-ZUID|WW|WW|20261103||SIU^S12|Z1|P|2.4", seg("SCH", map[int]string{2: "FL-9", 25: "Waitlist", 26: "ORD-77"}), "PID|1||555^^^ZKH-ZUID^MR")
		res := mustMap(t, raw)
		sr := one(t, res, "ServiceRequest")
		if str(sr, "performerType", "coding", 0, "code") != "0305" || str(sr, "category", 0, "coding", 0, "code") != "treatment-inpatient" {
			t.Errorf("defaults %v", sr)
		}
		if str(sr, "identifier", 0, "system") != ww.HospitalSystem("06021234", "order") {
			t.Errorf("a 7-digit AGB in the configuration gets its leading 0 back: %s", str(sr, "identifier", 0, "system"))
		}
	})
}

func TestSIUParticipantsAndResources(t *testing.T) {
	res := mustMap(t, siuMsg("S12", nil))
	a := one(t, res, "Appointment")
	pat := one(t, res, "Patient")
	if want := ww.DeriveID(testKey, "Patient", ww.HospitalSystem(nlAGB, "patient"), patientNo); str(pat, "id") != want {
		t.Errorf("Patient id must come from the hospital number, not the BSN")
	}
	if str(a, "participant", 0, "actor", "reference") != "Patient/"+str(pat, "id") {
		t.Errorf("patient participant %v", get(a, "participant", 0))
	}
	loc := one(t, res, "Location")
	if str(loc, "identifier", 0, "system") != ww.SystemAGB || str(loc, "identifier", 0, "value") != "06011235" {
		t.Errorf("configured location AGB: %v", get(loc, "identifier"))
	}
	pr := one(t, res, "Practitioner")
	if str(pr, "identifier", 0, "system") != ww.SystemAGB || str(pr, "identifier", 0, "value") != "01234567" ||
		str(pr, "id") != ww.DeriveID(testKey, "Practitioner", ww.SystemAGB, "01234567") {
		t.Errorf("AIP-3 with authority VEKTIS is an AGB: %v", get(pr, "identifier"))
	}
	if str(a, "participant", 2, "type", 0, "coding", 0, "code") != "ATND" || str(a, "participant", 2, "type", 0, "coding", 0, "system") != "http://terminology.hl7.org/CodeSystem/v2-0443" {
		t.Errorf("AIP-4 role %v", get(a, "participant", 2))
	}
	if str(a, "serviceType", 0, "coding", 0, "code") != "0305" || str(a, "specialty", 0, "coding", 0, "code") != "0305" {
		t.Errorf("serviceType/specialty %v %v", get(a, "serviceType"), get(a, "specialty"))
	}
	if str(a, "reasonCode", 0, "coding", 0, "code") != "CONSULT" {
		t.Errorf("SCH-7 not in table 0276 → reasonCode: %v", get(a, "reasonCode"))
	}
	for _, r := range res.Resources {
		want := r.Type != "Appointment"
		if r.IfAbsent != want {
			t.Errorf("%s IfAbsent=%v", r.Type, r.IfAbsent)
		}
	}
	if src := str(a, "meta", "source"); src != "urn:hl7v2:HIX|ZKH-NOORD#CTRL-S12" {
		t.Errorf("meta.source %q", src)
	}

	t.Run("local practitioner id, declined resource (action D)", func(t *testing.T) {
		res := mustMap(t, siuMsg("S12", nil, tq1Dec1, pidNoord, "RGS|1", "AIP|1|D|1210^GE^Robert^C|010^Gastroenterologist^L"))
		pr := one(t, res, "Practitioner")
		if str(pr, "identifier", 0, "system") != ww.HospitalSystem(nlAGB, "practitioner") || str(pr, "identifier", 0, "value") != "1210" {
			t.Errorf("local practitioner %v", get(pr, "identifier"))
		}
		if str(one(t, res, "Appointment"), "participant", 1, "status") != "declined" {
			t.Errorf("AIP-2 D → declined")
		}
	})
	t.Run("practitionerIdIsAgb for a plain 7-digit id", func(t *testing.T) {
		res, err := mapWith(t, siuMsg("S12", nil, tq1Dec1, pidNoord, "RGS|1", "AIP|1||1234567^Jansen"), &SenderConfig{AGB: nlAGB, PractitionerIDIsAGB: true})
		if err != nil {
			t.Fatal(err)
		}
		if pr := one(t, res, "Practitioner"); str(pr, "identifier", 0, "value") != "01234567" || str(pr, "identifier", 0, "system") != ww.SystemAGB {
			t.Errorf("%v", get(pr, "identifier"))
		}
	})
	t.Run("service map: mapped code added, unmapped code warned and tagged", func(t *testing.T) {
		sc := &SenderConfig{AGB: nlAGB, Service: map[string]Coding{"0305": {System: "http://snomed.info/sct", Code: "11429006", Display: "Consultation"}}}
		res, err := mapWith(t, siuMsg("S12", nil), sc)
		if err != nil {
			t.Fatal(err)
		}
		a := one(t, res, "Appointment")
		if str(a, "serviceType", 0, "coding", 0, "code") != "11429006" || str(a, "serviceType", 0, "coding", 1, "code") != "0305" {
			t.Errorf("serviceType %v", get(a, "serviceType"))
		}
		res, err = mapWith(t, siuMsg("S12", nil, tq1Dec1, pidNoord, "RGS|1", "AIS|1||9999^Onbekend^L"), sc)
		if err != nil {
			t.Fatal(err)
		}
		a = one(t, res, "Appointment")
		if str(a, "meta", "tag", 0, "code") != "unmapped" || str(a, "serviceType", 0, "coding", 0, "code") != "9999" || !slices.Contains(res.Unmapped, "AIS-3=9999") {
			t.Errorf("unmapped service %v %v", get(a, "serviceType"), res.Unmapped)
		}
	})
	t.Run("NTE after SCH → comment; NTE-2 quirk", func(t *testing.T) {
		res := mustMap(t, siuMsg("S12", nil, tq1Dec1, "NTE||Patient did not show up.", "NTE|2||tweede\\.br\\regel", pidNoord, "RGS|1", aisOrth, "NTE|1||not this one"))
		if got := str(one(t, res, "Appointment"), "comment"); got != "Patient did not show up.\ntweede\nregel" {
			t.Errorf("comment %q", got)
		}
	})
	t.Run("the same appointment through S12 and S15 is one resource", func(t *testing.T) {
		a := one(t, mustMap(t, siuMsg("S12", nil)), "Appointment")
		b := one(t, mustMap(t, siuMsg("S15", nil)), "Appointment")
		if str(a, "id") != str(b, "id") || str(b, "status") != "cancelled" {
			t.Errorf("%s vs %s", str(a, "id"), str(b, "id"))
		}
	})
}

func TestSIUSenderConventions(t *testing.T) {
	t.Run("FHIR code as the alternate coding of SCH-25", func(t *testing.T) {
		for sch25, want := range map[string]string{
			"Arrived^Arrived^L^arrived^^FHIR":           "arrived",
			"Proposed^Proposed^L^proposed^^FHIR":        "proposed",
			"Complete^Complete^HL70278^fulfilled^^FHIR": "fulfilled",
		} {
			res := mustMap(t, siuMsg("S14", map[int]string{25: sch25}))
			a := one(t, res, "Appointment")
			if str(a, "status") != want || len(res.Warnings) > 0 {
				t.Errorf("%s: %s %s", sch25, str(a, "status"), problemsString(res.Warnings))
			}
			if hasExt := get(a, "extension") != nil; hasExt != (want != "fulfilled") {
				t.Errorf("%s: extension %v", sch25, get(a, "extension"))
			}
		}
	})
	t.Run("PV1-10 specialism, AIS-3 wait-kind code, point of care that is an AGB", func(t *testing.T) {
		res, err := mapWith(t, siuMsg("S12", map[int]string{27: "VW1^06011234"}, tq1Dec1, pidNoord, "PV1|1|O|^^^06607192|||||||0310",
			"RGS|1", "AIS|1|A|diagnostics^Diagnostiek^WW-WAITKIND", "AIL|1|A|06607192^^^06011234^^^^^Gasthuis Almere"), &SenderConfig{AGB: nlAGB})
		if err != nil {
			t.Fatal(err)
		}
		sr := one(t, res, "ServiceRequest")
		if str(sr, "performerType", "coding", 0, "code") != "0310" || str(sr, "category", 0, "coding", 0, "code") != "diagnostics" {
			t.Errorf("%v", sr)
		}
		if a := one(t, res, "Appointment"); str(a, "serviceType", 0, "coding", 0, "system") != ww.SystemWaitKind {
			t.Errorf("WW-WAITKIND system %v", get(a, "serviceType"))
		}
		if loc := one(t, res, "Location"); str(loc, "id") != ww.DeriveID(testKey, "Location", ww.SystemAGB, "06607192") || str(loc, "name") != "Gasthuis Almere" {
			t.Errorf("%v", loc)
		}
	})
}

func TestParseDuration(t *testing.T) {
	cases := []struct {
		qty, units string
		want       string // "" = not a duration
	}{
		{"20", "MIN", "20m0s"}, {"20", "min^Minutes^ISO", ""}, {"60", "s", "1m0s"}, {"70", "Min", "1h10m0s"}, {"1.5", "h", "1h30m0s"},
		{"M20", "", "20m0s"}, {"H1", "", "1h0m0s"}, {"S90", "", "1m30s"}, {"D2", "", "48h0m0s"}, {"W1", "", "168h0m0s"},
		{"2 hours", "", "2h0m0s"}, {"30", "", "30m0s"}, {"20", "UCUM", ""}, {"NaN", "s", ""}, {"Inf", "h", ""}, {"1e3", "s", ""},
		{"-5", "min", ""}, {"0", "min", ""}, {"1000000", "wk", ""}, {"0x10", "min", ""}, {"", "min", ""}, {"INDEF", "", ""},
	}
	for _, c := range cases {
		d, ok := parseDuration(c.qty, c.units)
		got := ""
		if ok {
			got = d.String()
		}
		if got != c.want {
			t.Errorf("parseDuration(%q, %q) = %q, want %q", c.qty, c.units, got, c.want)
		}
	}
}

func TestSIUResourceBlockedInsideAnAppointment(t *testing.T) {
	res := mustMap(t, siuMsg("S14", nil, tq1Dec1, pidNoord, "RGS|1", aisOrth,
		"AIL|1||POLI-ORTH^K2.14^^ZKH-NOORD|||202612011200+0100|||60|min||Blocked"))
	if got := types(res); got != "Organization,Patient,Location,Schedule,Slot,Appointment" {
		t.Fatalf("%s", got)
	}
	slot := one(t, res, "Slot")
	if str(slot, "status") != "busy-unavailable" || str(slot, "start") != "2026-12-01T12:00:00+01:00" || str(slot, "end") != "2026-12-01T13:00:00+01:00" {
		t.Errorf("%v", slot)
	}
	if str(one(t, res, "Appointment"), "status") != "booked" {
		t.Errorf("the appointment itself stays booked")
	}
}
