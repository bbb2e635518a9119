package main

import (
	"context"
	"encoding/csv"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wachtwijzer/wachtwijzer/internal/resp"
)

// baseline is raw Redis measured beside a workload: the pinned
// redis-benchmark GET/SET of 1600-byte values with 50 clients, and an
// EVALSHA of a 10-command write script.
type baseline struct {
	Get     float64 `json:"get_per_s"`
	Set     float64 `json:"set_per_s"`
	EvalSHA float64 `json:"evalsha10_per_s"`
}

// tenCommands is the write-baseline script: ten SETs of the argument under
// the hash tag of KEYS[1].
const tenCommands = `for i = 1, 10 do redis.call('SET', KEYS[1] .. ':' .. i, ARGV[1]) end return 10`

// baselineTag keeps every key of the EVALSHA baseline in one hash slot, so
// on a Cluster the script runs on one node without MOVED replies, and the
// keys can be removed afterwards by pattern.
const baselineTag = "{wwbench}"

func (e *env) baseline(ctx context.Context) (baseline, error) {
	if err := e.settleAOF(ctx); err != nil {
		return baseline{}, err
	}
	n := "1000000"
	if e.c.quick {
		n = "100000"
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
	rates, err := parseBenchCSV(out)
	if err != nil {
		return baseline{}, err
	}
	b := baseline{Get: rates["GET"], Set: rates["SET"]}
	if b.Get == 0 || b.Set == 0 {
		return b, fmt.Errorf("redis-benchmark gave no GET/SET rate: %s", out)
	}

	// The EVALSHA baseline runs on the node that owns the baseline tag's slot.
	node := e.addrs[0]
	if e.c.cluster {
		if node, err = e.slotOwner(ctx, baselineTag); err != nil {
			return b, err
		}
	}
	c := redis.NewClient(&redis.Options{Addr: node})
	defer c.Close()
	sha, err := c.ScriptLoad(ctx, tenCommands).Result()
	if err != nil {
		return b, fmt.Errorf("evalsha baseline: load script: %w", err)
	}
	en := "200000"
	if e.c.quick {
		en = "50000"
	}
	nhost, nport := splitAddr(node)
	value := strings.Repeat("x", 160)
	eargs := []string{"-h", nhost, "-p", nport, "-c", "50", "-n", en, "-r", "1000", "-q", "--csv",
		"evalsha", sha, "1", baselineTag + ":__rand_int__", value}
	out, err = exec.CommandContext(ctx, "redis-benchmark", eargs...).CombinedOutput()
	if err != nil {
		return b, fmt.Errorf("redis-benchmark evalsha: %v: %s", err, out)
	}
	if rates, err = parseBenchCSV(out); err != nil {
		return b, err
	}
	for name, v := range rates {
		if strings.Contains(strings.ToLower(name), "evalsha") {
			b.EvalSHA = v
		}
	}
	if b.EvalSHA == 0 {
		return b, fmt.Errorf("redis-benchmark gave no EVALSHA rate: %s", out)
	}
	if err := e.dropBaselineKeys(ctx, c); err != nil {
		return b, err
	}
	return b, e.settleAOF(ctx)
}

// settleAOF compacts the append-only files the baseline's SETs grew, and
// waits for every rewrite to end, so that no rewrite (a fork and a busy
// child on the same two cores) runs during the workload that follows.
func (e *env) settleAOF(ctx context.Context) error {
	for _, c := range e.clients() {
		err := func() error {
			defer c.Close()
			// info returns INFO persistence as a lookup of its numeric fields.
			info := func() func(string) int64 {
				s, _ := c.Info(ctx, "persistence").Result()
				return func(k string) int64 {
					v, _ := resp.InfoField(s, k)
					n, _ := strconv.ParseInt(v, 10, 64)
					return n
				}
			}
			wait := func() {
				for i := 0; i < 1200; i++ {
					m := info()
					if m("aof_rewrite_in_progress") == 0 && m("aof_rewrite_scheduled") == 0 {
						return
					}
					time.Sleep(100 * time.Millisecond)
				}
			}
			wait()
			if m := info(); m("aof_enabled") == 1 && m("aof_current_size") > m("aof_base_size")+64<<20 {
				if err := c.BgRewriteAOF(ctx).Err(); err != nil && !strings.Contains(err.Error(), "already in progress") {
					return fmt.Errorf("BGREWRITEAOF: %w", err)
				}
				time.Sleep(100 * time.Millisecond)
				wait()
			}
			return nil
		}()
		if err != nil {
			return err
		}
	}
	return nil
}

// parseBenchCSV reads redis-benchmark --csv output ("test","rps",…) into
// test name → requests per second; the header line is skipped.
func parseBenchCSV(out []byte) (map[string]float64, error) {
	r := csv.NewReader(strings.NewReader(string(out)))
	r.FieldsPerRecord = -1
	rows, err := r.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("redis-benchmark output: %w: %s", err, out)
	}
	rates := map[string]float64{}
	for _, row := range rows {
		if len(row) < 2 || row[0] == "test" {
			continue
		}
		v, err := strconv.ParseFloat(row[1], 64)
		if err != nil {
			continue
		}
		rates[strings.ToUpper(strings.Fields(row[0])[0])] = v
	}
	return rates, nil
}

// slotOwner returns the address of the Cluster master serving key's slot.
func (e *env) slotOwner(ctx context.Context, key string) (string, error) {
	c := redis.NewClient(&redis.Options{Addr: e.addrs[0]})
	defer c.Close()
	slot, err := c.ClusterKeySlot(ctx, key).Result()
	if err != nil {
		return "", fmt.Errorf("evalsha baseline: key slot: %w", err)
	}
	slots, err := c.ClusterSlots(ctx).Result()
	if err != nil {
		return "", fmt.Errorf("evalsha baseline: cluster slots: %w", err)
	}
	for _, r := range slots {
		if int64(r.Start) <= slot && slot <= int64(r.End) && len(r.Nodes) > 0 {
			return r.Nodes[0].Addr, nil
		}
	}
	return "", fmt.Errorf("evalsha baseline: no master serves slot %d", slot)
}

// dropBaselineKeys removes the EVALSHA baseline's keys so they neither
// count in memory figures nor accumulate between workloads.
func (e *env) dropBaselineKeys(ctx context.Context, c *redis.Client) error {
	iter := c.Scan(ctx, 0, baselineTag+":*", 1000).Iterator()
	var batch []string
	for iter.Next(ctx) {
		batch = append(batch, iter.Val())
		if len(batch) == 1000 {
			if err := c.Unlink(ctx, batch...).Err(); err != nil {
				return err
			}
			batch = batch[:0]
		}
	}
	if len(batch) > 0 {
		if err := c.Unlink(ctx, batch...).Err(); err != nil {
			return err
		}
	}
	return iter.Err()
}

func splitAddr(a string) (string, string) {
	i := strings.LastIndexByte(a, ':')
	return a[:i], a[i+1:]
}
