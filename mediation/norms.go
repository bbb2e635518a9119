package mediation

import (
	"encoding/json"
	"fmt"
)

// Norms is the Treeknorm table: the maximum acceptable waiting days per wait
// kind, overridable per specialism. It is configuration (JSON {"kinds":
// {"outpatient": 28, …}, "specialisms": {"0329": {"mhc-intake": 21}}}); the
// defaults are the norms insurers act on (DOMAIN.md).
type Norms struct {
	Kinds       map[string]int            `json:"kinds"`
	Specialisms map[string]map[string]int `json:"specialisms,omitempty"`
}

// DefaultNorms returns the default Treeknorm table.
func DefaultNorms() Norms {
	return Norms{Kinds: map[string]int{
		KindOutpatient: 28, KindDiagnostics: 28, KindTreatmentDay: 42, KindTreatmentInpatient: 49,
		KindTreatment: 42, KindMHCIntake: 28, KindMHCTreatment: 70,
	}}
}

// LoadNorms parses a norm table; kinds missing from it keep their defaults.
func LoadNorms(data []byte) (Norms, error) {
	var in Norms
	if err := json.Unmarshal(data, &in); err != nil {
		return Norms{}, fmt.Errorf("treeknorm table: %w", err)
	}
	n := DefaultNorms()
	for k, d := range in.Kinds {
		if !ValidKind(k) {
			return Norms{}, fmt.Errorf("treeknorm table: unknown wait kind %q", k)
		}
		if d <= 0 || d > 3650 {
			return Norms{}, fmt.Errorf("treeknorm table: %s: %d days is not a norm", k, d)
		}
		n.Kinds[k] = d
	}
	for s, m := range in.Specialisms {
		code, ok := NormalizeSpecialism(s)
		if !ok {
			return Norms{}, fmt.Errorf("treeknorm table: %q is not a specialism code", s)
		}
		for k, d := range m {
			if !ValidKind(k) {
				return Norms{}, fmt.Errorf("treeknorm table: %s: unknown wait kind %q", code, k)
			}
			if d <= 0 || d > 3650 {
				return Norms{}, fmt.Errorf("treeknorm table: %s/%s: %d days is not a norm", code, k, d)
			}
		}
		if n.Specialisms == nil {
			n.Specialisms = map[string]map[string]int{}
		}
		n.Specialisms[code] = m
	}
	return n, nil
}

// Days returns the norm for a wait of kind at specialism (a wait without a
// kind is held to the outpatient norm).
func (n Norms) Days(kind, specialism string) int {
	if kind == "" {
		kind = KindOutpatient
	}
	if m, ok := n.Specialisms[specialism]; ok {
		if d, ok := m[kind]; ok {
			return d
		}
	}
	if d, ok := n.Kinds[kind]; ok {
		return d
	}
	return DefaultNorms().Kinds[kind]
}
