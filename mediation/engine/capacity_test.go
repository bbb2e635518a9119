package engine

import (
	"context"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wachtwijzer/wachtwijzer/internal/redistest"
	"github.com/wachtwijzer/wachtwijzer/mediation"
	"github.com/wachtwijzer/wachtwijzer/redisstore"
)

func TestMain(m *testing.M) { os.Exit(redistest.RunMain(m)) }

// TestRegionalCapacitySharesAComputation: calls with the same query that
// arrive while it is computed share that computation; a call after it
// computes again (nothing is cached), and another query computes apart.
func TestRegionalCapacitySharesAComputation(t *testing.T) {
	ctx := context.Background()
	st, err := redisstore.Open(ctx, redisstore.Options{Client: redistest.Shared(t).Client(t), Prefix: redistest.Prefix(t)})
	if err != nil {
		t.Fatal(err)
	}
	e, ok := New(st, Config{})
	if !ok {
		t.Fatal("the store has no wait index")
	}
	var computed, joined atomic.Int64
	e.capJoin = func() { joined.Add(1) }
	release := make(chan struct{})
	e.capHook = func() {
		if computed.Add(1) == 1 {
			<-release // hold the first computation until the others wait on it
		}
	}
	q := CapacityQuery{AsOf: mediation.Day(20000), Weeks: 8}
	const n = 16
	results := make([]*CapacityResult, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			qi := q
			res, err := e.RegionalCapacity(ctx, &qi)
			if err != nil {
				t.Error(err)
			}
			results[i] = res
		}()
	}
	// wait until the first computation runs and every other call waits on it
	deadline := time.Now().Add(10 * time.Second)
	for computed.Load() == 0 || joined.Load() < n-1 {
		if time.Now().After(deadline) {
			close(release)
			wg.Wait()
			t.Fatalf("%d computations, %d calls joined one, of %d concurrent identical calls", computed.Load(), joined.Load(), n)
		}
		time.Sleep(time.Millisecond)
	}
	close(release)
	wg.Wait()
	if got := computed.Load(); got != 1 {
		t.Fatalf("%d computations for %d concurrent identical calls", got, n)
	}
	for i, r := range results {
		if r == nil || r != results[0] {
			t.Fatalf("call %d got another result", i)
		}
	}
	if _, err := e.RegionalCapacity(ctx, &q); err != nil || computed.Load() != 2 {
		t.Fatalf("a later call reused a finished computation: %d computations, %v", computed.Load(), err)
	}
	other := q
	other.Weeks = 4
	if _, err := e.RegionalCapacity(ctx, &other); err != nil || computed.Load() != 3 {
		t.Fatalf("another query: %d computations, %v", computed.Load(), err)
	}
	// a waiting caller that gives up does not cancel the computation
	computed.Store(0)
	release = make(chan struct{})
	done := make(chan error, 1)
	go func() { _, err := e.RegionalCapacity(ctx, &q); done <- err }()
	for computed.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := e.RegionalCapacity(cctx, &q); err != context.Canceled {
		t.Fatalf("a cancelled waiting call: %v", err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatalf("the computation after a waiter left: %v", err)
	}
}
