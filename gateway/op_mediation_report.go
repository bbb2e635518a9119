package gateway

import (
	"net/http"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/fhirjson"
	"github.com/wachtwijzer/wachtwijzer/mediation"
	"github.com/wachtwijzer/wachtwijzer/mediation/engine"
)

func init() { RegisterOperation("Task", "mediation-report", opMediationReport) }

// opMediationReport serves GET|POST /fhir/Task/$mediation-report
// (OperationDefinition/mediation-report): a Parameters resource with one
// group per period × specialism.
func opMediationReport(r *OperationRequest) (int, []byte, error) {
	if r.ID != "" {
		return 0, nil, ww.Errorf(ww.KindNotFound, "not-supported", "$mediation-report is a type-level operation: GET /fhir/Task/$mediation-report")
	}
	e, err := engineOf(r)
	if err != nil {
		return 0, nil, err
	}
	ps, err := opParams(r, "mediation-report")
	if err != nil {
		return 0, nil, err
	}
	q := &engine.ReportQuery{From: mediation.NoDay, To: mediation.NoDay, Period: "month"}
	if q.Insurer, err = tenantInsurer(r, ps, scopeMembers); err != nil {
		return 0, nil, err
	}
	for _, x := range []struct {
		name string
		into *mediation.Day
	}{{"from", &q.From}, {"to", &q.To}} {
		if v := ps.Get(x.name); v != "" {
			if *x.into, err = mediation.ParseDay(v); err != nil {
				return 0, nil, ww.Errorf(ww.KindInvalid, "value", "%s: %v", x.name, err).At(x.name)
			}
		}
	}
	switch v := ps.Get("period"); v {
	case "":
	case "month", "quarter", "year":
		q.Period = v
	default:
		return 0, nil, ww.Errorf(ww.KindInvalid, "value", "period=%s: month, quarter or year", v).At("period")
	}
	rows, err := e.MediationReport(r.ctx, q)
	if err != nil {
		return 0, nil, err
	}
	out := fhirjson.NewObject()
	out.Set("resourceType", fhirjson.NewString("Parameters"))
	params := fhirjson.NewArray()
	for _, row := range rows {
		g := fhirjson.NewObject()
		g.Set("name", fhirjson.NewString("group"))
		parts := fhirjson.NewArray()
		part := func(name, key string, v *fhirjson.Value) {
			p := fhirjson.NewObject()
			p.Set("name", fhirjson.NewString(name))
			p.Set(key, v)
			parts.Items = append(parts.Items, p)
		}
		per := fhirjson.NewObject()
		per.Set("start", fhirjson.NewString(row.Start.String()))
		per.Set("end", fhirjson.NewString(row.End.String()))
		part("period", "valuePeriod", per)
		part("label", "valueString", fhirjson.NewString(row.Period))
		if row.Specialism != "-" {
			c := fhirjson.NewObject()
			c.Set("system", fhirjson.NewString(ww.SystemSpecialism))
			c.Set("code", fhirjson.NewString(row.Specialism))
			part("specialty", "valueCoding", c)
		}
		part("requested", "valueInteger", fhirjson.NewNumber(int64(row.Requested)))
		part("in-progress", "valueInteger", fhirjson.NewNumber(int64(row.InProgress)))
		part("completed", "valueInteger", fhirjson.NewNumber(int64(row.Completed)))
		part("cancelled", "valueInteger", fhirjson.NewNumber(int64(row.Cancelled)))
		part("days-gained", "valueInteger", fhirjson.NewNumber(int64(row.DaysGained)))
		if row.Completed > 0 {
			part("mean-days-gained", "valueDecimal", decimal(float64(row.DaysGained)/float64(row.Completed), 1))
		}
		g.Set("part", parts)
		params.Items = append(params.Items, g)
	}
	if len(params.Items) > 0 {
		out.Set("parameter", params)
	}
	return http.StatusOK, out.Bytes(), nil
}
