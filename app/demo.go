package app

import (
	"context"
	"time"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/conformance"
	"github.com/wachtwijzer/wachtwijzer/demo"
	"github.com/wachtwijzer/wachtwijzer/fhirjson"
)

// loadDemo writes the demo dataset, skipping resources that already exist,
// so restarts never duplicate or rewrite it. It returns how many it wrote.
func loadDemo(ctx context.Context, store ww.Store, now time.Time) (int, error) {
	n := 0
	for _, r := range demo.Resources(now) {
		tree, err := fhirjson.Parse(r.JSON, fhirjson.Limits{})
		if err != nil {
			return n, err
		}
		if err := conformance.Validate(ctx, r.Type, tree); err != nil {
			return n, err
		}
		_, err = store.Commit(ctx, &ww.Commit{Writes: []ww.Write{{Op: ww.OpUpdate, IfMissing: true, Type: r.Type, ID: r.ID, JSON: r.JSON,
			Provenance: ww.Provenance{Channel: ww.ChannelDemo, Source: "demo"}}}})
		if ww.IsKind(err, ww.KindConflict) {
			continue
		}
		if err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}
