package conformance

import (
	_ "embed"
	"encoding/json"
	"strings"
)

//go:embed summary.json
var summaryJSON []byte

// summary holds, per served type, the element paths _summary=true keeps
// (from the R4 definitions' isSummary flags; see internal/mksummary).
var summary = mustLoadSummary(summaryJSON)

func mustLoadSummary(b []byte) map[string]map[string]bool {
	var raw map[string][]string
	if err := json.Unmarshal(b, &raw); err != nil {
		panic("conformance: summary.json: " + err.Error())
	}
	out := map[string]map[string]bool{}
	for typ, paths := range raw {
		m := map[string]bool{}
		for _, p := range paths {
			m[p] = true
		}
		out[typ] = m
	}
	return out
}

// SummaryElement reports whether the element at path (relative to the
// resource, "status" or "participant.actor"; a JSON key such as
// valueQuantity matches the choice value[x]) is part of typ's summary, and
// whether some of its children are listed (so only those are kept).
func SummaryElement(typ, path string) (keep, byChild bool) {
	m := summary[typ]
	if m == nil {
		return true, false
	}
	match := path
	if !m[path] {
		match = ""
		dot := strings.LastIndexByte(path, '.')
		parent, key := "", path
		if dot >= 0 {
			parent, key = path[:dot+1], path[dot+1:]
		}
		for p := range m {
			stem, ok := strings.CutSuffix(p, "[x]")
			if !ok || !strings.HasPrefix(stem, parent) {
				continue
			}
			stem = strings.TrimPrefix(stem, parent)
			if strings.HasPrefix(key, stem) && len(key) > len(stem) && key[len(stem)] >= 'A' && key[len(stem)] <= 'Z' {
				match = p
				break
			}
		}
		if match == "" {
			return false, false
		}
	}
	for p := range m {
		if strings.HasPrefix(p, match+".") {
			return true, true
		}
	}
	return true, false
}
