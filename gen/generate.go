package gen

// Sink receives the resources of a world, one at a time, in dependency
// order. json is minified FHIR R4 JSON with resourceType and id; the
// slice is reused after Resource returns, so a Sink that keeps it must
// copy it. An error stops the generation and is returned by Generate.
type Sink interface {
	Resource(typ, id string, json []byte) error
}

// SinkFunc adapts a function to Sink.
type SinkFunc func(typ, id string, json []byte) error

// Resource calls f.
func (f SinkFunc) Resource(typ, id string, json []byte) error { return f(typ, id, json) }

// ResourceTypes lists the resource types in the order Generate emits them:
// every resource is emitted after the resources it references.
var ResourceTypes = []string{
	"Organization", "Location", "HealthcareService", "Practitioner", "PractitionerRole", "Schedule", "Slot",
	"Patient", "Coverage", "InsurancePlan", "ServiceRequest", "Appointment",
}

// Generate streams the world cfg describes into sink: Organizations (care
// providers, then insurers), Locations, HealthcareServices, Practitioners,
// PractitionerRoles, Schedules, Slots, Patients, Coverages, InsurancePlans,
// ServiceRequests, Appointments. Memory stays small at any scale: only the
// provider tables and one status byte per Slot are kept.
func Generate(cfg Config, sink Sink) error {
	w, err := New(cfg)
	if err != nil {
		return err
	}
	return w.Generate(sink)
}

// Generate streams the world into sink (see the package function).
func (w *World) Generate(sink Sink) error {
	e := &emitter{sink: sink, buf: make([]byte, 0, 8192)}
	for _, o := range w.orgs {
		e.put("Organization", o.id, w.encOrganization(e.start(), o))
	}
	for _, ins := range w.insurers {
		e.put("Organization", ins.id, w.encInsurer(e.start(), ins))
	}
	for _, l := range w.locs {
		e.put("Location", l.id, w.encLocation(e.start(), l))
	}
	for _, s := range w.svcs {
		e.put("HealthcareService", s.id, w.encHealthcareService(e.start(), s))
	}
	for _, p := range w.pracs {
		e.put("Practitioner", p.id, w.encPractitioner(e.start(), p))
	}
	for _, p := range w.pracs {
		e.put("PractitionerRole", p.roleID, w.encPractitionerRole(e.start(), p))
	}
	for _, sc := range w.scheds {
		e.put("Schedule", sc.id, w.encSchedule(e.start(), sc))
	}
	for _, sc := range w.scheds {
		for _, ss := range sc.sessions {
			for i := 0; i < int(ss.n); i++ {
				b := w.encSlot(e.start(), sc, int(ss.day), ss.start()+i*sc.slotMin, w.slotStatus[sc.slotOff+int(ss.off)+i])
				e.put("Slot", idOf(b), b)
			}
		}
	}
	for q := 0; q < w.nRec; q++ {
		rec := w.record(q)
		p := w.person(rec.person)
		b := w.encPatient(e.start(), &rec, &p)
		e.put("Patient", idOf(b), b)
	}
	for n := 0; n < w.nPers; n++ {
		p := w.person(n)
		rec := w.record(n)
		patID := w.patientID(&rec)
		b := w.encCoverage(e.start(), &p, patID, 0)
		e.put("Coverage", idOf(b), b)
		if p.prevInsurer >= 0 {
			b := w.encCoverage(e.start(), &p, patID, 1)
			e.put("Coverage", idOf(b), b)
		}
	}
	for _, ins := range w.insurers {
		e.put("InsurancePlan", ins.planID, w.encInsurancePlan(e.start(), ins))
	}
	bk := w.newBooker()
	for j := 0; j < w.nRef && e.err == nil; j++ {
		p := w.plan(j, bk)
		pers := w.person(p.rec.person)
		srID := w.srID(&p)
		e.put("ServiceRequest", srID, w.encServiceRequest(e.start(), &p, w.patientID(&p.rec), srID, &pers))
	}
	bk = w.newBooker()
	for j := 0; j < w.nRef && e.err == nil; j++ {
		p := w.plan(j, bk)
		pers := w.person(p.rec.person)
		srID := w.srID(&p)
		patID := w.patientID(&p.rec)
		for i := 0; i < p.n; i++ {
			b := w.encAppointment(e.start(), &p, i, patID, srID, &pers)
			e.put("Appointment", idOf(b), b)
		}
	}
	return e.err
}

// idOf reads the id back from an encoded resource (the encoders write
// {"resourceType":"T","id":"…" first).
func idOf(b []byte) string {
	i := 0
	for q := 0; i < len(b); i++ {
		if b[i] == '"' {
			q++
			if q == 7 {
				break
			}
		}
	}
	j := i + 1
	for j < len(b) && b[j] != '"' {
		j++
	}
	return string(b[i+1 : j])
}

type emitter struct {
	sink Sink
	buf  []byte
	err  error
}

func (e *emitter) start() []byte { return e.buf[:0] }

func (e *emitter) put(typ, id string, b []byte) {
	e.buf = b
	if e.err == nil {
		e.err = e.sink.Resource(typ, id, b)
	}
}

// Counts returns the number of resources per type the world holds,
// without generating them (Coverages need one pass over the people).
func (w *World) Counts() map[string]int {
	cov := w.nPers
	for n := 0; n < w.nPers && w.cfg.SwitcherShare > 0; n++ {
		if p := w.person(n); p.prevInsurer >= 0 {
			cov++
		}
	}
	return map[string]int{
		"Organization":      len(w.orgs) + len(w.insurers),
		"Location":          len(w.locs),
		"HealthcareService": len(w.svcs),
		"Practitioner":      len(w.pracs),
		"PractitionerRole":  len(w.pracs),
		"Schedule":          len(w.scheds),
		"Slot":              w.nSlots,
		"Patient":           w.nRec,
		"Coverage":          cov,
		"InsurancePlan":     len(w.insurers),
		"ServiceRequest":    w.nRef,
		"Appointment":       w.nAppt,
	}
}
