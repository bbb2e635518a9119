package mediation

import (
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Region is one region: a code, a name and the PC4 ranges it covers.
type Region struct {
	Code      string   `json:"code"`
	Name      string   `json:"name"`
	Postcodes []string `json:"postcodes"`
}

// Regions is a table of regions by postcode: data, replaceable (the default
// is the 12 provinces; an insurer may load ROAZ regions or its own sales
// regions). A PC4 belongs to the first region whose ranges cover it.
type Regions struct {
	Name        string   `json:"name"`
	Description string   `json:"description,omitempty"`
	List        []Region `json:"regions"`
	spans       []span
	fp          string
}

type span struct {
	lo, hi int
	code   string
}

//go:embed regions.json
var defaultRegions []byte

// DefaultRegions returns the 12 provinces by postcode ranges (approximate).
func DefaultRegions() *Regions {
	r, err := LoadRegions(defaultRegions)
	if err != nil {
		panic("mediation: default regions: " + err.Error())
	}
	return r
}

// LoadRegions parses a region table: {"name": …, "regions": [{"code",
// "name", "postcodes": ["1000-1299", "1380", …]}]}.
func LoadRegions(data []byte) (*Regions, error) {
	var r Regions
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("regions: %w", err)
	}
	if len(r.List) == 0 {
		return nil, fmt.Errorf("regions: the table lists no regions")
	}
	seen := map[string]bool{}
	for _, reg := range r.List {
		if reg.Code == "" || strings.ContainsAny(reg.Code, ":|/ \t") {
			return nil, fmt.Errorf("regions: region code %q must be non-empty without ':', '|', '/' or spaces", reg.Code)
		}
		if seen[reg.Code] {
			return nil, fmt.Errorf("regions: region %s is listed twice", reg.Code)
		}
		seen[reg.Code] = true
		for _, pc := range reg.Postcodes {
			lo, hi, err := pcRange(pc)
			if err != nil {
				return nil, fmt.Errorf("regions: %s: %w", reg.Code, err)
			}
			r.spans = append(r.spans, span{lo, hi, reg.Code})
		}
	}
	sort.SliceStable(r.spans, func(i, j int) bool { return r.spans[i].lo < r.spans[j].lo })
	sum := sha256.Sum256(data)
	r.fp = hex.EncodeToString(sum[:8])
	return &r, nil
}

func pcRange(s string) (int, int, error) {
	a, b, isRange := strings.Cut(strings.TrimSpace(s), "-")
	lo, err := strconv.Atoi(strings.TrimSpace(a))
	if err != nil || lo < 1000 || lo > 9999 {
		return 0, 0, fmt.Errorf("postcode range %q: expected PC4 or PC4-PC4 (1000–9999)", s)
	}
	hi := lo
	if isRange {
		if hi, err = strconv.Atoi(strings.TrimSpace(b)); err != nil || hi < lo || hi > 9999 {
			return 0, 0, fmt.Errorf("postcode range %q: expected PC4 or PC4-PC4 (1000–9999)", s)
		}
	}
	return lo, hi, nil
}

// Of returns the code of the region a PC4 lies in, "" when none.
func (r *Regions) Of(pc4 string) string {
	n, err := strconv.Atoi(pc4)
	if err != nil || r == nil {
		return ""
	}
	for _, s := range r.spans {
		if s.lo > n {
			break
		}
		if n <= s.hi {
			return s.code
		}
	}
	return ""
}

// Lookup returns the region with code.
func (r *Regions) Lookup(code string) (Region, bool) {
	for _, reg := range r.List {
		if reg.Code == code {
			return reg, true
		}
	}
	return Region{}, false
}

// Fingerprint identifies the table's content (the store records the table
// it filed waits under, so a changed table is noticed).
func (r *Regions) Fingerprint() string { return r.fp }
