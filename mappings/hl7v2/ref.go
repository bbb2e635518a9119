package hl7v2

import (
	"strings"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/conformance/nlid"
)

// referralStatus0283 maps RF1-1 (HL7 table 0283, referral status) to
// ServiceRequest.status: A accepted → active (the wait runs), P pending →
// draft (not yet accepted: not a wait), R rejected → revoked, E expired →
// revoked (withdrawn before completion).
var referralStatus0283 = map[string]string{"A": "active", "P": "draft", "R": "revoked", "E": "revoked"}

// referralCategory0284 maps RF1-5 (HL7 table 0284, referral category) to a
// wait kind when the sender's waitKind map has no entry.
var referralCategory0284 = map[string]string{"O": "outpatient", "A": "outpatient", "I": "treatment-inpatient"}

// referralPriority0280 maps RF1-2 (HL7 table 0280) to ServiceRequest.priority.
var referralPriority0280 = map[string]string{"S": "stat", "A": "asap", "R": "routine"}

// mapREF maps REF^I12/I13/I14 to a ServiceRequest (the wait), with the
// Patient (if absent) and the referring Practitioner (PRD with role RP).
func (x *mapper) mapREF() {
	trig := strings.ToUpper(x.m.Trigger)
	rf1 := x.m.Segment("RF1")
	if rf1 == nil {
		x.failMissing("RF1", "REF^%s without an RF1 segment", trig)
		return
	}
	pid := x.m.Segment("PID")
	if pid == nil {
		x.failMissing("PID", "REF^%s without a PID segment", trig)
		return
	}
	refNo := rf1.Field(6).EI().ID
	if refNo == "" {
		x.fail(CodeRequiredField, rf1, 6, 0, 1, "RF1-6 (originating referral identifier) is empty")
	}
	status, statusExt, unmapped := x.referralStatus(rf1, trig)
	authored := ""
	for _, f := range []int{7, 9} { // effective date, else process date
		t := x.timeAt(rf1, f, 1)
		if !t.IsZero() {
			authored = t.FHIRDateTime()
			break
		}
	}
	if len(x.errs) > 0 {
		return
	}
	if authored == "" {
		authored = x.res.SourceTime.FHIRDate()
	}
	orgID := x.organization()
	patID, _ := x.patient(pid, orgID, true)
	if patID == "" {
		return
	}
	var requester obj
	for _, prd := range x.m.All("PRD") {
		if !hasRole(prd.Field(1), "RP") {
			continue
		}
		requester = x.referrer(prd)
		break
	}
	// RF1-3 and RF1-5 are strict: a code that maps to nothing is reported
	// (warning, unmapped tag) and kept as the sender's local coding.
	specCands := []candidate{{value: rf1.Field(3).CWE().Code, system: rf1.Field(3).CWE().System, seg: rf1, path: Path{Segment: "RF1", Field: 3}, strict: true}}
	if pv1 := x.m.Segment("PV1"); pv1 != nil {
		specCands = append(specCands, candidate{value: pv1.Get(10), seg: pv1, path: Path{Segment: "PV1", Field: 10}, direct: true})
	}
	spec, specLocal, specUnmapped := x.specialism(specCands)
	kind, kindLocal, kindUnmapped := x.waitKind([]candidate{{value: rf1.Field(5).CWE().Code, system: rf1.Field(5).CWE().System, seg: rf1, path: Path{Segment: "RF1", Field: 5}, strict: true}}, referralCategory0284)
	var category []obj
	if c := withLocal(waitKindConcept(kind), kindLocal); c != nil {
		category = []obj{c}
	}
	var reasons []obj
	for _, rep := range rf1.Field(10).Reps() {
		c := rep.CWE()
		cc := x.concept(c, "RF1-10")
		switch {
		case cc == nil:
		case x.codeSystem(c.System, "RF1-10") == ww.SystemComplexity:
			category = append(category, cc) // care that belongs at an academic centre
		default:
			reasons = append(reasons, cc)
		}
	}
	var notes []obj
	for _, nte := range x.m.All("NTE") {
		for _, r := range nte.Field(3).Reps() {
			if v := strings.TrimSpace(r.Value()); v != "" {
				notes = append(notes, obj{{"text", v}})
			}
		}
	}
	priority, _ := lookupFold(referralPriority0280, rf1.Field(2).CWE().Code)
	system := x.cfg.system(x.agb, "order")
	var extension []obj
	if statusExt != nil {
		extension = []obj{statusExt}
	}
	x.emit("ServiceRequest", x.id("ServiceRequest", system, refNo), obj{
		{"extension", extension},
		{"identifier", []obj{identifierWithType(system, refNo, "PLAC")}},
		{"status", status},
		{"intent", "order"},
		{"category", category},
		{"priority", priority},
		{"subject", ref("Patient", patID)},
		{"authoredOn", authored},
		{"requester", requester},
		{"performer", []obj{ref("Organization", orgID)}},
		{"performerType", withLocal(specialismConcept(spec), specLocal)},
		{"reasonCode", reasons},
		{"note", notes},
	}, false, unmapped || specUnmapped || kindUnmapped)
}

// referralStatus maps RF1-1 (sender map, then a FHIR alternate code
// "A^Accepted^HL70283^active^^FHIR", then table 0283); I14 (cancel) is
// always revoked; an empty RF1-1 is active. An unknown code is not guessed
// at: the status is unknown (FHIR: the source's status does not map), the
// local code is kept in the ExtReferralStatus extension, and the message
// gets a warning and the unmapped tag.
func (x *mapper) referralStatus(rf1 *Segment, trig string) (status string, ext obj, unmapped bool) {
	if trig == "I14" {
		return "revoked", nil, false
	}
	cwe := rf1.Field(1).CWE()
	code := cwe.Code
	if code == "" {
		return "active", nil, false
	}
	keep := func() obj {
		system := "http://terminology.hl7.org/CodeSystem/v2-0283"
		if _, ok := lookupFold(referralStatus0283, code); !ok {
			system = x.codeSystem("L", "RF1-1")
		}
		return obj{{"url", ExtReferralStatus}, {"valueCoding", obj{{"system", system}, {"code", code}, {"display", cwe.Text}}}}
	}
	if v, ok := lookupFold(x.cfg.ReferralStatus, code); ok {
		return v, keep(), false
	}
	if v := fhirAlternate(cwe, requestStatuses); v != "" {
		return v, nil, false
	}
	if v, ok := lookupFold(referralStatus0283, code); ok {
		return v, nil, false
	}
	x.unmapped(rf1, Path{Segment: "RF1", Field: 1}, code, "RF1-1 referral status %q has no mapping; status unknown, the local code is kept", sanitize(code, 20))
	return "unknown", keep(), true
}

func hasRole(f Field, role string) bool {
	for _, r := range f.Reps() {
		if strings.EqualFold(r.Get(1), role) {
			return true
		}
	}
	return false
}

// referrer emits the referring provider of a PRD and returns the reference:
// a Practitioner identified by PRD-7 (an AGB code when its type says AGB,
// or the sender's configuration says so), else a display-only reference.
func (x *mapper) referrer(prd *Segment) obj {
	name := prd.Field(2).XPN()
	display := strings.Join(nonEmpty(name.Prefix, name.Given, name.Family), " ")
	for _, rep := range prd.Field(7).Reps() {
		idv, typ := rep.Get(1), strings.ToUpper(rep.Get(2))
		if idv == "" {
			continue
		}
		system, value := x.cfg.system(x.agb, "practitioner"), idv
		if a, _ := ww.NormalizeAGB(idv); nlid.CheckAGB(a) == nil && (typ == "AGB" || typ == "VEKTIS" || typ == "AGB-Z" || x.cfg.PractitionerIDIsAGB) {
			system, value = ww.SystemAGB, a
		}
		id := x.id("Practitioner", system, value)
		x.emit("Practitioner", id, obj{
			{"identifier", []obj{{{"system", system}, {"value", value}}}},
			{"name", []obj{humanName(name)}},
		}, true, false)
		return append(ref("Practitioner", id), kv{"display", display})
	}
	if display == "" {
		return nil
	}
	return obj{{"display", display}}
}
