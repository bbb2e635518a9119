package redisstore

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	ww "github.com/wachtwijzer/wachtwijzer"
)

// Receipt returns the value of the receipt kind/key written with a commit
// (ww.Commit.Receipt), or nil when there is none or it expired.
func (s *Store) Receipt(ctx context.Context, kind, key string) ([]byte, error) {
	if !validReceiptKind(kind) {
		return nil, ww.Errorf(ww.KindInvalid, "invalid", "invalid receipt kind %q", kind)
	}
	v, err := s.rdb.Get(ctx, s.keys.receipt(kind, key)).Bytes()
	if err == redis.Nil {
		return nil, nil
	}
	if err != nil {
		return nil, redisErr("redisstore.Receipt", err)
	}
	return v, nil
}

// FindReceipts returns up to limit receipts of kind whose key starts with
// keyPrefix, keyed by their key. It scans the key space (every master of a
// Cluster): meant for operators' look-ups, not for the write path.
func (s *Store) FindReceipts(ctx context.Context, kind, keyPrefix string, limit int) (map[string][]byte, error) {
	const op = "redisstore.FindReceipts"
	if !validReceiptKind(kind) {
		return nil, ww.Errorf(ww.KindInvalid, "invalid", "invalid receipt kind %q", kind)
	}
	if limit <= 0 {
		limit = 100
	}
	pattern := s.keys.receiptPattern(kind, keyPrefix)
	head := s.keys.receipt(kind, "")
	out := map[string][]byte{}
	scan := func(ctx context.Context, c redis.Cmdable) error {
		var cursor uint64
		for len(out) < limit {
			keys, next, err := c.Scan(ctx, cursor, pattern, 1000).Result()
			if err != nil {
				return err
			}
			for _, k := range keys {
				if len(out) >= limit {
					break
				}
				v, err := c.Get(ctx, k).Bytes()
				if err == redis.Nil {
					continue
				}
				if err != nil {
					return err
				}
				out[strings.TrimPrefix(k, head)] = v
			}
			if next == 0 {
				break
			}
			cursor = next
		}
		return nil
	}
	var err error
	if s.cluster != nil {
		err = s.cluster.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error { return scan(ctx, c) })
	} else {
		err = scan(ctx, s.rdb)
	}
	if err != nil {
		return nil, redisErr(op, err)
	}
	return out, nil
}

// DeadLetter is one stored dead letter.
type DeadLetter struct {
	ID       string
	Received time.Time
	Value    []byte
}

// PutDeadLetter stores (or replaces) a dead letter of an ingest channel
// (kind, e.g. "hl7"); it reports whether one with this id existed.
func (s *Store) PutDeadLetter(ctx context.Context, kind, id string, received time.Time, value []byte) (bool, error) {
	return s.deadLetterScript(ctx, "put", kind, id, received, value)
}

// DeleteDeadLetter removes a dead letter; it reports whether it existed.
func (s *Store) DeleteDeadLetter(ctx context.Context, kind, id string) (bool, error) {
	return s.deadLetterScript(ctx, "del", kind, id, time.Time{}, nil)
}

func (s *Store) deadLetterScript(ctx context.Context, op, kind, id string, received time.Time, value []byte) (bool, error) {
	if !validReceiptKind(kind) || !ww.ValidID(id) {
		return false, ww.Errorf(ww.KindInvalid, "invalid", "invalid dead letter %q/%q", kind, id)
	}
	v, err := s.runScript(ctx, "deadletter", s.scripts.deadletter, []string{s.keys.deadLetters(kind), s.keys.deadLetter(kind, id)},
		[]any{op, id, received.UnixMilli(), string(value)})
	if err != nil {
		return false, redisErr("redisstore.DeadLetter", err)
	}
	n, _ := v.(int64)
	return n == 1, nil
}

// GetDeadLetter returns one dead letter; KindNotFound when there is none.
func (s *Store) GetDeadLetter(ctx context.Context, kind, id string) (*DeadLetter, error) {
	if !validReceiptKind(kind) || !ww.ValidID(id) {
		return nil, ww.Errorf(ww.KindNotFound, "not-found", "no dead letter %q", id)
	}
	pipe := s.rdb.Pipeline()
	val := pipe.Get(ctx, s.keys.deadLetter(kind, id))
	score := pipe.ZScore(ctx, s.keys.deadLetters(kind), id)
	if _, err := pipe.Exec(ctx); err != nil && err != redis.Nil {
		return nil, redisErr("redisstore.GetDeadLetter", err)
	}
	b, err := val.Bytes()
	if err == redis.Nil {
		return nil, ww.Errorf(ww.KindNotFound, "not-found", "no dead letter %q", id)
	}
	if err != nil {
		return nil, redisErr("redisstore.GetDeadLetter", err)
	}
	ms, _ := score.Result()
	return &DeadLetter{ID: id, Received: time.UnixMilli(int64(ms)).UTC(), Value: b}, nil
}

// DeadLetters lists dead letters newest first: count of them (default 50)
// received before the cursor (Unix ms; 0: from the newest). next is the
// cursor of the following page, 0 on the last.
func (s *Store) DeadLetters(ctx context.Context, kind string, before int64, count int) (list []*DeadLetter, next int64, err error) {
	const op = "redisstore.DeadLetters"
	if !validReceiptKind(kind) {
		return nil, 0, ww.Errorf(ww.KindInvalid, "invalid", "invalid dead letter kind %q", kind)
	}
	if count <= 0 {
		count = 50
	}
	max := "+inf"
	if before > 0 {
		max = "(" + strconv.FormatInt(before, 10)
	}
	zs, err := s.rdb.ZRevRangeByScoreWithScores(ctx, s.keys.deadLetters(kind), &redis.ZRangeBy{Max: max, Min: "-inf", Count: int64(count) + 1}).Result()
	if err != nil {
		return nil, 0, redisErr(op, err)
	}
	if len(zs) > count {
		zs = zs[:count]
		next = int64(zs[count-1].Score)
	}
	if len(zs) == 0 {
		return nil, 0, nil
	}
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.StringCmd, len(zs))
	for i, z := range zs {
		cmds[i] = pipe.Get(ctx, s.keys.deadLetter(kind, z.Member.(string)))
	}
	if _, err := pipe.Exec(ctx); err != nil && err != redis.Nil {
		return nil, 0, redisErr(op, err)
	}
	for i, z := range zs {
		b, err := cmds[i].Bytes()
		if err != nil {
			continue // removed meanwhile
		}
		list = append(list, &DeadLetter{ID: z.Member.(string), Received: time.UnixMilli(int64(z.Score)).UTC(), Value: b})
	}
	return list, next, nil
}
