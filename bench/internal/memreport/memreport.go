// Package memreport measures where Redis memory goes in a Wachtwijzer
// keyspace: per resource type and key kind (current versions, history,
// each parameter's index), with entry counts, so benchmarks can report bytes
// per resource and bytes per index entry per parameter.
package memreport

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/redis/go-redis/v9"
)

// Row is the memory of one (type, kind) group.
type Row struct {
	Type    string `json:"type"`
	Kind    string `json:"kind"`
	Bytes   int64  `json:"bytes"`
	Keys    int64  `json:"keys"`
	Entries int64  `json:"entries"`
}

// PerEntry is the average bytes per entry.
func (r Row) PerEntry() float64 {
	if r.Entries == 0 {
		return 0
	}
	return float64(r.Bytes) / float64(r.Entries)
}

var keyRE = regexp.MustCompile(`^[^{]*\{([A-Za-z]+)\.\d+\}:(.*)$`)

// classify maps a key to its type and kind: "record", "history",
// "history-index", "pending", or "index:<param>[:sub]".
func classify(key string) (typ, kind string) {
	m := keyRE.FindStringSubmatch(key)
	if m == nil {
		return "-", "global"
	}
	typ, rest := m[1], m[2]
	parts := strings.SplitN(rest, ":", 4)
	switch parts[0] {
	case "r":
		return typ, "record"
	case "h":
		return typ, "history"
	case "hist":
		return typ, "history-index"
	case "p":
		return typ, "pending"
	}
	if len(parts) < 2 {
		return typ, "other"
	}
	kind = "index:" + parts[1]
	if len(parts) > 2 {
		switch parts[2] {
		case "~", "text", "of-type", "identifier", "x", "wlo", "whi":
			kind += ":" + parts[2]
		default:
			if !strings.HasPrefix(parts[1], "~c") {
				kind += ":<value>"
			}
		}
	}
	return typ, kind
}

// Scan walks every key under prefix on one Redis node and totals memory per
// group (MEMORY USAGE with all elements sampled).
func Scan(ctx context.Context, c *redis.Client, prefix string) ([]Row, error) {
	agg := map[[2]string]*Row{}
	iter := c.Scan(ctx, 0, prefix+":*", 2000).Iterator()
	var batch []string
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		pipe := c.Pipeline()
		mem := make([]*redis.IntCmd, len(batch))
		typ := make([]*redis.StatusCmd, len(batch))
		for i, k := range batch {
			mem[i] = pipe.MemoryUsage(ctx, k, 0)
			typ[i] = pipe.Type(ctx, k)
		}
		if _, err := pipe.Exec(ctx); err != nil && err != redis.Nil {
			return err
		}
		pipe = c.Pipeline()
		cnt := make([]*redis.IntCmd, len(batch))
		for i, k := range batch {
			switch typ[i].Val() {
			case "zset":
				cnt[i] = pipe.ZCard(ctx, k)
			case "set":
				cnt[i] = pipe.SCard(ctx, k)
			case "hash":
				cnt[i] = pipe.HLen(ctx, k)
			}
		}
		if _, err := pipe.Exec(ctx); err != nil && err != redis.Nil {
			return err
		}
		for i, k := range batch {
			t, kind := classify(k)
			r := agg[[2]string{t, kind}]
			if r == nil {
				r = &Row{Type: t, Kind: kind}
				agg[[2]string{t, kind}] = r
			}
			r.Bytes += mem[i].Val()
			r.Keys++
			if cnt[i] != nil {
				r.Entries += cnt[i].Val()
			} else {
				r.Entries++
			}
		}
		batch = batch[:0]
		return nil
	}
	for iter.Next(ctx) {
		batch = append(batch, iter.Val())
		if len(batch) >= 1000 {
			if err := flush(); err != nil {
				return nil, err
			}
		}
	}
	if err := iter.Err(); err != nil {
		return nil, err
	}
	if err := flush(); err != nil {
		return nil, err
	}
	out := make([]Row, 0, len(agg))
	for _, r := range agg {
		out = append(out, *r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Bytes > out[j].Bytes })
	return out, nil
}

// Summary totals records and indexes.
type Summary struct {
	Records, History, Indexes, Other int64
}

// Summarise totals rows by kind.
func Summarise(rows []Row) Summary {
	var s Summary
	for _, r := range rows {
		switch {
		case r.Kind == "record":
			s.Records += r.Bytes
		case r.Kind == "history" || r.Kind == "history-index":
			s.History += r.Bytes
		case strings.HasPrefix(r.Kind, "index:"):
			s.Indexes += r.Bytes
		default:
			s.Other += r.Bytes
		}
	}
	return s
}

// Format renders the top rows as text.
func Format(rows []Row, top int) string {
	var b strings.Builder
	for i, r := range rows {
		if i >= top {
			break
		}
		fmt.Fprintf(&b, "%-18s %-34s %9.2f MB keys=%7d entries=%8d B/entry=%6.0f\n", r.Type, r.Kind, float64(r.Bytes)/1e6, r.Keys, r.Entries, r.PerEntry())
	}
	return b.String()
}
