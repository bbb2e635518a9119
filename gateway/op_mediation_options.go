package gateway

import (
	"net/http"
	"strconv"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/fhirjson"
	"github.com/wachtwijzer/wachtwijzer/mediation"
	"github.com/wachtwijzer/wachtwijzer/mediation/engine"
)

func init() { RegisterOperation("ServiceRequest", "mediation-options", opMediationOptions) }

// opMediationOptions serves GET|POST
// /fhir/ServiceRequest/{id}/$mediation-options
// (OperationDefinition/mediation-options).
func opMediationOptions(r *OperationRequest) (int, []byte, error) {
	if r.ID == "" {
		return 0, nil, ww.Errorf(ww.KindNotFound, "not-supported", "$mediation-options is an instance operation: GET /fhir/ServiceRequest/{id}/$mediation-options")
	}
	// The wait must be one the principal may read: a hidden one answers
	// exactly as a missing one.
	if _, err := r.gw.store.Read(r.ctx, "ServiceRequest", r.ID); err != nil {
		return 0, nil, err
	}
	e, err := engineOf(r)
	if err != nil {
		return 0, nil, err
	}
	ps, err := opParams(r, "mediation-options")
	if err != nil {
		return 0, nil, err
	}
	q := &engine.OptionsQuery{MaxKm: 50}
	if q.AsOf, err = asOfParam(e, ps); err != nil {
		return 0, nil, err
	}
	if v := ps.Get("maxDistanceKm"); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f <= 0 || f > 400 {
			return 0, nil, ww.Errorf(ww.KindInvalid, "value", "maxDistanceKm=%s: a distance in km above 0 and up to 400", v).At("maxDistanceKm")
		}
		q.MaxKm = f
	}
	if q.Count, err = countParam(ps, 10, 100); err != nil {
		return 0, nil, err
	}
	res, err := e.MediationOptions(r.ctx, r.ID, q)
	if err != nil {
		return 0, nil, err
	}
	bb := newBundle("searchset", r.gw.o.Clock)
	bb.total(len(res.Options))
	bb.link("self", opLink(r.base, "ServiceRequest/"+r.ID+"/$mediation-options", normalized(ps)))
	var places []mediation.Place
	for _, o := range res.Options {
		s := res.Slots[o.Slot]
		if s.Resource == nil {
			continue
		}
		oe := ext(extMediationOption)
		addSub(oe, "rank", "valuePositiveInt", fhirjson.NewNumber(int64(o.Rank)))
		addSub(oe, "daysGained", "valueInteger", fhirjson.NewNumber(int64(o.DaysGained)))
		addSub(oe, "distanceKm", "valueDecimal", decimal(o.DistanceKm, 1))
		addSub(oe, "contracted", "valueBoolean", fhirjson.NewBool(o.Contracted))
		addSub(oe, "score", "valueDecimal", decimal(o.Score, 2))
		addSub(oe, "reason", "valueString", fhirjson.NewString(o.Reason))
		body := withExtensions(s.Resource.JSON, oe, extValue(extDistanceKm, "valueDecimal", decimal(o.DistanceKm, 1)))
		sm := searchMode(bb.entry(r.base+"/Slot/"+o.Slot, body), "match")
		sm.Set("score", fhirjson.NewNumber(int64(o.Rank)))
		sm.Set("extension", distanceExtension(strconv.FormatFloat(o.DistanceKm, 'f', 1, 64)))
		places = append(places, s.Place)
	}
	includeRaw(bb, r.base, res.Snap, res.Snap.Includes(places))
	info := "expected date " + res.Expected.String() + " (" + res.Basis + "); " + strconv.Itoa(res.Wait.Eval.WaitDays) + " waiting days against a norm of " + strconv.Itoa(res.Wait.Eval.NormDays)
	if res.Insurer != "" {
		info += "; contracts of insurer " + res.Insurer
	} else {
		info += "; no insurer covers the member on asOf, so no option counts as contracted"
	}
	searchMode(bb.entry("urn:uuid:"+uuidLike(), operationOutcome([]ww.Issue{{Severity: ww.SeverityInformation, Code: "informational", Diagnostics: info}})), "outcome")
	return http.StatusOK, bb.bytes(), nil
}
