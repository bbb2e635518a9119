package csv

import (
	"bytes"
	stdcsv "encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/conformance/nlid"
	"github.com/wachtwijzer/wachtwijzer/fhirjson"
)

// Mapping says how to read one sender's export.
type Mapping struct {
	Sender struct {
		AGB  string `json:"agb"`
		Name string `json:"name,omitempty"`
	} `json:"sender"`
	Dialect            Dialect                      `json:"dialect"`
	Columns            map[string]string            `json:"columns"`
	Codes              map[string]map[string]string `json:"codes,omitempty"`
	DateFormats        []string                     `json:"dateFormats,omitempty"`
	TimeZone           string                       `json:"timeZone,omitempty"`
	AppointmentMinutes int                          `json:"appointmentMinutes,omitempty"`
	Systems            map[string]string            `json:"systems,omitempty"`
	CloseStatus        string                       `json:"closeStatus,omitempty"`

	loc *time.Location
}

// Dialect is the CSV flavour.
type Dialect struct {
	Separator string `json:"separator,omitempty"` // one character; default ";"
	Quote     string `json:"quote,omitempty"`     // "\"" (default) or "none"
	Charset   string `json:"charset,omitempty"`   // utf-8 (default), windows-1252, iso-8859-1
	Header    *bool  `json:"header,omitempty"`    // default true
	SkipRows  int    `json:"skipRows,omitempty"`  // lines before the header (titles, export notes)
}

// The mapped fields (keys of Mapping.Columns).
var fields = []string{"patientNumber", "bsn", "family", "given", "birthDate", "gender", "postcode", "orderNumber", "referralDate",
	"specialism", "kind", "status", "complexity", "location", "appointmentNumber", "appointmentDate", "appointmentEnd", "appointmentStatus"}

// required are the fields every row needs.
var required = []string{"patientNumber", "orderNumber", "referralDate", "specialism"}

var defaultDateFormats = []string{"2006-01-02", "02-01-2006", "2-1-2006", "02/01/2006", "2/1/2006", "20060102", "02.01.2006"}

// LoadMapping reads and checks a mapping file.
func LoadMapping(b []byte) (*Mapping, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	var m Mapping
	if err := d.Decode(&m); err != nil {
		return nil, fmt.Errorf("mapping: %w", err)
	}
	return &m, m.check()
}

// DefaultMapping is the mapping of gen.WriteHospitalCSV's export for the
// provider agb: UTF-8, ';', a header row with the Dutch column names.
func DefaultMapping(agb string) *Mapping {
	m := &Mapping{Columns: map[string]string{}}
	m.Sender.AGB = agb
	for _, kv := range [][2]string{{"patientNumber", "patientnummer"}, {"bsn", "bsn"}, {"family", "achternaam"}, {"given", "voornaam"},
		{"birthDate", "geboortedatum"}, {"gender", "geslacht"}, {"postcode", "postcode"}, {"orderNumber", "ordernummer"},
		{"referralDate", "verwijsdatum"}, {"specialism", "specialisme"}, {"kind", "soort"}, {"status", "status"},
		{"complexity", "complexiteit"}, {"location", "locatie_agb"}, {"appointmentNumber", "afspraaknummer"},
		{"appointmentDate", "afspraakdatum"}, {"appointmentStatus", "afspraakstatus"}} {
		m.Columns[kv[0]] = kv[1]
	}
	m.Codes = map[string]map[string]string{"gender": {"M": "male", "V": "female"}, "complexity": {"hoog": "high"}}
	if err := m.check(); err != nil {
		panic(err)
	}
	return m
}

func (m *Mapping) check() error {
	agb, _ := ww.NormalizeAGB(m.Sender.AGB)
	if err := nlid.CheckAGB(agb); err != nil {
		return fmt.Errorf("mapping: sender.agb: %v", err)
	}
	m.Sender.AGB = agb
	if m.Dialect.Separator == "" {
		m.Dialect.Separator = ";"
	}
	if m.Dialect.Separator == `\t` {
		m.Dialect.Separator = "\t"
	}
	if utf8.RuneCountInString(m.Dialect.Separator) != 1 || m.Dialect.Separator == `"` || m.Dialect.Separator == "\n" {
		return fmt.Errorf("mapping: dialect.separator must be one character (not a quote or a line break)")
	}
	switch m.Dialect.Quote {
	case "", `"`, "none":
	default:
		return fmt.Errorf(`mapping: dialect.quote must be "\"" or "none"`)
	}
	if _, err := decoder(m.Dialect.Charset); err != nil {
		return err
	}
	if m.Dialect.Header == nil {
		t := true
		m.Dialect.Header = &t
	}
	if m.Dialect.SkipRows < 0 {
		return fmt.Errorf("mapping: dialect.skipRows must not be negative")
	}
	known := map[string]bool{}
	for _, f := range fields {
		known[f] = true
	}
	for f, col := range m.Columns {
		if !known[f] {
			return fmt.Errorf("mapping: columns.%s is not a mapped field (one of %s)", f, strings.Join(fields, ", "))
		}
		if !*m.Dialect.Header && col != "" && !strings.HasPrefix(col, "#") {
			return fmt.Errorf("mapping: columns.%s: without a header row name columns by position (\"#3\")", f)
		}
	}
	for _, f := range required {
		if m.Columns[f] == "" {
			return fmt.Errorf("mapping: columns.%s is required", f)
		}
	}
	for f := range m.Codes {
		if !known[f] {
			return fmt.Errorf("mapping: codes.%s is not a mapped field", f)
		}
	}
	if len(m.DateFormats) == 0 {
		m.DateFormats = defaultDateFormats
	}
	tz := m.TimeZone
	if tz == "" || tz == "Europe/Amsterdam" {
		m.loc = ww.Amsterdam
	} else {
		loc, err := time.LoadLocation(tz)
		if err != nil {
			return fmt.Errorf("mapping: timeZone %q: %v", tz, err)
		}
		m.loc = loc
	}
	if m.AppointmentMinutes < 0 || m.AppointmentMinutes > 24*60 {
		return fmt.Errorf("mapping: appointmentMinutes must be 0-1440")
	}
	for k := range m.Systems {
		if k != "patient" && k != "order" && k != "appointment" {
			return fmt.Errorf("mapping: systems.%s: only patient, order and appointment", k)
		}
	}
	switch m.CloseStatus {
	case "":
		m.CloseStatus = "completed"
	case "completed", "revoked":
	default:
		return fmt.Errorf("mapping: closeStatus must be completed or revoked")
	}
	return nil
}

func decoder(charset string) (func([]byte) ([]byte, error), error) {
	switch strings.ToLower(strings.ReplaceAll(charset, "_", "-")) {
	case "", "utf-8", "utf8":
		return func(b []byte) ([]byte, error) {
			b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
			if !utf8.Valid(b) {
				return nil, fmt.Errorf("the file is not valid UTF-8; set dialect.charset (windows-1252 or iso-8859-1)")
			}
			return b, nil
		}, nil
	case "windows-1252", "cp1252", "win1252":
		return func(b []byte) ([]byte, error) { return charmap.Windows1252.NewDecoder().Bytes(b) }, nil
	case "iso-8859-1", "latin1", "latin-1", "8859-1":
		return func(b []byte) ([]byte, error) { return charmap.ISO8859_1.NewDecoder().Bytes(b) }, nil
	}
	return nil, fmt.Errorf("mapping: dialect.charset %q is not supported (utf-8, windows-1252, iso-8859-1)", charset)
}

// System returns the identifier system of a kind of hospital number.
func (m *Mapping) System(kind string) string {
	if s := m.Systems[kind]; s != "" {
		return s
	}
	return ww.HospitalSystem(m.Sender.AGB, kind)
}

// Resource is one mapped resource.
type Resource struct {
	Type, ID string
	JSON     []byte
}

// Row is one data row's result.
type Row struct {
	// Line is the row's line in the file (1-based).
	Line int
	// Resources are the Patient, ServiceRequest and Appointment (absent
	// without an appointment), in write order.
	Resources []Resource
	// OrderNumber is the wait's order number (for --close-missing).
	OrderNumber string
	// Errors reject the row; Warnings do not.
	Errors, Warnings []string
}

// Result is a mapped export.
type Result struct {
	Rows []*Row
	// ServiceRequests are the ids of the waits in the export (valid rows).
	ServiceRequests []string
}

// Parse maps an export. A file that cannot be read at all (charset, a
// missing header column) is an error; a bad row is reported in its Row.
func Parse(data []byte, m *Mapping, key []byte) (*Result, error) {
	dec, _ := decoder(m.Dialect.Charset)
	text, err := dec(data)
	if err != nil {
		return nil, err
	}
	r := stdcsv.NewReader(bytes.NewReader(text))
	r.Comma, _ = utf8.DecodeRuneInString(m.Dialect.Separator)
	r.FieldsPerRecord = -1
	r.LazyQuotes = m.Dialect.Quote == "none"
	r.ReuseRecord = false
	for i := 0; i < m.Dialect.SkipRows; i++ {
		if _, err := r.Read(); err != nil {
			return nil, fmt.Errorf("line %d: cannot skip: %v", i+1, err)
		}
	}
	cols := map[string]int{}
	if *m.Dialect.Header {
		hdr, err := r.Read()
		if err != nil {
			return nil, fmt.Errorf("the header row cannot be read: %v", err)
		}
		index := map[string]int{}
		for i, h := range hdr {
			index[strings.ToLower(strings.TrimSpace(h))] = i
		}
		for f, col := range m.Columns {
			if col == "" {
				continue
			}
			if strings.HasPrefix(col, "#") {
				n, err := strconv.Atoi(col[1:])
				if err != nil || n < 1 {
					return nil, fmt.Errorf("columns.%s: %q is not a position", f, col)
				}
				cols[f] = n - 1
				continue
			}
			i, ok := index[strings.ToLower(col)]
			if !ok {
				return nil, fmt.Errorf("the header has no column %q (columns.%s)", col, f)
			}
			cols[f] = i
		}
	} else {
		for f, col := range m.Columns {
			if col == "" {
				continue
			}
			n, err := strconv.Atoi(strings.TrimPrefix(col, "#"))
			if err != nil || n < 1 {
				return nil, fmt.Errorf("columns.%s: %q is not a position", f, col)
			}
			cols[f] = n - 1
		}
	}
	res := &Result{}
	seen := map[string]bool{}
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *stdcsv.ParseError
			if ok := asParseError(err, &pe); ok {
				res.Rows = append(res.Rows, &Row{Line: pe.StartLine, Errors: []string{fmt.Sprintf("line %d: the row cannot be read as CSV (%v)", pe.StartLine, pe.Err)}})
				continue
			}
			return nil, err
		}
		if blank(rec) {
			continue
		}
		line, _ := r.FieldPos(0)
		row := mapRow(rec, line, cols, m, key)
		if len(row.Errors) == 0 {
			for _, rs := range row.Resources {
				if rs.Type == "ServiceRequest" && !seen[rs.ID] {
					seen[rs.ID] = true
					res.ServiceRequests = append(res.ServiceRequests, rs.ID)
				}
			}
		}
		res.Rows = append(res.Rows, row)
	}
	return res, nil
}

func asParseError(err error, pe **stdcsv.ParseError) bool {
	e, ok := err.(*stdcsv.ParseError)
	if ok {
		*pe = e
	}
	return ok
}

func blank(rec []string) bool {
	for _, f := range rec {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}

// row reads one record's fields.
type row struct {
	rec  []string
	cols map[string]int
	m    *Mapping
	out  *Row
}

func (r *row) get(f string) string {
	i, ok := r.cols[f]
	if !ok || i >= len(r.rec) {
		return ""
	}
	return strings.TrimSpace(r.rec[i])
}

// code maps a local code through codes.<f>.
func (r *row) code(f, v string) string {
	if v == "" {
		return ""
	}
	if c, ok := r.m.Codes[f][v]; ok {
		return c
	}
	for k, c := range r.m.Codes[f] {
		if strings.EqualFold(k, v) {
			return c
		}
	}
	return v
}

func (r *row) errf(f, format string, args ...any) {
	r.out.Errors = append(r.out.Errors, fmt.Sprintf("line %d, column %s: %s", r.out.Line, r.m.Columns[f], fmt.Sprintf(format, args...)))
}

func (r *row) warnf(f, format string, args ...any) {
	r.out.Warnings = append(r.out.Warnings, fmt.Sprintf("line %d, column %s: %s", r.out.Line, r.m.Columns[f], fmt.Sprintf(format, args...)))
}

func (r *row) date(f string) string {
	v := r.get(f)
	if v == "" {
		return ""
	}
	for _, layout := range r.m.DateFormats {
		if t, err := time.Parse(layout, v); err == nil {
			if t.Year() < 1900 || t.Year() > 2200 {
				break
			}
			return t.Format("2006-01-02")
		}
	}
	r.errf(f, "not a date in a known format (%s)", strings.Join(r.m.DateFormats, ", "))
	return ""
}

// instant reads an appointment time: an RFC 3339 instant, or a local date
// and time (read in the mapping's zone), or a date only.
func (r *row) instant(f string) (t time.Time, dateOnly, ok bool) {
	v := r.get(f)
	if v == "" {
		return time.Time{}, false, false
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, false, true
	}
	for _, layout := range []string{"2006-01-02T15:04", "2006-01-02 15:04", "2006-01-02 15:04:05", "02-01-2006 15:04", "2-1-2006 15:04", "02/01/2006 15:04", "200601021504"} {
		if t, err := time.ParseInLocation(layout, v, r.m.loc); err == nil {
			return t, false, true
		}
	}
	for _, layout := range r.m.DateFormats {
		if t, err := time.ParseInLocation(layout, v, r.m.loc); err == nil {
			return t, true, true
		}
	}
	r.errf(f, "not a date and time (an instant such as 2026-12-01T09:00:00+01:00, or 2026-12-01 09:00)")
	return time.Time{}, false, false
}

var srStatus = map[string]bool{"draft": true, "active": true, "on-hold": true, "revoked": true, "completed": true, "entered-in-error": true, "unknown": true}
var apptStatus = map[string]bool{"proposed": true, "pending": true, "booked": true, "arrived": true, "fulfilled": true, "cancelled": true, "noshow": true, "entered-in-error": true, "checked-in": true, "waitlist": true}
var waitKinds = map[string]string{"outpatient": "Eerste polikliniekbezoek", "diagnostics": "Diagnostiek", "treatment-day": "Behandeling (dagbehandeling)",
	"treatment-inpatient": "Behandeling (klinisch)", "treatment": "Behandeling", "mhc-intake": "GGZ intake", "mhc-treatment": "GGZ behandeling"}

func mapRow(rec []string, line int, cols map[string]int, m *Mapping, key []byte) *Row {
	out := &Row{Line: line}
	r := &row{rec: rec, cols: cols, m: m, out: out}
	agb := m.Sender.AGB
	orgID := ww.DeriveID(key, "Organization", ww.SystemAGB, agb)

	patNo := r.get("patientNumber")
	if patNo == "" {
		r.errf("patientNumber", "the patient number is empty")
	}
	bsn := r.get("bsn")
	if bsn != "" && !nlid.ValidBSN(bsn) {
		r.errf("bsn", "not a valid BSN (9 digits passing the elfproef)")
		bsn = ""
	}
	birth := r.date("birthDate")
	gender := r.code("gender", r.get("gender"))
	switch gender {
	case "", "male", "female", "other", "unknown":
	default:
		r.warnf("gender", "unknown code; left out")
		gender = ""
	}
	orderNo := r.get("orderNumber")
	if orderNo == "" {
		r.errf("orderNumber", "the order number is empty")
	}
	out.OrderNumber = orderNo
	authored := r.date("referralDate")
	if authored == "" && r.get("referralDate") == "" {
		r.errf("referralDate", "the referral date is empty (it starts the wait)")
	}
	spec := r.code("specialism", r.get("specialism"))
	if len(spec) == 3 && isDigits(spec) {
		spec = "0" + spec
	}
	specDisplay, known := nlid.SpecialismDisplay(spec)
	if !known {
		r.errf("specialism", "not an AGB specialism code (4 digits, e.g. 0305); map local codes in codes.specialism")
	}
	kind := r.code("kind", r.get("kind"))
	if kind == "" {
		kind = "treatment"
		if r.m.Columns["kind"] != "" {
			r.warnf("kind", "empty; the wait counts as treatment (the stricter 42 days)")
		}
	} else if _, ok := waitKinds[kind]; !ok {
		r.errf("kind", "not a wait kind (%s); map local codes in codes.kind", strings.Join(kindList(), ", "))
	}
	status := r.code("status", r.get("status"))
	if status == "" {
		status = "active"
	} else if !srStatus[status] {
		r.errf("status", "not a ServiceRequest status; map local codes in codes.status")
	}
	high := r.code("complexity", r.get("complexity")) == "high"
	loc := r.get("location")
	if loc != "" {
		if n, _ := ww.NormalizeAGB(loc); nlid.CheckAGB(n) == nil {
			loc = n
		} else {
			r.errf("location", "not an AGB code (8 digits)")
			loc = ""
		}
	}
	apptNo := r.get("appointmentNumber")
	start, dateOnly, hasStart := r.instant("appointmentDate")
	end, _, hasEnd := r.instant("appointmentEnd")
	apptSt := r.code("appointmentStatus", r.get("appointmentStatus"))
	if apptSt != "" && !apptStatus[apptSt] {
		r.errf("appointmentStatus", "not an Appointment status; map local codes in codes.appointmentStatus")
	}
	if len(out.Errors) > 0 {
		return out
	}

	patSys, ordSys, apSys := m.System("patient"), m.System("order"), m.System("appointment")
	patID := ww.DeriveID(key, "Patient", patSys, patNo)
	srID := ww.DeriveID(key, "ServiceRequest", ordSys, orderNo)

	// Patient
	p := obj("resourceType", "Patient", "id", patID)
	ids := fhirjson.NewArray()
	if bsn != "" {
		ids.Items = append(ids.Items, obj("use", "official", "system", ww.SystemBSN, "value", bsn))
	}
	ids.Items = append(ids.Items, obj("use", "usual", "system", patSys, "value", patNo))
	p.Set("identifier", ids)
	p.Set("active", fhirjson.NewBool(true))
	if fam, giv := r.get("family"), r.get("given"); fam != "" || giv != "" {
		n := obj("use", "official")
		if fam != "" {
			n.Set("family", fhirjson.NewString(fam))
		}
		if giv != "" {
			n.Set("given", fhirjson.NewArray(fhirjson.NewString(giv)))
		}
		p.Set("name", fhirjson.NewArray(n))
	}
	if gender != "" {
		p.Set("gender", fhirjson.NewString(gender))
	}
	if birth != "" {
		p.Set("birthDate", fhirjson.NewString(birth))
	}
	if pc := r.get("postcode"); pc != "" {
		p.Set("address", fhirjson.NewArray(obj("use", "home", "postalCode", normalizePostcode(pc), "country", "NL")))
	}
	p.Set("managingOrganization", ref("Organization", orgID, m.Sender.Name))
	out.Resources = append(out.Resources, Resource{Type: "Patient", ID: patID, JSON: p.Bytes()})

	// ServiceRequest: the wait
	sr := obj("resourceType", "ServiceRequest", "id", srID)
	sr.Set("identifier", fhirjson.NewArray(obj("system", ordSys, "value", orderNo)))
	sr.Set("status", fhirjson.NewString(status))
	sr.Set("intent", fhirjson.NewString("order"))
	cat := fhirjson.NewArray(concept(ww.SystemWaitKind, kind, waitKinds[kind]))
	if high {
		cat.Items = append(cat.Items, concept(ww.SystemComplexity, "high", "Hoogcomplexe zorg"))
	}
	sr.Set("category", cat)
	sr.Set("code", obj("text", waitKinds[kind]+" "+specDisplay))
	sr.Set("subject", ref("Patient", patID, ""))
	if authored != "" {
		sr.Set("authoredOn", fhirjson.NewString(authored))
	}
	sr.Set("performerType", concept(ww.SystemSpecialism, spec, specDisplay))
	sr.Set("performer", fhirjson.NewArray(ref("Organization", orgID, m.Sender.Name)))
	if loc != "" {
		sr.Set("locationReference", fhirjson.NewArray(ref("Location", ww.DeriveID(key, "Location", ww.SystemAGB, loc), "")))
	}
	out.Resources = append(out.Resources, Resource{Type: "ServiceRequest", ID: srID, JSON: sr.Bytes()})

	// Appointment, when the row has one
	if apptNo == "" && !hasStart && apptSt == "" {
		return out
	}
	if apptNo == "" {
		r.warnf("appointmentNumber", "the row has an appointment date or status but no appointment number; the appointment is left out")
		return out
	}
	if apptSt == "" {
		apptSt = "booked"
		if !hasStart {
			apptSt = "waitlist"
		}
	}
	apID := ww.DeriveID(key, "Appointment", apSys, apptNo)
	a := obj("resourceType", "Appointment", "id", apID)
	a.Set("identifier", fhirjson.NewArray(obj("system", apSys, "value", apptNo)))
	a.Set("status", fhirjson.NewString(apptSt))
	a.Set("serviceType", fhirjson.NewArray(concept(ww.SystemWaitKind, kind, waitKinds[kind])))
	a.Set("specialty", fhirjson.NewArray(concept(ww.SystemSpecialism, spec, specDisplay)))
	if hasStart {
		if !hasEnd && !dateOnly && m.AppointmentMinutes > 0 {
			end, hasEnd = start.Add(time.Duration(m.AppointmentMinutes)*time.Minute), true
		}
		switch {
		case dateOnly:
			a.Set("requestedPeriod", fhirjson.NewArray(obj("start", start.Format("2006-01-02"), "end", start.Format("2006-01-02"))))
			r.warnf("appointmentDate", "a date without a time: the day is in requestedPeriod, start stays empty")
		case hasEnd && end.After(start):
			a.Set("start", fhirjson.NewString(start.Format(time.RFC3339)))
			a.Set("end", fhirjson.NewString(end.Format(time.RFC3339)))
			a.Set("minutesDuration", fhirjson.NewNumber(int64(end.Sub(start)/time.Minute)))
		default:
			// An instant without an end cannot be Appointment.start alone
			// (start and end go together): keep it as the wanted period.
			a.Set("requestedPeriod", fhirjson.NewArray(obj("start", start.Format(time.RFC3339))))
		}
	}
	a.Set("basedOn", fhirjson.NewArray(ref("ServiceRequest", srID, "")))
	parts := fhirjson.NewArray(obj2("actor", ref("Patient", patID, ""), "status", fhirjson.NewString("accepted")))
	if loc != "" {
		parts.Items = append(parts.Items, obj2("actor", ref("Location", ww.DeriveID(key, "Location", ww.SystemAGB, loc), ""), "status", fhirjson.NewString("accepted")))
	}
	a.Set("participant", parts)
	out.Resources = append(out.Resources, Resource{Type: "Appointment", ID: apID, JSON: a.Bytes()})
	return out
}

func kindList() []string {
	return []string{"outpatient", "diagnostics", "treatment-day", "treatment-inpatient", "treatment", "mhc-intake", "mhc-treatment"}
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// normalizePostcode writes a Dutch postcode as "1234 AB" when it is one.
func normalizePostcode(pc string) string {
	s := strings.ToUpper(strings.ReplaceAll(pc, " ", ""))
	if len(s) == 6 && isDigits(s[:4]) && s[4] >= 'A' && s[4] <= 'Z' && s[5] >= 'A' && s[5] <= 'Z' {
		return s[:4] + " " + s[4:]
	}
	return pc
}

func obj(kv ...string) *fhirjson.Value {
	o := fhirjson.NewObject()
	for i := 0; i+1 < len(kv); i += 2 {
		o.Set(kv[i], fhirjson.NewString(kv[i+1]))
	}
	return o
}

func obj2(k1 string, v1 *fhirjson.Value, k2 string, v2 *fhirjson.Value) *fhirjson.Value {
	o := fhirjson.NewObject()
	o.Set(k1, v1)
	o.Set(k2, v2)
	return o
}

func ref(typ, id, display string) *fhirjson.Value {
	o := obj("reference", typ+"/"+id)
	if display != "" {
		o.Set("display", fhirjson.NewString(display))
	}
	return o
}

func concept(system, code, display string) *fhirjson.Value {
	c := obj("system", system, "code", code)
	if display != "" {
		c.Set("display", fhirjson.NewString(display))
	}
	cc := fhirjson.NewObject()
	cc.Set("coding", fhirjson.NewArray(c))
	return cc
}
