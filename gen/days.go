package gen

import (
	"time"
)

// amsterdam is the time zone of all Dutch care.
var amsterdam = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Amsterdam")
	if err != nil {
		panic("gen: " + err.Error())
	}
	return loc
}()

// Day offsets relative to the world's today are ints; dayTable caches what
// the writers need per day, so no time.Time is built per resource.
const (
	dayMin = -1100 // earliest offset with a cached entry
	dayMax = 400   // latest
)

type dayInfo struct {
	date    string // 2006-01-02
	compact string // 20060102
	offset  string // +01:00 or +02:00 (Amsterdam at midday)
	hl7off  string // +0100
	weekday time.Weekday
}

type dayTable struct {
	today time.Time // civil date of asOf, midnight UTC
	days  []dayInfo
}

func newDayTable(asOf time.Time) *dayTable {
	l := asOf.In(amsterdam)
	t := &dayTable{today: time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, time.UTC)}
	t.days = make([]dayInfo, dayMax-dayMin+1)
	for i := range t.days {
		d := t.today.AddDate(0, 0, i+dayMin)
		// Everything in the world happens between 07:00 and 23:59, after
		// the night-time DST switch, so midday's offset is the day's.
		off := time.Date(d.Year(), d.Month(), d.Day(), 12, 0, 0, 0, amsterdam).Format("-07:00")
		t.days[i] = dayInfo{
			date:    d.Format("2006-01-02"),
			compact: d.Format("20060102"),
			offset:  off,
			hl7off:  off[:3] + off[4:],
			weekday: d.Weekday(),
		}
	}
	return t
}

func (t *dayTable) at(d int) *dayInfo {
	if d < dayMin {
		d = dayMin
	}
	if d > dayMax {
		d = dayMax
	}
	return &t.days[d-dayMin]
}

func (t *dayTable) date(d int) string { return t.at(d).date }

// civil returns the civil date d days after today.
func (t *dayTable) civil(d int) time.Time { return t.today.AddDate(0, 0, d) }

func (t *dayTable) weekend(d int) bool {
	wd := t.at(d).weekday
	return wd == time.Saturday || wd == time.Sunday
}

// forward moves d off the weekend to the next Monday.
func (t *dayTable) forward(d int) int {
	for t.weekend(d) {
		d++
	}
	return d
}

// backward moves d off the weekend to the previous Friday.
func (t *dayTable) backward(d int) int {
	for t.weekend(d) {
		d--
	}
	return d
}

// instant appends the FHIR instant of minute-of-day m on day d.
func (t *dayTable) instant(b []byte, d, m int) []byte {
	di := t.at(d)
	b = append(b, di.date...)
	b = append(b, 'T', byte('0'+m/600), byte('0'+m/60%10), ':', byte('0'+m%60/10), byte('0'+m%10), ':', '0', '0')
	return append(b, di.offset...)
}

// hl7 appends the HL7 DTM (with offset) of minute-of-day m on day d.
func (t *dayTable) hl7(b []byte, d, m int) []byte {
	di := t.at(d)
	b = append(b, di.compact...)
	b = append(b, byte('0'+m/600), byte('0'+m/60%10), byte('0'+m%60/10), byte('0'+m%10), '0', '0')
	return append(b, di.hl7off...)
}

// peildatum returns the offset of the latest NZa measurement date on or
// before today: a Tuesday of an even ISO week.
func (t *dayTable) peildatum() int {
	for d := 0; ; d-- {
		c := t.civil(d)
		if _, w := c.ISOWeek(); c.Weekday() == time.Tuesday && w%2 == 0 {
			return d
		}
	}
}
