package main

import (
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
)

// baseline is raw Redis measured beside a workload: the pinned
// redis-benchmark GET/SET of 1600-byte values with 50 clients, and an
// EVALSHA of a 10-command write script.
type baseline struct {
	Get     float64 `json:"get_per_s"`
	Set     float64 `json:"set_per_s"`
	EvalSHA float64 `json:"evalsha10_per_s"`
}

var benchRE = regexp.MustCompile(`(?m)^"?([A-Z]+)"?[:,] "?([0-9.]+)`)

// tenCommands is the write-baseline script: ten SETs of the argument under
// one hash tag.
const tenCommands = `for i = 1, 10 do redis.call('SET', KEYS[1] .. ':' .. i, ARGV[1]) end return 10`

func (e *env) baseline(ctx context.Context) (baseline, error) {
	n := "1000000"
	if e.c.quick {
		n = "200000"
	}
	host, port := splitAddr(e.addrs[0])
	args := []string{"-h", host, "-p", port, "-t", "get,set", "-c", "50", "-n", n, "-d", "1600", "-P", "1", "-q", "--csv"}
	if e.c.cluster {
		args = append(args, "--cluster")
	}
	out, err := exec.CommandContext(ctx, "redis-benchmark", args...).CombinedOutput()
	if err != nil {
		return baseline{}, fmt.Errorf("redis-benchmark: %v: %s", err, out)
	}
	var b baseline
	for _, m := range benchRE.FindAllStringSubmatch(string(out), -1) {
		v, _ := strconv.ParseFloat(m[2], 64)
		switch m[1] {
		case "GET":
			b.Get = v
		case "SET":
			b.Set = v
		}
	}
	c := redis.NewClient(&redis.Options{Addr: e.addrs[0]})
	defer c.Close()
	sha, err := c.ScriptLoad(ctx, tenCommands).Result()
	if err != nil {
		return b, err
	}
	value := strings.Repeat("x", 160)
	en := "200000"
	if e.c.quick {
		en = "100000"
	}
	eargs := []string{"-h", host, "-p", port, "-c", "50", "-n", en, "-r", "100000", "-q", "--csv", "evalsha", sha, "1", "bench:{__rand_int__}", value}
	out, err = exec.CommandContext(ctx, "redis-benchmark", eargs...).CombinedOutput()
	if err != nil {
		return b, fmt.Errorf("redis-benchmark evalsha: %v: %s", err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Split(line, ",")
		if len(f) >= 2 && strings.Contains(strings.ToLower(f[0]), "evalsha") {
			b.EvalSHA, _ = strconv.ParseFloat(strings.Trim(f[1], `"`), 64)
		}
	}
	c.Del(ctx, "bench:*")
	return b, nil
}

func splitAddr(a string) (string, string) {
	i := strings.LastIndexByte(a, ':')
	return a[:i], a[i+1:]
}
