package demo

// person is one patient. Their main Patient record lives at prov; alias,
// when set, is a second Patient record of the same person (same BSN) at
// another provider.
type person struct {
	given, family, gender, birthDate string
	street, postal, city             string
	lat, lon                         float64
	prov, patnr                      string // provider key and its patient number
	insurer                          string // insurer key at asOf
	alias                            *alias
}

// alias is a second Patient record of a person at another provider; family
// may differ (a double-barrelled name), which is why waits are joined to
// members by BSN and never by name or id.
type alias struct {
	prov, patnr, family string
}

// people are the patients, numbered from 1 in the ids (demo-pat-01). They
// live near the provider that treats them.
var people = []person{
	{"Johanna", "de Vries", "female", "1956-03-14", "Hatertseweg 112", "6533 AN", "Nijmegen", 51.8271, 5.8402, "umc-oost", "1048231", "zv-oost", nil},
	{"Pieter", "Jansen", "male", "1962-11-02", "Kasteellaan 17", "6602 DA", "Wijchen", 51.8079, 5.7305, "umc-oost", "1051877", "zv-zuid", nil},
	{"Fatima", "El Amrani", "female", "1979-07-21", "Groenestraat 230", "6531 JC", "Nijmegen", 51.8345, 5.8521, "umc-oost", "1063310", "zv-zuid",
		&alias{"zbc-brabant", "B-20417", "El Amrani"}},
	{"Henk", "Bakker", "male", "1949-01-30", "Hondsrug 44", "3524 BR", "Utrecht", 52.0654, 5.1393, "zh-midden", "M0088213", "zv-midden", nil},
	{"Sanne", "Visser", "female", "1991-05-09", "Amsterdamsestraatweg 501", "3553 EK", "Utrecht", 52.1072, 5.0880, "zh-midden", "M0090442", "zv-midden", nil},
	{"Gerrit", "Mulder", "male", "1958-08-25", "Oudestraat 90", "8261 CM", "Kampen", 52.5551, 5.9125, "zh-noordoost", "NO-554120", "zv-oost", nil},
	{"Ingrid", "Smit", "female", "1971-12-03", "Assendorperstraat 75", "8012 DG", "Zwolle", 52.5085, 6.0990, "zh-noordoost", "NO-561938", "zv-oost",
		&alias{"zbc-noord", "KN-7731", "Smit-de Jong"}},
	{"Willem", "de Boer", "male", "1953-04-17", "Sonsbeeksingel 60", "6822 BL", "Arnhem", 51.9917, 5.9057, "umc-oost", "1070926", "zv-zuid", nil},
	{"Anouk", "Peters", "female", "1985-10-11", "Kruisstraat 120", "5612 CK", "Eindhoven", 51.4464, 5.4810, "zbc-brabant", "B-20388", "zv-zuid", nil},
	{"Mohamed", "Yilmaz", "male", "1968-06-28", "Rijnstraat 212", "1079 HV", "Amsterdam", 52.3468, 4.9033, "zbc-amstel", "KA-30215", "zv-midden", nil},
	{"Kees", "Hendriks", "male", "1945-02-08", "Zwanenveld 41", "6538 SJ", "Nijmegen", 51.8233, 5.8000, "umc-oost", "1072554", "zv-oost", nil},
	{"Emma", "Bos", "female", "2003-09-19", "Biltstraat 150", "3572 BK", "Utrecht", 52.0938, 5.1340, "zh-midden", "M0091807", "zv-midden", nil},
}

// switcher is the number of the person who changed insurer on 1 January of
// the asOf year; their old Coverage (demo-cov-05-prev) is kept with a
// period that ended the day before.
const (
	switcher        = 5
	switcherInsurer = "zv-zuid"
)

// wait is one ServiceRequest. patient is a Patient id suffix: "01" for
// demo-pat-01, "03-zbc-brabant" for an alias record.
type wait struct {
	patient   string
	prov      string
	spec      string
	kind      string // wait-kind code
	daysAgo   int    // authoredOn = asOf − daysAgo
	status    string
	high      bool // complexity high: belongs at an academic centre
	note      string
	orderCode string // the provider's order number
}

// waits are the ServiceRequests, demo-sr-0001 onwards. Comments give the
// situation at asOf under the Treeknorm (outpatient and diagnostics 28
// days, day treatment 42, inpatient 49, unknown treatment 42).
var waits = []wait{
	// 0001: outpatient, 50 days, on the waiting list → exceeded.
	{"01", "umc-oost", "0305", "outpatient", 50, "active", false, "", "ORD-410023"},
	// 0002: day treatment, 80 days, booked 30 days ahead → exceeded.
	{"02", "umc-oost", "0305", "treatment-day", 80, "active", false, "", "ORD-408871"},
	// 0003: outpatient, 10 days, booked within two weeks → within norm.
	{"03", "umc-oost", "0320", "outpatient", 10, "active", false, "", "ORD-412090"},
	// 0004: inpatient treatment, 35 days, not booked → at risk.
	{"04", "zh-midden", "0303", "treatment-inpatient", 35, "active", false, "", "ZM-77120"},
	// 0005: outpatient, 25 days, only an appointment entered in error → at risk.
	{"05", "zh-midden", "0310", "outpatient", 25, "active", false, "", "ZM-77351"},
	// 0006: treatment of unknown kind, 45 days → exceeded as day care (42), within as inpatient (49).
	{"06", "zh-noordoost", "0301", "treatment", 45, "active", false, "", "NO-2024-1187"},
	// 0007: diagnostics, 35 days, on hold at the patient's request → never exceeded.
	{"07", "zh-noordoost", "0305", "diagnostics", 35, "on-hold", false,
		"Patiënt wil pas na de zomervakantie onderzocht worden (wenswachttijd).", "NO-2024-1203"},
	// 0008: highly complex inpatient treatment, 60 days, booked 9 weeks ahead → exceeded; only an academic centre fits.
	{"08", "umc-oost", "0313", "treatment-inpatient", 60, "active", true, "", "ORD-407765"},
	// 0009: outpatient at a ZBC, 12 days, visit took place → completed.
	{"09", "zbc-brabant", "0305", "outpatient", 12, "completed", false, "", "KB-5531"},
	// 0010: outpatient at a ZBC, 5 days, patient arrived today → within norm.
	{"10", "zbc-amstel", "0310", "outpatient", 5, "active", false, "", "KA-9902"},
	// 0011: outpatient, 30 days, appointment cancelled, new one only proposed → exceeded.
	{"11", "umc-oost", "0301", "outpatient", 30, "active", false, "", "ORD-411502"},
	// 0012: day treatment, 20 days, booked 10 days ahead → within norm.
	{"12", "zh-midden", "0305", "treatment-day", 20, "active", false, "", "ZM-77502"},
	// 0013: day treatment at a ZBC for the person of demo-pat-03 (other Patient record, same BSN) → within norm.
	{"03-zbc-brabant", "zbc-brabant", "0301", "treatment-day", 20, "active", false, "", "KB-5547"},
	// 0014: outpatient at a ZBC for the person of demo-pat-07, 15 days, did not show up → within norm, unbooked.
	{"07-zbc-noord", "zbc-noord", "0305", "outpatient", 15, "active", false, "", "KN-1208"},
	// 0015: diagnostics, 40 days, appointment pending → exceeded.
	{"06", "zh-noordoost", "0320", "diagnostics", 40, "active", false, "", "NO-2024-1169"},
	// 0016: outpatient, 14 days, checked in today → within norm.
	{"04", "zh-midden", "0313", "outpatient", 14, "active", false, "", "ZM-77644"},
	// 0017: day treatment at a ZBC, 50 days, on hold at the patient's request → never exceeded.
	{"10", "zbc-amstel", "0305", "treatment-day", 50, "on-hold", false,
		"Patiënt stelt de operatie uit tot na een familiebezoek in het buitenland (wenswachttijd).", "KA-9870"},
	// 0018: outpatient at a ZBC, 3 days, booked on a slot in a few days → within norm.
	{"09", "zbc-brabant", "0301", "outpatient", 3, "active", false, "", "KB-5560"},
	// 0019–0021 make orthopedie in Gelderland (the members' home region) a
	// cell of five waits, so $regional-capacity publishes it instead of
	// suppressing it.
	// 0019: outpatient, 40 days, not booked → exceeded.
	{"11", "umc-oost", "0305", "outpatient", 40, "active", false, "", "ORD-411877"},
	// 0020: diagnostics, 20 days, not booked → within norm, at risk.
	{"08", "umc-oost", "0305", "diagnostics", 20, "active", false, "", "ORD-412301"},
	// 0021: outpatient at a ZBC for the person of demo-pat-03, 33 days, not booked → exceeded.
	{"03-zbc-brabant", "zbc-brabant", "0305", "outpatient", 33, "active", false, "", "KB-5571"},
}

// waitKindDisplay gives the Dutch display of each wait-kind code.
var waitKindDisplay = map[string]string{
	"outpatient":          "Eerste polikliniekbezoek",
	"diagnostics":         "Diagnostiek",
	"treatment-day":       "Behandeling, dagbehandeling",
	"treatment-inpatient": "Behandeling, klinisch",
	"treatment":           "Behandeling",
}

// appt is one Appointment. wait is the index into waits (0-based). day is
// the offset from asOf (moved off weekends to the nearest weekday in the
// direction away from asOf); bySlot books the first Slot of the wait's
// service on or after day and marks it busy.
type appt struct {
	wait    int
	status  string
	day     int
	hh, mm  int
	minutes int
	bySlot  bool
	reason  string // cancellation reason
	number  string // the provider's appointment number
}

// appts are the Appointments, demo-appt-0001 onwards; every Appointment
// status occurs at least once.
var appts = []appt{
	{wait: 0, status: "waitlist", number: "AF-880112"},
	{wait: 1, status: "booked", day: 30, hh: 8, mm: 30, minutes: 90, number: "AF-879034"},
	{wait: 2, status: "booked", day: 8, bySlot: true, number: "AF-881377"},
	{wait: 7, status: "booked", day: 63, hh: 8, mm: 30, minutes: 240, number: "AF-878520"},
	{wait: 8, status: "fulfilled", day: -2, hh: 10, mm: 0, minutes: 20, number: "KB-A-12044"},
	{wait: 9, status: "arrived", day: 0, hh: 11, mm: 0, minutes: 20, number: "KA-A-40318"},
	{wait: 10, status: "cancelled", day: 5, hh: 9, mm: 0, minutes: 30, reason: "Spreekuur vervalt wegens ziekte van de arts", number: "AF-880590"},
	{wait: 10, status: "proposed", day: 20, hh: 14, mm: 30, minutes: 30, number: "AF-881802"},
	{wait: 11, status: "booked", day: 10, hh: 8, mm: 30, minutes: 120, number: "ZM-A-33107"},
	{wait: 13, status: "noshow", day: -3, hh: 13, mm: 0, minutes: 20, number: "KN-A-2291"},
	{wait: 4, status: "entered-in-error", day: 4, hh: 10, mm: 30, minutes: 15, number: "ZM-A-33090"},
	{wait: 15, status: "checked-in", day: 0, hh: 9, mm: 30, minutes: 30, number: "ZM-A-33215"},
	{wait: 14, status: "pending", day: 12, hh: 11, mm: 0, minutes: 45, number: "NO-A-60512"},
	{wait: 12, status: "booked", day: 6, hh: 13, mm: 30, minutes: 60, number: "KB-A-12101"},
	{wait: 17, status: "booked", day: 2, bySlot: true, number: "KB-A-12133"},
}
