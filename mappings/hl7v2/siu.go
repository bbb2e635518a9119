package hl7v2

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// conceptMap0278 is the HL7 v2-to-FHIR ConceptMap
// table-hl70278-to-appointmentstatus (filler status → Appointment.status),
// keyed by the upper-cased code. Dc, Discontinued, Blocked and Overbook
// have no target there; see siuStatus.
var conceptMap0278 = map[string]string{
	"PENDING":   "pending",
	"WAITLIST":  "waitlist",
	"BOOKED":    "booked",
	"STARTED":   "checked-in",
	"COMPLETE":  "fulfilled",
	"CANCELLED": "cancelled",
	"DELETED":   "entered-in-error",
	"NOSHOW":    "noshow",
}

// table0278 lists the codes of HL7 table 0278 (filler status codes).
var table0278 = set("PENDING", "WAITLIST", "BOOKED", "STARTED", "COMPLETE", "CANCELLED", "DC", "DISCONTINUED", "DELETED",
	"BLOCKED", "OVERBOOK", "NOSHOW")

// table0276 lists the appointment reason codes (the FHIR appointmentType
// binding).
var table0276 = set("CHECKUP", "EMERGENCY", "FOLLOWUP", "ROUTINE", "WALKIN")

// eventStatus is the Appointment.status an SIU event implies when SCH-25 is
// empty.
func eventStatus(trig string) string {
	switch trig {
	case "S15", "S16":
		return "cancelled"
	case "S17":
		return "entered-in-error"
	case "S26":
		return "noshow"
	}
	return "booked" // S12, S13, S14, S18–S22
}

type siuStatus struct {
	status   string
	ext      obj // the filler-status extension, or nil
	blocked  bool
	unmapped bool
}

// siuStatus maps SCH-25: the sender's status map first, then a FHIR code
// the sender gives as the alternate coding (CWE.4 with CWE.6 "FHIR"), then
// the HL7 ConceptMap (case-insensitively), then the gaps: Dc/DC/Discontinued →
// cancelled, Overbook → booked, Blocked → blocked time (a Slot, no
// Appointment). The original code is kept in ExtFillerStatus whenever the
// match is not one-to-one. An empty SCH-25 takes the event's status; an
// unknown code takes it too, with a warning.
func (x *mapper) siuStatus(sch *Segment, trig string) siuStatus {
	cwe := sch.Field(25).CWE()
	raw := cwe.Code
	if raw == "" {
		return siuStatus{status: eventStatus(trig)}
	}
	u := strings.ToUpper(raw)
	ext := x.fillerStatusExt(raw)
	if v, ok := lookupFold(x.cfg.Status, raw); ok {
		return siuStatus{status: v, ext: ext}
	}
	if v := fhirAlternate(cwe, appointmentStatuses); v != "" {
		if conceptMap0278[u] == v {
			ext = nil
		}
		return siuStatus{status: v, ext: ext}
	}
	if v, ok := conceptMap0278[u]; ok {
		return siuStatus{status: v}
	}
	switch u {
	case "DC", "DISCONTINUED":
		return siuStatus{status: "cancelled", ext: ext}
	case "OVERBOOK":
		return siuStatus{status: "booked", ext: ext}
	case "BLOCKED":
		return siuStatus{blocked: true, ext: ext}
	}
	st := eventStatus(trig)
	x.unmapped(sch, Path{Segment: "SCH", Field: 25}, raw, "SCH-25 filler status %q has no mapping; status %s taken from event %s", sanitize(raw, 40), st, trig)
	return siuStatus{status: st, ext: ext, unmapped: true}
}

func (x *mapper) fillerStatusExt(code string) obj {
	system := "http://terminology.hl7.org/CodeSystem/v2-0278"
	if !table0278[strings.ToUpper(code)] {
		system = x.codeSystem("L", "SCH-25")
	}
	return obj{{"url", ExtFillerStatus}, {"valueCoding", obj{{"system", system}, {"code", code}}}}
}

// apptTimes are the times of an appointment as the message gives them.
type apptTimes struct {
	start, end Time
	dur        time.Duration // 0 when unknown
	// where the start came from, for warnings
	seg         *Segment
	field, comp int
}

// siuTimes reads the appointment's times: TQ1-7/8 (v2.5+), else SCH-11
// (TQ.4 start, TQ.5 end, TQ.3 duration), else the first AIS-4 (AIS-7/8
// duration), AIL-6 (AIL-9/10) or AIP-6 (AIP-9/10). A missing duration is
// taken from the first AIS-7/8, else SCH-9/10.
func (x *mapper) siuTimes(sch *Segment) apptTimes {
	var t apptTimes
	for _, tq1 := range x.m.All("TQ1") {
		if strings.TrimSpace(tq1.Get(7)) == "" {
			continue
		}
		t.start = x.timeAt(tq1, 7, 1)
		t.seg, t.field, t.comp = tq1, 7, 1
		t.end = x.timeAt(tq1, 8, 1)
		if d, ok := parseCQ(tq1.Field(13).Rep(1)); ok {
			t.dur = d
		} else if d, ok := parseCQ(tq1.Field(6).Rep(1)); ok {
			t.dur = d
		}
		break
	}
	if t.start.IsZero() {
		tq := sch.Field(11).Rep(1)
		if strings.TrimSpace(tq.Comp(4).Sub(1)) != "" {
			t.start = x.timeAt(sch, 11, 4)
			t.seg, t.field, t.comp = sch, 11, 4
			t.end = x.timeAt(sch, 11, 5)
			if d, ok := parseDuration(tq.Get(3), sch.Field(10).CWE().Code); ok {
				t.dur = d
			}
		}
	}
	if t.start.IsZero() {
		for _, r := range []struct {
			name                string
			start, dur, durUnit int
		}{{"AIS", 4, 7, 8}, {"AIL", 6, 9, 10}, {"AIP", 6, 9, 10}} {
			for _, seg := range x.m.All(r.name) {
				if strings.TrimSpace(seg.Get(r.start)) == "" {
					continue
				}
				t.start = x.timeAt(seg, r.start, 1)
				t.seg, t.field, t.comp = seg, r.start, 1
				if d, ok := parseDuration(seg.Get(r.dur), seg.Field(r.durUnit).CWE().Code); ok {
					t.dur = d
				}
				break
			}
			if !t.start.IsZero() {
				break
			}
		}
	}
	if t.dur == 0 {
		for _, ais := range x.m.All("AIS") {
			if d, ok := parseDuration(ais.Get(7), ais.Field(8).CWE().Code); ok {
				t.dur = d
				break
			}
		}
	}
	if t.dur == 0 {
		if d, ok := parseDuration(sch.Get(9), sch.Field(10).CWE().Code); ok {
			t.dur = d
		}
	}
	return t
}

// timeAt parses the DTM at seg-field.comp (comp 0: the field's first
// component), recording a 102 error when it is invalid.
func (x *mapper) timeAt(seg *Segment, field, comp int) Time {
	c := max(comp, 1)
	v := strings.TrimSpace(seg.Field(field).Rep(1).Comp(c).Sub(1))
	if v == "" {
		return Time{}
	}
	t, err := ParseTime(v, x.loc)
	if err != nil {
		loc := seg.Name + "-" + strconv.Itoa(field)
		if comp > 1 {
			loc += "." + strconv.Itoa(comp)
		}
		x.fail(CodeDataType, seg, field, 0, comp, "%s: %v", loc, err)
		return Time{}
	}
	return t
}

// parseCQ reads a CQ (quantity^units) as a duration.
func parseCQ(r Rep) (time.Duration, bool) {
	q := r.Get(1)
	if q == "" {
		return 0, false
	}
	return parseDuration(q, r.Comp(2).get(1))
}

// parseDuration reads an HL7 duration: a number with units (SCH-9/10,
// AIS-7/8, CQ), the v2.3 TQ.3 form ("M20", "H1", "S60", "D2", "W1") or a
// number followed by a unit word ("2 hours"). Units: s, min, h, d, wk and
// their spellings, any case; no unit at all means minutes (what senders
// mean in practice, though the standard's default is seconds).
func parseDuration(qty, units string) (time.Duration, bool) {
	q := strings.TrimSpace(qty)
	if q == "" {
		return 0, false
	}
	u := strings.TrimSpace(units)
	if len(q) > 1 && strings.ContainsRune("SMHDWsmhdw", rune(q[0])) && isNumber(q[1:]) {
		u, q = q[:1], q[1:]
	} else if i := strings.IndexFunc(q, func(r rune) bool { return r == ' ' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' }); i > 0 {
		q, u = strings.TrimSpace(q[:i]), strings.TrimSpace(q[i:])
	}
	if !isNumber(q) {
		return 0, false
	}
	n, err := strconv.ParseFloat(q, 64)
	if err != nil || n <= 0 {
		return 0, false
	}
	var unit time.Duration
	switch strings.ToLower(u) {
	case "s", "sec", "secs", "second", "seconds":
		unit = time.Second
	case "", "m", "min", "mins", "minute", "minutes", "mn":
		unit = time.Minute
	case "h", "hr", "hrs", "hour", "hours":
		unit = time.Hour
	case "d", "day", "days":
		unit = 24 * time.Hour
	case "w", "wk", "wks", "week", "weeks":
		unit = 7 * 24 * time.Hour
	default:
		return 0, false
	}
	d := n * float64(unit)
	if d < float64(time.Second) || d > float64(366*24*time.Hour) {
		return 0, false // not an appointment's duration
	}
	return time.Duration(math.Round(d)), true
}

// isNumber reports whether s is a plain decimal number (digits, at most
// one point).
func isNumber(s string) bool {
	digits, points := 0, 0
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] >= '0' && s[i] <= '9':
			digits++
		case s[i] == '.':
			points++
		default:
			return false
		}
	}
	return digits > 0 && points <= 1
}

func (x *mapper) mapSIU() {
	m := x.m
	trig := strings.ToUpper(m.Trigger)
	sch := m.Segment("SCH")
	if sch == nil {
		x.failMissing("SCH", "SIU^%s without an SCH segment", trig)
		return
	}
	placer, filler := sch.Field(1).EI(), sch.Field(2).EI()
	apptNo := firstNonEmpty(filler.ID, placer.ID)
	if apptNo == "" {
		x.fail(CodeRequiredField, sch, 2, 0, 1, "SCH-1 (placer appointment id) and SCH-2 (filler appointment id) are both empty")
	}
	st := x.siuStatus(sch, trig)
	times := x.siuTimes(sch)
	if len(x.errs) > 0 {
		return
	}
	orgID := x.organization()
	services, servicesUnmapped := x.services()
	if trig == "S23" || trig == "S24" || st.blocked {
		x.blockedSlots(sch, trig, apptNo, times, services, orgID)
		return
	}
	pid := m.Segment("PID")
	if pid == nil {
		x.failMissing("PID", "SIU^%s without a PID segment: the appointment has no patient", trig)
		return
	}
	patID, _ := x.patient(pid, orgID, true)
	if patID == "" {
		return
	}
	participants := []obj{{{"actor", ref("Patient", patID)}, {"status", "accepted"}}}
	for _, ail := range m.All("AIL") {
		if a := x.location(ail.Field(3).PL(), orgID); a != nil {
			participants = append(participants, obj{{"actor", a.ref}, {"status", participantStatus(ail.Get(12), ail.Get(2))}})
			x.resourceSlot(ail, 12, 6, 9, 10, a, apptNo, services)
		}
	}
	for _, aip := range m.All("AIP") {
		if a := x.practitioner(aip.Field(3).XCN()); a != nil {
			var role []obj
			if c := x.concept(aip.Field(4).CWE(), "AIP-4"); c != nil {
				role = []obj{c}
			}
			participants = append(participants, obj{{"type", role}, {"actor", a.ref}, {"status", participantStatus(aip.Get(12), aip.Get(2))}})
			x.resourceSlot(aip, 12, 6, 9, 10, a, apptNo, services)
		}
	}

	// The wait this appointment serves.
	var specCands, kindCands []candidate
	specCands = append(specCands, x.zFields("specialism")...)
	if pv1 := m.Segment("PV1"); pv1 != nil {
		specCands = append(specCands, candidate{value: pv1.Get(10), seg: pv1, path: Path{Segment: "PV1", Field: 10}, direct: true})
	}
	kindCands = append(kindCands, x.zFields("waitKind")...)
	kindCands = append(kindCands, candidate{value: sch.Field(7).CWE().Code, seg: sch, path: Path{Segment: "SCH", Field: 7}})
	for _, ais := range m.All("AIS") {
		c := ais.Field(3).CWE()
		specCands = append(specCands, candidate{value: c.Code, system: c.System, seg: ais, path: Path{Segment: "AIS", Field: 3}})
		kindCands = append(kindCands, candidate{value: c.Code, seg: ais, path: Path{Segment: "AIS", Field: 3}})
	}
	for _, ail := range m.All("AIL") {
		specCands = append(specCands, candidate{value: ail.Field(3).PL().PointOfCare, seg: ail, path: Path{Segment: "AIL", Field: 3}})
	}
	spec, specLocal, specUnmapped := x.specialism(specCands)
	kind, kindLocal, kindUnmapped := x.waitKind(kindCands, nil)
	authored := x.zAuthoredOn()
	if len(x.errs) > 0 {
		return
	}
	var firstService obj
	if len(services) > 0 {
		firstService = services[0]
	}
	w := wait{spec: spec, specLocal: specLocal, kind: kind, kindLocal: kindLocal, unmapped: specUnmapped || kindUnmapped}
	basedOn := x.siuOrders(sch, st.status, patID, orgID, w, authored, firstService)

	// The appointment.
	var extension []obj
	if st.ext != nil {
		extension = []obj{st.ext}
	}
	var cancelReason obj
	if (trig == "S15" || trig == "S16") && (st.status == "cancelled" || st.status == "noshow") {
		cancelReason = x.concept(sch.Field(6).CWE(), "SCH-6")
	}
	var apptType obj
	var reasons []obj
	if c := sch.Field(7).CWE(); table0276[strings.ToUpper(c.Code)] {
		apptType = obj{{"coding", []obj{{{"system", "http://terminology.hl7.org/CodeSystem/v2-0276"}, {"code", strings.ToUpper(c.Code)}}}}}
	} else if cc := x.concept(c, "SCH-7"); cc != nil {
		reasons = []obj{cc}
	}
	if c := sch.Field(8).CWE(); apptType == nil && table0276[strings.ToUpper(c.Code)] {
		apptType = obj{{"coding", []obj{{{"system", "http://terminology.hl7.org/CodeSystem/v2-0276"}, {"code", strings.ToUpper(c.Code)}}}}}
	}
	var specialty []obj
	if c := withLocal(specialismConcept(spec), specLocal); c != nil {
		specialty = []obj{c}
	}
	timing := x.timing(times, st.status)
	body := obj{
		{"extension", extension},
		{"identifier", []obj{
			identifierWithType(x.cfg.system(x.agb, "appointment"), placer.ID, "PLAC"),
			identifierWithType(x.cfg.system(x.agb, "appointment"), filler.ID, "FILL"),
		}},
		{"status", st.status},
		{"cancelationReason", cancelReason},
		{"serviceType", services},
		{"specialty", specialty},
		{"appointmentType", apptType},
		{"reasonCode", reasons},
	}
	body = append(body, timing...)
	body = append(body,
		kv{"comment", x.comment()},
		kv{"basedOn", basedOn},
		kv{"participant", participants},
	)
	// The Appointment carries the tag for every unmapped code it was built
	// from (its status, service, specialty, or the wait it serves), not only
	// the IfAbsent ServiceRequest, which may be kept as stored.
	x.emit("Appointment", x.id("Appointment", x.cfg.system(x.agb, "appointment"), apptNo), body, false, st.unmapped || servicesUnmapped || w.unmapped)
}

// timing returns start/end/minutesDuration, or requestedPeriod when the
// times are date-only or incomplete (start and end are instants).
func (x *mapper) timing(t apptTimes, status string) []kv {
	if t.start.IsZero() {
		if t.dur >= time.Minute {
			return []kv{{"minutesDuration", int((t.dur + 30*time.Second) / time.Minute)}}
		}
		return nil
	}
	if t.end.IsZero() && t.dur > 0 && !t.start.DateOnly() {
		t.end = Time{T: t.start.T.Add(t.dur), Precision: max(t.start.Precision, PrecMinute), HasOffset: t.start.HasOffset, FracDigits: t.start.FracDigits}
	}
	if !t.end.IsZero() && t.end.T.Before(t.start.T) {
		x.warn(CodeDataType, t.seg, t.field, 0, 0, "the appointment ends before it starts; the end is left out")
		t.end = Time{}
	}
	s, sok := t.start.FHIRInstant()
	e, eok := t.end.FHIRInstant()
	if sok && eok {
		out := []kv{{"start", s}, {"end", e}}
		if mins := int(t.end.T.Sub(t.start.T) / time.Minute); mins > 0 {
			out = append(out, kv{"minutesDuration", mins})
		}
		return out
	}
	// Date-only (or no end): the period the appointment is wanted in.
	end := t.end.FHIRDateTime()
	if end == "" && t.start.DateOnly() {
		end = t.start.FHIRDate()
	}
	out := []kv{{"requestedPeriod", []obj{{{"start", t.start.FHIRDateTime()}, {"end", end}}}}}
	if t.dur >= time.Minute {
		out = append(out, kv{"minutesDuration", int((t.dur + 30*time.Second) / time.Minute)})
	}
	switch {
	case !t.start.DateOnly():
		x.warn(CodeRequiredField, t.seg, t.field, 0, t.comp, "the appointment has a start time but no end time or duration: start kept in requestedPeriod")
	case status != "proposed" && status != "cancelled" && status != "waitlist":
		x.warn(CodeDataType, t.seg, t.field, 0, t.comp, "the appointment time is a date only: the day is in requestedPeriod and start/end stay empty")
	}
	return out
}

// comment joins the NTE segments that follow SCH (and TQ1). Some senders
// put the text in NTE-2 instead of NTE-3; it is taken from there when
// NTE-3 is empty.
func (x *mapper) comment() string {
	var lines []string
	prev := ""
	for _, s := range x.m.Segments {
		if s.Name != "NTE" {
			prev = s.Name
			continue
		}
		if prev != "SCH" && prev != "TQ1" {
			continue
		}
		var parts []string
		for _, r := range s.Field(3).Reps() {
			if v := strings.TrimSpace(r.Value()); v != "" {
				parts = append(parts, v)
			}
		}
		if len(parts) == 0 {
			if v := strings.TrimSpace(s.Get(2)); len(v) > 1 {
				parts = append(parts, v)
			}
		}
		if len(parts) > 0 {
			lines = append(lines, strings.Join(parts, "\n"))
		}
	}
	return strings.Join(lines, "\n")
}

// services returns the serviceType concepts of the AIS segments. A local
// code the sender's service map lacks is reported when such a map is
// configured.
func (x *mapper) services() ([]obj, bool) {
	var out []obj
	unmapped := false
	for _, ais := range x.m.All("AIS") {
		c := ais.Field(3).CWE()
		cc := x.concept(c, "AIS-3")
		if cc == nil {
			continue
		}
		if c.Code != "" && isLocalSystem(c.System) && len(x.cfg.Service) > 0 {
			if mapped, ok := lookupFold(x.cfg.Service, c.Code); ok {
				codings := append([]obj{{{"system", mapped.System}, {"code", mapped.Code}, {"display", mapped.Display}}}, x.codings(c, "AIS-3")...)
				cc = obj{{"coding", codings}}
			} else {
				x.unmapped(ais, Path{Segment: "AIS", Field: 3}, c.Code, "AIS-3 service %q has no mapping; the local code is kept", sanitize(c.Code, 40))
				unmapped = true
			}
		}
		out = append(out, cc)
	}
	return out, unmapped
}

// participantStatus derives participant.status from an AIx filler status
// and segment action code.
func participantStatus(fillerStatus, action string) string {
	if strings.EqualFold(strings.TrimSpace(action), "D") {
		return "declined"
	}
	switch strings.ToUpper(strings.TrimSpace(fillerStatus)) {
	case "CANCELLED", "DC", "DISCONTINUED", "DELETED", "NOSHOW":
		return "declined"
	case "PENDING", "WAITLIST":
		return "tentative"
	}
	return "accepted"
}

// zAuthoredOn reads the order date from a Z field mapped to authoredOn.
func (x *mapper) zAuthoredOn() string {
	for _, c := range x.zFields("authoredOn") {
		t, err := ParseTime(c.value, x.loc)
		if err != nil {
			x.fail(CodeDataType, c.seg, c.path.Field, 0, c.path.Comp, "%s (order date): %v", c.path, err)
			return ""
		}
		return t.FHIRDateTime()
	}
	return ""
}

// siuOrders emits a ServiceRequest (a wait) per SCH-26/SCH-27 repetition;
// without those, one for a Z field mapped to orderNumber; without that, for
// a waitlist appointment, one identified by SCH-1 (else SCH-2). They are
// IfAbsent: an SIU creates the wait when nothing else has, but never
// overwrites one (REF, a CSV backfill or the REST API own its status). It
// returns the basedOn references.
// wait is what the mapping found out about the wait an appointment serves.
type wait struct {
	spec, kind           string
	specLocal, kindLocal []obj // the sender's unmapped codes, kept
	unmapped             bool
}

func (x *mapper) siuOrders(sch *Segment, status, patID, orgID string, w wait, authored string, code obj) []obj {
	type order struct{ placer, filler string }
	var orders []order
	placers, fillers := sch.Field(26).Reps(), sch.Field(27).Reps()
	for i := 0; i < max(len(placers), len(fillers)); i++ {
		var o order
		if i < len(placers) {
			o.placer = placers[i].EI().ID
		}
		if i < len(fillers) {
			o.filler = fillers[i].EI().ID
		}
		if o.placer != "" || o.filler != "" {
			orders = append(orders, o)
		}
	}
	if len(orders) == 0 {
		for _, c := range x.zFields("orderNumber") {
			orders = append(orders, order{placer: c.value})
			break
		}
	}
	if len(orders) == 0 && status == "waitlist" {
		if p := firstNonEmpty(sch.Field(1).EI().ID, sch.Field(2).EI().ID); p != "" {
			orders = append(orders, order{placer: p})
		}
	}
	if authored == "" {
		authored = x.res.SourceTime.FHIRDate()
	}
	system := x.cfg.system(x.agb, "order")
	var refs []obj
	for _, o := range orders {
		id := x.id("ServiceRequest", system, firstNonEmpty(o.placer, o.filler))
		var category []obj
		if c := withLocal(waitKindConcept(w.kind), w.kindLocal); c != nil {
			category = []obj{c}
		}
		x.emit("ServiceRequest", id, obj{
			{"identifier", []obj{identifierWithType(system, o.placer, "PLAC"), identifierWithType(system, o.filler, "FILL")}},
			{"status", "active"},
			{"intent", "order"},
			{"category", category},
			{"code", code},
			{"subject", ref("Patient", patID)},
			{"authoredOn", authored},
			{"performer", []obj{ref("Organization", orgID)}},
			{"performerType", withLocal(specialismConcept(w.spec), w.specLocal)},
		}, true, w.unmapped)
		refs = append(refs, ref("ServiceRequest", id))
	}
	return refs
}

// resourceSlot emits a busy-unavailable Slot for an AIL/AIP whose own filler
// status is Blocked.
func (x *mapper) resourceSlot(seg *Segment, statusField, startField, durField, unitField int, a *actor, apptNo string, services []obj) {
	if !strings.EqualFold(strings.TrimSpace(seg.Get(statusField)), "Blocked") {
		return
	}
	t := apptTimes{start: x.timeAt(seg, startField, 1)}
	if d, ok := parseDuration(seg.Get(durField), seg.Field(unitField).CWE().Code); ok {
		t.dur = d
	}
	x.slot(seg, a, apptNo, t, "busy-unavailable", services, "")
}

// blockedSlots maps S23 (blocked), S24 (opened) and SCH-25 Blocked: a Slot
// per AIL/AIP resource, busy-unavailable or free, on the resource's
// Schedule. No Appointment is written.
func (x *mapper) blockedSlots(sch *Segment, trig, apptNo string, times apptTimes, services []obj, orgID string) {
	status := "busy-unavailable"
	if trig == "S24" {
		status = "free"
	}
	reason := sch.Field(6).CWE()
	comment := firstNonEmpty(reason.Text, reason.Code)
	n := 0
	for _, r := range []struct {
		name                       string
		start, dur, unit, resource int
	}{{"AIL", 6, 9, 10, 3}, {"AIP", 6, 9, 10, 3}} {
		for _, seg := range x.m.All(r.name) {
			var a *actor
			if r.name == "AIL" {
				a = x.location(seg.Field(3).PL(), orgID)
			} else {
				a = x.practitioner(seg.Field(3).XCN())
			}
			if a == nil {
				continue
			}
			t := times
			if s := x.timeAt(seg, r.start, 1); !s.IsZero() {
				t = apptTimes{start: s}
				if d, ok := parseDuration(seg.Get(r.dur), seg.Field(r.unit).CWE().Code); ok {
					t.dur = d
				} else {
					t.dur = times.dur
				}
			}
			x.slot(seg, a, apptNo, t, status, services, comment)
			n++
		}
	}
	if n == 0 {
		x.warn(CodeSegmentSequence, sch, 0, 0, 0, "SIU^%s names no AIL or AIP resource: no Slot written", trig)
	}
}

// slot emits a Slot (and its Schedule) for a resource; it warns and writes
// nothing when the time is not a full start and end.
func (x *mapper) slot(seg *Segment, a *actor, apptNo string, t apptTimes, status string, services []obj, comment string) {
	if t.end.IsZero() && t.dur > 0 && !t.start.DateOnly() && !t.start.IsZero() {
		t.end = Time{T: t.start.T.Add(t.dur), Precision: max(t.start.Precision, PrecMinute), HasOffset: t.start.HasOffset}
	}
	s, sok := t.start.FHIRInstant()
	e, eok := t.end.FHIRInstant()
	if !sok || !eok || !t.end.T.After(t.start.T) {
		x.warn(CodeRequiredField, seg, 0, 0, 0, "%s: no start and end time to the minute: no Slot written", seg.Name)
		return
	}
	schedSystem := x.cfg.system(x.agb, "schedule")
	schedKey := a.typ + "/" + a.key
	schedID := x.id("Schedule", schedSystem, schedKey)
	x.emit("Schedule", schedID, obj{
		{"identifier", []obj{{{"system", schedSystem}, {"value", schedKey}}}},
		{"active", true},
		{"actor", []obj{a.ref}},
	}, true, false)
	slotSystem := x.cfg.system(x.agb, "slot")
	slotKey := apptNo + "|" + schedKey
	x.emit("Slot", x.id("Slot", slotSystem, slotKey), obj{
		{"identifier", []obj{{{"system", slotSystem}, {"value", slotKey}}}},
		{"serviceType", services},
		{"schedule", ref("Schedule", schedID)},
		{"status", status},
		{"start", s},
		{"end", e},
		{"comment", comment},
	}, false, false)
}

// fhirAlternate returns the alternate code of a CWE whose alternate coding
// system is "FHIR" (a sender stating the FHIR code it means) when it is one
// of valid, else "".
func fhirAlternate(c CWE, valid map[string]bool) string {
	if strings.EqualFold(c.AltSystem, "FHIR") && valid[strings.ToLower(c.AltCode)] {
		return strings.ToLower(c.AltCode)
	}
	return ""
}
