package conformance

import (
	"github.com/wachtwijzer/wachtwijzer/fhirjson"
	"github.com/wachtwijzer/wachtwijzer/fhirtime"
)

// invariant is one FHIR R4 constraint (the FHIRPath invariants of the
// definitions), hand-written in Go for the served types and the data types
// they use; the generic engine would cost more than the walk. Each holds
// when ok returns true.
type invariant struct {
	key  string
	text string // what to do to satisfy it
	ok   func(v *fhirjson.Value) bool
	// warn reports a breach as a warning instead of an error (see
	// app-2/app-3).
	warn bool
}

// invariants by content-model path ("Appointment", "Appointment.participant",
// "Period"). Data-type invariants apply wherever the type is used.
var invariants = map[string][]invariant{
	// app-2 and app-3 are warnings for now: the HL7 v2 mapping keeps a
	// booking that its message gives only a date for as booked, with the
	// date in requestedPeriod (mappings/hl7v2 TestSIUTimes), and a
	// booked Appointment without start breaks app-3. They become errors
	// once that mapping uses another status for those.
	"Appointment": {
		{"app-2", "needs both start and end, or neither", func(v *fhirjson.Value) bool {
			return has(v, "start") == has(v, "end")
		}, true},
		{"app-3", "needs start and end unless its status is proposed, cancelled or waitlist (a waitlist appointment may have no time yet)", func(v *fhirjson.Value) bool {
			if has(v, "start") && has(v, "end") {
				return true
			}
			switch string(memberBytes(v, "status")) {
			case "proposed", "cancelled", "waitlist":
				return true
			}
			return false
		}, true},
		{"app-4", "may have a cancelationReason only when its status is cancelled or noshow", func(v *fhirjson.Value) bool {
			if !has(v, "cancelationReason") {
				return true
			}
			s := string(memberBytes(v, "status"))
			return s == "cancelled" || s == "noshow"
		}, false},
	},
	"Appointment.participant": {
		{"app-1", "needs a type or an actor", func(v *fhirjson.Value) bool { return has(v, "type") || has(v, "actor") }, false},
	},
	"Organization": {
		{"org-1", "needs an identifier or a name", func(v *fhirjson.Value) bool { return has(v, "identifier") || has(v, "name") }, false},
		{"org-2", "must not have an address with use home (an organisation has no home)", func(v *fhirjson.Value) bool { return noneWithUse(v.Get("address"), "home") }, false},
		{"org-3", "must not have a telecom with use home", func(v *fhirjson.Value) bool { return noneWithUse(v.Get("telecom"), "home") }, false},
	},
	"InsurancePlan": {
		{"ipn-1", "needs an identifier or a name", func(v *fhirjson.Value) bool { return has(v, "identifier") || has(v, "name") }, false},
	},
	"Patient.contact": {
		{"pat-1", "needs a name, telecom, address or organization", func(v *fhirjson.Value) bool {
			return has(v, "name") || has(v, "telecom") || has(v, "address") || has(v, "organization")
		}, false},
	},
	"ServiceRequest": {
		{"prr-1", "may have orderDetail only with a code", func(v *fhirjson.Value) bool { return !has(v, "orderDetail") || has(v, "code") }, false},
	},
	"Consent": {
		{"ppc-1", "needs a policy or a policyRule", func(v *fhirjson.Value) bool { return has(v, "policy") || has(v, "policyRule") }, false},
	},
	"Period": {
		{"per-1", "has a start after its end", func(v *fhirjson.Value) bool { return notAfter(v.Get("start"), v.Get("end")) }, false},
	},
	"Quantity": {
		{"qty-3", "has a code without a system; add the system (http://unitsofmeasure.org for UCUM)", func(v *fhirjson.Value) bool { return !has(v, "code") || has(v, "system") }, false},
	},
	"Duration": {
		{"qty-3", "has a code without a system; add the system (http://unitsofmeasure.org for UCUM)", func(v *fhirjson.Value) bool { return !has(v, "code") || has(v, "system") }, false},
	},
	"Age": {
		{"qty-3", "has a code without a system; add the system (http://unitsofmeasure.org for UCUM)", func(v *fhirjson.Value) bool { return !has(v, "code") || has(v, "system") }, false},
	},
	"ContactPoint": {
		{"cpt-2", "has a value without a system (phone, email, …)", func(v *fhirjson.Value) bool { return !has(v, "value") || has(v, "system") }, false},
	},
	"Attachment": {
		{"att-1", "has data without a contentType", func(v *fhirjson.Value) bool { return !has(v, "data") || has(v, "contentType") }, false},
	},
	"Timing.repeat": {
		{"tim-1", "has a duration without a durationUnit", func(v *fhirjson.Value) bool { return !has(v, "duration") || has(v, "durationUnit") }, false},
		{"tim-2", "has a period without a periodUnit", func(v *fhirjson.Value) bool { return !has(v, "period") || has(v, "periodUnit") }, false},
		{"tim-6", "has a periodMax without a period", func(v *fhirjson.Value) bool { return !has(v, "periodMax") || has(v, "period") }, false},
		{"tim-7", "has a durationMax without a duration", func(v *fhirjson.Value) bool { return !has(v, "durationMax") || has(v, "duration") }, false},
		{"tim-8", "has a countMax without a count", func(v *fhirjson.Value) bool { return !has(v, "countMax") || has(v, "count") }, false},
		{"tim-10", "has both timeOfDay and when", func(v *fhirjson.Value) bool { return !has(v, "timeOfDay") || !has(v, "when") }, false},
	},
}

// has reports whether an element is present (as a value or, for a
// primitive, only with extensions).
func has(v *fhirjson.Value, key string) bool {
	if v.Get(key) != nil {
		return true
	}
	for _, m := range v.Members {
		if len(m.Key) == len(key)+1 && m.Key[0] == '_' && m.Key[1:] == key {
			return true
		}
	}
	return false
}

func noneWithUse(list *fhirjson.Value, use string) bool {
	if list == nil || list.Kind != fhirjson.Array {
		return true
	}
	for _, it := range list.Items {
		if string(memberBytes(it, "use")) == use {
			return false
		}
	}
	return true
}

// notAfter is per-1's start <= end, as FHIRPath compares values of
// different precision: only a start that is certainly after the end fails.
func notAfter(start, end *fhirjson.Value) bool {
	if start == nil || end == nil {
		return true
	}
	s, ok1 := start.Str()
	e, ok2 := end.Str()
	if !ok1 || !ok2 {
		return true
	}
	sv, err1 := fhirtime.Parse(s, fhirtime.DateTime, nil)
	ev, err2 := fhirtime.Parse(e, fhirtime.DateTime, nil)
	if err1 != nil || err2 != nil {
		return true // reported by the format check
	}
	slo, _ := sv.Range()
	_, ehi := ev.Range()
	return slo.Before(ehi)
}
