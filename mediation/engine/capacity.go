package engine

import (
	"context"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/wachtwijzer/wachtwijzer/mediation"
)

// CapacityQuery is a parsed $regional-capacity request.
type CapacityQuery struct {
	AsOf       mediation.Day
	Weeks      int
	Specialism string // "" for all
	Region     string // "" for all
	Insurer    string // UZOVI; "" for all members
}

// Cell is one region × specialism.
type Cell struct {
	Region, Specialism string
	// Waiting counts open waits not on hold; Unbooked those without an
	// appointment; Exceeded those past the norm; OnHold the wenswachttijd.
	Waiting, Unbooked, Exceeded, OnHold int64
	// Median and P90 are waiting days over the Waiting waits.
	Median, P90 int
	// Free counts free Slots in [asOf, asOf + weeks) by provider kind.
	Free map[string]int64
	// FreeContracted counts those of providers the insurer contracts.
	FreeContracted int64
}

// FreeTotal is the free Slots of every kind.
func (c *Cell) FreeTotal() int64 {
	var n int64
	for _, v := range c.Free {
		n += v
	}
	return n
}

// WeeksToClear is unbooked waits ÷ free Slots per week; ok is false without
// free Slots.
func (c *Cell) WeeksToClear(weeks int) (float64, bool) {
	f := c.FreeTotal()
	if f == 0 || weeks <= 0 {
		return 0, false
	}
	return math.Round(float64(c.Unbooked)/(float64(f)/float64(weeks))*10) / 10, true
}

// CapacityResult lists the cells per region.
type CapacityResult struct {
	Regions []string
	Cells   map[string][]*Cell // region → cells by specialism
}

// signed is a stream counted positively or negatively.
type signed struct {
	st   mediation.WaitStream
	sign int64
}

type cellStreams struct {
	cell *Cell
	// all-kinds streams per partition: unbooked, booked, on hold.
	u, b, hu, hb []signed
	// exceeded: per partition and kind.
	exU, exB []signed
	seen     map[string]bool // partitions added
}

// RegionalCapacity answers $regional-capacity: waiting demand per region
// (the member's home) and specialism against free Slots per region (the
// Slot's place) and provider kind. Counts come from the regional wait
// orders (ZCOUNT), the percentiles by a binary search over waiting days
// with counts, so no wait is read. An insurer's members on asOf are the
// waits under its coverages ending on or after asOf (or open), less those
// under its coverages starting after asOf.
//
// Concurrent calls with the same query share one computation: a call that
// arrives while an identical one is being computed waits for that result
// (a figure at most one computation old) instead of running the ~10,000
// ZCOUNTs again. The result is shared: callers must not change it.
func (e *Engine) RegionalCapacity(ctx context.Context, q *CapacityQuery) (*CapacityResult, error) {
	key := *q
	e.capMu.Lock()
	if f, ok := e.capFlights[key]; ok {
		e.capMu.Unlock()
		if e.capJoin != nil {
			e.capJoin()
		}
		select {
		case <-f.done:
			return f.res, f.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	f := &capFlight{done: make(chan struct{})}
	if e.capFlights == nil {
		e.capFlights = map[CapacityQuery]*capFlight{}
	}
	e.capFlights[key] = f
	e.capMu.Unlock()
	defer func() {
		e.capMu.Lock()
		delete(e.capFlights, key)
		e.capMu.Unlock()
		close(f.done)
	}()
	// Others may wait on this computation: the first caller leaving must
	// not cancel it.
	f.res, f.err = e.regionalCapacity(context.WithoutCancel(ctx), q)
	return f.res, f.err
}

// capFlight is a $regional-capacity computation in progress.
type capFlight struct {
	done chan struct{}
	res  *CapacityResult
	err  error
}

func (e *Engine) regionalCapacity(ctx context.Context, q *CapacityQuery) (*CapacityResult, error) {
	if e.capHook != nil {
		e.capHook()
	}
	snap, err := e.Directory(ctx)
	if err != nil {
		return nil, err
	}
	parts := map[string]int64{"*": 1}
	if q.Insurer != "" {
		member := snap.Dir.InsurerKeys(q.Insurer)
		all, err := e.index.WaitPartitions(ctx)
		if err != nil {
			return nil, err
		}
		parts = map[string]int64{}
		for _, p := range all {
			if sign := partitionSign(p, member, q.AsOf); sign != 0 {
				parts[p] = sign
			}
		}
	}
	cells := map[string]*cellStreams{}
	get := func(region, spec string) *cellStreams {
		k := region + "|" + spec
		c := cells[k]
		if c == nil {
			c = &cellStreams{cell: &Cell{Region: region, Specialism: spec, Free: map[string]int64{}}, seen: map[string]bool{}}
			cells[k] = c
		}
		return c
	}
	asOf := int64(q.AsOf)
	lo, hi := int64(math.MinInt32), int64(math.MaxInt32)
	mk := func(part, region, spec, kind, class string, l, h int64, sign int64) signed {
		return signed{mediation.WaitStream{Family: mediation.FamilyRegional, Parts: []string{part, region, spec, kind, class}, Lo: l, Hi: h}, sign}
	}
	names := make([]string, 0, len(parts))
	for p := range parts {
		names = append(names, p)
	}
	sort.Strings(names)
	for _, part := range names {
		sign := parts[part]
		list, err := e.index.WaitCells(ctx, part)
		if err != nil {
			return nil, err
		}
		for _, m := range list {
			f := strings.Split(m, "|")
			if len(f) != 3 {
				continue
			}
			region, spec, kind := f[0], f[1], f[2]
			if q.Region != "" && region != q.Region || q.Specialism != "" && spec != q.Specialism {
				continue
			}
			cs := get(region, spec)
			if !cs.seen[part] {
				cs.seen[part] = true
				cs.u = append(cs.u, mk(part, region, spec, "*", mediation.ClassUnbooked, lo, asOf, sign))
				cs.b = append(cs.b, mk(part, region, spec, "*", mediation.ClassBooked, lo, hi, sign))
				cs.hu = append(cs.hu, mk(part, region, spec, "*", mediation.ClassOnHoldUnbooked, lo, asOf, sign))
				cs.hb = append(cs.hb, mk(part, region, spec, "*", mediation.ClassOnHoldBooked, lo, hi, sign))
			}
			k, normSpec := kind, spec
			if k == "-" {
				k = ""
			}
			if normSpec == "-" {
				normSpec = ""
			}
			n := int64(e.cfg.Norms.Days(k, normSpec))
			cs.exU = append(cs.exU, mk(part, region, spec, kind, mediation.ClassUnbooked, lo, asOf-n-1, sign))
			cs.exB = append(cs.exB, mk(part, region, spec, kind, mediation.ClassBooked, lo, -(n+1), sign))
		}
	}
	ordered := make([]*cellStreams, 0, len(cells))
	for _, cs := range cells {
		ordered = append(ordered, cs)
	}
	sort.Slice(ordered, func(i, j int) bool {
		a, b := ordered[i].cell, ordered[j].cell
		return a.Region < b.Region || a.Region == b.Region && a.Specialism < b.Specialism
	})
	// Counts, one round trip.
	var all []mediation.WaitStream
	var signs []int64
	type slice struct {
		field  *int64
		off, n int
	}
	var slices []slice
	for _, cs := range ordered {
		for _, x := range []struct {
			ss    []signed
			field *int64
		}{{cs.u, &cs.cell.Unbooked}, {cs.b, &cs.cell.Waiting}, {cs.exU, &cs.cell.Exceeded}, {cs.exB, &cs.cell.Exceeded}, {cs.hu, &cs.cell.OnHold}, {cs.hb, &cs.cell.OnHold}} {
			slices = append(slices, slice{x.field, len(all), len(x.ss)})
			for _, s := range x.ss {
				all = append(all, s.st)
				signs = append(signs, s.sign)
			}
		}
	}
	counts, err := e.index.CountWaits(ctx, all)
	if err != nil {
		return nil, err
	}
	for _, s := range slices {
		for i := 0; i < s.n; i++ {
			*s.field += signs[s.off+i] * counts[s.off+i]
		}
	}
	for _, cs := range ordered {
		cs.cell.Waiting += cs.cell.Unbooked
	}
	if err := e.percentiles(ctx, ordered, asOf); err != nil {
		return nil, err
	}
	// Free capacity.
	keys, err := e.index.FreeSlotKeys(ctx)
	if err != nil {
		return nil, err
	}
	from := dayStartMs(q.AsOf)
	to := dayStartMs(q.AsOf + mediation.Day(7*q.Weeks))
	var ranges []mediation.SlotRange
	var rcells []*Cell
	var rcontract []bool
	for _, k := range keys {
		sched, spec, _ := strings.Cut(k, "|")
		pl, ok := snap.Places[sched]
		if !ok || pl.Region == "" {
			continue
		}
		eff := spec
		if eff == "-" {
			eff = pl.Specialism
		}
		if eff == "" {
			eff = "-"
		}
		if q.Region != "" && pl.Region != q.Region || q.Specialism != "" && eff != q.Specialism {
			continue
		}
		ranges = append(ranges, mediation.SlotRange{Schedule: sched, Specialism: spec, From: from, To: to})
		c := get(pl.Region, eff).cell
		rcells = append(rcells, c)
		rcontract = append(rcontract, q.Insurer != "" && snap.Dir.Contracted(q.Insurer, pl.Org, q.AsOf))
	}
	fc, err := e.index.CountFreeSlots(ctx, ranges)
	if err != nil {
		return nil, err
	}
	for i, n := range fc {
		kind := snap.Places[ranges[i].Schedule].ProviderKind
		if kind == "" {
			kind = "other"
		}
		rcells[i].Free[kind] += n
		if rcontract[i] {
			rcells[i].FreeContracted += n
		}
	}
	res := &CapacityResult{Cells: map[string][]*Cell{}}
	for _, r := range e.cfg.Regions.List {
		if q.Region == "" || r.Code == q.Region {
			res.Regions = append(res.Regions, r.Code)
		}
	}
	for _, cs := range cells {
		c := cs.cell
		if c.Waiting == 0 && c.OnHold == 0 && c.FreeTotal() == 0 {
			continue
		}
		res.Cells[c.Region] = append(res.Cells[c.Region], c)
	}
	for r := range res.Cells {
		if _, ok := e.cfg.Regions.Lookup(r); !ok {
			res.Regions = append(res.Regions, r) // filed under an older table
		}
		sort.Slice(res.Cells[r], func(i, j int) bool { return res.Cells[r][i].Specialism < res.Cells[r][j].Specialism })
	}
	return res, nil
}

// partitionSign says how a regional partition counts for an insurer on
// asOf: +1 for its coverages ending on or after asOf (or open), −1 for
// those starting after asOf, 0 otherwise.
func partitionSign(part string, member map[string]bool, asOf mediation.Day) int64 {
	k, rest, ok := strings.Cut(part, "@")
	if !ok || !member[k] || len(rest) < 2 {
		return 0
	}
	d := rest[1:]
	switch rest[0] {
	case 'e':
		if d == "-" {
			return 1
		}
		if n, err := strconv.Atoi(d); err == nil && mediation.Day(n) >= asOf {
			return 1
		}
	case 's':
		if n, err := strconv.Atoi(d); err == nil && d != "-" && mediation.Day(n) > asOf {
			return -1
		}
	}
	return 0
}

// percentiles finds each cell's median and p90 waiting days by binary
// search: count(waitDays ≤ v) = Σ unbooked with authoredOn ≥ asOf − v +
// Σ booked with −waitDays ≥ −v. The search starts from the cell's longest
// wait (the first entry of each stream) and runs for all cells at once,
// one round trip per step.
func (e *Engine) percentiles(ctx context.Context, cells []*cellStreams, asOf int64) error {
	type search struct {
		cs     *cellStreams
		target int64
		lo, hi int64 // answer in [lo, hi]
		out    *int
	}
	var firsts []mediation.WaitStream
	for _, cs := range cells {
		for _, x := range append(append([]signed(nil), cs.u...), cs.b...) {
			firsts = append(firsts, x.st)
		}
	}
	days, ok, err := e.index.FirstDays(ctx, firsts)
	if err != nil {
		return err
	}
	var ss []*search
	off := 0
	for _, cs := range cells {
		longest := int64(0)
		for i := range cs.u {
			if ok[off+i] && cs.u[i].sign > 0 {
				longest = max(longest, asOf-days[off+i])
			}
		}
		off += len(cs.u)
		for i := range cs.b {
			if ok[off+i] && cs.b[i].sign > 0 {
				longest = max(longest, -days[off+i])
			}
		}
		off += len(cs.b)
		n := cs.cell.Waiting
		if n == 0 {
			continue
		}
		ss = append(ss, &search{cs: cs, target: int64(mediation.RankIndex(int(n), 0.5)), hi: longest, out: &cs.cell.Median},
			&search{cs: cs, target: int64(mediation.RankIndex(int(n), 0.9)), hi: longest, out: &cs.cell.P90})
	}
	for step := 0; step < 40; step++ {
		var streams []mediation.WaitStream
		var signs []int64
		var offs []int
		active := false
		for _, s := range ss {
			offs = append(offs, len(streams))
			if s.lo >= s.hi {
				continue
			}
			active = true
			v := (s.lo + s.hi) / 2
			for _, u := range s.cs.u {
				st := u.st
				st.Lo = asOf - v
				streams = append(streams, st)
				signs = append(signs, u.sign)
			}
			for _, b := range s.cs.b {
				st := b.st
				st.Lo, st.Hi = -v, math.MaxInt32
				streams = append(streams, st)
				signs = append(signs, b.sign)
			}
		}
		if !active {
			break
		}
		counts, err := e.index.CountWaits(ctx, streams)
		if err != nil {
			return err
		}
		for i, s := range ss {
			if s.lo >= s.hi {
				continue
			}
			v := (s.lo + s.hi) / 2
			var n int64
			for j := 0; j < len(s.cs.u)+len(s.cs.b); j++ {
				n += signs[offs[i]+j] * counts[offs[i]+j]
			}
			if n >= s.target {
				s.hi = v
			} else {
				s.lo = v + 1
			}
		}
	}
	for _, s := range ss {
		*s.out = int(s.lo)
	}
	return nil
}
