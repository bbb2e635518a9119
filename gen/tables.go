package gen

// Built-in tables: cities, names, streets, specialism parameters, insurers.
// Nothing is read from files. Coordinates are approximate city centres;
// postcode ranges are the PC4 numbers of the city (approximate).

// city is a Dutch city centre.
type city struct {
	name     string
	province string
	lat, lon float64
	pcLo     int // lowest PC4 number of the city
	pcHi     int // highest PC4 number of the city
	pop      int // inhabitants, thousands (weights where people live)
}

// provinces are the twelve Dutch provinces.
var provinces = []string{
	"Groningen", "Fryslân", "Drenthe", "Overijssel", "Flevoland", "Gelderland",
	"Utrecht", "Noord-Holland", "Zuid-Holland", "Zeeland", "Noord-Brabant", "Limburg",
}

// cities are 66 city centres over the twelve provinces.
var cities = []city{
	{"Groningen", "Groningen", 53.2194, 6.5665, 9711, 9747, 234},
	{"Delfzijl", "Groningen", 53.3300, 6.9180, 9901, 9939, 25},
	{"Stadskanaal", "Groningen", 52.9890, 6.9500, 9501, 9503, 32},
	{"Veendam", "Groningen", 53.1060, 6.8790, 9640, 9648, 27},
	{"Leeuwarden", "Fryslân", 53.2012, 5.7999, 8911, 8939, 125},
	{"Sneek", "Fryslân", 53.0330, 5.6590, 8600, 8609, 34},
	{"Heerenveen", "Fryslân", 52.9600, 5.9200, 8440, 8449, 51},
	{"Drachten", "Fryslân", 53.1070, 6.0990, 9200, 9209, 45},
	{"Assen", "Drenthe", 52.9928, 6.5642, 9400, 9409, 68},
	{"Emmen", "Drenthe", 52.7850, 6.8970, 7811, 7828, 107},
	{"Hoogeveen", "Drenthe", 52.7220, 6.4760, 7900, 7909, 55},
	{"Meppel", "Drenthe", 52.6960, 6.1940, 7940, 7949, 34},
	{"Zwolle", "Overijssel", 52.5168, 6.0830, 8011, 8046, 130},
	{"Enschede", "Overijssel", 52.2215, 6.8937, 7511, 7548, 160},
	{"Deventer", "Overijssel", 52.2550, 6.1630, 7411, 7429, 101},
	{"Almelo", "Overijssel", 52.3570, 6.6620, 7600, 7609, 73},
	{"Hengelo", "Overijssel", 52.2660, 6.7930, 7550, 7559, 81},
	{"Almere", "Flevoland", 52.3508, 5.2647, 1311, 1365, 218},
	{"Lelystad", "Flevoland", 52.5185, 5.4714, 8211, 8245, 80},
	{"Emmeloord", "Flevoland", 52.7110, 5.7480, 8300, 8309, 27},
	{"Arnhem", "Gelderland", 51.9851, 5.8987, 6811, 6846, 165},
	{"Nijmegen", "Gelderland", 51.8426, 5.8528, 6511, 6546, 180},
	{"Apeldoorn", "Gelderland", 52.2112, 5.9699, 7311, 7339, 165},
	{"Ede", "Gelderland", 52.0402, 5.6649, 6711, 6718, 119},
	{"Doetinchem", "Gelderland", 51.9650, 6.2890, 7001, 7009, 58},
	{"Harderwijk", "Gelderland", 52.3420, 5.6200, 3841, 3849, 48},
	{"Zutphen", "Gelderland", 52.1380, 6.2010, 7201, 7207, 48},
	{"Tiel", "Gelderland", 51.8860, 5.4300, 4001, 4009, 42},
	{"Winterswijk", "Gelderland", 51.9720, 6.7200, 7101, 7109, 29},
	{"Utrecht", "Utrecht", 52.0907, 5.1214, 3511, 3585, 365},
	{"Amersfoort", "Utrecht", 52.1561, 5.3878, 3811, 3829, 160},
	{"Nieuwegein", "Utrecht", 52.0290, 5.0810, 3430, 3439, 64},
	{"Zeist", "Utrecht", 52.0890, 5.2330, 3700, 3709, 66},
	{"Veenendaal", "Utrecht", 52.0280, 5.5590, 3900, 3909, 67},
	{"Amsterdam", "Noord-Holland", 52.3702, 4.8952, 1011, 1109, 920},
	{"Haarlem", "Noord-Holland", 52.3874, 4.6462, 2011, 2037, 163},
	{"Alkmaar", "Noord-Holland", 52.6324, 4.7534, 1811, 1827, 110},
	{"Hilversum", "Noord-Holland", 52.2292, 5.1669, 1211, 1223, 92},
	{"Hoorn", "Noord-Holland", 52.6424, 5.0597, 1620, 1628, 74},
	{"Den Helder", "Noord-Holland", 52.9563, 4.7601, 1780, 1789, 56},
	{"Zaandam", "Noord-Holland", 52.4389, 4.8258, 1500, 1509, 160},
	{"Amstelveen", "Noord-Holland", 52.3030, 4.8620, 1180, 1189, 92},
	{"Purmerend", "Noord-Holland", 52.5050, 4.9590, 1440, 1448, 93},
	{"Beverwijk", "Noord-Holland", 52.4830, 4.6570, 1940, 1949, 42},
	{"Rotterdam", "Zuid-Holland", 51.9225, 4.4792, 3011, 3089, 655},
	{"Den Haag", "Zuid-Holland", 52.0705, 4.3007, 2491, 2597, 555},
	{"Leiden", "Zuid-Holland", 52.1601, 4.4970, 2311, 2334, 125},
	{"Dordrecht", "Zuid-Holland", 51.8133, 4.6901, 3311, 3329, 120},
	{"Delft", "Zuid-Holland", 52.0116, 4.3571, 2611, 2629, 104},
	{"Gouda", "Zuid-Holland", 52.0115, 4.7104, 2801, 2809, 74},
	{"Zoetermeer", "Zuid-Holland", 52.0607, 4.4940, 2711, 2729, 126},
	{"Spijkenisse", "Zuid-Holland", 51.8450, 4.3290, 3200, 3209, 73},
	{"Alphen aan den Rijn", "Zuid-Holland", 52.1290, 4.6560, 2400, 2409, 113},
	{"Schiedam", "Zuid-Holland", 51.9190, 4.3990, 3111, 3125, 80},
	{"Middelburg", "Zeeland", 51.4988, 3.6136, 4330, 4339, 49},
	{"Vlissingen", "Zeeland", 51.4425, 3.5734, 4380, 4389, 45},
	{"Goes", "Zeeland", 51.5040, 3.8890, 4460, 4465, 38},
	{"Terneuzen", "Zeeland", 51.3360, 3.8280, 4530, 4539, 55},
	{"Eindhoven", "Noord-Brabant", 51.4416, 5.4697, 5611, 5658, 240},
	{"Tilburg", "Noord-Brabant", 51.5555, 5.0913, 5011, 5049, 225},
	{"Breda", "Noord-Brabant", 51.5719, 4.7683, 4811, 4839, 185},
	{"'s-Hertogenbosch", "Noord-Brabant", 51.6978, 5.3037, 5211, 5237, 160},
	{"Helmond", "Noord-Brabant", 51.4817, 5.6611, 5701, 5709, 93},
	{"Roosendaal", "Noord-Brabant", 51.5308, 4.4653, 4701, 4709, 77},
	{"Oss", "Noord-Brabant", 51.7650, 5.5180, 5340, 5349, 93},
	{"Bergen op Zoom", "Noord-Brabant", 51.4950, 4.2910, 4611, 4625, 68},
	{"Maastricht", "Limburg", 50.8514, 5.6910, 6211, 6229, 122},
	{"Heerlen", "Limburg", 50.8882, 5.9795, 6411, 6422, 87},
	{"Venlo", "Limburg", 51.3704, 6.1724, 5911, 5932, 102},
	{"Roermond", "Limburg", 51.1942, 5.9870, 6041, 6049, 59},
	{"Sittard", "Limburg", 50.9980, 5.8690, 6131, 6137, 92},
	{"Weert", "Limburg", 51.2520, 5.7060, 6001, 6006, 50},
}

// umcCities are where the academic centres stand, in order (Amsterdam
// twice: two academic hospitals in one city).
var umcCities = []string{"Groningen", "Amsterdam", "Amsterdam", "Leiden", "Rotterdam", "Utrecht", "Nijmegen", "Maastricht"}

var givenMale = []string{
	"Jan", "Pieter", "Henk", "Kees", "Willem", "Gerrit", "Johannes", "Cornelis", "Hendrik", "Jacob",
	"Thomas", "Daan", "Sem", "Lucas", "Levi", "Finn", "Bram", "Jesse", "Ruben", "Thijs",
	"Mark", "Dennis", "Martijn", "Bas", "Rik", "Sander", "Jeroen", "Maarten", "Niels", "Joost",
	"Mohamed", "Ahmed", "Yusuf", "Mehmet", "Emre", "Noah", "Milan", "Luuk", "Stijn", "Wouter",
	"Ad", "Frans", "Theo", "Bert", "Harm", "Sjoerd", "Wim", "Arjen", "Teun", "Gijs",
}

var givenFemale = []string{
	"Maria", "Johanna", "Anna", "Cornelia", "Elisabeth", "Wilhelmina", "Hendrika", "Geertje", "Ingrid", "Marja",
	"Emma", "Julia", "Sophie", "Tess", "Zoë", "Lotte", "Sanne", "Anouk", "Fleur", "Lisa",
	"Linda", "Monique", "Esther", "Marieke", "Petra", "Karin", "Saskia", "Femke", "Inge", "Ilse",
	"Fatima", "Samira", "Noor", "Yasmina", "Elif", "Mila", "Nina", "Evi", "Daniëlle", "Renée",
	"Annelies", "Truus", "Riet", "Gerda", "Hanneke", "Marloes", "Wendy", "Nicole", "Ellen", "Joke",
}

// familyNames, most frequent first (the list is drawn with a Zipf-like weight).
var familyNames = []string{
	"de Jong", "Jansen", "de Vries", "van den Berg", "van Dijk", "Bakker", "Janssen", "Visser", "Smit", "Meijer",
	"de Boer", "Mulder", "de Groot", "Bos", "Vos", "Peters", "Hendriks", "van Leeuwen", "Dekker", "Brouwer",
	"de Wit", "Dijkstra", "Smits", "de Graaf", "van der Meer", "van der Linden", "Kok", "Jacobs", "de Haan", "Vermeulen",
	"van den Heuvel", "van der Veen", "van den Broek", "de Bruijn", "de Bruin", "van der Heijden", "Schouten", "van Beek", "Willems", "van Vliet",
	"van de Ven", "Hoekstra", "Maas", "Verhoeven", "Koster", "van Dam", "van der Wal", "Prins", "Blom", "Huisman",
	"Peeters", "de Lange", "Kuipers", "van Wijk", "Postma", "Kramer", "van den Bosch", "Veenstra", "Kuiper", "Wijnands",
	"Yilmaz", "El Amrani", "Öztürk", "Kaya", "Bouzid", "Ramdin", "Nguyen", "Çelik", "Benali", "Kaplan",
	"van Rijn", "Scholten", "Post", "Martens", "Wouters", "Groen", "Hermans", "Evers", "Timmermans", "Boersma",
}

var streets = []string{
	"Kerkstraat", "Schoolstraat", "Molenstraat", "Dorpsstraat", "Stationsweg", "Julianastraat", "Beatrixlaan",
	"Wilhelminastraat", "Nieuwstraat", "Hoofdstraat", "Emmastraat", "Parallelweg", "Kastanjelaan", "Eikenlaan",
	"Lindelaan", "Beukenlaan", "Berkenlaan", "Esdoornstraat", "Rozenstraat", "Tulpstraat", "Sportlaan",
	"Prins Bernhardlaan", "Oranjestraat", "Marktstraat", "Burgemeester de Withstraat", "Vondellaan", "Rembrandtlaan",
	"Van Goghstraat", "Merelstraat", "Lijsterstraat", "Zwanenveld", "Havenstraat", "Dijkweg", "Polderweg",
	"Industrieweg", "Brinklaan", "Meidoornstraat", "Populierenlaan", "Sint Jansstraat", "Kloosterstraat",
}

var hospitalStreets = []string{
	"Ziekenhuisweg", "Gasthuisstraat", "Zorgboulevard", "Gezondheidsplein", "Dokter Struyckenstraat",
	"Oranjeplein", "Laan van Genezing", "Spoorlaan", "Boerhaavelaan", "Nightingalestraat",
}

// saintNames name general hospitals ("Sint Anna Ziekenhuis").
var saintNames = []string{
	"Sint Anna", "Sint Jozef", "Sint Lucas", "Sint Elisabeth", "Sint Franciscus", "Sint Maarten",
	"Sint Laurentius", "Sint Catharina", "Sint Bonifatius", "Sint Willibrord", "Sint Radboud", "Sint Servaas",
}

var hospitalPatterns = []string{"Ziekenhuis %s", "Medisch Centrum %s", "%s Gasthuis", "Streekziekenhuis %s", "Zorggroep %s"}

var quarters = []string{"Noord", "Zuid", "Oost", "West", "Centrum"}

// ehrs name the sending application in MSH-3.
var ehrs = []string{"HIX", "EPIC", "SAP", "NEXUS", "MCS", "ZIS"}

// specParam holds the generator's parameters for one specialism, aligned
// with nlid.Specialisms.
type specParam struct {
	code       string
	nza        string  // NZa short name ("Orthopedie")
	volume     float64 // relative referral volume
	waitFactor float64 // multiplies the median wait
	zbcWeight  float64 // weight among the specialisms a ZBC offers
	general    float64 // probability a general hospital offers it
	slotMin    int     // slot length, minutes (15, 20 or 30)
	mix        int     // kind mix: index into kindMixes
	treatment  string  // NZa treatment name for Behandeling
	diagnostic string  // NZa treatment name for Diagnostiek
}

// Kind mixes (probability per kind, in kind order).
const (
	mixDefault = iota
	mixImaging
	mixGenetics
	mixPsych
	mixSupport
)

var specParams = []specParam{
	{"0301", "Oogheelkunde", 9, 1.10, 22, 1, 15, mixDefault, "Staaroperatie (cataract)", "Oogmeting en netvliesonderzoek"},
	{"0302", "KNO", 6, 1.00, 8, 1, 15, mixDefault, "Amandelen verwijderen", "Gehooronderzoek"},
	{"0303", "Chirurgie", 9, 1.00, 4, 1, 20, mixDefault, "Liesbreukoperatie", "Echografie buik"},
	{"0304", "Plastische chirurgie", 4, 1.25, 15, 0.7, 20, mixDefault, "Operatie carpaletunnelsyndroom", "Onderzoek hand en pols"},
	{"0305", "Orthopedie", 10, 1.40, 25, 1, 15, mixDefault, "Totale heupprothese", "Röntgenonderzoek gewrichten"},
	{"0306", "Urologie", 5, 1.05, 3, 1, 20, mixDefault, "Prostaatoperatie (TURP)", "Cystoscopie"},
	{"0307", "Gynaecologie", 6, 0.95, 3, 1, 20, mixDefault, "Baarmoederverwijdering", "Gynaecologische echografie"},
	{"0308", "Neurochirurgie", 1.5, 1.20, 1, 0.25, 30, mixDefault, "Hernia-operatie", "MRI wervelkolom"},
	{"0310", "Dermatologie", 8, 1.35, 18, 1, 15, mixDefault, "Verwijderen huidafwijking", "Huidbiopt"},
	{"0313", "Interne geneeskunde", 8, 0.90, 0, 1, 20, mixDefault, "Dagbehandeling interne geneeskunde", "Bloed- en functieonderzoek"},
	{"0316", "Kindergeneeskunde", 4, 0.90, 0, 1, 20, mixDefault, "Dagbehandeling kindergeneeskunde", "Onderzoek kindergeneeskunde"},
	{"0318", "Maag-darm-leverziekten", 5, 1.05, 3, 1, 20, mixDefault, "Poliepverwijdering (coloscopie)", "Gastroscopie"},
	{"0320", "Cardiologie", 8, 0.95, 3, 1, 20, mixDefault, "Hartkatheterisatie", "Inspanningstest"},
	{"0322", "Longziekten", 5, 0.90, 0, 1, 20, mixDefault, "Bronchoscopie", "Longfunctieonderzoek"},
	{"0324", "Reumatologie", 3, 1.15, 1, 0.8, 20, mixDefault, "Gewrichtsinjectie", "Echografie gewrichten"},
	{"0326", "Allergologie", 0.8, 1.10, 0, 0.2, 30, mixSupport, "Immunotherapie", "Allergietest"},
	{"0327", "Revalidatiegeneeskunde", 1, 1.10, 1, 0.35, 30, mixSupport, "Revalidatiebehandeling", "Revalidatie-intake"},
	{"0328", "Cardiothoracale chirurgie", 0.8, 1.10, 0, 0.12, 30, mixDefault, "Bypassoperatie", "Hartecho"},
	{"0329", "Psychiatrie", 3, 1.50, 2, 0.6, 30, mixPsych, "Psychiatrische behandeling", "Psychiatrisch onderzoek"},
	{"0330", "Neurologie", 6, 1.10, 2, 1, 20, mixDefault, "Behandeling hoofdpijn", "EEG"},
	{"0335", "Klinische geriatrie", 2, 0.95, 0, 0.7, 30, mixSupport, "Geriatrische dagbehandeling", "Geheugenonderzoek"},
	{"0361", "Radiotherapie", 1, 0.70, 0, 0.2, 30, mixDefault, "Bestraling", "Voorbereidende CT-scan"},
	{"0362", "Radiologie", 3, 0.85, 3, 1, 15, mixImaging, "Interventieradiologie", "MRI-onderzoek"},
	{"0363", "Nucleaire geneeskunde", 0.8, 0.90, 0, 0.4, 30, mixImaging, "Radionuclidetherapie", "PET-CT-scan"},
	{"0389", "Anesthesiologie", 2, 1.00, 2, 1, 20, mixSupport, "Pijnbehandeling", "Preoperatieve screening"},
	{"0390", "Klinische genetica", 0.6, 1.20, 0, 0, 30, mixGenetics, "Erfelijkheidsadvies", "DNA-onderzoek"},
}

// Wait kinds, in the order of the kind tables below.
const (
	kOutpatient = iota
	kDiagnostics
	kTreatmentDay
	kTreatmentInpatient
	kTreatment
	kMHCIntake
	kMHCTreatment
	numKinds
)

// KindCodes are the wait-kind codes (https://wachtwijzer.nl/fhir/CodeSystem/wait-kind).
var KindCodes = [numKinds]string{"outpatient", "diagnostics", "treatment-day", "treatment-inpatient", "treatment", "mhc-intake", "mhc-treatment"}

var kindDisplay = [numKinds]string{
	"Eerste polikliniekbezoek", "Diagnostiek", "Behandeling, dagbehandeling", "Behandeling, klinisch",
	"Behandeling", "GGZ aanmelding tot intake", "GGZ intake tot behandeling",
}

// KindNorm is the Treeknorm maximum in days per wait kind (DOMAIN.md).
var KindNorm = [numKinds]int{28, 28, 42, 49, 42, 28, 70}

// kindMixes give the probability of each kind for a referral, per mix.
var kindMixes = [][numKinds]float64{
	mixDefault:  {0.50, 0.18, 0.14, 0.08, 0.10, 0, 0},
	mixImaging:  {0.20, 0.70, 0.10, 0, 0, 0, 0},
	mixGenetics: {0.60, 0.40, 0, 0, 0, 0, 0},
	mixPsych:    {0, 0.10, 0, 0, 0, 0.55, 0.35},
	mixSupport:  {0.60, 0.15, 0.15, 0, 0.10, 0, 0},
}

// Waiting-time model per kind: the median before calibration (days) and
// the log-normal sigma.
var kindMedian = [numKinds]float64{18, 14, 26, 30, 28, 24, 45}
var kindSigma = [numKinds]float64{0.75, 0.80, 0.70, 0.70, 0.70, 0.80, 0.70}

// DefaultExceedShare is the configured share of waits past the Treeknorm per
// wait kind (the generator calibrates the log-normal medians to it).
var DefaultExceedShare = map[string]float64{
	"outpatient":          0.20,
	"diagnostics":         0.15,
	"treatment-day":       0.22,
	"treatment-inpatient": 0.18,
	"treatment":           0.22,
	"mhc-intake":          0.30,
	"mhc-treatment":       0.25,
}

// insurerDef is a fictional insurer.
type insurerDef struct {
	name  string
	city  string
	share float64 // market share, percent
	rate  float64 // share of providers it contracts
}

var insurerDefs = []insurerDef{
	{"Zorgverzekeraar Polderland", "Utrecht", 30, 0.88},
	{"Delta Zorgverzekeringen", "Tilburg", 25, 0.82},
	{"Zilverlinde Zorg", "Zeist", 20, 0.78},
	{"Noorderlicht Zorgverzekeraar", "Groningen", 10, 0.72},
	{"Rivierenland Zorgverzekering", "Arnhem", 5, 0.70},
	{"Kustzorg Verzekeringen", "Den Haag", 3, 0.66},
	{"Veenhuis Onderlinge", "Enschede", 3, 0.64},
	{"Zuiderzorg", "Maastricht", 2, 0.62},
	{"Groene Hart Zorgverzekeraar", "Gouda", 1, 0.62},
	{"Eilandzorg Onderlinge", "Middelburg", 1, 0.60},
}

// Organisation kinds.
const (
	okUMC = iota
	okGeneral
	okEye
	okOrtho
	okZBC
)

var orgTypeCode = []string{okUMC: "0602", okGeneral: "0601", okEye: "0613", okOrtho: "0614", okZBC: "2200"}
var orgTypeDisplay = []string{
	okUMC: "Academische ziekenhuizen", okGeneral: "Algemene ziekenhuizen", okEye: "Oogziekenhuizen",
	okOrtho: "Orthopedische klinieken", okZBC: "Zelfstandige behandelcentra",
}

// orgWaitFactor multiplies the median wait per organisation kind: ZBCs are
// quicker, academic centres slower.
var orgWaitFactor = []float64{okUMC: 1.15, okGeneral: 1.0, okEye: 0.85, okOrtho: 0.85, okZBC: 0.55}
