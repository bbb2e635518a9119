package mediation

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/conformance/nlid"
)

// The wait kinds (CodeSystem https://wachtwijzer.nl/fhir/CodeSystem/wait-kind).
const (
	KindOutpatient         = "outpatient"
	KindDiagnostics        = "diagnostics"
	KindTreatmentDay       = "treatment-day"
	KindTreatmentInpatient = "treatment-inpatient"
	KindTreatment          = "treatment"
	KindMHCIntake          = "mhc-intake"
	KindMHCTreatment       = "mhc-treatment"
)

// WaitKinds lists every wait kind.
var WaitKinds = []string{KindOutpatient, KindDiagnostics, KindTreatmentDay, KindTreatmentInpatient, KindTreatment, KindMHCIntake, KindMHCTreatment}

// ValidKind reports whether k is a wait-kind code.
func ValidKind(k string) bool {
	for _, c := range WaitKinds {
		if c == k {
			return true
		}
	}
	return false
}

// ExpandKind returns the kinds a kind parameter matches: treatment matches
// all three treatment codes.
func ExpandKind(k string) []string {
	if k == KindTreatment {
		return []string{KindTreatmentDay, KindTreatmentInpatient, KindTreatment}
	}
	return []string{k}
}

// PublishedKind maps a wait kind to the kind of the provider's published
// wait that applies to it (the NZa publishes outpatient, diagnostics and one
// treatment figure); "" when none applies (mental health).
func PublishedKind(k string) string {
	switch k {
	case KindOutpatient, KindDiagnostics:
		return k
	case KindTreatmentDay, KindTreatmentInpatient, KindTreatment:
		return KindTreatment
	}
	return ""
}

// The provider kinds.
const (
	ProviderUMC      = "umc"
	ProviderHospital = "hospital"
	ProviderZBC      = "zbc"
)

// ProviderKinds decides the provider kind of an Organization from its type
// codings, falling back on the prefix of its AGB code. It is configuration
// (JSON {"codes": {"system|code": kind}, "agbPrefixes": {"06": kind}}).
type ProviderKinds struct {
	Codes       map[string]string `json:"codes"`
	AGBPrefixes map[string]string `json:"agbPrefixes"`
}

// DefaultProviderKinds is the default map: AGB list codes 0602 → umc,
// 0601/0613/0614 → hospital, 2200/2270 → zbc (under both COD016 spellings);
// Nictiz organization-type V5 → umc, V6 → hospital; AGB prefix 06 →
// hospital, 22 → zbc.
func DefaultProviderKinds() ProviderKinds {
	p := ProviderKinds{Codes: map[string]string{}, AGBPrefixes: map[string]string{"06": ProviderHospital, "22": ProviderZBC}}
	for _, sys := range []string{ww.SystemSpecialism, ww.SystemSpecialismVektis} {
		p.Codes[sys+"|0602"] = ProviderUMC
		p.Codes[sys+"|0601"] = ProviderHospital
		p.Codes[sys+"|0613"] = ProviderHospital
		p.Codes[sys+"|0614"] = ProviderHospital
		p.Codes[sys+"|2200"] = ProviderZBC
		p.Codes[sys+"|2270"] = ProviderZBC
	}
	p.Codes[ww.SystemNictizOrgType+"|V5"] = ProviderUMC
	p.Codes[ww.SystemNictizOrgType+"|V6"] = ProviderHospital
	return p
}

// LoadProviderKinds parses a provider-kind map; kinds must be umc,
// hospital or zbc.
func LoadProviderKinds(data []byte) (ProviderKinds, error) {
	var p ProviderKinds
	if err := json.Unmarshal(data, &p); err != nil {
		return p, fmt.Errorf("provider kinds: %w", err)
	}
	for k, v := range p.Codes {
		if !strings.Contains(k, "|") {
			return p, fmt.Errorf("provider kinds: code %q must be system|code", k)
		}
		if !validProviderKind(v) {
			return p, fmt.Errorf("provider kinds: %q maps to %q; use umc, hospital or zbc", k, v)
		}
	}
	for k, v := range p.AGBPrefixes {
		if len(k) != 2 || !validProviderKind(v) {
			return p, fmt.Errorf("provider kinds: AGB prefix %q → %q: prefixes are 2 digits, kinds umc, hospital or zbc", k, v)
		}
	}
	return p, nil
}

func validProviderKind(k string) bool {
	return k == ProviderUMC || k == ProviderHospital || k == ProviderZBC
}

// ValidProviderKind reports whether k is umc, hospital or zbc.
func ValidProviderKind(k string) bool { return validProviderKind(k) }

// Of returns the provider kind of an organisation: the first type coding the
// map knows (umc wins over hospital over zbc when several match), else the
// AGB prefix; "" when neither says.
func (p ProviderKinds) Of(o *OrgFacts) string {
	if o == nil {
		return ""
	}
	best := ""
	rank := map[string]int{ProviderUMC: 3, ProviderHospital: 2, ProviderZBC: 1}
	for _, t := range o.Types {
		if k, ok := p.Codes[t]; ok && rank[k] > rank[best] {
			best = k
		}
	}
	if best != "" {
		return best
	}
	if agb, _, err := nlid.NormalizeAGB(o.AGB); err == nil && len(agb) == 8 {
		return p.AGBPrefixes[agb[:2]]
	}
	return ""
}

// String lists the map (for diagnostics).
func (p ProviderKinds) String() string {
	var out []string
	for k, v := range p.Codes {
		out = append(out, k+"→"+v)
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}
