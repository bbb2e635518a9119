package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// load is one wrk run's outcome.
type load struct {
	PerSecond float64 `json:"per_s"`
	P50ms     float64 `json:"p50_ms"`
	P99ms     float64 `json:"p99_ms"`
	Requests  int64   `json:"requests"`
	Errors    int64   `json:"errors"`
	// CPU is the CPU seconds (user + system) wrk itself took: the load
	// generator's share of the machine.
	CPU float64 `json:"wrk_cpu_s"`
}

var (
	rpsRE    = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	latRE    = regexp.MustCompile(`(?m)^\s+(50|99)%\s+([0-9.]+)(us|ms|s)`)
	reqRE    = regexp.MustCompile(`([0-9]+) requests in`)
	non2xxRE = regexp.MustCompile(`Non-2xx or 3xx responses: ([0-9]+)`)
	sockRE   = regexp.MustCompile(`Socket errors: connect ([0-9]+), read ([0-9]+), write ([0-9]+), timeout ([0-9]+)`)
)

// runWrk drives the gateway with the requests in file for d with clients
// connections.
func (e *env) runWrk(ctx context.Context, file string, clients int, d time.Duration, prefer string) (load, error) {
	threads := 2
	if clients < 2 {
		threads = 1
	}
	script, _ := filepath.Abs("bench/scripts/requests.lua")
	args := []string{"-t", strconv.Itoa(threads), "-c", strconv.Itoa(clients), "-d", fmt.Sprintf("%ds", int(d.Seconds())), "--latency", "--timeout", "10s", "-s", script, e.gwURL}
	cmd := exec.CommandContext(ctx, "wrk", args...)
	cmd.Env = append(os.Environ(), "WW_REQUESTS="+file, "WW_PREFER="+prefer, "WW_AUTH="+e.token)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return load{}, fmt.Errorf("wrk: %v: %s", err, out)
	}
	l, err := parseWrk(string(out))
	if ps := cmd.ProcessState; ps != nil {
		l.CPU = (ps.UserTime() + ps.SystemTime()).Seconds()
	}
	return l, err
}

func parseWrk(out string) (load, error) {
	var l load
	m := rpsRE.FindStringSubmatch(out)
	if m == nil {
		return l, fmt.Errorf("unreadable wrk output: %s", out)
	}
	l.PerSecond, _ = strconv.ParseFloat(m[1], 64)
	for _, lm := range latRE.FindAllStringSubmatch(out, -1) {
		v, _ := strconv.ParseFloat(lm[2], 64)
		switch lm[3] {
		case "us":
			v /= 1000
		case "s":
			v *= 1000
		}
		if lm[1] == "50" {
			l.P50ms = v
		} else {
			l.P99ms = v
		}
	}
	if m := reqRE.FindStringSubmatch(out); m != nil {
		l.Requests, _ = strconv.ParseInt(m[1], 10, 64)
	}
	if m := non2xxRE.FindStringSubmatch(out); m != nil {
		n, _ := strconv.ParseInt(m[1], 10, 64)
		l.Errors += n
	}
	if m := sockRE.FindStringSubmatch(out); m != nil {
		for _, s := range m[1:] {
			n, _ := strconv.ParseInt(s, 10, 64)
			l.Errors += n
		}
	}
	return l, nil
}

// writeRequests writes a requests file for requests.lua.
func writeRequests(path string, lines []string) error {
	return os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644)
}
