package redisstore

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

// Every search in this package's tests checks its plan's bytes and its
// reading of the reply against encoding/json (runScripts).
func init() { verifyScriptJSON = true }

var planStrings = []string{"", "a", "ww:{Appointment.07}:x1:date:w", "Zoë", "a<b>&c", "line\nbreak\t\r", "\x00\x1f\x7f",
	"quote\" back\\slash", "\u2028\u2029", "bad \xff utf8", "1796335200001", "-inf", "日本"}

// randomPlanValue builds a random tree of the shapes plans are made of.
func randomPlanValue(r *rand.Rand, depth int) any {
	pick := r.IntN(17)
	if depth > 3 {
		pick %= 5
	}
	switch pick {
	case 0:
		return nil
	case 1:
		return planStrings[r.IntN(len(planStrings))]
	case 2:
		return r.IntN(2) == 0
	case 3:
		return r.IntN(1<<20) - 1<<19
	case 4:
		return int64(r.Uint64() >> 1)
	case 5:
		m := map[string]any{}
		for range r.IntN(5) {
			m[planStrings[r.IntN(len(planStrings))]] = randomPlanValue(r, depth+1)
		}
		return m
	case 6:
		var s []any
		if r.IntN(4) > 0 {
			s = []any{}
		}
		for range r.IntN(4) {
			s = append(s, randomPlanValue(r, depth+1))
		}
		return s
	case 7:
		var s []int
		if r.IntN(4) > 0 {
			s = []int{}
		}
		for range r.IntN(4) {
			s = append(s, r.IntN(200))
		}
		return s
	case 8:
		var s []string
		for range r.IntN(4) {
			s = append(s, planStrings[r.IntN(len(planStrings))])
		}
		return s
	case 9:
		var s [][2]int
		for range r.IntN(3) {
			s = append(s, [2]int{r.IntN(50), r.IntN(50)})
		}
		return s
	case 10:
		var c [][][]any
		for range r.IntN(3) {
			var or [][]any
			for range r.IntN(3) {
				or = append(or, []any{"ge", int64(r.IntN(1 << 30)), r.IntN(100), planStrings[r.IntN(len(planStrings))]})
			}
			c = append(c, or)
		}
		return c
	case 11:
		var w map[string][2]string
		if r.IntN(4) == 0 {
			return w
		}
		w = map[string][2]string{}
		for range r.IntN(4) {
			w[planStrings[r.IntN(len(planStrings))]] = [2]string{planStrings[r.IntN(len(planStrings))], "+inf"}
		}
		return w
	case 12:
		var s []map[string]any
		for range r.IntN(3) {
			m, _ := randomPlanValue(r, 4).(map[string]any)
			if r.IntN(3) == 0 {
				m = map[string]any{"k": r.IntN(9)}
			}
			s = append(s, m)
		}
		return s
	case 13:
		return 52.3 + r.Float64()
	case 14:
		return json.RawMessage(`{"d": 3, "est": [1, 2]}`)
	case 15:
		var o jobj
		if r.IntN(4) == 0 {
			return o
		}
		o = jobj{}
		for range r.IntN(5) {
			o.set(planStrings[r.IntN(len(planStrings))], randomPlanValue(r, depth+1))
		}
		return o
	default:
		return []jobj{{{"f", []any{jobj{{"t", "date"}, {"k", r.IntN(9)}}}}, {"lu", r.IntN(9)}}, nil}
	}
}

// TestAppendPlanIsEncodingJSON: appendPlan writes exactly json.Marshal's
// bytes for every shape a plan holds (and for the shapes it hands to
// json.Marshal).
func TestAppendPlanIsEncodingJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	for i := range 20000 {
		v := randomPlanValue(r, 0)
		want, werr := json.Marshal(v)
		got, gerr := appendPlan(nil, v)
		if (werr != nil) != (gerr != nil) || !bytes.Equal(got, want) {
			t.Fatalf("case %d: appendPlan(%#v) = %s, %v; encoding/json %s, %v", i, v, got, gerr, want, werr)
		}
	}
}

var replySeeds = []string{
	`{"stale":true}`,
	`{"shards":[{"m":{},"drv":3,"est":0,"how":"collect","done":true,"work":1,"n":0},{"m":[["ar3ddkoe57qeusj3","1796161937352",null,null]],"drv":3,"est":1,"how":"collect","done":true,"work":11,"n":1}]}`,
	`{"shards":[{"m":[["a",null,"12.5","1796161937352"],["b","-3",null,7]],"resume":{"d":2,"est":40,"pos":{"k":"x"}},"pending":false,"over":"name (string index)","n":2,"done":false,"work":500}]}`,
	`{"shards":[{"m":[["caf\u00e9","x\/y"]],"how":"page","n":1}]}`,
	`{"shards":[null,{"m":[[]],"n":0}]}`,
	`{"shards":{}}`,
	`{"shards":[{"m":[{}]}]}`,
	`{"shards":[{"n":1.5}]}`,
	`{"shards":[{"m":[[true]]}]}`,
	` { "shards" : [ { "n" : 3 , "done" : true } ] } `,
	`{"shards":[{"n":3}]} x`,
	`{"shards":[{"how":"\xff"}]}`,
	`{"other":[1,{"a":"b"}],"shards":[{"n":-2,"over":null,"how":null,"est":null}]}`,
}

// TestDecodeSearchReplyIsEncodingJSON: the reply decoder reads what
// json.Unmarshal reads, and fails where it fails.
func TestDecodeSearchReplyIsEncodingJSON(t *testing.T) {
	for _, s := range replySeeds {
		checkReply(t, []byte(s))
	}
}

func checkReply(t *testing.T, b []byte) {
	t.Helper()
	var want searchReply
	werr := json.Unmarshal(b, &want)
	got, gerr := decodeSearchReply(b)
	if (werr != nil) != (gerr != nil) {
		t.Fatalf("%s: decodeSearchReply error %v, encoding/json error %v", b, gerr, werr)
	}
	if werr == nil && !reflect.DeepEqual(got, want) {
		t.Fatalf("%s: decodeSearchReply read %+v, encoding/json %+v", b, got, want)
	}
}

// FuzzDecodeSearchReply: no input makes the decoder disagree with
// encoding/json or panic.
func FuzzDecodeSearchReply(f *testing.F) {
	for _, s := range replySeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) { checkReply(t, b) })
}

// BenchmarkDecodeSearchReply reads a 16-shard search (a) reply: twelve shards
// without a match, four with one.
func BenchmarkDecodeSearchReply(b *testing.B) {
	var sb strings.Builder
	sb.WriteString(`{"shards":[`)
	for i := range 16 {
		if i > 0 {
			sb.WriteByte(',')
		}
		if i%4 == 1 {
			fmt.Fprintf(&sb, `{"m":[["ar3ddkoe57qeus%02d","1796161937352",null,null]],"drv":3,"est":1,"how":"collect","done":true,"work":11,"n":1}`, i)
		} else {
			sb.WriteString(`{"m":{},"drv":3,"est":0,"how":"collect","done":true,"work":1,"n":0}`)
		}
	}
	sb.WriteString(`]}`)
	body := []byte(sb.String())
	b.Run("decodeSearchReply", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := decodeSearchReply(body); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding/json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var r searchReply
			if err := json.Unmarshal(body, &r); err != nil {
				b.Fatal(err)
			}
		}
	})
}
