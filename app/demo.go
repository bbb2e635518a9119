package app

import (
	"context"
	"strings"
	"time"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/conformance"
	"github.com/wachtwijzer/wachtwijzer/conformance/nlid"
	"github.com/wachtwijzer/wachtwijzer/demo"
	"github.com/wachtwijzer/wachtwijzer/fhirjson"
)

// loadDemo writes the demo dataset, skipping resources that already exist,
// so restarts never duplicate or rewrite it. It returns how many it wrote.
// Each resource is owned by the organisation it belongs to (demoOwners), as
// if that hospital or insurer had sent it, so the demo clients see their own.
func loadDemo(ctx context.Context, store ww.Store, now time.Time) (int, error) {
	rs := demo.Resources(now)
	trees := make([]*fhirjson.Value, len(rs))
	for i, r := range rs {
		tree, err := fhirjson.Parse(r.JSON, fhirjson.Limits{})
		if err != nil {
			return 0, err
		}
		if err := conformance.Validate(ctx, r.Type, tree); err != nil {
			return 0, err
		}
		trees[i] = tree
	}
	owners := demoOwners(rs, trees)
	n := 0
	for _, r := range rs {
		_, err := store.Commit(ctx, &ww.Commit{Writes: []ww.Write{{Op: ww.OpUpdate, IfMissing: true, Type: r.Type, ID: r.ID, JSON: r.JSON,
			Provenance: ww.Provenance{Owner: owners[r.Type+"/"+r.ID], Channel: ww.ChannelDemo, Source: "demo"}}}})
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

// demoOwnerFields are the references that name the organisation a demo
// resource belongs to, in the order they are tried.
var demoOwnerFields = []string{"performer", "managingOrganization", "providedBy", "organization", "serviceProvider", "payor"}

// demoOwners maps "Type/id" to the AGB (providers) or UZOVI (insurers) of
// the organisation each demo resource belongs to: an Organization to itself,
// others through demoOwnerFields, an Appointment through the ServiceRequest
// it is based on.
func demoOwners(rs []demo.Resource, trees []*fhirjson.Value) map[string]string {
	orgCode := map[string]string{}
	for i, r := range rs {
		if r.Type != "Organization" {
			continue
		}
		for _, idf := range items(trees[i].Get("identifier")) {
			if s := idf.GetStr("system"); s == nlid.SystemAGB || s == nlid.SystemUZOVI {
				orgCode["Organization/"+r.ID] = idf.GetStr("value")
				break
			}
		}
	}
	owners := map[string]string{}
	for k, v := range orgCode {
		owners[k] = v
	}
	for i, r := range rs {
		for _, f := range demoOwnerFields {
			if code := firstOrg(trees[i].Get(f), orgCode); code != "" {
				owners[r.Type+"/"+r.ID] = code
				break
			}
		}
	}
	for i, r := range rs {
		if r.Type != "Appointment" {
			continue
		}
		for _, b := range items(trees[i].Get("basedOn")) {
			if o := owners[b.GetStr("reference")]; o != "" {
				owners[r.Type+"/"+r.ID] = o
				break
			}
		}
	}
	return owners
}

// firstOrg returns the code of the first Organization reference in v (a
// Reference or an array of them).
func firstOrg(v *fhirjson.Value, orgCode map[string]string) string {
	for _, ref := range items(v) {
		if s := ref.GetStr("reference"); strings.HasPrefix(s, "Organization/") {
			if c := orgCode[s]; c != "" {
				return c
			}
		}
	}
	return ""
}

// items returns an array's elements, or v itself when it is one value.
func items(v *fhirjson.Value) []*fhirjson.Value {
	switch {
	case v == nil:
		return nil
	case v.Kind == fhirjson.Array:
		return v.Items
	default:
		return []*fhirjson.Value{v}
	}
}
