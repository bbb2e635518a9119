package redisstore

import (
	"context"
	"fmt"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/conformance/nlid"
	"github.com/wachtwijzer/wachtwijzer/fhirjson"
	"github.com/wachtwijzer/wachtwijzer/internal/redistest"
)

// benchBSN is the n-th valid BSN of the benchmarks (n < 10^7): its first
// digit is the first that makes one with the digits of n.
func benchBSN(n int) string {
	for lead := 1; ; lead++ {
		first8 := fmt.Sprintf("%d%07d", lead, n)
		if d, ok := nlid.BSNCheckDigit(first8); ok {
			return first8 + string(d)
		}
	}
}

// benchPatient is a Patient the size and shape of the generated world's
// (BSN, hospital number, name, home address with geolocation, managing
// organization), as a client POSTs it.
func benchPatient(bsn string, n int) []byte {
	return []byte(fmt.Sprintf(`{"resourceType":"Patient","identifier":[{"use":"official","system":"http://fhir.nl/fhir/NamingSystem/bsn","value":%q},{"use":"usual","system":"https://wachtwijzer.nl/fhir/NamingSystem/agb/06522165/patient","value":"P%08d"}],"active":true,"name":[{"use":"official","family":"Smit","given":["Mehmet"]}],"gender":"male","birthDate":"1986-08-06","address":[{"extension":[{"url":"http://hl7.org/fhir/StructureDefinition/geolocation","extension":[{"url":"latitude","valueDecimal":51.94703},{"url":"longitude","valueDecimal":4.48978}]}],"use":"home","type":"both","line":["Polderweg 136"],"city":"Rotterdam","postalCode":"3032 TR","country":"NL"}],"managingOrganization":{"reference":"Organization/35ngf3tz5rgpwasw","display":"Sint Laurentius Ziekenhuis"}}`, bsn, n))
}

// BenchmarkCommitCreate measures one REST-style Patient create (a new id)
// through Commit against a real redis-server: ns/op and allocs/op of the
// gateway side, and per op the Redis calls (the commands scripts run
// included), the microseconds spent in scripts and the server's CPU
// microseconds (INFO cpu). "new-bsn" creates a person the store does not
// know; "known-bsn" a further Patient of a person who has two Patients, two
// Coverages and two waits (as the bench's POSTs of the generated world's
// people do). "parsed" passes the tree validation produced (Write.Tree).
func BenchmarkCommitCreate(b *testing.B) {
	srv := redistest.Shared(b)
	c := srv.Client(b)
	s, err := Open(context.Background(), Options{Client: c, Prefix: redistest.Prefix(b)})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	// 200 known people.
	const people = 200
	for n := 0; n < people; n++ {
		bsn, p := benchBSN(1000000+n), fmt.Sprintf("k%d", n)
		ws := []ww.Write{pat(p+"a", bsn, "6525 GA", true), pat(p+"b", bsn, "", false),
			cov(p+"c1", p+"b", "7119", "2026-01-01", ""), cov(p+"c2", p+"b", "3332", "2024-01-01", "2025-12-31"),
			srw(p+"s1", "active", p+"a", "outpatient", "0305", "2026-10-01"), srw(p+"s2", "active", p+"a", "treatment", "0301", "2026-09-01"),
			apw(p+"a1", p+"s1", "booked", "2026-12-10T09:00:00+01:00")}
		if _, err := s.Commit(ctx, &ww.Commit{Writes: ws}); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("appointment-update", func(b *testing.B) {
		// A known person's booked appointment moves: its wait changes
		// (a projection write with its index entries).
		before, cpu0 := commandStats(ctx, c), processCPU()
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			p := fmt.Sprintf("k%d", i%people)
			w := apw(p+"a1", p+"s1", "booked", fmt.Sprintf("2026-12-%02dT09:00:00+01:00", 10+(i/people)%2))
			if _, err := s.Commit(ctx, &ww.Commit{Writes: []ww.Write{w}}); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		reportCosts(b, ctx, c, before, cpu0)
	})
	next := 0
	for _, mode := range []string{"new-bsn", "known-bsn", "known-bsn/parsed"} {
		b.Run(mode, func(b *testing.B) {
			bodies := make([][]byte, b.N)
			trees := make([]*fhirjson.Value, b.N)
			for i := range bodies {
				if mode == "new-bsn" {
					bodies[i] = benchPatient(benchBSN(next+i), next+i)
				} else {
					bodies[i] = benchPatient(benchBSN(1000000+(next+i)%people), next+i)
				}
				if mode == "known-bsn/parsed" {
					if trees[i], err = fhirjson.Parse(bodies[i], fhirjson.Limits{MaxDepth: 100}); err != nil {
						b.Fatal(err)
					}
				}
			}
			base := next
			next += b.N
			before, cpu0 := commandStats(ctx, c), processCPU()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				w := ww.Write{Op: ww.OpCreate, Type: "Patient", ID: "bench-" + strconv.Itoa(base+i), JSON: bodies[i], Tree: trees[i],
					Provenance: ww.Provenance{Owner: "org1", Channel: ww.ChannelREST}}
				if _, err := s.Commit(ctx, &ww.Commit{Writes: []ww.Write{w}}); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			reportCosts(b, ctx, c, before, cpu0)
		})
	}
}

// reportCosts reports the Go CPU, Redis calls, script and Redis CPU
// microseconds per op since before and cpu0.
func reportCosts(b *testing.B, ctx context.Context, c redis.UniversalClient, before cmdStats, cpu0 time.Duration) {
	cpu1, after := processCPU(), commandStats(ctx, c)
	n := float64(b.N)
	b.ReportMetric(float64((cpu1-cpu0).Microseconds())/n, "go-cpu-us/op")
	b.ReportMetric(float64(after.calls-before.calls)/n, "redis-calls/op")
	b.ReportMetric(float64(after.scriptUsec-before.scriptUsec)/n, "script-us/op")
	b.ReportMetric((after.cpu-before.cpu)*1e6/n, "redis-cpu-us/op")
}

// processCPU is the CPU time (user + system) this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkIndexEntries measures computing one Patient version's index
// entries in Go (what every write does for its old and new version), on a
// lean generation.
func BenchmarkIndexEntries(b *testing.B) {
	srv := redistest.Shared(b)
	s, err := Open(context.Background(), Options{Client: srv.Client(b), Prefix: redistest.Prefix(b)})
	if err != nil {
		b.Fatal(err)
	}
	src := benchPatient(benchBSN(1), 1)
	tree, err := fhirjson.Parse(src, fhirjson.Limits{})
	if err != nil {
		b.Fatal(err)
	}
	rec := &record{vid: 1, ms: 1764583200000, json: src}
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		n = len(s.entries("Patient", "p1", tree, rec))
	}
	b.ReportMetric(float64(n), "entries/op")
}
