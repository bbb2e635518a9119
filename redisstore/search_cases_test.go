package redisstore

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/conformance"
	"github.com/wachtwijzer/wachtwijzer/internal/redistest"
)

// smallLimits make a handful of resources take the large-result paths: the
// sort-index walk, the budget and continuation by cursor, the missing-value
// walk.
var smallLimits = Limits{CollectMax: 3, ScriptBudget: 120, GoSortWindow: 500, MaxRounds: 5000}

// backendsWith runs fn against standalone and Cluster stores opened with
// the options' limits and registry (other fields as openStore).
func backendsWith(t *testing.T, o Options, fn func(t *testing.T, s *Store)) {
	open := func(t *testing.T, c redis.UniversalClient) *Store {
		o := o
		o.Client, o.Prefix = c, redistest.Prefix(t)
		o.Clock = &ww.FixedClock{T: time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)}
		s, err := Open(context.Background(), o)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	t.Run("standalone", func(t *testing.T) { fn(t, open(t, redistest.Shared(t).Client(t))) })
	t.Run("cluster", func(t *testing.T) { fn(t, open(t, redistest.SharedCluster(t).Client(t))) })
}

// pageAll pages through a query with page size n and returns every id in
// order, failing on a duplicate.
func pageAll(t *testing.T, s *Store, q *ww.Query, n int) ([]string, int) {
	t.Helper()
	return pageAllWith(t, s, q, n, 10000, nil)
}

// pageAllWith is pageAll failing after maxPages pages and calling onPage
// (when not nil) with each page's result.
func pageAllWith(t *testing.T, s *Store, q *ww.Query, n, maxPages int, onPage func(page int, res *ww.SearchResult)) ([]string, int) {
	t.Helper()
	q.Count = n
	q.After = nil
	var out []string
	seen := map[string]bool{}
	pages := 0
	for {
		res, err := s.Search(context.Background(), q)
		if err != nil {
			t.Fatalf("%+v sort %v: %v", q.Clauses, q.Sort, err)
		}
		if onPage != nil {
			onPage(pages, res)
		}
		pages++
		for _, r := range res.Resources {
			if seen[r.ID] {
				t.Fatalf("%s on two pages (query %+v sort %v)", r.ID, q.Clauses, q.Sort)
			}
			seen[r.ID] = true
			out = append(out, r.ID)
		}
		if res.Next == nil {
			return out, pages
		}
		if len(res.Resources) == 0 {
			t.Fatalf("an empty page with a next link (query %+v)", q.Clauses)
		}
		q.After = res.Next
		if pages > maxPages {
			t.Fatalf("paging does not end (query %+v sort %v)", q.Clauses, q.Sort)
		}
	}
}

func loadJSON(t *testing.T, s *Store, typ, id, body string) {
	t.Helper()
	write(t, s, ww.Write{Op: ww.OpUpdate, Type: typ, ID: id, JSON: []byte(body)})
	if c, ok := s.clock.(*ww.FixedClock); ok {
		c.Advance(time.Millisecond)
	}
}

// Sorted searches over more candidates than CollectMax walk the sort index;
// resources without a value (waitlist appointments have no start) and wide
// values (a requestedPeriod) must come out of that path exactly as out of
// the small one: complete, missing values last.
func TestSortedSearchAtScaleIsComplete(t *testing.T) {
	var small, big *Store
	build := func(t *testing.T, s *Store) {
		for i := 0; i < 40; i++ {
			id := fmt.Sprintf("ap%02d", i)
			switch i % 4 {
			case 0: // waitlist: no start, a wide requested period
				loadJSON(t, s, "Appointment", id, fmt.Sprintf(`{"resourceType":"Appointment","id":%q,"status":"waitlist","requestedPeriod":[{"start":"2026-%02d-01","end":"2026-12-31"}],"participant":[{"status":"needs-action","actor":{"reference":"Patient/p1"}}]}`, id, 1+i%12))
			case 1: // waitlist with an open-ended requested period
				loadJSON(t, s, "Appointment", id, fmt.Sprintf(`{"resourceType":"Appointment","id":%q,"status":"waitlist","requestedPeriod":[{"start":"2026-%02d-15"}],"participant":[{"status":"needs-action","actor":{"reference":"Patient/p1"}}]}`, id, 1+i%12))
			default:
				loadJSON(t, s, "Appointment", id, fmt.Sprintf(`{"resourceType":"Appointment","id":%q,"status":"booked","start":"2026-12-%02dT09:00:00+01:00","end":"2026-12-%02dT09:20:00+01:00","participant":[{"status":"accepted","actor":{"reference":"Patient/p1"}}]}`, id, 1+i%5, 1+i%5))
			}
		}
	}
	queries := []*ww.Query{
		{Type: "Appointment", Clauses: []ww.Clause{{Param: "status", Values: []string{"waitlist"}}}, Sort: []ww.SortKey{{Param: "date"}}},
		{Type: "Appointment", Sort: []ww.SortKey{{Param: "date"}}},
		{Type: "Appointment", Sort: []ww.SortKey{{Param: "date", Descending: true}}},
		{Type: "Appointment", Sort: []ww.SortKey{{Param: "requested-period"}}},
		{Type: "Appointment", Sort: []ww.SortKey{{Param: "requested-period", Descending: true}, {Param: "_id", Descending: true}}},
		{Type: "Appointment", Sort: []ww.SortKey{{Param: "date"}, {Param: "status"}}},
		{Type: "Appointment", Clauses: []ww.Clause{{Param: "requested-period", Values: []string{"ge2026-06-01"}}, {Param: "requested-period", Values: []string{"le2026-06-30"}}}, Sort: []ww.SortKey{{Param: "requested-period"}}},
		{Type: "Appointment", Clauses: []ww.Clause{{Param: "patient", Values: []string{"p1"}}}},
	}
	t.Run("both paths agree", func(t *testing.T) {
		backendsWith(t, Options{}, func(t *testing.T, s *Store) {
			build(t, s)
			small = s
			big = nil
			o := Options{Client: s.rdb, Prefix: s.keys.prefix, Clock: s.clock, Limits: smallLimits}
			var err error
			if big, err = Open(context.Background(), o); err != nil {
				t.Fatal(err)
			}
			for _, q := range queries {
				want, _ := pageAll(t, small, q, 1000)
				if len(q.Clauses) == 0 && len(want) != 40 {
					t.Fatalf("%v: %d of 40", q.Sort, len(want))
				}
				for _, n := range []int{1, 3, 7, 40} {
					got, pages := pageAll(t, big, q, n)
					if strings.Join(got, ",") != strings.Join(want, ",") {
						t.Fatalf("sort %v %+v, page size %d (%d pages):\n got %v\nwant %v", q.Sort, q.Clauses, n, pages, got, want)
					}
				}
			}
			// waitlist appointments sorted by date: all 20, none dropped
			q := queries[0]
			got, _ := pageAll(t, big, q, 6)
			if len(got) != 20 {
				t.Fatalf("status=waitlist&_sort=date on the large path: %d of 20", len(got))
			}
			// totals from the large path are exact
			q = &ww.Query{Type: "Appointment", Clauses: []ww.Clause{{Param: "status", Values: []string{"booked"}}}, Count: 2, Total: ww.TotalAccurate, Sort: []ww.SortKey{{Param: "date"}}}
			res, err := big.Search(context.Background(), q)
			if err != nil || res.Total != 20 || len(res.Resources) != 2 {
				t.Fatalf("accurate total on the large path: %v %+v", err, res)
			}
		})
	})
}

// A query matching many resources pages instead of failing: the scripts
// stop at their budget and continue by cursor.
func TestManyMatchesPageWithinTheBudget(t *testing.T) {
	backendsWith(t, Options{Limits: Limits{ScriptBudget: 60, CollectMax: 2, MaxRounds: 20000}}, func(t *testing.T, s *Store) {
		for i := 0; i < 60; i++ {
			loadJSON(t, s, "Patient", fmt.Sprintf("pt%02d", i), fmt.Sprintf(`{"resourceType":"Patient","id":"pt%02d","gender":"female","name":[{"family":"Fam%02d"}],"identifier":[{"system":"http://fhir.nl/fhir/NamingSystem/bsn","value":"9999%05d"}]}`, i, i%7, i))
		}
		for _, q := range []*ww.Query{
			{Type: "Patient", Clauses: []ww.Clause{{Param: "gender", Values: []string{"female"}}}},
			{Type: "Patient", Clauses: []ww.Clause{{Param: "family", Values: []string{"fam"}}}, Sort: []ww.SortKey{{Param: "_lastUpdated", Descending: true}}},
			{Type: "Patient", Clauses: []ww.Clause{{Param: "identifier", Values: []string{"http://fhir.nl/fhir/NamingSystem/bsn|"}}}},
			{Type: "Patient", Clauses: []ww.Clause{{Param: "family", Modifier: "contains", Values: []string{"m00", "m01"}}}},
		} {
			got, pages := pageAll(t, s, q, 9)
			want := 60
			if q.Clauses[0].Modifier == "contains" {
				want = 0
				for i := 0; i < 60; i++ {
					if i%7 <= 1 {
						want++
					}
				}
			}
			if len(got) != want {
				t.Fatalf("%+v: %d of %d in %d pages", q.Clauses, len(got), want, pages)
			}
		}
		res, err := s.Search(context.Background(), &ww.Query{Type: "Patient", Clauses: []ww.Clause{{Param: "gender", Values: []string{"female"}}}, Count: 5, Total: ww.TotalAccurate, Explain: true})
		if err != nil || res.Total != 60 {
			t.Fatalf("total %v %v", res, err)
		}
		plan := strings.Join(res.Plan, "; ")
		for _, want := range []string{"driving index: gender (set index)", "budget 60 elements per call", "Go sort window", "includes 1000 per page"} {
			if !strings.Contains(plan, want) {
				t.Fatalf("__explain lacks %q: %s", want, plan)
			}
		}
	})
}

// Number and quantity parameters: prefixes, OR, units, several values per
// resource (members id and id|k).
func TestNumberAndQuantitySearch(t *testing.T) {
	raw, err := os.ReadFile("../conformance/searchparams.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	doc["params"] = append(doc["params"].([]any), map[string]any{"resource": "Appointment", "code": "reminder-days", "type": "number",
		"expression": "Appointment.extension.where(url='https://example.org/reminder-days').value", "url": "https://example.org/SearchParameter/reminder-days"})
	raw, _ = json.Marshal(doc)
	reg, err := conformance.LoadRegistry(raw)
	if err != nil {
		t.Fatal(err)
	}
	backendsWith(t, Options{Registry: reg}, func(t *testing.T, s *Store) {
		appt := func(id string, minutes int, reminders ...int) {
			var ext []string
			for _, r := range reminders {
				ext = append(ext, fmt.Sprintf(`{"url":"https://example.org/reminder-days","valueInteger":%d}`, r))
			}
			loadJSON(t, s, "Appointment", id, fmt.Sprintf(`{"resourceType":"Appointment","id":%q,"status":"booked","minutesDuration":%d,"extension":[%s],"participant":[{"status":"accepted","actor":{"reference":"Patient/p"}}]}`, id, minutes, strings.Join(ext, ",")))
		}
		appt("m10", 10, 1)
		appt("m15", 15, 7, 2)
		appt("m30", 30, 14, 3, 1)
		appt("m45", 45)
		sr := func(id, value, unit string) {
			loadJSON(t, s, "ServiceRequest", id, fmt.Sprintf(`{"resourceType":"ServiceRequest","id":%q,"status":"active","intent":"order","subject":{"reference":"Patient/p"},"quantityQuantity":{"value":%s,"system":"http://unitsofmeasure.org","code":%q}}`, id, value, unit))
		}
		sr("sr-5", "5", "{session}")
		sr("sr-12", "12", "{session}")
		sr("sr-2.5", "2.5", "h")
		loadJSON(t, s, "ServiceRequest", "sr-ratio", `{"resourceType":"ServiceRequest","id":"sr-ratio","status":"active","intent":"order","subject":{"reference":"Patient/p"},"quantityRatio":{"numerator":{"value":1},"denominator":{"value":2}}}`)
		cases := []struct {
			typ, param, value string
			want              string
		}{
			{"Appointment", "minutes-duration", "15", "m15"},
			{"Appointment", "minutes-duration", "gt15", "m30,m45"},
			{"Appointment", "minutes-duration", "le15", "m10,m15"},
			{"Appointment", "minutes-duration", "ne30", "m10,m15,m45"},
			{"Appointment", "minutes-duration", "10,45", "m10,m45"},
			{"Appointment", "minutes-duration", "lt12,ge40", "m10,m45"},
			{"Appointment", "minutes-duration", "ap29", "m30"},
			{"Appointment", "reminder-days", "2", "m15"},
			{"Appointment", "reminder-days", "3", "m30"},
			{"Appointment", "reminder-days", "1", "m10,m30"},
			{"Appointment", "reminder-days", "ge10", "m30"},
			{"Appointment", "reminder-days", "2,14", "m15,m30"},
			{"ServiceRequest", "quantity", "5", "sr-5"},
			{"ServiceRequest", "quantity", "gt4", "sr-12,sr-5"},
			{"ServiceRequest", "quantity", "gt4|http://unitsofmeasure.org|{session}", "sr-12,sr-5"},
			{"ServiceRequest", "quantity", "lt10|http://unitsofmeasure.org|h", "sr-2.5"},
			{"ServiceRequest", "quantity", "2.5,12", "sr-12,sr-2.5"},
		}
		for _, c := range cases {
			res, err := s.Search(context.Background(), &ww.Query{Type: c.typ, Clauses: []ww.Clause{{Param: c.param, Values: strings.Split(c.value, ",")}}, Count: 100, Sort: []ww.SortKey{{Param: "_id"}}})
			if err != nil {
				t.Fatalf("%s=%s: %v", c.param, c.value, err)
			}
			var ids []string
			for _, r := range res.Resources {
				ids = append(ids, r.ID)
			}
			if strings.Join(ids, ",") != c.want {
				t.Errorf("%s?%s=%s: got %v, want %s", c.typ, c.param, c.value, ids, c.want)
			}
		}
		// sorted by a number, several values: lowest ascending, highest descending
		for _, c := range []struct {
			desc bool
			want string
		}{{false, "m10,m30,m15,m45"}, {true, "m30,m15,m10,m45"}} {
			got, _ := pageAll(t, s, &ww.Query{Type: "Appointment", Sort: []ww.SortKey{{Param: "reminder-days", Descending: c.desc}}}, 1)
			if strings.Join(got, ",") != c.want {
				t.Errorf("_sort=%v reminder-days: %v, want %s", c.desc, got, c.want)
			}
		}
	})
}

// ownerPolicy is a restrictive test Policy: a principal sees only the
// resources its organisation wrote, through a Filter clause the script
// evaluates (and a Visible that agrees).
type ownerPolicy struct{ ww.AllowAll }

func (ownerPolicy) Filter(_ context.Context, p *ww.Principal, _ string) ([]ww.Clause, error) {
	if p.Role == ww.RoleSystem {
		return nil, nil
	}
	return []ww.Clause{{Param: "_owner", Values: []string{p.Organization}}}, nil
}

func (ownerPolicy) Visible(_ context.Context, p *ww.Principal, r *ww.Resource) (bool, error) {
	return p.Role == ww.RoleSystem || r.Provenance.Owner == p.Organization, nil
}

// Pitfall "next missing when authz filters after paging": the Policy's
// filter runs inside the index query, so every page is full, next links
// lead on until the last, and totals count only what the principal sees.
func TestPolicyFiltersBeforePagingAndCounting(t *testing.T) {
	backendsWith(t, Options{Policy: ownerPolicy{}, Limits: Limits{CollectMax: 4}}, func(t *testing.T, s *Store) {
		for i := 0; i < 45; i++ {
			owner := "org-a"
			if i%3 != 0 {
				owner = "org-b"
			}
			id := fmt.Sprintf("pp%02d", i)
			b := fmt.Sprintf(`{"resourceType":"Patient","id":%q,"gender":"male","name":[{"family":"Owner%02d"}]}`, id, i)
			if _, err := s.Commit(context.Background(), &ww.Commit{Writes: []ww.Write{{Op: ww.OpUpdate, Type: "Patient", ID: id, JSON: []byte(b), Provenance: ww.Provenance{Owner: owner}}}}); err != nil {
				t.Fatal(err)
			}
		}
		ctx := ww.WithPrincipal(context.Background(), &ww.Principal{Role: ww.RoleHospital, Organization: "org-a"})
		for _, sorts := range [][]ww.SortKey{nil, {{Param: "family"}}, {{Param: "_lastUpdated", Descending: true}}} {
			q := &ww.Query{Type: "Patient", Clauses: []ww.Clause{{Param: "gender", Values: []string{"male"}}}, Count: 4, Total: ww.TotalAccurate, Sort: sorts}
			seen := 0
			for page := 0; ; page++ {
				res, err := s.Search(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				if res.Total != 15 {
					t.Fatalf("total %d, want the 15 of org-a", res.Total)
				}
				for _, r := range res.Resources {
					if r.Provenance.Owner != "org-a" {
						t.Fatalf("%s of %s leaked", r.ID, r.Provenance.Owner)
					}
				}
				seen += len(res.Resources)
				if res.Next == nil {
					break
				}
				if len(res.Resources) != 4 {
					t.Fatalf("page %d has %d entries and a next link", page, len(res.Resources))
				}
				q.After = res.Next
			}
			if seen != 15 {
				t.Fatalf("sort %v: paged through %d of 15", sorts, seen)
			}
		}
	})
}

// Pitfall "_revinclude silently truncated": the real cap, reported.
func TestIncludeCapIsReported(t *testing.T) {
	backendsWith(t, Options{Limits: Limits{IncludeCap: 5, MaxIterate: 1}}, func(t *testing.T, s *Store) {
		loadJSON(t, s, "Location", "loc", `{"resourceType":"Location","id":"loc","name":"Poli","managingOrganization":{"reference":"Organization/o1"}}`)
		loadJSON(t, s, "Organization", "o1", `{"resourceType":"Organization","id":"o1","name":"O1","partOf":{"reference":"Organization/o2"}}`)
		loadJSON(t, s, "Organization", "o2", `{"resourceType":"Organization","id":"o2","name":"O2","partOf":{"reference":"Organization/o3"}}`)
		loadJSON(t, s, "Organization", "o3", `{"resourceType":"Organization","id":"o3","name":"O3"}`)
		for i := 0; i < 12; i++ {
			loadJSON(t, s, "HealthcareService", fmt.Sprintf("hs%02d", i), fmt.Sprintf(`{"resourceType":"HealthcareService","id":"hs%02d","location":[{"reference":"Location/loc"}]}`, i))
		}
		res, err := s.Search(context.Background(), &ww.Query{Type: "Location", Count: 10, Includes: []ww.Include{{Source: "HealthcareService", Param: "location", Reverse: true}}})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Included) != 5 || len(res.Issues) != 1 || !strings.Contains(res.Issues[0].Diagnostics, "more than 5") {
			t.Fatalf("included %d, issues %+v", len(res.Included), res.Issues)
		}
		// :iterate stops after MaxIterate rounds, and says so
		res, err = s.Search(context.Background(), &ww.Query{Type: "Location", Count: 10, Includes: []ww.Include{
			{Source: "Location", Param: "organization"}, {Source: "Organization", Param: "partof", Iterate: true}}})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range res.Included {
			got = append(got, r.ID)
		}
		if strings.Join(got, ",") != "o1,o2" || len(res.Issues) != 1 || !strings.Contains(res.Issues[0].Diagnostics, ":iterate stopped after 1 rounds") {
			t.Fatalf("iterate: %v, issues %+v", got, res.Issues)
		}
	})
}

// TestTokenImpliedSystem: a code element's values are stored without a
// system; a search naming the element's one code system finds them as bare
// codes, another system finds nothing (set and lex layouts, both backends).
func TestTokenImpliedSystem(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		for i, st := range []string{"booked", "booked", "cancelled", "proposed"} {
			id := fmt.Sprintf("ap%d", i)
			write(t, s, ww.Write{Op: ww.OpUpdate, Type: "Appointment", ID: id, JSON: []byte(fmt.Sprintf(`{"resourceType":"Appointment","id":%q,"status":%q,"participant":[{"status":"accepted"}]}`, id, st))})
		}
		for i, g := range []string{"female", "male"} {
			id := fmt.Sprintf("pg%d", i)
			write(t, s, ww.Write{Op: ww.OpUpdate, Type: "Patient", ID: id, JSON: []byte(fmt.Sprintf(`{"resourceType":"Patient","id":%q,"gender":%q}`, id, g))})
		}
		const as = "http://hl7.org/fhir/appointmentstatus"
		for _, c := range []struct {
			typ, param, mod string
			values          []string
			want            int
		}{
			{"Appointment", "status", "", []string{as + "|booked"}, 2},
			{"Appointment", "status", "", []string{"|booked"}, 2},
			{"Appointment", "status", "", []string{"booked"}, 2},
			{"Appointment", "status", "", []string{as + "|booked,http://example.org/other|cancelled"}, 2},
			{"Appointment", "status", "", []string{as + "|booked", as + "|cancelled"}, 0}, // AND: one status cannot be both
			{"Appointment", "status", "", []string{"http://example.org/other|booked"}, 0},
			{"Appointment", "status", "", []string{as + "|"}, 4},
			{"Appointment", "status", "not", []string{as + "|booked"}, 2},
			{"Patient", "gender", "", []string{"http://hl7.org/fhir/administrative-gender|female"}, 1},
			{"Patient", "gender", "", []string{"http://hl7.org/fhir/administrative-gender|"}, 2},
		} {
			var vals []string
			for _, v := range c.values {
				vals = append(vals, strings.Split(v, ",")...)
			}
			cls := []ww.Clause{{Param: c.param, Modifier: c.mod, Values: vals}}
			if len(c.values) == 2 { // two clauses
				cls = []ww.Clause{{Param: c.param, Values: []string{c.values[0]}}, {Param: c.param, Values: []string{c.values[1]}}}
			}
			res, err := s.Search(ctx, &ww.Query{Type: c.typ, Count: 100, Clauses: cls})
			if err != nil {
				t.Fatalf("%s?%s:%s=%v: %v", c.typ, c.param, c.mod, c.values, err)
			}
			if len(res.Resources) != c.want {
				t.Errorf("%s?%s:%s=%v: %d matches, want %d", c.typ, c.param, c.mod, c.values, len(res.Resources), c.want)
			}
		}
		// the compound index (Slot status × service-type by start) reads the
		// rewritten value too
		for i, st := range []string{"free", "free", "busy"} {
			id := fmt.Sprintf("sl%d", i)
			write(t, s, ww.Write{Op: ww.OpUpdate, Type: "Slot", ID: id, JSON: []byte(fmt.Sprintf(`{"resourceType":"Slot","id":%q,"status":%q,"schedule":{"reference":"Schedule/sc"},"serviceType":[{"coding":[{"system":"http://example.org/services","code":"0301"}]}],"start":"2026-12-0%dT09:00:00+01:00","end":"2026-12-0%dT09:15:00+01:00"}`, id, st, i+1, i+1))})
		}
		q := &ww.Query{Type: "Slot", Count: 100, Explain: true, Sort: []ww.SortKey{{Param: "start"}}, Clauses: []ww.Clause{
			{Param: "status", Values: []string{"http://hl7.org/fhir/slotstatus|free"}},
			{Param: "service-type", Values: []string{"http://example.org/services|0301"}}}}
		res, err := s.Search(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if plan := strings.Join(res.Plan, "\n"); !strings.Contains(plan, "compound index") {
			t.Fatalf("the Slot search did not take the compound index:\n%s", plan)
		}
		if len(res.Resources) != 2 {
			t.Fatalf("Slot?status=slotstatus|free&service-type=…: %d matches, want 2", len(res.Resources))
		}
	})
}
