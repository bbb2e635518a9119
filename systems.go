package wachtwijzer

import "strings"

// Identifier and code systems (Nictiz conventions; DOMAIN.md).
const (
	SystemBSN   = "http://fhir.nl/fhir/NamingSystem/bsn"
	SystemAGB   = "http://fhir.nl/fhir/NamingSystem/agb-z"
	SystemURA   = "http://fhir.nl/fhir/NamingSystem/ura"
	SystemUZOVI = "http://fhir.nl/fhir/NamingSystem/uzovi"
	SystemKvK   = "http://fhir.nl/fhir/NamingSystem/kvk"
	// SystemSpecialism is the AGB/Vektis COD016 list (specialisms and
	// organisation kinds), as Nictiz writes it.
	SystemSpecialism = "urn:oid:2.16.840.1.113883.2.4.6.7"
	// SystemSpecialismVektis is the same list as the VWS directory IG
	// writes it; both are accepted.
	SystemSpecialismVektis = "http://ei.vektis.nl/codelijsten/COD016-VEKT"
	SystemNictizOrgType    = "http://nictiz.nl/fhir/NamingSystem/organization-type"

	// SystemWaitKind codes the kind of a wait in ServiceRequest.category.
	SystemWaitKind = CanonicalBase + "/CodeSystem/wait-kind"
	// SystemComplexity marks care that belongs at an academic centre.
	SystemComplexity = CanonicalBase + "/CodeSystem/complexity"
	// SystemHealthcareService identifies a HealthcareService by location
	// × specialism × treatment (ServiceValue).
	SystemHealthcareService = CanonicalBase + "/NamingSystem/healthcareservice"
	// SystemLocation identifies a Location without an AGB code of its own
	// (the NZa LocationKey, a hospital's location code).
	SystemLocation = CanonicalBase + "/NamingSystem/location"

	// ExtPublishedWait is the published waiting time on a
	// HealthcareService (sub-extensions kind, days, measuredOn, source).
	ExtPublishedWait = CanonicalBase + "/StructureDefinition/published-waiting-time"
)

// How ingested resources get their ids (DeriveID over the business
// identifier; GUIDE §2). Every ingest path (HL7, CSV, NZa import, pull, gen)
// uses these so they meet on one resource:
//
//	resource           system                                     value
//	Organization       SystemAGB                                  the 8-digit AGB (else SystemURA / SystemUZOVI for insurers)
//	Location           SystemAGB                                  the location's AGB, else SystemLocation + the source's location key
//	HealthcareService  SystemHealthcareService                    ServiceValue(location AGB or key, specialism, treatment)
//	Patient            the hospital's patient-number system        the patient number (HospitalSystem(agb, "patient") when the source names none); never a BSN alone
//	ServiceRequest     the hospital's order system                 the placer/filler order number (HospitalSystem(agb, "order"))
//	Appointment        the hospital's appointment system           the filler (else placer) appointment id (HospitalSystem(agb, "appointment"))
//	Slot, Schedule     HospitalSystem(agb, "slot" / "schedule")    the source's slot or schedule id
//	Practitioner       SystemAGB                                   the practitioner's AGB
//	Coverage           SystemUZOVI + "/" + UZOVI                   the subscriber (policy) number
//
// ServiceValue joins the parts of a HealthcareService identifier; an empty
// treatment means the specialism as a whole.
func ServiceValue(location, specialism, treatment string) string {
	v := location + "|" + specialism
	if treatment != "" {
		v += "|" + treatment
	}
	return v
}

// IsSpecialismSystem reports whether system is either spelling of the
// COD016 list.
func IsSpecialismSystem(system string) bool {
	return system == SystemSpecialism || system == SystemSpecialismVektis
}

// NormalizeAGB left-pads a 7-digit AGB code with a 0 (sources often drop
// it); other values are returned unchanged with padded false.
func NormalizeAGB(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if len(s) == 7 && isDigits(s) {
		return "0" + s, true
	}
	return s, false
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
