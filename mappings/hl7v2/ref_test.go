package hl7v2

import (
	"slices"
	"strings"
	"testing"

	ww "github.com/wachtwijzer/wachtwijzer"
)

func refMsg(trig string, rf1 map[int]string, segs ...string) []byte {
	fields := map[int]string{1: "A^Accepted^HL70283", 2: "R^Routine^HL70280", 3: "ORTH^Orthopedie^L", 5: "O^Outpatient^HL70284",
		6: "ZD-2026-0001^ZORGDOMEIN", 7: "20260915101200+0200", 9: "20260916", 10: "HIP^Heupklachten^L"}
	for k, v := range rf1 {
		fields[k] = v
	}
	msh := "MSH|^~\\&|HIX|ZKH-NOORD|WACHTWIJZER|WW|20261103140000+0100||REF^" + trig + "^REF_I12|REF-" + trig + "|P|2.5.1"
	if segs == nil {
		segs = []string{
			"PRD|RP^Referring provider^HL70286|Huisarts^Anna^^^Dr.|||||01234568^AGB",
			"PRD|RT^Referred to provider^HL70286|Orthopedie Ziekenhuis Noord",
			pidNoord,
		}
	}
	return hl7(append([]string{msh, seg("RF1", fields)}, segs...)...)
}

func TestREFReferral(t *testing.T) {
	orderSystem := ww.HospitalSystem(nlAGB, "order")
	res := mustMap(t, refMsg("I12", nil))
	if got := types(res); got != "Organization,Patient,Practitioner,ServiceRequest" {
		t.Fatalf("resources %s", got)
	}
	sr := one(t, res, "ServiceRequest")
	pr := one(t, res, "Practitioner")
	if str(sr, "id") != ww.DeriveID(testKey, "ServiceRequest", orderSystem, "ZD-2026-0001") {
		t.Errorf("id from RF1-6")
	}
	checks := []struct{ got, want string }{
		{str(sr, "status"), "active"},
		{str(sr, "intent"), "order"},
		{str(sr, "authoredOn"), "2026-09-15T10:12:00+02:00"},
		{str(sr, "priority"), "routine"},
		{str(sr, "identifier", 0, "value"), "ZD-2026-0001"},
		{str(sr, "performerType", "coding", 0, "code"), "0305"},
		{str(sr, "category", 0, "coding", 0, "code"), "outpatient"},
		{str(sr, "reasonCode", 0, "coding", 0, "code"), "HIP"},
		{str(sr, "requester", "reference"), "Practitioner/" + str(pr, "id")},
		{str(pr, "identifier", 0, "system"), ww.SystemAGB},
		{str(pr, "identifier", 0, "value"), "01234568"},
		{str(pr, "name", 0, "family"), "Huisarts"},
	}
	for i, c := range checks {
		if c.got != c.want {
			t.Errorf("check %d: %q, want %q", i, c.got, c.want)
		}
	}
	for _, r := range res.Resources {
		if r.Type == "ServiceRequest" && r.IfAbsent || r.Type == "Patient" && !r.IfAbsent {
			t.Errorf("REF is the authority for the wait, not for the Patient: %s IfAbsent=%v", r.Type, r.IfAbsent)
		}
	}
	t.Run("the same wait as an SIU with that placer order number", func(t *testing.T) {
		siu := mustMap(t, siuMsg("S12", map[int]string{26: "ZD-2026-0001"}))
		if str(one(t, siu, "ServiceRequest"), "id") != str(sr, "id") {
			t.Errorf("REF and SIU must meet on one ServiceRequest")
		}
	})
}

func TestREFStatus(t *testing.T) {
	cases := []struct {
		trig, rf11, want string
		unmapped         bool
	}{
		{"I12", "A^Accepted^HL70283", "active", false},
		{"I12", "P^Pending^HL70283", "draft", false},
		{"I13", "R^Rejected^HL70283", "revoked", false},
		{"I13", "E^Expired^HL70283", "revoked", false},
		{"I13", "", "active", false},
		{"I14", "A", "revoked", false},
		{"I12", "X^Onbekend^L", "unknown", true},
	}
	for _, c := range cases {
		t.Run(c.trig+" "+c.rf11, func(t *testing.T) {
			res := mustMap(t, refMsg(c.trig, map[int]string{1: c.rf11}))
			sr := one(t, res, "ServiceRequest")
			if str(sr, "status") != c.want {
				t.Errorf("status %s, want %s", str(sr, "status"), c.want)
			}
			if (str(sr, "meta", "tag", 0, "code") == "unmapped") != c.unmapped || slices.Contains(res.Unmapped, "RF1-1=X") != c.unmapped {
				t.Errorf("unmapped %v %v", get(sr, "meta"), res.Unmapped)
			}
			// An unmapped RF1-1 keeps the sender's code.
			if c.unmapped && (str(sr, "extension", 0, "url") != ExtReferralStatus || str(sr, "extension", 0, "valueCoding", "code") != "X" ||
				!strings.HasSuffix(str(sr, "extension", 0, "valueCoding", "system"), "/RF1-1")) {
				t.Errorf("local RF1-1 code not kept: %v", get(sr, "extension"))
			}
		})
	}
}

func TestREFFallbacksAndErrors(t *testing.T) {
	t.Run("no RF1-7: RF1-9, else the message date", func(t *testing.T) {
		sr := one(t, mustMap(t, refMsg("I12", map[int]string{7: ""})), "ServiceRequest")
		if str(sr, "authoredOn") != "2026-09-16" {
			t.Errorf("%s", str(sr, "authoredOn"))
		}
		sr = one(t, mustMap(t, refMsg("I12", map[int]string{7: "", 9: ""})), "ServiceRequest")
		if str(sr, "authoredOn") != "2026-11-03" {
			t.Errorf("%s", str(sr, "authoredOn"))
		}
	})
	t.Run("referrer without id: display only", func(t *testing.T) {
		res := mustMap(t, refMsg("I12", nil, "PRD|RP|Huisarts^Anna", pidNoord))
		sr := one(t, res, "ServiceRequest")
		if str(sr, "requester", "display") != "Anna Huisarts" || strings.Contains(types(res), "Practitioner") {
			t.Errorf("%v %s", get(sr, "requester"), types(res))
		}
	})
	t.Run("inpatient category", func(t *testing.T) {
		sr := one(t, mustMap(t, refMsg("I12", map[int]string{5: "I"})), "ServiceRequest")
		if str(sr, "category", 0, "coding", 0, "code") != "treatment-inpatient" {
			t.Errorf("%v", get(sr, "category"))
		}
	})
	for _, c := range []struct {
		name  string
		raw   []byte
		code  string
		seg   string
		field int
	}{
		{"RF1-6 empty → AE 101", refMsg("I12", map[int]string{6: ""}), "101", "RF1", 6},
		{"RF1-7 unparseable → AE 102", refMsg("I12", map[int]string{7: "15-09-2026"}), "102", "RF1", 7},
		{"no PID → AE 100", refMsg("I12", nil, "PRD|RP|X"), "100", "PID", 0},
		{"no RF1 → AE 100", hl7("MSH|^~\\&|HIX|ZKH-NOORD|||20261103||REF^I12|1|P|2.5", pidNoord), "100", "RF1", 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			me := mappingError(t, c.raw)
			if me.Reject || !hasProblem(me.Problems, "E", c.code, c.seg, c.field) {
				t.Errorf("%s", problemsString(me.Problems))
			}
		})
	}
}

func TestREFSenderConventions(t *testing.T) {
	res := mustMap(t, refMsg("I12", map[int]string{1: "P^Pending^HL70283^on-hold^^FHIR", 3: "0310^Dermatologie^COD016", 5: "treatment-day^Dagbehandeling^WW-WAITKIND",
		10: "high^Hoogcomplexe zorg^WW-COMPLEXITY"}, pidNoord, "NTE|1||Pati\xebnt wil de behandeling uitstellen.")) // ISO-8859-1, the default
	sr := one(t, res, "ServiceRequest")
	checks := []struct{ got, want string }{
		{str(sr, "status"), "on-hold"}, // the FHIR alternate wins over table 0283 (P → draft)
		{str(sr, "performerType", "coding", 0, "code"), "0310"},
		{str(sr, "category", 0, "coding", 0, "code"), "treatment-day"},
		{str(sr, "category", 1, "coding", 0, "system"), ww.SystemComplexity},
		{str(sr, "category", 1, "coding", 0, "code"), "high"},
		{str(sr, "note", 0, "text"), "Patiënt wil de behandeling uitstellen."},
	}
	for i, c := range checks {
		if c.got != c.want {
			t.Errorf("check %d: %q, want %q", i, c.got, c.want)
		}
	}
	if get(sr, "reasonCode") != nil || len(res.Warnings) > 0 {
		t.Errorf("%v %s", get(sr, "reasonCode"), problemsString(res.Warnings))
	}
}

// The audit's findings on REF: an unknown specialism (RF1-3) or referral
// category (RF1-5) is reported and kept, never dropped silently.
func TestREFUnknownCodesAreKept(t *testing.T) {
	res := mustMap(t, refMsg("I12", map[int]string{3: "KAAK^Kaakchirurgie^L", 5: "Z^Zorgpad^L"}))
	sr := one(t, res, "ServiceRequest")
	if str(sr, "meta", "tag", 0, "code") != "unmapped" {
		t.Errorf("no unmapped tag: %v", get(sr, "meta"))
	}
	pt := get(sr, "performerType", "coding").([]any)
	last := pt[len(pt)-1].(map[string]any)
	if last["code"] != "KAAK" || !strings.Contains(last["system"].(string), "/RF1-3") {
		t.Errorf("RF1-3 local code not kept: %v", pt)
	}
	cat := get(sr, "category", 0, "coding").([]any)
	lastCat := cat[len(cat)-1].(map[string]any)
	if lastCat["code"] != "Z" || !strings.Contains(lastCat["system"].(string), "/RF1-5") {
		t.Errorf("RF1-5 local code not kept: %v", cat)
	}
	for _, want := range []string{"RF1-3=KAAK", "RF1-5=Z"} {
		if !slices.Contains(res.Unmapped, want) {
			t.Errorf("Unmapped %v lacks %s", res.Unmapped, want)
		}
	}
	if !hasProblem(res.Warnings, "W", "103", "RF1", 3) || !hasProblem(res.Warnings, "W", "103", "RF1", 5) {
		t.Errorf("warnings %s", problemsString(res.Warnings))
	}
	// Known codes stay as they were: no tag.
	res = mustMap(t, refMsg("I12", map[int]string{3: "0305^Orthopedie^COD016", 5: "O^Outpatient^HL70284"}))
	if sr := one(t, res, "ServiceRequest"); get(sr, "meta", "tag") != nil || len(res.Unmapped) != 0 {
		t.Errorf("known codes flagged: %v %v", get(sr, "meta"), res.Unmapped)
	}
}
