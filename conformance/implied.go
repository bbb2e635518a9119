package conformance

import (
	"strings"
	"sync"
)

// impliedCache maps a token parameter's expression to its implied system.
var impliedCache sync.Map

// ImpliedSystem returns the code system a token parameter's values belong
// to without naming it: every path of its expression ends in a `code`
// element bound to a value set of one code system (Appointment.status:
// http://hl7.org/fhir/appointmentstatus; Patient.gender:
// http://hl7.org/fhir/administrative-gender). Such values are stored without
// a system, so a search that names this system means the bare code. "" when
// the parameter has none.
func (p *SearchParam) ImpliedSystem() string {
	if p.Type != TypeToken || p.Expression == "" {
		return ""
	}
	if v, ok := impliedCache.Load(p.Expression); ok {
		return v.(string)
	}
	sys := impliedSystem(loadSpec(), p.Expression)
	impliedCache.Store(p.Expression, sys)
	return sys
}

// impliedSystem resolves each "Type.element[.element]" path of expr; any
// other form of path has no implied system.
func impliedSystem(s *structure, expr string) string {
	found := ""
	for _, path := range strings.Split(expr, "|") {
		parts := strings.Split(strings.TrimSpace(path), ".")
		if len(parts) < 2 {
			return ""
		}
		td := s.types[parts[0]]
		if td == nil || td.complex == nil {
			return ""
		}
		cd := td.complex
		var el *elemDef
		for i, name := range parts[1:] {
			m, ok := cd.byKey[name]
			if !ok || m.el.choice {
				return ""
			}
			el = m.el
			if i < len(parts)-2 {
				switch {
				case el.nested != nil:
					cd = el.nested
				case len(el.types) == 1 && el.types[0].complex != nil:
					cd = el.types[0].complex
				default:
					return ""
				}
			}
		}
		if len(el.types) != 1 || el.types[0].prim != primCode || el.vs == nil || len(el.vs.bySystem) != 1 {
			return ""
		}
		for sys := range el.vs.bySystem {
			if found != "" && found != sys {
				return ""
			}
			found = sys
		}
	}
	return found
}
