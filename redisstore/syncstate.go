package redisstore

import (
	"context"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	ww "github.com/wachtwijzer/wachtwijzer"
)

// The SyncState scripts are small and loaded on first use (EVALSHA with an
// EVAL fallback), so they need no place in the store's script table.
var (
	advanceScript = redis.NewScript(mustRead("scripts/advance.lua"))
	leaseScript   = redis.NewScript(mustRead("scripts/lease.lua"))
)

var _ ww.SyncState = (*Store)(nil)

func validName(s string) error { return ww.ValidStateName(s) }

// ValidName reports whether s can name a pull source, a lease or a state
// document (wachtwijzer.ValidStateName).
func ValidName(s string) error { return validName(s) }

func checkNames(op string, names ...string) error {
	for _, n := range names {
		if err := validName(n); err != nil {
			return ww.Errorf(ww.KindInvalid, "invalid", "%v", err).WithOp(op)
		}
	}
	return nil
}

// Cursor returns the durable cursor of a source's resource type.
func (s *Store) Cursor(ctx context.Context, source, typ string) (time.Time, error) {
	const op = "redisstore.Cursor"
	if err := checkNames(op, source, typ); err != nil {
		return time.Time{}, err
	}
	v, err := s.rdb.HGet(ctx, s.keys.pullCursor(source), typ).Result()
	if err == redis.Nil {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, redisErr(op, err)
	}
	ms, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return time.Time{}, ww.Wrap(op, ww.KindInternal, err, "corrupt pull cursor")
	}
	return time.UnixMilli(ms).UTC(), nil
}

// Advance adds held ids and moves the cursor forward, in one script.
func (s *Store) Advance(ctx context.Context, source, typ string, cursor time.Time, held []string) error {
	const op = "redisstore.Advance"
	if err := checkNames(op, source, typ); err != nil {
		return err
	}
	ms := "0"
	if !cursor.IsZero() {
		ms = strconv.FormatInt(cursor.UnixMilli(), 10)
	}
	args := make([]any, 0, 2+len(held))
	args = append(args, typ, ms)
	for _, id := range held {
		args = append(args, id)
	}
	err := advanceScript.Run(ctx, s.rdb, []string{s.keys.pullCursor(source), s.keys.pullHeld(source, typ)}, args...).Err()
	if err != nil && err != redis.Nil {
		return redisErr(op, err)
	}
	return nil
}

// ResetCursor sets a cursor back (zero removes it).
func (s *Store) ResetCursor(ctx context.Context, source, typ string, t time.Time) error {
	const op = "redisstore.ResetCursor"
	if err := checkNames(op, source, typ); err != nil {
		return err
	}
	var err error
	if t.IsZero() {
		err = s.rdb.HDel(ctx, s.keys.pullCursor(source), typ).Err()
	} else {
		err = s.rdb.HSet(ctx, s.keys.pullCursor(source), typ, t.UnixMilli()).Err()
	}
	return redisErr(op, err)
}

// Held lists the ids held from a source's type.
func (s *Store) Held(ctx context.Context, source, typ string) ([]string, error) {
	const op = "redisstore.Held"
	if err := checkNames(op, source, typ); err != nil {
		return nil, err
	}
	ids, err := s.rdb.SMembers(ctx, s.keys.pullHeld(source, typ)).Result()
	if err != nil {
		return nil, redisErr(op, err)
	}
	return ids, nil
}

// HeldCount counts the ids held from a source's type.
func (s *Store) HeldCount(ctx context.Context, source, typ string) (int64, error) {
	const op = "redisstore.HeldCount"
	if err := checkNames(op, source, typ); err != nil {
		return 0, err
	}
	n, err := s.rdb.SCard(ctx, s.keys.pullHeld(source, typ)).Result()
	return n, redisErr(op, err)
}

// Forget removes ids from a held set.
func (s *Store) Forget(ctx context.Context, source, typ string, ids []string) error {
	const op = "redisstore.Forget"
	if err := checkNames(op, source, typ); err != nil {
		return err
	}
	if len(ids) == 0 {
		return nil
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	return redisErr(op, s.rdb.SRem(ctx, s.keys.pullHeld(source, typ), args...).Err())
}

// Lease acquires or renews a lease.
func (s *Store) Lease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
	const op = "redisstore.Lease"
	if err := checkNames(op, name); err != nil {
		return false, err
	}
	if ttl < time.Millisecond {
		ttl = time.Millisecond
	}
	n, err := leaseScript.Run(ctx, s.rdb, []string{s.keys.lease(name)}, holder, ttl.Milliseconds(), "").Int()
	if err != nil {
		return false, redisErr(op, err)
	}
	return n == 1, nil
}

// ReleaseLease gives a lease up when holder has it.
func (s *Store) ReleaseLease(ctx context.Context, name, holder string) error {
	const op = "redisstore.ReleaseLease"
	if err := checkNames(op, name); err != nil {
		return err
	}
	err := leaseScript.Run(ctx, s.rdb, []string{s.keys.lease(name)}, holder, 1, "release").Err()
	if err != nil && err != redis.Nil {
		return redisErr(op, err)
	}
	return nil
}

// LeaseHolder returns who holds a lease.
func (s *Store) LeaseHolder(ctx context.Context, name string) (string, error) {
	const op = "redisstore.LeaseHolder"
	if err := checkNames(op, name); err != nil {
		return "", err
	}
	h, err := s.rdb.Get(ctx, s.keys.lease(name)).Result()
	if err == redis.Nil {
		return "", nil
	}
	return h, redisErr(op, err)
}

// PutState stores a status document.
func (s *Store) PutState(ctx context.Context, kind, name string, doc []byte, ttl time.Duration) error {
	const op = "redisstore.PutState"
	if err := checkNames(op, kind, name); err != nil {
		return err
	}
	return redisErr(op, s.rdb.Set(ctx, s.keys.state(kind, name), doc, ttl).Err())
}

// GetState returns a status document (nil when absent).
func (s *Store) GetState(ctx context.Context, kind, name string) ([]byte, error) {
	const op = "redisstore.GetState"
	if err := checkNames(op, kind, name); err != nil {
		return nil, err
	}
	b, err := s.rdb.Get(ctx, s.keys.state(kind, name)).Bytes()
	if err == redis.Nil {
		return nil, nil
	}
	if err != nil {
		return nil, redisErr(op, err)
	}
	return b, nil
}

// ReadMany returns the current versions of ids of one type in one round
// trip (one snapshot on standalone Redis); absent ids are nil, deleted ones
// tombstones. Versions the Policy hides are nil.
func (s *Store) ReadMany(ctx context.Context, typ string, ids []string) ([]*ww.Resource, error) {
	p := ww.PrincipalFrom(ctx)
	if err := s.policy.Allow(ctx, p, ww.AccessRead, typ); err != nil {
		return nil, err
	}
	recs, err := s.readRecords(ctx, typ, ids)
	if err != nil {
		return nil, err
	}
	out := make([]*ww.Resource, len(ids))
	for i, rec := range recs {
		if rec == nil {
			continue
		}
		res := rec.resource(typ, ids[i])
		if ok, err := s.policy.Visible(ctx, p, res); err != nil {
			return nil, err
		} else if ok {
			out[i] = res
		}
	}
	return out, nil
}
