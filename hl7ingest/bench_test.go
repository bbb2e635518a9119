package hl7ingest

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wachtwijzer/wachtwijzer/gen"
	"github.com/wachtwijzer/wachtwijzer/internal/redistest"
	"github.com/wachtwijzer/wachtwijzer/mllp"
	"github.com/wachtwijzer/wachtwijzer/redisstore"
)

// BenchmarkIngestSIU pushes generated SIU messages (gen.WriteHL7, as the
// bench harness's HL7 workload sends them, each with a fresh control id)
// through the whole ingest path: an MLLP client, the mllp listener,
// Handler, Processor and a real redis-server (appendonly, appendfsync
// everysec), one message at a time per connection, on 1 and 8
// connections. Per message it reports msg/s, the process's CPU
// (go-cpu-us/msg; client and server in one process), allocs, the Redis
// round trips (a client hook; a pipeline is one), the commands Redis ran (INFO
// commandstats, those scripts run included) and the
// server's CPU (INFO cpu).
func BenchmarkIngestSIU(b *testing.B) {
	cfg := gen.Config{Seed: 7, Appointments: 2000}
	var stream bytes.Buffer
	if _, err := gen.WriteHL7(&stream, cfg); err != nil {
		b.Fatal(err)
	}
	var sius [][]byte
	for _, m := range bytes.Split(stream.Bytes(), []byte("\n")) {
		if bytes.Contains(m, []byte("|SIU^")) {
			sius = append(sius, append([]byte(nil), m...))
		}
	}
	if len(sius) == 0 {
		b.Fatal("gen wrote no SIU messages")
	}
	sc, err := gen.HL7SenderConfig(cfg)
	if err != nil {
		b.Fatal(err)
	}
	file := filepath.Join(b.TempDir(), "senders.json")
	if err := os.WriteFile(file, sc, 0o644); err != nil {
		b.Fatal(err)
	}
	senders, err := NewSenders(file, quiet)
	if err != nil {
		b.Fatal(err)
	}
	srv := redistest.Start(b, redistest.Options{AppendOnly: true, AppendFsync: "everysec"})
	c := srv.Client(b)
	trips := &tripCounter{}
	c.AddHook(trips)
	ctx := context.Background()
	st, err := redisstore.Open(ctx, redisstore.Options{Client: c, Prefix: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	p, err := New(Options{Store: st, DeploymentKey: st.DeploymentKey(), Senders: senders, Logger: quiet})
	if err != nil {
		b.Fatal(err)
	}
	ln, err := mllp.Listen(mllp.Options{Addr: "127.0.0.1:0", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	go ln.Serve(ctx, Handler{P: p})
	defer ln.Shutdown(ctx)
	run := 0
	for _, conns := range []int{1, 8} {
		b.Run("conns="+strconv.Itoa(conns), func(b *testing.B) {
			run++
			clients := make([]*mllp.Client, conns)
			for i := range clients {
				if clients[i], err = mllp.Dial(ctx, ln.Addr().String(), nil); err != nil {
					b.Fatal(err)
				}
				defer clients[i].Close()
			}
			// The messages are prepared before the clock starts.
			msgs := make([][][]byte, conns)
			for i := 0; i < b.N; i++ {
				k := i % conns
				msgs[k] = append(msgs[k], gen.WithControlID(sius[i%len(sius)], "B"+strconv.Itoa(run)+"-"+strconv.Itoa(b.N)+"-"+strconv.Itoa(i)))
			}
			p.Wait()
			before, cpu0 := redisStats(ctx, c), benchCPU()
			trips0 := trips.n.Load()
			b.ReportAllocs()
			b.ResetTimer()
			var wg sync.WaitGroup
			for k, cl := range clients {
				wg.Go(func() {
					for _, m := range msgs[k] {
						ack, err := cl.Send(ctx, m)
						if err != nil {
							b.Error(err)
							return
						}
						if !bytes.Contains(ack, []byte("\rMSA|AA|")) && !bytes.Contains(ack, []byte("\rMSA|CA|")) {
							b.Errorf("ACK %q", ack)
							return
						}
					}
				})
			}
			wg.Wait()
			p.Wait()
			b.StopTimer()
			cpu1, trips1 := benchCPU(), trips.n.Load()
			after := redisStats(ctx, c)
			n := float64(b.N)
			b.ReportMetric(n/b.Elapsed().Seconds(), "msg/s")
			b.ReportMetric(float64((cpu1-cpu0).Microseconds())/n, "go-cpu-us/msg")
			b.ReportMetric(float64(trips1-trips0)/n, "round-trips/msg")
			b.ReportMetric(float64(after.cmds-before.cmds)/n, "redis-cmds/msg")
			b.ReportMetric((after.cpu-before.cpu)*1e6/n, "redis-cpu-us/msg")
		})
	}
}

// benchCPU is the CPU time (user + system) this process has used.
func benchCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchStats are Redis's counters: every command (those scripts run
// included) and the server's CPU seconds.
type benchStats struct {
	cmds int64
	cpu  float64
}

// tripCounter counts the client's round trips (a command or a pipeline).
type tripCounter struct{ n atomic.Int64 }

func (t *tripCounter) DialHook(next redis.DialHook) redis.DialHook { return next }

func (t *tripCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		t.n.Add(1)
		return next(ctx, cmd)
	}
}

func (t *tripCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		t.n.Add(1)
		return next(ctx, cmds)
	}
}

func redisStats(ctx context.Context, c *redis.Client) benchStats {
	x := redistest.ServerCosts(ctx, c)
	return benchStats{cmds: x.Calls, cpu: x.CPU}
}

// TestSIURoundTrips: an SIU for a new Patient costs three round trips to
// Redis (the claim with the current versions, the projection's reads, the
// commit), as does one that changes a known appointment's wait; one that
// changes nothing two (the claim, the commit with the receipt), and a
// duplicate two (the claim, then the lease released after the ACK).
func TestSIURoundTrips(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	trips := &tripCounter{}
	f.store.Client().(*redis.Client).AddHook(trips)
	// The scripts are loaded once (a NOSCRIPT retry is not the path).
	f.p.Process(ctx, siu("S12", "W0", "20261103140000+0100", "Booked"), ProcessOptions{})
	f.p.Wait()
	for _, c := range []struct {
		name string
		msg  []byte
		want int64
	}{
		{"new patient", hl7("MSH|^~\\&|HIX|ZKH-NOORD|WACHTWIJZER|WW|20261103141502+0100||SIU^S12^SIU_S12|W1|P|2.5.1",
			"SCH|PL-2|FL-2|||||CONSULT^Eerste polikliniekbezoek^L||||||||||||||||||Booked|ORD-2", tq1Dec1,
			"PID|1||999999990^^^NLMINBIZA^NNNLD~7000002^^^ZKH-NOORD^MR||Jansen^Piet^^^^^L||19700101|M|||Dorpsstraat 1^^Assen^^9401AA^NL^H",
			"RGS|1", "AIS|1|A|0305^Orthopedie eerste consult^L|202612011040+0100|||20|min"), 3},
		{"changed appointment", siu("S14", "W2", "20261103150000+0100", "Arrived"), 3},
		{"unchanged resend", siu("S14", "W3", "20261103150000+0100", "Arrived"), 2},
		{"duplicate", siu("S14", "W3", "20261103150000+0100", "Arrived"), 2},
	} {
		n0 := trips.n.Load()
		r := f.p.Process(ctx, c.msg, ProcessOptions{})
		f.p.Wait()
		if r.Code != "AA" {
			t.Fatalf("%s: %s %v", c.name, r.Code, r.Problems)
		}
		if n := trips.n.Load() - n0; n != c.want {
			t.Errorf("%s: %d round trips, want %d", c.name, n, c.want)
		}
	}
}
