package redisstore

import (
	"strconv"
	"strings"
	"testing"
)

// TestKeyBuilders pins the spelling of the keys the one-allocation
// builders make against the plain concatenation they replace.
func TestKeyBuilders(t *testing.T) {
	long := strings.Repeat("v", 60)
	for _, k := range []keys{{prefix: "ww", shards: 16, gen: 1}, {prefix: "t1", shards: 128, gen: 12, cluster: true}} {
		for _, shard := range []int{0, 9, 10, 127} {
			tag := k.prefix + ":{Patient." + map[bool]string{true: "0", false: ""}[shard < 10] + strconv.Itoa(shard) + "}"
			gen := ":x" + strconv.Itoa(k.gen) + ":"
			want := map[string]string{
				k.tag("Patient", shard):                             tag,
				k.typeHist("Patient", shard):                        tag + ":hist",
				k.index("Patient", shard, "gender"):                 tag + gen + "gender",
				k.index("Patient", shard, "gender", "|male", long):  tag + gen + "gender:|male:" + shortValue(long),
				k.med("wait", "Patient", shard, "~wl", "*", "0305"): map[bool]string{true: tag, false: k.prefix + ":{wait}"}[k.cluster] + gen + "~wl:*:0305",
			}
			for got, w := range want {
				if got != w {
					t.Errorf("key %q, want %q", got, w)
				}
			}
		}
		id := "abc"
		tag := k.prefix + ":{Patient." + strconv.Itoa(100 + k.shard(id))[1:] + "}"
		if k.shard(id) >= 100 {
			tag = k.prefix + ":{Patient." + strconv.Itoa(k.shard(id)) + "}"
		}
		if k.cur("Patient", id) != tag+":r:"+id || k.hist("Patient", id) != tag+":h:"+id || k.pend("Patient", id) != tag+":p:"+id {
			t.Errorf("record keys %q %q %q (tag %q)", k.cur("Patient", id), k.hist("Patient", id), k.pend("Patient", id), tag)
		}
	}
}
