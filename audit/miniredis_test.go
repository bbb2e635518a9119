package audit_test

import (
	"context"
	"testing"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/wachtwijzer/wachtwijzer/audit"
	"github.com/wachtwijzer/wachtwijzer/redisstore"
)

// TestMiniredisChain: the chain works on the in-process fallback Redis the
// demo uses without redis-server (its requests are audited too).
func TestMiniredisChain(t *testing.T) {
	m := miniredis.RunT(t)
	c := redis.NewClient(&redis.Options{Addr: m.Addr()})
	st, err := redisstore.Open(context.Background(), redisstore.Options{Client: c, InProcess: true})
	if err != nil {
		t.Fatal(err)
	}
	l := audit.New(st, nil)
	for i := 0; i < 3; i++ {
		if err := l.Record(context.Background(), event(i)); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := l.Verify(context.Background()); err != nil || n != 3 {
		t.Fatal(n, err)
	}
}
