package gen

import (
	"strconv"

	"github.com/wachtwijzer/wachtwijzer/conformance/nlid"
)

// person is one citizen: recomputed from its index whenever needed.
type person struct {
	n             int
	city          int
	female        bool
	given, family string
	birth         string // FHIR date
	birthCompact  string // HL7 date
	street        string
	number        int
	postal        string
	lat, lon      float64
	insurer       int
	since         int // the year the current Coverage started (1 January)
	prevInsurer   int // -1 unless the person switched on 1 January this year
}

func (p *person) gender() string {
	if p.female {
		return "female"
	}
	return "male"
}

func (p *person) display() string { return p.given + " " + p.family }

// personCity returns the city of person n (the first draw of its stream).
func (w *World) personCity(n int) int {
	r := newRNG(w.seed, sPerson, uint64(n))
	return r.pick(w.cityCDF)
}

func (w *World) person(n int) person {
	r := newRNG(w.seed, sPerson, uint64(n))
	p := person{n: n, city: r.pick(w.cityCDF), prevInsurer: -1}
	p.female = r.float() < 0.52
	if p.female {
		p.given = givenFemale[r.intn(len(givenFemale))]
	} else {
		p.given = givenMale[r.intn(len(givenMale))]
	}
	u := r.float()
	p.family = familyNames[int(float64(len(familyNames))*u*u)]
	var age int
	switch u := r.float(); {
	case u < 0.14:
		age = r.between(0, 17)
	case u < 0.45:
		age = r.between(18, 49)
	default:
		age = r.between(50, 94)
	}
	bd := w.days.today.AddDate(-age, 0, -r.intn(365))
	p.birth = bd.Format("2006-01-02")
	p.birthCompact = bd.Format("20060102")
	c := cities[p.city]
	p.street = streets[r.intn(len(streets))]
	p.number = r.between(1, 250)
	p.postal = postcode(&r, c)
	p.lat = c.lat + (r.float()-0.5)*0.06
	p.lon = c.lon + (r.float()-0.5)*0.09
	p.insurer = r.pick(w.insCDF)
	p.since = w.year - r.intn(6)
	if r.float() < w.cfg.SwitcherShare {
		p.since = w.year
		p.prevInsurer = (p.insurer + 1 + r.intn(len(w.insurers)-1)) % len(w.insurers)
	}
	return p
}

// bsn returns the BSN of person n: a bijection of n onto seven-digit
// prefixes 1000000–8999999 (so no two people share one), an eighth digit
// 0 or 1, and the elfproef check digit (nlid.BSNCheckDigit). Changing the
// eighth digit by one changes the weighted sum by 2, so one of 0 and 1
// always yields a check digit.
func (w *World) bsn(n int) string {
	prefix := strconv.FormatUint(1_000_000+w.bsnPerm.at(uint64(n)), 10)
	for d8 := byte('0'); d8 <= '9'; d8++ {
		first8 := prefix + string(d8)
		if d, ok := nlid.BSNCheckDigit(first8); ok {
			return first8 + string(d)
		}
	}
	panic("gen: no BSN check digit") // unreachable, see above
}

// record is one Patient resource: a person at a provider.
type record struct {
	q      int
	person int
	org    *org
	patnr  string
}

// record returns Patient record q: records below nPers are each person's
// main record at a provider near home; the rest are second records of
// distinct people at another provider.
func (w *World) record(q int) record {
	rec := record{q: q}
	r := newRNG(w.seed, sRecord, uint64(q))
	if q < w.nPers {
		rec.person = q
		rec.org = w.orgs[r.pick(w.cityOrg[w.personCity(q)])]
	} else {
		m := uint64(q - w.nPers)
		rec.person = int((m*w.aliasStep + 7) % uint64(w.nPers))
		primary := w.record(rec.person).org
		cdf := w.cityOrg[w.personCity(rec.person)]
		o := primary
		for tries := 0; tries < 8 && o == primary; tries++ {
			o = w.orgs[r.pick(cdf)]
		}
		if o == primary {
			o = w.orgs[(primary.idx+1)%len(w.orgs)]
		}
		rec.org = o
	}
	rec.patnr = rec.org.patPre + pad(w.patnr.at(uint64(q)), 8)
	return rec
}

// pad formats v with at least n digits.
func pad(v uint64, n int) string {
	s := strconv.FormatUint(v, 10)
	for len(s) < n {
		s = "0" + s
	}
	return s
}
