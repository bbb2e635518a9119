package demo

// Code systems and extension URLs used in the set.
const (
	systemOrgType      = "http://terminology.hl7.org/CodeSystem/organization-type"
	systemPhysicalType = "http://terminology.hl7.org/CodeSystem/location-physical-type"
	systemPlanType     = "http://terminology.hl7.org/CodeSystem/insurance-plan-type"
	systemRelationship = "http://terminology.hl7.org/CodeSystem/subscriber-relationship"
	systemWaitKind     = "https://wachtwijzer.nl/fhir/CodeSystem/wait-kind"
	systemComplexity   = "https://wachtwijzer.nl/fhir/CodeSystem/complexity"
	urlPublishedWait   = "https://wachtwijzer.nl/fhir/StructureDefinition/published-waiting-time"
	urlGeolocation     = "http://hl7.org/fhir/StructureDefinition/geolocation"
	// localSystemPrefix starts the identifier systems of a provider's own
	// numbers: prefix + AGB + "/patient" (or "/order", "/appointment").
	localSystemPrefix = "https://wachtwijzer.nl/fhir/NamingSystem/agb/"
)

// Organisation kinds in the AGB code list (COD016-VEKT).
const (
	orgTypeGeneral  = "0601"
	orgTypeAcademic = "0602"
	orgTypeZBC      = "2200"
)

var orgTypeDisplay = map[string]string{
	orgTypeGeneral:  "Algemene ziekenhuizen",
	orgTypeAcademic: "Academische ziekenhuizen",
	orgTypeZBC:      "Zelfstandige behandelcentra",
}

// place is a Location of a provider.
type place struct {
	id, name, agb        string
	street, postal, city string
	lat, lon             float64
}

// provider is a hospital or ZBC with its locations.
type provider struct {
	key, name, orgType, agb, ura string
	province                     string
	places                       []place
}

// id is the Organization id of p.
func (p *provider) id() string { return "demo-org-" + p.key }

// isZBC reports whether p is a ZBC.
func (p *provider) isZBC() bool { return p.orgType == orgTypeZBC }

// providers are the care providers, academic hospital first. Names, codes
// and house numbers are fictional; streets, postal-code areas and
// coordinates are in the right city.
var providers = []*provider{
	{key: "umc-oost", name: "Demo UMC Oost", orgType: orgTypeAcademic, agb: "06990101", ura: "99990101", province: "Gelderland",
		places: []place{
			{"demo-loc-umc-oost", "Demo UMC Oost, hoofdlocatie", "06990102", "Geert Grooteplein Zuid 21", "6525 GA", "Nijmegen", 51.8249, 5.8608},
			{"demo-loc-umc-oost-dukenburg", "Demo UMC Oost, buitenpolikliniek Dukenburg", "06990103", "Meijhorst 60", "6537 KT", "Nijmegen", 51.8197, 5.7950},
		}},
	{key: "zh-midden", name: "Demo Ziekenhuis Midden", orgType: orgTypeGeneral, agb: "06990201", ura: "99990201", province: "Utrecht",
		places: []place{
			{"demo-loc-zh-midden", "Demo Ziekenhuis Midden, locatie Oudenoord", "06990202", "Oudenoord 340", "3513 EX", "Utrecht", 52.0978, 5.1148},
			{"demo-loc-zh-midden-leidsche-rijn", "Demo Ziekenhuis Midden, locatie Leidsche Rijn", "06990203", "Berlijnplein 100", "3541 CM", "Utrecht", 52.0995, 5.0626},
		}},
	{key: "zh-noordoost", name: "Demo Ziekenhuis Noordoost", orgType: orgTypeGeneral, agb: "06990301", ura: "99990301", province: "Overijssel",
		places: []place{
			{"demo-loc-zh-noordoost", "Demo Ziekenhuis Noordoost, Zwolle", "06990302", "Groot Wezenland 20", "8011 JW", "Zwolle", 52.5068, 6.0962},
		}},
	{key: "zbc-brabant", name: "Demo Kliniek Brabant", orgType: orgTypeZBC, agb: "22990401", ura: "99990401", province: "Noord-Brabant",
		places: []place{
			{"demo-loc-zbc-brabant", "Demo Kliniek Brabant, Eindhoven", "22990402", "Boschdijk 380", "5621 JE", "Eindhoven", 51.4540, 5.4600},
		}},
	{key: "zbc-amstel", name: "Demo Kliniek Amstel", orgType: orgTypeZBC, agb: "22990501", ura: "99990501", province: "Noord-Holland",
		places: []place{
			{"demo-loc-zbc-amstel", "Demo Kliniek Amstel, Amsterdam", "22990502", "Stadionplein 30", "1076 CM", "Amsterdam", 52.3437, 4.8560},
		}},
	{key: "zbc-noord", name: "Demo Kliniek Noord", orgType: orgTypeZBC, agb: "22990601", ura: "99990601", province: "Groningen",
		places: []place{
			{"demo-loc-zbc-noord", "Demo Kliniek Noord, Groningen", "22990602", "Paterswoldseweg 810", "9728 BM", "Groningen", 53.2006, 6.5540},
		}},
}

// insurer is a health insurer.
type insurer struct {
	key, name, uzovi, city string
	network                []string // provider keys it has contracted
}

func (i *insurer) id() string { return "demo-org-" + i.key }

// insurers are the fictional insurers with their contracted providers. No
// insurer contracts every provider.
var insurers = []*insurer{
	{"zv-zuid", "Demo Zorgverzekeraar Zuid", "7119", "Tilburg", []string{"umc-oost", "zh-midden", "zbc-brabant"}},
	{"zv-oost", "Demo Zorgverzekeraar Oost", "3332", "Enschede", []string{"umc-oost", "zh-noordoost", "zbc-brabant", "zbc-noord"}},
	{"zv-midden", "Demo Zorgverzekeraar Midden", "3311", "Zeist", []string{"umc-oost", "zh-midden", "zh-noordoost", "zbc-amstel"}},
}

// doctor is the practitioner who runs one service.
type doctor struct {
	given, family, gender string
}

// service is one specialism offered by a provider at one of its locations,
// with its published waits in days (outpatient, diagnostics, treatment; a
// negative value is not published) and its practitioner.
type service struct {
	prov   string // provider key
	spec   string // AGB specialism code
	place  int    // index into the provider's places
	wait   [3]int // published waits: outpatient, diagnostics, treatment
	doc    doctor
	agbDoc string // the practitioner's AGB code
}

func (s *service) suffix() string { return s.prov + "-" + s.spec }

// services are the provider × specialism combinations. For every specialism
// a ZBC offers, its published waits are shorter than the academic
// hospital's.
var services = []*service{
	{"umc-oost", "0305", 0, [3]int{45, 30, 75}, doctor{"Maarten", "van Leeuwen", "male"}, "03990001"},
	{"umc-oost", "0301", 1, [3]int{38, 21, 56}, doctor{"Eva", "Kuipers", "female"}, "03990002"},
	{"umc-oost", "0320", 0, [3]int{30, 24, 52}, doctor{"Thomas", "Vermeulen", "male"}, "03990003"},
	{"umc-oost", "0303", 0, [3]int{26, 18, 47}, doctor{"Noor", "Hoekstra", "female"}, "03990004"},
	{"umc-oost", "0313", 0, [3]int{34, 22, 60}, doctor{"Ahmed", "Benali", "male"}, "03990005"},
	{"zh-midden", "0305", 1, [3]int{29, 15, 44}, doctor{"Liselotte", "van Dam", "female"}, "03990006"},
	{"zh-midden", "0303", 0, [3]int{21, 12, 36}, doctor{"Bart", "Dekker", "male"}, "03990007"},
	{"zh-midden", "0310", 0, [3]int{33, 9, 30}, doctor{"Sophie", "de Wit", "female"}, "03990008"},
	{"zh-midden", "0313", 0, [3]int{19, 12, 31}, doctor{"Rik", "Brouwer", "male"}, "03990009"},
	{"zh-noordoost", "0305", 0, [3]int{32, 17, 46}, doctor{"Hanneke", "Postma", "female"}, "03990010"},
	{"zh-noordoost", "0301", 0, [3]int{27, 13, 39}, doctor{"Jeroen", "Kok", "male"}, "03990011"},
	{"zh-noordoost", "0320", 0, [3]int{23, 16, 37}, doctor{"Marloes", "Dijkstra", "female"}, "03990012"},
	{"zbc-brabant", "0305", 0, [3]int{9, 6, 22}, doctor{"Stefan", "van Beek", "male"}, "03990013"},
	{"zbc-brabant", "0301", 0, [3]int{6, 4, 17}, doctor{"Yvonne", "Verhoeven", "female"}, "03990014"},
	{"zbc-amstel", "0305", 0, [3]int{12, 7, 25}, doctor{"Daan", "de Graaf", "male"}, "03990015"},
	{"zbc-amstel", "0310", 0, [3]int{5, 3, 14}, doctor{"Priya", "Ramdin", "female"}, "03990016"},
	{"zbc-noord", "0305", 0, [3]int{8, 5, -1}, doctor{"Jan-Willem", "Huizinga", "male"}, "03990017"},
	{"zbc-noord", "0301", 0, [3]int{10, 6, 20}, doctor{"Femke", "Wierenga", "female"}, "03990018"},
}

// publishedKinds are the wait kinds of the published waits, in the order
// of service.wait.
var publishedKinds = [3]string{"outpatient", "diagnostics", "treatment"}

// providerByKey returns the provider with the given key.
func providerByKey(key string) *provider {
	for _, p := range providers {
		if p.key == key {
			return p
		}
	}
	panic("demo: unknown provider " + key)
}

// serviceFor returns the service of a provider for a specialism.
func serviceFor(prov, spec string) *service {
	for _, s := range services {
		if s.prov == prov && s.spec == spec {
			return s
		}
	}
	panic("demo: no service " + prov + " " + spec)
}
