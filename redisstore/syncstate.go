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

// Delivery is what ClaimDelivery found.
type Delivery struct {
	// Held: the caller holds the lease now. Receipt and DeadLetter are
	// meaningful only then.
	Held bool
	// Receipt is the stored receipt (nil when none), read after the lease
	// was taken.
	Receipt []byte
	// DeadLetter reports whether the dead letter asked about exists.
	DeadLetter bool
	// Reads are the current versions of the resources asked for, read
	// with the claim (nil when none were, as on a Cluster): the delivery's
	// commit plans with them (WithReads) instead of reading them again.
	Reads *Reads
}

// Read names a resource whose current version ClaimDelivery reads along.
type Read struct{ Type, ID string }

// Reads are current versions read ahead of a commit, after the lease was
// taken. Commit, given them in its context (WithReads), plans its first
// attempt with them instead of a round trip of its own: the commit
// script's version checks refuse a plan made from a version that changed
// since, and the next attempt reads afresh. Only plain updates (no
// If-Match, no If-None-Exist) use them, so a stale read can never be taken
// for a failed precondition.
type Reads struct{ cur map[string]*redis.StringCmd }

type readsKey struct{}

// WithReads returns ctx carrying reads for the commit made with it.
func WithReads(ctx context.Context, r *Reads) context.Context {
	if r == nil {
		return ctx
	}
	return context.WithValue(ctx, readsKey{}, r)
}

// readsFrom returns the reads WithReads put in ctx (nil when none).
func readsFrom(ctx context.Context) *Reads {
	r, _ := ctx.Value(readsKey{}).(*Reads)
	return r
}

// read returns what was read of w's current version, when w may be planned
// with it.
func (r *Reads) read(key string, w *ww.Write) *redis.StringCmd {
	if r == nil || w.Op != ww.OpUpdate || w.IfMatch > 0 || w.IfMissing {
		return nil
	}
	return r.cur[key]
}

// ClaimDelivery takes (or renews) a lease and, once it holds it, reads a
// receipt and whether a dead letter exists: the start of one delivery of
// an ingested message. On standalone Redis it is one round trip (the three
// commands run in order on one connection, so the receipt is read after the
// lease is held); on a Cluster, where they live in different slots, the
// reads follow the lease. On standalone Redis the current versions of
// reads come in the same round trip, after the lease (Delivery.Reads).
func (s *Store) ClaimDelivery(ctx context.Context, lease, holder string, ttl time.Duration, receiptKind, receiptKey, dlKind, dlID string, reads ...Read) (Delivery, error) {
	const op = "redisstore.ClaimDelivery"
	if err := checkNames(op, lease, dlKind); err != nil {
		return Delivery{}, err
	}
	if !validReceiptKind(receiptKind) || receiptKey == "" {
		return Delivery{}, ww.Errorf(ww.KindInvalid, "invalid", "invalid receipt %q/%q", receiptKind, receiptKey).WithOp(op)
	}
	if ttl < time.Millisecond {
		ttl = time.Millisecond
	}
	rkey, dkey := s.keys.receipt(receiptKind, receiptKey), s.keys.deadLetter(dlKind, dlID)
	if s.cluster == nil {
		pipe := s.rdb.Pipeline()
		held := leaseScript.EvalSha(ctx, pipe, []string{s.keys.lease(lease)}, holder, ttl.Milliseconds(), "")
		rc := pipe.Get(ctx, rkey)
		dl := pipe.Exists(ctx, dkey)
		var pre *Reads
		if len(reads) > 0 {
			pre = &Reads{cur: make(map[string]*redis.StringCmd, len(reads))}
			for _, r := range reads {
				k := s.keys.cur(r.Type, r.ID)
				pre.cur[k] = pipe.Get(ctx, k)
			}
		}
		_, err := pipe.Exec(ctx)
		if err == nil || err == redis.Nil {
			d, err := delivery(held, rc, dl, op)
			if d.Held {
				d.Reads = pre
			}
			return d, err
		}
		if !redis.HasErrorPrefix(held.Err(), "NOSCRIPT") {
			return Delivery{}, redisErr(op, err)
		}
		// The lease script is not loaded yet: the steps one by one load it.
	}
	ok, err := s.Lease(ctx, lease, holder, ttl)
	if err != nil || !ok {
		return Delivery{}, err
	}
	pipe := s.rdb.Pipeline()
	rc := pipe.Get(ctx, rkey)
	dl := pipe.Exists(ctx, dkey)
	if _, err := pipe.Exec(ctx); err != nil && err != redis.Nil {
		return Delivery{}, redisErr(op, err)
	}
	return delivery(nil, rc, dl, op)
}

// delivery decodes ClaimDelivery's replies (held nil: the lease was taken
// before).
func delivery(held *redis.Cmd, rc *redis.StringCmd, dl *redis.IntCmd, op string) (Delivery, error) {
	if held != nil {
		n, err := held.Int()
		if err != nil {
			return Delivery{}, redisErr(op, err)
		}
		if n != 1 {
			return Delivery{}, nil
		}
	}
	d := Delivery{Held: true, DeadLetter: dl.Val() > 0}
	if err := dl.Err(); err != nil {
		return Delivery{}, redisErr(op, err)
	}
	v, err := rc.Bytes()
	switch {
	case err == redis.Nil:
	case err != nil:
		return Delivery{}, redisErr(op, err)
	default:
		d.Receipt = v
	}
	return d, nil
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
