package mediation

import (
	"testing"
	"time"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/fhirjson"
)

func day(t *testing.T, s string) Day {
	t.Helper()
	d, err := ParseDay(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func parse(t *testing.T, js string) *fhirjson.Value {
	t.Helper()
	v, err := fhirjson.Parse([]byte(js), fhirjson.Limits{})
	if err != nil {
		t.Fatalf("%v in %s", err, js)
	}
	return v
}

// sr builds a ServiceRequest of a kind and specialism authored on a date.
func sr(status, kind, spec, authored string, extra string) string {
	cat := ""
	if kind != "" {
		cat = `"category":[{"coding":[{"system":"` + ww.SystemWaitKind + `","code":"` + kind + `"}]}` + extra + `],`
	}
	return `{"resourceType":"ServiceRequest","status":"` + status + `","intent":"order",` + cat +
		`"subject":{"reference":"Patient/p1"},"authoredOn":"` + authored + `",` +
		`"performerType":{"coding":[{"system":"urn:oid:2.16.840.1.113883.2.4.6.7","code":"` + spec + `"}]},` +
		`"performer":[{"reference":"Organization/o1"}]}`
}

func appt(id, status, start string) string {
	s := `{"resourceType":"Appointment","id":"` + id + `","status":"` + status + `","basedOn":[{"reference":"ServiceRequest/s1"}]`
	if start != "" {
		s += `,"start":"` + start + `"`
	}
	return s + `}`
}

// waitOf builds the wait record the store would keep for a ServiceRequest
// and its appointments, written in the given order.
func waitOf(t *testing.T, srJSON string, appts ...string) *WaitRecord {
	t.Helper()
	r := &WaitRecord{}
	if srJSON != "" {
		r.SR = SRFacts(parse(t, srJSON))
	}
	for _, a := range appts {
		v := parse(t, a)
		_, f := AppointmentFacts(v.GetStr("id"), v)
		r.SetAppt(v.GetStr("id"), f)
	}
	return r
}

func TestWaitScenarios(t *testing.T) {
	asOf := "2026-03-31"
	norms := DefaultNorms()
	type want struct {
		open, exceeded, atRisk, booked bool
		wait, norm, excess             int
		note                           bool
	}
	cases := []struct {
		name  string
		sr    string
		appts []string
		want  want
	}{
		{"referral 30 days ago, not booked → exceeds outpatient norm by 2 days",
			sr("active", "outpatient", "0305", "2026-03-01", ""), nil,
			want{open: true, exceeded: true, wait: 30, norm: 28, excess: 2}},
		{"referral 28 days ago, not booked → exactly at the norm, not exceeded, at risk",
			sr("active", "outpatient", "0305", "2026-03-03", ""), nil,
			want{open: true, atRisk: true, wait: 28, norm: 28, excess: 0}},
		{"referral 20 days ago, not booked → at risk within 14 days",
			sr("active", "outpatient", "0305", "2026-03-11", ""), nil,
			want{open: true, atRisk: true, wait: 20, norm: 28, excess: -8}},
		{"referral 10 days ago, not booked → neither exceeded nor at risk",
			sr("active", "outpatient", "0305", "2026-03-21", ""), nil,
			want{open: true, wait: 10, norm: 28, excess: -18}},
		{"first visit booked 10 days ahead for a referral 25 days ago → waits 35 days, exceeded by 7",
			sr("active", "outpatient", "0301", "2026-03-06", ""), []string{appt("a1", "booked", "2026-04-10T09:00:00+02:00")},
			want{open: true, booked: true, exceeded: true, wait: 35, norm: 28, excess: 7}},
		{"booked within the norm → not exceeded, not at risk (booked)",
			sr("active", "outpatient", "0301", "2026-03-21", ""), []string{appt("a1", "booked", "2026-04-01T09:00:00+02:00")},
			want{open: true, booked: true, wait: 11, norm: 28, excess: -17}},
		{"a booked appointment in the past still ends the wait",
			sr("active", "diagnostics", "0362", "2026-02-01", ""), []string{appt("a1", "booked", "2026-03-02T10:00:00+01:00")},
			want{open: true, booked: true, exceeded: true, wait: 29, norm: 28, excess: 1}},
		{"cancelled then rebooked → the rebooked appointment counts",
			sr("active", "outpatient", "0305", "2026-03-01", ""),
			[]string{appt("a1", "booked", "2026-03-10T09:00:00+01:00"), appt("a1", "cancelled", "2026-03-10T09:00:00+01:00"), appt("a2", "booked", "2026-04-15T09:00:00+02:00")},
			want{open: true, booked: true, exceeded: true, wait: 45, norm: 28, excess: 17}},
		{"proposed, pending, waitlist and no-show appointments do not end the wait",
			sr("active", "outpatient", "0305", "2026-03-01", ""),
			[]string{appt("a1", "proposed", "2026-03-05T09:00:00+01:00"), appt("a2", "pending", "2026-03-06T09:00:00+01:00"),
				appt("a3", "waitlist", ""), appt("a4", "noshow", "2026-03-07T09:00:00+01:00"), appt("a5", "entered-in-error", "2026-03-08T09:00:00+01:00")},
			want{open: true, exceeded: true, wait: 30, norm: 28, excess: 2}},
		{"a fulfilled first visit ends the wait",
			sr("active", "outpatient", "0305", "2026-03-01", ""), []string{appt("a1", "fulfilled", "2026-03-20T09:00:00+01:00")},
			want{open: true, booked: true, wait: 19, norm: 28, excess: -9}},
		{"the earliest of two holding appointments counts",
			sr("active", "outpatient", "0305", "2026-03-01", ""),
			[]string{appt("a2", "booked", "2026-04-20T09:00:00+02:00"), appt("a1", "arrived", "2026-03-31T09:00:00+02:00")},
			want{open: true, booked: true, exceeded: true, wait: 30, norm: 28, excess: 2}},
		{"on hold (wenswachttijd) is reported but never exceeded",
			sr("on-hold", "outpatient", "0305", "2026-01-01", ""), nil,
			want{open: true, wait: 89, norm: 28, excess: 61}},
		{"a completed referral is no wait",
			sr("completed", "outpatient", "0305", "2026-01-01", ""), nil, want{}},
		{"a revoked referral is no wait",
			sr("revoked", "outpatient", "0305", "2026-01-01", ""), nil, want{}},
		{"a referral authored after asOf is not open yet",
			sr("active", "outpatient", "0305", "2026-04-02", ""), nil, want{}},
		{"treatment of unknown kind at 45 days → exceeds the stricter 42 days, with the NZa note",
			sr("active", "treatment", "0305", "2026-02-14", ""), nil,
			want{open: true, exceeded: true, wait: 45, norm: 42, excess: 3, note: true}},
		{"inpatient treatment at 45 days → within its 49-day norm",
			sr("active", "treatment-inpatient", "0305", "2026-02-14", ""), nil,
			want{open: true, atRisk: true, wait: 45, norm: 49, excess: -4}},
		{"day treatment at 45 days → exceeds 42, no note (the kind is known)",
			sr("active", "treatment-day", "0305", "2026-02-14", ""), nil,
			want{open: true, exceeded: true, wait: 45, norm: 42, excess: 3}},
		{"GGZ intake at 29 days exceeds its 28-day norm",
			sr("active", "mhc-intake", "0329", "2026-03-02", ""), nil,
			want{open: true, exceeded: true, wait: 29, norm: 28, excess: 1}},
		{"GGZ treatment at 60 days is within its 10 weeks",
			sr("active", "mhc-treatment", "0329", "2026-01-30", ""), nil,
			want{open: true, wait: 60, norm: 70, excess: -10, atRisk: true}},
		{"a wait without a kind is held to the outpatient norm",
			sr("active", "", "0305", "2026-03-01", ""), nil,
			want{open: true, exceeded: true, wait: 30, norm: 28, excess: 2}},
		{"authoredOn with a time in UTC counts the Amsterdam date (23:30Z on 28 Feb is 1 March)",
			sr("active", "outpatient", "0305", "2026-02-28T23:30:00Z", ""), nil,
			want{open: true, exceeded: true, wait: 30, norm: 28, excess: 2}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := waitOf(t, c.sr, c.appts...)
			ev := Evaluate(r, day(t, asOf), norms, 14)
			got := want{open: ev.Open, exceeded: ev.Exceeded, atRisk: ev.AtRisk, booked: ev.Booked, wait: ev.WaitDays, norm: ev.NormDays, excess: ev.ExcessDays, note: ev.Note != ""}
			if got != c.want {
				t.Errorf("got %+v\nwant %+v", got, c.want)
			}
		})
	}
}

func TestWaitDaysAcrossDST(t *testing.T) {
	norms := DefaultNorms()
	cases := []struct {
		name, authored, start string
		wait                  int
	}{
		// Summer time starts 29 March 2026 at 02:00 CET.
		{"appointment at 23:30Z on 29 March is 01:30 CEST on 30 March", "2026-03-28", "2026-03-29T23:30:00Z", 2},
		{"appointment at 22:30Z on 29 March is 00:30 CEST on 30 March", "2026-03-28", "2026-03-29T22:30:00Z", 2},
		{"appointment at 21:59Z on 29 March is still 29 March (23:59 CEST)", "2026-03-28", "2026-03-29T21:59:00Z", 1},
		{"appointment at 00:30+01:00 on 29 March, before the switch", "2026-03-28", "2026-03-29T00:30:00+01:00", 1},
		// Winter time starts 25 October 2026 at 03:00 CEST.
		{"appointment at 23:30Z on 24 October is 01:30 CEST on 25 October", "2026-10-20", "2026-10-24T23:30:00Z", 5},
		{"appointment at 23:30Z on 25 October is 00:30 CET on 26 October", "2026-10-20", "2026-10-25T23:30:00Z", 6},
		{"the long day (25 hours) counts as one calendar day", "2026-10-25", "2026-10-26T08:00:00+01:00", 1},
		{"the short day (23 hours) counts as one calendar day", "2026-03-29", "2026-03-30T08:00:00+02:00", 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := waitOf(t, sr("active", "outpatient", "0305", c.authored, ""), appt("a1", "booked", c.start))
			ev := Evaluate(r, day(t, "2026-12-31"), norms, 14)
			if ev.WaitDays != c.wait {
				t.Errorf("wait %d days, want %d", ev.WaitDays, c.wait)
			}
		})
	}
	// Waiting to asOf across the switch: 27 March to 30 March is 3 days,
	// although only 71 hours pass.
	r := waitOf(t, sr("active", "outpatient", "0305", "2026-03-27", ""))
	if ev := Evaluate(r, DayOf(time.Date(2026, 3, 30, 0, 30, 0, 0, ww.Amsterdam)), norms, 14); ev.WaitDays != 3 {
		t.Errorf("wait to asOf across DST = %d, want 3", ev.WaitDays)
	}
}

func TestNormOverridePerSpecialism(t *testing.T) {
	n, err := LoadNorms([]byte(`{"kinds":{"outpatient":21},"specialisms":{"305":{"outpatient":35}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if d := n.Days("outpatient", "0305"); d != 35 {
		t.Errorf("orthopedie outpatient norm %d, want the override 35", d)
	}
	if d := n.Days("outpatient", "0301"); d != 21 {
		t.Errorf("oogheelkunde outpatient norm %d, want the table's 21", d)
	}
	if d := n.Days("diagnostics", "0305"); d != 28 {
		t.Errorf("orthopedie diagnostics norm %d, want the default 28", d)
	}
	for _, bad := range []string{`{"kinds":{"surgery":10}}`, `{"kinds":{"outpatient":0}}`, `{"specialisms":{"ortho":{"outpatient":3}}}`, `{"kinds":`} {
		if _, err := LoadNorms([]byte(bad)); err == nil {
			t.Errorf("LoadNorms(%s) accepted", bad)
		}
	}
	r := waitOf(t, sr("active", "outpatient", "0305", "2026-03-01", ""))
	if ev := Evaluate(r, day(t, "2026-03-31"), n, 14); ev.Exceeded || ev.NormDays != 35 {
		t.Errorf("with a 35-day orthopedie norm a 30-day wait: %+v", ev)
	}
}

func TestExpectedDate(t *testing.T) {
	asOf := day(t, "2026-03-31")
	ev := Evaluate(waitOf(t, sr("active", "outpatient", "0305", "2026-03-01", "")), asOf, DefaultNorms(), 14)
	if d, basis := ExpectedDate(ev, asOf, 40, true); d != asOf+40 || basis != "published" {
		t.Errorf("unbooked with a published wait of 40 days: %s (%s), want asOf+40 (not authoredOn+40, which lies in the past)", d, basis)
	}
	if d, basis := ExpectedDate(ev, asOf, 0, false); d != asOf+28 || basis != "norm" {
		t.Errorf("unbooked without a published wait: %s (%s), want asOf+28", d, basis)
	}
	evb := Evaluate(waitOf(t, sr("active", "outpatient", "0305", "2026-03-01", ""), appt("a1", "booked", "2026-05-04T09:00:00+02:00")), asOf, DefaultNorms(), 14)
	if d, basis := ExpectedDate(evb, asOf, 10, true); d != day(t, "2026-05-04") || basis != "booked" {
		t.Errorf("booked: %s (%s), want the appointment day", d, basis)
	}
}

func TestDayOfFHIR(t *testing.T) {
	cases := map[string]string{
		"2026-03-01": "2026-03-01", "2026-03": "2026-03-01", "2026": "2026-01-01",
		"2026-03-01T00:30:00+01:00": "2026-03-01", "2026-02-28T23:30:00Z": "2026-03-01",
		"2026-06-30T22:15:00Z": "2026-07-01", "2026-06-30T21:59:59Z": "2026-06-30",
	}
	for in, want := range cases {
		d, ok := DayOfFHIR(in)
		if !ok || d.String() != want {
			t.Errorf("DayOfFHIR(%s) = %s %v, want %s", in, d, ok, want)
		}
	}
	for _, bad := range []string{"", "yesterday", "2026-13-01", "2026-02-30"} {
		if _, ok := DayOfFHIR(bad); ok {
			t.Errorf("DayOfFHIR(%q) accepted", bad)
		}
	}
	if _, err := ParseDay("2026-3-1"); err == nil {
		t.Error("ParseDay accepted 2026-3-1")
	}
	if d := day(t, "1969-12-31"); d != -1 {
		t.Errorf("1969-12-31 = %d, want -1", d)
	}
}
