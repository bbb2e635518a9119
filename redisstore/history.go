package redisstore

import (
	"context"
	"sort"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/conformance"
)

// maxHistoryCount caps a history page.
const maxHistoryCount = 1000

// History lists versions newest first: of one resource, of a type or of the
// whole system. Deletions appear as tombstone versions.
func (s *Store) History(ctx context.Context, q *ww.HistoryQuery) (*ww.HistoryPage, error) {
	p := ww.PrincipalFrom(ctx)
	count := q.Count
	if count <= 0 {
		count = 50
	}
	if count > maxHistoryCount {
		count = maxHistoryCount
	}
	if q.ID != "" {
		if err := s.policy.Allow(ctx, p, ww.AccessHistory, q.Type); err != nil {
			return nil, err
		}
		return s.instanceHistory(ctx, q, count)
	}
	types := []string{q.Type}
	if q.Type == "" {
		types = conformance.TypeNames()
	}
	var allowed []string
	for _, t := range types {
		if err := s.policy.Allow(ctx, p, ww.AccessHistory, t); err == nil {
			allowed = append(allowed, t)
		} else if q.Type != "" {
			return nil, err
		}
	}
	return s.typeHistory(ctx, allowed, q, count)
}

func (s *Store) instanceHistory(ctx context.Context, q *ww.HistoryQuery, count int) (*ww.HistoryPage, error) {
	const op = "redisstore.History"
	pipe := s.rdb.Pipeline()
	cur := pipe.Get(ctx, s.keys.cur(q.Type, q.ID))
	olds := pipe.HGetAll(ctx, s.keys.hist(q.Type, q.ID))
	if _, err := pipe.Exec(ctx); err != nil && err != redis.Nil {
		return nil, redisErr(op, err)
	}
	var recs []*record
	if raw, err := cur.Bytes(); err == nil {
		rec, err := decodeRecord(raw)
		if err != nil {
			return nil, ww.Wrap(op, ww.KindInternal, err, "corrupt stored version")
		}
		if rec.txid != "" {
			if rec, err = s.resolvePending(ctx, q.Type, q.ID, rec); err != nil {
				return nil, err
			}
		}
		if rec != nil {
			recs = append(recs, rec)
		}
	}
	for _, raw := range olds.Val() {
		rec, err := decodeRecord([]byte(raw))
		if err != nil {
			return nil, ww.Wrap(op, ww.KindInternal, err, "corrupt stored version")
		}
		if len(recs) > 0 && rec.vid == recs[0].vid {
			continue
		}
		recs = append(recs, rec)
	}
	if len(recs) == 0 {
		return nil, notFound(q.Type, q.ID)
	}
	sort.Slice(recs, func(i, j int) bool { return recs[i].vid > recs[j].vid })
	page := &ww.HistoryPage{Total: 0}
	p := ww.PrincipalFrom(ctx)
	var after int64 = -1
	if q.After != nil && len(q.After.Keys) == 1 {
		after, _ = strconv.ParseInt(q.After.Keys[0], 10, 64)
	}
	visible := 0
	for _, rec := range recs {
		res := rec.resource(q.Type, q.ID)
		if ok, err := s.policy.Visible(ctx, p, res); err != nil {
			return nil, err
		} else if !ok {
			continue
		}
		visible++
		if !q.Since.IsZero() && rec.ms < q.Since.UnixMilli() {
			continue
		}
		page.Total++
		if after >= 0 && rec.vid >= after {
			continue
		}
		if len(page.Versions) == count {
			if page.Next == nil {
				last := page.Versions[len(page.Versions)-1]
				page.Next = &ww.Cursor{Keys: []string{strconv.FormatInt(last.VersionID, 10)}}
			}
			continue
		}
		page.Versions = append(page.Versions, res)
	}
	if visible == 0 {
		// Every version hidden by the Policy: the same answer as an id that
		// never existed, _since or not.
		return nil, notFound(q.Type, q.ID)
	}
	return page, nil
}

// histEntry is one entry of a shard's history zset.
type histEntry struct {
	typ, id string
	vid     int64
	ms      int64
	member  string
}

func histLess(a, b histEntry) bool { // newest first, then by type and member
	if a.ms != b.ms {
		return a.ms > b.ms
	}
	if a.typ != b.typ {
		return a.typ > b.typ
	}
	return a.member > b.member
}

func (s *Store) typeHistory(ctx context.Context, types []string, q *ww.HistoryQuery, count int) (*ww.HistoryPage, error) {
	const op = "redisstore.History"
	max := "+inf"
	var cur *histEntry
	if q.After != nil && len(q.After.Keys) == 3 {
		ms, _ := strconv.ParseInt(q.After.Keys[0], 10, 64)
		cur = &histEntry{ms: ms, typ: q.After.Keys[1], member: q.After.Keys[2]}
		max = q.After.Keys[0]
	}
	min := "-inf"
	if !q.Since.IsZero() {
		min = strconv.FormatInt(q.Since.UnixMilli(), 10)
	}
	p := ww.PrincipalFrom(ctx)
	// Fetch a window per shard, merge, and widen until the page is full or
	// the shards run dry (policy may hide entries).
	window := int64(count + 1)
	for {
		pipe := s.rdb.Pipeline()
		type shardCmd struct {
			typ string
			cmd *redis.ZSliceCmd
		}
		var cmds []shardCmd
		for _, t := range types {
			for sh := 0; sh < s.keys.shards; sh++ {
				cmds = append(cmds, shardCmd{t, pipe.ZRevRangeByScoreWithScores(ctx, s.keys.typeHist(t, sh), &redis.ZRangeBy{Max: max, Min: min, Count: window})})
			}
		}
		if _, err := pipe.Exec(ctx); err != nil && err != redis.Nil {
			return nil, redisErr(op, err)
		}
		var entries []histEntry
		exhausted := true
		for _, c := range cmds {
			zs := c.cmd.Val()
			if int64(len(zs)) == window {
				exhausted = false
			}
			for _, z := range zs {
				m, _ := z.Member.(string)
				id, v, ok := strings.Cut(m, "/")
				if !ok {
					continue
				}
				vid, _ := strconv.ParseInt(v, 10, 64)
				e := histEntry{typ: c.typ, id: id, vid: vid, ms: int64(z.Score), member: m}
				if cur != nil && !histLess(*cur, e) {
					continue
				}
				entries = append(entries, e)
			}
		}
		sort.Slice(entries, func(i, j int) bool { return histLess(entries[i], entries[j]) })
		page := &ww.HistoryPage{Total: -1}
		for _, e := range entries {
			res, err := s.versionOf(ctx, e)
			if err != nil {
				return nil, err
			}
			if res == nil {
				continue
			}
			if ok, err := s.policy.Visible(ctx, p, res); err != nil || !ok {
				continue
			}
			if len(page.Versions) == count {
				last := page.Versions[len(page.Versions)-1]
				page.Next = &ww.Cursor{Keys: []string{strconv.FormatInt(last.LastUpdated.UnixMilli(), 10), last.Type, last.ID + "/" + strconv.FormatInt(last.VersionID, 10)}}
				return page, nil
			}
			page.Versions = append(page.Versions, res)
		}
		if exhausted {
			return page, nil
		}
		window *= 4
	}
}

// versionOf loads the version a history entry names.
func (s *Store) versionOf(ctx context.Context, e histEntry) (*ww.Resource, error) {
	res, err := s.VRead(ctx, e.typ, e.id, e.vid)
	if ww.IsKind(err, ww.KindNotFound) {
		return nil, nil
	}
	return res, err
}
