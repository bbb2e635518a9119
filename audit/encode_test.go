package audit

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"testing"
	"time"
)

// TestAppendJSONIsEncodingJSON: the hand-written encoder writes the bytes
// encoding/json writes, for events with and without the optional fields and
// with strings that need escaping.
func TestAppendJSONIsEncodingJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	strs := []string{"", "client-1", "GET /fhir/:type/:id", "Patient/p1", "<script>&\"x\"\\", "ümlaut ç", "tab\there\nnl", "\u2028sep", "bad \xff utf8", "$long-waits"}
	pick := func() string { return strs[r.IntN(len(strs))] }
	for i := 0; i < 5000; i++ {
		e := &Event{Recorded: time.Date(2026, 12, 1, 10, 0, 0, r.IntN(1e9), time.UTC).Add(time.Duration(r.IntN(1e6)) * time.Hour),
			Client: pick(), Role: pick(), Organization: pick(), Action: pick(), Interaction: pick(), Route: pick(),
			Target: pick(), Operation: pick(), Outcome: []int{200, 201, 404, 0, -1, 503}[r.IntN(6)], Source: pick(),
			PurposeOfUse: pick(), LegalGround: pick(), Truncated: r.IntN(3) == 0}
		for n := r.IntN(4); n > 0; n-- {
			e.Patients = append(e.Patients, pick())
		}
		if r.IntN(5) == 0 {
			e.Recorded = e.Recorded.In(time.FixedZone("x", 3600))
		}
		want, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		if got := e.appendJSON(nil); !bytes.Equal(got, want) {
			t.Fatalf("event %+v:\n got %s\nwant %s", e, got, want)
		}
	}
}

func BenchmarkEventJSON(b *testing.B) {
	e := &Event{Recorded: time.Date(2026, 12, 1, 10, 0, 0, 123456789, time.UTC), Client: "bench-admin", Role: "admin",
		Action: "R", Interaction: "read", Route: "GET /fhir/:type/:id", Target: "Appointment/jp6qqtomus2bvfsq", Outcome: 200,
		Source: "127.0.0.1", PurposeOfUse: "HOPERAT", LegalGround: "admin", Patients: []string{"4yxnhylienmeyxjq"}}
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = json.Marshal(e)
		}
	})
	b.Run("append", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = e.appendJSON(make([]byte, 0, 256))
		}
	})
}

// FuzzAppendJSON: any strings in any field encode as encoding/json does.
func FuzzAppendJSON(f *testing.F) {
	f.Add("client", "Patient/p1", "<&>", 200)
	f.Add("\xff", "\u2028", "\"\\", -5)
	f.Fuzz(func(t *testing.T, a, b, c string, outcome int) {
		e := &Event{Recorded: time.Unix(int64(outcome)*7919, 0).UTC(), Client: a, Role: b, Organization: c, Action: a,
			Interaction: b, Route: c, Target: a, Outcome: outcome, Source: b, PurposeOfUse: c, LegalGround: a, Patients: []string{b, c}}
		want, err := json.Marshal(e)
		if err != nil {
			t.Skip(err)
		}
		if got := e.appendJSON(nil); !bytes.Equal(got, want) {
			t.Fatalf("\n got %s\nwant %s", got, want)
		}
	})
}
