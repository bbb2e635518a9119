package mediation

import (
	"fmt"
	"strings"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/fhirjson"
)

// NormalizeSpecialism returns the 4-digit COD016 form of an AGB specialism
// code: NZa and other sources drop the leading 0 ("305" → "0305"). ok is
// false for anything that is not 3 or 4 digits.
func NormalizeSpecialism(code string) (string, bool) {
	code = strings.TrimSpace(code)
	if len(code) < 3 || len(code) > 4 {
		return "", false
	}
	for i := 0; i < len(code); i++ {
		if code[i] < '0' || code[i] > '9' {
			return "", false
		}
	}
	if len(code) == 3 {
		code = "0" + code
	}
	return code, true
}

// SpecialismOf returns the normalised specialism of a CodeableConcept (or
// an array of them): the first coding under either spelling of the COD016
// system. "" when there is none.
func SpecialismOf(v *fhirjson.Value) string {
	if v == nil {
		return ""
	}
	if v.Kind == fhirjson.Array {
		for _, it := range v.Items {
			if s := SpecialismOf(it); s != "" {
				return s
			}
		}
		return ""
	}
	for _, c := range items(v.Get("coding")) {
		if ww.IsSpecialismSystem(c.GetStr("system")) {
			if s, ok := NormalizeSpecialism(c.GetStr("code")); ok {
				return s
			}
		}
	}
	return ""
}

// ParseSpecialty parses a specialty parameter: CODE or SYSTEM|CODE, the
// system either spelling of COD016; 3-digit codes are padded.
func ParseSpecialty(v string) (string, error) {
	code := v
	if sys, c, ok := strings.Cut(v, "|"); ok {
		if sys != "" && !ww.IsSpecialismSystem(sys) {
			return "", fmt.Errorf("specialty %q: the system must be %s or %s", v, ww.SystemSpecialism, ww.SystemSpecialismVektis)
		}
		code = c
	}
	s, ok := NormalizeSpecialism(code)
	if !ok {
		return "", fmt.Errorf("specialty %q: expected an AGB specialism code of 3 or 4 digits (e.g. 0305)", v)
	}
	return s, nil
}
