package conformance

import (
	"sort"

	"github.com/samply/golang-fhir-models/fhir-models/fhir"
)

// TypeInfo describes one served resource type.
type TypeInfo struct {
	Name string
	// check decodes the resource into the typed model; an error means the
	// resource does not fit the R4 structure.
	check func([]byte) error
	// ReadOnly types are computed or written only by the gateway itself.
	ReadOnly bool
	// Profile, when set, is the nl-core profile the type is declared with.
	Profile string
}

func checker[T any](f func([]byte) (T, error)) func([]byte) error {
	return func(b []byte) error { _, err := f(b); return err }
}

// types is built by a variable initializer (not init) so that the registry,
// also a package variable, sees it: Go orders variable initialisation by
// dependency, before any init function runs.
var types = buildTypes()

func buildTypes() map[string]*TypeInfo {
	types := map[string]*TypeInfo{}
	register := func(t *TypeInfo) { types[t.Name] = t }
	register(&TypeInfo{Name: "Appointment", check: checker(fhir.UnmarshalAppointment)})
	register(&TypeInfo{Name: "Slot", check: checker(fhir.UnmarshalSlot)})
	register(&TypeInfo{Name: "Schedule", check: checker(fhir.UnmarshalSchedule)})
	register(&TypeInfo{Name: "HealthcareService", check: checker(fhir.UnmarshalHealthcareService)})
	register(&TypeInfo{Name: "Location", check: checker(fhir.UnmarshalLocation), Profile: "http://nictiz.nl/fhir/StructureDefinition/nl-core-HealthcareProvider"})
	register(&TypeInfo{Name: "Organization", check: checker(fhir.UnmarshalOrganization), Profile: "http://nictiz.nl/fhir/StructureDefinition/nl-core-HealthcareProvider-Organization"})
	register(&TypeInfo{Name: "Practitioner", check: checker(fhir.UnmarshalPractitioner), Profile: "http://nictiz.nl/fhir/StructureDefinition/nl-core-HealthProfessional-Practitioner"})
	register(&TypeInfo{Name: "PractitionerRole", check: checker(fhir.UnmarshalPractitionerRole), Profile: "http://nictiz.nl/fhir/StructureDefinition/nl-core-HealthProfessional-PractitionerRole"})
	register(&TypeInfo{Name: "Patient", check: checker(fhir.UnmarshalPatient), Profile: "http://nictiz.nl/fhir/StructureDefinition/nl-core-Patient"})
	register(&TypeInfo{Name: "ServiceRequest", check: checker(fhir.UnmarshalServiceRequest)})
	register(&TypeInfo{Name: "Coverage", check: checker(fhir.UnmarshalCoverage)})
	register(&TypeInfo{Name: "InsurancePlan", check: checker(fhir.UnmarshalInsurancePlan)})
	register(&TypeInfo{Name: "Task", check: checker(fhir.UnmarshalTask)})
	register(&TypeInfo{Name: "Consent", check: checker(fhir.UnmarshalConsent)})
	register(&TypeInfo{Name: "Provenance", check: checker(fhir.UnmarshalProvenance)})
	return types
}

// Lookup returns the served type named name.
func Lookup(name string) (*TypeInfo, bool) {
	t, ok := types[name]
	return t, ok
}

// Supported reports whether name is a served resource type.
func Supported(name string) bool {
	_, ok := types[name]
	return ok
}

// TypeNames returns the served resource types, sorted.
func TypeNames() []string {
	out := make([]string, 0, len(types))
	for n := range types {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// knownResourceTypes are R4 types a contained resource may have; contained
// resources are checked when the model knows them.
var containedCheckers = map[string]func([]byte) error{
	"Practitioner":      checker(fhir.UnmarshalPractitioner),
	"PractitionerRole":  checker(fhir.UnmarshalPractitionerRole),
	"Organization":      checker(fhir.UnmarshalOrganization),
	"Location":          checker(fhir.UnmarshalLocation),
	"Patient":           checker(fhir.UnmarshalPatient),
	"HealthcareService": checker(fhir.UnmarshalHealthcareService),
	"ServiceRequest":    checker(fhir.UnmarshalServiceRequest),
	"Slot":              checker(fhir.UnmarshalSlot),
	"Schedule":          checker(fhir.UnmarshalSchedule),
	"Appointment":       checker(fhir.UnmarshalAppointment),
	"Coverage":          checker(fhir.UnmarshalCoverage),
	"Device":            checker(fhir.UnmarshalDevice),
	"RelatedPerson":     checker(fhir.UnmarshalRelatedPerson),
	"Medication":        checker(fhir.UnmarshalMedication),
	"Observation":       checker(fhir.UnmarshalObservation),
	"Condition":         checker(fhir.UnmarshalCondition),
	"Endpoint":          checker(fhir.UnmarshalEndpoint),
}
