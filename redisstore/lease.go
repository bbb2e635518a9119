package redisstore

import (
	"context"
	"time"

	ww "github.com/wachtwijzer/wachtwijzer"
)

// AcquireLease takes the lease on key in kind for ttl when no one holds it
// (SET NX PX) and returns the token that releases it; ok is false when
// another holder has it. Every gateway on the Redis sees the same leases, so
// a lease serialises work on one key across instances (for example two
// deliveries of one HL7 message on two connections). A holder that dies
// loses the lease after ttl.
func (s *Store) AcquireLease(ctx context.Context, kind, key string, ttl time.Duration) (token string, ok bool, err error) {
	token = ww.NewID()
	ok, err = s.rdb.SetNX(ctx, s.keys.lease(kind, key), token, ttl).Result()
	if err != nil {
		return "", false, redisErr("redisstore.AcquireLease", err)
	}
	if !ok {
		return "", false, nil
	}
	return token, true, nil
}

// ReleaseLease ends the lease on key when token still holds it; a lease
// that expired or passed to another holder is left alone.
func (s *Store) ReleaseLease(ctx context.Context, kind, key, token string) error {
	if err := s.scripts.release.Run(ctx, s.rdb, []string{s.keys.lease(kind, key)}, token).Err(); err != nil {
		return redisErr("redisstore.ReleaseLease", err)
	}
	return nil
}
