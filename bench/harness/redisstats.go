package main

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/wachtwijzer/wachtwijzer/internal/redisinfo"
)

// redisStats is what Redis itself spent during a run: CPU seconds of the
// server processes and the per-command calls and microseconds of INFO
// commandstats, summed over the nodes.
type redisStats struct {
	at    time.Time
	cpu   float64
	gwCPU float64 // the gateway process's CPU seconds (user + system)
	calls map[string]int64
	usec  map[string]int64
}

// redisSnapshot reads INFO cpu and commandstats of every node.
func (e *env) redisSnapshot(ctx context.Context) redisStats {
	s := redisStats{at: time.Now(), calls: map[string]int64{}, usec: map[string]int64{}}
	if e.gw != nil && e.gw.cmd.Process != nil {
		s.gwCPU = processCPU(e.gw.cmd.Process.Pid)
	}
	sum := redisinfo.Stats{Calls: s.calls, Usec: s.usec}
	for _, c := range e.clients() {
		st, err := redisinfo.Read(ctx, c)
		c.Close()
		if err == nil {
			sum.Add(st)
		}
	}
	s.cpu = sum.CPU
	return s
}

// redisNote describes the Redis side of n requests between two snapshots:
// how busy the server was, its microseconds per request and the commands
// that took most of them (a command run inside a script counts in its own
// row as well as in the script's).
func redisNote(before, after redisStats, requests float64) string {
	if requests <= 0 {
		return ""
	}
	wall := after.at.Sub(before.at).Seconds()
	cpu := after.cpu - before.cpu
	type row struct {
		cmd         string
		calls, usec int64
	}
	var rows []row
	for cmd, u := range after.usec {
		d := u - before.usec[cmd]
		n := after.calls[cmd] - before.calls[cmd]
		if d <= 0 || n <= 0 || cmd == "info" {
			continue
		}
		rows = append(rows, row{cmd, n, d})
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].usec > rows[j].usec })
	var top []string
	for _, r := range rows[:min(3, len(rows))] {
		top = append(top, fmt.Sprintf("%s %.1f/req %.0f µs/call", r.cmd, float64(r.calls)/requests, float64(r.usec)/float64(r.calls)))
	}
	busy := 0.0
	if wall > 0 {
		busy = cpu / wall
	}
	gw := after.gwCPU - before.gwCPU
	redis := fmt.Sprintf("Redis CPU %.0f%% of a core, %.0f µs CPU/req; %s", 100*busy, 1e6*cpu/requests, strings.Join(top, "; "))
	if gw <= 0 { // no gateway process in the run (the import runs its own)
		return redis
	}
	return fmt.Sprintf("gateway %.0f µs CPU/req; %s", 1e6*gw/requests, redis)
}

// processCPU returns the user + system CPU seconds of a process from
// /proc/PID/stat (0 where it cannot be read).
func processCPU(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// the command name (field 2) may hold spaces: count from its ")"
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100 // USER_HZ
}
