package gateway

import (
	"net/http"
	"strconv"
	"strings"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/fhirjson"
	"github.com/wachtwijzer/wachtwijzer/mediation"
	"github.com/wachtwijzer/wachtwijzer/mediation/engine"
)

func init() { RegisterOperation("ServiceRequest", "long-waits", opLongWaits) }

// opLongWaits serves GET|POST /fhir/ServiceRequest/$long-waits
// (OperationDefinition/long-waits).
func opLongWaits(r *OperationRequest) (int, []byte, error) {
	if r.ID != "" {
		return 0, nil, ww.Errorf(ww.KindNotFound, "not-supported", "$long-waits is a type-level operation: GET /fhir/ServiceRequest/$long-waits")
	}
	e, err := engineOf(r)
	if err != nil {
		return 0, nil, err
	}
	ps, err := opParams(r, "long-waits")
	if err != nil {
		return 0, nil, err
	}
	q := &engine.LongWaitsQuery{State: engine.StateExceeded, Within: 14, CrossedSince: mediation.NoDay}
	if q.AsOf, err = asOfParam(e, ps); err != nil {
		return 0, nil, err
	}
	if q.Insurer, err = tenantInsurer(r, ps, scopeMembers); err != nil {
		return 0, nil, err
	}
	if q.Specialism, err = specialtyParam(ps); err != nil {
		return 0, nil, err
	}
	for _, v := range ps["kind"] {
		for _, k := range strings.Split(v, ",") {
			if k = strings.TrimSpace(k); k == "" {
				continue
			}
			if !mediation.ValidKind(k) {
				return 0, nil, ww.Errorf(ww.KindInvalid, "value", "kind %q is not a wait kind (%s)", k, strings.Join(mediation.WaitKinds, ", ")).At("kind")
			}
			q.Kinds = append(q.Kinds, mediation.ExpandKind(k)...)
		}
	}
	switch st := ps.Get("state"); st {
	case "", engine.StateExceeded, engine.StateAtRisk, engine.StateAll:
		if st != "" {
			q.State = st
		}
	default:
		return 0, nil, ww.Errorf(ww.KindInvalid, "value", "state=%s: use exceeded, at-risk or all", st).At("state")
	}
	if v := ps.Get("within"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 365 {
			return 0, nil, ww.Errorf(ww.KindInvalid, "value", "within=%s: days from 0 to 365", v).At("within")
		}
		q.Within = n
	}
	if v := ps.Get("crossed-since"); v != "" {
		if q.CrossedSince, err = mediation.ParseDay(v); err != nil {
			return 0, nil, ww.Errorf(ww.KindInvalid, "value", "crossed-since: %v", err).At("crossed-since")
		}
	}
	if q.Near, err = nearParam(ps); err != nil {
		return 0, nil, err
	}
	if q.Count, err = countParam(ps, 50, 1000); err != nil {
		return 0, nil, err
	}
	summary := ps.Get("_summary")
	switch summary {
	case "", "count", "false", "true", "data":
	default:
		return 0, nil, ww.Errorf(ww.KindInvalid, "value", "_summary=%s: use count", summary).At("_summary")
	}
	q.CountOnly = summary == "count"
	var warn []ww.Issue
	if v := ps.Get("organization"); v != "" {
		snap, err := e.Directory(r.ctx)
		if err != nil {
			return 0, nil, err
		}
		id, ok := snap.Dir.FindOrg(v)
		if !ok {
			warn = append(warn, ww.Issue{Severity: ww.SeverityWarning, Code: "not-found", Diagnostics: "organization " + v + " is not known: no wait belongs to it", Expression: []string{"organization"}})
			id = "~unknown~"
		}
		q.Organization = id
	}
	norm := normalized(ps)
	bound := "op|long-waits|" + norm.Encode()
	cur, tokAsOf, err := r.gw.opPage(ps, bound)
	if err != nil {
		return 0, nil, err
	}
	if cur != nil {
		q.AsOf = tokAsOf
		if len(cur.Keys) != 2 {
			return 0, nil, ww.Errorf(ww.KindInvalid, "invalid", "the page token does not belong to $long-waits").At("_page")
		}
		ex, _ := strconv.Atoi(cur.Keys[0])
		wt, _ := strconv.Atoi(cur.Keys[1])
		q.After = &mediation.WaitCursor{Excess: ex, Wait: wt, ID: cur.ID}
	}
	res, err := e.LongWaits(r.ctx, q)
	if err != nil {
		return 0, nil, err
	}
	bb := newBundle("searchset", r.gw.o.Clock)
	path := "ServiceRequest/$long-waits"
	bb.link("self", opLink(r.base, path, norm))
	if q.CountOnly {
		bb.total(res.Total)
		return http.StatusOK, bb.bytes(), nil
	}
	if res.Next != nil {
		tok := r.gw.opToken(bound, ww.Cursor{Keys: []string{strconv.Itoa(res.Next.Excess), strconv.Itoa(res.Next.Wait)}, ID: res.Next.ID}, q.AsOf)
		bb.link("next", opLink(r.base, path, norm, "_page", tok))
	}
	ids := make([]string, len(res.Waits))
	for i, w := range res.Waits {
		ids[i] = w.ID
	}
	srs, err := e.ReadLive(r.ctx, "ServiceRequest", ids)
	if err != nil {
		return 0, nil, err
	}
	for i, w := range res.Waits {
		if srs[i] == nil {
			continue
		}
		body := withExtensions(srs[i].JSON, waitingTimeExt(w.Eval, q.AsOf))
		searchMode(bb.entry(r.base+"/ServiceRequest/"+w.ID, body), "match")
	}
	inc, err := e.Includes(r.ctx, res.Waits)
	if err != nil {
		return 0, nil, err
	}
	for _, x := range inc {
		searchMode(bb.entry(r.base+"/"+x.Type+"/"+x.ID, x.JSON), "include")
	}
	if res.Truncated {
		warn = append(warn, ww.Issue{Severity: ww.SeverityInformation, Code: "incomplete",
			Diagnostics: "this page stopped after examining the scan budget of candidate waits; follow the next link for more"})
	}
	if len(warn) > 0 {
		searchMode(bb.entry("urn:uuid:"+uuidLike(), operationOutcome(warn)), "outcome")
	}
	return http.StatusOK, bb.bytes(), nil
}

// waitingTimeExt is the waiting-time extension of a wait on asOf.
func waitingTimeExt(ev mediation.Evaluation, asOf mediation.Day) *fhirjson.Value {
	e := ext(extWaitingTime)
	addSub(e, "waitDays", "valueInteger", fhirjson.NewNumber(int64(ev.WaitDays)))
	addSub(e, "normDays", "valueInteger", fhirjson.NewNumber(int64(ev.NormDays)))
	addSub(e, "excessDays", "valueInteger", fhirjson.NewNumber(int64(ev.ExcessDays)))
	kind := ev.Kind
	if kind == "" {
		kind = mediation.KindOutpatient
	}
	addSub(e, "kind", "valueCode", fhirjson.NewString(kind))
	if ev.Booked {
		addSub(e, "appointment", "valueReference", reference("Appointment/"+ev.Appointment))
	}
	addSub(e, "exceeded", "valueBoolean", fhirjson.NewBool(ev.Exceeded))
	if ev.OnHold {
		addSub(e, "onHold", "valueBoolean", fhirjson.NewBool(true))
	}
	addSub(e, "crossedOn", "valueDate", fhirjson.NewString(ev.CrossedOn.String()))
	if ev.Note != "" {
		addSub(e, "note", "valueString", fhirjson.NewString(ev.Note))
	}
	return e
}
