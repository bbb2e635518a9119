package gen

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/conformance/nlid"
)

// World holds the small precomputed tables of one synthetic world:
// providers, locations, services, practitioners, schedules, the slot
// layout (one status byte per slot), insurers and the calibration of the
// waiting-time model. People, waits and appointments are not stored: they
// are recomputed from their index whenever a writer needs them.
type World struct {
	cfg  Config
	seed uint64
	key  []byte
	days *dayTable
	peil int // day offset of the NZa peildatum
	year int // the calendar year of today

	orgs     []*org // care providers: hospitals, then ZBCs
	insurers []*insurer
	locs     []*location
	svcs     []*service
	pracs    []*practitioner
	scheds   []*schedule

	slotStatus []uint8 // per slot: slotFree, slotBusy, slotBookable
	nSlots     int
	nGroups    int

	nAppt, nRef, nBlocks, nRec, nPers int

	recPerm, bsnPerm, patnr, ordnr, apptnr, polnr, pracAGB affine
	aliasStep                                              uint64

	cityCDF []float64   // where people live
	cityOrg [][]float64 // per city: cumulative choice of provider
	insCDF  []float64   // market shares
	delta   [numKinds]float64
}

// Slot statuses.
const (
	slotFree     = 0
	slotBusy     = 1 // busy, booked by someone outside the world or blocked
	slotBookable = 2 // busy; reserved for the world's booked appointments
)

type org struct {
	idx                int
	kind               int
	agb, ura, kvk      string
	name               string
	city               int
	locs               []*location
	svcs               []*service
	svcCDF             []float64
	weight             float64
	id                 string
	app                string // HL7 sending application
	patPre, ordPre, ap string // number prefixes
}

type location struct {
	idx                 int
	org                 *org
	agb, name           string
	street, number      string
	postal              string // "1234 AB"
	city                int
	lat, lon            float64
	id, key             string // key: the NZa LocationKey (a UUID)
	main                bool
	secondaryInSameCity bool
}

type service struct {
	idx       int
	org       *org
	loc       *location
	spec      int // index into nlid.Specialisms / specParams
	weight    float64
	kindCDF   []float64
	mu        [numKinds]float64 // log median before calibration
	published [3]int            // outpatient, diagnostics, treatment; -1 not published
	id, value string
	pracs     []*practitioner
	groups    [2]*slotGroup // outpatient (or mhc-intake), diagnostics
	demand    [2]int
}

type practitioner struct {
	idx                   int
	svc                   *service
	agb                   string
	given, family, gender string
	id, roleID            string
}

func (p *practitioner) display() string { return p.given + " " + p.family }

// session is one clinic session: n slots from 08:00 (or 13:00, pm) on a
// day; off is the index of its first slot within the schedule.
type session struct {
	day int16
	pm  bool
	n   int16
	off int32
}

// start returns the minute of day of the session's first slot.
func (ss session) start() int {
	if ss.pm {
		return 13 * 60
	}
	return 8 * 60
}

type schedule struct {
	idx        int
	svc        *service
	kind       int // wait kind of the visits: outpatient, diagnostics or mhc-intake
	prac       *practitioner
	slotMin    int
	perSession int // slots in a full four-hour session
	sessions   []session
	slotOff    int // global index of its first slot
	nSlots     int
	code, id   string
}

// slotGroup is the capacity of one service for one kind of visit, with
// the bookable slots per day and a cursor per day for the booking passes.
type slotGroup struct {
	kind     int
	scheds   []*schedule
	gid      int       // index among all groups (the booking cursors)
	free     int       // free slots
	bookable []int32   // global slot indexes, by day
	dayStart [58]int32 // bookable[dayStart[d]:dayStart[d+1]] lie on day d
}

type insurer struct {
	idx              int
	uzovi, name, cty string
	share, rate      float64
	id, planID       string
	contracted       []bool // per provider
}

// New builds the precomputed tables of the world cfg describes.
func New(cfg Config) (*World, error) {
	cfg, err := cfg.normalized()
	if err != nil {
		return nil, err
	}
	w := &World{cfg: cfg, seed: uint64(cfg.Seed), key: cfg.DeploymentKey}
	w.days = newDayTable(cfg.AsOf)
	w.peil = w.days.peildatum()
	w.year = w.days.today.Year()

	w.nAppt = cfg.Appointments
	w.nBlocks = w.nAppt / 5
	w.nRef = 4*w.nBlocks + w.nAppt%5
	w.nRec = max(1, int(math.Round(float64(w.nAppt)*cfg.PatientsPerAppointment)))
	w.nPers = max(1, int(math.Round(float64(w.nRec)/(1+cfg.SharedPatientShare))))
	if w.nPers > 8_000_000 {
		return nil, fmt.Errorf("gen: %d people do not fit the BSN space of 8 million", w.nPers)
	}
	w.recPerm = newAffine(w.seed, 1, uint64(w.nRec))
	w.bsnPerm = newAffine(w.seed, 2, 8_000_000)
	w.patnr = newAffine(w.seed, 3, 100_000_000)
	w.ordnr = newAffine(w.seed, 4, 1_000_000_000)
	w.apptnr = newAffine(w.seed, 5, 10_000_000_000)
	w.polnr = newAffine(w.seed, 6, 1_000_000_000)
	w.pracAGB = newAffine(w.seed, 7, 990_000)
	w.aliasStep = newAffine(w.seed, 8, uint64(w.nPers)).a
	if w.aliasStep == 0 {
		w.aliasStep = 1
	}

	pop := make([]float64, len(cities))
	for i, c := range cities {
		pop[i] = float64(c.pop)
	}
	w.cityCDF = cumulative(pop)

	w.buildProviders()
	w.buildInsurers()
	w.buildCityChoice()
	w.calibrate()
	w.publishWaits()
	w.buildCapacity()
	return w, nil
}

// id derives a resource id from a business identifier.
func (w *World) id(typ, system, value string) string {
	return ww.DeriveID(w.key, typ, system, value)
}

// digits returns n random digits.
func digits(r *rng, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('0' + r.intn(10))
	}
	return string(b)
}

func (w *World) buildProviders() {
	r := newRNG(w.seed, sOrg, 0)
	used := map[string]bool{"06020502": true, "06020101": true}
	newCode := func(prefix string) string {
		for {
			c := prefix + digits(&r, 6)
			if c[2:4] != "99" && c[2] != '0' && !used[c] {
				used[c] = true
				return c
			}
		}
	}
	usedNum := map[string]bool{}
	newNum := func() string {
		for {
			c := strconv.Itoa(r.between(10_000_000, 99_999_999))
			if !usedNum[c] {
				usedNum[c] = true
				return c
			}
		}
	}
	cityIdx := map[string]int{}
	for i, c := range cities {
		cityIdx[c.name] = i
	}
	names := map[string]bool{}
	unique := func(name string, c int) string {
		if !names[name] {
			names[name] = true
			return name
		}
		for _, q := range quarters {
			n := name + "-" + q
			if c >= 0 && !strings.Contains(name, cities[c].name) {
				n = name + " " + cities[c].name
			}
			if !names[n] {
				names[n] = true
				return n
			}
		}
		for k := 2; ; k++ {
			n := fmt.Sprintf("%s %d", name, k)
			if !names[n] {
				names[n] = true
				return n
			}
		}
	}

	// Cities of the hospitals.
	weights := make([]float64, len(cities))
	for i, c := range cities {
		weights[i] = float64(c.pop)
	}
	pickCity := func() int {
		c := r.pick(cumulative(weights))
		weights[c] *= 0.6 // spread providers over the country
		return c
	}
	type plan struct{ kind, city int }
	var plans []plan
	for i := 0; i < w.cfg.AcademicCentres; i++ {
		plans = append(plans, plan{okUMC, cityIdx[umcCities[i%len(umcCities)]]})
	}
	for i := 0; i < w.cfg.SpecialisedHospitals; i++ {
		plans = append(plans, plan{okEye + i%2, pickCity()})
	}
	general := w.cfg.Hospitals - w.cfg.AcademicCentres - w.cfg.SpecialisedHospitals
	for i := 0; i < general; i++ {
		c := -1
		if i < len(provinces) { // every province has a general hospital
			for k, ci := range cities {
				if ci.province == provinces[i] && (c < 0 || ci.pop > cities[c].pop) {
					c = k
				}
			}
			weights[c] *= 0.6
		} else {
			c = pickCity()
		}
		plans = append(plans, plan{okGeneral, c})
	}
	for i := range weights {
		weights[i] = float64(cities[i].pop)
	}
	for i := 0; i < w.cfg.ZBCs; i++ {
		plans = append(plans, plan{okZBC, pickCity()})
	}

	zbcW := make([]float64, len(specParams))
	for i, sp := range specParams {
		zbcW[i] = sp.zbcWeight
	}
	for i, p := range plans {
		o := &org{idx: i, kind: p.kind, city: p.city}
		prefix := "06"
		if p.kind == okZBC {
			prefix = "22"
		}
		o.agb = newCode(prefix)
		o.ura = newNum()
		o.kvk = newNum()
		cn := cities[p.city].name
		var specs []int // ZBC specialisms
		switch p.kind {
		case okUMC:
			o.name = unique("Academisch Centrum "+cn, p.city)
		case okEye:
			o.name = unique("Oogziekenhuis "+cn, p.city)
		case okOrtho:
			o.name = unique("Orthopedische Kliniek "+cn, p.city)
		case okGeneral:
			if r.float() < 0.35 {
				o.name = unique(saintNames[r.intn(len(saintNames))]+" Ziekenhuis", p.city)
			} else {
				o.name = unique(fmt.Sprintf(hospitalPatterns[r.intn(len(hospitalPatterns))], cn), p.city)
			}
		case okZBC:
			n := 1
			switch u := r.float(); {
			case u < 0.35:
				n = 1
			case u < 0.70:
				n = 2
			case u < 0.90:
				n = 3
			default:
				n = 4
			}
			ws := append([]float64(nil), zbcW...)
			for k := 0; k < n; k++ {
				s := r.pick(cumulative(ws))
				ws[s] = 0
				specs = append(specs, s)
			}
			o.name = unique(zbcTheme(specParams[specs[0]].code, &r)+" "+cn, p.city)
		}
		o.app = ehrs[r.intn(len(ehrs))]
		o.patPre = []string{"", "", "P", "Z"}[r.intn(4)]
		o.ordPre = []string{"", "ORD", "VW", "O"}[r.intn(4)]
		o.ap = []string{"", "AF", "A", "AFS"}[r.intn(4)]
		o.id = w.id("Organization", ww.SystemAGB, o.agb)
		w.orgs = append(w.orgs, o)

		// Locations.
		nloc := 1
		u := r.float()
		switch p.kind {
		case okUMC, okEye, okOrtho:
			if u < 0.3 {
				nloc = 2
			}
		case okGeneral:
			switch {
			case u < 0.4:
			case u < 0.8:
				nloc = 2
			default:
				nloc = 3
			}
		case okZBC:
			switch {
			case u < 0.75:
			case u < 0.95:
				nloc = 2
			default:
				nloc = 3
			}
		}
		for k := 0; k < nloc; k++ {
			c := p.city
			if k > 0 {
				c = w.secondaryCity(&r, o, p.kind == okZBC)
			}
			w.addLocation(&r, o, c, newCode(prefix), k == 0, nloc)
		}

		// Services.
		size := 1.0
		switch p.kind {
		case okUMC:
			size = 2.2
		case okGeneral:
			size = 0.6 + r.float()
		case okEye, okOrtho:
			size = 1.5
		case okZBC:
			size = 0.6
		}
		for k, l := range o.locs {
			var offer []int
			switch p.kind {
			case okUMC:
				for s, sp := range specParams {
					if k == 0 && (r.float() < 0.97 || sp.code == "0303" || sp.code == "0313") ||
						k > 0 && sp.general >= 0.7 && r.float() < 0.35 {
						offer = append(offer, s)
					}
				}
			case okGeneral:
				for s, sp := range specParams {
					if k == 0 && (sp.general >= 1 || r.float() < sp.general) ||
						k > 0 && sp.general >= 0.7 && r.float() < 0.3 {
						offer = append(offer, s)
					}
				}
			case okEye:
				offer = []int{specIndex("0301")}
			case okOrtho:
				offer = []int{specIndex("0305")}
				if k == 0 && r.float() < 0.5 {
					offer = append(offer, specIndex("0327"))
				}
			case okZBC:
				offer = append(offer, specs...)
				sort.Ints(offer)
			}
			if len(offer) == 0 {
				offer = []int{specIndex("0313")}
			}
			for _, s := range offer {
				f := size
				if k > 0 {
					f *= 0.45
				}
				w.addService(o, l, s, specParams[s].volume*f)
			}
		}
		o.svcCDF = make([]float64, len(o.svcs))
		for k, s := range o.svcs {
			o.weight += s.weight
			o.svcCDF[k] = o.weight
		}
	}
}

func zbcTheme(code string, r *rng) string {
	switch code {
	case "0301":
		return []string{"Oogkliniek", "Oogcentrum"}[r.intn(2)]
	case "0305":
		return []string{"Orthopedisch Centrum", "Bewegingskliniek"}[r.intn(2)]
	case "0310":
		return []string{"Huidkliniek", "Dermatologisch Centrum"}[r.intn(2)]
	case "0304":
		return "Kliniek voor Plastische Chirurgie"
	case "0302":
		return "KNO Kliniek"
	case "0329":
		return "Psychiatrisch Behandelcentrum"
	}
	return []string{"Dagkliniek", "Zelfstandig Behandelcentrum", "Medisch Centrum", "Kliniek"}[r.intn(4)]
}

func specIndex(code string) int {
	for i, sp := range specParams {
		if sp.code == code {
			return i
		}
	}
	panic("gen: unknown specialism " + code)
}

// secondaryCity picks the city of a provider's second or third location:
// in the province for hospitals, anywhere for ZBC chains.
func (w *World) secondaryCity(r *rng, o *org, anywhere bool) int {
	weights := make([]float64, len(cities))
	for i, c := range cities {
		if anywhere || c.province == cities[o.city].province {
			weights[i] = float64(c.pop)
		}
	}
	for _, l := range o.locs {
		weights[l.city] *= 0.1
	}
	return r.pick(cumulative(weights))
}

func (w *World) addLocation(r *rng, o *org, c int, agb string, main bool, nloc int) {
	ct := cities[c]
	l := &location{idx: len(w.locs), org: o, agb: agb, city: c, main: main}
	for _, x := range o.locs {
		if x.city == c {
			l.secondaryInSameCity = true
		}
	}
	l.street = hospitalStreets[r.intn(len(hospitalStreets))]
	l.number = strconv.Itoa(r.between(1, 300))
	l.postal = postcode(r, ct)
	l.lat = ct.lat + (r.float()-0.5)*0.03
	l.lon = ct.lon + (r.float()-0.5)*0.045
	switch {
	case nloc == 1:
		l.name = o.name
	case main:
		l.name = o.name + ", hoofdlocatie " + ct.name
	case l.secondaryInSameCity:
		l.name = o.name + ", locatie " + ct.name + "-" + quarters[len(o.locs)%len(quarters)]
	case o.kind == okZBC:
		l.name = o.name + ", vestiging " + ct.name
	default:
		l.name = o.name + ", locatie " + ct.name
	}
	l.id = w.id("Location", ww.SystemAGB, l.agb)
	l.key = uuid(w.seed, sLoc, uint64(l.idx))
	o.locs = append(o.locs, l)
	w.locs = append(w.locs, l)
}

// postcode returns a Dutch postcode "1234 AB" in the city's range.
func postcode(r *rng, c city) string {
	const letters = "ABCDEFGHJKLMNPRSTVWXZ"
	pc := r.between(c.pcLo, c.pcHi)
	a, b := letters[r.intn(len(letters))], letters[r.intn(len(letters))]
	if a == 'S' && (b == 'A' || b == 'D' || b == 'S') {
		b = 'T'
	}
	return strconv.Itoa(pc) + " " + string([]byte{a, b})
}

// uuid returns a deterministic version-4-shaped UUID.
func uuid(seed, stream, idx uint64) string {
	r := newRNG(seed, stream, idx)
	a, b := r.next(), r.next()
	a = a&^0xF000 | 0x4000
	b = b&^(0xC<<60) | 0x8<<60
	s := fmt.Sprintf("%016x%016x", a, b)
	return s[0:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:32]
}

func (w *World) addService(o *org, l *location, s int, weight float64) {
	sv := &service{idx: len(w.svcs), org: o, loc: l, spec: s, weight: weight}
	sp := specParams[s]
	mix := kindMixes[sp.mix]
	probs := mix
	if o.kind == okZBC { // ZBCs admit no inpatients
		probs[kTreatmentDay] += probs[kTreatmentInpatient]
		probs[kTreatmentInpatient] = 0
	}
	sv.kindCDF = cumulative(probs[:])
	for k := 0; k < numKinds; k++ {
		sv.mu[k] = math.Log(kindMedian[k] * sp.waitFactor * orgWaitFactor[o.kind])
	}
	sv.value = ww.ServiceValue(l.agb, nlid.Specialisms[s].Code, "")
	sv.id = w.id("HealthcareService", ww.SystemHealthcareService, sv.value)
	o.svcs = append(o.svcs, sv)
	w.svcs = append(w.svcs, sv)
}

func (w *World) buildInsurers() {
	r := newRNG(w.seed, sInsurer, 0)
	used := map[string]bool{"7119": true, "3332": true, "3311": true}
	shares := make([]float64, len(insurerDefs))
	for i, d := range insurerDefs {
		var code string
		for {
			code = fmt.Sprintf("%04d", r.between(100, 9899))
			if !used[code] {
				used[code] = true
				break
			}
		}
		ins := &insurer{idx: i, uzovi: code, name: d.name, cty: d.city, share: d.share, rate: d.rate}
		ins.id = w.id("Organization", ww.SystemUZOVI, code)
		ins.planID = w.id("InsurancePlan", ww.SystemUZOVI, code+"|basis")
		c := newRNG(w.seed, sContract, uint64(i))
		ins.contracted = make([]bool, len(w.orgs))
		for k, o := range w.orgs {
			ins.contracted[k] = o.kind == okUMC || c.float() < d.rate
		}
		w.insurers = append(w.insurers, ins)
		shares[i] = d.share
	}
	w.insCDF = cumulative(shares)
}

// distKm is the distance between two points (equirectangular; fine at the
// scale of the Netherlands).
func distKm(lat1, lon1, lat2, lon2 float64) float64 {
	x := (lon2 - lon1) * math.Cos((lat1+lat2)/2*math.Pi/180) * 111.32
	y := (lat2 - lat1) * 110.57
	return math.Sqrt(x*x + y*y)
}

// buildCityChoice computes, for people in each city, the probability of
// going to each provider: its volume, decaying with distance (25 km), with
// a wider reach for academic centres.
func (w *World) buildCityChoice() {
	w.cityOrg = make([][]float64, len(cities))
	for c, ct := range cities {
		ws := make([]float64, len(w.orgs))
		for k, o := range w.orgs {
			d := math.Inf(1)
			for _, l := range o.locs {
				d = math.Min(d, distKm(ct.lat, ct.lon, l.lat, l.lon))
			}
			f := math.Exp(-d / 25)
			if o.kind == okUMC {
				f += 0.12 * math.Exp(-d/100)
			}
			ws[k] = o.weight * (f + 1e-6)
		}
		w.cityOrg[c] = cumulative(ws)
	}
}

// stdNormalSF is P(Z > x).
func stdNormalSF(x float64) float64 { return 0.5 * math.Erfc(x/math.Sqrt2) }

// calibrate shifts the log-median of each wait kind so that, over the mix of
// services the referrals are drawn from, the share of waits past the
// Treeknorm equals the configured share.
func (w *World) calibrate() {
	orgP := make([]float64, len(w.orgs))
	total := w.cityCDF[len(w.cityCDF)-1]
	for c := range cities {
		pc := float64(cities[c].pop) / total
		cdf := w.cityOrg[c]
		sum := cdf[len(cdf)-1]
		prev := 0.0
		for k := range w.orgs {
			orgP[k] += pc * (cdf[k] - prev) / sum
			prev = cdf[k]
		}
	}
	for k := 0; k < numKinds; k++ {
		var pis, mus []float64
		for _, s := range w.svcs {
			pk := s.kindCDF[k]
			if k > 0 {
				pk -= s.kindCDF[k-1]
			}
			pk /= s.kindCDF[numKinds-1]
			if pi := orgP[s.org.idx] * s.weight / s.org.weight * pk; pi > 0 {
				pis = append(pis, pi)
				mus = append(mus, s.mu[k])
			}
		}
		if len(pis) == 0 {
			continue
		}
		target := w.cfg.exceedShare(k)
		threshold := math.Log(float64(KindNorm[k]) + 0.5)
		share := func(delta float64) float64 {
			var num, den float64
			for i, pi := range pis {
				num += pi * stdNormalSF((threshold-mus[i]-delta)/kindSigma[k])
				den += pi
			}
			return num / den
		}
		lo, hi := -6.0, 6.0
		for it := 0; it < 80; it++ {
			m := (lo + hi) / 2
			if share(m) < target {
				lo = m
			} else {
				hi = m
			}
		}
		w.delta[k] = (lo + hi) / 2
	}
}

// publishWaits sets each service's published waits (NZa): around the
// median wait of the service, ZBCs shorter; some not published.
func (w *World) publishWaits() {
	for _, s := range w.svcs {
		r := newRNG(w.seed, sService, uint64(s.idx))
		psych := specParams[s.spec].mix == mixPsych
		kinds := [3]int{kOutpatient, kDiagnostics, kTreatmentDay}
		if psych {
			kinds = [3]int{kMHCIntake, kDiagnostics, kMHCTreatment}
		}
		for t, k := range kinds {
			days := int(math.Round(math.Exp(s.mu[k]+w.delta[k]) * (0.7 + 0.6*r.float())))
			s.published[t] = max(1, days)
		}
		if u := r.float(); u < 0.03 {
			s.published[1] = -1
		}
		noTreat := 0.08
		if s.weight < 1 {
			noTreat = 0.2
		}
		if r.float() < noTreat {
			s.published[2] = -1
		}
	}
}

// Slot layout.
const (
	horizonDays      = 56 // slots for the 8 weeks after today
	maxSessionsSched = 32 // one schedule holds at most 4 full sessions a week
	sessionMinutes   = 240
)

// schedKinds are the visit kinds of the two slot groups of a service.
func schedKinds(s *service) [2]int {
	if specParams[s.spec].mix == mixPsych {
		return [2]int{kMHCIntake, kDiagnostics}
	}
	return [2]int{kOutpatient, kDiagnostics}
}

// slotGroupOf returns which slot group books a wait of kind k, or -1.
func slotGroupOf(s *service, k int) int {
	switch k {
	case kOutpatient, kMHCIntake:
		return 0
	case kDiagnostics:
		return 1
	}
	return -1
}

// buildCapacity sizes and lays out the Slots. Per service and visit kind:
// enough busy slots for the booked appointments of the world (counted in a
// first pass over the referrals, plus a fifth for the days where demand
// peaks) and the configured share of free slots (ZBCs freer), laid out in
// clinic sessions (from 08:00 or 13:00, at most four hours) on weekdays,
// front-loaded over the 8 weeks, one practitioner per schedule. The free slots are the latest (with two weeks
// of jitter); a second pass books the world's appointments on the busy
// ones exactly as the writers will, and those slots are reserved for them.
func (w *World) buildCapacity() {
	for j := 0; j < w.nRef; j++ {
		a := w.planA(j)
		if a.group >= 0 {
			a.svc.demand[a.group]++
		}
	}
	var freeTotal float64
	freeW := make([]float64, len(w.svcs))
	for i, s := range w.svcs {
		f := 1.0
		switch s.org.kind {
		case okZBC:
			f = 3
		case okEye, okOrtho:
			f = 1.5
		}
		freeW[i] = s.weight * f
		freeTotal += freeW[i]
	}
	freeSlots := w.cfg.FreeSlotsPerAppointment * float64(w.nAppt)
	slot := 0
	var groups []*slotGroup
	for i, s := range w.svcs {
		r := newRNG(w.seed, sSchedule, uint64(s.idx))
		sp := specParams[s.spec]
		per := sessionMinutes / sp.slotMin
		free := freeSlots * freeW[i] / freeTotal
		free1 := 0.25 * free
		var target [2]int
		frac := func(x float64) int { return int(math.Floor(x + r.float())) }
		if float64(s.demand[1])+free1 >= float64(per) {
			target[1] = frac(free1)
			target[0] = frac(free - free1)
		} else {
			target[0] = frac(free)
			s.demand[1] = 0
		}
		kinds := schedKinds(s)
		for g := 0; g < 2; g++ {
			if g == 1 && s.demand[1] == 0 && target[1] == 0 {
				continue
			}
			booked, freeN := s.demand[g], target[g]
			other := int(math.Ceil(0.2 * float64(booked)))
			total := booked + freeN + other
			n := max(1, (total+maxSessionsSched*per-1)/(maxSessionsSched*per))
			grp := &slotGroup{kind: kinds[g], gid: len(groups), free: freeN}
			groups = append(groups, grp)
			s.groups[g] = grp
			for k := 0; k < n; k++ {
				sc := &schedule{idx: len(w.scheds), svc: s, kind: kinds[g], slotMin: sp.slotMin, perSession: per, slotOff: slot}
				sc.nSlots = total / n
				if k < total%n {
					sc.nSlots++
				}
				sc.sessions = w.layoutSessions(&r, sc.nSlots, per)
				slot += sc.nSlots
				sc.prac = w.addPractitioner(s)
				letter := "P"
				if kinds[g] == kDiagnostics {
					letter = "D"
				}
				sc.code = fmt.Sprintf("%s-%s-%s%d", s.loc.agb, nlid.Specialisms[s.spec].Code, letter, k+1)
				sc.id = w.id("Schedule", ww.HospitalSystem(s.org.agb, "schedule"), sc.code)
				grp.scheds = append(grp.scheds, sc)
				w.scheds = append(w.scheds, sc)
			}
		}
	}
	w.nGroups = len(groups)
	w.nSlots = slot
	w.slotStatus = make([]uint8, slot)
	for _, s := range w.svcs {
		for g, grp := range s.groups {
			if grp != nil {
				w.markFree(s, g, grp)
			}
		}
	}

	// Book the world's appointments on the busy slots, as plan() will.
	bk := w.newBooker()
	for j := 0; j < w.nRef; j++ {
		p := w.planA(j)
		if p.group >= 0 {
			if g := p.svc.groups[p.group]; g != nil {
				u, maxDay := p.slotWant()
				bk.book(g, u, maxDay)
			}
		}
	}
	// Keep only the booked ones in the booking lists (the first ones of
	// each day, in list order), so a fresh booker books the same slots.
	for _, g := range groups {
		cur := bk.cur[g.gid]
		var kept []int32
		var start [58]int32
		for d := 0; d < len(g.dayStart)-1; d++ {
			start[d] = int32(len(kept))
			from := g.dayStart[d]
			for _, idx := range g.bookable[from : from+cur[d]] {
				w.slotStatus[idx] = slotBookable
				kept = append(kept, idx)
			}
		}
		start[len(start)-1] = int32(len(kept))
		g.bookable, g.dayStart = kept, start
	}
}

// markFree marks the slots of one group: the latest (by day plus two weeks
// of jitter) free, the rest busy; the busy ones go in the group's booking
// lists, by day.
func (w *World) markFree(s *service, g int, grp *slotGroup) {
	r := newRNG(w.seed, sSlot, uint64(s.idx*2+g))
	type entry struct {
		idx int32
		day int16
		key float64
	}
	var all []entry
	for _, sc := range grp.scheds {
		for _, ss := range sc.sessions {
			for i := 0; i < int(ss.n); i++ {
				all = append(all, entry{int32(sc.slotOff + int(ss.off) + i), ss.day, float64(ss.day) + 14*r.float()})
			}
		}
	}
	sort.SliceStable(all, func(a, b int) bool { return all[a].key < all[b].key })
	free := min(grp.free, len(all))
	busy := all[:len(all)-free]
	for _, e := range all[len(all)-free:] {
		w.slotStatus[e.idx] = slotFree
	}
	for _, e := range busy {
		w.slotStatus[e.idx] = slotBusy
	}
	sort.Slice(busy, func(a, b int) bool {
		if busy[a].day != busy[b].day {
			return busy[a].day < busy[b].day
		}
		return busy[a].idx < busy[b].idx
	})
	grp.bookable = make([]int32, len(busy))
	for i, e := range busy {
		grp.bookable[i] = e.idx
	}
	i := 0
	for d := range grp.dayStart {
		for i < len(busy) && int(busy[i].day) < d {
			i++
		}
		grp.dayStart[d] = int32(i)
	}
}

// weekWeights front-load the slots over the 8 weeks: agendas open
// progressively, and most bookings fall in the first weeks.
var weekWeights = [8]float64{1.5, 1.35, 1.2, 1.05, 0.95, 0.8, 0.65, 0.5}

// layoutSessions lays out total slots over the 8 weeks: per week a share
// by weekWeights (largest remainder), in sessions of at most per slots on a
// weekly pattern of fixed half-days; a session with fewer slots starts at
// 08:00 or 13:00 like a full one and ends early.
func (w *World) layoutSessions(r *rng, total, per int) []session {
	if total == 0 {
		return nil
	}
	var week [8]int
	var rem [8]float64
	n := 0
	for wk, wt := range weekWeights {
		x := float64(total) * wt / 8
		week[wk] = int(x)
		rem[wk] = x - float64(week[wk])
		n += week[wk]
	}
	for ; n < total; n++ {
		best := 0
		for wk := range rem {
			if rem[wk] > rem[best] {
				best = wk
			}
		}
		week[best]++
		rem[best] = -1
	}
	pw := 1
	for _, c := range week {
		pw = max(pw, (c+per-1)/per)
	}
	// Choose pw distinct half-days of the week (weekday 0–4, am/pm).
	perm := [10]int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}
	for i := 9; i > 0; i-- {
		j := r.intn(i + 1)
		perm[i], perm[j] = perm[j], perm[i]
	}
	pos := append([]int(nil), perm[:pw]...)
	sort.Ints(pos) // weekday-major: chronological within a week
	var out []session
	off := 0
	for wk, c := range week {
		m := (c + per - 1) / per // sessions this week
		for i := 0; i < m; i++ {
			size := c / m
			if i < c%m {
				size++
			}
			p := pos[i*pw/m]
			wd := p / 2 // 0 = Monday
			for d := 7*wk + 1; d <= 7*wk+7; d++ {
				if int((w.days.at(d).weekday+6)%7) == wd {
					out = append(out, session{day: int16(d), pm: p%2 == 1, n: int16(size), off: int32(off)})
					off += size
					break
				}
			}
		}
	}
	return out
}

func (w *World) addPractitioner(s *service) *practitioner {
	i := len(w.pracs)
	r := newRNG(w.seed, sPractitioner, uint64(i))
	p := &practitioner{idx: i, svc: s}
	p.agb = fmt.Sprintf("03%06d", w.pracAGB.at(uint64(i)))
	if r.float() < 0.5 {
		p.gender = "female"
		p.given = givenFemale[r.intn(len(givenFemale))]
	} else {
		p.gender = "male"
		p.given = givenMale[r.intn(len(givenMale))]
	}
	p.family = familyNames[r.intn(len(familyNames))]
	p.id = w.id("Practitioner", ww.SystemAGB, p.agb)
	p.roleID = w.id("PractitionerRole", ww.SystemAGB, p.agb+"|"+s.loc.agb+"|"+nlid.Specialisms[s.spec].Code)
	s.pracs = append(s.pracs, p)
	w.pracs = append(w.pracs, p)
	return p
}
