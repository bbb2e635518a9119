package auth

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/redisstore"
)

// Limiter is a per-client fixed-window rate limit in Redis: each window
// (Unix time / Window) has one counter per client, expiring with the
// window, so every gateway on the Redis shares it. To spare a Redis round
// trip per request a gateway reserves its client's allowance in chunks
// (INCRBY; a 50th of the limit, at most 100) and spends them locally: the
// counter never grants more than Requests in a window, and a chunk one
// gateway holds unspent refuses others at most that much early.
type Limiter struct {
	Redis  redis.Cmdable
	Prefix string
	Clock  ww.Clock
	// Requests per Window (0: no limit).
	Requests int
	Window   time.Duration

	mu    sync.Mutex
	local map[string]*allowance
}

// allowance is what this gateway reserved for a client in one window.
type allowance struct {
	window int64
	left   int64
}

// Allow counts one request of client; it returns 0 when allowed, else how
// long until the window ends (the Retry-After).
func (l *Limiter) Allow(ctx context.Context, client string) (time.Duration, error) {
	if l == nil || l.Requests <= 0 || l.Window <= 0 {
		return 0, nil
	}
	now := l.Clock.Now()
	w := now.UnixMilli() / l.Window.Milliseconds()
	end := time.UnixMilli((w + 1) * l.Window.Milliseconds())
	l.mu.Lock()
	if a := l.local[client]; a != nil && a.window == w && a.left > 0 {
		a.left--
		l.mu.Unlock()
		return 0, nil
	}
	l.mu.Unlock()
	chunk := int64(l.Requests / 50)
	if chunk < 1 {
		chunk = 1
	}
	if chunk > 100 {
		chunk = 100
	}
	key := redisstore.RateLimitKey(l.Prefix, client, w)
	var incr *redis.IntCmd
	_, err := l.Redis.TxPipelined(ctx, func(p redis.Pipeliner) error {
		incr = p.IncrBy(ctx, key, chunk)
		p.PExpire(ctx, key, l.Window+time.Second)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("auth: rate limit: %w", err)
	}
	total := incr.Val()
	granted := chunk
	if over := total - int64(l.Requests); over > 0 {
		granted -= over
	}
	if granted <= 0 {
		return end.Sub(now), nil
	}
	l.mu.Lock()
	if l.local == nil || len(l.local) > 100000 {
		l.local = map[string]*allowance{}
	}
	l.local[client] = &allowance{window: w, left: granted - 1}
	l.mu.Unlock()
	return 0, nil
}
