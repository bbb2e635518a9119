package gateway

import (
	"bytes"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/fhirjson"
	"github.com/wachtwijzer/wachtwijzer/fhirtime"
	"github.com/wachtwijzer/wachtwijzer/mediation"
	"github.com/wachtwijzer/wachtwijzer/mediation/engine"
)

// rawOperation is an operation that answers other formats than FHIR JSON
// ($regional-capacity as CSV) or reads other bodies ($import-waiting-times
// reads the NZa CSV): it negotiates and reads the body itself.
type rawOperation func(r *OperationRequest, format string) (status int, body []byte, contentType string, err error)

// mediationRoutes adds the routes of the raw operations (static routes win
// over /:type/:id).
func (g *Gateway) mediationRoutes(f *gin.RouterGroup) {
	rc := g.handleRaw("MeasureReport", opRegionalCapacity)
	f.GET("/MeasureReport/$regional-capacity", rc)
	f.POST("/MeasureReport/$regional-capacity", rc)
	f.POST("/HealthcareService/$import-waiting-times", g.handleRaw("HealthcareService", opImportWaitingTimes))
}

func (g *Gateway) handleRaw(typ string, fn rawOperation) gin.HandlerFunc {
	return func(c *gin.Context) {
		r := c.Request
		format := strings.ToLower(c.Query("_format"))
		ct := ctFHIR
		if format != "csv" && format != "text/csv" {
			var err error
			if ct, err = negotiate(c.Query("_format"), r.Header.Get("Accept")); err != nil {
				g.writeError(c, err)
				return
			}
			format = ""
		} else {
			format = "csv"
		}
		req := &request{ctx: r.Context(), method: r.Method, typ: typ, query: r.URL.Query(), rawQuery: r.URL.RawQuery, header: r.Header,
			base: g.baseURL(r), prefer: parsePrefer(r.Header.Values("Prefer"))}
		if err := g.authorize(req, c.FullPath()); err != nil {
			g.writeError(c, err)
			return
		}
		if r.Method == http.MethodPost {
			body, err := readBody(r, g.o.MaxBodyBytes)
			if err != nil {
				g.writeError(c, err)
				return
			}
			req.body = body
		}
		status, body, rct, err := fn(&OperationRequest{request: req, Type: typ, gw: g}, format)
		if err != nil {
			g.write(c, ct, errResponse(err))
			return
		}
		if rct == "" {
			rct = ct
		}
		g.write(c, rct, &response{status: status, body: body})
	}
}

// opRegionalCapacity serves GET|POST /fhir/MeasureReport/$regional-capacity
// (OperationDefinition/regional-capacity); _format=csv answers CSV.
func opRegionalCapacity(r *OperationRequest, format string) (int, []byte, string, error) {
	e, err := engineOf(r)
	if err != nil {
		return 0, nil, "", err
	}
	if r.method == http.MethodPost {
		if err := checkContentType(r.header.Get("Content-Type")); err != nil {
			return 0, nil, "", err
		}
	}
	ps, err := opParams(r, "regional-capacity")
	if err != nil {
		return 0, nil, "", err
	}
	q := &engine.CapacityQuery{Weeks: 8}
	if q.AsOf, err = asOfParam(e, ps); err != nil {
		return 0, nil, "", err
	}
	if v := ps.Get("weeks"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 52 {
			return 0, nil, "", ww.Errorf(ww.KindInvalid, "value", "weeks=%s: 1 to 52", v).At("weeks")
		}
		q.Weeks = n
	}
	if q.Specialism, err = specialtyParam(ps); err != nil {
		return 0, nil, "", err
	}
	if q.Insurer, err = tenantInsurer(r, ps, scopeAggregate); err != nil {
		return 0, nil, "", err
	}
	regions := e.Config().Regions
	if v := ps.Get("region"); v != "" {
		if _, ok := regions.Lookup(v); !ok {
			var codes []string
			for _, rg := range regions.List {
				codes = append(codes, rg.Code)
			}
			return 0, nil, "", ww.Errorf(ww.KindInvalid, "value", "region %q is not in the region table %s (%s)", v, regions.Name, strings.Join(codes, ", ")).At("region")
		}
		q.Region = v
	}
	res, err := e.RegionalCapacity(r.ctx, q)
	if err != nil {
		return 0, nil, "", err
	}
	if format == "csv" {
		return http.StatusOK, capacityCSV(res, q, regions), "text/csv; header=present", nil
	}
	bb := newBundle("collection", r.gw.o.Clock)
	for _, code := range res.Regions {
		bb.entry("urn:uuid:"+uuidLike(), measureReport(res, q, regions, code, r.gw.o.Clock))
	}
	return http.StatusOK, bb.bytes(), "", nil
}

// CapacityCSVHeader is the header of $regional-capacity?_format=csv.
var CapacityCSVHeader = []string{"region", "region_name", "specialty", "as_of", "weeks", "waiting", "exceeded", "on_hold", "unbooked",
	"median_wait_days", "p90_wait_days", "free_slots_umc", "free_slots_hospital", "free_slots_zbc", "free_slots_contracted", "weeks_to_clear", "suppressed"}

// capacityCSV writes the cells as ';'-separated UTF-8 with a header; a
// suppressed cell leaves its wait counts and percentiles empty.
func capacityCSV(res *engine.CapacityResult, q *engine.CapacityQuery, regions *mediation.Regions) []byte {
	var b bytes.Buffer
	b.WriteString(strings.Join(CapacityCSVHeader, ";"))
	b.WriteString("\r\n")
	for _, code := range res.Regions {
		name := code
		if rg, ok := regions.Lookup(code); ok {
			name = rg.Name
		}
		for _, c := range res.Cells[code] {
			sup := mediation.Suppressed(int(c.Waiting))
			f := []string{code, csvQuote(name), c.Specialism, q.AsOf.String(), strconv.Itoa(q.Weeks)}
			if sup {
				f = append(f, "", "", "", "", "", "")
			} else {
				f = append(f, itoa64(c.Waiting), itoa64(c.Exceeded), suppressedOr(c.OnHold), itoa64(c.Unbooked))
				if c.Waiting > 0 {
					f = append(f, strconv.Itoa(c.Median), strconv.Itoa(c.P90))
				} else {
					f = append(f, "", "")
				}
			}
			f = append(f, itoa64(c.Free[mediation.ProviderUMC]), itoa64(c.Free[mediation.ProviderHospital]), itoa64(c.Free[mediation.ProviderZBC]))
			if q.Insurer != "" {
				f = append(f, itoa64(c.FreeContracted))
			} else {
				f = append(f, "")
			}
			if w, ok := c.WeeksToClear(q.Weeks); ok && !sup {
				f = append(f, strconv.FormatFloat(w, 'f', 1, 64))
			} else {
				f = append(f, "")
			}
			f = append(f, strconv.FormatBool(sup))
			b.WriteString(strings.Join(f, ";"))
			b.WriteString("\r\n")
		}
	}
	return b.Bytes()
}

func suppressedOr(n int64) string {
	if mediation.Suppressed(int(n)) {
		return ""
	}
	return itoa64(n)
}

func csvQuote(s string) string {
	if !strings.ContainsAny(s, ";\"\r\n") {
		return s
	}
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

func itoa64(n int64) string { return strconv.FormatInt(n, 10) }

const systemCapacityPopulation = ww.CanonicalBase + "/CodeSystem/capacity-population"

// measureReport builds the MeasureReport of one region.
func measureReport(res *engine.CapacityResult, q *engine.CapacityQuery, regions *mediation.Regions, code string, clock ww.Clock) []byte {
	mr := fhirjson.NewObject()
	mr.Set("resourceType", fhirjson.NewString("MeasureReport"))
	mr.Set("id", fhirjson.NewString(strings.ToLower(code)+"-"+q.AsOf.String()))
	mr.Set("status", fhirjson.NewString("complete"))
	mr.Set("type", fhirjson.NewString("summary"))
	mr.Set("measure", fhirjson.NewString(ww.CanonicalBase+"/Measure/regional-capacity"))
	subj := fhirjson.NewObject()
	ident := fhirjson.NewObject()
	ident.Set("system", fhirjson.NewString(ww.CanonicalBase+"/NamingSystem/region/"+regions.Name))
	ident.Set("value", fhirjson.NewString(code))
	subj.Set("identifier", ident)
	if rg, ok := regions.Lookup(code); ok {
		subj.Set("display", fhirjson.NewString(rg.Name))
	}
	mr.Set("subject", subj)
	mr.Set("date", fhirjson.NewString(fhirtime.FormatInstant(clock.Now())))
	per := fhirjson.NewObject()
	per.Set("start", fhirjson.NewString(q.AsOf.String()))
	per.Set("end", fhirjson.NewString((q.AsOf + mediation.Day(7*q.Weeks) - 1).String()))
	mr.Set("period", per)
	groups := fhirjson.NewArray()
	for _, c := range res.Cells[code] {
		grp := fhirjson.NewObject()
		cc := fhirjson.NewObject()
		coding := fhirjson.NewObject()
		coding.Set("system", fhirjson.NewString(ww.SystemSpecialism))
		coding.Set("code", fhirjson.NewString(c.Specialism))
		cc.Set("coding", fhirjson.NewArray(coding))
		sup := mediation.Suppressed(int(c.Waiting))
		var exts []*fhirjson.Value
		if c.Waiting > 0 && !sup {
			exts = append(exts, extValue(extMedian, "valueInteger", fhirjson.NewNumber(int64(c.Median))), extValue(extP90, "valueInteger", fhirjson.NewNumber(int64(c.P90))))
		}
		if w, ok := c.WeeksToClear(q.Weeks); ok && !sup {
			exts = append(exts, extValue(extWeeksToClear, "valueDecimal", decimal(w, 1)))
		}
		if len(exts) > 0 {
			grp.Set("extension", fhirjson.NewArray(exts...))
		}
		grp.Set("code", cc)
		pops := fhirjson.NewArray()
		pop := func(name string, n int64, masked bool) {
			p := fhirjson.NewObject()
			pc := fhirjson.NewObject()
			pcd := fhirjson.NewObject()
			pcd.Set("system", fhirjson.NewString(systemCapacityPopulation))
			pcd.Set("code", fhirjson.NewString(name))
			pc.Set("coding", fhirjson.NewArray(pcd))
			p.Set("code", pc)
			if masked {
				p.Set("_count", dataAbsent("masked"))
			} else {
				p.Set("count", fhirjson.NewNumber(n))
			}
			pops.Items = append(pops.Items, p)
		}
		pop("waiting", c.Waiting, sup)
		pop("exceeded", c.Exceeded, sup)
		pop("on-hold", c.OnHold, mediation.Suppressed(int(c.OnHold)))
		pop("free-slots-umc", c.Free[mediation.ProviderUMC], false)
		pop("free-slots-hospital", c.Free[mediation.ProviderHospital], false)
		pop("free-slots-zbc", c.Free[mediation.ProviderZBC], false)
		if q.Insurer != "" {
			pop("free-slots-contracted", c.FreeContracted, false)
		}
		grp.Set("population", pops)
		groups.Items = append(groups.Items, grp)
	}
	if len(groups.Items) > 0 {
		mr.Set("group", groups)
	}
	return mr.Bytes()
}

func dataAbsent(code string) *fhirjson.Value {
	o := fhirjson.NewObject()
	o.Set("extension", fhirjson.NewArray(extValue("http://hl7.org/fhir/StructureDefinition/data-absent-reason", "valueCode", fhirjson.NewString(code))))
	return o
}
