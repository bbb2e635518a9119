package mediation

import (
	"sort"
	"strconv"
	"strings"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/conformance/nlid"
	"github.com/wachtwijzer/wachtwijzer/fhirjson"
)

// OrgFacts are what the rules need of an Organization.
type OrgFacts struct {
	ID, AGB, URA, UZOVI, Name string
	// Types are the type codings as "system|code".
	Types  []string
	PartOf string
	PC4    string
}

// LocationFacts are what the rules need of a Location.
type LocationFacts struct {
	ID, Name, AGB, Org, PC4 string
	Lat, Lon                float64
	HasGeo                  bool
}

// PublishedWait is one published waiting time on a HealthcareService
// (extension published-waiting-time).
type PublishedWait struct {
	Kind       string
	Days       int
	HasDays    bool // false: too few observations
	MeasuredOn Day
	Source     string
	Treatment  string
}

// ServiceFacts are what the rules need of a HealthcareService.
type ServiceFacts struct {
	ID, Org, Name string
	Active        bool
	Locations     []string
	Specialisms   []string
	Published     []PublishedWait
}

// RoleFacts are what the rules need of a PractitionerRole.
type RoleFacts struct {
	ID, Org     string
	Locations   []string
	Services    []string
	Specialisms []string
}

// ScheduleFacts are what the rules need of a Schedule.
type ScheduleFacts struct {
	ID          string
	Active      bool
	Actors      []string // Type/id
	Specialisms []string
	// VisitKinds are the wait-kind codes of its serviceType: the kind of
	// visit its slots are for (none: any).
	VisitKinds []string
}

// PlanFacts are what the rules need of an InsurancePlan.
type PlanFacts struct {
	ID, Status, OwnedBy string
	Network             []string
	From, To            Day
}

// Directory is the provider side of the world: organisations, locations,
// services, roles, schedules and insurance plans (small sets, kept whole).
type Directory struct {
	Orgs      map[string]*OrgFacts
	Locations map[string]*LocationFacts
	Services  map[string]*ServiceFacts
	Roles     map[string]*RoleFacts
	Schedules map[string]*ScheduleFacts
	Plans     map[string]*PlanFacts
}

// NewDirectory returns an empty directory.
func NewDirectory() *Directory {
	return &Directory{Orgs: map[string]*OrgFacts{}, Locations: map[string]*LocationFacts{}, Services: map[string]*ServiceFacts{},
		Roles: map[string]*RoleFacts{}, Schedules: map[string]*ScheduleFacts{}, Plans: map[string]*PlanFacts{}}
}

// Add files a resource of one of the directory types (others are ignored).
func (d *Directory) Add(typ, id string, v *fhirjson.Value) {
	switch typ {
	case "Organization":
		d.Orgs[id] = OrgFactsOf(id, v)
	case "Location":
		d.Locations[id] = LocationFactsOf(id, v)
	case "HealthcareService":
		d.Services[id] = ServiceFactsOf(id, v)
	case "PractitionerRole":
		d.Roles[id] = RoleFactsOf(id, v)
	case "Schedule":
		d.Schedules[id] = ScheduleFactsOf(id, v)
	case "InsurancePlan":
		d.Plans[id] = PlanFactsOf(id, v)
	}
}

// DirectoryTypes are the resource types a Directory holds.
var DirectoryTypes = []string{"Organization", "Location", "HealthcareService", "PractitionerRole", "Schedule", "InsurancePlan"}

func identValue(v *fhirjson.Value, system string) string {
	for _, id := range items(v.Get("identifier")) {
		if id.GetStr("system") == system {
			return strings.TrimSpace(id.GetStr("value"))
		}
	}
	return ""
}

func refIDs(v *fhirjson.Value, want string) []string {
	var out []string
	if v == nil {
		return nil
	}
	items := v.Items
	if v.Kind == fhirjson.Object {
		items = []*fhirjson.Value{v}
	}
	for _, it := range items {
		if typ, id := refTarget(it); id != "" && (want == "" || typ == want) {
			if want == "" {
				out = append(out, typ+"/"+id)
			} else {
				out = append(out, id)
			}
		}
	}
	return out
}

func specialisms(v *fhirjson.Value) []string {
	var out []string
	if v == nil {
		return nil
	}
	for _, cc := range v.Items {
		if s := SpecialismOf(cc); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// OrgFactsOf extracts an Organization.
func OrgFactsOf(id string, v *fhirjson.Value) *OrgFacts {
	o := &OrgFacts{ID: id, Name: v.GetStr("name"), URA: identValue(v, ww.SystemURA), UZOVI: identValue(v, ww.SystemUZOVI)}
	if agb := identValue(v, ww.SystemAGB); agb != "" {
		if n, _, err := nlid.NormalizeAGB(agb); err == nil {
			agb = n
		}
		o.AGB = agb
	}
	for _, t := range items(v.Get("type")) {
		for _, c := range items(t.Get("coding")) {
			o.Types = append(o.Types, c.GetStr("system")+"|"+c.GetStr("code"))
		}
	}
	if ids := refIDs(v.Get("partOf"), "Organization"); len(ids) > 0 {
		o.PartOf = ids[0]
	}
	if a := v.Get("address"); a != nil && len(a.Items) > 0 {
		o.PC4 = PC4(a.Items[0].GetStr("postalCode"))
	}
	return o
}

// LocationFactsOf extracts a Location.
func LocationFactsOf(id string, v *fhirjson.Value) *LocationFacts {
	l := &LocationFacts{ID: id, Name: v.GetStr("name"), AGB: identValue(v, ww.SystemAGB)}
	if ids := refIDs(v.Get("managingOrganization"), "Organization"); len(ids) > 0 {
		l.Org = ids[0]
	}
	if a := v.Get("address"); a != nil {
		l.PC4 = PC4(a.GetStr("postalCode"))
	}
	if p := v.Get("position"); p != nil {
		lat, e1 := strconv.ParseFloat(numRaw(p.Get("latitude")), 64)
		lon, e2 := strconv.ParseFloat(numRaw(p.Get("longitude")), 64)
		if e1 == nil && e2 == nil {
			l.Lat, l.Lon, l.HasGeo = lat, lon, true
		}
	}
	return l
}

// ServiceFactsOf extracts a HealthcareService with its published waits.
func ServiceFactsOf(id string, v *fhirjson.Value) *ServiceFacts {
	s := &ServiceFacts{ID: id, Name: v.GetStr("name"), Active: v.Get("active") == nil || string(v.Get("active").Raw) != "false"}
	if ids := refIDs(v.Get("providedBy"), "Organization"); len(ids) > 0 {
		s.Org = ids[0]
	}
	s.Locations = refIDs(v.Get("location"), "Location")
	s.Specialisms = specialisms(v.Get("specialty"))
	s.Published = PublishedWaits(v)
	return s
}

// PublishedWaits reads the published-waiting-time extensions of a
// HealthcareService.
func PublishedWaits(v *fhirjson.Value) []PublishedWait {
	var out []PublishedWait
	for _, e := range items(v.Get("extension")) {
		if e.GetStr("url") != ww.ExtPublishedWait {
			continue
		}
		p := PublishedWait{MeasuredOn: NoDay}
		for _, s := range items(e.Get("extension")) {
			switch s.GetStr("url") {
			case "kind":
				p.Kind = s.GetStr("valueCode")
			case "days":
				if n := s.Get("valueInteger"); n != nil && n.Kind == fhirjson.Number {
					if d, err := strconv.Atoi(string(n.Raw)); err == nil {
						p.Days, p.HasDays = d, true
					}
				}
			case "measuredOn":
				if d, ok := DayOfFHIR(s.GetStr("valueDate")); ok {
					p.MeasuredOn = d
				}
			case "source":
				p.Source = s.GetStr("valueString")
			case "treatment":
				if c := s.Get("valueCoding"); c != nil {
					p.Treatment = c.GetStr("code")
				}
			}
		}
		if p.Kind != "" {
			out = append(out, p)
		}
	}
	return out
}

// PublishedDays returns the published wait of a kind (outpatient,
// diagnostics or treatment; several treatment figures give their median).
func (s *ServiceFacts) PublishedDays(kind string) (int, bool) {
	var ds []int
	for _, p := range s.Published {
		if p.Kind == kind && p.HasDays {
			ds = append(ds, p.Days)
		}
	}
	if len(ds) == 0 {
		return 0, false
	}
	sort.Ints(ds)
	return ds[len(ds)/2], true
}

// RoleFactsOf extracts a PractitionerRole.
func RoleFactsOf(id string, v *fhirjson.Value) *RoleFacts {
	r := &RoleFacts{ID: id}
	if ids := refIDs(v.Get("organization"), "Organization"); len(ids) > 0 {
		r.Org = ids[0]
	}
	r.Locations = refIDs(v.Get("location"), "Location")
	r.Services = refIDs(v.Get("healthcareService"), "HealthcareService")
	r.Specialisms = specialisms(v.Get("specialty"))
	return r
}

// ScheduleFactsOf extracts a Schedule.
func ScheduleFactsOf(id string, v *fhirjson.Value) *ScheduleFacts {
	sc := &ScheduleFacts{ID: id, Active: v.Get("active") == nil || string(v.Get("active").Raw) != "false",
		Actors: refIDs(v.Get("actor"), ""), Specialisms: specialisms(v.Get("specialty"))}
	for _, st := range items(v.Get("serviceType")) {
		for _, c := range items(st.Get("coding")) {
			if c.GetStr("system") == ww.SystemWaitKind && ValidKind(c.GetStr("code")) {
				sc.VisitKinds = append(sc.VisitKinds, c.GetStr("code"))
			}
		}
	}
	return sc
}

// PlanFactsOf extracts an InsurancePlan.
func PlanFactsOf(id string, v *fhirjson.Value) *PlanFacts {
	p := &PlanFacts{ID: id, Status: v.GetStr("status"), From: NoDay, To: NoDay}
	if ids := refIDs(v.Get("ownedBy"), "Organization"); len(ids) > 0 {
		p.OwnedBy = ids[0]
	}
	p.Network = refIDs(v.Get("network"), "Organization")
	if per := v.Get("period"); per != nil {
		if d, ok := DayOfFHIR(per.GetStr("start")); ok {
			p.From = d
		}
		if d, ok := endDay(per.GetStr("end")); ok {
			p.To = d
		}
	}
	return p
}

// Place is where a Schedule's slots take place and who offers them.
type Place struct {
	Schedule, Service, Location, Org string
	// Specialism is the schedule's own or inherited specialism.
	Specialism   string
	ProviderKind string
	Point        Point
	HasGeo       bool
	PC4, Region  string
}

// ResolveSchedule applies the place and organisation rules to a Schedule:
// place = its Location actor, else the HealthcareService actor's first
// location, else the PractitionerRole actor's; organisation = the
// HealthcareService's providedBy, else the Location's managingOrganization,
// else the PractitionerRole's organization. The specialism is the
// Schedule's, else the HealthcareService's, else the PractitionerRole's.
// The service is the HealthcareService actor, else the role's service, else
// the one service of the organisation at the place with the specialism.
func (d *Directory) ResolveSchedule(id string, kinds ProviderKinds, geo PC4Geo, regions *Regions) (Place, bool) {
	sc, ok := d.Schedules[id]
	if !ok {
		return Place{}, false
	}
	pl := Place{Schedule: id}
	var hs *ServiceFacts
	var pr *RoleFacts
	for _, a := range sc.Actors {
		typ, aid, _ := strings.Cut(a, "/")
		switch typ {
		case "Location":
			if pl.Location == "" {
				pl.Location = aid
			}
		case "HealthcareService":
			if hs == nil {
				hs = d.Services[aid]
			}
		case "PractitionerRole":
			if pr == nil {
				pr = d.Roles[aid]
			}
		}
	}
	if hs == nil && pr != nil {
		for _, s := range pr.Services {
			if x := d.Services[s]; x != nil {
				hs = x
				break
			}
		}
	}
	if pl.Location == "" && hs != nil && len(hs.Locations) > 0 {
		pl.Location = hs.Locations[0]
	}
	if pl.Location == "" && pr != nil && len(pr.Locations) > 0 {
		pl.Location = pr.Locations[0]
	}
	loc := d.Locations[pl.Location]
	switch {
	case hs != nil && hs.Org != "":
		pl.Org = hs.Org
	case loc != nil && loc.Org != "":
		pl.Org = loc.Org
	case pr != nil:
		pl.Org = pr.Org
	}
	switch {
	case len(sc.Specialisms) > 0:
		pl.Specialism = sc.Specialisms[0]
	case hs != nil && len(hs.Specialisms) > 0:
		pl.Specialism = hs.Specialisms[0]
	case pr != nil && len(pr.Specialisms) > 0:
		pl.Specialism = pr.Specialisms[0]
	}
	if hs == nil && pl.Specialism != "" {
		hs = d.serviceAt(pl.Org, pl.Location, pl.Specialism)
	}
	if hs != nil {
		pl.Service = hs.ID
	}
	pl.ProviderKind = kinds.Of(d.Orgs[pl.Org])
	if loc != nil {
		pl.PC4 = loc.PC4
		if loc.HasGeo {
			pl.Point, pl.HasGeo = Point{loc.Lat, loc.Lon}, true
		} else if p, ok := geo[loc.PC4]; ok {
			pl.Point, pl.HasGeo = p, true
		}
	}
	if pl.PC4 == "" {
		if o := d.Orgs[pl.Org]; o != nil {
			pl.PC4 = o.PC4
		}
	}
	if regions != nil {
		pl.Region = regions.Of(pl.PC4)
	}
	return pl, true
}

func (d *Directory) serviceAt(org, loc, spec string) *ServiceFacts {
	var found *ServiceFacts
	for _, s := range d.Services {
		if org != "" && s.Org != org {
			continue
		}
		if !contains(s.Locations, loc) || !contains(s.Specialisms, spec) {
			continue
		}
		if found == nil || s.ID < found.ID {
			found = s
		}
	}
	return found
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// InsurerKeys returns the keys waits are filed under for an insurer given
// by UZOVI: the code itself and "org:<id>" of every Organization carrying it.
func (d *Directory) InsurerKeys(uzovi string) map[string]bool {
	out := map[string]bool{uzovi: true}
	for _, o := range d.Orgs {
		if o.UZOVI == uzovi {
			out["org:"+o.ID] = true
		}
	}
	return out
}

// Contracted reports whether the insurer (UZOVI) contracts org on day: an
// active InsurancePlan owned by the insurer lists org or its partOf parent
// in network, and its period covers day.
func (d *Directory) Contracted(uzovi, org string, day Day) bool {
	if org == "" {
		return false
	}
	parent := ""
	if o := d.Orgs[org]; o != nil {
		parent = o.PartOf
	}
	for _, p := range d.Plans {
		if p.Status != "active" || (p.From != NoDay && day < p.From) || (p.To != NoDay && day > p.To) {
			continue
		}
		owner := d.Orgs[p.OwnedBy]
		if owner == nil || owner.UZOVI != uzovi {
			continue
		}
		if contains(p.Network, org) || parent != "" && contains(p.Network, parent) {
			return true
		}
	}
	return false
}

// BelongsTo reports whether a performer reference (Type/id) belongs to an
// organisation: the organisation itself, one that is partOf it, or a
// PractitionerRole, Location or HealthcareService of it.
func (d *Directory) BelongsTo(performer, org string) bool {
	typ, id, _ := strings.Cut(performer, "/")
	switch typ {
	case "Organization":
		if id == org {
			return true
		}
		if o := d.Orgs[id]; o != nil && o.PartOf == org {
			return true
		}
	case "PractitionerRole":
		if r := d.Roles[id]; r != nil {
			return r.Org == org || d.BelongsTo("Organization/"+r.Org, org)
		}
	case "Location":
		if l := d.Locations[id]; l != nil {
			return l.Org == org || d.BelongsTo("Organization/"+l.Org, org)
		}
	case "HealthcareService":
		if s := d.Services[id]; s != nil {
			return s.Org == org || d.BelongsTo("Organization/"+s.Org, org)
		}
	}
	return false
}

// OrgOfPerformer returns the organisation a performer reference stands for.
func (d *Directory) OrgOfPerformer(performer string) string {
	typ, id, _ := strings.Cut(performer, "/")
	switch typ {
	case "Organization":
		return id
	case "PractitionerRole":
		if r := d.Roles[id]; r != nil {
			return r.Org
		}
	case "Location":
		if l := d.Locations[id]; l != nil {
			return l.Org
		}
	case "HealthcareService":
		if s := d.Services[id]; s != nil {
			return s.Org
		}
	}
	return ""
}

// FindOrg resolves an organisation parameter: "Organization/id", an id, or
// an AGB or URA token (system|value or the bare value; 7-digit AGB padded).
func (d *Directory) FindOrg(v string) (string, bool) {
	if typ, id, ok := strings.Cut(v, "/"); ok && typ == "Organization" && !strings.Contains(id, "/") {
		_, found := d.Orgs[id]
		return id, found
	}
	sys, val, hasSys := strings.Cut(v, "|")
	if !hasSys {
		val, sys = v, ""
	}
	if n, _, err := nlid.NormalizeAGB(val); err == nil && (sys == "" || sys == ww.SystemAGB) {
		for _, o := range d.Orgs {
			if o.AGB == n {
				return o.ID, true
			}
		}
	}
	if sys == "" || sys == ww.SystemURA {
		for _, o := range d.Orgs {
			if o.URA != "" && o.URA == val {
				return o.ID, true
			}
		}
	}
	if !hasSys {
		if _, ok := d.Orgs[v]; ok {
			return v, true
		}
	}
	return "", false
}

func numRaw(v *fhirjson.Value) string {
	if v == nil || v.Kind != fhirjson.Number {
		return ""
	}
	return string(v.Raw)
}

// VisitKind is the kind of first visit a member waiting for kind needs at
// another provider: a new provider sees the patient in outpatient clinic
// before treating (outpatient and treatment waits), diagnostics stay
// diagnostics, mental health starts with an intake.
func VisitKind(kind string) string {
	switch kind {
	case KindDiagnostics:
		return KindDiagnostics
	case KindMHCIntake, KindMHCTreatment:
		return KindMHCIntake
	}
	return KindOutpatient
}

// Serves reports whether a schedule's slots can take a visit of kind (a
// schedule that names no visit kind takes any).
func (s *ScheduleFacts) Serves(kind string) bool {
	return len(s.VisitKinds) == 0 || contains(s.VisitKinds, kind)
}
