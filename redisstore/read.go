package redisstore

import (
	"context"
	"strconv"

	"github.com/redis/go-redis/v9"

	ww "github.com/wachtwijzer/wachtwijzer"
)

// Read returns the current version of a resource.
func (s *Store) Read(ctx context.Context, typ, id string) (*ww.Resource, error) {
	const op = "redisstore.Read"
	p := ww.PrincipalFrom(ctx)
	if err := s.policy.Allow(ctx, p, ww.AccessRead, typ); err != nil {
		return nil, err
	}
	if isProjection(typ) {
		return nil, notFound(typ, id)
	}
	raw, err := s.reads.Get(ctx, s.keys.cur(typ, id)).Bytes()
	if err == redis.Nil {
		return nil, notFound(typ, id)
	}
	if err != nil {
		return nil, redisErr(op, err)
	}
	rec, err := decodeRecord(raw)
	if err != nil {
		return nil, ww.Wrap(op, ww.KindInternal, err, "corrupt stored version")
	}
	if rec.txid != "" {
		if rec, err = s.resolvePending(ctx, typ, id, rec); err != nil {
			return nil, err
		}
		if rec == nil {
			return nil, notFound(typ, id)
		}
	}
	res := rec.resource(typ, id)
	if ok, err := s.policy.Visible(ctx, p, res); err != nil || !ok {
		if err != nil {
			return nil, err
		}
		return nil, notFound(typ, id)
	}
	if res.Deleted {
		return res, &ww.Error{Op: op, Kind: ww.KindGone, Issues: []ww.Issue{{
			Severity: ww.SeverityError, Code: "deleted",
			Diagnostics: typ + "/" + id + " was deleted (version " + strconv.FormatInt(res.VersionID, 10) + ")"}}}
	}
	return res, nil
}

func notFound(typ, id string) error {
	return ww.Errorf(ww.KindNotFound, "not-found", "%s/%s is not known", typ, id)
}

// VRead returns one version of a resource.
func (s *Store) VRead(ctx context.Context, typ, id string, vid int64) (*ww.Resource, error) {
	const op = "redisstore.VRead"
	p := ww.PrincipalFrom(ctx)
	if err := s.policy.Allow(ctx, p, ww.AccessHistory, typ); err != nil {
		return nil, err
	}
	pipe := s.rdb.Pipeline()
	cur := pipe.Get(ctx, s.keys.cur(typ, id))
	old := pipe.HGet(ctx, s.keys.hist(typ, id), strconv.FormatInt(vid, 10))
	_, _ = pipe.Exec(ctx)
	var rec *record
	if raw, err := cur.Bytes(); err == nil {
		r, err := decodeRecord(raw)
		if err != nil {
			return nil, ww.Wrap(op, ww.KindInternal, err, "corrupt stored version")
		}
		if r.txid != "" {
			if r, err = s.resolvePending(ctx, typ, id, r); err != nil {
				return nil, err
			}
		}
		if r != nil && r.vid == vid {
			rec = r
		}
	} else if err != redis.Nil {
		return nil, redisErr(op, err)
	}
	if rec == nil {
		raw, err := old.Bytes()
		if err == redis.Nil {
			return nil, ww.Errorf(ww.KindNotFound, "not-found", "%s/%s has no version %d", typ, id, vid)
		}
		if err != nil {
			return nil, redisErr(op, err)
		}
		if rec, err = decodeRecord(raw); err != nil {
			return nil, ww.Wrap(op, ww.KindInternal, err, "corrupt stored version")
		}
	}
	res := rec.resource(typ, id)
	if ok, err := s.policy.Visible(ctx, p, res); err != nil || !ok {
		if err != nil {
			return nil, err
		}
		return nil, ww.Errorf(ww.KindNotFound, "not-found", "%s/%s has no version %d", typ, id, vid)
	}
	return res, nil
}

// readRecords fetches the current records of ids; missing entries are nil.
// On standalone Redis it is one MGET, so the records are one snapshot: a
// Commit (one script) is either wholly before or wholly after it. On Cluster
// the keys span nodes: readSnapshot gives the same guarantee for Cluster
// transactions. Pending Cluster versions are resolved.
func (s *Store) readRecords(ctx context.Context, typ string, ids []string) ([]*record, error) {
	out := make([]*record, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = s.keys.cur(typ, id)
	}
	if s.cluster != nil {
		return s.readSnapshot(ctx, typ, ids, keys)
	}
	raws, err := s.rdb.MGet(ctx, keys...).Result()
	if err != nil {
		return nil, redisErr("redisstore.readRecords", err)
	}
	return s.decodeRecords(ctx, typ, ids, raws)
}

// recordsOf is one type's share of readRecordsOf.
type recordsOf struct {
	typ string
	ids []string
}

// readRecordsOf is readRecords for several types at once: on standalone
// Redis their MGETs go in one pipeline (one round trip).
func (s *Store) readRecordsOf(ctx context.Context, reqs []recordsOf) ([][]*record, error) {
	out := make([][]*record, len(reqs))
	if s.cluster != nil {
		for i, r := range reqs {
			recs, err := s.readRecords(ctx, r.typ, r.ids)
			if err != nil {
				return nil, err
			}
			out[i] = recs
		}
		return out, nil
	}
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.SliceCmd, len(reqs))
	for i, r := range reqs {
		if len(r.ids) == 0 {
			continue
		}
		keys := make([]string, len(r.ids))
		for j, id := range r.ids {
			keys[j] = s.keys.cur(r.typ, id)
		}
		cmds[i] = pipe.MGet(ctx, keys...)
	}
	if pipe.Len() > 0 {
		if _, err := pipe.Exec(ctx); err != nil {
			return nil, redisErr("redisstore.readRecords", err)
		}
	}
	for i, r := range reqs {
		if cmds[i] == nil {
			out[i] = make([]*record, len(r.ids))
			continue
		}
		recs, err := s.decodeRecords(ctx, r.typ, r.ids, cmds[i].Val())
		if err != nil {
			return nil, err
		}
		out[i] = recs
	}
	return out, nil
}

// decodeRecords decodes an MGET of ids' current records (missing: nil),
// resolving pending Cluster versions.
func (s *Store) decodeRecords(ctx context.Context, typ string, ids []string, raws []any) ([]*record, error) {
	out := make([]*record, len(ids))
	for i, v := range raws {
		raw, ok := v.(string)
		if !ok {
			continue
		}
		rec, err := decodeRecord([]byte(raw))
		if err != nil {
			return nil, ww.Wrap("redisstore.readRecords", ww.KindInternal, err, "corrupt stored version")
		}
		if rec.txid != "" {
			if rec, err = s.resolvePending(ctx, typ, ids[i], rec); err != nil {
				return nil, err
			}
		}
		out[i] = rec
	}
	return out, nil
}
