package tests

import (
	"bufio"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// naive is a deliberately simple recomputation of the insurer operations
// from the resources themselves: every wait evaluated from scratch, every
// member joined by BSN through a full scan, no index. The end-to-end tests
// compare the operations' answers with it.
type naive struct {
	res   map[string]map[string]map[string]any // type → id → resource
	today int
	ams   *time.Location
}

var norms = map[string]int{"outpatient": 28, "diagnostics": 28, "treatment-day": 42, "treatment-inpatient": 49, "treatment": 42, "mhc-intake": 28, "mhc-treatment": 70, "": 28}

func newNaive(t *testing.T) *naive {
	ams, err := time.LoadLocation("Europe/Amsterdam")
	if err != nil {
		t.Fatal(err)
	}
	return &naive{res: map[string]map[string]map[string]any{}, ams: ams}
}

func (n *naive) add(m map[string]any) {
	typ, id := str(m["resourceType"]), str(m["id"])
	if n.res[typ] == nil {
		n.res[typ] = map[string]map[string]any{}
	}
	n.res[typ][id] = m
}

// loadNDJSON reads a gen world directory.
func (n *naive) loadNDJSON(t *testing.T, dir string) {
	files, _ := filepath.Glob(filepath.Join(dir, "*.ndjson"))
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		sc.Buffer(make([]byte, 1<<20), 1<<24)
		for sc.Scan() {
			var m map[string]any
			if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
				t.Fatal(err)
			}
			n.add(m)
		}
		fh.Close()
	}
}

// loadGateway reads every resource of the wait model through search.
func (n *naive) loadGateway(t *testing.T, g *Gateway) {
	for _, typ := range []string{"Patient", "Coverage", "ServiceRequest", "Appointment", "Slot", "Schedule", "HealthcareService", "Location", "Organization", "InsurancePlan", "PractitionerRole"} {
		next := "/fhir/" + typ + "?_count=1000"
		for next != "" {
			b := expect(t, g.Do(t, "GET", next, nil), 200).JSON(t)
			for _, e := range listOf(b["entry"]) {
				var m map[string]any
				raw, _ := json.Marshal(path(e, "resource"))
				json.Unmarshal(raw, &m)
				n.add(m)
			}
			next = ""
			for _, l := range listOf(b["link"]) {
				if str(path(l, "relation")) == "next" {
					next = str(path(l, "url"))
				}
			}
		}
	}
}

func listOf(v any) []any {
	a, _ := v.([]any)
	return a
}

// day is the Amsterdam calendar date of a FHIR date or dateTime as days
// since 1970-01-01.
func (n *naive) day(s string) (int, bool) {
	if len(s) == 10 {
		t, err := time.Parse("2006-01-02", s)
		if err != nil {
			return 0, false
		}
		return int(t.Unix() / 86400), true
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return 0, false
	}
	l := t.In(n.ams)
	return int(time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, time.UTC).Unix() / 86400), true
}

func dayString(d int) string { return time.Unix(int64(d)*86400, 0).UTC().Format("2006-01-02") }

func refID(v any, typ string) string {
	r := str(path(v, "reference"))
	if i := strings.LastIndex(r, typ+"/"); i >= 0 {
		return r[i+len(typ)+1:]
	}
	return ""
}

func coding(v any, system string) string {
	for _, c := range listOf(path(v, "coding")) {
		if str(path(c, "system")) == system {
			return str(path(c, "code"))
		}
	}
	return ""
}

func spec4(v any) string {
	for _, sys := range []string{"urn:oid:2.16.840.1.113883.2.4.6.7", "http://ei.vektis.nl/codelijsten/COD016-VEKT"} {
		if c := coding(v, sys); c != "" {
			if len(c) == 3 {
				c = "0" + c
			}
			return c
		}
	}
	return ""
}

// naiveWait is one wait, evaluated.
type naiveWait struct {
	id                 string
	wait, norm, excess int
	kind, spec         string
	onHold, booked     bool
	appt               string
	patient            string
	authored           int
}

func (w naiveWait) exceeded() bool { return w.excess > 0 && !w.onHold }

// waits evaluates every open wait on asOf.
func (n *naive) waits(asOf int) []naiveWait { return n.evaluate(asOf, false) }

// regionalWaits are the waits $regional-capacity counts on asOf: the open
// ones, and (for an asOf in the past) also booked ones authored after it,
// whose appointment is known now (documented in the README).
func (n *naive) regionalWaits(asOf int) []naiveWait { return n.evaluate(asOf, true) }

func (n *naive) evaluate(asOf int, bookedLater bool) []naiveWait {
	holds := map[string][2]any{} // sr → (day, appt id)
	for id, a := range n.res["Appointment"] {
		switch str(a["status"]) {
		case "booked", "arrived", "checked-in", "fulfilled":
		default:
			continue
		}
		d, ok := n.day(str(a["start"]))
		if !ok {
			continue
		}
		for _, b := range listOf(a["basedOn"]) {
			sr := refID(b, "ServiceRequest")
			if h, ok := holds[sr]; !ok || d < h[0].(int) || d == h[0].(int) && id < h[1].(string) {
				holds[sr] = [2]any{d, id}
			}
		}
	}
	var out []naiveWait
	for id, sr := range n.res["ServiceRequest"] {
		st := str(sr["status"])
		if st != "active" && st != "on-hold" {
			continue
		}
		a, ok := n.day(str(sr["authoredOn"]))
		if _, booked := holds[id]; !ok || a > asOf && !(bookedLater && booked) {
			continue
		}
		w := naiveWait{id: id, authored: a, onHold: st == "on-hold", patient: refID(sr["subject"], "Patient")}
		for _, c := range listOf(sr["category"]) {
			if k := coding(c, "https://wachtwijzer.nl/fhir/CodeSystem/wait-kind"); k != "" && w.kind == "" {
				w.kind = k
			}
		}
		w.spec = spec4(sr["performerType"])
		end := asOf
		if h, ok := holds[id]; ok {
			end, w.booked, w.appt = h[0].(int), true, h[1].(string)
		}
		w.wait = end - a
		w.norm = norms[w.kind]
		w.excess = w.wait - w.norm
		out = append(out, w)
	}
	sortWaits(out)
	return out
}

func sortWaits(ws []naiveWait) {
	sort.Slice(ws, func(i, j int) bool {
		a, b := ws[i], ws[j]
		if a.excess != b.excess {
			return a.excess > b.excess
		}
		if a.wait != b.wait {
			return a.wait > b.wait
		}
		return a.id < b.id
	})
}

func (n *naive) bsn(patient string) string {
	p := n.res["Patient"][patient]
	for _, id := range listOf(p["identifier"]) {
		if str(path(id, "system")) == "http://fhir.nl/fhir/NamingSystem/bsn" {
			return str(path(id, "value"))
		}
	}
	return ""
}

// members returns the Patient ids whose person (by BSN) an insurer
// (UZOVI) insures on asOf.
func (n *naive) members(uzovi string, asOf int) map[string]bool {
	bsns := map[string]bool{}
	for _, c := range n.res["Coverage"] {
		if str(c["status"]) != "active" {
			continue
		}
		payor := ""
		for _, p := range listOf(c["payor"]) {
			if str(path(p, "identifier", "system")) == "http://fhir.nl/fhir/NamingSystem/uzovi" {
				payor = str(path(p, "identifier", "value"))
			}
			if org := n.res["Organization"][refID(p, "Organization")]; org != nil && payor == "" {
				for _, id := range listOf(org["identifier"]) {
					if str(path(id, "system")) == "http://fhir.nl/fhir/NamingSystem/uzovi" {
						payor = str(path(id, "value"))
					}
				}
			}
		}
		if payor != uzovi {
			continue
		}
		if s, ok := n.day(str(path(c, "period", "start"))); ok && s > asOf {
			continue
		}
		if e, ok := n.day(str(path(c, "period", "end"))); ok && e < asOf {
			continue
		}
		if b := n.bsn(refID(c["beneficiary"], "Patient")); b != "" {
			bsns[b] = true
		}
	}
	out := map[string]bool{}
	for id := range n.res["Patient"] {
		if b := n.bsn(id); b != "" && bsns[b] {
			out[id] = true
		}
	}
	return out
}

// home returns a Patient's home geolocation and PC4.
func (n *naive) home(patient string) (lat, lon float64, pc4 string, ok bool) {
	p := n.res["Patient"][patient]
	for _, a := range listOf(p["address"]) {
		if str(path(a, "use")) != "home" {
			continue
		}
		pc := strings.ReplaceAll(str(path(a, "postalCode")), " ", "")
		if len(pc) >= 4 {
			pc4 = pc[:4]
		}
		for _, e := range listOf(path(a, "extension")) {
			for _, s := range listOf(path(e, "extension")) {
				v, _ := strconv.ParseFloat(numStr(path(s, "valueDecimal")), 64)
				switch str(path(s, "url")) {
				case "latitude":
					lat = v
					ok = true
				case "longitude":
					lon = v
				}
			}
		}
	}
	return
}

func numStr(v any) string {
	switch x := v.(type) {
	case json.Number:
		return x.String()
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	return ""
}

func km(lat1, lon1, lat2, lon2 float64) float64 {
	rad := math.Pi / 180
	dl, dn := (lat2-lat1)*rad, (lon2-lon1)*rad
	a := math.Sin(dl/2)*math.Sin(dl/2) + math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dn/2)*math.Sin(dn/2)
	return 2 * 6371.0088 * math.Asin(math.Sqrt(a))
}

// province maps a PC4 to its default region (the same ranges as the
// README's table, written out again here on purpose).
func province(pc4 string) string {
	n, err := strconv.Atoi(pc4)
	if err != nil {
		return ""
	}
	in := func(lo, hi int) bool { return n >= lo && n <= hi }
	switch {
	case in(9500, 9999):
		return "NL-GR"
	case in(8400, 9299):
		return "NL-FR"
	case in(7740, 7999), in(9300, 9499):
		return "NL-DR"
	case in(7400, 7739), in(8000, 8199), in(8250, 8299):
		return "NL-OV"
	case in(1300, 1379), in(8200, 8249), in(8300, 8399):
		return "NL-FL"
	case in(3770, 3799), in(3840, 3899), in(4000, 4199), in(6500, 7399):
		return "NL-GE"
	case in(3400, 3769), in(3800, 3839), in(3900, 3999):
		return "NL-UT"
	case in(1000, 1299), in(1380, 2159):
		return "NL-NH"
	case in(2160, 3399), in(4200, 4299):
		return "NL-ZH"
	case in(4300, 4599):
		return "NL-ZE"
	case in(4600, 5799):
		return "NL-NB"
	case in(5800, 6499):
		return "NL-LI"
	}
	return ""
}

// percentile is the nearest-rank p-quantile.
func percentile(xs []int, p float64) int {
	s := append([]int(nil), xs...)
	sort.Ints(s)
	k := int(math.Ceil(p*float64(len(s)))) - 1
	if k < 0 {
		k = 0
	}
	return s[k]
}

// opIDs pages through an operation's searchset and returns the match ids
// in order with each page's waiting-time extensions.
func opIDs(t *testing.T, g *Gateway, first string) ([]string, []map[string]any) {
	t.Helper()
	var ids []string
	var res []map[string]any
	next := first
	for pages := 0; next != "" && pages < 10000; pages++ {
		b := expect(t, g.Do(t, "GET", next, nil), 200).JSON(t)
		next = ""
		for _, l := range listOf(b["link"]) {
			if str(path(l, "relation")) == "next" {
				next = str(path(l, "url"))
			}
		}
		for _, e := range listOf(b["entry"]) {
			if str(path(e, "search", "mode")) == "match" {
				ids = append(ids, str(path(e, "resource", "id")))
				m, _ := path(e, "resource").(map[string]any)
				res = append(res, m)
			}
		}
	}
	return ids, res
}

// waitingTime reads the waiting-time extension of a returned ServiceRequest.
func waitingTime(r map[string]any) map[string]string {
	out := map[string]string{}
	for _, e := range listOf(r["extension"]) {
		if str(path(e, "url")) != "https://wachtwijzer.nl/fhir/StructureDefinition/waiting-time" {
			continue
		}
		for _, s := range listOf(path(e, "extension")) {
			m, _ := s.(map[string]any)
			for k, v := range m {
				if strings.HasPrefix(k, "value") {
					switch x := v.(type) {
					case json.Number:
						out[str(m["url"])] = x.String()
					case string:
						out[str(m["url"])] = x
					case bool:
						out[str(m["url"])] = strconv.FormatBool(x)
					case map[string]any:
						out[str(m["url"])] = str(x["reference"])
					}
				}
			}
		}
	}
	return out
}
