package mediation

import (
	"sort"
	"strconv"
	"strings"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/conformance"
	"github.com/wachtwijzer/wachtwijzer/fhirjson"
)

// WaitFacts are what a ServiceRequest says about a wait.
type WaitFacts struct {
	Status string `json:"st"`
	// Patient is the subject's Patient id ("" when the subject is no local
	// Patient).
	Patient  string `json:"p,omitempty"`
	Authored Day    `json:"ad"`
	// Kind is the wait-kind code ("" when the ServiceRequest has none).
	Kind string `json:"k,omitempty"`
	// Specialism is the 4-digit COD016 code ("" when unknown).
	Specialism string `json:"s,omitempty"`
	// Performers are the performer references as Type/id.
	Performers []string `json:"pf,omitempty"`
	// Location is the Location id of locationReference[0].
	Location string `json:"l,omitempty"`
	// High marks complexity high (care that belongs at an academic centre).
	High bool `json:"hi,omitempty"`
}

// ApptFact is one Appointment that holds a wait: status booked, arrived,
// checked-in or fulfilled, with a start.
type ApptFact struct {
	ID     string `json:"id"`
	Status string `json:"st"`
	Start  string `json:"t"`
	Day    Day    `json:"d"`
}

// Home is where a member lives: the home address's PC4, its region and the
// geolocation when the address carries one.
type Home struct {
	PC4    string  `json:"pc,omitempty"`
	Region string  `json:"r,omitempty"`
	Lat    float64 `json:"la,omitempty"`
	Lon    float64 `json:"lo,omitempty"`
	HasGeo bool    `json:"g,omitempty"`
}

// CoverageFact is one Coverage of a member.
type CoverageFact struct {
	ID      string `json:"id"`
	Patient string `json:"p,omitempty"`
	Status  string `json:"st"`
	// UZOVI of the payor when the Coverage names it; PayorOrg is the
	// payor's Organization id when it references one.
	UZOVI    string `json:"u,omitempty"`
	PayorOrg string `json:"o,omitempty"`
	From     Day    `json:"f"`
	To       Day    `json:"t"`
}

// Covers reports whether the coverage makes its beneficiary a member of
// the payor on day: status active and the period covering it.
func (c *CoverageFact) Covers(day Day) bool {
	return c.Status == "active" && (c.From == NoDay || c.From <= day) && (c.To == NoDay || day <= c.To)
}

// InsurerKeys are the keys a coverage files the member's waits under: the
// UZOVI code and "org:<id>" of the payor Organization, as far as known.
func (c *CoverageFact) InsurerKeys() []string {
	var out []string
	if c.UZOVI != "" {
		out = append(out, c.UZOVI)
	}
	if c.PayorOrg != "" {
		out = append(out, "org:"+c.PayorOrg)
	}
	return out
}

// WaitRecord is the derived state of one wait, kept by the store beside the
// ServiceRequest (id = the ServiceRequest id): the wait's facts (nil until
// the ServiceRequest is written, or after it is deleted), the appointments
// that hold it (they may arrive first), and the member's coverages and home
// as of the last change of any of them.
type WaitRecord struct {
	SR     *WaitFacts     `json:"sr,omitempty"`
	Appts  []ApptFact     `json:"a,omitempty"`
	Member string         `json:"m,omitempty"`
	Home   *Home          `json:"h,omitempty"`
	Cov    []CoverageFact `json:"c,omitempty"`
}

// Empty reports whether nothing is known about the wait.
func (r *WaitRecord) Empty() bool { return r.SR == nil && len(r.Appts) == 0 }

// Hold returns the earliest holding appointment.
func (r *WaitRecord) Hold() (ApptFact, bool) {
	var best ApptFact
	found := false
	for _, a := range r.Appts {
		if !found || a.Day < best.Day || a.Day == best.Day && (a.Start < best.Start || a.Start == best.Start && a.ID < best.ID) {
			best, found = a, true
		}
	}
	return best, found
}

// SetAppt records or removes (f nil) the appointment id among the holding
// ones, keeping them sorted by id.
func (r *WaitRecord) SetAppt(id string, f *ApptFact) {
	out := r.Appts[:0:0]
	for _, a := range r.Appts {
		if a.ID != id {
			out = append(out, a)
		}
	}
	if f != nil {
		out = append(out, *f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	if len(out) == 0 {
		out = nil
	}
	r.Appts = out
}

// Open reports whether the record is an open wait (active or on hold, with
// an order date).
func (r *WaitRecord) Open() bool {
	return r.SR != nil && (r.SR.Status == "active" || r.SR.Status == "on-hold") && r.SR.Authored != NoDay
}

// Insurers returns the canonical insurer keys (CoverageFact.CanonicalKey)
// of the member's active coverages (any period), sorted and unique.
func (r *WaitRecord) Insurers() []string {
	seen := map[string]bool{}
	var out []string
	for i := range r.Cov {
		if r.Cov[i].Status != "active" {
			continue
		}
		if k := r.Cov[i].CanonicalKey(); k != "" && !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// MemberOf reports whether the member is insured by an insurer (one of its
// keys) on day.
func (r *WaitRecord) MemberOf(keys map[string]bool, day Day) bool {
	for i := range r.Cov {
		if !r.Cov[i].Covers(day) {
			continue
		}
		for _, k := range r.Cov[i].InsurerKeys() {
			if keys[k] {
				return true
			}
		}
	}
	return false
}

// MemberWait is one wait of a member.
type MemberWait struct {
	SR      string `json:"sr"`
	Patient string `json:"p"`
}

// MemberRecord is the derived state of one member (id = the member key of
// the BSN, or "p-<Patient id>" for a Patient whose BSN is not known): the
// coverages of every Patient of the member and its waits.
type MemberRecord struct {
	Cov   []CoverageFact `json:"c,omitempty"`
	Waits []MemberWait   `json:"w,omitempty"`
}

// Empty reports whether the member has neither coverages nor waits.
func (m *MemberRecord) Empty() bool { return len(m.Cov) == 0 && len(m.Waits) == 0 }

// SetCoverage records or removes (f nil) a coverage.
func (m *MemberRecord) SetCoverage(id string, f *CoverageFact) {
	out := m.Cov[:0:0]
	for _, c := range m.Cov {
		if c.ID != id {
			out = append(out, c)
		}
	}
	if f != nil {
		out = append(out, *f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	if len(out) == 0 {
		out = nil
	}
	m.Cov = out
}

// SetWait records or removes a wait of the member.
func (m *MemberRecord) SetWait(sr, patient string, present bool) {
	out := m.Waits[:0:0]
	for _, w := range m.Waits {
		if w.SR != sr {
			out = append(out, w)
		}
	}
	if present {
		out = append(out, MemberWait{SR: sr, Patient: patient})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].SR < out[j].SR })
	if len(out) == 0 {
		out = nil
	}
	m.Waits = out
}

// TakePatient removes and returns the coverages and waits of one Patient
// (when its BSN changes they move to another member).
func (m *MemberRecord) TakePatient(patient string) ([]CoverageFact, []MemberWait) {
	var cov []CoverageFact
	var waits []MemberWait
	keepC := m.Cov[:0:0]
	for _, c := range m.Cov {
		if c.Patient == patient {
			cov = append(cov, c)
		} else {
			keepC = append(keepC, c)
		}
	}
	keepW := m.Waits[:0:0]
	for _, w := range m.Waits {
		if w.Patient == patient {
			waits = append(waits, w)
		} else {
			keepW = append(keepW, w)
		}
	}
	if len(keepC) == 0 {
		keepC = nil
	}
	if len(keepW) == 0 {
		keepW = nil
	}
	m.Cov, m.Waits = keepC, keepW
	return cov, waits
}

// PatientFacts are what a Patient contributes to its waits.
type PatientFacts struct {
	BSN  string
	Home *Home
}

// PatientMemberKey returns the member key of a Patient: the member key of
// its BSN, or "p-<id>" when it has none (or is absent).
func PatientMemberKey(deploymentKey []byte, id string, f *PatientFacts) string {
	if f != nil && f.BSN != "" {
		return ww.MemberKey(deploymentKey, f.BSN)
	}
	return "p-" + id
}

// refTarget returns Type and id of a literal reference (relative, or an
// absolute URL ending in Type/id).
func refTarget(ref *fhirjson.Value) (string, string) {
	if ref == nil {
		return "", ""
	}
	typ, id, _ := conformance.SplitReference(ref.GetStr("reference"))
	return typ, id
}

// SRFacts returns the wait facts of a ServiceRequest.
func SRFacts(sr *fhirjson.Value) *WaitFacts {
	f := &WaitFacts{Status: sr.GetStr("status"), Authored: NoDay}
	if typ, id := refTarget(sr.Get("subject")); typ == "Patient" {
		f.Patient = id
	}
	if d, ok := DayOfFHIR(sr.GetStr("authoredOn")); ok {
		f.Authored = d
	}
	for _, c := range items(sr.Get("category")) {
		for _, cd := range items(c.Get("coding")) {
			switch cd.GetStr("system") {
			case ww.SystemWaitKind:
				if k := cd.GetStr("code"); ValidKind(k) && f.Kind == "" {
					f.Kind = k
				}
			case ww.SystemComplexity:
				if cd.GetStr("code") == "high" {
					f.High = true
				}
			}
		}
	}
	f.Specialism = SpecialismOf(sr.Get("performerType"))
	if f.Specialism == "" {
		f.Specialism = SpecialismOf(sr.Get("code"))
	}
	for _, p := range items(sr.Get("performer")) {
		if typ, id := refTarget(p); typ != "" && id != "" {
			f.Performers = append(f.Performers, typ+"/"+id)
		}
	}
	if locs := sr.Get("locationReference"); locs != nil && len(locs.Items) > 0 {
		if typ, id := refTarget(locs.Items[0]); typ == "Location" {
			f.Location = id
		}
	}
	return f
}

// HoldingStatus reports whether an appointment in this status holds (ends)
// a wait.
func HoldingStatus(st string) bool {
	switch st {
	case "booked", "arrived", "checked-in", "fulfilled":
		return true
	}
	return false
}

// AppointmentFacts returns the ServiceRequests an Appointment is based on
// and, when it holds them (a holding status and a start), its fact.
func AppointmentFacts(id string, a *fhirjson.Value) (basedOn []string, f *ApptFact) {
	for _, b := range items(a.Get("basedOn")) {
		if typ, sid := refTarget(b); typ == "ServiceRequest" && sid != "" {
			basedOn = append(basedOn, sid)
		}
	}
	st := a.GetStr("status")
	start := a.GetStr("start")
	if HoldingStatus(st) && start != "" {
		if d, ok := DayOfFHIR(start); ok {
			f = &ApptFact{ID: id, Status: st, Start: start, Day: d}
		}
	}
	return basedOn, f
}

// PatientFactsOf returns a Patient's BSN (the first BSN identifier of 9
// digits) and home: the home address (else the first one), its PC4 and
// region, and its geolocation extension.
func PatientFactsOf(p *fhirjson.Value, regions *Regions) *PatientFacts {
	f := &PatientFacts{}
	for _, ident := range items(p.Get("identifier")) {
		if ident.GetStr("system") == ww.SystemBSN {
			v := strings.TrimSpace(ident.GetStr("value"))
			if len(v) == 9 && digitsOnly(v) {
				f.BSN = v
				break
			}
		}
	}
	var addr *fhirjson.Value
	for _, a := range items(p.Get("address")) {
		if a.GetStr("use") == "home" {
			addr = a
			break
		}
	}
	if addr == nil && p.Get("address") != nil && len(items(p.Get("address"))) > 0 {
		addr = items(p.Get("address"))[0]
	}
	if addr != nil {
		h := &Home{PC4: PC4(addr.GetStr("postalCode"))}
		if lat, lon, ok := Geolocation(addr); ok {
			h.Lat, h.Lon, h.HasGeo = lat, lon, true
		}
		if regions != nil && h.PC4 != "" {
			h.Region = regions.Of(h.PC4)
		}
		if h.PC4 != "" || h.HasGeo {
			f.Home = h
		}
	}
	return f
}

// Geolocation reads the core geolocation extension of an element.
func Geolocation(v *fhirjson.Value) (lat, lon float64, ok bool) {
	for _, e := range items(v.Get("extension")) {
		if e.GetStr("url") != "http://hl7.org/fhir/StructureDefinition/geolocation" {
			continue
		}
		var hasLat, hasLon bool
		for _, s := range items(e.Get("extension")) {
			n := s.Get("valueDecimal")
			if n == nil || n.Kind != fhirjson.Number {
				continue
			}
			x, err := strconv.ParseFloat(string(n.Raw), 64)
			if err != nil {
				continue
			}
			switch s.GetStr("url") {
			case "latitude":
				lat, hasLat = x, true
			case "longitude":
				lon, hasLon = x, true
			}
		}
		if hasLat && hasLon {
			return lat, lon, true
		}
	}
	return 0, 0, false
}

// PC4 returns the four digits of a Dutch postcode ("6525 GA" → "6525"), or
// "" when it does not start with four digits.
func PC4(postal string) string {
	postal = strings.TrimSpace(postal)
	if len(postal) < 4 || !digitsOnly(postal[:4]) || postal[0] == '0' {
		return ""
	}
	return postal[:4]
}

func digitsOnly(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// CoverageFactOf returns a Coverage's fact and its beneficiary Patient id.
func CoverageFactOf(id string, c *fhirjson.Value) (CoverageFact, string) {
	f := CoverageFact{ID: id, Status: c.GetStr("status"), From: NoDay, To: NoDay}
	_, ben := refTarget(c.Get("beneficiary"))
	if typ, _ := refTarget(c.Get("beneficiary")); typ != "Patient" {
		ben = ""
	}
	f.Patient = ben
	for _, p := range items(c.Get("payor")) {
		if typ, oid := refTarget(p); typ == "Organization" && f.PayorOrg == "" {
			f.PayorOrg = oid
		}
		if ident := p.Get("identifier"); ident != nil && ident.GetStr("system") == ww.SystemUZOVI && f.UZOVI == "" {
			f.UZOVI = strings.TrimSpace(ident.GetStr("value"))
		}
	}
	if per := c.Get("period"); per != nil {
		if d, ok := DayOfFHIR(per.GetStr("start")); ok {
			f.From = d
		}
		if end := per.GetStr("end"); end != "" {
			if d, ok := endDay(end); ok {
				f.To = d
			}
		}
	}
	return f, ben
}

// endDay is the last day a period end covers: a date's day, the last day
// of a month or year given with that precision.
func endDay(s string) (Day, bool) {
	d, ok := DayOfFHIR(s)
	if !ok {
		return NoDay, false
	}
	switch len(s) {
	case 4:
		t := d.Date()
		return civil(t.Year()+1, 1, 1) - 1, true
	case 7:
		t := d.Date()
		return civil(t.Year(), t.Month()+1, 1) - 1, true
	}
	return d, true
}

// items returns the elements of an array value, nil for anything else.
func items(v *fhirjson.Value) []*fhirjson.Value {
	if v == nil || v.Kind != fhirjson.Array {
		return nil
	}
	return v.Items
}

// CanonicalKey is the one insurer key a coverage is counted under: the
// UZOVI code, else "org:<payor id>"; "" when the payor is unknown.
func (c *CoverageFact) CanonicalKey() string {
	if c.UZOVI != "" {
		return c.UZOVI
	}
	if c.PayorOrg != "" {
		return "org:" + c.PayorOrg
	}
	return ""
}
