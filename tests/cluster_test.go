package tests

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/wachtwijzer/wachtwijzer/internal/redistest"
)

// The binary on a real 3-master Redis Cluster: a transaction spanning shards
// is all-or-nothing and readable at once; conditional creates stay
// exclusive under concurrency.
func TestGatewayOnRedisCluster(t *testing.T) {
	cl := redistest.SharedCluster(t)
	g := StartGateway(t, GatewayOptions{NoRedis: true, Args: []string{"--redis-cluster", strings.Join(cl.Addrs, ","), "--key-prefix", redistest.Prefix(t)}})
	var entries []string
	for i := 0; i < 12; i++ {
		entries = append(entries, entry("", "PUT", fmt.Sprintf("Patient/cl%d", i), patientJSON(fmt.Sprintf("cl%d", i), "999911120", "C")))
	}
	expect(t, g.Do(t, "POST", "/fhir", bundle("transaction", entries...)), 200)
	b := expect(t, g.Do(t, "GET", "/fhir/Patient?identifier=999911120&_count=100", nil), 200).JSON(t)
	if n := len(b["entry"].([]any)); n != 12 {
		t.Fatalf("%d of 12 transaction writes indexed", n)
	}
	// A failing entry rolls the others back across shards.
	bad := append([]string{}, entries[:5]...)
	bad = append(bad, entry("", "PUT", "Patient/cl0", patientJSON("cl0", "999911120", "C"), `"ifMatch":"W/\"9\""`))
	for i := 0; i < 5; i++ {
		bad[i] = entry("", "PUT", fmt.Sprintf("Patient/new%d", i), patientJSON(fmt.Sprintf("new%d", i), "123456782", "N"))
	}
	outcome(t, g.Do(t, "POST", "/fhir", bundle("transaction", bad...)), 412, "conflict")
	for i := 0; i < 5; i++ {
		outcome(t, g.Do(t, "GET", fmt.Sprintf("/fhir/Patient/new%d", i), nil), 404, "not-found")
	}
	// Concurrent conditional creates with one identifier: exactly one creates.
	var wg sync.WaitGroup
	statuses := make(chan int, 8)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := g.Do(t, "POST", "/fhir/Patient", patientJSON("", "249566758", "Uniek"), "If-None-Exist: identifier="+bsnSystem+"|249566758")
			statuses <- r.Status
		}()
	}
	wg.Wait()
	close(statuses)
	created := 0
	for s := range statuses {
		if s == 201 {
			created++
		} else if s != 200 {
			t.Errorf("conditional create status %d", s)
		}
	}
	if created != 1 {
		t.Fatalf("%d conditional creates created, want 1", created)
	}
}
