package hl7ingest

import (
	"bytes"
	"context"
	"fmt"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/mappings/hl7v2"
)

// mergeRefs are the references that follow a Patient merge (ADT^A40): the
// waits, appointments and coverages of the retired Patient move to the
// surviving one.
var mergeRefs = []struct{ typ, param string }{
	{"ServiceRequest", "subject"},
	{"Appointment", "patient"},
	{"Coverage", "beneficiary"},
}

// maxMergeRefs bounds the resources one merge rewrites (one commit).
const maxMergeRefs = 1000

// mergeWrites finds the resources that reference the retired Patient of an
// A40 and rewrites their references to the survivor, in the same commit as
// the Patients (each with If-Match on the version read, so a concurrent
// change fails the commit and the sender's resend merges again). The
// retired Patient itself is the stub the mapping wrote (active false, a
// replaced-by link, no BSN): with the BSN gone from its identifiers, the
// BSN index (and any member key derived from it) reaches the survivor only.
func (st *state) mergeWrites(ctx context.Context, res *hl7v2.Result) ([]ww.Write, error) {
	if res.Merge == nil {
		return nil, nil
	}
	from := []byte(`"reference":"Patient/` + res.Merge.Retired + `"`)
	to := []byte(`"reference":"Patient/` + res.Merge.Surviving + `"`)
	prov := ww.Provenance{Owner: res.AGB, Channel: ww.ChannelHL7, Source: res.Source}
	seen := map[string]bool{}
	var out []ww.Write
	for _, r := range mergeRefs {
		found, err := st.p.o.Store.Search(ctx, &ww.Query{Type: r.typ, Count: maxMergeRefs,
			Clauses: []ww.Clause{{Param: r.param, Values: []string{"Patient/" + res.Merge.Retired}}}})
		if err != nil {
			return nil, fmt.Errorf("merge: find %s referencing the retired Patient: %w", r.typ, err)
		}
		if found.Next != nil {
			return nil, fmt.Errorf("merge: more than %d %s reference the retired Patient", maxMergeRefs, r.typ)
		}
		for _, fr := range found.Resources {
			k := fr.Type + "/" + fr.ID
			if seen[k] || !bytes.Contains(fr.JSON, from) {
				continue
			}
			seen[k] = true
			out = append(out, ww.Write{Op: ww.OpUpdate, Type: fr.Type, ID: fr.ID, IfMatch: fr.VersionID,
				JSON: bytes.ReplaceAll(fr.JSON, from, to), Provenance: prov})
		}
	}
	return out, nil
}
