package demo

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"time"
	_ "time/tzdata" // Europe/Amsterdam must resolve in a bare container too

	"github.com/wachtwijzer/wachtwijzer/conformance/nlid"
)

// Resource is one FHIR resource of the demo set.
type Resource struct {
	Type string // FHIR resource type, e.g. "Organization"
	ID   string // fixed, readable FHIR id, e.g. "demo-org-umc-oost"
	JSON []byte // minified FHIR R4 JSON with "resourceType" and "id"
}

// amsterdam is the time zone of all Dutch care.
var amsterdam = mustLoad("Europe/Amsterdam")

func mustLoad(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic("demo: " + err.Error())
	}
	return loc
}

const (
	layoutDate    = "2006-01-02"
	layoutInstant = "2006-01-02T15:04:05-07:00" // always an offset, never Z
	slotHorizon   = 42                          // days of Slots after asOf
)

// Resources returns the demo set for the Europe/Amsterdam calendar date of
// asOf: the same date gives byte-identical output, whatever the time of day
// or zone of asOf. Resources come in dependency order: every resource
// referenced is listed before the resources that reference it
// (Organizations, Locations, HealthcareServices, Practitioners,
// PractitionerRoles, Schedules, Slots, Patients, Coverages, InsurancePlans,
// ServiceRequests, Appointments).
func Resources(asOf time.Time) []Resource {
	local := asOf.In(amsterdam)
	b := &builder{today: time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, time.UTC)}
	b.slots = b.planSlots()
	booked := b.planAppointments() // marks booked Slots busy before they are written
	b.organizations()
	b.locations()
	b.healthcareServices()
	b.practitioners()
	b.schedulesAndSlots()
	b.patients()
	b.coverages()
	b.insurancePlans()
	b.serviceRequests()
	for _, a := range booked {
		b.add("Appointment", a.id, a.body)
	}
	return b.out
}

// builder accumulates the resources of one call to Resources.
type builder struct {
	today time.Time             // the asOf calendar date, midnight UTC (a civil date)
	slots map[string][]*slotRef // planned Slots per service suffix
	out   []Resource
}

// add puts resourceType and id in front of body, marshals it and appends
// the result.
func (b *builder) add(typ, id string, body obj) {
	full := append(obj{{"resourceType", typ}, {"id", id}}, body...)
	data, err := json.Marshal(full)
	if err != nil {
		panic("demo: " + err.Error()) // only static data goes in: a bug
	}
	b.out = append(b.out, Resource{Type: typ, ID: id, JSON: data})
}

// day returns the civil date asOf + n days.
func (b *builder) day(n int) time.Time {
	return time.Date(b.today.Year(), b.today.Month(), b.today.Day()+n, 0, 0, 0, 0, time.UTC)
}

// date formats a civil date as a FHIR date.
func date(d time.Time) string { return d.Format(layoutDate) }

// at returns the Amsterdam instant hh:mm on civil date d.
func at(d time.Time, hh, mm int) time.Time {
	return time.Date(d.Year(), d.Month(), d.Day(), hh, mm, 0, 0, amsterdam)
}

// instant formats t as a FHIR instant in Amsterdam time with its offset
// (+01:00 in winter, +02:00 in summer).
func instant(t time.Time) string { return t.In(amsterdam).Format(layoutInstant) }

// weekday moves a civil date off the weekend: forward when forward is
// true, else back to Friday.
func weekday(d time.Time, forward bool) time.Time {
	for d.Weekday() == time.Saturday || d.Weekday() == time.Sunday {
		if forward {
			d = d.AddDate(0, 0, 1)
		} else {
			d = d.AddDate(0, 0, -1)
		}
	}
	return d
}

// peildatum returns the NZa measurement date a published wait refers to:
// the latest Tuesday of an even ISO week on or before asOf.
func (b *builder) peildatum() time.Time {
	for n := 0; ; n-- {
		d := b.day(n)
		if _, w := d.ISOWeek(); d.Weekday() == time.Tuesday && w%2 == 0 {
			return d
		}
	}
}

// hash is a stable pseudo-random number for a string, so that the set
// needs no random source and stays the same across Go versions.
func hash(s string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(s))
	return h.Sum32()
}

// specialism is the CodeableConcept of an AGB specialism.
func specialism(code string) obj {
	display, _ := nlid.SpecialismDisplay(code)
	return concept(nlid.SystemSpecialismOID, code, display)
}

// waitKind is the CodeableConcept of a wait-kind code.
func waitKind(code string) obj {
	return concept(systemWaitKind, code, waitKindDisplay[code])
}

// localSystem is the identifier system of a provider's own numbers of the
// given kind (patient, order, appointment).
func localSystem(agb, kind string) string {
	return localSystemPrefix + agb + "/" + kind
}

func (b *builder) organizations() {
	for _, p := range providers {
		main := p.places[0]
		b.add("Organization", p.id(), obj{
			{"identifier", []obj{identifier(nlid.SystemAGB, p.agb), identifier(nlid.SystemURA, p.ura)}},
			{"active", true},
			{"type", []obj{
				concept(nlid.SystemSpecialismOID, p.orgType, orgTypeDisplay[p.orgType]),
				concept(systemOrgType, "prov", "Healthcare Provider"),
			}},
			{"name", p.name},
			{"address", []obj{address("work", main.street, main.postal, main.city, p.province)}},
		})
	}
	for _, i := range insurers {
		b.add("Organization", i.id(), obj{
			{"identifier", []obj{identifier(nlid.SystemUZOVI, i.uzovi)}},
			{"active", true},
			{"type", []obj{concept(systemOrgType, "ins", "Insurance Company")}},
			{"name", i.name},
			{"address", []obj{{{"use", "work"}, {"city", i.city}, {"country", "NL"}}}},
		})
	}
}

// address is a Dutch postal address.
func address(use, line, postal, city, province string) obj {
	return obj{
		{"use", use},
		{"type", "both"},
		{"line", []string{line}},
		{"city", city},
		{"state", province},
		{"postalCode", postal},
		{"country", "NL"},
	}
}

func (b *builder) locations() {
	for _, p := range providers {
		for _, l := range p.places {
			b.add("Location", l.id, obj{
				{"identifier", []obj{identifier(nlid.SystemAGB, l.agb)}},
				{"status", "active"},
				{"name", l.name},
				{"mode", "instance"},
				{"address", address("work", l.street, l.postal, l.city, p.province)},
				{"physicalType", concept(systemPhysicalType, "bu", "Building")},
				{"position", obj{{"longitude", l.lon}, {"latitude", l.lat}}},
				{"managingOrganization", refDisplay("Organization", p.id(), p.name)},
			})
		}
	}
}

// publishedWait is the published-waiting-time extension for one kind.
func publishedWait(kind string, days int, measuredOn time.Time) obj {
	return obj{
		{"url", urlPublishedWait},
		{"extension", []obj{
			{{"url", "kind"}, {"valueCode", kind}},
			{{"url", "days"}, {"valueInteger", days}},
			{{"url", "measuredOn"}, {"valueDate", date(measuredOn)}},
			{{"url", "source"}, {"valueString", "NZa Zorgbeeld"}},
		}},
	}
}

func (b *builder) healthcareServices() {
	measured := b.peildatum()
	for _, s := range services {
		p := providerByKey(s.prov)
		var ext []obj
		for k, days := range s.wait {
			if days >= 0 { // negative: too few observations, not published
				ext = append(ext, publishedWait(publishedKinds[k], days, measured))
			}
		}
		display, _ := nlid.SpecialismDisplay(s.spec)
		b.add("HealthcareService", "demo-hs-"+s.suffix(), obj{
			{"extension", ext},
			{"active", true},
			{"providedBy", refDisplay("Organization", p.id(), p.name)},
			{"specialty", []obj{specialism(s.spec)}},
			{"location", []obj{ref("Location", p.places[s.place].id)}},
			{"name", display + ", " + p.name},
			{"appointmentRequired", true},
		})
	}
}

func (b *builder) practitioners() {
	for _, s := range services {
		b.add("Practitioner", "demo-prac-"+s.suffix(), obj{
			{"identifier", []obj{identifier(nlid.SystemAGB, s.agbDoc)}},
			{"active", true},
			{"name", []obj{{{"use", "official"}, {"family", s.doc.family}, {"given", []string{s.doc.given}}}}},
			{"gender", s.doc.gender},
		})
	}
	for _, s := range services {
		p := providerByKey(s.prov)
		b.add("PractitionerRole", "demo-role-"+s.suffix(), obj{
			{"active", true},
			{"practitioner", refDisplay("Practitioner", "demo-prac-"+s.suffix(), s.doc.given+" "+s.doc.family)},
			{"organization", refDisplay("Organization", p.id(), p.name)},
			{"specialty", []obj{specialism(s.spec)}},
			{"location", []obj{ref("Location", p.places[s.place].id)}},
			{"healthcareService", []obj{ref("HealthcareService", "demo-hs-"+s.suffix())}},
		})
	}
}

// slotRef is a planned Slot.
type slotRef struct {
	id         string
	day        int // offset from asOf
	start, end time.Time
	busy       bool
}

// clinic is a weekly outpatient clinic: count slots of every minutes from
// hh:mm on weekday.
type clinic struct {
	weekday      time.Weekday
	hh, mm       int
	count, every int
}

// planSlots lays out the outpatient Slots of every service over the next
// six weeks: hospitals hold one clinic a week (four 30-minute slots, in the
// morning or ending at 16:30), ZBCs two (three 20-minute slots each). A slot
// is busy until a few days before the service's published outpatient wait;
// after that hospitals have about half their slots free, ZBCs most.
func (b *builder) planSlots() map[string][]*slotRef {
	plan := make(map[string][]*slotRef, len(services))
	for i, s := range services {
		p := providerByKey(s.prov)
		var clinics []clinic
		switch {
		case p.isZBC():
			clinics = []clinic{
				{time.Weekday(1 + i%5), 8, 30, 3, 20},
				{time.Weekday(1 + (i+2)%5), 13, 0, 3, 20},
			}
		case i%2 == 0:
			clinics = []clinic{{time.Weekday(1 + i%5), 9, 0, 4, 30}}
		default: // the last slot ends at 16:30 sharp
			clinics = []clinic{{time.Weekday(1 + i%5), 14, 30, 4, 30}}
		}
		freeShare := uint32(50)
		if p.isZBC() {
			freeShare = 80
		}
		n := 0
		for off := 1; off <= slotHorizon; off++ {
			d := b.day(off)
			for _, c := range clinics {
				if d.Weekday() != c.weekday {
					continue
				}
				for k := 0; k < c.count; k++ {
					n++
					id := fmt.Sprintf("demo-slot-%s-%02d", s.suffix(), n)
					start := at(d, c.hh, c.mm+k*c.every)
					free := off >= s.wait[0]-2 && hash(id)%100 < freeShare
					plan[s.suffix()] = append(plan[s.suffix()], &slotRef{
						id: id, day: off, start: start, end: start.Add(time.Duration(c.every) * time.Minute), busy: !free,
					})
				}
			}
		}
	}
	return plan
}

func (b *builder) schedulesAndSlots() {
	outpatient := waitKind("outpatient")
	for _, s := range services {
		p := providerByKey(s.prov)
		loc := ref("Location", p.places[s.place].id)
		actors := []obj{ref("HealthcareService", "demo-hs-"+s.suffix()), loc}
		if p.orgType == orgTypeAcademic { // specialists' own clinics
			actors = []obj{ref("PractitionerRole", "demo-role-"+s.suffix()), loc}
		}
		schedID := "demo-sched-" + s.suffix()
		display, _ := nlid.SpecialismDisplay(s.spec)
		b.add("Schedule", schedID, obj{
			{"active", true},
			{"serviceType", []obj{outpatient}},
			{"specialty", []obj{specialism(s.spec)}},
			{"actor", actors},
			{"planningHorizon", obj{{"start", date(b.day(1))}, {"end", date(b.day(slotHorizon))}}},
			{"comment", "Spreekuur " + display + ", " + p.places[s.place].name},
		})
		for _, sl := range b.slots[s.suffix()] {
			status := "free"
			if sl.busy {
				status = "busy"
			}
			b.add("Slot", sl.id, obj{
				{"serviceType", []obj{outpatient}},
				{"specialty", []obj{specialism(s.spec)}},
				{"schedule", ref("Schedule", schedID)},
				{"status", status},
				{"start", instant(sl.start)},
				{"end", instant(sl.end)},
			})
		}
	}
}

// bsn returns the generated BSN of person n (1-based): the first number in
// the 9999xxxxx test range at or after a fixed start that passes the
// elfproef.
func bsn(n int) string {
	for k := 0; ; k++ {
		first8 := fmt.Sprintf("9999%04d", 1000+n*137+k)
		if d, ok := nlid.BSNCheckDigit(first8); ok {
			return first8 + string(d)
		}
	}
}
