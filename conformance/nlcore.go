package conformance

import (
	"errors"
	"strconv"
	"strings"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/conformance/nlid"
	"github.com/wachtwijzer/wachtwijzer/fhirjson"
)

// identifier checks the Dutch identifiers wherever an Identifier appears
// (resource identifiers, Reference.identifier, …): BSN (9 digits,
// elfproef), AGB (8 digits), URA (8 digits), UZOVI (4 digits). A BSN is
// never repeated in a diagnostic. These are rule findings (422): the
// resource is valid R4 but breaks the Dutch identifier rules.
func (w *walker) identifier(v *fhirjson.Value) {
	sysB := memberBytes(v, "system")
	switch string(sysB) {
	case nlid.SystemBSN, nlid.SystemAGB, nlid.SystemURA, nlid.SystemUZOVI:
	default:
		return
	}
	sys := string(sysB)
	vv := v.Get("value")
	if vv == nil {
		return
	}
	val, ok := vv.Str()
	if !ok {
		return
	}
	mark := w.push("value")
	defer func() { w.path = w.path[:mark] }()
	switch sys {
	case nlid.SystemBSN:
		if err := nlid.CheckBSN(val); err != nil {
			why := "is not a valid BSN: "
			switch {
			case errors.Is(err, nlid.ErrChecksum):
				why += "it fails the elfproef (11-test); check the digits"
			case errors.Is(err, nlid.ErrNotDigits):
				why += "a BSN is 9 digits, without spaces, dots or letters"
			default:
				why += "a BSN is exactly 9 digits (" + strconv.Itoa(len(val)) + " characters given); a BSN with a dropped leading zero needs the 0 back"
			}
			w.ruleAt(ww.SeverityError, "value", "%s", why)
		}
	case nlid.SystemAGB:
		if err := nlid.CheckAGB(val); err != nil {
			if norm, padded, nerr := nlid.NormalizeAGB(val); nerr == nil && padded {
				w.ruleAt(ww.SeverityError, "value", "is the AGB code %q with 7 digits; an AGB code has 8 digits. It looks like a dropped leading zero: send %q", val, norm)
			} else {
				w.ruleAt(ww.SeverityError, "value", "is %q, not an AGB code: an AGB code is exactly 8 digits (e.g. 06020502)", val)
			}
		}
	case nlid.SystemURA:
		if err := nlid.CheckURA(val); err != nil {
			w.ruleAt(ww.SeverityError, "value", "is %q, not a URA number: a URA number is exactly 8 digits", val)
		}
	case nlid.SystemUZOVI:
		if err := nlid.CheckUZOVI(val); err != nil {
			w.ruleAt(ww.SeverityError, "value", "is %q, not a UZOVI code: a UZOVI code is exactly 4 digits (e.g. 7119)", val)
		}
	}
}

// Profile is a profile the gateway knows: claimed in meta.profile, its
// rules are checked.
type Profile struct {
	URL  string
	Type string
	// Slices are identifier slices by system.
	Slices []IdentifierSlice
}

// IdentifierSlice is an identifier slice of a profile: the identifiers
// with System, at most Max of them (-1: unbounded).
type IdentifierSlice struct {
	Name   string
	System string
	Max    int
}

// The nl-core R4 profiles (Nictiz zib2020) the served types are declared
// with, and what they fix that matters here: the identifier slices.
var profiles = map[string]*Profile{}

// RegisterProfile declares a profile. Call it from init or before serving.
func RegisterProfile(p *Profile) { profiles[p.URL] = p }

func init() {
	const nictiz = "http://nictiz.nl/fhir/StructureDefinition/"
	RegisterProfile(&Profile{URL: nictiz + "nl-core-Patient", Type: "Patient",
		Slices: []IdentifierSlice{{Name: "bsn", System: nlid.SystemBSN, Max: 1}}})
	RegisterProfile(&Profile{URL: nictiz + "nl-core-HealthcareProvider-Organization", Type: "Organization",
		Slices: []IdentifierSlice{{Name: "ura", System: nlid.SystemURA, Max: -1}, {Name: "agb", System: nlid.SystemAGB, Max: -1}}})
	RegisterProfile(&Profile{URL: nictiz + "nl-core-HealthcareProvider", Type: "Location"})
	RegisterProfile(&Profile{URL: nictiz + "nl-core-HealthProfessional-Practitioner", Type: "Practitioner",
		Slices: []IdentifierSlice{{Name: "big", System: "http://fhir.nl/fhir/NamingSystem/big", Max: -1},
			{Name: "uzi", System: "http://fhir.nl/fhir/NamingSystem/uzi-nr-pers", Max: -1},
			{Name: "agb", System: nlid.SystemAGB, Max: -1}}})
	RegisterProfile(&Profile{URL: nictiz + "nl-core-HealthProfessional-PractitionerRole", Type: "PractitionerRole"})
}

// LookupProfile returns a known profile.
func LookupProfile(url string) (*Profile, bool) {
	p, ok := profiles[strings.SplitN(url, "|", 2)[0]]
	return p, ok
}

// checkProfiles checks the profiles a resource claims in meta.profile
// (and extra ones, from $validate's profile parameter): a known profile's
// rules apply (422 when broken); the base R4 definition of the type is
// always fine; an unknown profile is a warning (the resource is still
// checked against R4).
func (w *walker) checkProfiles(typ string, res *fhirjson.Value, extra []string) {
	var items []*fhirjson.Value
	if ps := res.Get("meta").Get("profile"); ps != nil && ps.Kind == fhirjson.Array {
		items = ps.Items
	}
	base := len(w.path)
	for i := 0; i < len(items)+len(extra); i++ {
		var url string
		w.path = w.path[:base]
		if i < len(items) {
			b, ok := strBytes(items[i])
			if !ok {
				continue
			}
			url = string(b)
			w.path = append(w.path, ".meta.profile["...)
			w.path = strconv.AppendInt(w.path, int64(i), 10)
			w.path = append(w.path, ']')
		} else {
			url = extra[i-len(items)]
		}
		url, _, _ = strings.Cut(url, "|")
		if url == "http://hl7.org/fhir/StructureDefinition/"+typ {
			continue
		}
		p, known := profiles[url]
		switch {
		case !known && !projectProfile(url, typ):
			w.ruleAt(ww.SeverityWarning, "not-supported", "claims profile %s, which this server does not know; the resource was checked against the base R4 %s definition only", url, typ)
		case known && p.Type != typ:
			w.ruleAt(ww.SeverityError, "invalid", "claims profile %s, which constrains %s, not %s", url, p.Type, typ)
		case known:
			w.path = w.path[:base]
			w.checkSlices(p, res)
		}
	}
	w.path = w.path[:base]
}

func (w *walker) checkSlices(p *Profile, res *fhirjson.Value) {
	ids := res.Get("identifier")
	if ids == nil || ids.Kind != fhirjson.Array {
		return
	}
	for _, s := range p.Slices {
		n := 0
		for _, id := range ids.Items {
			if id.GetStr("system") == s.System {
				n++
			}
		}
		if s.Max >= 0 && n > s.Max {
			mark := w.push("identifier")
			w.ruleAt(ww.SeverityError, "structure", "has %d identifiers with system %s; profile %s allows at most %d (slice %s)", n, s.System, p.URL, s.Max, s.Name)
			w.path = w.path[:mark]
		}
	}
}

// projectProfile reports whether url is a profile StructureDefinition
// served from the conformance registry for typ.
func projectProfile(url, typ string) bool {
	r, ok := ConformanceResources().ByURL("StructureDefinition", url)
	return ok && r.Tree.GetStr("type") == typ
}
