package fhirtime

import (
	"testing"
	"time"
)

func TestRanges(t *testing.T) {
	ams, _ := time.LoadLocation("Europe/Amsterdam")
	cases := []struct {
		name, in string
		kind     Kind
		lo, hi   string
	}{
		{"a year in Amsterdam starts at local midnight", "2026", DateTime, "2025-12-31T23:00:00Z", "2026-12-31T23:00:00Z"},
		{"a month", "2026-03", Date, "2026-02-28T23:00:00Z", "2026-03-31T22:00:00Z"},
		{"the day of the spring DST change is 23 hours", "2026-03-29", Date, "2026-03-28T23:00:00Z", "2026-03-29T22:00:00Z"},
		{"the day of the autumn DST change is 25 hours", "2026-10-25", Date, "2026-10-24T22:00:00Z", "2026-10-25T23:00:00Z"},
		{"an instant with offset covers its second", "2026-12-01T10:40:00+01:00", Instant, "2026-12-01T09:40:00Z", "2026-12-01T09:40:01Z"},
		{"fractional seconds cover a millisecond", "2026-12-01T10:40:00.123Z", Instant, "2026-12-01T10:40:00.123Z", "2026-12-01T10:40:00.124Z"},
		{"a zone-less search minute is Amsterdam time", "2026-07-01T08:30", Search, "2026-07-01T06:30:00Z", "2026-07-01T06:31:00Z"},
		{"a search value with Z", "2026-07-01T08:30Z", Search, "2026-07-01T08:30:00Z", "2026-07-01T08:31:00Z"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v, err := Parse(c.in, c.kind, ams)
			if err != nil {
				t.Fatal(err)
			}
			lo, hi := v.Range()
			if got := lo.UTC().Format(time.RFC3339Nano); got != mustUTC(c.lo) {
				t.Errorf("lo = %s, want %s", got, c.lo)
			}
			if got := hi.UTC().Format(time.RFC3339Nano); got != mustUTC(c.hi) {
				t.Errorf("hi = %s, want %s", got, c.hi)
			}
		})
	}
}

func mustUTC(s string) string {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func TestRejects(t *testing.T) {
	cases := []struct {
		in   string
		kind Kind
	}{
		{"2026-13", Date}, {"2026-02-30", Date}, {"26-01-01", Date}, {"2026-01-01T10:00:00Z", Date},
		{"2026-01-01T10:00:00", DateTime}, {"2026-01-01T10:00Z", DateTime}, {"2026-01-01", Instant},
		{"2021-03-10T15:00:00-05", Instant}, {"2026-01-01T25:00:00Z", Instant}, {"2026-01-01T10:00:00.Z", Instant},
		{"2026-01-01T10:00:00+15:00", Instant}, {"2026-01-01 10:00", Search}, {"", Search}, {"2026-01-01T10:00:00Zx", Search},
	}
	for _, c := range cases {
		if _, err := Parse(c.in, c.kind, nil); err == nil {
			t.Errorf("%q (kind %d) accepted", c.in, c.kind)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"2026", "2026-03-29T02:30:00+01:00", "2026-01-01T10:00", "2026-12-31T23:59:59.999999999Z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for k := Date; k <= Search; k++ {
			v, err := Parse(s, k, nil)
			if err != nil {
				continue
			}
			lo, hi := v.Range()
			if !lo.Before(hi) {
				t.Fatalf("%q: empty range %v %v", s, lo, hi)
			}
		}
	})
}
