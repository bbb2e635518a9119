package gen

import (
	"testing"
	"time"
)

func TestDiag(t *testing.T) {
	for _, n := range []int{2000, 100000, 1000000} {
		w, err := New(Config{Seed: 1, Appointments: n, AsOf: time.Date(2026, 3, 20, 10, 0, 0, 0, amsterdam), DeploymentKey: []byte("k")})
		if err != nil {
			t.Fatal(err)
		}
		var st [3]int
		for _, s := range w.slotStatus {
			st[s]++
		}
		bk := w.newBooker()
		var ast [numStatuses]int
		var slotHits, bookedAnchor, groupAnchor int
		var exceed, total [numKinds]int
		var srs [3]int
		for j := 0; j < w.nRef; j++ {
			p := w.plan(j, bk)
			srs[p.status]++
			for i := 0; i < p.n; i++ {
				ast[p.appts[i].st]++
				if p.appts[i].slot >= 0 {
					slotHits++
				}
			}
			if p.anchor >= 0 && p.appts[p.anchor].st == stBooked {
				bookedAnchor++
				if p.group >= 0 {
					groupAnchor++
				}
			}
			total[p.kind]++
			if p.wait > KindNorm[p.kind] {
				exceed[p.kind]++
			}
		}
		t.Logf("n=%d slots free=%d busy=%d bookable=%d  slotHits=%d bookedAnchor=%d groupAnchor=%d groups=%d scheds=%d", n, st[0], st[1], st[2], slotHits, bookedAnchor, groupAnchor, w.nGroups, len(w.scheds))
		for i := range ast {
			t.Logf("  %s %.3f", StatusCodes[i], float64(ast[i])/float64(n))
		}
		for k := range total {
			t.Logf("  kind %s n=%d exceed %.3f (target %.2f) delta %.2f", KindCodes[k], total[k], float64(exceed[k])/float64(max(1, total[k])), w.cfg.exceedShare(k), w.delta[k])
		}
		t.Logf("  sr: %v", srs)
	}
}
