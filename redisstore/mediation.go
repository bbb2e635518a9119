package redisstore

import (
	"container/heap"
	"context"
	"encoding/json"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/mediation"
)

var _ mediation.Index = (*Store)(nil)

// Waits returns the wait projections of ServiceRequest ids.
func (s *Store) Waits(ctx context.Context, ids []string) ([]*mediation.WaitRecord, error) {
	recs, err := s.readRecords(ctx, projWait, ids)
	if err != nil {
		return nil, err
	}
	out := make([]*mediation.WaitRecord, len(ids))
	for i, r := range recs {
		if r == nil || r.deleted || r.vid == 0 {
			continue
		}
		var w mediation.WaitRecord
		if err := json.Unmarshal(r.json, &w); err != nil {
			return nil, ww.Wrap("redisstore.Waits", ww.KindInternal, err, "corrupt wait projection")
		}
		out[i] = &w
	}
	return out, nil
}

// ReadLive reads current resources by id, applying the Policy; missing,
// deleted or invisible ones are nil (ReadMany keeps tombstones).
func (s *Store) ReadLive(ctx context.Context, typ string, ids []string) ([]*ww.Resource, error) {
	p := ww.PrincipalFrom(ctx)
	if err := s.policy.Allow(ctx, p, ww.AccessRead, typ); err != nil {
		return nil, err
	}
	recs, err := s.readRecords(ctx, typ, ids)
	if err != nil {
		return nil, err
	}
	out := make([]*ww.Resource, len(ids))
	for i, r := range recs {
		if r == nil || r.deleted || r.vid == 0 {
			continue
		}
		res := r.resource(typ, ids[i])
		ok, err := s.policy.Visible(ctx, p, res)
		if err != nil {
			return nil, err
		}
		if ok {
			out[i] = res
		}
	}
	return out, nil
}

// Refresh picks up the index generation the mediation reads use. Search
// scripts notice a reindex by their fences; the mediation indexes have no
// script of their own, so the insurer operations call this first (one
// HGET): a reindex run by another process moves the generation.
func (s *Store) Refresh(ctx context.Context) error {
	g, err := s.rdb.HGet(ctx, s.keys.layout(), "gen").Int64()
	if err != nil {
		return redisErr("redisstore.Refresh", err)
	}
	if g != s.gen.Load() {
		return s.refreshGen(ctx)
	}
	return nil
}

// Versions sums the version counts of types: it changes with every write,
// delete included. One zcount.lua call on standalone Redis (the tenancy
// Policy asks it once per insurer request), a pipeline on a Cluster.
func (s *Store) Versions(ctx context.Context, types []string) (int64, error) {
	var ranges []zrange
	for _, t := range types {
		for sh := 0; sh < s.keys.shards; sh++ {
			ranges = append(ranges, zrange{key: s.keys.typeHist(t, sh), min: "-inf", max: "+inf"})
		}
	}
	counts, err := s.zcounts(ctx, ranges)
	if err != nil {
		return 0, ww.Wrap("redisstore.Versions", ww.KindOf(err), err, "the version counts cannot be read")
	}
	var n int64
	for _, c := range counts {
		n += c
	}
	return n, nil
}

func (s *Store) medMembers(ctx context.Context, family, typ, name string, parts ...string) ([]string, error) {
	pipe := s.rdb.Pipeline()
	var cmds []*redis.StringSliceCmd
	for _, sh := range s.keys.medShards() {
		cmds = append(cmds, pipe.SMembers(ctx, s.kr().med(family, typ, sh, name, parts...)))
	}
	if _, err := pipe.Exec(ctx); err != nil && err != redis.Nil {
		return nil, redisErr("redisstore.mediation", err)
	}
	seen := map[string]bool{}
	var out []string
	for _, c := range cmds {
		for _, m := range c.Val() {
			if !seen[m] {
				seen[m] = true
				out = append(out, m)
			}
		}
	}
	sort.Strings(out)
	return out, nil
}

// WaitPartitions lists the regional partitions seen.
func (s *Store) WaitPartitions(ctx context.Context) ([]string, error) {
	return s.medMembers(ctx, "wait", projWait, "~wrp")
}

// WaitCells lists the regional cells seen in a partition.
func (s *Store) WaitCells(ctx context.Context, partition string) ([]string, error) {
	return s.medMembers(ctx, "wait", projWait, "~wrc", partition)
}

// FirstDays returns the lowest day value p of each stream within its
// bounds (ok false when the stream is empty there).
func (s *Store) FirstDays(ctx context.Context, streams []mediation.WaitStream) ([]int64, []bool, error) {
	pipe := s.rdb.Pipeline()
	type ref struct {
		i   int
		cmd *redis.ZSliceCmd
	}
	var cmds []ref
	for i := range streams {
		st := &streams[i]
		for _, k := range s.streamKeys(st) {
			cmds = append(cmds, ref{i, pipe.ZRangeByScoreWithScores(ctx, k, &redis.ZRangeBy{Min: fmtIntScore(boundLo(st.Lo)), Max: fmtIntScore(boundHi(st.Hi)), Count: 1})})
		}
	}
	out := make([]int64, len(streams))
	ok := make([]bool, len(streams))
	if len(cmds) == 0 {
		return out, ok, nil
	}
	if _, err := pipe.Exec(ctx); err != nil && err != redis.Nil {
		return nil, nil, redisErr("redisstore.FirstDays", err)
	}
	for _, c := range cmds {
		for _, z := range c.cmd.Val() {
			p := int64(z.Score) >> 32
			if !ok[c.i] || p < out[c.i] {
				out[c.i], ok[c.i] = p, true
			}
		}
	}
	return out, ok, nil
}

// FreeSlotKeyCount counts the schedule|specialism pairs seen.
func (s *Store) FreeSlotKeyCount(ctx context.Context) (int64, error) {
	pipe := s.rdb.Pipeline()
	var cmds []*redis.IntCmd
	for _, sh := range s.keys.medShards() {
		cmds = append(cmds, pipe.SCard(ctx, s.kr().med("slotcap", "Slot", sh, "~fsk")))
	}
	if _, err := pipe.Exec(ctx); err != nil && err != redis.Nil {
		return 0, redisErr("redisstore.FreeSlotKeyCount", err)
	}
	var n int64
	for _, c := range cmds {
		n += c.Val()
	}
	return n, nil
}

// FreeSlotKeys lists the schedule|specialism pairs seen.
func (s *Store) FreeSlotKeys(ctx context.Context) ([]string, error) {
	return s.medMembers(ctx, "slotcap", "Slot", "~fsk")
}

func (s *Store) streamKeys(st *mediation.WaitStream) []string {
	k := s.kr()
	// The generation is part of the cache key: a reindex renames them all.
	ck := strconv.Itoa(k.gen) + "\x00" + st.Family + "\x00" + strings.Join(st.Parts, "\x00")
	if v, ok := s.streamKeyCache.Load(ck); ok {
		return v.([]string)
	}
	var out []string
	for _, sh := range k.medShards() {
		out = append(out, k.med("wait", projWait, sh, st.Family, st.Parts...))
	}
	s.streamKeyCache.Store(ck, out)
	return out
}

func boundLo(p int64) int64 {
	if p <= -(1 << 20) {
		return math.MinInt64
	}
	return p << 32
}

func boundHi(p int64) int64 {
	if p >= 1<<20 {
		return math.MaxInt64
	}
	return p<<32 | 0xFFFFFFFF
}

func fmtIntScore(v int64) string {
	switch v {
	case math.MinInt64:
		return "-inf"
	case math.MaxInt64:
		return "+inf"
	}
	return strconv.FormatInt(v, 10)
}

// CountWaits counts each stream's waits within its bounds.
func (s *Store) CountWaits(ctx context.Context, streams []mediation.WaitStream) ([]int64, error) {
	var ranges []zrange
	var owner []int
	for i := range streams {
		st := &streams[i]
		if st.Lo > st.Hi {
			continue
		}
		for _, k := range s.streamKeys(st) {
			ranges = append(ranges, zrange{k, fmtIntScore(boundLo(st.Lo)), fmtIntScore(boundHi(st.Hi))})
			owner = append(owner, i)
		}
	}
	counts, err := s.zcounts(ctx, ranges)
	if err != nil {
		return nil, err
	}
	out := make([]int64, len(streams))
	for j, n := range counts {
		out[owner[j]] += n
	}
	return out, nil
}

type zrange struct{ key, min, max string }

// zcountChunk bounds one zcount.lua call.
const zcountChunk = 4000

// zcounts counts many score ranges: on standalone Redis with zcount.lua,
// a few thousand ranges per call; on a Cluster (keys in many slots) in one
// pipeline.
func (s *Store) zcounts(ctx context.Context, ranges []zrange) ([]int64, error) {
	out := make([]int64, len(ranges))
	if len(ranges) == 0 {
		return out, nil
	}
	if s.cluster != nil {
		pipe := s.rdb.Pipeline()
		cmds := make([]*redis.IntCmd, len(ranges))
		for i, r := range ranges {
			cmds[i] = pipe.ZCount(ctx, r.key, r.min, r.max)
		}
		if _, err := pipe.Exec(ctx); err != nil && err != redis.Nil {
			return nil, redisErr("redisstore.zcounts", err)
		}
		for i, c := range cmds {
			out[i] = c.Val()
		}
		return out, nil
	}
	for off := 0; off < len(ranges); off += zcountChunk {
		part := ranges[off:min(off+zcountChunk, len(ranges))]
		keys := make([]string, len(part))
		args := make([]any, 0, 2*len(part))
		for i, r := range part {
			keys[i] = r.key
			args = append(args, r.min, r.max)
		}
		v, err := s.runScript(ctx, "zcount", s.scripts.zcount, keys, args)
		if err != nil {
			return nil, redisErr("redisstore.zcounts", err)
		}
		arr, _ := v.([]any)
		for i := range part {
			if i < len(arr) {
				n, _ := arr[i].(int64)
				out[off+i] = n
			}
		}
	}
	return out, nil
}

type waitEntry struct {
	id     string
	score  int64
	excess int
	wait   int
	st     *mediation.WaitStream
}

func before(a, b *waitEntry) bool {
	if a.excess != b.excess {
		return a.excess > b.excess
	}
	if a.wait != b.wait {
		return a.wait > b.wait
	}
	return a.id < b.id
}

type waitSource struct {
	key      string
	st       *mediation.WaitStream
	min, max int64
	// offset skips the first entries at exactly score min (already read,
	// or before the cursor): equal scores order by member, so an offset is
	// exact where an "id after" filter could stall on a long run of equal
	// scores.
	offset int64
	// tieID, when set, asks the first refill to count the entries at min
	// whose id is not after it (the cursor's position in a run).
	tieID string
	buf   []waitEntry
	done  bool
	chunk int
}

type sourceHeap []*waitSource

func (h sourceHeap) Len() int           { return len(h) }
func (h sourceHeap) Less(i, j int) bool { return before(&h[i].buf[0], &h[j].buf[0]) }
func (h sourceHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *sourceHeap) Push(x any)        { *h = append(*h, x.(*waitSource)) }
func (h *sourceHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// start positions a source after the cursor: within a stream the order is
// p ascending, then id; a cursor (e, w, id) maps to p0 = C − e.
func (src *waitSource) start(after *mediation.WaitCursor) {
	st := src.st
	src.min, src.max = boundLo(st.Lo), boundHi(st.Hi)
	if after == nil {
		return
	}
	p0 := st.C - int64(after.Excess)
	var lo int64
	switch w := int64(after.Excess) + st.Norm; {
	case w < int64(after.Wait):
		lo = boundLo(p0) // same excess, fewer days: all of p0 follows
	case w > int64(after.Wait):
		lo = boundLo(p0 + 1)
	default:
		lo = WaitScore(p0, after.ID)
		src.tieID = after.ID
	}
	if lo > src.min {
		src.min = lo
	}
}

// refill fetches the next chunk of every source in need, in one pipeline
// (after one more for sources that must first find their cursor in a run
// of equal scores).
func (s *Store) refill(ctx context.Context, srcs []*waitSource) error {
	pipe := s.rdb.Pipeline()
	var ties []*waitSource
	var tieCmds []*redis.StringSliceCmd
	for _, src := range srcs {
		if src.tieID != "" {
			if src.min > boundHi(src.st.Hi) {
				src.tieID = ""
				continue
			}
			ties = append(ties, src)
			tieCmds = append(tieCmds, pipe.ZRangeByScore(ctx, src.key, &redis.ZRangeBy{Min: fmtIntScore(src.min), Max: fmtIntScore(src.min)}))
		}
	}
	if len(ties) > 0 {
		if _, err := pipe.Exec(ctx); err != nil && err != redis.Nil {
			return redisErr("redisstore.ScanWaits", err)
		}
		for i, src := range ties {
			for _, m := range tieCmds[i].Val() {
				if m <= src.tieID {
					src.offset++
				}
			}
			src.tieID = ""
		}
	}
	cmds := make([]*redis.ZSliceCmd, len(srcs))
	for i, src := range srcs {
		cmds[i] = pipe.ZRangeByScoreWithScores(ctx, src.key, &redis.ZRangeBy{Min: fmtIntScore(src.min), Max: fmtIntScore(src.max), Offset: src.offset, Count: int64(src.chunk)})
	}
	if _, err := pipe.Exec(ctx); err != nil && err != redis.Nil {
		return redisErr("redisstore.ScanWaits", err)
	}
	for i, src := range srcs {
		zs := cmds[i].Val()
		if len(zs) < src.chunk {
			src.done = true
		}
		for _, z := range zs {
			id, _ := z.Member.(string)
			sc := int64(z.Score)
			p := sc >> 32
			e := waitEntry{id: id, score: sc, excess: int(src.st.C - p), st: src.st}
			e.wait = e.excess + int(src.st.Norm)
			src.buf = append(src.buf, e)
		}
		if n := len(zs); n > 0 {
			last := int64(zs[n-1].Score)
			run := int64(0)
			for j := n - 1; j >= 0 && int64(zs[j].Score) == last; j-- {
				run++
			}
			if last == src.min {
				src.offset += run
			} else {
				src.min, src.offset = last, run
			}
		}
		if src.chunk < 1024 {
			src.chunk *= 2
		}
	}
	return nil
}

// ScanWaits merges the streams in $long-waits order and filters the
// candidates (their records read in batches), up to Limit accepted waits or
// the budget.
func (s *Store) ScanWaits(ctx context.Context, q *mediation.WaitScan) (*mediation.WaitPage, error) {
	limit := q.Limit
	if limit < 0 {
		limit = 0
	}
	budget := q.Budget
	if budget <= 0 {
		budget = 50000
	}
	var srcs []*waitSource
	for i := range q.Streams {
		st := &q.Streams[i]
		if st.Lo > st.Hi {
			continue
		}
		for _, k := range s.streamKeys(st) {
			src := &waitSource{key: k, st: st}
			src.start(q.After)
			srcs = append(srcs, src)
		}
	}
	chunk := 2 * (limit + 1) / max(1, len(srcs))
	chunk = min(max(chunk, 8), limit+1)
	for _, src := range srcs {
		src.chunk = max(chunk, 2)
	}
	page := &mediation.WaitPage{}
	h := &sourceHeap{}
	pendingRefill := srcs
	seen := map[string]bool{}
	var accepted []mediation.WaitHit
	var lastExamined *waitEntry
	batchSize := min(max(2*limit, 32), 512)
	for len(accepted) <= limit {
		var batch []waitEntry
		for len(batch) < batchSize {
			if len(pendingRefill) > 0 {
				if err := s.refill(ctx, pendingRefill); err != nil {
					return nil, err
				}
				for _, src := range pendingRefill {
					if len(src.buf) > 0 {
						heap.Push(h, src)
					}
				}
				pendingRefill = nil
			}
			if h.Len() == 0 {
				break
			}
			src := (*h)[0]
			e := src.buf[0]
			src.buf = src.buf[1:]
			if len(src.buf) == 0 {
				heap.Pop(h)
				if !src.done {
					pendingRefill = append(pendingRefill, src)
				}
			} else {
				heap.Fix(h, 0)
			}
			if seen[e.id] {
				continue
			}
			batch = append(batch, e)
		}
		if len(batch) == 0 {
			break
		}
		ids := make([]string, len(batch))
		for i := range batch {
			ids[i] = batch[i].id
		}
		recs, err := s.Waits(ctx, ids)
		if err != nil {
			return nil, err
		}
		stop := false
		for i := range batch {
			page.Examined++
			lastExamined = &batch[i]
			if seen[batch[i].id] {
				continue
			}
			if q.Filter == nil || q.Filter(batch[i].id, recs[i], batch[i].st) {
				if recs[i] == nil {
					continue
				}
				seen[batch[i].id] = true
				accepted = append(accepted, mediation.WaitHit{ID: batch[i].id, Excess: batch[i].excess, Wait: batch[i].wait, Rec: recs[i]})
				if len(accepted) > limit {
					stop = true
					break
				}
			}
			if page.Examined >= budget {
				page.Truncated = true
				stop = true
				break
			}
		}
		if stop {
			break
		}
	}
	switch {
	case len(accepted) > limit:
		accepted = accepted[:limit]
		if limit > 0 {
			last := accepted[limit-1]
			page.Next = &mediation.WaitCursor{Excess: last.Excess, Wait: last.Wait, ID: last.ID}
		}
	case page.Truncated && lastExamined != nil:
		page.Next = &mediation.WaitCursor{Excess: lastExamined.excess, Wait: lastExamined.wait, ID: lastExamined.id}
	}
	page.Hits = accepted
	return page, nil
}

func (s *Store) slotKeys(r *mediation.SlotRange) []string {
	var out []string
	for _, sh := range s.keys.medShards() {
		out = append(out, s.kr().med("slotcap", "Slot", sh, "~fs", r.Schedule, r.Specialism))
	}
	return out
}

func slotMin(r *mediation.SlotRange) int64 {
	if r.AfterID != "" && r.AfterStart > r.From {
		return r.AfterStart
	}
	return r.From
}

// FreeSlots returns the free Slots of each range by (start, id).
func (s *Store) FreeSlots(ctx context.Context, ranges []mediation.SlotRange) ([][]mediation.SlotHit, error) {
	pipe := s.rdb.Pipeline()
	type ref struct {
		i   int
		cmd *redis.ZSliceCmd
	}
	// After a cursor, the slots at exactly the cursor's start may lie
	// before it (by id): fetch that many more.
	ties := map[string]int64{}
	var tieCmds []*redis.IntCmd
	var tieKeys []string
	for i := range ranges {
		r := &ranges[i]
		if r.AfterID == "" || r.Limit <= 0 || r.To <= r.From || r.AfterStart < r.From {
			continue
		}
		at := strconv.FormatInt(r.AfterStart, 10)
		for _, k := range s.slotKeys(r) {
			tieKeys = append(tieKeys, k+"\x00"+at)
			tieCmds = append(tieCmds, pipe.ZCount(ctx, k, at, at))
		}
	}
	if len(tieCmds) > 0 {
		if _, err := pipe.Exec(ctx); err != nil && err != redis.Nil {
			return nil, redisErr("redisstore.FreeSlots", err)
		}
		for i, c := range tieCmds {
			ties[tieKeys[i]] = c.Val()
		}
	}
	var cmds []ref
	for i := range ranges {
		r := &ranges[i]
		if r.Limit <= 0 || r.To <= r.From {
			continue
		}
		for _, k := range s.slotKeys(r) {
			extra := ties[k+"\x00"+strconv.FormatInt(r.AfterStart, 10)]
			cmds = append(cmds, ref{i, pipe.ZRangeByScoreWithScores(ctx, k, &redis.ZRangeBy{Min: strconv.FormatInt(slotMin(r), 10), Max: "(" + strconv.FormatInt(r.To, 10), Count: int64(r.Limit) + extra})})
		}
	}
	out := make([][]mediation.SlotHit, len(ranges))
	if len(cmds) == 0 {
		return out, nil
	}
	if _, err := pipe.Exec(ctx); err != nil && err != redis.Nil {
		return nil, redisErr("redisstore.FreeSlots", err)
	}
	for _, c := range cmds {
		r := &ranges[c.i]
		for _, z := range c.cmd.Val() {
			id, _ := z.Member.(string)
			st := int64(z.Score)
			if r.AfterID != "" && (st < r.AfterStart || st == r.AfterStart && id <= r.AfterID) {
				continue
			}
			out[c.i] = append(out[c.i], mediation.SlotHit{ID: id, Start: st})
		}
	}
	for i := range out {
		hs := out[i]
		sort.Slice(hs, func(a, b int) bool {
			if hs[a].Start != hs[b].Start {
				return hs[a].Start < hs[b].Start
			}
			return hs[a].ID < hs[b].ID
		})
		if len(hs) > ranges[i].Limit {
			out[i] = hs[:ranges[i].Limit]
		}
	}
	return out, nil
}

// CountFreeSlots counts each range's free Slots.
func (s *Store) CountFreeSlots(ctx context.Context, ranges []mediation.SlotRange) ([]int64, error) {
	var zr []zrange
	var owner []int
	for i := range ranges {
		r := &ranges[i]
		if r.To <= r.From {
			continue
		}
		for _, k := range s.slotKeys(r) {
			zr = append(zr, zrange{k, strconv.FormatInt(r.From, 10), "(" + strconv.FormatInt(r.To, 10)})
			owner = append(owner, i)
		}
	}
	counts, err := s.zcounts(ctx, zr)
	if err != nil {
		return nil, err
	}
	out := make([]int64, len(ranges))
	for j, n := range counts {
		out[owner[j]] += n
	}
	return out, nil
}

// slotSource is one key of a free-slot scan, continued by score and offset
// (runs of equal starts are long: every clinic starts at 08:00).
type slotSource struct {
	key    string
	spec   string
	min    int64
	max    string
	offset int64
	tieID  string
	buf    []mediation.SlotHit
	done   bool
	chunk  int
}

func splitSlotMember(m string) (slot, sched string) {
	slot, sched, _ = strings.Cut(m, "\x00")
	return
}

func (s *Store) refillSlots(ctx context.Context, srcs []*slotSource) error {
	pipe := s.rdb.Pipeline()
	var ties []*slotSource
	var tieCmds []*redis.StringSliceCmd
	for _, src := range srcs {
		if src.tieID != "" {
			at := strconv.FormatInt(src.min, 10)
			ties = append(ties, src)
			tieCmds = append(tieCmds, pipe.ZRangeByScore(ctx, src.key, &redis.ZRangeBy{Min: at, Max: at}))
		}
	}
	if len(ties) > 0 {
		if _, err := pipe.Exec(ctx); err != nil && err != redis.Nil {
			return redisErr("redisstore.ScanFreeSlots", err)
		}
		for i, src := range ties {
			for _, m := range tieCmds[i].Val() {
				if slot, _ := splitSlotMember(m); slot <= src.tieID {
					src.offset++
				}
			}
			src.tieID = ""
		}
	}
	cmds := make([]*redis.ZSliceCmd, len(srcs))
	for i, src := range srcs {
		cmds[i] = pipe.ZRangeByScoreWithScores(ctx, src.key, &redis.ZRangeBy{Min: strconv.FormatInt(src.min, 10), Max: src.max, Offset: src.offset, Count: int64(src.chunk)})
	}
	if _, err := pipe.Exec(ctx); err != nil && err != redis.Nil {
		return redisErr("redisstore.ScanFreeSlots", err)
	}
	for i, src := range srcs {
		zs := cmds[i].Val()
		if len(zs) < src.chunk {
			src.done = true
		}
		for _, z := range zs {
			m, _ := z.Member.(string)
			slot, sched := splitSlotMember(m)
			src.buf = append(src.buf, mediation.SlotHit{ID: slot, Start: int64(z.Score), Schedule: sched, Spec: src.spec})
		}
		if n := len(zs); n > 0 {
			last := int64(zs[n-1].Score)
			run := int64(0)
			for j := n - 1; j >= 0 && int64(zs[j].Score) == last; j-- {
				run++
			}
			if last == src.min {
				src.offset += run
			} else {
				src.min, src.offset = last, run
			}
		}
		if src.chunk < 2048 {
			src.chunk *= 2
		}
	}
	return nil
}

// ScanFreeSlots merges the free-slot orders of some specialisms by
// (start, slot id) and keeps the slots Accept takes.
func (s *Store) ScanFreeSlots(ctx context.Context, q *mediation.FreeScan) ([]mediation.SlotHit, bool, error) {
	budget := q.Budget
	if budget <= 0 {
		budget = 20000
	}
	var srcs []*slotSource
	for _, spec := range q.Specs {
		for _, sh := range s.keys.medShards() {
			src := &slotSource{key: s.kr().med("slotcap", "Slot", sh, "~fsx", spec), spec: spec, min: q.From, max: "(" + strconv.FormatInt(q.To, 10), chunk: max(8, min(q.Limit+1, 64))}
			if q.AfterID != "" && q.AfterStart >= q.From {
				src.min, src.tieID = q.AfterStart, q.AfterID
			}
			srcs = append(srcs, src)
		}
	}
	less := func(a, b *mediation.SlotHit) bool {
		if a.Start != b.Start {
			return a.Start < b.Start
		}
		return a.ID < b.ID
	}
	var out []mediation.SlotHit
	examined := 0
	pending := srcs
	live := []*slotSource{}
	for len(out) < q.Limit {
		if len(pending) > 0 {
			if err := s.refillSlots(ctx, pending); err != nil {
				return nil, false, err
			}
			for _, src := range pending {
				if len(src.buf) > 0 {
					live = append(live, src)
				}
			}
			pending = nil
		}
		if len(live) == 0 {
			return out, true, nil
		}
		best := 0
		for i := 1; i < len(live); i++ {
			if less(&live[i].buf[0], &live[best].buf[0]) {
				best = i
			}
		}
		src := live[best]
		h := src.buf[0]
		src.buf = src.buf[1:]
		if len(src.buf) == 0 {
			live = append(live[:best], live[best+1:]...)
			if !src.done {
				pending = append(pending, src)
			}
		}
		examined++
		if q.Accept == nil || q.Accept(&h) {
			out = append(out, h)
		}
		if examined >= budget {
			return out, false, nil
		}
	}
	return out, true, nil
}
