package tests

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wachtwijzer/wachtwijzer/internal/redistest"
)

const genAsOf = "2026-03-31"

// genWorld generates a small synthetic world with the store's deployment
// key, imports it through the binary and starts a gateway on it.
func genWorld(t *testing.T, appointments int) (*Gateway, *naive, string) {
	t.Helper()
	redistest.Require(t)
	url := redistest.Shared(t).URL()
	prefix := redistest.Prefix(t)
	dir := t.TempDir()
	if code, out := run(t, nil, "gen", "--out", dir, "--appointments", strconv.Itoa(appointments), "--as-of", genAsOf,
		"--formats", "ndjson,nza-csv", "--redis-url", url, "--key-prefix", prefix); code != 0 {
		t.Fatalf("gen: exit %d: %s", code, out)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.ndjson"))
	args := append([]string{"import", "--redis-url", url, "--key-prefix", prefix, "--log-format", "json"}, files...)
	if code, out := run(t, nil, args...); code != 0 {
		t.Fatalf("import: exit %d: %s", code, tail(out))
	}
	g := StartGateway(t, GatewayOptions{RedisURL: url, Args: []string{"--key-prefix", prefix}})
	n := newNaive(t)
	n.loadNDJSON(t, dir)
	return g, n, dir
}

func tail(s string) string {
	if len(s) > 3000 {
		return s[len(s)-3000:]
	}
	return s
}

func TestInsurerOperationsOnGeneratedWorld(t *testing.T) {
	g, n, dir := genWorld(t, 3000)
	defer g.Stop()
	asOf, _ := n.day(genAsOf)
	all := n.waits(asOf)
	// The largest insurer and the most frequent specialism.
	count := map[string]int{}
	for _, c := range n.res["Coverage"] {
		count[str(path(c, "payor", 0, "identifier", "value"))]++
	}
	insurer := ""
	for u, c := range count {
		if insurer == "" || c > count[insurer] || c == count[insurer] && u < insurer {
			insurer = u
		}
	}
	specs := map[string]int{}
	for _, w := range all {
		specs[w.spec]++
	}
	spec := ""
	for s, c := range specs {
		if spec == "" || c > specs[spec] || c == specs[spec] && s < spec {
			spec = s
		}
	}
	members := n.members(insurer, asOf)
	filter := func(keep func(w naiveWait) bool) []string {
		var ids []string
		for _, w := range all {
			if keep(w) {
				ids = append(ids, w.id)
			}
		}
		return ids
	}
	byID := map[string]naiveWait{}
	for _, w := range all {
		byID[w.id] = w
	}
	check := func(name, query string, want []string) {
		t.Run(name, func(t *testing.T) {
			got, res := opIDs(t, g, "/fhir/ServiceRequest/$long-waits?asOf="+genAsOf+"&_count=17&"+query)
			if strings.Join(got, ",") != strings.Join(want, ",") {
				t.Fatalf("%d waits, naive recomputation %d\n got %v\nwant %v", len(got), len(want), head(got), head(want))
			}
			if len(want) == 0 {
				t.Fatalf("the naive recomputation finds nothing for %s: the check would prove nothing", query)
			}
			for i, r := range res {
				w := byID[got[i]]
				ext := waitingTime(r)
				if ext["waitDays"] != strconv.Itoa(w.wait) || ext["normDays"] != strconv.Itoa(w.norm) || ext["excessDays"] != strconv.Itoa(w.excess) {
					t.Fatalf("%s: extension %v, naive wait %d norm %d excess %d", w.id, ext, w.wait, w.norm, w.excess)
				}
				if w.booked != (ext["appointment"] != "") || w.booked && ext["appointment"] != "Appointment/"+w.appt {
					t.Fatalf("%s: appointment %q, naive %v %s", w.id, ext["appointment"], w.booked, w.appt)
				}
			}
			t.Logf("%d waits match the naive recomputation", len(want))
			c := expect(t, g.Do(t, "GET", "/fhir/ServiceRequest/$long-waits?asOf="+genAsOf+"&_summary=count&"+query, nil), 200).JSON(t)
			if numStr(c["total"]) != strconv.Itoa(len(want)) {
				t.Fatalf("_summary=count %v, want %d", c["total"], len(want))
			}
		})
	}
	check("exceeded, one insurer, one specialism", "insurer="+insurer+"&specialty="+spec, filter(func(w naiveWait) bool {
		return w.exceeded() && members[w.patient] && w.spec == spec
	}))
	check("exceeded, every member, treatment of all three kinds", "kind=treatment", filter(func(w naiveWait) bool {
		return w.exceeded() && strings.HasPrefix(w.kind, "treatment")
	}))
	check("at risk within 14 days, one insurer", "insurer=http://fhir.nl/fhir/NamingSystem/uzovi|"+insurer+"&state=at-risk", filter(func(w naiveWait) bool {
		return members[w.patient] && !w.booked && !w.onHold && w.excess <= 0 && w.wait+14 > w.norm
	}))
	check("all open waits of one specialism (3-digit code)", "state=all&specialty="+strings.TrimPrefix(spec, "0"), filter(func(w naiveWait) bool {
		return w.spec == spec
	}))
	since := asOf - 10
	check("norm crossed in the last 10 days", "crossed-since="+dayString(since)+"&insurer="+insurer, filter(func(w naiveWait) bool {
		c := w.authored + w.norm + 1
		return w.exceeded() && members[w.patient] && c >= since && c <= asOf
	}))
	// near: 30 km around the first exceeded member's home.
	var lat, lon float64
	for _, w := range all {
		if w.exceeded() {
			if la, lo, _, ok := n.home(w.patient); ok {
				lat, lon = la, lo
				break
			}
		}
	}
	check("exceeded, members living within 30 km", fmt.Sprintf("near=%g|%g|30|km", lat, lon), filter(func(w naiveWait) bool {
		la, lo, _, ok := n.home(w.patient)
		return w.exceeded() && ok && km(lat, lon, la, lo) <= 30
	}))
	// organization: the performer of the longest wait, by its AGB code.
	org := refID(path(n.res["ServiceRequest"][all[0].id], "performer", 0), "Organization")
	agb := ""
	for _, id := range listOf(n.res["Organization"][org]["identifier"]) {
		if str(path(id, "system")) == "http://fhir.nl/fhir/NamingSystem/agb-z" {
			agb = str(path(id, "value"))
		}
	}
	check("exceeded at one organisation by 7-digit AGB", "organization="+strings.TrimPrefix(agb, "0"), filter(func(w naiveWait) bool {
		return w.exceeded() && refID(path(n.res["ServiceRequest"][w.id], "performer", 0), "Organization") == org
	}))

	t.Run("regional capacity against a naive count", func(t *testing.T) {
		regionalAgainstNaive(t, g, n, asOf, insurer, members)
	})
	t.Run("regional capacity four months back: coverages starting later do not count, ended ones do", func(t *testing.T) {
		back := asOf - 120
		regionalAgainstNaive(t, g, n, back, insurer, n.members(insurer, back))
	})
	t.Run("availability against a naive scan of the free slots", func(t *testing.T) {
		availabilityAgainstNaive(t, g, n, asOf, spec, lat, lon)
	})
	t.Run("mediation options are valid and complete", func(t *testing.T) {
		optionsAgainstNaive(t, g, n, asOf, all)
	})
	t.Run("the NZa CSV of the same world meets its services", func(t *testing.T) {
		csv, err := os.ReadFile(filepath.Join(dir, "nza-wachttijden.csv"))
		if err != nil {
			t.Fatal(err)
		}
		r := g.Do(t, "POST", "/fhir/HealthcareService/$import-waiting-times", csv, "Content-Type: text/csv")
		b := expect(t, r, 200).JSON(t)
		d := str(path(b, "issue", 0, "diagnostics"))
		if !strings.Contains(d, "0 rejected") || !strings.Contains(d, "created 0 Organizations, 0 Locations") {
			t.Fatalf("report: %s", d)
		}
		if !strings.Contains(d, fmt.Sprintf("%d HealthcareServices written", len(n.res["HealthcareService"]))) && !strings.Contains(d, fmt.Sprintf("%d unchanged", len(n.res["HealthcareService"]))) {
			t.Fatalf("the publication does not meet the %d services of the world: %s", len(n.res["HealthcareService"]), d)
		}
	})
}

func head(xs []string) []string {
	if len(xs) > 12 {
		return append(xs[:12:12], "…")
	}
	return xs
}

// regionalAgainstNaive recomputes demand per region (the member's home) ×
// specialism and free slots per region × specialism × provider kind.
func regionalAgainstNaive(t *testing.T, g *Gateway, n *naive, asOf int, insurer string, members map[string]bool) {
	type cell struct {
		waiting, exceeded int
		waits             []int
	}
	want := map[string]*cell{}
	for _, w := range n.regionalWaits(asOf) {
		if w.onHold || !members[w.patient] {
			continue
		}
		_, _, pc4, _ := n.home(w.patient)
		k := province(pc4) + "|" + w.spec
		c := want[k]
		if c == nil {
			c = &cell{}
			want[k] = c
		}
		c.waiting++
		if w.exceeded() {
			c.exceeded++
		}
		c.waits = append(c.waits, w.wait)
	}
	free := map[string]int64{}
	end := asOf + 56
	for _, s := range n.res["Slot"] {
		if str(s["status"]) != "free" {
			continue
		}
		d, _ := n.day(str(s["start"]))
		if d < asOf || d >= end {
			continue
		}
		region, kind := n.slotPlace(s)
		free[region+"|"+spec4(listOf(s["specialty"])[0])+"|"+kind]++
	}
	b := expect(t, g.Do(t, "GET", "/fhir/MeasureReport/$regional-capacity?asOf="+dayString(asOf)+"&insurer="+insurer, nil), 200).JSON(t)
	seen, published := 0, 0
	for _, e := range listOf(b["entry"]) {
		mr := path(e, "resource")
		if str(path(mr, "measure")) != "https://wachtwijzer.nl/fhir/Measure/regional-capacity" || str(path(mr, "status")) != "complete" || str(path(mr, "type")) != "summary" {
			t.Fatalf("not a regional-capacity summary: %v", mr)
		}
		region := str(path(mr, "subject", "identifier", "value"))
		for _, grp := range listOf(path(mr, "group")) {
			sp := str(path(grp, "code", "coding", 0, "code"))
			pops := map[string]string{}
			masked := map[string]bool{}
			for _, p := range listOf(path(grp, "population")) {
				code := str(path(p, "code", "coding", 0, "code"))
				pops[code] = numStr(path(p, "count"))
				masked[code] = path(p, "_count") != nil
			}
			c := want[region+"|"+sp]
			if c == nil {
				c = &cell{}
			}
			seen++
			if c.waiting > 0 && c.waiting < 5 {
				if !masked["waiting"] || pops["waiting"] != "" {
					t.Errorf("%s %s: %d waits must be suppressed, got %v", region, sp, c.waiting, pops)
				}
			} else {
				if pops["waiting"] != strconv.Itoa(c.waiting) || pops["exceeded"] != strconv.Itoa(c.exceeded) {
					t.Errorf("%s %s: waiting %s exceeded %s, naive %d %d", region, sp, pops["waiting"], pops["exceeded"], c.waiting, c.exceeded)
				}
				if c.waiting >= 5 {
					published++
					exts := map[string]string{}
					for _, x := range listOf(path(grp, "extension")) {
						exts[str(path(x, "url"))] = numStr(path(x, "valueInteger"))
					}
					if m := exts["https://wachtwijzer.nl/fhir/StructureDefinition/median-waiting-days"]; m != strconv.Itoa(percentile(c.waits, 0.5)) {
						t.Errorf("%s %s: median %s, naive %d", region, sp, m, percentile(c.waits, 0.5))
					}
					if p := exts["https://wachtwijzer.nl/fhir/StructureDefinition/p90-waiting-days"]; p != strconv.Itoa(percentile(c.waits, 0.9)) {
						t.Errorf("%s %s: p90 %s, naive %d", region, sp, p, percentile(c.waits, 0.9))
					}
				}
			}
			for _, kind := range []string{"umc", "hospital", "zbc"} {
				if got, w := pops["free-slots-"+kind], free[region+"|"+sp+"|"+kind]; got != strconv.FormatInt(w, 10) {
					t.Errorf("%s %s: free slots at %s %s, naive %d", region, sp, kind, got, w)
				}
			}
		}
	}
	t.Logf("%d cells, %d published and compared", seen, published)
	if seen == 0 || published == 0 {
		t.Fatalf("%d cells, %d published: the comparison proves nothing", seen, published)
	}
	// The CSV says the same.
	r := expect(t, g.Do(t, "GET", "/fhir/MeasureReport/$regional-capacity?_format=csv&asOf="+dayString(asOf)+"&insurer="+insurer, nil), 200)
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "text/csv") {
		t.Fatalf("content type %s", r.Header.Get("Content-Type"))
	}
	lines := strings.Split(strings.TrimSpace(string(r.Body)), "\r\n")
	if !strings.HasPrefix(lines[0], "region;region_name;specialty;as_of;weeks;waiting;exceeded") || len(lines)-1 != seen {
		t.Fatalf("CSV: %d rows for %d groups; header %s", len(lines)-1, seen, lines[0])
	}
	for _, l := range lines[1:] {
		f := strings.Split(l, ";")
		c := want[f[0]+"|"+f[2]]
		if c != nil && c.waiting >= 5 && f[5] != strconv.Itoa(c.waiting) {
			t.Fatalf("CSV row %s: waiting %s, naive %d", l, f[5], c.waiting)
		}
	}
}

// slotPlace resolves a Slot's region and provider kind naively: its
// Schedule's Location actor (else the service's location), and the
// organisation's COD016 type.
func (n *naive) slotPlace(s map[string]any) (region, kind string) {
	sch := n.res["Schedule"][refID(s["schedule"], "Schedule")]
	loc, org := "", ""
	for _, a := range listOf(sch["actor"]) {
		if id := refID(a, "Location"); id != "" && loc == "" {
			loc = id
		}
		if id := refID(a, "HealthcareService"); id != "" {
			hs := n.res["HealthcareService"][id]
			org = refID(hs["providedBy"], "Organization")
			if loc == "" {
				loc = refID(listOf(hs["location"])[0], "Location")
			}
		}
	}
	l := n.res["Location"][loc]
	if org == "" {
		org = refID(l["managingOrganization"], "Organization")
	}
	pc := strings.ReplaceAll(str(path(l, "address", "postalCode")), " ", "")
	region = province(pc[:4])
	for _, ty := range listOf(n.res["Organization"][org]["type"]) {
		switch coding(ty, "urn:oid:2.16.840.1.113883.2.4.6.7") {
		case "0602":
			kind = "umc"
		case "0601", "0613", "0614":
			kind = "hospital"
		case "2200", "2270":
			kind = "zbc"
		}
	}
	return region, kind
}

func (n *naive) slotPoint(s map[string]any) (float64, float64, string) {
	sch := n.res["Schedule"][refID(s["schedule"], "Schedule")]
	for _, a := range listOf(sch["actor"]) {
		if id := refID(a, "Location"); id != "" {
			l := n.res["Location"][id]
			la, _ := strconv.ParseFloat(numStr(path(l, "position", "latitude")), 64)
			lo, _ := strconv.ParseFloat(numStr(path(l, "position", "longitude")), 64)
			return la, lo, id
		}
	}
	return 0, 0, ""
}

func availabilityAgainstNaive(t *testing.T, g *Gateway, n *naive, asOf int, spec string, lat, lon float64) {
	type hit struct {
		id    string
		start time.Time
		dist  float64
	}
	var want []hit
	from := time.Unix(int64(asOf)*86400, 0).UTC()
	from = time.Date(from.Year(), from.Month(), from.Day(), 0, 0, 0, 0, n.ams)
	for id, s := range n.res["Slot"] {
		if str(s["status"]) != "free" || spec4(listOf(s["specialty"])[0]) != spec {
			continue
		}
		st, _ := time.Parse(time.RFC3339, str(s["start"]))
		if st.Before(from) {
			continue
		}
		la, lo, _ := n.slotPoint(s)
		if d := km(lat, lon, la, lo); d <= 50 {
			want = append(want, hit{id, st, d})
		}
	}
	if len(want) < 5 {
		t.Fatalf("only %d free slots near the point: the comparison proves little", len(want))
	}
	sort.Slice(want, func(i, j int) bool {
		if !want[i].start.Equal(want[j].start) {
			return want[i].start.Before(want[j].start)
		}
		return want[i].id < want[j].id
	})
	q := fmt.Sprintf("/fhir/Slot/$availability?asOf=%s&specialty=%s&near=%s&_count=7", dayString(asOf), spec, url.QueryEscape(fmt.Sprintf("%g|%g|50|km", lat, lon)))
	got, _ := opIDs(t, g, q)
	var wantIDs []string
	for _, h := range want {
		wantIDs = append(wantIDs, h.id)
	}
	if strings.Join(got, ",") != strings.Join(wantIDs, ",") {
		t.Fatalf("$availability by start: %d slots, naive %d\n got %v\nwant %v", len(got), len(wantIDs), head(got), head(wantIDs))
	}
	sort.SliceStable(want, func(i, j int) bool {
		di, dj := int64(want[i].dist*1000+0.5), int64(want[j].dist*1000+0.5)
		if di != dj {
			return di < dj
		}
		if !want[i].start.Equal(want[j].start) {
			return want[i].start.Before(want[j].start)
		}
		return want[i].id < want[j].id
	})
	wantIDs = wantIDs[:0]
	for _, h := range want {
		wantIDs = append(wantIDs, h.id)
	}
	got, _ = opIDs(t, g, q+"&_sort=distance")
	if strings.Join(got, ",") != strings.Join(wantIDs, ",") {
		t.Fatalf("$availability by distance differs from the naive order\n got %v\nwant %v", head(got), head(wantIDs))
	}
}

func optionsAgainstNaive(t *testing.T, g *Gateway, n *naive, asOf int, all []naiveWait) {
	checked := 0
	for _, w := range all {
		if !w.exceeded() || checked >= 6 {
			continue
		}
		la, lo, _, ok := n.home(w.patient)
		if !ok {
			continue
		}
		r := g.Do(t, "GET", "/fhir/ServiceRequest/"+w.id+"/$mediation-options?asOf="+dayString(asOf)+"&_count=100", nil)
		b := expect(t, r, 200).JSON(t)
		sr := n.res["ServiceRequest"][w.id]
		current := refID(path(sr, "performer", 0), "Organization")
		expected := ""
		for _, e := range listOf(b["entry"]) {
			if str(path(e, "search", "mode")) == "outcome" {
				expected = strings.Fields(str(path(e, "resource", "issue", 0, "diagnostics")))[2]
			}
		}
		exp, ok := n.day(expected)
		if !ok {
			t.Fatalf("%s: no expected date in the outcome: %s", w.id, r.Body)
		}
		if w.booked {
			if d, _ := n.day(str(n.res["Appointment"][w.appt]["start"])); d != exp {
				t.Fatalf("%s: expected date %s, the booked appointment is on %s", w.id, expected, dayString(d))
			}
		} else if exp < asOf {
			t.Fatalf("%s: expected date %s lies before asOf", w.id, expected)
		}
		prev := 0
		lastScore := 1e9
		offered := map[string]bool{}
		for _, e := range listOf(b["entry"]) {
			if str(path(e, "search", "mode")) != "match" {
				continue
			}
			s := path(e, "resource").(map[string]any)
			rank, _ := strconv.Atoi(numStr(path(e, "search", "score")))
			if rank != prev+1 {
				t.Fatalf("%s: rank %d after %d", w.id, rank, prev)
			}
			prev = rank
			var score float64
			for _, x := range listOf(s["extension"]) {
				if str(path(x, "url")) == "https://wachtwijzer.nl/fhir/StructureDefinition/mediation-option" {
					for _, sub := range listOf(path(x, "extension")) {
						if str(path(sub, "url")) == "score" {
							score, _ = strconv.ParseFloat(numStr(path(sub, "valueDecimal")), 64)
						}
					}
				}
			}
			if score > lastScore {
				t.Fatalf("%s: score %.2f after %.2f: not ranked", w.id, score, lastScore)
			}
			lastScore = score
			stored := n.res["Slot"][str(s["id"])]
			if str(stored["status"]) != "free" || spec4(listOf(stored["specialty"])[0]) != w.spec {
				t.Fatalf("%s: offered slot %s is not a free %s slot", w.id, s["id"], w.spec)
			}
			d, _ := n.day(str(stored["start"]))
			if d >= exp || d < asOf {
				t.Fatalf("%s: slot on %s does not beat the expected %s", w.id, dayString(d), expected)
			}
			sla, slo, _ := n.slotPoint(stored)
			if km(la, lo, sla, slo) > 50.05 {
				t.Fatalf("%s: slot %.1f km away", w.id, km(la, lo, sla, slo))
			}
			region, kind := n.slotPlace(stored)
			_ = region
			sch := n.res["Schedule"][refID(stored["schedule"], "Schedule")]
			for _, a := range listOf(sch["actor"]) {
				if hs := n.res["HealthcareService"][refID(a, "HealthcareService")]; hs != nil && refID(hs["providedBy"], "Organization") == current {
					t.Fatalf("%s: offered at the current provider", w.id)
				}
			}
			high := false
			for _, c := range listOf(sr["category"]) {
				if coding(c, "https://wachtwijzer.nl/fhir/CodeSystem/complexity") == "high" {
					high = true
				}
			}
			if high && kind == "zbc" {
				t.Fatalf("%s: a ZBC offered for complexity high", w.id)
			}
			offered[n.slotService(stored)] = true
		}
		// Complete: every service with a free slot that qualifies is offered.
		visit := map[string]string{"diagnostics": "diagnostics", "mhc-intake": "mhc-intake", "mhc-treatment": "mhc-intake"}[w.kind]
		if visit == "" {
			visit = "outpatient"
		}
		high := false
		for _, c := range listOf(sr["category"]) {
			if coding(c, "https://wachtwijzer.nl/fhir/CodeSystem/complexity") == "high" {
				high = true
			}
		}
		want := map[string]bool{}
		for _, s := range n.res["Slot"] {
			if str(s["status"]) != "free" || spec4(listOf(s["specialty"])[0]) != w.spec {
				continue
			}
			d, _ := n.day(str(s["start"]))
			if d < asOf || d >= exp {
				continue
			}
			sch := n.res["Schedule"][refID(s["schedule"], "Schedule")]
			if k := coding(listOf(sch["serviceType"])[0], "https://wachtwijzer.nl/fhir/CodeSystem/wait-kind"); k != "" && k != visit {
				continue
			}
			sla, slo, _ := n.slotPoint(s)
			if km(la, lo, sla, slo) > 50 {
				continue
			}
			svc := n.slotService(s)
			hs := n.res["HealthcareService"][svc]
			if refID(hs["providedBy"], "Organization") == current {
				continue
			}
			if _, kind := n.slotPlace(s); high && kind == "zbc" {
				continue
			}
			want[svc] = true
		}
		if fmt.Sprint(sortedKeys(offered)) != fmt.Sprint(sortedKeys(want)) {
			t.Fatalf("%s: options at %v, naively qualifying services %v", w.id, sortedKeys(offered), sortedKeys(want))
		}
		t.Logf("%s (%s, %d days, expected %s): %d options", w.id, w.kind, w.wait, expected, len(offered))
		checked++
	}
	if checked == 0 {
		t.Fatal("no exceeded wait with a home to check options for")
	}
}

func sortedKeys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// slotService is the HealthcareService a Slot's Schedule serves: its
// HealthcareService actor, else its PractitionerRole's service.
func (n *naive) slotService(s map[string]any) string {
	sch := n.res["Schedule"][refID(s["schedule"], "Schedule")]
	for _, a := range listOf(sch["actor"]) {
		if id := refID(a, "HealthcareService"); id != "" {
			return id
		}
	}
	for _, a := range listOf(sch["actor"]) {
		if pr := n.res["PractitionerRole"][refID(a, "PractitionerRole")]; pr != nil {
			return refID(listOf(pr["healthcareService"])[0], "HealthcareService")
		}
	}
	return ""
}
