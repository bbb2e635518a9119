package gen

import (
	"strconv"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/conformance/nlid"
)

// Code systems and extension URLs (the demo set's, conformance/nlid's and
// the root package's).
const (
	systemOrgType      = "http://terminology.hl7.org/CodeSystem/organization-type"
	systemPhysicalType = "http://terminology.hl7.org/CodeSystem/location-physical-type"
	systemPlanType     = "http://terminology.hl7.org/CodeSystem/insurance-plan-type"
	systemRelationship = "http://terminology.hl7.org/CodeSystem/subscriber-relationship"
	urlGeolocation     = "http://hl7.org/fhir/StructureDefinition/geolocation"
)

// publishedKinds are the wait kinds of the published waits, in the order of
// service.published.
var publishedKinds = [3]string{"outpatient", "diagnostics", "treatment"}

func specConcept(b []byte, s int) []byte {
	sp := nlid.Specialisms[s]
	return concept(b, nlid.SystemSpecialismOID, sp.Code, sp.Display)
}

func kspecs(b []byte, key string, s int) []byte {
	b = key1(b, key)
	b = append(b, '[')
	b = specConcept(b, s)
	return append(b, ']')
}

func kindConcept(b []byte, k int) []byte {
	return concept(b, ww.SystemWaitKind, KindCodes[k], kindDisplay[k])
}

func address(b []byte, use, line, postal, city, province string) []byte {
	b = append(b, '{')
	b = kv(b, "use", use)
	b = kv(b, "type", "both")
	b = key1(b, "line")
	b = append(b, '[')
	b = str(b, line)
	b = append(b, ']')
	b = kv(b, "city", city)
	if province != "" {
		b = kv(b, "state", province)
	}
	b = kv(b, "postalCode", postal)
	b = kv(b, "country", "NL")
	return append(b, '}')
}

func (w *World) encOrganization(b []byte, o *org) []byte {
	b = head(b, "Organization", o.id)
	b = key1(b, "identifier")
	b = append(b, '[')
	b = ident(b, "", ww.SystemAGB, o.agb)
	b = append(b, ',')
	b = ident(b, "", ww.SystemURA, o.ura)
	b = append(b, ',')
	b = ident(b, "", ww.SystemKvK, o.kvk)
	b = append(b, ']')
	b = kbool(b, "active", true)
	b = key1(b, "type")
	b = append(b, '[')
	b = concept(b, nlid.SystemSpecialismOID, orgTypeCode[o.kind], orgTypeDisplay[o.kind])
	b = append(b, ',')
	b = concept(b, systemOrgType, "prov", "Healthcare Provider")
	b = append(b, ']')
	b = kv(b, "name", o.name)
	main := o.locs[0]
	c := cities[main.city]
	b = key1(b, "address")
	b = append(b, '[')
	b = address(b, "work", main.street+" "+main.number, main.postal, c.name, c.province)
	b = append(b, ']')
	return append(b, '}')
}

func (w *World) encInsurer(b []byte, ins *insurer) []byte {
	b = head(b, "Organization", ins.id)
	b = key1(b, "identifier")
	b = append(b, '[')
	b = ident(b, "", ww.SystemUZOVI, ins.uzovi)
	b = append(b, ']')
	b = kbool(b, "active", true)
	b = kconcepts(b, "type", systemOrgType, "ins", "Insurance Company")
	b = kv(b, "name", ins.name)
	b = append(b, `,"address":[{"use":"work","city":`...)
	b = str(b, ins.cty)
	b = append(b, `,"country":"NL"}]}`...)
	return b
}

func (w *World) encLocation(b []byte, l *location) []byte {
	c := cities[l.city]
	b = head(b, "Location", l.id)
	b = key1(b, "identifier")
	b = append(b, '[')
	b = ident(b, "", ww.SystemAGB, l.agb)
	b = append(b, ']')
	b = kv(b, "status", "active")
	b = kv(b, "name", l.name)
	b = kv(b, "mode", "instance")
	b = key1(b, "address")
	b = address(b, "work", l.street+" "+l.number, l.postal, c.name, c.province)
	b = kconcept(b, "physicalType", systemPhysicalType, "bu", "Building")
	b = key1(b, "position")
	b = append(b, '{')
	b = kdec(b, "longitude", l.lon)
	b = kdec(b, "latitude", l.lat)
	b = append(b, '}')
	b = kref(b, "managingOrganization", "Organization", l.org.id, l.org.name)
	return append(b, '}')
}

func (w *World) encHealthcareService(b []byte, s *service) []byte {
	b = head(b, "HealthcareService", s.id)
	peil := w.days.date(w.peil)
	b = key1(b, "extension")
	b = append(b, '[')
	n := 0
	for t, days := range s.published {
		if days < 0 {
			continue
		}
		if n > 0 {
			b = append(b, ',')
		}
		n++
		b = append(b, `{"url":"`...)
		b = append(b, ww.ExtPublishedWait...)
		b = append(b, `","extension":[{"url":"kind","valueCode":"`...)
		b = append(b, publishedKinds[t]...)
		b = append(b, `"},{"url":"days","valueInteger":`...)
		b = strconv.AppendInt(b, int64(days), 10)
		b = append(b, `},{"url":"measuredOn","valueDate":"`...)
		b = append(b, peil...)
		b = append(b, `"},{"url":"source","valueString":"NZa Zorgbeeld"}]}`...)
	}
	b = append(b, ']')
	b = key1(b, "identifier")
	b = append(b, '[')
	b = ident(b, "", ww.SystemHealthcareService, s.value)
	b = append(b, ']')
	b = kbool(b, "active", true)
	b = kref(b, "providedBy", "Organization", s.org.id, s.org.name)
	b = kspecs(b, "specialty", s.spec)
	b = krefs(b, "location", "Location", s.loc.id, "")
	b = kv(b, "name", nlid.Specialisms[s.spec].Display+", "+s.loc.name)
	b = kbool(b, "appointmentRequired", true)
	return append(b, '}')
}

func (w *World) encPractitioner(b []byte, p *practitioner) []byte {
	b = head(b, "Practitioner", p.id)
	b = key1(b, "identifier")
	b = append(b, '[')
	b = ident(b, "", ww.SystemAGB, p.agb)
	b = append(b, ']')
	b = kbool(b, "active", true)
	b = append(b, `,"name":[{"use":"official","family":`...)
	b = str(b, p.family)
	b = append(b, `,"given":[`...)
	b = str(b, p.given)
	b = append(b, `]}]`...)
	b = kv(b, "gender", p.gender)
	return append(b, '}')
}

func (w *World) encPractitionerRole(b []byte, p *practitioner) []byte {
	s := p.svc
	b = head(b, "PractitionerRole", p.roleID)
	b = kbool(b, "active", true)
	b = kref(b, "practitioner", "Practitioner", p.id, p.display())
	b = kref(b, "organization", "Organization", s.org.id, s.org.name)
	b = kspecs(b, "specialty", s.spec)
	b = krefs(b, "location", "Location", s.loc.id, "")
	b = krefs(b, "healthcareService", "HealthcareService", s.id, "")
	return append(b, '}')
}

func (w *World) encSchedule(b []byte, sc *schedule) []byte {
	s := sc.svc
	b = head(b, "Schedule", sc.id)
	b = key1(b, "identifier")
	b = append(b, '[')
	b = ident(b, "", ww.HospitalSystem(s.org.agb, "schedule"), sc.code)
	b = append(b, ']')
	b = kbool(b, "active", true)
	b = key1(b, "serviceType")
	b = append(b, '[')
	b = kindConcept(b, sc.kind)
	b = append(b, ']')
	b = kspecs(b, "specialty", s.spec)
	b = key1(b, "actor")
	b = append(b, '[')
	if s.org.kind == okUMC { // specialists' own clinics
		b = ref(b, "PractitionerRole", sc.prac.roleID, "")
	} else {
		b = ref(b, "HealthcareService", s.id, "")
	}
	b = append(b, ',')
	b = ref(b, "Location", s.loc.id, s.loc.name)
	b = append(b, ']')
	b = append(b, `,"planningHorizon":{"start":"`...)
	b = append(b, w.days.date(1)...)
	b = append(b, `","end":"`...)
	b = append(b, w.days.date(horizonDays)...)
	b = append(b, `"}`...)
	b = kv(b, "comment", "Spreekuur "+nlid.Specialisms[s.spec].Display+" ("+sc.prac.display()+"), "+s.loc.name)
	return append(b, '}')
}

// slotValue is the hospital's own id of a slot: schedule code, date, time.
func (w *World) slotValue(sc *schedule, day, start int) string {
	v := make([]byte, 0, 40)
	v = append(v, sc.code...)
	v = append(v, '-')
	v = append(v, w.days.at(day).compact...)
	v = append(v, '-', byte('0'+start/600), byte('0'+start/60%10), byte('0'+start%60/10), byte('0'+start%10))
	return string(v)
}

func (w *World) slotID(sc *schedule, day, start int) string {
	return w.id("Slot", ww.HospitalSystem(sc.svc.org.agb, "slot"), w.slotValue(sc, day, start))
}

func (w *World) encSlot(b []byte, sc *schedule, day, start int, status uint8) []byte {
	value := w.slotValue(sc, day, start)
	s := sc.svc
	b = head(b, "Slot", w.id("Slot", ww.HospitalSystem(s.org.agb, "slot"), value))
	b = key1(b, "identifier")
	b = append(b, '[')
	b = ident(b, "", ww.HospitalSystem(s.org.agb, "slot"), value)
	b = append(b, ']')
	b = key1(b, "serviceType")
	b = append(b, '[')
	b = kindConcept(b, sc.kind)
	b = append(b, ']')
	b = kspecs(b, "specialty", s.spec)
	b = kref(b, "schedule", "Schedule", sc.id, "")
	if status == slotFree {
		b = kv(b, "status", "free")
	} else {
		b = kv(b, "status", "busy")
	}
	b = key1(b, "start")
	b = append(b, '"')
	b = w.days.instant(b, day, start)
	b = append(b, '"')
	b = key1(b, "end")
	b = append(b, '"')
	b = w.days.instant(b, day, start+sc.slotMin)
	return append(b, '"', '}')
}

func (w *World) patientID(rec *record) string {
	return w.id("Patient", ww.HospitalSystem(rec.org.agb, "patient"), rec.patnr)
}

func (w *World) encPatient(b []byte, rec *record, p *person) []byte {
	b = head(b, "Patient", w.patientID(rec))
	b = key1(b, "identifier")
	b = append(b, '[')
	b = ident(b, "official", ww.SystemBSN, w.bsn(p.n))
	b = append(b, ',')
	b = ident(b, "usual", ww.HospitalSystem(rec.org.agb, "patient"), rec.patnr)
	b = append(b, ']')
	b = kbool(b, "active", true)
	b = append(b, `,"name":[{"use":"official","family":`...)
	b = str(b, p.family)
	b = append(b, `,"given":[`...)
	b = str(b, p.given)
	b = append(b, `]}]`...)
	b = kv(b, "gender", p.gender())
	b = kv(b, "birthDate", p.birth)
	c := cities[p.city]
	b = append(b, `,"address":[{"extension":[{"url":"`...)
	b = append(b, urlGeolocation...)
	b = append(b, `","extension":[{"url":"latitude","valueDecimal":`...)
	b = appendDec(b, p.lat)
	b = append(b, `},{"url":"longitude","valueDecimal":`...)
	b = appendDec(b, p.lon)
	b = append(b, `}]}]`...)
	b = kv(b, "use", "home")
	b = kv(b, "type", "both")
	b = key1(b, "line")
	b = append(b, '[')
	b = str(b, p.street+" "+strconv.Itoa(p.number))
	b = append(b, ']')
	b = kv(b, "city", c.name)
	b = kv(b, "postalCode", p.postal)
	b = kv(b, "country", "NL")
	b = append(b, `}]`...)
	b = kref(b, "managingOrganization", "Organization", rec.org.id, rec.org.name)
	return append(b, '}')
}

// policyNumber is the subscriber number of person n's current (k=0) or
// previous (k=1) policy.
func (w *World) policyNumber(n, k int) string {
	return pad(w.polnr.at(uint64(2*n+k)), 9)
}

func (w *World) coverageID(ins *insurer, policy string) string {
	return w.id("Coverage", ww.SystemUZOVI+"/"+ins.uzovi, policy)
}

func (w *World) encCoverage(b []byte, p *person, patientID string, k int) []byte {
	ins := w.insurers[p.insurer]
	start := strconv.Itoa(p.since) + "-01-01"
	end := ""
	if k == 1 {
		ins = w.insurers[p.prevInsurer]
		start = strconv.Itoa(w.year-3) + "-01-01"
		end = strconv.Itoa(w.year-1) + "-12-31"
	}
	policy := w.policyNumber(p.n, k)
	b = head(b, "Coverage", w.coverageID(ins, policy))
	b = key1(b, "identifier")
	b = append(b, '[')
	b = ident(b, "", ww.SystemUZOVI+"/"+ins.uzovi, policy)
	b = append(b, ']')
	b = kv(b, "status", "active")
	b = kv(b, "subscriberId", policy)
	b = kref(b, "beneficiary", "Patient", patientID, "")
	b = kconcept(b, "relationship", systemRelationship, "self", "Self")
	b = append(b, `,"period":{"start":"`...)
	b = append(b, start...)
	if end != "" {
		b = append(b, `","end":"`...)
		b = append(b, end...)
	}
	b = append(b, `"},"payor":[{"reference":"Organization/`...)
	b = append(b, ins.id...)
	b = append(b, `","identifier":`...)
	b = ident(b, "", ww.SystemUZOVI, ins.uzovi)
	b = kv(b, "display", ins.name)
	return append(b, `}]}`...)
}

func (w *World) encInsurancePlan(b []byte, ins *insurer) []byte {
	b = head(b, "InsurancePlan", ins.planID)
	b = kv(b, "status", "active")
	b = kconcepts(b, "type", systemPlanType, "medical", "Medical")
	b = kv(b, "name", ins.name+" Basisverzekering")
	b = append(b, `,"period":{"start":"`...)
	b = strconv.AppendInt(b, int64(w.year), 10)
	b = append(b, `-01-01"}`...)
	b = kref(b, "ownedBy", "Organization", ins.id, ins.name)
	b = kref(b, "administeredBy", "Organization", ins.id, ins.name)
	b = key1(b, "network")
	b = append(b, '[')
	n := 0
	for k, o := range w.orgs {
		if !ins.contracted[k] {
			continue
		}
		if n > 0 {
			b = append(b, ',')
		}
		n++
		b = ref(b, "Organization", o.id, o.name)
	}
	return append(b, ']', '}')
}

func (w *World) orderNumber(p *plan) string {
	return p.rec.org.ordPre + pad(w.ordnr.at(uint64(p.j)), 9)
}

func (w *World) srID(p *plan) string {
	return w.id("ServiceRequest", ww.HospitalSystem(p.rec.org.agb, "order"), w.orderNumber(p))
}

func (w *World) apptNumber(p *plan, i int) string {
	return p.rec.org.ap + pad(w.apptnr.at(uint64(4*p.j+i)), 10)
}

func (w *World) encServiceRequest(b []byte, p *plan, patID, srID string, pers *person) []byte {
	o := p.rec.org
	b = head(b, "ServiceRequest", srID)
	b = key1(b, "identifier")
	b = append(b, '[')
	b = ident(b, "", ww.HospitalSystem(o.agb, "order"), w.orderNumber(p))
	b = append(b, ']')
	b = kv(b, "status", srStatusCodes[p.status])
	b = kv(b, "intent", "order")
	b = key1(b, "category")
	b = append(b, '[')
	b = kindConcept(b, p.kind)
	if p.high {
		b = append(b, ',')
		b = concept(b, ww.SystemComplexity, "high", "Hoogcomplexe zorg")
	}
	b = append(b, ']')
	b = append(b, `,"code":{"text":`...)
	b = str(b, kindDisplay[p.kind]+" "+nlid.Specialisms[p.svc.spec].Display)
	b = append(b, '}')
	b = kref(b, "subject", "Patient", patID, pers.display())
	b = kv(b, "authoredOn", w.days.date(p.authored))
	b = key1(b, "performerType")
	b = specConcept(b, p.svc.spec)
	b = krefs(b, "performer", "Organization", o.id, o.name)
	b = krefs(b, "locationReference", "Location", p.svc.loc.id, p.svc.loc.name)
	if p.status == srOnHold {
		b = append(b, `,"note":[{"text":"Patiënt wil de behandeling uitstellen (wenswachttijd)."}]`...)
	}
	return append(b, '}')
}

func (w *World) encAppointment(b []byte, p *plan, i int, patID, srID string, pers *person) []byte {
	a := &p.appts[i]
	o := p.rec.org
	num := w.apptNumber(p, i)
	b = head(b, "Appointment", w.id("Appointment", ww.HospitalSystem(o.agb, "appointment"), num))
	b = key1(b, "identifier")
	b = append(b, '[')
	b = ident(b, "", ww.HospitalSystem(o.agb, "appointment"), num)
	b = append(b, ']')
	b = kv(b, "status", StatusCodes[a.st])
	if a.st == stCancelled {
		b = append(b, `,"cancelationReason":{"text":`...)
		b = str(b, cancelReasons[a.reason])
		b = append(b, '}')
	}
	b = key1(b, "serviceType")
	b = append(b, '[')
	b = kindConcept(b, p.kind)
	b = append(b, ']')
	b = kspecs(b, "specialty", p.svc.spec)
	if a.st != stWaitlist {
		b = append(b, `,"start":"`...)
		b = w.days.instant(b, a.day, a.start)
		b = append(b, `","end":"`...)
		b = w.days.instant(b, a.day, a.start+a.dur)
		b = append(b, '"')
		b = kint(b, "minutesDuration", a.dur)
	}
	if a.slot >= 0 {
		b = krefs(b, "slot", "Slot", w.slotID(a.sched, a.day, a.start), "")
	}
	b = append(b, `,"created":"`...)
	b = w.days.instant(b, a.createdDay, a.createdMin)
	b = append(b, '"')
	b = krefs(b, "basedOn", "ServiceRequest", srID, "")
	patStatus := "accepted"
	switch a.st {
	case stProposed:
		patStatus = "needs-action"
	case stPending:
		patStatus = "tentative"
	}
	b = append(b, `,"participant":[{"actor":`...)
	b = ref(b, "Patient", patID, pers.display())
	b = kv(b, "status", patStatus)
	b = append(b, `},{"actor":`...)
	b = ref(b, "Practitioner", a.prac.id, a.prac.display())
	b = append(b, `,"status":"accepted"},{"actor":`...)
	b = ref(b, "Location", p.svc.loc.id, p.svc.loc.name)
	b = append(b, `,"status":"accepted"}]`...)
	if a.st == stWaitlist {
		b = append(b, `,"requestedPeriod":[{"start":"`...)
		b = append(b, w.days.date(0)...)
		b = append(b, `","end":"`...)
		b = append(b, w.days.date(90)...)
		b = append(b, `"}]`...)
	}
	return append(b, '}')
}
