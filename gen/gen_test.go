package gen

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/samply/golang-fhir-models/fhir-models/fhir"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/conformance/nlid"
	"github.com/wachtwijzer/wachtwijzer/internal/jsonpath"
)

var testKey = []byte("test-deployment-key")

// testConfig is a small world; asOf's slot horizon spans the spring DST switch.
func testConfig(seed int64, appointments int) Config {
	return Config{Seed: seed, Appointments: appointments, AsOf: time.Date(2026, 3, 20, 10, 0, 0, 0, amsterdam), DeploymentKey: testKey}
}

// res is one generated resource, parsed.
type res struct {
	typ, id string
	pos     int
	raw     []byte
	m       map[string]any
}

type world struct {
	list   []*res
	byRef  map[string]*res
	byType map[string][]*res
	today  time.Time // midnight Amsterdam
}

func load(t testing.TB, cfg Config) *world {
	t.Helper()
	s := &world{byRef: map[string]*res{}, byType: map[string][]*res{}}
	l := cfg.AsOf.In(amsterdam)
	s.today = time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, amsterdam)
	err := Generate(cfg, SinkFunc(func(typ, id string, b []byte) error {
		raw := append([]byte(nil), b...)
		var m map[string]any
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(&m); err != nil {
			return fmt.Errorf("%s/%s: not JSON: %v", typ, id, err)
		}
		r := &res{typ: typ, id: id, pos: len(s.list), raw: raw, m: m}
		key := typ + "/" + id
		if _, dup := s.byRef[key]; dup {
			return fmt.Errorf("duplicate resource %s", key)
		}
		s.list = append(s.list, r)
		s.byRef[key] = r
		s.byType[typ] = append(s.byType[typ], r)
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

var (
	smallOnce  = map[int64]*world{}
	smallWorld = func(t testing.TB, seed int64) *world {
		if w := smallOnce[seed]; w != nil {
			return w
		}
		w := load(t, testConfig(seed, 2000))
		smallOnce[seed] = w
		return w
	}
)

func get(v any, path ...any) any { return jsonpath.Get(v, path...) }

func getStr(v any, path ...any) string { return jsonpath.Str(v, path...) }

func getList(v any, path ...any) []any { return jsonpath.List(v, path...) }

func getInt(v any, path ...any) int {
	n, _ := get(v, path...).(json.Number).Int64()
	return int(n)
}

func identifierValue(m map[string]any, system string) string {
	for _, id := range getList(m, "identifier") {
		if getStr(id, "system") == system {
			return getStr(id, "value")
		}
	}
	return ""
}

func codeIn(cc any, system string) string {
	for _, c := range getList(cc, "coding") {
		if getStr(c, "system") == system {
			return getStr(c, "code")
		}
	}
	return ""
}

// days returns the calendar days from a to b.
func days(a, b time.Time) int {
	ay, am, ad := a.Date()
	by, bm, bd := b.Date()
	return int(time.Date(by, bm, bd, 0, 0, 0, 0, time.UTC).Sub(time.Date(ay, am, ad, 0, 0, 0, 0, time.UTC)) / (24 * time.Hour))
}

func parseDate(t testing.TB, s string) time.Time {
	t.Helper()
	d, err := time.ParseInLocation("2006-01-02", s, amsterdam)
	if err != nil {
		t.Fatalf("date %q: %v", s, err)
	}
	return d
}

var instantRE = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}$`)

// parseInstant checks that s is an instant with the Amsterdam offset of
// that moment and returns it in Amsterdam time.
func parseInstant(t testing.TB, what, s string) time.Time {
	t.Helper()
	if !instantRE.MatchString(s) {
		t.Errorf("%s: %q is not an instant with an offset", what, s)
		return time.Time{}
	}
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Errorf("%s: %q: %v", what, s, err)
		return time.Time{}
	}
	if v.In(amsterdam).Format("2006-01-02T15:04:05-07:00") != s {
		t.Errorf("%s: %q has the wrong offset for Europe/Amsterdam", what, s)
	}
	return v.In(amsterdam)
}

// ---- determinism ----

// outputs renders every format of a world, keyed by format.
func outputs(t *testing.T, cfg Config) map[string][32]byte {
	t.Helper()
	out := map[string][32]byte{}
	h := sha256.New()
	if err := Generate(cfg, SinkFunc(func(typ, id string, b []byte) error {
		fmt.Fprintf(h, "%s %s ", typ, id)
		h.Write(b)
		return nil
	})); err != nil {
		t.Fatal(err)
	}
	out["stream"] = [32]byte(h.Sum(nil))

	dir := t.TempDir()
	if _, err := WriteNDJSON(filepath.Join(dir, "nd"), cfg); err != nil {
		t.Fatal(err)
	}
	out["ndjson"] = hashDir(t, filepath.Join(dir, "nd"))
	if _, err := WriteBundles(filepath.Join(dir, "b"), cfg, 500); err != nil {
		t.Fatal(err)
	}
	out["bundles"] = hashDir(t, filepath.Join(dir, "b"))

	var buf bytes.Buffer
	if _, err := WriteHL7(&buf, cfg); err != nil {
		t.Fatal(err)
	}
	out["hl7"] = sha256.Sum256(buf.Bytes())
	buf.Reset()
	if _, err := WriteNZaCSV(&buf, cfg); err != nil {
		t.Fatal(err)
	}
	out["nza"] = sha256.Sum256(buf.Bytes())
	buf.Reset()
	provs, err := Providers(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := WriteHospitalCSV(&buf, cfg, provs[0].AGB); err != nil {
		t.Fatal(err)
	}
	out["hospital"] = sha256.Sum256(buf.Bytes())
	return out
}

func hashDir(t *testing.T, dir string) [32]byte {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	for _, e := range ents { // ReadDir sorts by name
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(h, "%s %d\n", e.Name(), len(b))
		h.Write(b)
	}
	return [32]byte(h.Sum(nil))
}

func TestDeterministic(t *testing.T) {
	a := outputs(t, testConfig(1, 2000))
	b := outputs(t, testConfig(1, 2000))
	c := outputs(t, testConfig(2, 2000))
	if len(a) != 6 {
		t.Fatalf("%d formats", len(a))
	}
	for f := range a {
		if a[f] != b[f] {
			t.Errorf("%s: same seed, different output", f)
		}
		if a[f] == c[f] {
			t.Errorf("%s: different seed, same output", f)
		}
	}
	// The time of day of AsOf does not matter, only its Amsterdam date.
	cfg := testConfig(1, 2000)
	cfg.AsOf = time.Date(2026, 3, 20, 23, 59, 0, 0, amsterdam)
	if d := outputs(t, cfg); d["stream"] != a["stream"] {
		t.Error("another time on the same Amsterdam day changed the world")
	}
}

func TestDeploymentKeyChangesOnlyIDs(t *testing.T) {
	a := smallWorld(t, 1)
	cfg := testConfig(1, 2000)
	cfg.DeploymentKey = []byte("another key")
	b := load(t, cfg)
	if len(a.list) != len(b.list) {
		t.Fatalf("%d vs %d resources", len(a.list), len(b.list))
	}
	for i := range a.list {
		if a.list[i].id == b.list[i].id {
			t.Fatalf("%s/%s: id did not change with the key", a.list[i].typ, a.list[i].id)
		}
		if identifierValue(a.list[i].m, ww.SystemBSN) != identifierValue(b.list[i].m, ww.SystemBSN) {
			t.Fatal("BSNs changed with the key")
		}
	}
}

// ---- FHIR validity ----

// strictDecode decodes into the samply struct rejecting unknown fields,
// which catches misspelled elements the samply Unmarshal functions drop.
func strictDecode[T any](b []byte) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	delete(m, "resourceType")
	nb, err := json.Marshal(m)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(nb))
	dec.DisallowUnknownFields()
	var v T
	return dec.Decode(&v)
}

var parsers = map[string][2]func([]byte) error{
	"Organization":      {func(b []byte) error { _, err := fhir.UnmarshalOrganization(b); return err }, strictDecode[fhir.Organization]},
	"Location":          {func(b []byte) error { _, err := fhir.UnmarshalLocation(b); return err }, strictDecode[fhir.Location]},
	"HealthcareService": {func(b []byte) error { _, err := fhir.UnmarshalHealthcareService(b); return err }, strictDecode[fhir.HealthcareService]},
	"Practitioner":      {func(b []byte) error { _, err := fhir.UnmarshalPractitioner(b); return err }, strictDecode[fhir.Practitioner]},
	"PractitionerRole":  {func(b []byte) error { _, err := fhir.UnmarshalPractitionerRole(b); return err }, strictDecode[fhir.PractitionerRole]},
	"Schedule":          {func(b []byte) error { _, err := fhir.UnmarshalSchedule(b); return err }, strictDecode[fhir.Schedule]},
	"Slot":              {func(b []byte) error { _, err := fhir.UnmarshalSlot(b); return err }, strictDecode[fhir.Slot]},
	"Patient":           {func(b []byte) error { _, err := fhir.UnmarshalPatient(b); return err }, strictDecode[fhir.Patient]},
	"Coverage":          {func(b []byte) error { _, err := fhir.UnmarshalCoverage(b); return err }, strictDecode[fhir.Coverage]},
	"InsurancePlan":     {func(b []byte) error { _, err := fhir.UnmarshalInsurancePlan(b); return err }, strictDecode[fhir.InsurancePlan]},
	"ServiceRequest":    {func(b []byte) error { _, err := fhir.UnmarshalServiceRequest(b); return err }, strictDecode[fhir.ServiceRequest]},
	"Appointment":       {func(b []byte) error { _, err := fhir.UnmarshalAppointment(b); return err }, strictDecode[fhir.Appointment]},
}

// findEmpty returns the path of the first empty string, array, object or
// null inside v.
func findEmpty(v any, path string) string {
	switch x := v.(type) {
	case nil:
		return path + " (null)"
	case string:
		if x == "" || strings.TrimSpace(x) != x {
			return path + " (empty or padded string)"
		}
	case []any:
		if len(x) == 0 {
			return path + " (empty array)"
		}
		for i, e := range x {
			if p := findEmpty(e, fmt.Sprintf("%s[%d]", path, i)); p != "" {
				return p
			}
		}
	case map[string]any:
		if len(x) == 0 {
			return path + " (empty object)"
		}
		for k, e := range x {
			if p := findEmpty(e, path+"."+k); p != "" {
				return p
			}
		}
	}
	return ""
}

func TestEveryResourceIsValidFHIR(t *testing.T) {
	s := smallWorld(t, 1)
	for i, typ := range ResourceTypes {
		if len(s.byType[typ]) == 0 {
			t.Errorf("no %s resources", typ)
		}
		if i > 0 && len(s.byType[typ]) > 0 && len(s.byType[ResourceTypes[i-1]]) > 0 &&
			s.byType[typ][0].pos < s.byType[ResourceTypes[i-1]][len(s.byType[ResourceTypes[i-1]])-1].pos {
			t.Errorf("%s resources come before the last %s", typ, ResourceTypes[i-1])
		}
	}
	for _, r := range s.list {
		p, ok := parsers[r.typ]
		if !ok {
			t.Fatalf("%s: no parser", r.typ)
		}
		if err := p[0](r.raw); err != nil {
			t.Errorf("%s/%s: samply Unmarshal: %v", r.typ, r.id, err)
		}
		if err := p[1](r.raw); err != nil {
			t.Errorf("%s/%s: unknown or mistyped element: %v", r.typ, r.id, err)
		}
		if getStr(r.m, "resourceType") != r.typ || getStr(r.m, "id") != r.id {
			t.Errorf("%s/%s: resourceType or id differs from the sink's", r.typ, r.id)
		}
		if !ww.ValidID(r.id) {
			t.Errorf("%s/%s: invalid id", r.typ, r.id)
		}
		var compact bytes.Buffer
		if err := json.Compact(&compact, r.raw); err != nil || !bytes.Equal(compact.Bytes(), r.raw) {
			t.Errorf("%s/%s: not minified JSON", r.typ, r.id)
		}
		if p := findEmpty(r.m, r.typ); p != "" {
			t.Errorf("%s/%s: %s", r.typ, r.id, p)
		}
		if t.Failed() {
			t.Fatalf("first failure in %s", r.raw)
		}
	}
}

// references returns every Reference.reference inside v.
func references(v any) []string {
	var out []string
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			out = append(out, references(e)...)
		}
	case map[string]any:
		for k, e := range x {
			if s, ok := e.(string); ok && k == "reference" {
				out = append(out, s)
			} else {
				out = append(out, references(e)...)
			}
		}
	}
	return out
}

func TestEveryReferenceResolvesEarlier(t *testing.T) {
	s := smallWorld(t, 1)
	n := 0
	for _, r := range s.list {
		for _, ref := range references(r.m) {
			n++
			target, ok := s.byRef[ref]
			if !ok {
				t.Fatalf("%s/%s: reference %q does not resolve", r.typ, r.id, ref)
			}
			if target.pos >= r.pos {
				t.Fatalf("%s/%s: references %s, which comes later", r.typ, r.id, ref)
			}
		}
	}
	if n < len(s.list) {
		t.Fatalf("only %d references: the walk is broken", n)
	}
}

// ---- identifiers ----

func TestIDsAreDerivedFromBusinessIdentifiers(t *testing.T) {
	s := smallWorld(t, 1)
	derive := func(typ, system, value string) string { return ww.DeriveID(testKey, typ, system, value) }
	agbOf := func(ref string) string {
		return identifierValue(s.byRef[ref].m, ww.SystemAGB)
	}
	for _, r := range s.list {
		var want string
		switch r.typ {
		case "Organization":
			if v := identifierValue(r.m, ww.SystemAGB); v != "" {
				want = derive(r.typ, ww.SystemAGB, v)
			} else {
				want = derive(r.typ, ww.SystemUZOVI, identifierValue(r.m, ww.SystemUZOVI))
			}
		case "Location", "Practitioner":
			want = derive(r.typ, ww.SystemAGB, identifierValue(r.m, ww.SystemAGB))
		case "HealthcareService":
			loc := agbOf(getStr(r.m, "location", 0, "reference"))
			spec := codeIn(get(r.m, "specialty", 0), nlid.SystemSpecialismOID)
			want = derive(r.typ, ww.SystemHealthcareService, ww.ServiceValue(loc, spec, ""))
			if identifierValue(r.m, ww.SystemHealthcareService) != ww.ServiceValue(loc, spec, "") {
				t.Fatalf("%s: identifier", r.id)
			}
		case "Patient":
			org := agbOf(getStr(r.m, "managingOrganization", "reference"))
			want = derive(r.typ, ww.HospitalSystem(org, "patient"), identifierValue(r.m, ww.HospitalSystem(org, "patient")))
		case "ServiceRequest":
			org := agbOf(getStr(r.m, "performer", 0, "reference"))
			want = derive(r.typ, ww.HospitalSystem(org, "order"), identifierValue(r.m, ww.HospitalSystem(org, "order")))
		case "Appointment":
			sr := s.byRef[getStr(r.m, "basedOn", 0, "reference")]
			org := agbOf(getStr(sr.m, "performer", 0, "reference"))
			want = derive(r.typ, ww.HospitalSystem(org, "appointment"), identifierValue(r.m, ww.HospitalSystem(org, "appointment")))
		case "Slot", "Schedule":
			sys := getStr(r.m, "identifier", 0, "system")
			if !strings.HasPrefix(sys, "https://wachtwijzer.nl/fhir/NamingSystem/agb/") {
				t.Fatalf("%s/%s: identifier system %q", r.typ, r.id, sys)
			}
			want = derive(r.typ, sys, getStr(r.m, "identifier", 0, "value"))
		case "Coverage":
			payor := s.byRef[getStr(r.m, "payor", 0, "reference")]
			sys := ww.SystemUZOVI + "/" + identifierValue(payor.m, ww.SystemUZOVI)
			want = derive(r.typ, sys, getStr(r.m, "subscriberId"))
		default:
			continue
		}
		if r.id != want {
			t.Fatalf("%s/%s: id is not derived from its business identifier (want %s)", r.typ, r.id, want)
		}
	}
}

func TestBSNsPassTheElfproefAndAreUniquePerPerson(t *testing.T) {
	w, err := New(testConfig(1, 2000))
	if err != nil {
		t.Fatal(err)
	}
	s := smallWorld(t, 1)
	type who struct{ given, birth string }
	people := map[string]who{}
	records := map[string]int{}
	for _, r := range s.byType["Patient"] {
		b := identifierValue(r.m, ww.SystemBSN)
		if !nlid.ValidBSN(b) {
			t.Fatalf("%s: BSN fails the elfproef", r.id)
		}
		p := who{getStr(r.m, "name", 0, "given", 0), getStr(r.m, "birthDate")}
		if q, ok := people[b]; ok && q != p {
			t.Fatalf("two different people share a BSN")
		}
		people[b] = p
		records[b]++
	}
	if len(people) != w.nPers {
		t.Errorf("%d distinct BSNs, want one per person (%d)", len(people), w.nPers)
	}
	twice := 0
	for _, n := range records {
		if n > 1 {
			twice++
		}
	}
	if twice == 0 || twice != w.nRec-w.nPers {
		t.Errorf("%d people have two Patient records, want %d", twice, w.nRec-w.nPers)
	}
	// The BSN mapping is injective over the whole space used at the largest scale.
	seen := make(map[string]bool, 200_000)
	for n := 0; n < 200_000; n++ {
		b := w.bsn(n)
		if !nlid.ValidBSN(b) || seen[b] {
			t.Fatalf("person %d: BSN invalid or repeated", n)
		}
		seen[b] = true
	}
}

// ---- the world's shape ----

func TestProvidersInsurersAndContracts(t *testing.T) {
	s := smallWorld(t, 1)
	kinds := map[string]int{}
	agbs := map[string]bool{}
	var insurers int
	for _, r := range s.byType["Organization"] {
		if u := identifierValue(r.m, ww.SystemUZOVI); u != "" {
			if nlid.CheckUZOVI(u) != nil {
				t.Errorf("%s: UZOVI %q", r.id, u)
			}
			insurers++
			continue
		}
		agb := identifierValue(r.m, ww.SystemAGB)
		kind := codeIn(get(r.m, "type", 0), nlid.SystemSpecialismOID)
		kinds[kind]++
		want := map[string]string{"0601": nlid.KindHospital, "0602": nlid.KindHospital, "0613": nlid.KindHospital, "0614": nlid.KindHospital, "2200": nlid.KindZBC}[kind]
		if nlid.AGBKind(agb) != want || agbs[agb] {
			t.Errorf("%s: AGB %q (type %s) wrong kind or repeated", r.id, agb, kind)
		}
		agbs[agb] = true
		if nlid.CheckURA(identifierValue(r.m, ww.SystemURA)) != nil || len(identifierValue(r.m, ww.SystemKvK)) != 8 {
			t.Errorf("%s: URA or KvK", r.id)
		}
	}
	if kinds["0602"] != 8 || kinds["0613"]+kinds["0614"] != 4 || kinds["0601"] != 68 || kinds["2200"] != 120 || insurers != 10 {
		t.Errorf("organisations %v, %d insurers", kinds, insurers)
	}
	provinces := map[string]bool{}
	for _, r := range s.byType["Location"] {
		provinces[getStr(r.m, "address", "state")] = true
		agb := identifierValue(r.m, ww.SystemAGB)
		if agbs[agb] {
			t.Errorf("%s: location AGB repeats another code", r.id)
		}
		agbs[agb] = true
		lat, _ := get(r.m, "position", "latitude").(json.Number).Float64()
		lon, _ := get(r.m, "position", "longitude").(json.Number).Float64()
		if lat < 50.7 || lat > 53.6 || lon < 3.3 || lon > 7.3 {
			t.Errorf("%s: %v,%v is not in the Netherlands", r.id, lat, lon)
		}
		if !regexp.MustCompile(`^[1-9]\d{3} [A-Z]{2}$`).MatchString(getStr(r.m, "address", "postalCode")) {
			t.Errorf("%s: postcode", r.id)
		}
	}
	if len(provinces) != 12 {
		t.Errorf("locations in %d provinces", len(provinces))
	}
	providers := 200
	for _, r := range s.byType["InsurancePlan"] {
		n := len(getList(r.m, "network"))
		if share := float64(n) / float64(providers); share < 0.55 || share > 0.95 {
			t.Errorf("%s contracts %.2f of the providers", getStr(r.m, "name"), share)
		}
	}
	// ZBCs publish shorter waits than hospitals on average.
	sum := map[bool][2]int{}
	for _, r := range s.byType["HealthcareService"] {
		org := s.byRef[getStr(r.m, "providedBy", "reference")]
		zbc := codeIn(get(org.m, "type", 0), nlid.SystemSpecialismOID) == "2200"
		for _, e := range getList(r.m, "extension") {
			if getStr(e, "url") == ww.ExtPublishedWait && getStr(e, "extension", 0, "valueCode") == "outpatient" {
				x := sum[zbc]
				x[0] += getInt(e, "extension", 1, "valueInteger")
				x[1]++
				sum[zbc] = x
			}
		}
	}
	if z, h := float64(sum[true][0])/float64(sum[true][1]), float64(sum[false][0])/float64(sum[false][1]); z >= h {
		t.Errorf("ZBC outpatient wait %.1f days, hospitals %.1f", z, h)
	}
}

func TestCountsAndProportions(t *testing.T) {
	cfg := testConfig(3, 10_000)
	w, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	got, err := WriteNDJSON(t.TempDir(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	want := w.Counts()
	for typ, n := range want {
		if got[typ] != n {
			t.Errorf("%s: %d written, Counts says %d", typ, got[typ], n)
		}
	}
	if got["Appointment"] != 10_000 || got["ServiceRequest"] != 8_000 || got["Patient"] != 6_000 {
		t.Errorf("scale: %v", got)
	}
	if c := got["Coverage"]; c < 5_500 || c > 5_800 {
		t.Errorf("%d Coverages for ~5,556 people", c)
	}
}

// ---- waits ----

// Treeknorm by wait kind.
var norm = map[string]int{"outpatient": 28, "diagnostics": 28, "treatment-day": 42, "treatment-inpatient": 49, "treatment": 42, "mhc-intake": 28, "mhc-treatment": 70}

var holdingStatus = map[string]bool{"booked": true, "arrived": true, "checked-in": true, "fulfilled": true}

// realisedWaits returns per wait kind the waits in days: order date to the
// earliest appointment that holds, else to today.
func realisedWaits(t testing.TB, s *world) map[string][]int {
	ends := map[string]time.Time{}
	for _, r := range s.byType["Appointment"] {
		if !holdingStatus[getStr(r.m, "status")] {
			continue
		}
		sr := getStr(r.m, "basedOn", 0, "reference")
		start := parseInstant(t, r.id, getStr(r.m, "start"))
		if e, ok := ends[sr]; !ok || start.Before(e) {
			ends[sr] = start
		}
	}
	out := map[string][]int{}
	for _, r := range s.byType["ServiceRequest"] {
		kind := codeIn(get(r.m, "category", 0), ww.SystemWaitKind)
		authored := parseDate(t, getStr(r.m, "authoredOn"))
		end, ok := ends["ServiceRequest/"+r.id]
		if !ok {
			end = s.today
		}
		if authored.After(s.today) {
			t.Fatalf("%s: authoredOn %s after today", r.id, getStr(r.m, "authoredOn"))
		}
		out[kind] = append(out[kind], days(authored, end))
	}
	return out
}

func TestWaitingTimeDistributionMatchesConfiguration(t *testing.T) {
	for _, tc := range []struct {
		name   string
		exceed map[string]float64
	}{
		{"defaults", nil},
		{"overridden", map[string]float64{"outpatient": 0.40, "treatment-day": 0.10}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(5, 25_000) // 20,000 waits
			cfg.ExceedShare = tc.exceed
			s := load(t, cfg)
			waits := realisedWaits(t, s)
			total, exceeded := 0, 0
			for kind, ws := range waits {
				n := 0
				for _, d := range ws {
					if d > norm[kind] {
						n++
					}
				}
				total += len(ws)
				exceeded += n
				share := float64(n) / float64(len(ws))
				want := DefaultExceedShare[kind]
				if v, ok := tc.exceed[kind]; ok {
					want = v
				}
				sort.Ints(ws)
				t.Logf("%-20s n=%5d median %3d days, exceeded %.3f (configured %.2f)", kind, len(ws), ws[len(ws)/2], share, want)
				// Every kind is checked; a small one with a tolerance of four
				// binomial standard deviations (at least 0.05).
				tol := math.Max(0.05, 4*math.Sqrt(want*(1-want)/float64(len(ws))))
				if share < want-tol || share > want+tol {
					t.Errorf("%s: %.3f of %d waits past the norm, configured %.2f (± %.3f)", kind, share, len(ws), want, tol)
				}
			}
			if total != 20_000 {
				t.Errorf("%d waits", total)
			}
			if share := float64(exceeded) / float64(total); share < 0.15 || share > 0.30 {
				t.Errorf("overall %.3f past the norm", share)
			}
		})
	}
}

func TestWaitsShowTheWaitModel(t *testing.T) {
	s := smallWorld(t, 1)
	status := map[string]int{}
	kinds := map[string]bool{}
	high := 0
	for _, r := range s.byType["ServiceRequest"] {
		status[getStr(r.m, "status")]++
		kinds[codeIn(get(r.m, "category", 0), ww.SystemWaitKind)] = true
		for _, c := range getList(r.m, "category") {
			if codeIn(c, ww.SystemComplexity) == "high" {
				high++
				org := s.byRef[getStr(r.m, "performer", 0, "reference")]
				if codeIn(get(org.m, "type", 0), nlid.SystemSpecialismOID) != "0602" {
					t.Errorf("%s: complexity high outside an academic centre", r.id)
				}
			}
		}
		if getStr(r.m, "intent") != "order" || codeIn(get(r.m, "performerType"), nlid.SystemSpecialismOID) == "" {
			t.Errorf("%s: intent or performerType", r.id)
		}
	}
	if status["active"] == 0 || status["on-hold"] == 0 || status["completed"] == 0 || high == 0 {
		t.Errorf("statuses %v, %d complexity high", status, high)
	}
	for _, k := range KindCodes {
		if !kinds[k] {
			t.Errorf("no wait of kind %s", k)
		}
	}
}

// ---- appointments and slots ----

func TestAppointments(t *testing.T) {
	s := smallWorld(t, 1)
	seen := map[string]int{}
	slots := 0
	for _, r := range s.byType["Appointment"] {
		st := getStr(r.m, "status")
		seen[st]++
		sr := s.byRef[getStr(r.m, "basedOn", 0, "reference")]
		created := parseInstant(t, r.id+" created", getStr(r.m, "created"))
		if created.Before(parseDate(t, getStr(sr.m, "authoredOn"))) || created.After(s.today.AddDate(0, 0, 1)) {
			t.Errorf("%s: created %v outside authoredOn..today", r.id, created)
		}
		parts := map[string]bool{}
		for _, p := range getList(r.m, "participant") {
			parts[strings.Split(getStr(p, "actor", "reference"), "/")[0]] = true
		}
		if !parts["Patient"] || !parts["Practitioner"] || !parts["Location"] {
			t.Errorf("%s: participants %v", r.id, parts)
		}
		if getStr(r.m, "participant", 0, "actor", "reference") != getStr(sr.m, "subject", "reference") {
			t.Errorf("%s: patient differs from its ServiceRequest's", r.id)
		}
		if st == "waitlist" {
			if get(r.m, "start") != nil || get(r.m, "requestedPeriod", 0, "start") == nil {
				t.Errorf("%s: waitlist with a start or without requestedPeriod", r.id)
			}
			continue
		}
		start := parseInstant(t, r.id+" start", getStr(r.m, "start"))
		end := parseInstant(t, r.id+" end", getStr(r.m, "end"))
		if !start.Before(end) || int(end.Sub(start)/time.Minute) != getInt(r.m, "minutesDuration") {
			t.Errorf("%s: start, end and minutesDuration disagree", r.id)
		}
		if created.After(start) {
			t.Errorf("%s: created after start", r.id)
		}
		if (st == "arrived" || st == "checked-in") && days(s.today, start) != 0 {
			t.Errorf("%s: %s but not today", r.id, st)
		}
		if (st == "fulfilled" || st == "noshow") && !start.Before(s.today) {
			t.Errorf("%s: %s in the future", r.id, st)
		}
		if st == "booked" && !start.After(s.today) {
			t.Errorf("%s: booked in the past", r.id)
		}
		for _, ref := range getList(r.m, "slot") {
			slots++
			slot := s.byRef[getStr(ref, "reference")]
			if getStr(slot.m, "status") != "busy" || getStr(slot.m, "start") != getStr(r.m, "start") || getStr(slot.m, "end") != getStr(r.m, "end") {
				t.Errorf("%s: slot %s not busy or at another time", r.id, slot.id)
			}
			if st != "booked" {
				t.Errorf("%s: %s on a slot", r.id, st)
			}
		}
	}
	for _, st := range StatusCodes {
		if seen[st] == 0 {
			t.Errorf("no Appointment with status %s", st)
		}
	}
	if slots == 0 {
		t.Error("no Appointment books a Slot")
	}
	// One slot, one appointment.
	used := map[string]bool{}
	for _, r := range s.byType["Appointment"] {
		for _, ref := range getList(r.m, "slot") {
			if used[getStr(ref, "reference")] {
				t.Fatalf("slot booked twice")
			}
			used[getStr(ref, "reference")] = true
		}
	}
	t.Logf("statuses %v; %d on slots", seen, slots)
}

func TestSlotsAcrossDST(t *testing.T) {
	for _, asOf := range []time.Time{
		time.Date(2026, 3, 20, 10, 0, 0, 0, amsterdam),  // spring switch on 29 March
		time.Date(2026, 10, 15, 10, 0, 0, 0, amsterdam), // autumn switch on 25 October
	} {
		t.Run(asOf.Format("2006-01-02"), func(t *testing.T) {
			cfg := testConfig(1, 2000)
			cfg.AsOf = asOf
			s := load(t, cfg)
			offsets := map[string]int{}
			free := map[bool][2]int{}
			for _, r := range s.byType["Slot"] {
				start := parseInstant(t, r.id, getStr(r.m, "start"))
				end := parseInstant(t, r.id, getStr(r.m, "end"))
				offsets[getStr(r.m, "start")[19:]]++
				if wd := start.Weekday(); wd == time.Saturday || wd == time.Sunday {
					t.Fatalf("%s: on a %v", r.id, wd)
				}
				open := time.Date(start.Year(), start.Month(), start.Day(), 8, 0, 0, 0, amsterdam)
				shut := time.Date(start.Year(), start.Month(), start.Day(), 17, 0, 0, 0, amsterdam)
				if start.Before(open) || end.After(shut) || !start.Before(end) {
					t.Fatalf("%s: %s–%s outside 08:00–17:00", r.id, start.Format("15:04"), end.Format("15:04"))
				}
				if m := int(end.Sub(start) / time.Minute); m != 15 && m != 20 && m != 30 {
					t.Fatalf("%s: %d minutes", r.id, m)
				}
				if d := days(s.today, start); d < 1 || d > 56 {
					t.Fatalf("%s: %d days after today", r.id, d)
				}
				sched := s.byRef[getStr(r.m, "schedule", "reference")]
				if codeIn(get(sched.m, "specialty", 0), nlid.SystemSpecialismOID) != codeIn(get(r.m, "specialty", 0), nlid.SystemSpecialismOID) || codeIn(get(r.m, "specialty", 0), nlid.SystemSpecialismOID) == "" {
					t.Fatalf("%s: specialty missing or not its Schedule's", r.id)
				}
				actor := s.byRef[getStr(sched.m, "actor", 0, "reference")]
				if actor.typ == "PractitionerRole" {
					actor = s.byRef[getStr(actor.m, "organization", "reference")]
				} else {
					actor = s.byRef[getStr(actor.m, "providedBy", "reference")]
				}
				zbc := codeIn(get(actor.m, "type", 0), nlid.SystemSpecialismOID) == "2200"
				f := free[zbc]
				if getStr(r.m, "status") == "free" {
					f[0]++
				}
				f[1]++
				free[zbc] = f
			}
			if offsets["+01:00"] == 0 || offsets["+02:00"] == 0 {
				t.Errorf("offsets %v: want both winter and summer time", offsets)
			}
			z, h := float64(free[true][0])/float64(free[true][1]), float64(free[false][0])/float64(free[false][1])
			if z <= h || free[false][0] == 0 {
				t.Errorf("free share ZBC %.2f, hospitals %.2f", z, h)
			}
			for _, r := range s.byType["Schedule"] {
				types := map[string]bool{}
				for _, a := range getList(r.m, "actor") {
					types[strings.Split(getStr(a, "reference"), "/")[0]] = true
				}
				if !types["Location"] || !(types["HealthcareService"] || types["PractitionerRole"]) {
					t.Fatalf("%s: actors %v", r.id, types)
				}
			}
		})
	}
}

func TestFreeSlotsScaleWithAppointments(t *testing.T) {
	for _, n := range []int{20_000, 100_000} {
		w, err := New(testConfig(1, n))
		if err != nil {
			t.Fatal(err)
		}
		free := 0
		for _, st := range w.slotStatus {
			if st == slotFree {
				free++
			}
		}
		if share := float64(free) / float64(n); share < 0.10 || share > 0.20 {
			t.Errorf("%d appointments: %d free slots (%.3f)", n, free, share)
		}
	}
}

// ---- HL7 ----

func TestHL7Structure(t *testing.T) {
	cfg := testConfig(1, 2000)
	var buf bytes.Buffer
	n, err := WriteHL7(&buf, cfg)
	if err != nil {
		t.Fatal(err)
	}
	w, _ := New(cfg)
	msgs := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(msgs) != n || n != w.nRec+w.nRef+w.nAppt {
		t.Fatalf("%d messages, reported %d, want %d", len(msgs), n, w.nRec+w.nRef+w.nAppt)
	}
	if !utf8.Valid(buf.Bytes()) {
		t.Error("not UTF-8 (MSH-18 says UNICODE UTF-8)")
	}
	ids := map[string]bool{}
	types := map[string]int{}
	for i, m := range msgs {
		if !strings.HasSuffix(m, "\r") || strings.Contains(m, "\n") {
			t.Fatalf("message %d: segments must end with CR", i)
		}
		segs := strings.Split(strings.TrimSuffix(m, "\r"), "\r")
		msh := strings.Split(segs[0], "|")
		if msh[0] != "MSH" || msh[1] != `^~\&` || len(msh) < 12 {
			t.Fatalf("message %d: MSH first with ^~\\& : %q", i, segs[0])
		}
		if nlid.CheckAGB(msh[3]) != nil || msh[11] != "2.5.1" {
			t.Fatalf("message %d: MSH-4 %q, MSH-12 %q", i, msh[3], msh[11])
		}
		if ids[msh[9]] || msh[9] == "" {
			t.Fatalf("message %d: MSH-10 %q repeated or empty", i, msh[9])
		}
		ids[msh[9]] = true
		types[msh[8]]++
		var pid bool
		for _, sg := range segs[1:] {
			f := strings.Split(sg, "|")
			if len(f[0]) != 3 || strings.ToUpper(f[0]) != f[0] {
				t.Fatalf("message %d: bad segment %q", i, sg)
			}
			if f[0] == "PID" {
				pid = true
				cx := strings.Split(strings.Split(f[3], "~")[0], "^")
				if len(cx) != 5 || cx[3] != "NLMINBIZA" || cx[4] != "NNNLD" || !nlid.ValidBSN(cx[0]) {
					t.Fatalf("message %d: PID-3 %q", i, f[3])
				}
			}
		}
		if !pid {
			t.Fatalf("message %d: no PID", i)
		}
	}
	for _, typ := range []string{"ADT^A04^ADT_A01", "REF^I12^REF_I12", "SIU^S12^SIU_S12", "SIU^S13^SIU_S12", "SIU^S15^SIU_S12", "SIU^S26^SIU_S12"} {
		if types[typ] == 0 {
			t.Errorf("no %s message (%v)", typ, types)
		}
	}
	if types["ADT^A04^ADT_A01"] != w.nRec || types["REF^I12^REF_I12"] != w.nRef {
		t.Errorf("message types %v", types)
	}

	// The sender configuration names every provider.
	sc, err := HL7SenderConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var conf struct {
		Default map[string]json.RawMessage
		Senders map[string]struct {
			AGB  string
			Name string
		}
	}
	if err := json.Unmarshal(sc, &conf); err != nil {
		t.Fatalf("sender configuration: %v", err)
	}
	provs := w.Providers()
	if len(conf.Senders) != len(provs) || conf.Default["zsegments"] == nil {
		t.Fatalf("%d senders for %d providers", len(conf.Senders), len(provs))
	}
	for _, p := range provs {
		found := false
		for key, s := range conf.Senders {
			if s.AGB == p.AGB && strings.HasSuffix(key, "|"+p.AGB) && s.Name == p.Name {
				found = true
			}
		}
		if !found {
			t.Fatalf("no sender for %s", p.AGB)
		}
	}
}

// ---- CSV ----

func readCSV(t *testing.T, data []byte, header []string) [][]string {
	t.Helper()
	var rows [][]string
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := strings.TrimSuffix(sc.Text(), "\r")
		rows = append(rows, strings.Split(line, ";")) // no field is quoted in practice
	}
	if len(rows) == 0 || strings.Join(rows[0], ";") != strings.Join(header, ";") {
		t.Fatalf("header %v", rows[0])
	}
	for i, r := range rows {
		if len(r) != len(header) {
			t.Fatalf("row %d: %d fields, want %d", i, len(r), len(header))
		}
	}
	return rows[1:]
}

func TestNZaCSV(t *testing.T) {
	cfg := testConfig(1, 2000)
	var buf bytes.Buffer
	n, err := WriteNZaCSV(&buf, cfg)
	if err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	if !bytes.HasPrefix(data, []byte("Date;WaitingTime;InsufficientObservations;KVKNumber;CareProvider;CareProvider_AGBCode;LocationKey;Location_AGBCode;Location;Street;StreetNumber;PostalCode;City;TreatmentKey;TreatmentNumber;Treatment;TreatmentType;Specialism;Description\r\n")) {
		t.Fatal("header row")
	}
	// ISO-8859-1: "Röntgenonderzoek" must be the single byte 0xF6, so the
	// file is not UTF-8.
	if !bytes.Contains(data, []byte("R\xf6ntgen")) || utf8.Valid(data) {
		t.Error("not ISO-8859-1 encoded")
	}
	// Decode as Latin-1 to check the content.
	runes := make([]rune, len(data))
	for i, c := range data {
		runes[i] = rune(c)
	}
	rows := readCSV(t, []byte(string(runes)), NZaHeader)
	s := smallWorld(t, 1)
	if n != len(rows) || n != 3*len(s.byType["HealthcareService"]) {
		t.Fatalf("%d rows (reported %d) for %d services", len(rows), n, len(s.byType["HealthcareService"]))
	}
	published := map[string]string{} // location AGB|spec|kind → days
	for _, r := range s.byType["HealthcareService"] {
		loc := identifierValue(s.byRef[getStr(r.m, "location", 0, "reference")].m, ww.SystemAGB)
		spec := codeIn(get(r.m, "specialty", 0), nlid.SystemSpecialismOID)
		for _, e := range getList(r.m, "extension") {
			published[loc+"|"+spec+"|"+getStr(e, "extension", 0, "valueCode")] = fmt.Sprint(getInt(e, "extension", 1, "valueInteger"))
		}
	}
	specRE := regexp.MustCompile(`^(.+) \((\d{3})\)$`)
	typeKind := map[string]string{"Polikliniekbezoek": "outpatient", "Diagnostiek": "diagnostics", "Behandeling": "treatment"}
	ja := 0
	for i, r := range rows {
		m := specRE.FindStringSubmatch(r[17])
		if m == nil {
			t.Fatalf("row %d: Specialism %q", i, r[17])
		}
		kind, ok := typeKind[r[16]]
		if !ok {
			t.Fatalf("row %d: TreatmentType %q", i, r[16])
		}
		switch r[2] {
		case "Ja":
			ja++
			if r[1] != "" {
				t.Fatalf("row %d: WaitingTime with insufficient observations", i)
			}
		case "Nee":
		default:
			t.Fatalf("row %d: InsufficientObservations %q", i, r[2])
		}
		if got := published[r[7]+"|0"+m[2]+"|"+kind]; got != r[1] && !(r[1] == "" && got == "") {
			t.Fatalf("row %d: WaitingTime %q, HealthcareService publishes %q", i, r[1], got)
		}
		if nlid.CheckAGB(r[5]) != nil || nlid.CheckAGB(r[7]) != nil || !regexp.MustCompile(`^[1-9]\d{3}[A-Z]{2}$`).MatchString(r[11]) {
			t.Fatalf("row %d: AGB or postcode", i)
		}
	}
	if ja == 0 {
		t.Error("no row with insufficient observations")
	}
}

func TestHospitalCSV(t *testing.T) {
	cfg := testConfig(1, 2000)
	provs, err := Providers(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := smallWorld(t, 1)
	for _, p := range []Provider{provs[0], provs[len(provs)-1]} {
		var buf bytes.Buffer
		n, err := WriteHospitalCSV(&buf, cfg, p.AGB)
		if err != nil {
			t.Fatal(err)
		}
		if !utf8.Valid(buf.Bytes()) {
			t.Error("not UTF-8")
		}
		rows := readCSV(t, buf.Bytes(), HospitalHeader)
		want := 0
		orders := map[string]bool{}
		for _, r := range s.byType["ServiceRequest"] {
			if getStr(r.m, "performer", 0, "reference") == "Organization/"+p.ID {
				want++
				orders[getStr(r.m, "identifier", 0, "value")] = true
			}
		}
		if n != len(rows) || n != want || n == 0 {
			t.Fatalf("%s: %d rows (reported %d), %d ServiceRequests", p.Name, len(rows), n, want)
		}
		for i, r := range rows {
			if !nlid.ValidBSN(r[1]) || !orders[r[10]] || kindIndex(r[7]) < 0 {
				t.Fatalf("row %d: %v", i, r)
			}
			if _, ok := nlid.SpecialismDisplay(r[6]); !ok {
				t.Fatalf("row %d: specialism %q", i, r[6])
			}
		}
	}
	if _, err := WriteHospitalCSV(io.Discard, cfg, "06000000"); err == nil {
		t.Error("unknown AGB accepted")
	}
}

func TestBundles(t *testing.T) {
	cfg := testConfig(1, 500)
	dir := t.TempDir()
	files, err := WriteBundles(dir, cfg, 1000)
	if err != nil {
		t.Fatal(err)
	}
	w, _ := New(cfg)
	total := 0
	for _, n := range w.Counts() {
		total += n
	}
	if files != (total+999)/1000 {
		t.Fatalf("%d files for %d resources", files, total)
	}
	entries := 0
	for i := 1; i <= files; i++ {
		b, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("bundle-%05d.json", i)))
		if err != nil {
			t.Fatal(err)
		}
		bundle, err := fhir.UnmarshalBundle(b)
		if err != nil {
			t.Fatal(err)
		}
		if bundle.Type != fhir.BundleTypeTransaction {
			t.Fatal("not a transaction")
		}
		for _, e := range bundle.Entry {
			var r struct{ ResourceType, ID string }
			json.Unmarshal(e.Resource, &r)
			if e.Request == nil || e.Request.Method != fhir.HTTPVerbPUT || e.Request.Url != r.ResourceType+"/"+r.ID {
				t.Fatalf("entry %s/%s: request", r.ResourceType, r.ID)
			}
			entries++
		}
	}
	if entries != total {
		t.Fatalf("%d entries, want %d", entries, total)
	}
}

func TestTinyWorlds(t *testing.T) {
	for _, n := range []int{1, 4, 6, 13} {
		s := load(t, testConfig(int64(n), n))
		if len(s.byType["Appointment"]) != n {
			t.Errorf("%d appointments, want %d", len(s.byType["Appointment"]), n)
		}
		for _, r := range s.list {
			for _, ref := range references(r.m) {
				if _, ok := s.byRef[ref]; !ok {
					t.Fatalf("n=%d: %s/%s: reference %q does not resolve", n, r.typ, r.id, ref)
				}
			}
			if r.typ == "Appointment" || r.typ == "ServiceRequest" || r.typ == "Patient" {
				if err := parsers[r.typ][1](r.raw); err != nil {
					t.Fatalf("n=%d: %s/%s: %v", n, r.typ, r.id, err)
				}
			}
		}
	}
}

func TestConfigErrors(t *testing.T) {
	for _, cfg := range []Config{
		{Appointments: 0},
		{Appointments: MaxAppointments + 1},
		{Appointments: 10, ExceedShare: map[string]float64{"nonsense": 0.2}},
		{Appointments: 10, ExceedShare: map[string]float64{"outpatient": 1}},
		{Appointments: 10, Hospitals: 5},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("%+v accepted", cfg)
		}
	}
}

// BenchmarkGenerate generates a 10,000-appointment world into a sink that
// drops it (JSON building and id derivation, no I/O).
func BenchmarkGenerate(b *testing.B) {
	cfg := testConfig(1, 10_000)
	var n int
	var bytesOut int64
	for b.Loop() {
		n, bytesOut = 0, 0
		if err := Generate(cfg, SinkFunc(func(typ, id string, json []byte) error {
			n++
			bytesOut += int64(len(json))
			return nil
		})); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n), "resources/op")
	b.SetBytes(bytesOut)
}

// TestWithControlID: MSH-10 of a generated message is replaced and nothing
// else changes.
func TestWithControlID(t *testing.T) {
	var stream bytes.Buffer
	if _, err := WriteHL7(&stream, Config{Seed: 1, Appointments: 5}); err != nil {
		t.Fatal(err)
	}
	msg := bytes.SplitN(stream.Bytes(), []byte("\n"), 2)[0]
	got := WithControlID(msg, "NEW-1")
	f, g := bytes.Split(msg, []byte("|")), bytes.Split(got, []byte("|"))
	if len(f) != len(g) || string(g[9]) != "NEW-1" || string(f[9]) == "NEW-1" {
		t.Fatalf("MSH-10 of %q is %q", got, g[9])
	}
	for i := range f {
		if i != 9 && !bytes.Equal(f[i], g[i]) {
			t.Fatalf("field %d changed: %q → %q", i, f[i], g[i])
		}
	}
	if short := []byte("MSH|^~\\&|A"); !bytes.Equal(WithControlID(short, "x"), short) {
		t.Fatal("a short MSH was changed")
	}
}
