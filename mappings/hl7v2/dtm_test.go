package hl7v2

import (
	"testing"
	"time"

	"github.com/wachtwijzer/wachtwijzer/fhirtime"
)

func TestParseTimePrecisions(t *testing.T) {
	cases := []struct {
		in             string
		prec           Precision
		date, dateTime string
		instant        string // "" when not an instant
		utc            string // the instant in UTC ("" for dates)
		hasOffset      bool
	}{
		{"2026", PrecYear, "2026", "2026", "", "", false},
		{"202611", PrecMonth, "2026-11", "2026-11", "", "", false},
		{"20261103", PrecDay, "2026-11-03", "2026-11-03", "", "", false},
		{"2026110314", PrecHour, "2026-11-03", "2026-11-03T14:00:00+01:00", "2026-11-03T14:00:00+01:00", "2026-11-03T13:00:00Z", false},
		{"202611031415", PrecMinute, "2026-11-03", "2026-11-03T14:15:00+01:00", "2026-11-03T14:15:00+01:00", "2026-11-03T13:15:00Z", false},
		{"20261103141502", PrecSecond, "2026-11-03", "2026-11-03T14:15:02+01:00", "2026-11-03T14:15:02+01:00", "2026-11-03T13:15:02Z", false},
		{"20261110083000.123+0100", PrecFraction, "2026-11-10", "2026-11-10T08:30:00.123+01:00", "2026-11-10T08:30:00.123+01:00", "2026-11-10T07:30:00.123Z", true},
		{"20210817151943.4+0200", PrecFraction, "2021-08-17", "2021-08-17T15:19:43.4+02:00", "2021-08-17T15:19:43.4+02:00", "2021-08-17T13:19:43.4Z", true},
		{"20260615120000", PrecSecond, "2026-06-15", "2026-06-15T12:00:00+02:00", "2026-06-15T12:00:00+02:00", "2026-06-15T10:00:00Z", false},
		// An odd offset stays as sent: the same instant as Microsoft's
		// 2021-09-24T12:45:00+05:30.
		{"20210924093000+0215", PrecSecond, "2021-09-24", "2021-09-24T09:30:00+02:15", "2021-09-24T09:30:00+02:15", "2021-09-24T07:15:00Z", true},
		{"202109141120-0330", PrecMinute, "2021-09-14", "2021-09-14T11:20:00-03:30", "2021-09-14T11:20:00-03:30", "2021-09-14T14:50:00Z", true},
		{" 200803061000 ", PrecMinute, "2008-03-06", "2008-03-06T10:00:00+01:00", "2008-03-06T10:00:00+01:00", "2008-03-06T09:00:00Z", false},
		// A birth date with a time and offset is a date in that offset.
		{"198808181126+0215", PrecMinute, "1988-08-18", "1988-08-18T11:26:00+02:15", "1988-08-18T11:26:00+02:15", "1988-08-18T09:11:00Z", true},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			v, err := ParseTime(c.in, nil)
			if err != nil {
				t.Fatal(err)
			}
			if v.Precision != c.prec || v.HasOffset != c.hasOffset {
				t.Errorf("precision %s offset %v", v.Precision, v.HasOffset)
			}
			if got := v.FHIRDate(); got != c.date {
				t.Errorf("FHIRDate %q, want %q", got, c.date)
			}
			if got := v.FHIRDateTime(); got != c.dateTime {
				t.Errorf("FHIRDateTime %q, want %q", got, c.dateTime)
			}
			inst, ok := v.FHIRInstant()
			if inst != c.instant || ok != (c.instant != "") {
				t.Errorf("FHIRInstant %q %v, want %q", inst, ok, c.instant)
			}
			if c.utc != "" {
				if got := v.T.UTC().Format("2006-01-02T15:04:05.999999999Z07:00"); got != c.utc {
					t.Errorf("instant %s, want %s", got, c.utc)
				}
				if _, err := fhirtime.Parse(inst, fhirtime.Instant, nil); err != nil {
					t.Errorf("not a FHIR instant: %v", err)
				}
			}
			if _, err := fhirtime.Parse(v.FHIRDateTime(), fhirtime.DateTime, nil); err != nil {
				t.Errorf("not a FHIR dateTime: %v", err)
			}
		})
	}
}

func TestParseTimeInvalid(t *testing.T) {
	for _, in := range []string{"", "20", "202", "20261", "2026110", "20261301", "20260230", "2026110324", "202611031460", "20261103141560",
		"20261103.5", "2026110314150.5", "20261103141502.", "20261103141502.1234567890", "2026-11-03", "20261103T1415",
		"202611031415+01", "202611031415+1500", "202611031415+0160", "202611031415Z", "abcd", "2026110314+0100x"} {
		if _, err := ParseTime(in, nil); err == nil {
			t.Errorf("%q should not parse", in)
		}
	}
}

// Times without an offset are Amsterdam wall-clock times; across the DST
// changes the instant must be right and the offset the one in force.
func TestParseTimeDSTBoundaries(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"last winter minute before spring forward", "202603290159", "2026-03-29T01:59:00+01:00"},
		{"spring gap 02:30 does not exist: moved forward", "202603290230", "2026-03-29T03:30:00+02:00"},
		{"first summer minute", "202603290300", "2026-03-29T03:00:00+02:00"},
		{"autumn before the overlap", "202610250159", "2026-10-25T01:59:00+02:00"},
		{"autumn overlap 02:30: first occurrence (summer time)", "202610250230", "2026-10-25T02:30:00+02:00"},
		{"after the overlap", "202610250300", "2026-10-25T03:00:00+01:00"},
		{"with an explicit offset inside the overlap: as sent", "202610250230+0100", "2026-10-25T02:30:00+01:00"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v, err := ParseTime(c.in, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := v.FHIRDateTime(); got != c.want {
				t.Errorf("got %s, want %s", got, c.want)
			}
		})
	}
	// Thirty minutes apart in wall clock, ninety in real time: an
	// appointment from 01:30 to 03:30 on the spring day lasts one hour.
	a, _ := ParseTime("202603290130", nil)
	b, _ := ParseTime("202603290330", nil)
	if d := b.T.Sub(a.T); d != time.Hour {
		t.Errorf("01:30 → 03:30 on 2026-03-29 is %v, want 1h", d)
	}
}

func TestTimeRangeAndFHIR(t *testing.T) {
	v, _ := ParseTime("202611", nil)
	lo, hi := v.Range()
	if lo.Format(time.RFC3339) != "2026-11-01T00:00:00+01:00" || hi.Format(time.RFC3339) != "2026-12-01T00:00:00+01:00" {
		t.Errorf("range %v %v", lo, hi)
	}
	if fv := v.FHIR(); fv.Precision != fhirtime.Month || !fv.T.Equal(lo) {
		t.Errorf("FHIR %+v", fv)
	}
	h, _ := ParseTime("2026110314", nil)
	if _, hi := h.Range(); hi.Sub(h.T) != time.Hour {
		t.Errorf("hour range")
	}
	if (Time{}).FHIRDateTime() != "" || !(Time{}).IsZero() {
		t.Errorf("zero Time")
	}
}
