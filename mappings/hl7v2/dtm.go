package hl7v2

import (
	"fmt"
	"strings"
	"time"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/fhirtime"
)

// Precision is how much of a date or time an HL7 DTM/TS value gives.
type Precision int

// The precisions, coarse to fine.
const (
	PrecYear     Precision = iota + 1 // YYYY
	PrecMonth                         // YYYYMM
	PrecDay                           // YYYYMMDD
	PrecHour                          // YYYYMMDDHH
	PrecMinute                        // YYYYMMDDHHMM
	PrecSecond                        // YYYYMMDDHHMMSS
	PrecFraction                      // YYYYMMDDHHMMSS.S…
)

func (p Precision) String() string {
	if p < PrecYear || p > PrecFraction {
		return "none"
	}
	return [...]string{"year", "month", "day", "hour", "minute", "second", "fraction"}[p-1]
}

// Time is an HL7 date/time with its precision. T is the start of the
// value's range in its own zone: the sender's offset when one was given
// (kept as sent, so +0215 stays +02:15), else the sender's zone.
type Time struct {
	T         time.Time
	Precision Precision
	// HasOffset reports whether the value carried ±ZZZZ.
	HasOffset bool
	// FracDigits is the number of fractional-second digits sent.
	FracDigits int
}

// IsZero reports whether t holds no value.
func (t Time) IsZero() bool { return t.Precision == 0 }

// DateOnly reports whether t has no time of day (day precision or
// coarser). Such a value is a FHIR date and never goes into an instant.
func (t Time) DateOnly() bool { return t.Precision != 0 && t.Precision <= PrecDay }

// FHIRDate returns the FHIR date (YYYY, YYYY-MM or YYYY-MM-DD) of the value,
// the calendar date in the value's own zone.
func (t Time) FHIRDate() string {
	switch t.Precision {
	case 0:
		return ""
	case PrecYear:
		return t.T.Format("2006")
	case PrecMonth:
		return t.T.Format("2006-01")
	}
	return t.T.Format("2006-01-02")
}

// FHIRDateTime returns a FHIR dateTime: the FHIR date for date-only values,
// else date, time to the second (minutes and hours padded with :00) and the
// offset.
func (t Time) FHIRDateTime() string {
	if t.Precision == 0 {
		return ""
	}
	if t.DateOnly() {
		return t.FHIRDate()
	}
	return t.format()
}

// FHIRInstant returns a FHIR instant; ok is false for date-only values.
func (t Time) FHIRInstant() (s string, ok bool) {
	if t.Precision == 0 || t.DateOnly() {
		return "", false
	}
	return t.format(), true
}

func (t Time) format() string {
	s := t.T.Format("2006-01-02T15:04:05")
	if t.Precision == PrecFraction && t.FracDigits > 0 {
		frac := fmt.Sprintf("%09d", t.T.Nanosecond())
		s += "." + frac[:min(t.FracDigits, 9)]
	}
	return s + t.T.Format("-07:00")
}

// Range returns the value's implicit range [lo, hi).
func (t Time) Range() (lo, hi time.Time) {
	lo = t.T
	switch t.Precision {
	case PrecYear:
		hi = lo.AddDate(1, 0, 0)
	case PrecMonth:
		hi = lo.AddDate(0, 1, 0)
	case PrecDay:
		hi = lo.AddDate(0, 0, 1)
	case PrecHour:
		hi = lo.Add(time.Hour)
	case PrecMinute:
		hi = lo.Add(time.Minute)
	case PrecSecond:
		hi = lo.Add(time.Second)
	default:
		hi = lo.Add(time.Millisecond)
	}
	return lo, hi
}

// FHIR converts t to a fhirtime.Value (hour precision becomes minute
// precision, the finest fhirtime has below a day that is coarser).
func (t Time) FHIR() fhirtime.Value {
	p := map[Precision]fhirtime.Precision{PrecYear: fhirtime.Year, PrecMonth: fhirtime.Month, PrecDay: fhirtime.Day,
		PrecHour: fhirtime.Minute, PrecMinute: fhirtime.Minute, PrecSecond: fhirtime.Second, PrecFraction: fhirtime.Milli}[t.Precision]
	return fhirtime.Value{T: t.T, Precision: p, HasZone: t.HasOffset}
}

// ParseTime parses an HL7 DTM (or the first component of a TS):
// YYYY[MM[DD[HH[MM[SS[.S[S[S[S]]]]]]]]][+/-ZZZZ], at any precision. A
// value without an offset is read in loc (Europe/Amsterdam when nil): in
// the autumn overlap it is the first occurrence (summer time), in the
// spring gap it moves forward by the gap (02:30 → 03:30+02:00).
func ParseTime(s string, loc *time.Location) (Time, error) {
	if loc == nil {
		loc = ww.Amsterdam
	}
	orig := s
	s = strings.TrimSpace(s)
	bad := func(why string) (Time, error) {
		return Time{}, fmt.Errorf("%q is not a valid HL7 date/time (YYYY[MM[DD[HH[MM[SS[.S…]]]]]][±ZZZZ]): %s", sanitize(orig, 40), why)
	}
	if s == "" {
		return bad("empty")
	}
	body, off := s, ""
	if i := strings.IndexAny(s, "+-"); i >= 0 {
		body, off = s[:i], s[i:]
	}
	frac := ""
	if i := strings.IndexByte(body, '.'); i >= 0 {
		body, frac = body[:i], body[i+1:]
		if len(body) != 14 {
			return bad("fractional seconds need a full time to the second")
		}
		if frac == "" || len(frac) > 9 || !allDigits(frac) {
			return bad("fractional seconds must be 1 to 9 digits")
		}
	}
	if !allDigits(body) {
		return bad("expected digits")
	}
	var prec Precision
	switch len(body) {
	case 4:
		prec = PrecYear
	case 6:
		prec = PrecMonth
	case 8:
		prec = PrecDay
	case 10:
		prec = PrecHour
	case 12:
		prec = PrecMinute
	case 14:
		prec = PrecSecond
	default:
		return bad("wrong number of digits")
	}
	if frac != "" {
		prec = PrecFraction
	}
	num := func(i, n int) int {
		if len(body) < i+n {
			return -1
		}
		v := 0
		for _, c := range body[i : i+n] {
			v = v*10 + int(c-'0')
		}
		return v
	}
	year, month, day, hour, minute, sec := num(0, 4), 1, 1, 0, 0, 0
	if prec >= PrecMonth {
		if month = num(4, 2); month < 1 || month > 12 {
			return bad("month out of range")
		}
	}
	if prec >= PrecDay {
		if day = num(6, 2); day < 1 || day > time.Date(year, time.Month(month)+1, 0, 0, 0, 0, 0, time.UTC).Day() {
			return bad("day out of range")
		}
	}
	if prec >= PrecHour {
		if hour = num(8, 2); hour > 23 {
			return bad("hour out of range")
		}
	}
	if prec >= PrecMinute {
		if minute = num(10, 2); minute > 59 {
			return bad("minute out of range")
		}
	}
	if prec >= PrecSecond {
		if sec = num(12, 2); sec > 59 {
			return bad("second out of range")
		}
	}
	nanos := 0
	if frac != "" {
		for i := 0; i < 9; i++ {
			nanos *= 10
			if i < len(frac) {
				nanos += int(frac[i] - '0')
			}
		}
	}
	zone := loc
	hasOff := false
	if off != "" {
		if len(off) != 5 || !allDigits(off[1:]) {
			return bad("the offset must be ±HHMM")
		}
		oh, om := int(off[1]-'0')*10+int(off[2]-'0'), int(off[3]-'0')*10+int(off[4]-'0')
		if oh > 14 || om > 59 {
			return bad("offset out of range")
		}
		secs := oh*3600 + om*60
		if off[0] == '-' {
			secs = -secs
		}
		zone, hasOff = time.FixedZone("", secs), true
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, nanos, zone)
	if !hasOff && prec >= PrecHour {
		t = firstOccurrence(t)
	}
	return Time{T: t, Precision: prec, HasOffset: hasOff, FracDigits: len(frac)}, nil
}

// firstOccurrence moves a local time in a DST overlap to its first
// occurrence (Go's time.Date picks the later one).
func firstOccurrence(t time.Time) time.Time {
	for _, d := range []time.Duration{2 * time.Hour, time.Hour, 30 * time.Minute} {
		c := t.Add(-d)
		if sameWall(c, t) {
			return c
		}
	}
	return t
}

func sameWall(a, b time.Time) bool {
	y1, m1, d1 := a.Date()
	y2, m2, d2 := b.Date()
	return y1 == y2 && m1 == m2 && d1 == d2 && a.Hour() == b.Hour() && a.Minute() == b.Minute() && a.Second() == b.Second()
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
