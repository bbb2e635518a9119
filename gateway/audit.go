package gateway

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/audit"
	"github.com/wachtwijzer/wachtwijzer/conformance"
)

// capacityTypes carry no personal data: requests on them alone are not
// audited (tenancy.CapacityTypes lists the same).
var capacityTypes = map[string]bool{
	"Slot": true, "Schedule": true, "HealthcareService": true, "Location": true,
	"Organization": true, "Practitioner": true, "PractitionerRole": true,
	"InsurancePlan": true, "MeasureReport": true,
}

// audited reports whether a /fhir request can touch patient data: every
// type-less request (batches, transactions, system history and operations),
// every request on a patient-level type, every insurer operation and the
// AuditEvent search itself. Capacity reads and conformance resources are not.
func audited(c *gin.Context) bool {
	route := c.FullPath()
	if route == "" || route == "/fhir/metadata" {
		return false
	}
	typ := c.Param("type")
	if typ == "" || strings.HasPrefix(typ, "$") {
		return !strings.Contains(route, "$availability") && !strings.Contains(route, "$bulk-publish")
	}
	if conformance.IsConformanceType(typ) {
		return false
	}
	if capacityTypes[typ] {
		op := c.Param("op")
		if op == "" && strings.HasPrefix(c.Param("id"), "$") {
			op = c.Param("id")
		}
		return op == "$regional-capacity"
	}
	return true
}

// auditWriters recycles the writers (and their body buffers) of audited
// requests; a buffer grown past maxPooledBody is left to the collector.
var auditWriters = sync.Pool{New: func() any { return new(auditWriter) }}

const maxPooledBody = 256 << 10

// auditWriter holds the response back until the access is logged.
type auditWriter struct {
	gin.ResponseWriter
	status int
	buf    bytes.Buffer
	wrote  bool
}

func (w *auditWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status = code
	}
}
func (w *auditWriter) WriteHeaderNow() { w.wrote = true }
func (w *auditWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.buf.Write(b)
}
func (w *auditWriter) WriteString(s string) (int, error) {
	w.wrote = true
	return w.buf.WriteString(s)
}
func (w *auditWriter) Status() int   { return w.status }
func (w *auditWriter) Written() bool { return w.wrote }
func (w *auditWriter) Size() int {
	if !w.wrote {
		return -1
	}
	return w.buf.Len()
}
func (w *auditWriter) Flush() {}

// audit records each audited request in the NEN 7513 log after the handler
// ran and before the response goes out; when the log cannot be written the
// client gets a 503 instead of the data (a write already committed stays).
func (g *Gateway) audit(c *gin.Context) {
	if g.o.Audit == nil || !audited(c) {
		c.Next()
		return
	}
	ctx, note := audit.WithNote(c.Request.Context())
	c.Request = c.Request.WithContext(ctx)
	orig := c.Writer
	w := auditWriters.Get().(*auditWriter)
	w.ResponseWriter, w.status, w.wrote = orig, http.StatusOK, false
	w.buf.Reset()
	defer func() {
		// also on a panic: the recovery middleware answers through orig
		c.Writer = orig
		w.ResponseWriter = nil
		if w.buf.Cap() <= maxPooledBody {
			auditWriters.Put(w)
		}
	}()
	c.Writer = w
	c.Next()
	c.Writer = orig
	ev := g.auditEvent(c, w, note)
	if err := g.o.Audit.Record(c.Request.Context(), ev); err != nil {
		g.log.Error("audit log write failed; the request is refused", "route", c.FullPath(), "err", err)
		h := orig.Header()
		for _, k := range []string{"Location", "ETag", "Last-Modified", "Content-Location", "Content-Length"} {
			h.Del(k)
		}
		body := outcomeOf(ww.Errorf(ww.KindUnavailable, "transient", "the access log (NEN 7513) cannot be written, so the request is refused; try again later"))
		h.Set("Content-Type", ctFHIR+"; charset=utf-8")
		orig.WriteHeader(http.StatusServiceUnavailable)
		_, _ = orig.Write(body)
		return
	}
	orig.WriteHeader(w.status)
	if w.buf.Len() > 0 {
		_, _ = orig.Write(w.buf.Bytes())
	} else {
		orig.WriteHeaderNow()
	}
}

// auditEvent describes the request: who, what kind of access, the patients
// the response carried — never the body or the query values.
func (g *Gateway) auditEvent(c *gin.Context, w *auditWriter, note *audit.Note) *audit.Event {
	p := ww.PrincipalFrom(c.Request.Context())
	ev := &audit.Event{
		Client: p.ClientID, Role: string(p.Role), Organization: p.Organization,
		Route: c.Request.Method + " " + c.FullPath(), Outcome: w.status, Source: c.ClientIP(),
	}
	typ, id, op := c.Param("type"), c.Param("id"), c.Param("op")
	if strings.HasPrefix(id, "$") {
		op, id = id, ""
	}
	if strings.HasPrefix(typ, "$") {
		op, typ = typ, ""
	}
	if op == "" {
		if i := strings.LastIndex(c.FullPath(), "/$"); i >= 0 {
			op = c.FullPath()[i+1:]
		}
	}
	if typ != "" && id != "" && ww.ValidID(id) {
		ev.Target = typ + "/" + id
	}
	ev.Operation = op
	switch {
	case op != "":
		ev.Action, ev.Interaction = "E", "operation"
	case c.Request.Method == http.MethodGet && strings.Contains(c.FullPath(), "_history"):
		ev.Action, ev.Interaction = "R", "history"
		if c.Param("vid") != "" {
			ev.Interaction = "vread"
		}
	case c.Request.Method == http.MethodGet && id != "":
		ev.Action, ev.Interaction = "R", "read"
	case c.Request.Method == http.MethodGet || strings.HasSuffix(c.FullPath(), "_search"):
		ev.Action, ev.Interaction = "E", "search"
	case c.Request.Method == http.MethodPost && typ == "":
		ev.Action, ev.Interaction = "E", "batch"
	case c.Request.Method == http.MethodPost:
		ev.Action, ev.Interaction = "C", "create"
	case c.Request.Method == http.MethodPut:
		ev.Action, ev.Interaction = "U", "update"
	case c.Request.Method == http.MethodDelete:
		ev.Action, ev.Interaction = "D", "delete"
	default:
		ev.Action, ev.Interaction = "E", strings.ToLower(c.Request.Method)
	}
	gr := groundOf(p)
	if n := note.Ground(); n != nil {
		gr = *n
	}
	ev.PurposeOfUse, ev.LegalGround = gr.PurposeOfUse, gr.LegalGround
	seen := map[string]bool{}
	add := func(pid string) {
		if seen[pid] || !ww.ValidID(pid) {
			return
		}
		seen[pid] = true
		if len(ev.Patients) == audit.MaxPatients {
			ev.Truncated = true
			return
		}
		ev.Patients = append(ev.Patients, pid)
	}
	for _, pid := range gr.Patients {
		add(pid)
	}
	for _, pid := range note.Patients() {
		add(pid)
	}
	if typ == "Patient" && id != "" {
		add(id)
	}
	if w.status < 400 && w.buf.Len() > 0 {
		patientsIn(w.buf.Bytes(), add)
	}
	return ev
}

func groundOf(p *ww.Principal) audit.Ground {
	switch p.Role {
	case ww.RoleInsurer:
		return audit.ForInsurer
	case ww.RoleHospital:
		return audit.ForHospital
	case ww.RoleAdmin:
		return audit.ForAdmin
	}
	return audit.ForSystem
}

// patientsIn finds the Patients a response carries: Patient resources (by
// their id) and every literal reference to a Patient. It is one pass over
// the bytes, without building a tree: responses can be large bundles, and
// every audited request runs it.
func patientsIn(body []byte, add func(string)) {
	const (
		keyOther = iota
		keyResourceType
		keyID
		keyReference
	)
	type frame struct {
		object, expectKey, patient bool
		key                        int
		id                         []byte // raw (still escaped) string content
		idEscaped                  bool
	}
	var stack []frame
	skip := -1 // while ≥ 0: inside the value of a non-string "reference", at this depth
	str := func(raw []byte, escaped bool) (string, bool) {
		if !escaped {
			return string(raw), true
		}
		var s string
		q := make([]byte, 0, len(raw)+2)
		q = append(append(append(q, '"'), raw...), '"')
		return s, json.Unmarshal(q, &s) == nil
	}
	for i := 0; i < len(body); {
		c := body[i]
		switch c {
		case ' ', '\n', '\r', '\t', ':':
			i++
		case ',':
			if n := len(stack); n > 0 && stack[n-1].object {
				stack[n-1].expectKey = true
			}
			i++
		case '{', '[':
			if n := len(stack); n > 0 && stack[n-1].object && skip < 0 && stack[n-1].key == keyReference {
				skip = n
			}
			stack = append(stack, frame{object: c == '{', expectKey: c == '{'})
			i++
		case '}', ']':
			n := len(stack)
			if n == 0 {
				return
			}
			f := stack[n-1]
			stack = stack[:n-1]
			if skip < 0 && f.patient && len(f.id) > 0 {
				if id, ok := str(f.id, f.idEscaped); ok {
					add(id)
				}
			}
			if skip == n-1 {
				skip = -1
			}
			i++
		case '"':
			end, escaped := i+1, false
			for end < len(body) && body[end] != '"' {
				if body[end] == '\\' {
					escaped = true
					end++
				}
				end++
			}
			if end >= len(body) {
				return
			}
			raw := body[i+1 : end]
			i = end + 1
			n := len(stack)
			if n == 0 || !stack[n-1].object || skip >= 0 {
				continue
			}
			f := &stack[n-1]
			if f.expectKey {
				f.expectKey = false
				name := raw
				if escaped {
					k, _ := str(raw, true)
					name = []byte(k)
				}
				switch {
				case string(name) == "resourceType":
					f.key = keyResourceType
				case string(name) == "id":
					f.key = keyID
				case string(name) == "reference":
					f.key = keyReference
				default:
					f.key = keyOther
				}
				continue
			}
			switch f.key {
			case keyResourceType:
				v, _ := str(raw, escaped)
				f.patient = v == "Patient"
			case keyID:
				f.id, f.idEscaped = raw, escaped
			case keyReference:
				if bytes.Contains(raw, []byte("Patient")) || escaped {
					if v, ok := str(raw, escaped); ok {
						patientOfReference(v, add)
					}
				}
			}
		default: // a number, true, false or null
			for i < len(body) && !strings.ContainsRune(",}] \n\r\t", rune(body[i])) {
				i++
			}
		}
	}
}

// patientOfReference adds the Patient id of a literal reference
// ("Patient/x", "Patient/x/_history/2" or an absolute URL ending so).
func patientOfReference(s string, add func(string)) {
	if i := strings.LastIndex(s, "Patient/"); i >= 0 && (i == 0 || s[i-1] == '/') {
		pid, _, _ := strings.Cut(s[i+len("Patient/"):], "/")
		add(pid)
	}
}

// auditSearch answers GET /fhir/AuditEvent for admins: date (ge/gt/le/lt or
// a day), agent (client id or organisation code), patient (Patient/id or
// id), _count; newest first, continued by _before.
func (g *Gateway) auditSearch(r *request) *response {
	p := ww.PrincipalFrom(r.ctx)
	if p.Role != ww.RoleAdmin && p.Role != ww.RoleSystem {
		return errResponse(ww.Errorf(ww.KindForbidden, "forbidden", "the audit log is for admins"))
	}
	if r.method != http.MethodGet {
		return errResponse(ww.Errorf(ww.KindNotAllowed, "not-supported", "AuditEvent is read-only: the gateway writes it"))
	}
	q := audit.Query{Agent: r.query.Get("agent"), Patient: strings.TrimPrefix(r.query.Get("patient"), "Patient/"), Before: audit.StreamID(r.query.Get("_before"))}
	if v := r.query.Get("_count"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return errResponse(ww.Errorf(ww.KindInvalid, "value", "_count=%s is not a non-negative number", v).At("_count"))
		}
		q.Count = min(n, 1000)
	}
	for _, v := range r.query["date"] {
		if err := auditDate(&q, v); err != nil {
			return errResponse(err)
		}
	}
	entries, next, err := g.o.Audit.Search(r.ctx, q)
	if err != nil {
		return errResponse(err)
	}
	bb := newBundle("searchset", g.o.Clock)
	self := r.base + "/AuditEvent"
	if r.rawQuery != "" {
		self += "?" + r.rawQuery
	}
	bb.link("self", self)
	if next != "" {
		vals := r.query
		vals.Set("_before", strings.ReplaceAll(next, "-", "."))
		bb.link("next", r.base+"/AuditEvent?"+vals.Encode())
	}
	for _, e := range entries {
		body, err := audit.FHIR(e)
		if err != nil {
			continue
		}
		searchMode(bb.entry(r.base+"/AuditEvent/"+strings.ReplaceAll(e.ID, "-", "."), body), "match")
	}
	return &response{status: http.StatusOK, body: bb.bytes()}
}

func auditDate(q *audit.Query, v string) error {
	prefix := ""
	if len(v) > 2 && strings.Trim(v[:2], "abcdefghijklmnopqrstuvwxyz") == "" {
		prefix, v = v[:2], v[2:]
	}
	lo, hi, err := dateBounds(v)
	if err != nil {
		return ww.Errorf(ww.KindInvalid, "value", "date=%s: give a date or an instant, with ge, gt, le, lt or eq", v).At("date")
	}
	switch prefix {
	case "", "eq":
		q.From, q.To = lo, hi
	case "ge":
		q.From = lo
	case "gt":
		q.From = hi
	case "lt":
		q.To = lo
	case "le":
		q.To = hi
	default:
		return ww.Errorf(ww.KindInvalid, "value", "date: the prefix %s is not supported here (ge, gt, le, lt, eq)", prefix).At("date")
	}
	return nil
}

// dateBounds returns [lo, hi) of a FHIR date or instant (a date without a
// time is the whole day in Europe/Amsterdam).
func dateBounds(v string) (time.Time, time.Time, error) {
	ams, _ := time.LoadLocation("Europe/Amsterdam")
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, t.Add(time.Second), nil
	}
	if t, err := time.ParseInLocation("2006-01-02", v, ams); err == nil {
		return t, t.AddDate(0, 0, 1), nil
	}
	if t, err := time.ParseInLocation("2006-01", v, ams); err == nil {
		return t, t.AddDate(0, 1, 0), nil
	}
	if t, err := time.ParseInLocation("2006", v, ams); err == nil {
		return t, t.AddDate(1, 0, 0), nil
	}
	_, err := time.Parse(time.RFC3339, v)
	return time.Time{}, time.Time{}, err
}
