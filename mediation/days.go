package mediation

import (
	"fmt"
	"strconv"
	"time"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/fhirtime"
)

// Day is a civil date in Europe/Amsterdam, as the number of days since
// 1970-01-01.
type Day int

// NoDay is the zero value meaning "no date".
const NoDay Day = -1 << 30

func civil(y int, m time.Month, d int) Day {
	secs := time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix()
	q := secs / 86400
	if secs%86400 != 0 && secs < 0 {
		q--
	}
	return Day(q)
}

// DayOf returns the Amsterdam calendar date of t.
func DayOf(t time.Time) Day {
	l := t.In(ww.Amsterdam)
	return civil(l.Year(), l.Month(), l.Day())
}

// Date returns the civil date as midnight UTC (for formatting and
// arithmetic on dates).
func (d Day) Date() time.Time { return time.Unix(int64(d)*86400, 0).UTC() }

// Start returns the first instant of the day in Europe/Amsterdam.
func (d Day) Start() time.Time {
	t := d.Date()
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, ww.Amsterdam)
}

// String formats the day as YYYY-MM-DD ("" for NoDay).
func (d Day) String() string {
	if d == NoDay {
		return ""
	}
	return d.Date().Format("2006-01-02")
}

// ParseDay parses YYYY-MM-DD.
func ParseDay(s string) (Day, error) {
	if len(s) != 10 {
		return NoDay, fmt.Errorf("%q is not a date (YYYY-MM-DD)", s)
	}
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		return NoDay, fmt.Errorf("%q is not a date (YYYY-MM-DD)", s)
	}
	return civil(t.Year(), t.Month(), t.Day()), nil
}

// DayOfFHIR returns the Amsterdam calendar date of a FHIR date, dateTime or
// instant: a date is that date (a year or month its first day); a time with
// an offset is converted to Amsterdam first, so 2026-03-29T23:30:00Z is
// 30 March. ok is false for values that do not parse.
func DayOfFHIR(s string) (Day, bool) {
	if s == "" {
		return NoDay, false
	}
	v, err := fhirtime.Parse(s, fhirtime.DateTime, ww.Amsterdam)
	if err != nil {
		return NoDay, false
	}
	if v.Precision <= fhirtime.Day {
		return civil(v.T.Year(), v.T.Month(), v.T.Day()), true
	}
	return DayOf(v.T), true
}

// itoa formats a day number for index keys.
func (d Day) key() string { return strconv.Itoa(int(d)) }
