package gen

import (
	"math"
	"sort"
)

// Appointment statuses (FHIR R4 appointmentstatus).
const (
	stProposed = iota
	stPending
	stBooked
	stArrived
	stFulfilled
	stCancelled
	stNoshow
	stEnteredInError
	stCheckedIn
	stWaitlist
	numStatuses
)

// StatusCodes are the FHIR codes of the appointment statuses.
var StatusCodes = [numStatuses]string{"proposed", "pending", "booked", "arrived", "fulfilled", "cancelled", "noshow", "entered-in-error", "checked-in", "waitlist"}

// holding reports whether an appointment in status st ends a wait (the
// wait runs to its date).
func holding(st uint8) bool {
	return st == stBooked || st == stArrived || st == stCheckedIn || st == stFulfilled
}

// Status distributions: a referral's only appointment; the earlier
// appointments of a referral with several; its last one.
var (
	distSingle = statusDist{{stBooked, .48}, {stFulfilled, .26}, {stWaitlist, .07}, {stProposed, .045}, {stPending, .045},
		{stCancelled, .035}, {stNoshow, .02}, {stArrived, .015}, {stCheckedIn, .015}, {stEnteredInError, .015}}
	distEarlier = statusDist{{stFulfilled, .45}, {stCancelled, .35}, {stNoshow, .12}, {stEnteredInError, .08}}
	distLast    = statusDist{{stBooked, .50}, {stFulfilled, .25}, {stProposed, .06}, {stPending, .06}, {stWaitlist, .05},
		{stArrived, .02}, {stCheckedIn, .02}, {stCancelled, .04}}
)

type statusDist []struct {
	st uint8
	p  float64
}

func (d statusDist) draw(r *rng) uint8 {
	u := r.float()
	for _, e := range d {
		if u < e.p {
			return e.st
		}
		u -= e.p
	}
	return d[0].st
}

// Referral statuses.
const (
	srActive = iota
	srOnHold
	srCompleted
)

var srStatusCodes = [3]string{"active", "on-hold", "completed"}

// appt is one planned Appointment.
type appt struct {
	st         uint8
	day        int // offset from today; unused for waitlist
	start, dur int // minutes from midnight; minutes
	slot       int32
	sched      *schedule
	prac       *practitioner
	createdDay int
	createdMin int
	reason     int // cancellation reason index
}

// plan is everything about one referral (a wait) and its appointments,
// recomputed from its index j.
type plan struct {
	j      int
	rec    record
	svc    *service
	kind   int
	high   bool
	n      int
	appts  [3]appt
	anchor int // index of the first holding appointment, or -1
	wait   int // days from authoredOn to the anchor's date (or today)
	status int
	// authored is the order date (offset from today).
	authored int

	uFrac        float64
	fulfilledAgo int
	onHoldDraw   float64
	group        int // slot group of a booked anchor, or -1
}

// apptCount returns how many appointments referral j has. Referrals come
// in blocks of four sharing five appointments (0.8 referrals per
// appointment); the split within a block is random.
func (w *World) apptCount(j int) int {
	b := j / 4
	if b >= w.nBlocks {
		return 1
	}
	r := newRNG(w.seed, sBlock, uint64(b))
	var c [4]int
	switch u := r.float(); {
	case u < 0.80:
		c = [4]int{1, 1, 1, 2}
	case u < 0.92:
		c = [4]int{0, 1, 2, 2}
	case u < 0.97:
		c = [4]int{0, 1, 1, 3}
	default:
		c = [4]int{0, 0, 2, 3}
	}
	for i := 3; i > 0; i-- {
		k := r.intn(i + 1)
		c[i], c[k] = c[k], c[i]
	}
	return c[j%4]
}

// planA computes the parts of referral j that do not depend on slot
// booking: who, where, what kind, the appointment statuses and the wait.
func (w *World) planA(j int) plan {
	r := newRNG(w.seed, sReferral, uint64(j))
	p := plan{j: j, anchor: -1, group: -1}
	var q int
	if j < w.nRec {
		q = int(w.recPerm.at(uint64(j)))
	} else {
		q = r.intn(w.nRec)
	}
	p.rec = w.record(q)
	o := p.rec.org
	p.svc = o.svcs[r.pick(o.svcCDF)]
	p.kind = r.pick(p.svc.kindCDF)
	p.high = o.kind == okUMC && r.float() < w.cfg.HighComplexityShare
	p.n = w.apptCount(j)
	switch p.n {
	case 1:
		p.appts[0].st = distSingle.draw(&r)
	case 2, 3:
		for i := 0; i < p.n-1; i++ {
			p.appts[i].st = distEarlier.draw(&r)
		}
		p.appts[p.n-1].st = distLast.draw(&r)
	}
	x := math.Exp(p.svc.mu[p.kind] + w.delta[p.kind] + kindSigma[p.kind]*r.normal())
	p.wait = int(math.Floor(math.Min(x, 700) + 0.5))
	if p.wait < 1 {
		p.wait = 1
	}
	p.uFrac = r.float()
	p.fulfilledAgo = r.between(1, 90)
	p.onHoldDraw = r.float()
	for i := 0; i < p.n; i++ {
		if holding(p.appts[i].st) {
			p.anchor = i
			break
		}
	}
	if p.anchor >= 0 && p.appts[p.anchor].st == stBooked {
		p.group = slotGroupOf(p.svc, p.kind)
	}
	return p
}

// slotWant returns the day a booked anchor on a slot aims at (uniform
// over the days the wait allows) and the last day it may take.
func (p *plan) slotWant() (want, maxDay int) {
	maxDay = min(p.wait, horizonDays)
	return min(maxDay, 1+int(math.Pow(p.uFrac, 0.7)*float64(maxDay))), maxDay
}

// booker hands out the reserved slots in one pass over the referrals;
// every pass that needs the plans (ServiceRequests, Appointments, HL7,
// the hospital CSV) starts a fresh one and so books the same slots.
type booker struct {
	w   *World
	cur [][58]int32
}

func (w *World) newBooker() *booker { return &booker{w: w, cur: make([][58]int32, w.nGroups)} }

// book takes a reserved slot of the group on day want, else the nearest
// earlier day, else a later day up to maxDay; -1 when none is left.
func (bk *booker) book(g *slotGroup, want, maxDay int) int32 {
	maxDay = min(maxDay, horizonDays)
	want = min(want, maxDay)
	take := func(d int) int32 {
		i := g.dayStart[d] + bk.cur[g.gid][d]
		if i < g.dayStart[d+1] {
			bk.cur[g.gid][d]++
			return g.bookable[i]
		}
		return -1
	}
	for d := want; d >= 1; d-- {
		if s := take(d); s >= 0 {
			return s
		}
	}
	for d := want + 1; d <= maxDay; d++ {
		if s := take(d); s >= 0 {
			return s
		}
	}
	return -1
}

// slotAt decodes a global slot index.
func (w *World) slotAt(idx int32) (sc *schedule, day, start int) {
	i := sort.Search(len(w.scheds), func(i int) bool { return w.scheds[i].slotOff > int(idx) }) - 1
	sc = w.scheds[i]
	k := int32(int(idx) - sc.slotOff)
	j := sort.Search(len(sc.sessions), func(j int) bool { return sc.sessions[j].off > k }) - 1
	ss := sc.sessions[j]
	return sc, int(ss.day), ss.start() + int(k-ss.off)*sc.slotMin
}

// plan computes referral j completely; bk must have booked referrals
// 0..j-1 of this pass.
func (w *World) plan(j int, bk *booker) plan {
	p := w.planA(j)
	r := newRNG(w.seed, sPlace, uint64(j))
	d := w.days
	for i := range p.appts[:p.n] {
		p.appts[i].slot = -1
	}

	// The anchor: the first appointment that ends the wait.
	anchorDay := 0
	if p.anchor >= 0 {
		a := &p.appts[p.anchor]
		switch a.st {
		case stBooked:
			var u int
			if p.group >= 0 {
				u, _ = p.slotWant()
			} else {
				maxU := min(p.wait, 120)
				u = min(maxU, 1+int(p.uFrac*float64(maxU)))
			}
			if p.group >= 0 && p.svc.groups[p.group] != nil {
				u, maxDay := p.slotWant()
				if s := bk.book(p.svc.groups[p.group], u, maxDay); s >= 0 {
					sc, day, start := w.slotAt(s)
					a.slot, a.sched, a.prac = s, sc, sc.prac
					a.day, a.start, a.dur = day, start, sc.slotMin
				}
			}
			if a.slot < 0 {
				a.day = d.forward(u)
				if a.day > p.wait {
					if b := d.backward(u); b >= 1 {
						a.day = b
					} else {
						p.wait = a.day // a very short wait over a weekend
					}
				}
			}
		case stFulfilled:
			a.day = d.backward(-p.fulfilledAgo)
		default: // arrived, checked-in: today
			a.day = 0
		}
		anchorDay = a.day
	}
	p.authored = anchorDay - p.wait

	// The other appointments, around the anchor.
	lo := p.authored + 1
	for i := 0; i < p.n; i++ {
		if i == p.anchor {
			continue
		}
		a := &p.appts[i]
		after := p.anchor >= 0 && i > p.anchor
		base := 0
		if after {
			base = max(anchorDay, 0)
		}
		switch a.st {
		case stNoshow, stFulfilled:
			hi := -1
			from := lo
			if after {
				from = anchorDay + 1
			} else if p.anchor >= 0 {
				hi = min(anchorDay, 0) - 1
			}
			if from <= hi {
				a.day = d.backward(r.between(from, hi))
				if a.day < from {
					a.day = d.forward(from)
				}
			}
			if from > hi || a.day > hi {
				if a.st == stNoshow {
					a.st = stCancelled
				} else {
					a.st = stBooked
				}
			}
		case stArrived, stCheckedIn:
			if anchorDay < 0 {
				a.day = 0
			} else {
				a.st = stBooked
			}
		}
		switch a.st {
		case stBooked, stProposed, stPending:
			a.day = d.forward(r.between(base+1, base+60))
		case stCancelled, stEnteredInError:
			if after {
				a.day = d.forward(r.between(anchorDay+1, anchorDay+30))
			} else if p.anchor >= 0 {
				a.day = d.forward(r.between(lo, max(lo, anchorDay-1)))
			} else {
				a.day = d.forward(r.between(lo, max(lo, 30)))
			}
			a.reason = r.intn(len(cancelReasons))
		}
	}

	// Times, practitioners, creation.
	for i := 0; i < p.n; i++ {
		a := &p.appts[i]
		if a.slot < 0 && a.st != stWaitlist {
			a.start, a.dur = visitTime(&r, p.kind)
		}
		if a.prac == nil {
			a.prac = p.svc.pracs[r.intn(len(p.svc.pracs))]
		}
		last := 0
		if a.st != stWaitlist {
			last = min(a.day, 0)
		}
		a.createdDay = p.authored + min(r.intn(6), max(0, last-p.authored))
		if a.createdDay >= last {
			a.createdMin = 7*60 + r.intn(60)
		} else {
			a.createdMin = 8*60 + r.intn(9*60)
		}
	}

	switch {
	case p.n > 0 && p.appts[p.n-1].st == stFulfilled:
		p.status = srCompleted
	case p.anchor < 0 && p.onHoldDraw < w.cfg.OnHoldShare:
		p.status = srOnHold
	default:
		p.status = srActive
	}
	return p
}

// visitTime returns a start (minutes from midnight) and duration for an
// appointment not on a slot.
func visitTime(r *rng, kind int) (start, dur int) {
	switch kind {
	case kTreatmentDay, kTreatment:
		return 8*60 + 30*r.intn(12), []int{60, 90, 120, 180}[r.intn(4)]
	case kTreatmentInpatient:
		return 7*60 + 30 + 30*r.intn(8), []int{120, 180, 240, 360}[r.intn(4)]
	case kMHCTreatment:
		return 8*60 + 30*r.intn(16), []int{45, 60}[r.intn(2)]
	case kDiagnostics:
		return 8*60 + 15*r.intn(30), []int{20, 30, 45, 60}[r.intn(4)]
	}
	return 8*60 + 15*r.intn(34), []int{10, 15, 20, 30}[r.intn(4)]
}

var cancelReasons = []string{
	"Verhinderd (patiënt)",
	"Spreekuur vervalt wegens ziekte van de arts",
	"Patiënt elders geholpen",
	"Dubbele afspraak",
	"Op verzoek van de patiënt verzet",
	"Operatiekamer niet beschikbaar",
}
