package ingest

import (
	"context"
	"os"
	"strings"
	"testing"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/internal/redistest"
	"github.com/wachtwijzer/wachtwijzer/redisstore"
)

func TestMain(m *testing.M) { os.Exit(redistest.RunMain(m)) }

func TestJobWritesValidRejectsBadCountsPerType(t *testing.T) {
	redistest.Require(t)
	ctx := context.Background()
	st, err := redisstore.Open(ctx, redisstore.Options{Client: redistest.Shared(t).Client(t), Prefix: redistest.Prefix(t)})
	if err != nil {
		t.Fatal(err)
	}
	progress := 0
	j := &Job{Store: st, Channel: ww.ChannelImport, Owner: "06011234", Workers: 2, Batch: 3, Progress: func(n int) { progress += n }}
	in := strings.Join([]string{
		`{"resourceType":"Patient","id":"a","name":[{"family":"A"}]}`,
		`{"resourceType":"Patient","id":"b","name":[{"family":"B"}]}`,
		`{"resourceType":"Patient","id":"a","name":[{"family":"A2"}]}`, // the same id again in one batch
		``,
		`{"resourceType":"Patient","id":"c","gender":"robot"}`,
		`{"resourceType":"Observation","id":"o"}`,
		`not json`,
		`{"resourceType":"Slot","id":"s","schedule":{"reference":"Schedule/x"},"status":"free","start":"2026-12-01T09:00:00+01:00","end":"2026-12-01T09:20:00+01:00"}`,
	}, "\n")
	j.Workers = 1
	if err := j.ReadNDJSON(ctx, strings.NewReader(in), "f.ndjson"); err != nil {
		t.Fatal(err)
	}
	c := j.Counts()
	if c["Patient"] != 2 || c["Slot"] != 1 || j.Errors() != 3 || j.Written != 3 {
		t.Fatalf("counts %v, written %d, errors %d: %v", c, j.Written, j.Errors(), j.Rejected)
	}
	for _, where := range []string{"f.ndjson:5", "f.ndjson:6", "f.ndjson:7"} {
		found := false
		for _, r := range j.Rejected {
			found = found || strings.HasPrefix(r, where+":")
		}
		if !found {
			t.Fatalf("%s is not in the report %v", where, j.Rejected)
		}
	}
	a, err := st.Read(ctx, "Patient", "a")
	if err != nil || !strings.Contains(string(a.JSON), "A2") || a.Provenance.Owner != "06011234" || a.Provenance.Source != "f.ndjson:3" {
		t.Fatalf("the later line did not win, or provenance is lost: %v %s %+v", err, a.JSON, a.Provenance)
	}
	if progress != 6 {
		t.Fatalf("progress %d, want 6 records handled (3 written, 3 rejected)", progress)
	}
}
