package auth

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/redisstore"
)

// Limiter is a per-client fixed-window rate limit in Redis: each window
// (Unix time / Window) has one counter per client, INCR'd per request and
// expiring with the window, so every gateway on the Redis shares it.
type Limiter struct {
	Redis  redis.Cmdable
	Prefix string
	Clock  ww.Clock
	// Requests per Window (0: no limit).
	Requests int
	Window   time.Duration
}

// Allow counts one request of client; it returns 0 when allowed, else how
// long until the window ends (the Retry-After).
func (l *Limiter) Allow(ctx context.Context, client string) (time.Duration, error) {
	if l == nil || l.Requests <= 0 || l.Window <= 0 {
		return 0, nil
	}
	now := l.Clock.Now()
	w := now.UnixMilli() / l.Window.Milliseconds()
	key := redisstore.RateLimitKey(l.Prefix, client, w)
	var incr *redis.IntCmd
	_, err := l.Redis.TxPipelined(ctx, func(p redis.Pipeliner) error {
		incr = p.Incr(ctx, key)
		p.PExpire(ctx, key, l.Window+time.Second)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("auth: rate limit: %w", err)
	}
	if incr.Val() <= int64(l.Requests) {
		return 0, nil
	}
	end := time.UnixMilli((w + 1) * l.Window.Milliseconds())
	return end.Sub(now), nil
}
