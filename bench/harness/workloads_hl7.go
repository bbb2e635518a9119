package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wachtwijzer/wachtwijzer/gen"
	"github.com/wachtwijzer/wachtwijzer/mllp"
)

// The HL7 ingest workload (issue 6): SIU messages per second over MLLP,
// each acknowledged only after its commit, for 1 and 8 connections under
// appendfsync everysec and always; the ratio is to the raw SET of the
// baseline taken just before.
func init() {
	workloads = append(workloads, workload{
		Name: "hl7 SIU over MLLP", Issue: "6", RatioOf: "SET",
		Floor: "≥ 3,000 msg/s at 8 connections, ≥ 800 at 1 (everysec), at raw GET ≈ 85k/s",
		Run:   runHL7Workload,
	})
}

var mllpListenRE = regexp.MustCompile(`listening on mllp://([0-9.:]+)`)

func runHL7Workload(ctx context.Context, e *env, b baseline) ([]result, error) {
	dir := filepath.Join(e.c.out, "hl7")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	// SIU messages from gen's HL7 writer, and its sender configuration.
	// Enough distinct appointments that the four runs, which take the
	// messages in turn from one cursor, rarely send one again: a replayed
	// SIU changes nothing and costs far less than a new one.
	n := 250000
	if e.c.quick {
		n = 100000
	}
	cfg := gen.Config{Seed: e.c.seed, Appointments: n}
	var stream bytes.Buffer
	if _, err := gen.WriteHL7(&stream, cfg); err != nil {
		return nil, err
	}
	var sius [][]byte
	for _, m := range bytes.Split(stream.Bytes(), []byte("\n")) {
		if bytes.Contains(m, []byte("|SIU^")) {
			sius = append(sius, append([]byte(nil), m...))
		}
	}
	if len(sius) == 0 {
		return nil, fmt.Errorf("gen wrote no SIU messages")
	}
	senders, err := gen.HL7SenderConfig(cfg)
	if err != nil {
		return nil, err
	}
	sendersFile := filepath.Join(dir, "senders.json")
	if err := os.WriteFile(sendersFile, senders, 0o644); err != nil {
		return nil, err
	}
	// A gateway of its own with the MLLP listener, on a fresh key prefix.
	args := append([]string{"serve", "--addr", "127.0.0.1:0", "--mllp-addr", "127.0.0.1:0", "--log-format", "json",
		"--key-prefix", fmt.Sprintf("hl7b%d", time.Now().Unix()), "--hl7-senders", sendersFile, "--insecure-dev"}, e.redisFlags()...)
	debugAddr := ""
	if e.c.profile {
		port, err := freePort(false)
		if err != nil {
			return nil, err
		}
		debugAddr = fmt.Sprintf("127.0.0.1:%d", port)
		args = append(args, "--debug-addr", debugAddr)
	}
	cmd := exec.Command(e.bin, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	glog, err := os.Create(filepath.Join(dir, "gateway.log"))
	if err != nil {
		return nil, err
	}
	defer glog.Close()
	pr, pw, _ := os.Pipe()
	cmd.Stderr, cmd.Stdout = pw, glog
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	pw.Close()
	gw := &proc{cmd: cmd, log: glog.Name()}
	defer gw.stop()
	// snapshots of this gateway's and Redis's CPU around each run
	hl7 := *e
	hl7.gw = gw
	addrc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			glog.WriteString(sc.Text() + "\n")
			if m := mllpListenRE.FindStringSubmatch(sc.Text()); m != nil {
				addrc <- m[1]
			}
		}
	}()
	var addr string
	select {
	case addr = <-addrc:
	case <-time.After(60 * time.Second):
		return nil, fmt.Errorf("the HL7 gateway did not start; see %s", glog.Name())
	}
	defer e.setFsync(context.WithoutCancel(ctx), "everysec")
	var out []result
	run := 0
	var cursor atomic.Int64 // the next message, across all runs
	for _, fsync := range []string{"everysec", "always"} {
		if err := e.setFsync(ctx, fsync); err != nil {
			return nil, err
		}
		for _, conns := range []int{1, 8} {
			run++
			stop := func() {}
			if conns == 8 && fsync == "everysec" && debugAddr != "" {
				prof := *e
				prof.debugAddr = debugAddr
				stop = prof.profileGateway(ctx, "hl7 SIU over MLLP, 8 connections")
			}
			before := hl7.redisSnapshot(ctx)
			from := cursor.Load()
			l, err := sendSIU(ctx, addr, sius, &cursor, conns, e.c.duration, run)
			after := hl7.redisSnapshot(ctx)
			stop()
			if err != nil {
				return nil, err
			}
			w := workload{Name: fmt.Sprintf("hl7 SIU over MLLP, appendfsync %s", fsync), Issue: "6", RatioOf: "SET"}
			if fsync == "everysec" {
				w.Floor = map[int]string{1: "≥ 800 msg/s at raw GET ≈ 85k/s", 8: "≥ 3,000 msg/s at raw GET ≈ 85k/s"}[conns]
			}
			res := toResult(w, conns, l, b)
			to := cursor.Load()
			again := max(0, to-max(from, int64(len(sius)))) // past the end: sent a second time
			res.Note = fmt.Sprintf("messages with ACK AA, end to end into Redis; SIU %d–%d of %d distinct (%d sent again); %s", from, to, len(sius), again,
				redisNote(before, after, l.PerSecond*after.at.Sub(before.at).Seconds()))
			out = append(out, res)
			logf("hl7 %s, %d connection(s): %.0f msg/s (p99 %.1f ms; %.1f %% of raw SET %.0f/s)", fsync, conns, l.PerSecond, l.P99ms, 100*l.PerSecond/b.Set, b.Set)
		}
	}
	return out, nil
}

// setFsync sets appendfsync on every Redis node.
func (e *env) setFsync(ctx context.Context, v string) error {
	for _, a := range e.addrs {
		c := redis.NewClient(&redis.Options{Addr: a})
		err := c.ConfigSet(ctx, "appendfsync", v).Err()
		c.Close()
		if err != nil {
			return fmt.Errorf("CONFIG SET appendfsync %s on %s: %w", v, a, err)
		}
	}
	return nil
}

// sendSIU sends messages on conns connections for d, each connection one
// message at a time (send, wait for the ACK), taking the next message from
// cursor and giving every message a fresh control id so none is a
// duplicate.
func sendSIU(ctx context.Context, addr string, msgs [][]byte, cursor *atomic.Int64, conns int, d time.Duration, run int) (load, error) {
	var total, errs atomic.Int64
	var mu sync.Mutex
	var lat []time.Duration
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	var firstErr atomic.Value
	for c := 0; c < conns; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			cl, err := mllp.Dial(ctx, addr, nil)
			if err != nil {
				firstErr.Store(err)
				return
			}
			defer cl.Close()
			var mine []time.Duration
			for time.Now().Before(deadline) && ctx.Err() == nil {
				i := int(cursor.Add(1) - 1)
				msg := gen.WithControlID(msgs[i%len(msgs)], "B"+strconv.Itoa(run)+"-"+strconv.Itoa(c)+"-"+strconv.Itoa(i))
				t0 := time.Now()
				ack, err := cl.Send(ctx, msg)
				if err != nil {
					firstErr.Store(err)
					return
				}
				mine = append(mine, time.Since(t0))
				if !bytes.Contains(ack, []byte("\rMSA|AA|")) && !bytes.Contains(ack, []byte("\rMSA|CA|")) {
					errs.Add(1)
				}
				total.Add(1)
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}(c)
	}
	wg.Wait()
	if err, ok := firstErr.Load().(error); ok && total.Load() == 0 {
		return load{}, err
	}
	l := load{PerSecond: float64(total.Load()) / d.Seconds(), Errors: errs.Load()}
	if len(lat) > 0 {
		sortDurations(lat)
		l.P50ms = float64(lat[len(lat)/2].Microseconds()) / 1000
		l.P99ms = float64(lat[len(lat)*99/100].Microseconds()) / 1000
	}
	return l, nil
}

func sortDurations(d []time.Duration) { sort.Slice(d, func(i, j int) bool { return d[i] < d[j] }) }
