package tests

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wachtwijzer/wachtwijzer/internal/redistest"
)

// onBothBackends runs fn against a gateway on standalone Redis and one on a
// real 3-master Redis Cluster.
func onBothBackends(t *testing.T, fn func(t *testing.T, g *Gateway)) {
	t.Run("standalone", func(t *testing.T) { fn(t, StartGateway(t, GatewayOptions{})) })
	t.Run("cluster", func(t *testing.T) {
		cl := redistest.SharedCluster(t)
		fn(t, StartGateway(t, GatewayOptions{NoRedis: true, Args: []string{"--redis-cluster", strings.Join(cl.Addrs, ","), "--key-prefix", redistest.Prefix(t)}}))
	})
}

// N clients update one resource with If-Match: for every version exactly one
// update wins and no update is lost.
func TestConcurrentIfMatchUpdates(t *testing.T) {
	onBothBackends(t, testConcurrentIfMatchUpdates)
}

func testConcurrentIfMatchUpdates(t *testing.T, g *Gateway) {
	expect(t, g.Do(t, "PUT", "/fhir/Patient/contended", patientJSON("contended", "999911120", "v0")), 201)
	const clients, tries = 8, 6
	var mu sync.Mutex
	winsPerVersion := map[string]int{}
	var wins, losses atomic.Int64
	var wg sync.WaitGroup
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			for i := 0; i < tries; i++ {
				cur := g.Do(t, "GET", "/fhir/Patient/contended", nil)
				v := cur.Header.Get("ETag")
				r := g.Do(t, "PUT", "/fhir/Patient/contended", patientJSON("contended", "999911120", fmt.Sprintf("c%d-%d", c, i)), "If-Match: "+v)
				switch r.Status {
				case 200:
					wins.Add(1)
					mu.Lock()
					winsPerVersion[v]++
					mu.Unlock()
				case 412:
					losses.Add(1)
				default:
					t.Errorf("unexpected status %d: %s", r.Status, r.Body)
				}
			}
		}(c)
	}
	wg.Wait()
	for v, n := range winsPerVersion {
		if n != 1 {
			t.Errorf("If-Match %s won %d times", v, n)
		}
	}
	final := g.Do(t, "GET", "/fhir/Patient/contended", nil)
	if want := fmt.Sprintf(`W/"%d"`, wins.Load()+1); final.Header.Get("ETag") != want {
		t.Fatalf("final version %s, want %s (%d wins, %d losses): an update was lost", final.Header.Get("ETag"), want, wins.Load(), losses.Load())
	}
	h := g.Do(t, "GET", "/fhir/Patient/contended/_history?_count=1000", nil).JSON(t)
	if n := len(h["entry"].([]any)); int64(n) != wins.Load()+1 {
		t.Fatalf("history has %d versions, want %d", n, wins.Load()+1)
	}
}

// A transaction rewriting five resources races readers that fetch all five
// in one search: a reader sees all of them from the same transaction.
//
// On Redis Cluster the commit record makes the versions visible by id at
// once, so reads by _id never see a torn transaction there either.
func TestTransactionNeverHalfVisible(t *testing.T) {
	onBothBackends(t, testTransactionNeverHalfVisible)
}

func testTransactionNeverHalfVisible(t *testing.T, g *Gateway) {
	ids := []string{"hv1", "hv2", "hv3", "hv4", "hv5"}
	writeGen := func(gen int) *Resp {
		var entries []string
		for _, id := range ids {
			entries = append(entries, entry("", "PUT", "Patient/"+id, patientJSON(id, "999911120", fmt.Sprintf("gen%03d", gen))))
		}
		return g.Do(t, "POST", "/fhir", bundle("transaction", entries...))
	}
	expect(t, writeGen(0), 200)
	stop := make(chan struct{})
	var reads, torn atomic.Int64
	var wg sync.WaitGroup
	for r := 0; r < 4; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				b := g.Do(t, "GET", "/fhir/Patient?_id="+strings.Join(ids, ","), nil).JSON(t)
				gens := map[string]bool{}
				for _, e := range b["entry"].([]any) {
					gens[str(path(e, "resource", "name", 0, "family"))] = true
				}
				reads.Add(1)
				if len(gens) != 1 {
					torn.Add(1)
					t.Errorf("a reader saw a half-applied transaction: %v", gens)
				}
			}
		}()
	}
	for gen := 1; gen <= 40; gen++ {
		expect(t, writeGen(gen), 200)
	}
	time.Sleep(20 * time.Millisecond)
	close(stop)
	wg.Wait()
	if reads.Load() < 20 {
		t.Fatalf("only %d reads raced the transactions", reads.Load())
	}
	t.Logf("%d reads raced 40 transactions, %d torn", reads.Load(), torn.Load())
}
