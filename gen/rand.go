package gen

import (
	"math"
	"math/bits"
)

// Counter-based randomness: every entity draws from its own stream, seeded
// by (world seed, stream, index), so any entity can be recomputed in any
// order without generating the ones before it. This is what lets the
// generator stream: the ServiceRequest and Appointment passes recompute a
// referral's plan instead of keeping it.

// Streams.
const (
	sWorld uint64 = iota + 1
	sOrg
	sLoc
	sService
	sPractitioner
	sSchedule
	sSlot
	sPerson
	sRecord
	sReferral
	sBlock
	sPlace
	sInsurer
	sContract
	sCoverage
	sHL7
)

func mix64(z uint64) uint64 {
	z = (z ^ z>>30) * 0xBF58476D1CE4E5B9
	z = (z ^ z>>27) * 0x94D049BB133111EB
	return z ^ z>>31
}

// rng is a splitmix64 generator.
type rng struct{ s uint64 }

func newRNG(seed, stream, idx uint64) rng {
	return rng{s: mix64(seed*0x9E3779B97F4A7C15^mix64(stream*0xD1B54A32D192ED03+0x8CB92BA72F3D8DD7)) ^ mix64(idx+stream<<48+0x632BE59BD9B4E019)}
}

func (r *rng) next() uint64 {
	r.s += 0x9E3779B97F4A7C15
	return mix64(r.s)
}

// float returns a uniform float64 in [0, 1).
func (r *rng) float() float64 { return float64(r.next()>>11) * (1.0 / (1 << 53)) }

// intn returns a uniform int in [0, n); n must be > 0.
func (r *rng) intn(n int) int {
	hi, _ := bits.Mul64(r.next(), uint64(n))
	return int(hi)
}

// between returns a uniform int in [lo, hi].
func (r *rng) between(lo, hi int) int {
	if hi <= lo {
		return lo
	}
	return lo + r.intn(hi-lo+1)
}

// normal returns a standard normal deviate (Box–Muller).
func (r *rng) normal() float64 {
	u1 := r.float()
	for u1 == 0 {
		u1 = r.float()
	}
	u2 := r.float()
	return math.Sqrt(-2*math.Log(u1)) * math.Cos(2*math.Pi*u2)
}

// pick returns an index drawn from a cumulative weight table.
func (r *rng) pick(cdf []float64) int {
	return searchCDF(cdf, r.float()*cdf[len(cdf)-1])
}

func searchCDF(cdf []float64, x float64) int {
	lo, hi := 0, len(cdf)-1
	for lo < hi {
		m := (lo + hi) / 2
		if cdf[m] > x {
			hi = m
		} else {
			lo = m + 1
		}
	}
	return lo
}

// cumulative turns weights into a cumulative table.
func cumulative(w []float64) []float64 {
	out := make([]float64, len(w))
	s := 0.0
	for i, x := range w {
		s += x
		out[i] = s
	}
	return out
}

// affine is a bijection x → (a·x + b) mod m on [0, m), used to turn
// sequence numbers into unique but random-looking hospital numbers.
type affine struct{ a, b, m uint64 }

func newAffine(seed, stream, m uint64) affine {
	r := newRNG(seed, sWorld, stream)
	a := r.next()%m | 1
	for gcd(a, m) != 1 {
		a += 2
	}
	return affine{a: a % m, b: r.next() % m, m: m}
}

func (f affine) at(x uint64) uint64 {
	hi, lo := bits.Mul64(f.a, x%f.m)
	_, rem := bits.Div64(hi, lo, f.m)
	return (rem + f.b) % f.m
}

func gcd(a, b uint64) uint64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}
