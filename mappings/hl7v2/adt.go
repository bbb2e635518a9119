package hl7v2

import (
	"strings"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/conformance/nlid"
)

// mapADT maps A01/A04/A08/A28/A31 (the Patient, replacing what is stored,
// plus a Coverage per Dutch IN1) and A40 (merge).
func (x *mapper) mapADT() {
	trig := strings.ToUpper(x.m.Trigger)
	pid := x.m.Segment("PID")
	if pid == nil {
		x.failMissing("PID", "ADT^%s without a PID segment", trig)
		return
	}
	orgID := x.organization()
	if trig == "A40" {
		x.merge(pid, orgID)
		return
	}
	patID, _ := x.patient(pid, orgID, false)
	if patID == "" {
		return
	}
	for _, in1 := range x.m.All("IN1") {
		x.coverage(in1, patID)
	}
}

// merge maps ADT^A40: PID is the surviving patient, MRG-1 the retired one.
// The retired Patient is replaced by a stub (its number, active false, a
// replaced-by link): its BSN and demographics go, so joins by BSN reach the
// survivor only.
func (x *mapper) merge(pid *Segment, orgID string) {
	mrg := x.m.Segment("MRG")
	if mrg == nil {
		x.failMissing("MRG", "ADT^A40 without an MRG segment")
		return
	}
	if len(x.m.All("PID")) > 1 || len(x.m.All("MRG")) > 1 {
		x.failMissing("PID", "ADT^A40 with more than one PID/MRG pair is not supported: send one merge per message")
		return
	}
	retired, ok := x.patientIdentity(mrg, 1)
	if !ok {
		return
	}
	survivor, ok := x.patientIdentity(pid, 3)
	if !ok {
		return
	}
	if retired.number == survivor.number {
		x.fail(CodeDataType, mrg, 1, 0, 1, "MRG-1 names the same patient number as PID-3: nothing to merge")
		return
	}
	retID := x.patientID(retired.number)
	// The survivor gets no "replaces" link: it would reference the retired
	// Patient before that is written (and the next A08 would drop it).
	survID, _ := x.patient(pid, orgID, false)
	if survID == "" {
		return
	}
	x.emit("Patient", retID, obj{
		{"identifier", []obj{identifierWithType(x.cfg.system(x.agb, "patient"), retired.number, "MR")}},
		{"active", false},
		{"managingOrganization", ref("Organization", orgID)},
		{"link", []obj{{{"other", ref("Patient", survID)}, {"type", "replaced-by"}}}},
	}, false, false)
	x.res.Merge = &Merge{Surviving: survID, Retired: retID}
}

// coverage maps an IN1 whose insurance company id (IN1-3) is a UZOVI code
// (authority or type UZOVI) to a Coverage, identified by the policy number
// IN1-36 (else the insured's id IN1-49), with the insurer as payor. The
// Coverage is IfAbsent: the insurer's own Coverage (its beneficiary the
// insurer's Patient) wins. Other IN1 segments are skipped.
func (x *mapper) coverage(in1 *Segment, patID string) {
	uzovi := ""
	for i, rep := range in1.Field(3).Reps() {
		cx := rep.CX()
		if !strings.EqualFold(cx.Authority.Namespace, "UZOVI") && !strings.EqualFold(cx.TypeCode, "UZOVI") &&
			cx.Authority.UniversalID != "2.16.840.1.113883.2.4.6.4" {
			continue
		}
		if nlid.CheckUZOVI(cx.ID) != nil {
			x.warn(CodeDataType, in1, 3, i+1, 1, "IN1-3 is marked UZOVI but is not 4 digits: no Coverage written")
			return
		}
		uzovi = cx.ID
		break
	}
	if uzovi == "" {
		return
	}
	policy := firstNonEmpty(in1.Get(36), in1.Field(49).CX().ID)
	if policy == "" {
		x.warn(CodeRequiredField, in1, 36, 0, 0, "IN1-36 (policy number) is empty: no Coverage written for UZOVI %s", uzovi)
		return
	}
	insurerID := x.id("Organization", ww.SystemUZOVI, uzovi)
	x.emit("Organization", insurerID, obj{
		{"identifier", []obj{{{"system", ww.SystemUZOVI}, {"value", uzovi}}}},
		{"name", strings.TrimSpace(in1.Get(4))},
	}, true, false)
	start, err1 := in1.Field(12).Time(x.loc)
	end, err2 := in1.Field(13).Time(x.loc)
	if err1 != nil {
		x.fail(CodeDataType, in1, 12, 0, 1, "IN1-12 (plan effective date): %v", err1)
	}
	if err2 != nil {
		x.fail(CodeDataType, in1, 13, 0, 1, "IN1-13 (plan expiration date): %v", err2)
	}
	system := ww.SystemUZOVI + "/" + uzovi
	x.emit("Coverage", x.id("Coverage", system, policy), obj{
		{"identifier", []obj{{{"system", system}, {"value", policy}}}},
		{"status", "active"},
		{"subscriberId", policy},
		{"beneficiary", ref("Patient", patID)},
		{"period", obj{{"start", start.FHIRDateTime()}, {"end", end.FHIRDateTime()}}},
		{"payor", []obj{ref("Organization", insurerID)}},
	}, true, false) // the insurer, not the hospital, is the authority for membership

}
