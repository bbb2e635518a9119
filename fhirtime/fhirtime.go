package fhirtime

import (
	"fmt"
	"strconv"
	"time"
)

// Precision is how much of a date or time a value gives.
type Precision int

// The precisions, coarse to fine.
const (
	Year Precision = iota + 1
	Month
	Day
	Minute
	Second
	Milli // fractional seconds (any number of digits)
)

func (p Precision) String() string {
	return [...]string{"", "year", "month", "day", "minute", "second", "millisecond"}[p]
}

// Value is a parsed FHIR date/dateTime/instant.
type Value struct {
	// T is the start of the value's range, in its own zone (Amsterdam when
	// the value had none).
	T         time.Time
	Precision Precision
	// HasZone reports whether the value carried an offset or Z.
	HasZone bool
}

// Range returns the value's implicit range as [Lo, Hi).
func (v Value) Range() (lo, hi time.Time) {
	lo = v.T
	switch v.Precision {
	case Year:
		hi = lo.AddDate(1, 0, 0)
	case Month:
		hi = lo.AddDate(0, 1, 0)
	case Day:
		hi = lo.AddDate(0, 0, 1)
	case Minute:
		hi = lo.Add(time.Minute)
	case Second:
		hi = lo.Add(time.Second)
	default:
		hi = lo.Add(time.Millisecond)
	}
	return lo, hi
}

// Kind restricts what Parse accepts.
type Kind int

// The FHIR temporal types.
const (
	// Date is YYYY, YYYY-MM or YYYY-MM-DD.
	Date Kind = iota
	// DateTime is a date, or a date with hh:mm:ss[.fff] and a zone.
	DateTime
	// Instant is a full dateTime to the second with a zone.
	Instant
	// Search is a search-parameter value: like DateTime, but hh:mm is
	// allowed and the zone is optional (zone-less means Amsterdam).
	Search
)

// Parse parses s as kind k. Zone-less values with a time (allowed only for
// Search) and dates are placed in loc (Amsterdam when nil).
func Parse(s string, k Kind, loc *time.Location) (Value, error) {
	if loc == nil {
		loc = amsterdam
	}
	v, err := parse(s, k, loc)
	if err != nil {
		return Value{}, fmt.Errorf("%q is not a valid %s: %w", s, kindName(k), err)
	}
	return v, nil
}

func kindName(k Kind) string {
	return [...]string{"date (YYYY, YYYY-MM or YYYY-MM-DD)", "dateTime", "instant (YYYY-MM-DDThh:mm:ss with Z or an offset)", "date search value"}[k]
}

func digits(s string, i, n int) (int, bool) {
	if i+n > len(s) {
		return 0, false
	}
	v := 0
	for j := i; j < i+n; j++ {
		c := s[j]
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	return v, true
}

func parse(s string, k Kind, loc *time.Location) (Value, error) {
	year, ok := digits(s, 0, 4)
	if !ok {
		return Value{}, fmt.Errorf("expected a 4-digit year")
	}
	month, day := 1, 1
	prec := Year
	i := 4
	if i < len(s) {
		if s[i] != '-' {
			return Value{}, fmt.Errorf("expected '-' after the year")
		}
		if month, ok = digits(s, i+1, 2); !ok || month < 1 || month > 12 {
			return Value{}, fmt.Errorf("invalid month")
		}
		prec, i = Month, i+3
	}
	if i < len(s) {
		if s[i] != '-' {
			return Value{}, fmt.Errorf("expected '-' after the month")
		}
		if day, ok = digits(s, i+1, 2); !ok || day < 1 || day > daysIn(year, month) {
			return Value{}, fmt.Errorf("invalid day")
		}
		prec, i = Day, i+3
	}
	if k == Instant && prec != Day {
		return Value{}, fmt.Errorf("an instant needs a full date and time")
	}
	if i == len(s) {
		if k == Instant {
			return Value{}, fmt.Errorf("an instant needs a time")
		}
		return Value{T: time.Date(year, time.Month(month), day, 0, 0, 0, 0, loc), Precision: prec}, nil
	}
	if k == Date {
		return Value{}, fmt.Errorf("a date has no time part")
	}
	if prec != Day || s[i] != 'T' {
		return Value{}, fmt.Errorf("expected 'T' after a full date")
	}
	hour, ok1 := digits(s, i+1, 2)
	if !ok1 || hour > 23 || i+3 >= len(s) || s[i+3] != ':' {
		return Value{}, fmt.Errorf("invalid hour")
	}
	minute, ok2 := digits(s, i+4, 2)
	if !ok2 || minute > 59 {
		return Value{}, fmt.Errorf("invalid minute")
	}
	i += 6
	prec = Minute
	sec, nanos := 0, 0
	if i < len(s) && s[i] == ':' {
		if sec, ok = digits(s, i+1, 2); !ok || sec > 59 {
			return Value{}, fmt.Errorf("invalid second")
		}
		i += 3
		prec = Second
		if i < len(s) && s[i] == '.' {
			j := i + 1
			for j < len(s) && s[j] >= '0' && s[j] <= '9' {
				j++
			}
			if j == i+1 || j-i-1 > 9 {
				return Value{}, fmt.Errorf("invalid fractional seconds")
			}
			frac := s[i+1 : j]
			n, _ := strconv.Atoi((frac + "000000000")[:9])
			nanos = n
			i = j
			prec = Milli
		}
	} else if k != Search {
		return Value{}, fmt.Errorf("a time needs seconds (hh:mm:ss)")
	}
	zone := loc
	hasZone := false
	if i < len(s) {
		switch s[i] {
		case 'Z':
			if i+1 != len(s) {
				return Value{}, fmt.Errorf("unexpected text after Z")
			}
			zone, hasZone = time.UTC, true
		case '+', '-':
			oh, ok1 := digits(s, i+1, 2)
			if !ok1 || i+3 >= len(s) || s[i+3] != ':' {
				return Value{}, fmt.Errorf("invalid offset, expected ±hh:mm")
			}
			om, ok2 := digits(s, i+4, 2)
			if !ok2 || i+6 != len(s) || oh > 14 || om > 59 {
				return Value{}, fmt.Errorf("invalid offset, expected ±hh:mm")
			}
			off := oh*3600 + om*60
			if s[i] == '-' {
				off = -off
			}
			zone, hasZone = time.FixedZone("", off), true
		default:
			return Value{}, fmt.Errorf("unexpected %q in the time", s[i])
		}
	} else if k != Search {
		return Value{}, fmt.Errorf("a dateTime with a time needs a zone (Z or ±hh:mm)")
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, nanos, zone)
	return Value{T: t, Precision: prec, HasZone: hasZone}, nil
}

func daysIn(year, month int) int {
	return time.Date(year, time.Month(month)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

var amsterdam = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Amsterdam")
	if err != nil {
		return time.FixedZone("CET", 3600)
	}
	return loc
}()

// FormatInstant formats t as a FHIR instant in UTC with milliseconds.
func FormatInstant(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000Z07:00")
}
