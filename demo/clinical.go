package demo

import (
	"fmt"
	"strconv"
	"time"

	"github.com/wachtwijzer/wachtwijzer/conformance/nlid"
)

// patientID returns the Patient id for a suffix such as "01" or
// "03-zbc-brabant".
func patientID(suffix string) string { return "demo-pat-" + suffix }

// patientResource is the Patient record of person n (1-based) at provider
// prov with the given patient number and family name.
func (b *builder) patientResource(n int, prov, patnr, family string) obj {
	pp := people[n-1]
	p := providerByKey(prov)
	home := address("home", pp.street, pp.postal, pp.city, "")
	home = append(obj{{"extension", []obj{{
		{"url", urlGeolocation},
		{"extension", []obj{
			{{"url", "latitude"}, {"valueDecimal", pp.lat}},
			{{"url", "longitude"}, {"valueDecimal", pp.lon}},
		}},
	}}}}, home...)
	return obj{
		{"identifier", []obj{
			{{"use", "official"}, {"system", nlid.SystemBSN}, {"value", bsn(n)}},
			{{"use", "usual"}, {"system", localSystem(p.agb, "patient")}, {"value", patnr}},
		}},
		{"active", true},
		{"name", []obj{{{"use", "official"}, {"family", family}, {"given", []string{pp.given}}}}},
		{"gender", pp.gender},
		{"birthDate", pp.birthDate},
		{"address", []obj{home}},
		{"managingOrganization", refDisplay("Organization", p.id(), p.name)},
	}
}

func (b *builder) patients() {
	for i, pp := range people {
		n := i + 1
		b.add("Patient", patientID(fmt.Sprintf("%02d", n)), b.patientResource(n, pp.prov, pp.patnr, pp.family))
		if a := pp.alias; a != nil {
			b.add("Patient", patientID(fmt.Sprintf("%02d-%s", n, a.prov)), b.patientResource(n, a.prov, a.patnr, a.family))
		}
	}
}

// insurerByKey returns the insurer with the given key.
func insurerByKey(key string) *insurer {
	for _, i := range insurers {
		if i.key == key {
			return i
		}
	}
	panic("demo: unknown insurer " + key)
}

// coverage is a Coverage of person n with an insurer over [start, end]
// (end may be zero: open).
func (b *builder) coverage(n int, ins *insurer, start, end time.Time) obj {
	period := obj{{"start", date(start)}}
	if !end.IsZero() {
		period = append(period, field{"end", date(end)})
	}
	return obj{
		{"status", "active"},
		{"subscriberId", fmt.Sprintf("%s%05d", ins.uzovi, 10000+n*1373)},
		{"beneficiary", ref("Patient", patientID(fmt.Sprintf("%02d", n)))},
		{"relationship", concept(systemRelationship, "self", "Self")},
		{"period", period},
		{"payor", []obj{{
			{"reference", "Organization/" + ins.id()},
			{"identifier", identifier(nlid.SystemUZOVI, ins.uzovi)},
			{"display", ins.name},
		}}},
	}
}

func (b *builder) coverages() {
	year := b.today.Year()
	for i, pp := range people {
		n := i + 1
		since := year - n%4 // members since 1 January, up to three years back
		if n == switcher {
			since = year
		}
		start := time.Date(since, time.January, 1, 0, 0, 0, 0, time.UTC)
		b.add("Coverage", fmt.Sprintf("demo-cov-%02d", n), b.coverage(n, insurerByKey(pp.insurer), start, time.Time{}))
		if n == switcher {
			// The old policy: still status active in the insurer's
			// records, but its period ended before asOf.
			b.add("Coverage", fmt.Sprintf("demo-cov-%02d-prev", n), b.coverage(n, insurerByKey(switcherInsurer),
				time.Date(year-4, time.January, 1, 0, 0, 0, 0, time.UTC),
				time.Date(year-1, time.December, 31, 0, 0, 0, 0, time.UTC)))
		}
	}
}

func (b *builder) insurancePlans() {
	start := time.Date(b.today.Year(), time.January, 1, 0, 0, 0, 0, time.UTC)
	for _, ins := range insurers {
		var network []obj
		for _, key := range ins.network {
			p := providerByKey(key)
			network = append(network, refDisplay("Organization", p.id(), p.name))
		}
		b.add("InsurancePlan", "demo-plan-"+ins.key, obj{
			{"status", "active"},
			{"type", []obj{concept(systemPlanType, "medical", "Medical")}},
			{"name", ins.name + " Basisverzekering"},
			{"period", obj{{"start", date(start)}}},
			{"ownedBy", refDisplay("Organization", ins.id(), ins.name)},
			{"administeredBy", refDisplay("Organization", ins.id(), ins.name)},
			{"network", network},
		})
	}
}

// srID is the id of the ServiceRequest at index i of waits.
func srID(i int) string { return fmt.Sprintf("demo-sr-%04d", i+1) }

func (b *builder) serviceRequests() {
	for i, w := range waits {
		p := providerByKey(w.prov)
		category := []obj{waitKind(w.kind)}
		if w.high {
			category = append(category, concept(systemComplexity, "high", "Hoogcomplexe zorg"))
		}
		display, _ := nlid.SpecialismDisplay(w.spec)
		var notes []obj
		if w.note != "" {
			notes = []obj{{{"text", w.note}}}
		}
		b.add("ServiceRequest", srID(i), obj{
			{"identifier", []obj{identifier(localSystem(p.agb, "order"), w.orderCode)}},
			{"status", w.status},
			{"intent", "order"},
			{"category", category},
			{"code", obj{{"text", waitKindDisplay[w.kind] + " " + display}}},
			{"subject", ref("Patient", patientID(w.patient))},
			{"authoredOn", date(b.day(-w.daysAgo))},
			{"performerType", specialism(w.spec)},
			{"performer", []obj{refDisplay("Organization", p.id(), p.name)}},
			{"note", notes},
		})
	}
}

// plannedAppt is an Appointment ready to be written.
type plannedAppt struct {
	id   string
	body obj
}

// planAppointments builds the Appointments. It runs before the Slots are
// written, because booking a Slot marks it busy.
func (b *builder) planAppointments() []plannedAppt {
	var out []plannedAppt
	for i, a := range appts {
		w := waits[a.wait]
		s := serviceFor(w.prov, w.spec)
		p := providerByKey(w.prov)
		authored := b.day(-w.daysAgo)
		// The hospital registered the appointment the working day after the order.
		created := at(weekday(authored.AddDate(0, 0, 1), true), 10, 15)
		if limit := at(b.today, 8, 0); created.After(limit) {
			created = limit
		}

		var start, end time.Time
		var slot []obj
		switch {
		case a.bySlot:
			sl := firstSlot(b.slots[s.suffix()], a.day)
			sl.busy = true
			start, end = sl.start, sl.end
			slot = []obj{ref("Slot", sl.id)}
		case a.status != "waitlist":
			d := weekday(b.day(a.day), a.day >= 0)
			if a.day == 0 {
				d = b.day(0) // arrived and checked-in happen today, whatever the day
			}
			start = at(d, a.hh, a.mm)
			end = start.Add(time.Duration(a.minutes) * time.Minute)
		}

		patientStatus := "accepted"
		if a.status == "proposed" {
			patientStatus = "needs-action" // the patient has not answered yet
		}
		participants := []obj{
			{{"actor", refDisplay("Patient", patientID(w.patient), people[personOf(w.patient)-1].given+" "+familyOf(w.patient))}, {"status", patientStatus}},
			{{"actor", refDisplay("Practitioner", "demo-prac-"+s.suffix(), s.doc.given+" "+s.doc.family)}, {"status", "accepted"}},
			{{"actor", ref("Location", p.places[s.place].id)}, {"status", "accepted"}},
		}

		body := obj{
			{"identifier", []obj{identifier(localSystem(p.agb, "appointment"), a.number)}},
			{"status", a.status},
		}
		if a.reason != "" {
			body = append(body, field{"cancelationReason", obj{{"text", a.reason}}})
		}
		body = append(body,
			field{"serviceType", []obj{waitKind(w.kind)}},
			field{"specialty", []obj{specialism(w.spec)}},
		)
		if !start.IsZero() {
			body = append(body,
				field{"start", instant(start)},
				field{"end", instant(end)},
				field{"minutesDuration", int(end.Sub(start) / time.Minute)},
			)
		}
		body = append(body,
			field{"slot", slot},
			field{"created", instant(created)},
			field{"basedOn", []obj{ref("ServiceRequest", srID(a.wait))}},
			field{"participant", participants},
		)
		if a.status == "waitlist" {
			body = append(body, field{"requestedPeriod", []obj{{
				{"start", date(b.day(0))},
				{"end", date(b.day(90))},
			}}})
		}
		out = append(out, plannedAppt{id: fmt.Sprintf("demo-appt-%04d", i+1), body: body})
	}
	return out
}

// firstSlot returns the first planned Slot on or after day.
func firstSlot(slots []*slotRef, day int) *slotRef {
	for _, sl := range slots {
		if sl.day >= day {
			return sl
		}
	}
	panic("demo: no slot on or after day " + strconv.Itoa(day)) // static data: a bug
}

// personOf returns the person number of a Patient id suffix ("03-zbc-brabant" → 3).
func personOf(suffix string) int {
	n, err := strconv.Atoi(suffix[:2])
	if err != nil {
		panic("demo: bad patient suffix " + suffix) // static data: a bug
	}
	return n
}

// familyOf returns the family name on the Patient record with the given
// id suffix: an alias record may carry another name.
func familyOf(suffix string) string {
	pp := people[personOf(suffix)-1]
	if pp.alias != nil && len(suffix) > 2 {
		return pp.alias.family
	}
	return pp.family
}
