package gateway

import (
	"net/http"
	"strconv"
	"strings"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/conformance"
	"github.com/wachtwijzer/wachtwijzer/fhirjson"
	"github.com/wachtwijzer/wachtwijzer/mediation"
	"github.com/wachtwijzer/wachtwijzer/mediation/engine"
)

func init() { RegisterOperation("Slot", "availability", opAvailability) }

// opAvailability serves GET|POST /fhir/Slot/$availability
// (OperationDefinition/availability).
func opAvailability(r *OperationRequest) (int, []byte, error) {
	if r.ID != "" {
		return 0, nil, ww.Errorf(ww.KindNotFound, "not-supported", "$availability is a type-level operation: GET /fhir/Slot/$availability")
	}
	e, err := engineOf(r)
	if err != nil {
		return 0, nil, err
	}
	ps, err := opParams(r, "availability")
	if err != nil {
		return 0, nil, err
	}
	q := &engine.AvailabilityQuery{}
	if q.AsOf, err = asOfParam(e, ps); err != nil {
		return 0, nil, err
	}
	if q.Specialism, err = specialtyParam(ps); err != nil {
		return 0, nil, err
	}
	if q.Near, err = nearParam(ps); err != nil {
		return 0, nil, err
	}
	if q.Insurer, err = insurerParam(ps); err != nil {
		return 0, nil, err
	}
	switch v := ps.Get("contracted"); v {
	case "":
	case "true", "false":
		q.ContractedOnly = v == "true"
		if q.ContractedOnly && q.Insurer == "" {
			return 0, nil, ww.Errorf(ww.KindInvalid, "required", "contracted=true needs insurer (whose contracts?)").At("contracted")
		}
	default:
		return 0, nil, ww.Errorf(ww.KindInvalid, "value", "contracted=%s: true or false", v).At("contracted")
	}
	for _, v := range ps["provider-kind"] {
		for _, k := range strings.Split(v, ",") {
			if !mediation.ValidProviderKind(k) {
				return 0, nil, ww.Errorf(ww.KindInvalid, "value", "provider-kind %q: umc, hospital or zbc", k).At("provider-kind")
			}
			if q.ProviderKinds == nil {
				q.ProviderKinds = map[string]bool{}
			}
			q.ProviderKinds[k] = true
		}
	}
	switch v := ps.Get("_sort"); v {
	case "", "start":
	case "distance":
		if q.Near == nil {
			return 0, nil, ww.Errorf(ww.KindInvalid, "required", "_sort=distance needs near").At("_sort")
		}
		q.SortDistance = true
	default:
		return 0, nil, ww.Errorf(ww.KindInvalid, "value", "_sort=%s: start or distance", v).At("_sort")
	}
	if q.Count, err = countParam(ps, 20, 1000); err != nil {
		return 0, nil, err
	}
	norm := normalized(ps)
	bound := "op|availability|" + norm.Encode()
	cur, tokAsOf, err := r.gw.opPage(ps, bound)
	if err != nil {
		return 0, nil, err
	}
	if cur != nil {
		q.AsOf = tokAsOf
		if len(cur.Keys) != 2 {
			return 0, nil, ww.Errorf(ww.KindInvalid, "invalid", "the page token does not belong to $availability").At("_page")
		}
		d, _ := strconv.ParseInt(cur.Keys[0], 10, 64)
		s, _ := strconv.ParseInt(cur.Keys[1], 10, 64)
		q.After = &engine.SlotCursor{DistM: d, Start: s, ID: cur.ID}
	}
	q.From, q.To = dayStartMs(q.AsOf), 1<<62
	if vals := ps["start"]; len(vals) > 0 {
		q.From = 0
		for _, v := range vals {
			dv, err := conformance.ParseDate("start", v, r.gw.o.Clock.Now())
			if err != nil {
				return 0, nil, err
			}
			switch dv.Prefix {
			case conformance.Ge, conformance.Sa:
				if dv.Prefix == conformance.Sa {
					dv.Lo = dv.Hi + 1
				}
				q.From = max(q.From, dv.Lo)
			case conformance.Gt:
				q.From = max(q.From, dv.Hi+1)
			case conformance.Lt, conformance.Eb:
				q.To = min(q.To, dv.Lo)
			case conformance.Le:
				q.To = min(q.To, dv.Hi+1)
			case conformance.Eq, conformance.Ap:
				q.From, q.To = max(q.From, dv.Lo), min(q.To, dv.Hi+1)
			default:
				return 0, nil, ww.Errorf(ww.KindInvalid, "not-supported", "start=%s: use eq, ge, gt, le, lt, sa, eb or ap", v).At("start")
			}
		}
	}
	res, err := e.Availability(r.ctx, q)
	if err != nil {
		return 0, nil, err
	}
	bb := newBundle("searchset", r.gw.o.Clock)
	path := "Slot/$availability"
	bb.link("self", opLink(r.base, path, norm))
	if res.Next != nil {
		tok := r.gw.opToken(bound, ww.Cursor{Keys: []string{strconv.FormatInt(res.Next.DistM, 10), strconv.FormatInt(res.Next.Start, 10)}, ID: res.Next.ID}, q.AsOf)
		bb.link("next", opLink(r.base, path, norm, "_page", tok))
	}
	var places []mediation.Place
	for _, s := range res.Slots {
		if s.Resource == nil {
			continue
		}
		body := withExtensions(s.Resource.JSON, slotExts(s, q.Near != nil, q.Insurer != "")...)
		sm := searchMode(bb.entry(r.base+"/Slot/"+s.ID, body), "match")
		if s.HasDistance {
			sm.Set("extension", distanceExtension(strconv.FormatFloat(s.DistanceKm, 'f', 3, 64)))
		}
		places = append(places, s.Place)
	}
	includeRaw(bb, r.base, res.Snap, res.Snap.Includes(places))
	return http.StatusOK, bb.bytes(), nil
}

func slotExts(s engine.FreeSlot, near, insurer bool) []*fhirjson.Value {
	var out []*fhirjson.Value
	if near && s.HasDistance {
		out = append(out, extValue(extDistanceKm, "valueDecimal", decimal(s.DistanceKm, 3)))
	}
	if insurer {
		out = append(out, extValue(extContracted, "valueBoolean", fhirjson.NewBool(s.Contracted)))
	}
	return out
}

func dayStartMs(d mediation.Day) int64 { return d.Start().UnixMilli() }
