package nzacsv

import (
	"bytes"
	"fmt"
	"sort"
	"strconv"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/fhirjson"
	"github.com/wachtwijzer/wachtwijzer/mediation"
)

// SystemTreatment is the code system of NZa treatment numbers in the
// treatment sub-extension.
const SystemTreatment = ww.CanonicalBase + "/CodeSystem/nza-treatment"

// Source is the source named in the extensions this package writes.
const Source = "NZa Zorgbeeld"

// IDs are the resource ids a row meets (wachtwijzer.DeriveID over the
// business identifiers, so the NZa import, gen, HL7 and pull meet on one
// Organization per AGB, one Location per location AGB and one
// HealthcareService per location × specialism).
type IDs struct {
	Org, Location, Service string
	// LocationSystem and LocationValue identify the Location: its AGB, else
	// the NZa LocationKey.
	LocationSystem, LocationValue string
	ServiceValue                  string
}

// IDsOf derives the ids of a row.
func IDsOf(key []byte, r *Row) IDs {
	ids := IDs{Org: ww.DeriveID(key, "Organization", ww.SystemAGB, r.ProviderAGB)}
	if r.LocationAGB != "" {
		ids.LocationSystem, ids.LocationValue = ww.SystemAGB, r.LocationAGB
	} else {
		ids.LocationSystem, ids.LocationValue = ww.SystemLocation, r.LocationKey
	}
	ids.Location = ww.DeriveID(key, "Location", ids.LocationSystem, ids.LocationValue)
	ids.ServiceValue = ww.ServiceValue(ids.LocationValue, r.Specialism, "")
	ids.Service = ww.DeriveID(key, "HealthcareService", ww.SystemHealthcareService, ids.ServiceValue)
	return ids
}

func str(s string) *fhirjson.Value { return fhirjson.NewString(s) }

func obj(kv ...any) *fhirjson.Value {
	o := fhirjson.NewObject()
	for i := 0; i+1 < len(kv); i += 2 {
		v := kv[i+1]
		var jv *fhirjson.Value
		switch x := v.(type) {
		case string:
			if x == "" {
				continue
			}
			jv = str(x)
		case *fhirjson.Value:
			if x == nil {
				continue
			}
			jv = x
		case bool:
			jv = fhirjson.NewBool(x)
		case int:
			jv = fhirjson.NewNumber(int64(x))
		}
		o.Set(kv[i].(string), jv)
	}
	return o
}

func ident(system, value string) *fhirjson.Value { return obj("system", system, "value", value) }

// NewOrganization returns the Organization a row names, for when it is not
// known yet.
func NewOrganization(r *Row, ids IDs) []byte {
	idents := fhirjson.NewArray(ident(ww.SystemAGB, r.ProviderAGB))
	if r.KvK != "" {
		idents.Items = append(idents.Items, ident(ww.SystemKvK, r.KvK))
	}
	return obj("resourceType", "Organization", "id", ids.Org, "identifier", idents, "active", true, "name", r.CareProvider).Bytes()
}

// NewLocation returns the Location a row names, for when it is not known
// yet; geo places it when it knows the PC4.
func NewLocation(r *Row, ids IDs, geo mediation.PC4Geo) []byte {
	line := r.Street
	if r.StreetNumber != "" {
		line += " " + r.StreetNumber
	}
	var addr *fhirjson.Value
	if line != "" || r.PostalCode != "" || r.City != "" {
		a := obj("use", "work", "city", r.City, "postalCode", r.PostalCode, "country", "NL")
		if line != "" {
			a.SetFirst(1, "line", fhirjson.NewArray(str(line)))
		}
		addr = a
	}
	l := obj("resourceType", "Location", "id", ids.Location, "identifier", fhirjson.NewArray(ident(ids.LocationSystem, ids.LocationValue)),
		"status", "active", "name", r.Location, "mode", "instance", "address", addr)
	if p, ok := geo[mediation.PC4(r.PostalCode)]; ok {
		l.Set("position", obj("longitude", &fhirjson.Value{Kind: fhirjson.Number, Raw: []byte(strconv.FormatFloat(p.Lon, 'f', -1, 64)), Off: -1},
			"latitude", &fhirjson.Value{Kind: fhirjson.Number, Raw: []byte(strconv.FormatFloat(p.Lat, 'f', -1, 64)), Off: -1}))
	}
	l.Set("managingOrganization", obj("reference", "Organization/"+ids.Org, "display", r.CareProvider))
	return l.Bytes()
}

// figureKey identifies one published figure on a service: the kind, and
// for treatment the NZa treatment number.
func figureKey(kind, treatment string) string {
	if kind != mediation.KindTreatment {
		return kind
	}
	return kind + "|" + treatment
}

// publishedExt is the published-waiting-time extension of a row.
func publishedExt(r *Row) *fhirjson.Value {
	subs := fhirjson.NewArray(obj("url", "kind", "valueCode", r.Kind))
	if r.HasDays {
		subs.Items = append(subs.Items, obj("url", "days", "valueInteger", r.Days))
	}
	subs.Items = append(subs.Items, obj("url", "measuredOn", "valueDate", r.Date.String()), obj("url", "source", "valueString", Source))
	if r.Kind == mediation.KindTreatment && r.TreatmentNumber != "" {
		subs.Items = append(subs.Items, obj("url", "treatment", "valueCoding", obj("system", SystemTreatment, "code", r.TreatmentNumber, "display", r.Treatment)))
	}
	if r.Insufficient {
		subs.Items = append(subs.Items, obj("url", "insufficientObservations", "valueBoolean", true))
	}
	return obj("url", ww.ExtPublishedWait, "extension", subs)
}

// MergeService applies a publication's rows for one HealthcareService to
// its current JSON (nil when it does not exist yet): per kind (and, for
// treatment, per NZa treatment) a newer or equally dated figure replaces
// the stored one; an older one is skipped and reported. A figure without a
// treatment number (written by another source) is the specialism's
// treatment figure and gives way to the publication's treatment figures.
// It returns the new JSON and whether anything changed.
func MergeService(existing []byte, ids IDs, rows []*Row) ([]byte, bool, []RowError, error) {
	var tree *fhirjson.Value
	if existing != nil {
		var err error
		if tree, err = fhirjson.Parse(existing, fhirjson.Limits{MaxDepth: 200}); err != nil {
			return nil, false, nil, fmt.Errorf("stored HealthcareService/%s: %w", ids.Service, err)
		}
	} else {
		r := rows[0]
		name := r.SpecialismName
		if r.Location != "" {
			name += ", " + r.Location
		}
		tree = obj("resourceType", "HealthcareService", "id", ids.Service,
			"identifier", fhirjson.NewArray(ident(ww.SystemHealthcareService, ids.ServiceValue)), "active", true,
			"providedBy", obj("reference", "Organization/"+ids.Org, "display", r.CareProvider),
			"specialty", fhirjson.NewArray(obj("coding", fhirjson.NewArray(obj("system", ww.SystemSpecialism, "code", r.Specialism, "display", r.SpecialismName)))),
			"location", fhirjson.NewArray(obj("reference", "Location/"+ids.Location, "display", r.Location)),
			"name", name)
	}
	before := tree.Bytes()
	// The stored figures by key.
	exts := tree.Get("extension")
	var kept []*fhirjson.Value
	stored := map[string]*fhirjson.Value{}
	storedDay := map[string]mediation.Day{}
	var order []string
	if exts != nil && exts.Kind == fhirjson.Array {
		for _, e := range exts.Items {
			if e.GetStr("url") != ww.ExtPublishedWait {
				kept = append(kept, e)
				continue
			}
			kind, treat, day := figureOf(e)
			k := figureKey(kind, treat)
			if _, dup := stored[k]; !dup {
				order = append(order, k)
			}
			stored[k], storedDay[k] = e, day
		}
	}
	var older []RowError
	// The newest row per key wins within one publication too.
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].Date < rows[j].Date })
	for _, r := range rows {
		k := figureKey(r.Kind, r.TreatmentNumber)
		if d, ok := storedDay[k]; ok && d > r.Date {
			older = append(older, RowError{Line: r.Line, Field: "Date", Msg: fmt.Sprintf("the %s figure of %s (peildatum %s) is older than the stored one of %s; kept the stored one", r.Kind, r.Specialism, r.Date, d)})
			continue
		}
		if r.Kind == mediation.KindTreatment && r.TreatmentNumber != "" {
			if d, ok := storedDay[mediation.KindTreatment+"|"]; ok && d <= r.Date {
				delete(stored, mediation.KindTreatment+"|")
				delete(storedDay, mediation.KindTreatment+"|")
			}
		}
		if _, ok := stored[k]; !ok {
			order = append(order, k)
		}
		stored[k], storedDay[k] = publishedExt(r), r.Date
	}
	all := fhirjson.NewArray()
	for _, k := range order {
		if e, ok := stored[k]; ok {
			all.Items = append(all.Items, e)
			delete(stored, k)
		}
	}
	all.Items = append(all.Items, kept...)
	tree.Delete("extension")
	pos := 0
	for i, m := range tree.Members {
		if m.Key == "resourceType" || m.Key == "id" || m.Key == "meta" || m.Key == "text" || m.Key == "contained" {
			pos = i + 1
		}
	}
	if len(all.Items) > 0 {
		tree.SetFirst(pos, "extension", all)
	}
	after := tree.Bytes()
	return after, existing == nil || !bytes.Equal(before, after), older, nil
}

// figureOf reads kind, treatment number and measuredOn of a stored figure.
func figureOf(e *fhirjson.Value) (kind, treatment string, day mediation.Day) {
	day = mediation.NoDay
	subs := e.Get("extension")
	if subs == nil || subs.Kind != fhirjson.Array {
		return
	}
	for _, s := range subs.Items {
		switch s.GetStr("url") {
		case "kind":
			kind = s.GetStr("valueCode")
		case "measuredOn":
			if d, ok := mediation.DayOfFHIR(s.GetStr("valueDate")); ok {
				day = d
			}
		case "treatment":
			treatment = s.Get("valueCoding").GetStr("code")
		}
	}
	return
}
