package mllp

import (
	"context"
	"log/slog"
	"sync"
	"testing"
)

// BenchmarkThroughput measures round trips (send a frame, read the ACK) with
// a no-op handler over 1 and 8 connections; msgs/s is the orientation
// figure.
func BenchmarkThroughput(b *testing.B) {
	msg := []byte("MSH|^~\\&|LAB|HOSP|WW|WW|20260301090000||ORU^R01|MSG00001|P|2.5\rPID|1||123^^^HOSP^MR||DOE^JOHN\rOBX|1|NM|718-7^Hemoglobin^LN||13.2|g/dL\r")
	reply := []byte("MSH|^~\\&|WW|WW|LAB|HOSP|20260301090000||ACK|A1|P|2.5\rMSA|AA|MSG00001\r")
	h := HandlerFunc(func(context.Context, *ConnInfo, []byte) ([]byte, error) { return reply, nil })
	for _, conns := range []int{1, 8} {
		b.Run(map[int]string{1: "conns=1", 8: "conns=8"}[conns], func(b *testing.B) {
			s, err := Listen(Options{Addr: "127.0.0.1:0", Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				b.Fatal(err)
			}
			go s.Serve(context.Background(), h)
			defer s.Shutdown(context.Background())
			ctx := context.Background()
			clients := make([]*Client, conns)
			for i := range clients {
				if clients[i], err = Dial(ctx, s.Addr().String(), nil); err != nil {
					b.Fatal(err)
				}
				defer clients[i].Close()
			}
			b.ResetTimer()
			var wg sync.WaitGroup
			for i, c := range clients {
				n := b.N / conns
				if i < b.N%conns {
					n++
				}
				wg.Go(func() {
					for range n {
						if _, err := c.Send(ctx, msg); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}
