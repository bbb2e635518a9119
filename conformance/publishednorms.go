package conformance

import (
	"strconv"
	"sync"

	"github.com/wachtwijzer/wachtwijzer/fhirjson"
)

// The Treeknorm per kind of published waiting time, for the exceeds-norm
// search parameter of HealthcareService (default outpatient 28,
// diagnostics 28, treatment 42 days). The gateway sets the configured
// table at start-up; index entries carry the table in force when a service
// was written, so a changed table needs a reindex.
var (
	pubNormsMu sync.RWMutex
	pubNorms   = map[string]int{"outpatient": 28, "diagnostics": 28, "treatment": 42}
)

// SetPublishedNorms replaces the norms of the published kinds (outpatient,
// diagnostics, treatment); kinds not given keep theirs.
func SetPublishedNorms(m map[string]int) {
	pubNormsMu.Lock()
	defer pubNormsMu.Unlock()
	for k, v := range m {
		if _, ok := pubNorms[k]; ok && v > 0 {
			pubNorms[k] = v
		}
	}
}

// exceedsNorm reports whether any published-waiting-time extension among
// nodes gives more days than the norm of its kind.
func exceedsNorm(nodes []Node) bool {
	pubNormsMu.RLock()
	defer pubNormsMu.RUnlock()
	for _, n := range nodes {
		subs := n.V.Get("extension")
		if subs == nil || subs.Kind != fhirjson.Array {
			continue
		}
		kind, days := "", -1
		for _, s := range subs.Items {
			switch s.GetStr("url") {
			case "kind":
				kind = s.GetStr("valueCode")
			case "days":
				if v := s.Get("valueInteger"); v != nil && v.Kind == fhirjson.Number {
					days, _ = strconv.Atoi(string(v.Raw))
				}
			}
		}
		if norm, ok := pubNorms[kind]; ok && days > norm {
			return true
		}
	}
	return false
}
