package hl7v2

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/conformance/nlid"
)

// Resource is one FHIR resource produced by Map.
type Resource struct {
	Type, ID string
	// JSON is the minified FHIR R4 JSON, with resourceType, id and
	// meta.source (no versionId or lastUpdated: the store sets those).
	JSON []byte
	// IfAbsent asks the store to write the resource only when no resource
	// with this id exists, and to keep the stored one otherwise. It is set
	// on what the message only refers to: the sending Organization, the
	// insurer Organization, Practitioners, Locations, Schedules, a Patient
	// seen in SIU or REF, every ServiceRequest seen in SIU, and a Coverage
	// from an ADT IN1 (the insurer owns membership). A richer
	// copy (from ADT, REF, a CSV backfill, the NZa import or the REST API)
	// is never overwritten by a partial view.
	IfAbsent bool
}

// Merge tells the store that an ADT^A40 merged two Patients.
type Merge struct {
	Surviving, Retired string // Patient ids
}

// Result is what one message maps to.
type Result struct {
	// Resources in write order: every resource comes after the resources it
	// references.
	Resources []Resource
	// SourceTime is EVN-2, else MSH-7, with its precision: the store's
	// ordering check (an older message must not overwrite a newer one).
	SourceTime Time
	// Warnings become ERR segments with severity W; the message is still
	// accepted (AA).
	Warnings []Problem
	// Unmapped lists the local codes without a mapping as "FIELD=code"
	// (e.g. "SCH-25=ARRIVED"), for a metric per sender.
	Unmapped []string
	// Merge is set for ADT^A40.
	Merge *Merge
	// AGB is the sending hospital's AGB code (the owner of what it writes).
	AGB string
	// Source is the meta.source of every resource:
	// urn:hl7v2:{MSH-3}|{MSH-4}#{MSH-10}.
	Source string
}

// Identifier, code and extension systems written by the mapping.
const (
	// SystemIngestFlags tags resources: code "unmapped" marks a resource
	// holding a local code without a mapping.
	SystemIngestFlags = ww.CanonicalBase + "/CodeSystem/ingest-flags"
	// ExtFillerStatus keeps the original SCH-25 filler status code on an
	// Appointment when its status was not a one-to-one ConceptMap match
	// (Dc, Discontinued, Overbook, Blocked, a configured or unmapped local
	// code). valueCoding.
	ExtFillerStatus = ww.CanonicalBase + "/StructureDefinition/hl7v2-filler-status"
	// ExtReferralStatus keeps the original RF1-1 referral status code on a
	// ServiceRequest when it was mapped through the sender's configuration
	// or not at all (then the status is unknown). valueCoding.
	ExtReferralStatus = ww.CanonicalBase + "/StructureDefinition/hl7v2-referral-status"
	// SystemV2Identifier is the HL7 identifier type table (PLAC, FILL, MR).
	SystemV2Identifier = "http://terminology.hl7.org/CodeSystem/v2-0203"
	// LocalCodeSystemBase is the prefix of the code system of a sender's
	// local codes: {base}/{AGB}/{field}, e.g. …/hl7v2-local/06012345/AIS-3.
	LocalCodeSystemBase = ww.CanonicalBase + "/CodeSystem/hl7v2-local"
)

// Map turns a parsed message into FHIR resources for the sender cfg (nil
// means an empty configuration). deploymentKey derives the resource ids
// (ww.DeriveID). Map is pure: no I/O, no clock. It returns a *MappingError
// for messages that must get AE or AR.
func Map(m *Message, cfg *SenderConfig, deploymentKey []byte) (*Result, error) {
	if m == nil || len(m.Segments) == 0 || m.Segments[0].Name != "MSH" {
		return nil, &MappingError{Problems: []Problem{{Severity: SeverityError, Code: CodeSegmentSequence, Segment: "MSH", Seq: 1, Text: "no MSH segment"}}}
	}
	if cfg == nil {
		cfg = &SenderConfig{}
	}
	x := &mapper{m: m, cfg: cfg, key: deploymentKey, res: &Result{}, seen: map[string]bool{}}
	x.loc = cfg.location()
	if x.loc == nil {
		x.loc = m.Location
	}
	if x.loc == nil {
		x.loc = ww.Amsterdam
	}
	x.res.Warnings = append(x.res.Warnings, m.Warnings...)
	kind := x.checkHeader()
	if len(x.errs) > 0 {
		return nil, &MappingError{Problems: x.errs, Reject: true}
	}
	x.sourceTime()
	if len(x.errs) > 0 {
		return nil, &MappingError{Problems: x.errs}
	}
	app, fac := m.SendingApplication, m.SendingFacility
	x.src = "urn:hl7v2:" + uriSafe(app) + "|" + uriSafe(fac) + "#" + uriSafe(m.ControlID)
	x.res.AGB, x.res.Source = x.agb, x.src
	switch kind {
	case "SIU":
		x.mapSIU()
	case "ADT":
		x.mapADT()
	case "REF":
		x.mapREF()
	}
	if len(x.errs) > 0 {
		return nil, &MappingError{Problems: x.errs}
	}
	return x.res, nil
}

type mapper struct {
	m    *Message
	cfg  *SenderConfig
	key  []byte
	loc  *time.Location
	agb  string
	src  string
	res  *Result
	errs []Problem
	seen map[string]bool
}

// Supported messages: type → trigger events.
var supported = map[string]map[string]bool{
	"SIU": set("S12", "S13", "S14", "S15", "S16", "S17", "S18", "S19", "S20", "S21", "S22", "S23", "S24", "S26"),
	"ADT": set("A01", "A04", "A08", "A28", "A31", "A40"),
	"REF": set("I12", "I13", "I14"),
}

func set(ss ...string) map[string]bool {
	m := map[string]bool{}
	for _, s := range ss {
		m[s] = true
	}
	return m
}

// checkHeader checks type, event, version, processing id and the sender's
// AGB; every failure is a reject (AR).
func (x *mapper) checkHeader() string {
	m := x.m
	msh := m.Segments[0]
	typ, trig := strings.ToUpper(m.Type), strings.ToUpper(m.Trigger)
	events, ok := supported[typ]
	switch {
	case typ == "":
		x.fail(CodeUnsupportedType, msh, 9, 0, 1, "MSH-9 (message type) is empty")
	case !ok:
		x.fail(CodeUnsupportedType, msh, 9, 0, 1, "message type %s is not supported (SIU, ADT and REF are)", sanitize(m.Type, 10))
	case !events[trig]:
		x.fail(CodeUnsupportedEvent, msh, 9, 0, 2, "event %s^%s is not supported", sanitize(m.Type, 10), sanitize(m.Trigger, 10))
	}
	if !supportedVersion(m.Version) {
		x.fail(CodeUnsupportedVersion, msh, 12, 0, 1, "version %q is not supported (2.3 to 2.9 are)", sanitize(m.Version, 12))
	}
	pid := strings.ToUpper(m.ProcessingID)
	if pid == "" {
		pid = "P"
	}
	allowed := x.cfg.ProcessingIDs
	if len(allowed) == 0 {
		allowed = []string{"P"}
	}
	okPID := false
	for _, a := range allowed {
		okPID = okPID || strings.EqualFold(a, pid)
	}
	if !okPID {
		x.fail(CodeUnsupportedProcID, msh, 11, 0, 1, "processing id %q is not accepted from this sender", sanitize(m.ProcessingID, 5))
	}
	x.agb = x.senderAGB()
	if x.agb == "" {
		x.fail(CodeInternal, msh, 4, 0, 0, "no AGB code is configured for sender %s|%s and MSH-4 carries none", sanitize(m.SendingApplication, 40), sanitize(m.SendingFacility, 40))
	}
	return typ
}

func supportedVersion(v string) bool {
	parts := strings.Split(v, ".")
	if len(parts) < 2 || len(parts) > 3 || parts[0] != "2" {
		return false
	}
	for _, p := range parts {
		if !allDigits(p) {
			return false
		}
	}
	minor, _ := strconv.Atoi(parts[1])
	return minor >= 3 && minor <= 9
}

// senderAGB is the configured AGB, else MSH-4's namespace or universal ID
// when it is an AGB code.
func (x *mapper) senderAGB() string {
	if a, _ := ww.NormalizeAGB(x.cfg.AGB); nlid.CheckAGB(a) == nil {
		return a
	}
	hd := x.m.Segments[0].Field(4).HD()
	for _, v := range []string{hd.Namespace, hd.UniversalID} {
		if a, _ := ww.NormalizeAGB(v); nlid.CheckAGB(a) == nil {
			return a
		}
	}
	return ""
}

func (x *mapper) sourceTime() {
	if evn := x.m.Segment("EVN"); evn != nil && strings.TrimSpace(evn.Get(2)) != "" {
		t, err := evn.Field(2).Time(x.loc)
		if err != nil {
			x.fail(CodeDataType, evn, 2, 0, 0, "EVN-2: %v", err)
			return
		}
		x.res.SourceTime = t
		return
	}
	msh := x.m.Segments[0]
	if strings.TrimSpace(msh.Get(7)) == "" {
		x.fail(CodeRequiredField, msh, 7, 0, 0, "MSH-7 (date/time of message) is empty")
		return
	}
	t, err := msh.Field(7).Time(x.loc)
	if err != nil {
		x.fail(CodeDataType, msh, 7, 0, 0, "MSH-7: %v", err)
		return
	}
	x.res.SourceTime = t
}

// problem records an error or warning located at seg-field(rep).comp.
func (x *mapper) problem(sev, code string, seg *Segment, field, rep, comp int, format string, args ...any) {
	p := Problem{Severity: sev, Code: code, Field: field, Rep: rep, Comp: comp, Text: fmt.Sprintf(format, args...)}
	if seg != nil {
		p.Segment, p.Seq = seg.Name, seg.Seq
	}
	if sev == SeverityError {
		x.errs = append(x.errs, p)
	} else {
		x.res.Warnings = append(x.res.Warnings, p)
	}
}

func (x *mapper) fail(code string, seg *Segment, field, rep, comp int, format string, args ...any) {
	x.problem(SeverityError, code, seg, field, rep, comp, format, args...)
}

// failMissing records a missing required segment (100).
func (x *mapper) failMissing(segment, format string, args ...any) {
	x.errs = append(x.errs, Problem{Severity: SeverityError, Code: CodeSegmentSequence, Segment: segment, Text: fmt.Sprintf(format, args...)})
}

func (x *mapper) warn(code string, seg *Segment, field, rep, comp int, format string, args ...any) {
	x.problem(SeverityWarning, code, seg, field, rep, comp, format, args...)
}

// unmapped records a local code without a mapping: a warning (103) and an
// entry in Result.Unmapped.
func (x *mapper) unmapped(seg *Segment, p Path, code, format string, args ...any) {
	name := p.String()
	x.warn(CodeTableValueNotFound, seg, p.Field, 0, 0, format, args...)
	entry := name + "=" + sanitize(code, 40)
	if x.seen["unmapped:"+entry] {
		return
	}
	x.seen["unmapped:"+entry] = true
	x.res.Unmapped = append(x.res.Unmapped, entry)
}

// emit appends a resource (once per type and id).
func (x *mapper) emit(typ, id string, body obj, ifAbsent, unmapped bool) {
	k := typ + "/" + id
	if x.seen[k] {
		return
	}
	x.seen[k] = true
	meta := obj{{"source", x.src}}
	if unmapped {
		meta = append(meta, kv{"tag", []obj{{{"system", SystemIngestFlags}, {"code", "unmapped"}, {"display", "local code without a mapping"}}}})
	}
	res := append(obj{{"resourceType", typ}, {"id", id}, {"meta", meta}}, body...)
	x.res.Resources = append(x.res.Resources, Resource{Type: typ, ID: id, JSON: res.bytes(), IfAbsent: ifAbsent})
}

func (x *mapper) id(typ, system, value string) string { return ww.DeriveID(x.key, typ, system, value) }

func ref(typ, id string) obj { return obj{{"reference", typ + "/" + id}} }

// organization emits the sending hospital's Organization and returns its id.
func (x *mapper) organization() string {
	id := x.id("Organization", ww.SystemAGB, x.agb)
	x.emit("Organization", id, obj{
		{"identifier", []obj{{{"system", ww.SystemAGB}, {"value", x.agb}}}},
		{"name", x.cfg.Name},
	}, true, false)
	return id
}

// --- codes

// isLocalSystem reports whether a CWE coding system names the sender's own
// codes.
func isLocalSystem(cs string) bool {
	u := strings.ToUpper(strings.TrimSpace(cs))
	return u == "" || u == "L" || u == "LOCAL" || u == "99LOCAL" || strings.HasPrefix(u, "99")
}

// codeSystem turns a CWE coding system name into a FHIR system URI; local
// and unknown systems get the sender's local code system for the field.
func (x *mapper) codeSystem(cs, field string) string {
	u := strings.ToUpper(strings.TrimSpace(cs))
	switch u {
	case "SCT", "SNM", "SNM3", "SNOMED", "SNOMEDCT", "SNOMED-CT":
		return "http://snomed.info/sct"
	case "LN", "LOINC":
		return "http://loinc.org"
	case "I10", "ICD10", "ICD-10":
		return "http://hl7.org/fhir/sid/icd-10"
	case "UCUM":
		return "http://unitsofmeasure.org"
	case "COD016", "COD016-VEKT", "VEKTIS":
		return ww.SystemSpecialism
	case "WW-WAITKIND":
		return ww.SystemWaitKind
	case "WW-COMPLEXITY":
		return ww.SystemComplexity
	}
	if len(u) > 3 && len(u) <= 7 && strings.HasPrefix(u, "HL7") && allDigits(u[3:]) {
		return "http://terminology.hl7.org/CodeSystem/v2-" + strings.Repeat("0", 7-len(u)) + u[3:]
	}
	if strings.Count(u, ".") >= 2 && allDigits(strings.ReplaceAll(u, ".", "")) {
		return "urn:oid:" + u
	}
	sys := LocalCodeSystemBase + "/" + x.agb + "/" + field
	if !isLocalSystem(cs) {
		sys += "/" + uriSafe(strings.TrimSpace(cs))
	}
	return sys
}

// codings returns the codings of a CWE (primary and alternate).
func (x *mapper) codings(c CWE, field string) []obj {
	var out []obj
	if c.Code != "" {
		out = append(out, obj{{"system", x.codeSystem(c.System, field)}, {"code", c.Code}, {"display", c.Text}})
	}
	if c.AltCode != "" {
		out = append(out, obj{{"system", x.codeSystem(c.AltSystem, field)}, {"code", c.AltCode}, {"display", c.AltText}})
	}
	return out
}

// concept returns a CodeableConcept for a CWE (nil when empty).
func (x *mapper) concept(c CWE, field string) obj {
	if c.IsZero() {
		return nil
	}
	text := c.OriginalText
	if text == "" && c.Code == "" && c.AltCode == "" {
		text = c.Text
	}
	return obj{{"coding", x.codings(c, field)}, {"text", text}}
}

func specialismConcept(code string) obj {
	if code == "" {
		return nil
	}
	display, _ := nlid.SpecialismDisplay(code)
	return obj{{"coding", []obj{{{"system", ww.SystemSpecialism}, {"code", code}, {"display", display}}}}}
}

func waitKindConcept(code string) obj {
	if code == "" {
		return nil
	}
	return obj{{"coding", []obj{{{"system", ww.SystemWaitKind}, {"code", code}, {"display", WaitKinds[code]}}}}}
}

// candidate is a local code that may map to a specialism or wait kind.
type candidate struct {
	value  string
	system string // CWE coding system, if any
	seg    *Segment
	path   Path
	// strict: an unmappable value is reported as unmapped (a Z field, or a
	// field whose map is configured).
	strict bool
	// direct: a known AGB specialism code is taken as it is (PV1-10).
	direct bool
}

// specialism resolves the first candidate that maps to an AGB specialism
// code: through cfg.Specialism, or directly when the value is itself a
// known specialism code. It falls back to cfg.DefaultSpecialism. The
// unmapped strict candidates come back as local codings, so that the
// sender's code is kept beside whatever did map.
func (x *mapper) specialism(cands []candidate) (code string, local []obj, unmapped bool) {
	for _, c := range cands {
		if c.value == "" {
			continue
		}
		if v, ok := lookupFold(x.cfg.Specialism, c.value); ok {
			if n, err := nlid.NormalizeSpecialism(v); err == nil {
				return n, local, unmapped
			}
		}
		if _, ok := nlid.SpecialismDisplay(c.value); ok && (c.strict || c.direct || ww.IsSpecialismSystem(x.codeSystem(c.system, ""))) {
			n, _ := nlid.NormalizeSpecialism(c.value)
			return n, local, unmapped
		}
		if c.strict {
			x.unmapped(c.seg, c.path, c.value, "%s %q has no specialism mapping; the local code is kept", c.path, sanitize(c.value, 40))
			local = append(local, x.localCoding(c))
			unmapped = true
		}
	}
	if n, err := nlid.NormalizeSpecialism(x.cfg.DefaultSpecialism); err == nil && x.cfg.DefaultSpecialism != "" {
		return n, local, unmapped
	}
	return "", local, unmapped
}

// localCoding is the sender's own code of a candidate, in its local code
// system (the field's, or the CWE's coding system when it names one).
func (x *mapper) localCoding(c candidate) obj {
	sys := x.codeSystem("L", c.path.String())
	if c.system != "" {
		sys = x.codeSystem(c.system, c.path.String())
	}
	return obj{{"system", sys}, {"code", c.value}}
}

// waitKind resolves the first candidate that maps to a wait kind, through
// cfg.WaitKind or builtin (checked after the configuration), or directly
// when the value is a wait-kind code ("outpatient", as in
// outpatient^Eerste polikliniekbezoek^WW-WAITKIND). It falls back to
// cfg.DefaultWaitKind. Unmapped strict candidates come back as local
// codings.
func (x *mapper) waitKind(cands []candidate, builtin map[string]string) (code string, local []obj, unmapped bool) {
	for _, c := range cands {
		if c.value == "" {
			continue
		}
		if v, ok := lookupFold(x.cfg.WaitKind, c.value); ok {
			return v, local, unmapped
		}
		if v, ok := lookupFold(builtin, c.value); ok {
			return v, local, unmapped
		}
		if _, ok := WaitKinds[strings.ToLower(c.value)]; ok {
			return strings.ToLower(c.value), local, unmapped
		}
		if c.strict {
			x.unmapped(c.seg, c.path, c.value, "%s %q has no wait-kind mapping; the local code is kept", c.path, sanitize(c.value, 40))
			local = append(local, x.localCoding(c))
			unmapped = true
		}
	}
	if _, ok := WaitKinds[x.cfg.DefaultWaitKind]; ok {
		return x.cfg.DefaultWaitKind, local, unmapped
	}
	return "", local, unmapped
}

// withLocal adds local codings to a concept (a concept of local codings
// only when concept is nil).
func withLocal(concept obj, local []obj) obj {
	if len(local) == 0 {
		return concept
	}
	var codings []obj
	for _, f := range concept {
		if f.k == "coding" {
			codings, _ = f.v.([]obj)
		}
	}
	return obj{{"coding", append(append([]obj(nil), codings...), local...)}}
}

// zFields returns the configured Z-segment values for a target.
func (x *mapper) zFields(target string) []candidate {
	var out []candidate
	for path, t := range x.cfg.ZSegments {
		if t != target {
			continue
		}
		p, err := ParsePath(path)
		if err != nil {
			continue
		}
		v := strings.TrimSpace(x.m.At(p))
		if v == "" {
			continue
		}
		segs := x.m.All(p.Segment)
		out = append(out, candidate{value: v, seg: segs[p.Occurrence-1], path: p, strict: true})
	}
	// Deterministic order when several fields map to one target.
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].path.String() < out[j-1].path.String(); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// --- people and places

type patientKey struct {
	number string // the hospital patient number
	bsn    string // a valid BSN, or ""
}

// patientIdentity reads a CX list (PID-3, MRG-1): the BSN (authority
// NLMINBIZA or type NNNLD, checked with the elfproef) and the hospital
// patient number (the first other repetition, preferring types MR, PI, PN,
// PT). ok is false when errors were recorded.
func (x *mapper) patientIdentity(seg *Segment, field int) (patientKey, bool) {
	name := fmt.Sprintf("%s-%d", seg.Name, field)
	f := seg.Field(field)
	if f.Empty() {
		x.fail(CodeRequiredField, seg, field, 0, 0, "%s (patient identifier list) is empty", name)
		return patientKey{}, false
	}
	var k patientKey
	preferred, other := "", ""
	ok := true
	for i, rep := range f.Reps() {
		cx := rep.CX()
		if cx.ID == "" {
			continue
		}
		if isBSN(cx) {
			if !nlid.ValidBSN(cx.ID) {
				x.fail(CodeDataType, seg, field, i+1, 1, "%s repetition %d: the BSN (authority NLMINBIZA) is not 9 digits passing the elfproef", name, i+1)
				ok = false
			} else if k.bsn == "" {
				k.bsn = cx.ID
			}
			continue
		}
		switch strings.ToUpper(cx.TypeCode) {
		case "MR", "PI", "PN", "PT":
			if preferred == "" {
				preferred = cx.ID
			}
		default:
			if other == "" {
				other = cx.ID
			}
		}
	}
	k.number = preferred
	if k.number == "" {
		k.number = other
	}
	if k.number == "" && ok {
		x.fail(CodeRequiredField, seg, field, 0, 1, "%s has no hospital patient number: a Patient is never identified by a BSN alone", name)
		ok = false
	}
	return k, ok
}

func isBSN(cx CX) bool {
	return strings.EqualFold(cx.Authority.Namespace, "NLMINBIZA") || strings.EqualFold(cx.TypeCode, "NNNLD") ||
		cx.Authority.UniversalID == "2.16.840.1.113883.2.4.6.3"
}

// patientID returns the Patient id of a hospital patient number.
func (x *mapper) patientID(number string) string {
	return x.id("Patient", x.cfg.system(x.agb, "patient"), number)
}

// patient emits the Patient of a PID segment and returns its id ("" on
// errors).
func (x *mapper) patient(pid *Segment, orgID string, ifAbsent bool, extra ...kv) (string, patientKey) {
	k, ok := x.patientIdentity(pid, 3)
	if !ok {
		return "", k
	}
	id := x.patientID(k.number)
	idents := []obj{{
		{"type", obj{{"coding", []obj{{{"system", SystemV2Identifier}, {"code", "MR"}}}}}},
		{"system", x.cfg.system(x.agb, "patient")},
		{"value", k.number},
	}}
	if k.bsn != "" {
		idents = append(idents, obj{{"system", ww.SystemBSN}, {"value", k.bsn}})
	}
	var names []obj
	for _, rep := range pid.Field(5).Reps() {
		names = append(names, humanName(rep.XPN()))
	}
	var telecom []obj
	for _, rep := range pid.Field(13).Reps() {
		telecom = append(telecom, contactPoint(rep.XTN(), "home"))
	}
	for _, rep := range pid.Field(14).Reps() {
		telecom = append(telecom, contactPoint(rep.XTN(), "work"))
	}
	var addrs []obj
	for _, rep := range pid.Field(11).Reps() {
		addrs = append(addrs, address(rep.XAD()))
	}
	body := obj{
		{"identifier", idents},
		{"name", names},
		{"telecom", telecom},
		{"gender", x.gender(pid)},
	}
	if bd, err := pid.Field(7).Time(x.loc); err != nil {
		x.fail(CodeDataType, pid, 7, 0, 1, "PID-7 (birth date): %v", err)
	} else {
		body = append(body, kv{"birthDate", bd.FHIRDate()})
	}
	if dt, err := pid.Field(29).Time(x.loc); err != nil {
		x.fail(CodeDataType, pid, 29, 0, 1, "PID-29 (death date): %v", err)
	} else if !dt.IsZero() {
		body = append(body, kv{"deceasedDateTime", dt.FHIRDateTime()})
	} else if strings.EqualFold(pid.Get(30), "Y") {
		body = append(body, kv{"deceasedBoolean", true})
	}
	body = append(body, kv{"address", addrs})
	body = append(body, kv{"managingOrganization", ref("Organization", orgID)})
	body = append(body, extra...)
	x.emit("Patient", id, body, ifAbsent, false)
	return id, k
}

func (x *mapper) gender(pid *Segment) string {
	g := strings.ToUpper(strings.TrimSpace(pid.Get(8)))
	switch g {
	case "":
		return ""
	case "M":
		return "male"
	case "F":
		return "female"
	case "O", "A":
		return "other"
	case "U", "N":
		return "unknown"
	}
	x.warn(CodeTableValueNotFound, pid, 8, 0, 1, "PID-8 gender %q is not in HL7 table 0001; gender left out", sanitize(g, 5))
	return ""
}

func humanName(n XPN) obj {
	family := n.Family
	if family == "" {
		family = strings.Join(nonEmpty(n.OwnPrefix, n.OwnSurname), " ")
	}
	use := map[string]string{"L": "official", "D": "usual", "M": "maiden", "N": "nickname"}[strings.ToUpper(n.NameType)]
	return obj{{"use", use}, {"family", family}, {"given", nonEmpty(n.Given, n.Middle)}, {"prefix", nonEmpty(n.Prefix)}, {"suffix", nonEmpty(n.Suffix, n.Degree)}}
}

func address(a XAD) obj {
	var use, typ string
	switch strings.ToUpper(a.AddressType) {
	case "H":
		use = "home"
	case "B", "O":
		use = "work"
	case "C":
		use = "temp"
	case "BA":
		use = "old"
	case "M":
		typ = "postal"
	}
	return obj{{"use", use}, {"type", typ}, {"line", nonEmpty(a.Line(), a.Other)}, {"city", a.City}, {"state", a.State},
		{"postalCode", a.PostalCode}, {"country", a.Country}}
}

func contactPoint(t XTN, defUse string) obj {
	system, use := "phone", defUse
	value := t.Number
	if value == "" {
		value = t.Unformatted
	}
	if value == "" && t.LocalNumber != "" {
		value = t.AreaCode + t.LocalNumber
	}
	switch strings.ToUpper(t.EquipmentType) {
	case "FX":
		system = "fax"
	case "BP":
		system = "pager"
	case "CP":
		use = "mobile"
	case "INTERNET", "X.400":
		system, value = "email", t.Email
	}
	switch strings.ToUpper(t.UseCode) {
	case "WPN":
		use = "work"
	case "PRN", "ORN", "VHN":
		if use != "mobile" {
			use = "home"
		}
	case "NET":
		system, value = "email", firstNonEmpty(t.Email, t.Number)
	}
	if value == "" {
		return nil
	}
	return obj{{"system", system}, {"value", value}, {"use", use}}
}

// actor is a referenced Practitioner or Location with its business key.
type actor struct {
	typ, id, key string
	ref          obj
}

// practitioner emits the Practitioner of an XCN (nil when it has no id).
func (x *mapper) practitioner(p XCN) *actor {
	if p.ID == "" {
		return nil
	}
	auth := strings.ToUpper(p.Authority.Name())
	system, value := x.cfg.system(x.agb, "practitioner"), p.ID
	if a, _ := ww.NormalizeAGB(p.ID); nlid.CheckAGB(a) == nil &&
		(x.cfg.PractitionerIDIsAGB || auth == "VEKTIS" || auth == "AGB" || auth == "AGB-Z" || p.Authority.UniversalID == "2.16.840.1.113883.2.4.6.1" || strings.EqualFold(p.TypeCode, "AGB")) {
		system, value = ww.SystemAGB, a
	}
	id := x.id("Practitioner", system, value)
	name := humanName(XPN{Family: p.Family, Given: p.Given, Middle: p.Middle, Suffix: p.Suffix, Prefix: p.Prefix, Degree: p.Degree})
	x.emit("Practitioner", id, obj{
		{"identifier", []obj{{{"system", system}, {"value", value}}}},
		{"name", []obj{name}},
	}, true, false)
	display := strings.Join(nonEmpty(p.Prefix, p.Given, p.Family), " ")
	return &actor{typ: "Practitioner", id: id, key: value, ref: append(ref("Practitioner", id), kv{"display", display})}
}

// location emits the Location of a PL (nil when it has no key). Its
// identity: the sender's "locations" entry for the key or point of care
// (an AGB code), else the point of care itself when it is an AGB code of a
// known kind (and no room or bed is given), else the hospital's location
// system with PL.Key.
func (x *mapper) location(pl PL, orgID string) *actor {
	key := pl.Key()
	if key == "" {
		return nil
	}
	system, value := x.cfg.system(x.agb, "location"), key
	if a, ok := lookupFold(x.cfg.Locations, key); ok {
		system, value = ww.SystemAGB, a
	} else if a, ok := lookupFold(x.cfg.Locations, pl.PointOfCare); ok && pl.PointOfCare != "" {
		system, value = ww.SystemAGB, a
	} else if a, _ := ww.NormalizeAGB(pl.PointOfCare); pl.Room == "" && pl.Bed == "" && nlid.AGBKind(a) != "" {
		// The point of care is the site's own AGB code (the NZa publishes
		// waits per site).
		system, value = ww.SystemAGB, a
	}
	id := x.id("Location", system, value)
	name := pl.Description
	if name == "" {
		name = strings.Join(nonEmpty(pl.PointOfCare, pl.Room, pl.Bed), " ")
	}
	x.emit("Location", id, obj{
		{"identifier", []obj{{{"system", system}, {"value", value}}}},
		{"status", "active"},
		{"name", name},
		{"mode", "instance"},
		{"managingOrganization", ref("Organization", orgID)},
	}, true, false)
	return &actor{typ: "Location", id: id, key: value, ref: append(ref("Location", id), kv{"display", name})}
}

// --- helpers

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s = strings.TrimSpace(s); s != "" {
			return s
		}
	}
	return ""
}

// uriSafe percent-encodes whitespace, control characters and '%' so the
// value can sit in a FHIR uri.
func uriSafe(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		if c <= ' ' || c == 0x7f || c == '%' || c == '#' {
			fmt.Fprintf(&b, "%%%02X", c)
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}

// identifierWithType is an Identifier with a v2-0203 type code.
func identifierWithType(system, value, typeCode string) obj {
	if value == "" {
		return nil
	}
	return obj{
		{"type", obj{{"coding", []obj{{{"system", SystemV2Identifier}, {"code", typeCode}}}}}},
		{"system", system},
		{"value", value},
	}
}
