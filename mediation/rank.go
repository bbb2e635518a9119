package mediation

import (
	"fmt"
	"math"
	"sort"
)

// Ranking weighs mediation options. An option's score is
//
//	Contracted·[contracted] + PerDayGained·daysGained − PerKm·distanceKm
//
// with the defaults 30 points for a contracted provider, 1 point per day
// gained and 0.5 points per kilometre: a contracted provider is worth a
// month of waiting, and 60 km of travel cost as much as a month. Ties go to
// the earlier slot, then the nearer, then the slot id.
type Ranking struct {
	Contracted   float64 `json:"contracted"`
	PerDayGained float64 `json:"perDayGained"`
	PerKm        float64 `json:"perKm"`
}

// DefaultRanking returns the documented default weights.
func DefaultRanking() Ranking { return Ranking{Contracted: 30, PerDayGained: 1, PerKm: 0.5} }

// Option is one candidate alternative for a waiting member.
type Option struct {
	Slot, Service, Org string
	SlotDay            Day
	SlotStart          string
	DaysGained         int
	DistanceKm         float64
	HasDistance        bool
	Contracted         bool
	// Set by Rank:
	Score  float64
	Rank   int
	Reason string
}

// Score returns an option's score.
func (w Ranking) Score(o *Option) float64 {
	s := w.PerDayGained*float64(o.DaysGained) - w.PerKm*o.DistanceKm
	if o.Contracted {
		s += w.Contracted
	}
	return math.Round(s*100) / 100
}

// Rank scores and orders options best first, numbering them from 1 and
// writing the reason.
func (w Ranking) Rank(opts []Option) {
	for i := range opts {
		opts[i].Score = w.Score(&opts[i])
	}
	sort.SliceStable(opts, func(i, j int) bool {
		a, b := &opts[i], &opts[j]
		if a.Score != b.Score {
			return a.Score > b.Score
		}
		if a.SlotStart != b.SlotStart {
			return a.SlotStart < b.SlotStart
		}
		if a.DistanceKm != b.DistanceKm {
			return a.DistanceKm < b.DistanceKm
		}
		return a.Slot < b.Slot
	})
	for i := range opts {
		o := &opts[i]
		o.Rank = i + 1
		c := "not contracted"
		if o.Contracted {
			c = "contracted"
		}
		d := "distance unknown"
		if o.HasDistance {
			d = fmt.Sprintf("%.1f km", o.DistanceKm)
		}
		o.Reason = fmt.Sprintf("%s, %d days sooner, %s (score %.2f)", c, o.DaysGained, d, o.Score)
	}
}

// SuppressBelow is the smallest cell published: the NZa suppresses counts
// of fewer than 5 members.
const SuppressBelow = 5

// Suppressed reports whether a cell of n members must be suppressed.
func Suppressed(n int) bool { return n > 0 && n < SuppressBelow }

// Percentile returns the p-quantile (0 < p ≤ 1) of a sorted list by the
// nearest-rank method; ok is false for an empty list.
func Percentile(sorted []int, p float64) (int, bool) {
	if len(sorted) == 0 {
		return 0, false
	}
	k := int(math.Ceil(p*float64(len(sorted)))) - 1
	if k < 0 {
		k = 0
	}
	if k >= len(sorted) {
		k = len(sorted) - 1
	}
	return sorted[k], true
}

// RankIndex is the 1-based rank the nearest-rank p-quantile of n values
// has.
func RankIndex(n int, p float64) int {
	k := int(math.Ceil(p * float64(n)))
	if k < 1 {
		k = 1
	}
	if k > n {
		k = n
	}
	return k
}
