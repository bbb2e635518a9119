package gateway

import (
	"encoding/json"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/conformance"
	"github.com/wachtwijzer/wachtwijzer/fhirjson"
	"github.com/wachtwijzer/wachtwijzer/mediation"
	"github.com/wachtwijzer/wachtwijzer/mediation/engine"
)

// The insurer operations (one file each: op_long_waits.go,
// op_availability.go, op_mediation_options.go, op_regional_capacity.go,
// op_mediation_report.go, op_import_waiting_times.go). This file holds
// what they share: their parameters (GET query or POST Parameters),
// asOf, page tokens and the extensions they add to stored resources.

// Extension URLs of the operations.
const (
	extWaitingTime     = ww.CanonicalBase + "/StructureDefinition/waiting-time"
	extDistanceKm      = ww.CanonicalBase + "/StructureDefinition/distanceKm"
	extContracted      = ww.CanonicalBase + "/StructureDefinition/contracted"
	extMediationOption = ww.CanonicalBase + "/StructureDefinition/mediation-option"
	extMedian          = ww.CanonicalBase + "/StructureDefinition/median-waiting-days"
	extP90             = ww.CanonicalBase + "/StructureDefinition/p90-waiting-days"
	extWeeksToClear    = ww.CanonicalBase + "/StructureDefinition/weeks-to-clear"
)

// engineOf returns the gateway's mediation engine, or a 501 when the store
// cannot answer insurer operations.
func engineOf(r *OperationRequest) (*engine.Engine, error) {
	if r.gw == nil || r.gw.med == nil {
		return nil, ww.Errorf(ww.KindNotAllowed, "not-supported", "this store cannot answer the insurer operations")
	}
	if err := r.gw.med.Refresh(r.ctx); err != nil {
		return nil, err
	}
	return r.gw.med, nil
}

// opParams are an operation's input parameters: the query string for GET;
// for POST, a Parameters resource in the body (plus the query string).
// Names not declared by the operation's OperationDefinition are ignored,
// or a 400 under Prefer: handling=strict.
func opParams(r *OperationRequest, code string) (url.Values, error) {
	out := url.Values{}
	for k, v := range r.query {
		out[k] = append(out[k], v...)
	}
	if r.method == http.MethodPost && len(strings.TrimSpace(string(r.body))) > 0 {
		tree, err := parseJSON(r.body, fhirjson.Limits{MaxDepth: 20})
		if err != nil {
			return nil, err
		}
		if tree.GetStr("resourceType") != "Parameters" {
			return nil, ww.Errorf(ww.KindInvalid, "invalid", "$%s takes a Parameters resource in a POST body, not %q", code, tree.GetStr("resourceType")).At("resourceType")
		}
		ps := tree.Get("parameter")
		if ps != nil && ps.Kind != fhirjson.Array {
			return nil, ww.Errorf(ww.KindInvalid, "structure", "Parameters.parameter must be an array").At("Parameters.parameter")
		}
		for i, p := range itemsOf(ps) {
			name := p.GetStr("name")
			if name == "" {
				return nil, ww.Errorf(ww.KindInvalid, "required", "Parameters.parameter[%d] has no name", i).At("Parameters.parameter[" + strconv.Itoa(i) + "].name")
			}
			v, ok := paramValue(p)
			if !ok {
				return nil, ww.Errorf(ww.KindInvalid, "value", "parameter %s: give a primitive value[x] (valueString, valueCode, valueDate, valueInteger, valueDecimal, valueBoolean, valueUri)", name).At("Parameters.parameter[" + strconv.Itoa(i) + "]")
			}
			out.Add(name, v)
		}
	}
	known := map[string]bool{"_page": true, "_format": true, "_pretty": true}
	for _, n := range conformance.OperationInputs(code) {
		known[n] = true
	}
	for k := range out {
		if !known[k] {
			if r.prefer.handling == "strict" {
				return nil, ww.Errorf(ww.KindInvalid, "not-supported", "$%s has no parameter %q (see OperationDefinition/%s)", code, k, code).At(k)
			}
			delete(out, k)
		}
	}
	return out, nil
}

func itemsOf(v *fhirjson.Value) []*fhirjson.Value {
	if v == nil || v.Kind != fhirjson.Array {
		return nil
	}
	return v.Items
}

func paramValue(p *fhirjson.Value) (string, bool) {
	for _, m := range p.Members {
		if !strings.HasPrefix(m.Key, "value") {
			continue
		}
		switch m.Value.Kind {
		case fhirjson.String:
			s, ok := m.Value.Str()
			return s, ok
		case fhirjson.Number, fhirjson.Bool:
			return string(m.Value.Raw), true
		}
		return "", false
	}
	return "", false
}

// asOf reads the asOf parameter (default: today in Europe/Amsterdam).
func asOfParam(e *engine.Engine, ps url.Values) (mediation.Day, error) {
	v := ps.Get("asOf")
	if v == "" {
		return e.Today(), nil
	}
	d, err := mediation.ParseDay(v)
	if err != nil {
		return mediation.NoDay, ww.Errorf(ww.KindInvalid, "value", "asOf: %v", err).At("asOf")
	}
	return d, nil
}

// countParam reads _count with a default and a maximum.
func countParam(ps url.Values, def, max int) (int, error) {
	v := ps.Get("_count")
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, ww.Errorf(ww.KindInvalid, "value", "_count=%s is not a non-negative number", v).At("_count")
	}
	return min(n, max), nil
}

// insurerParam reads a UZOVI token: 7119 or http://fhir.nl/fhir/NamingSystem/uzovi|7119.
func insurerParam(ps url.Values) (string, error) {
	v := ps.Get("insurer")
	if v == "" {
		return "", nil
	}
	code := v
	if sys, c, ok := strings.Cut(v, "|"); ok {
		if sys != "" && sys != ww.SystemUZOVI {
			return "", ww.Errorf(ww.KindInvalid, "value", "insurer %q: the system must be %s", v, ww.SystemUZOVI).At("insurer")
		}
		code = c
	}
	if len(code) != 4 || strings.Trim(code, "0123456789") != "" {
		return "", ww.Errorf(ww.KindInvalid, "value", "insurer %q: a UZOVI code is 4 digits (e.g. 7119)", v).At("insurer")
	}
	return code, nil
}

func specialtyParam(ps url.Values) (string, error) {
	v := ps.Get("specialty")
	if v == "" {
		return "", nil
	}
	s, err := mediation.ParseSpecialty(v)
	if err != nil {
		return "", ww.Errorf(ww.KindInvalid, "value", "%v", err).At("specialty")
	}
	return s, nil
}

func nearParam(ps url.Values) (*engine.Near, error) {
	v := ps.Get("near")
	if v == "" {
		return nil, nil
	}
	n, err := conformance.ParseNear("near", v)
	if err != nil {
		return nil, err
	}
	return &engine.Near{Lat: n.Lat, Lon: n.Lon, Km: n.Km}, nil
}

// normalized is the canonical form of the parameters a page token is
// bound to (and the self link shows).
func normalized(ps url.Values) url.Values {
	out := url.Values{}
	for k, v := range ps {
		if k == "_page" || k == "_format" || k == "_pretty" {
			continue
		}
		vs := append([]string(nil), v...)
		sort.Strings(vs)
		out[k] = vs
	}
	return out
}

// opToken seals a continuation for an operation: the bound query, a cursor
// and the asOf it was computed for.
func (g *Gateway) opToken(bound string, cur ww.Cursor, asOf mediation.Day) string {
	return g.tokens.seal(pageState{Query: queryHash(bound), Cursor: cur, AsOf: asOf.String()})
}

// opPage opens a continuation; it returns the cursor and asOf it carries.
func (g *Gateway) opPage(ps url.Values, bound string) (*ww.Cursor, mediation.Day, error) {
	tok := ps.Get("_page")
	if tok == "" {
		return nil, mediation.NoDay, nil
	}
	st, err := g.tokens.open(tok, bound)
	if err != nil {
		return nil, mediation.NoDay, err
	}
	d, err := mediation.ParseDay(st.AsOf)
	if err != nil {
		return nil, mediation.NoDay, ww.Errorf(ww.KindInvalid, "invalid", "the page token carries no asOf").At("_page")
	}
	return &st.Cursor, d, nil
}

// opLink is the URL of an operation with parameters.
func opLink(base, path string, ps url.Values, extra ...string) string {
	q := ps.Encode()
	for i := 0; i+1 < len(extra); i += 2 {
		if q != "" {
			q += "&"
		}
		q += url.QueryEscape(extra[i]) + "=" + url.QueryEscape(extra[i+1])
	}
	if q == "" {
		return base + "/" + path
	}
	return base + "/" + path + "?" + q
}

// withExtensions returns a resource's JSON with extensions appended to its
// extension array (the one entry-transform step of the operations; stored
// bytes are otherwise served as they are).
func withExtensions(raw []byte, exts ...*fhirjson.Value) []byte {
	tree, err := fhirjson.Parse(raw, fhirjson.Limits{MaxDepth: 200})
	if err != nil || tree.Kind != fhirjson.Object {
		return raw
	}
	arr := tree.Get("extension")
	if arr == nil || arr.Kind != fhirjson.Array {
		arr = fhirjson.NewArray()
	}
	arr.Items = append(arr.Items, exts...)
	// extension goes after meta, as FHIR JSON writers put it.
	tree.Delete("extension")
	pos := 0
	for i, m := range tree.Members {
		if m.Key == "resourceType" || m.Key == "id" || m.Key == "meta" || m.Key == "implicitRules" || m.Key == "language" || m.Key == "text" || m.Key == "contained" {
			pos = i + 1
		}
	}
	tree.SetFirst(pos, "extension", arr)
	return tree.Bytes()
}

// ext builds an extension with a value (valueX: value) or sub-extensions.
func ext(url string) *fhirjson.Value {
	e := fhirjson.NewObject()
	e.Set("url", fhirjson.NewString(url))
	return e
}

func extValue(url, key string, v *fhirjson.Value) *fhirjson.Value {
	e := ext(url)
	e.Set(key, v)
	return e
}

func addSub(e *fhirjson.Value, url, key string, v *fhirjson.Value) {
	subs := e.Get("extension")
	if subs == nil {
		subs = fhirjson.NewArray()
		e.Set("extension", subs)
	}
	subs.Items = append(subs.Items, extValue(url, key, v))
}

func decimal(f float64, prec int) *fhirjson.Value {
	return &fhirjson.Value{Kind: fhirjson.Number, Raw: []byte(strconv.FormatFloat(f, 'f', prec, 64)), Off: -1}
}

func reference(ref string) *fhirjson.Value {
	o := fhirjson.NewObject()
	o.Set("reference", fhirjson.NewString(ref))
	return o
}

// jsonBytes marshals a value built in code.
func jsonBytes(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("gateway: " + err.Error())
	}
	return b
}

// includeRaw appends directory resources as include entries.
func includeRaw(bb *bundleBuilder, base string, snap *engine.Snapshot, refs [][2]string) {
	for _, x := range refs {
		if raw := snap.Raw(x[0], x[1]); raw != nil {
			searchMode(bb.entry(base+"/"+x[0]+"/"+x[1], raw), "include")
		}
	}
}
