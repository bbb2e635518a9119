package hl7v2

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"sort"
	"strings"
	"sync"
	"time"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/conformance/nlid"
)

// Coding is a FHIR coding in the configuration.
type Coding struct {
	System  string `json:"system"`
	Code    string `json:"code"`
	Display string `json:"display,omitempty"`
}

// SenderConfig is how one sender's messages are read. All code maps match
// their keys case-insensitively. See the package documentation for the
// JSON format.
type SenderConfig struct {
	// AGB is the hospital's 8-digit AGB code (7 digits get their leading 0
	// back). Empty: taken from MSH-4 when that is an AGB code.
	AGB string `json:"agb,omitempty"`
	// Name is written on the sender's Organization when it is created.
	Name string `json:"name,omitempty"`
	// Charset is used when MSH-18 is empty (HL7 table 0211 name).
	Charset string `json:"charset,omitempty"`
	// TimeZone reads times without an offset (IANA name; default
	// Europe/Amsterdam).
	TimeZone string `json:"timeZone,omitempty"`
	// ProcessingIDs lists the accepted MSH-11 values (default ["P"]).
	ProcessingIDs []string `json:"processingIds,omitempty"`
	// PractitionerIDIsAGB says every AIP-3/PRD-7 identifier of 7 or 8
	// digits is an AGB code, also without an AGB assigning authority.
	PractitionerIDIsAGB bool `json:"practitionerIdIsAgb,omitempty"`
	// Systems overrides the identifier system of the hospital's own numbers
	// per kind (patient, order, appointment, slot, schedule, location,
	// practitioner); default ww.HospitalSystem(agb, kind).
	Systems map[string]string `json:"systems,omitempty"`
	// Status maps local SCH-25 filler status codes to FHIR
	// Appointment.status; it wins over the HL7 ConceptMap.
	Status map[string]string `json:"status,omitempty"`
	// ReferralStatus maps RF1-1 codes to FHIR ServiceRequest.status; it
	// wins over the built-in table (A active, P draft, R revoked, E revoked).
	ReferralStatus map[string]string `json:"referralStatus,omitempty"`
	// Service maps local AIS-3 codes to a coding (kept beside the local one
	// in Appointment.serviceType).
	Service map[string]Coding `json:"service,omitempty"`
	// Specialism maps local codes (a mapped Z field, AIS-3, the AIL-3 point
	// of care, RF1-3) to a 4-digit AGB specialism code (COD016).
	Specialism map[string]string `json:"specialism,omitempty"`
	// WaitKind maps local codes (a mapped Z field, SCH-7, AIS-3, RF1-5) to
	// a wait-kind code (outpatient, diagnostics, treatment-day,
	// treatment-inpatient, treatment, mhc-intake, mhc-treatment).
	WaitKind map[string]string `json:"waitKind,omitempty"`
	// DefaultSpecialism and DefaultWaitKind apply when nothing maps.
	DefaultSpecialism string `json:"defaultSpecialism,omitempty"`
	DefaultWaitKind   string `json:"defaultWaitKind,omitempty"`
	// ZSegments maps a field path in a Z-segment ("ZWL-2", "ZWL-3.1") to a
	// wait field: authoredOn, waitKind, specialism or orderNumber (the
	// wait's order number when SCH-26/27 are empty).
	ZSegments map[string]string `json:"zsegments,omitempty"`
	// Locations maps a location key (see PL.Key, e.g. "POLI-ORTH") to the
	// AGB code of that location; other locations are identified by the
	// hospital's location system.
	Locations map[string]string `json:"locations,omitempty"`

	loc *time.Location
}

// Config holds the configuration of many senders.
type Config struct {
	// Default applies to every sender; a sender's entry overrides it field
	// by field (maps are merged, the sender's keys winning).
	Default SenderConfig `json:"default"`
	// Senders is keyed "MSH-3|MSH-4" (the HD namespace ID, else universal
	// ID, of sending application and facility), either side may be "*".
	Senders map[string]*SenderConfig `json:"senders,omitempty"`

	// lazy builds merged once for a Config not made by LoadConfig or
	// NewConfig (a literal), safely under concurrent messages.
	lazy   sync.Once
	merged map[string]*SenderConfig // upper-cased key → Default+sender
	names  map[string]string        // upper-cased key → the key as written
	def    *SenderConfig
}

// LoadConfig reads and checks a JSON configuration.
func LoadConfig(r io.Reader) (*Config, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var c Config
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("hl7v2: reading sender configuration: %w", err)
	}
	if err := c.init(); err != nil {
		return nil, err
	}
	return &c, nil
}

// NewConfig checks a configuration built in code.
func NewConfig(def SenderConfig, senders map[string]*SenderConfig) (*Config, error) {
	c := &Config{Default: def, Senders: senders}
	if err := c.init(); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *Config) init() error {
	d := c.Default
	if err := d.check("default"); err != nil {
		return err
	}
	c.def = &d
	c.merged = map[string]*SenderConfig{}
	names := make(map[string]string, len(c.Senders))
	keys := make([]string, 0, len(c.Senders))
	for k := range c.Senders {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		s := c.Senders[k]
		if s == nil {
			return fmt.Errorf("hl7v2: sender %q: empty entry", k)
		}
		app, fac, ok := strings.Cut(k, "|")
		if !ok || strings.TrimSpace(app) == "" || strings.TrimSpace(fac) == "" {
			return fmt.Errorf("hl7v2: sender key %q must be \"application|facility\" (either may be \"*\")", k)
		}
		m := merge(c.Default, *s)
		if err := m.check("sender " + k); err != nil {
			return err
		}
		uk := strings.ToUpper(strings.TrimSpace(app) + "|" + strings.TrimSpace(fac))
		if _, dup := c.merged[uk]; dup {
			return fmt.Errorf("hl7v2: sender key %q is given twice (keys are case-insensitive)", k)
		}
		c.merged[uk] = &m
		names[uk] = k
	}
	c.names = names
	return nil
}

// For returns the configuration of a sender (MSH-3 and MSH-4 names, as in
// Message.SendingApplication and SendingFacility): the entry for
// "app|facility", else "*|facility", else "app|*", else the default. The
// result is shared: do not modify it.
func (c *Config) For(sendingApp, sendingFacility string) *SenderConfig {
	if c == nil || !c.load() {
		return &SenderConfig{} // none, or a literal whose configuration does not check
	}
	for _, k := range senderKeys(sendingApp, sendingFacility) {
		if s, ok := c.merged[k]; ok {
			return s
		}
	}
	return c.def
}

// load builds the merged configuration once for a literal Config (one of
// LoadConfig or NewConfig already has it) and reports whether it checks.
func (c *Config) load() bool {
	c.lazy.Do(func() {
		if c.merged == nil && c.init() != nil {
			c.merged, c.def, c.names = nil, nil, nil
		}
	})
	return c.def != nil
}

// senderKeys are the upper-cased keys a sender matches, most specific
// first: "app|facility", "*|facility", "app|*".
func senderKeys(sendingApp, sendingFacility string) [3]string {
	app, fac := strings.ToUpper(strings.TrimSpace(sendingApp)), strings.ToUpper(strings.TrimSpace(sendingFacility))
	return [3]string{app + "|" + fac, "*|" + fac, app + "|*"}
}

// SenderKey returns the configured key that For matches for a sender (as
// written in the configuration), or "" when only the default applies. It
// names senders in metrics without letting unknown senders add labels.
func (c *Config) SenderKey(sendingApp, sendingFacility string) string {
	if c == nil {
		return ""
	}
	keys := senderKeys(sendingApp, sendingFacility)
	if c.load() {
		// (init refused keys that are the same but for case)
		for _, want := range keys {
			if k, ok := c.names[want]; ok {
				return k
			}
		}
		return ""
	}
	for _, want := range keys {
		for k := range c.Senders {
			a, f, _ := strings.Cut(k, "|")
			if strings.ToUpper(strings.TrimSpace(a)+"|"+strings.TrimSpace(f)) == want {
				return k
			}
		}
	}
	return ""
}

func merge(d, s SenderConfig) SenderConfig {
	m := d
	str := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	str(&m.AGB, s.AGB)
	str(&m.Name, s.Name)
	str(&m.Charset, s.Charset)
	str(&m.TimeZone, s.TimeZone)
	str(&m.DefaultSpecialism, s.DefaultSpecialism)
	str(&m.DefaultWaitKind, s.DefaultWaitKind)
	if s.ProcessingIDs != nil {
		m.ProcessingIDs = s.ProcessingIDs
	}
	m.PractitionerIDIsAGB = d.PractitionerIDIsAGB || s.PractitionerIDIsAGB
	m.Systems = mergeMap(d.Systems, s.Systems)
	m.Status = mergeMap(d.Status, s.Status)
	m.ReferralStatus = mergeMap(d.ReferralStatus, s.ReferralStatus)
	m.Service = mergeMap(d.Service, s.Service)
	m.Specialism = mergeMap(d.Specialism, s.Specialism)
	m.WaitKind = mergeMap(d.WaitKind, s.WaitKind)
	m.ZSegments = mergeMap(d.ZSegments, s.ZSegments)
	m.Locations = mergeMap(d.Locations, s.Locations)
	m.loc = nil
	return m
}

func mergeMap[V any](a, b map[string]V) map[string]V {
	if len(a) == 0 && len(b) == 0 {
		return nil
	}
	m := make(map[string]V, len(a)+len(b))
	maps.Copy(m, a)
	maps.Copy(m, b)
	return m
}

// Wait-kind codes (https://wachtwijzer.nl/fhir/CodeSystem/wait-kind) with
// their Dutch displays.
var WaitKinds = map[string]string{
	"outpatient":          "Eerste polikliniekbezoek",
	"diagnostics":         "Diagnostiek",
	"treatment-day":       "Behandeling, dagbehandeling",
	"treatment-inpatient": "Behandeling, klinisch",
	"treatment":           "Behandeling",
	"mhc-intake":          "GGZ, aanmelding tot intake",
	"mhc-treatment":       "GGZ, intake tot behandeling",
}

var appointmentStatuses = map[string]bool{"proposed": true, "pending": true, "booked": true, "arrived": true, "fulfilled": true,
	"cancelled": true, "noshow": true, "entered-in-error": true, "checked-in": true, "waitlist": true}

var requestStatuses = map[string]bool{"draft": true, "active": true, "on-hold": true, "revoked": true, "completed": true,
	"entered-in-error": true, "unknown": true}

var zTargets = map[string]bool{"authoredOn": true, "waitKind": true, "specialism": true, "orderNumber": true}

var hospitalKinds = map[string]bool{"patient": true, "order": true, "appointment": true, "slot": true, "schedule": true,
	"location": true, "practitioner": true}

// check validates a (merged) sender configuration and caches its zone.
func (s *SenderConfig) check(what string) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("hl7v2: %s: "+format, append([]any{what}, args...)...)
	}
	if s.AGB != "" {
		agb, _, err := nlid.NormalizeAGB(strings.TrimSpace(s.AGB))
		if err != nil {
			return bad("agb: %v", err)
		}
		s.AGB = agb
	}
	if s.Charset != "" {
		if _, ok := lookupCharset(s.Charset); !ok {
			return bad("charset %q is not supported (use one of %s)", s.Charset, strings.Join(Charsets, ", "))
		}
	}
	if s.TimeZone != "" {
		loc, err := time.LoadLocation(s.TimeZone)
		if err != nil {
			return bad("timeZone: %v", err)
		}
		s.loc = loc
	}
	for k, v := range s.Status {
		if !appointmentStatuses[v] {
			return bad("status[%q]: %q is not an Appointment status", k, v)
		}
	}
	for k, v := range s.ReferralStatus {
		if !requestStatuses[v] {
			return bad("referralStatus[%q]: %q is not a ServiceRequest status", k, v)
		}
	}
	for k, v := range s.Service {
		if v.System == "" || v.Code == "" {
			return bad("service[%q]: system and code are required", k)
		}
	}
	for k, v := range s.Specialism {
		norm, err := nlid.NormalizeSpecialism(v)
		if err != nil {
			return bad("specialism[%q]: %v", k, err)
		}
		s.Specialism[k] = norm
	}
	if s.DefaultSpecialism != "" {
		norm, err := nlid.NormalizeSpecialism(s.DefaultSpecialism)
		if err != nil {
			return bad("defaultSpecialism: %v", err)
		}
		s.DefaultSpecialism = norm
	}
	for k, v := range s.WaitKind {
		if _, ok := WaitKinds[v]; !ok {
			return bad("waitKind[%q]: %q is not a wait-kind code", k, v)
		}
	}
	if s.DefaultWaitKind != "" {
		if _, ok := WaitKinds[s.DefaultWaitKind]; !ok {
			return bad("defaultWaitKind: %q is not a wait-kind code", s.DefaultWaitKind)
		}
	}
	for k, v := range s.ZSegments {
		p, err := ParsePath(k)
		if err != nil || p.Segment[0] != 'Z' {
			return bad("zsegments: %q is not a Z-segment field path (e.g. ZWL-2)", k)
		}
		if !zTargets[v] {
			return bad("zsegments[%q]: unknown target %q (use authoredOn, waitKind, specialism or orderNumber)", k, v)
		}
	}
	for k := range s.Systems {
		if !hospitalKinds[k] {
			return bad("systems: unknown kind %q", k)
		}
	}
	for k, v := range s.Locations {
		agb, _, err := nlid.NormalizeAGB(strings.TrimSpace(v))
		if err != nil {
			return bad("locations[%q]: %v", k, err)
		}
		s.Locations[k] = agb
	}
	return nil
}

var zoneCache sync.Map // name → *time.Location

// location returns the sender's zone, nil when none is configured.
func (s *SenderConfig) location() *time.Location {
	if s == nil {
		return nil
	}
	if s.loc != nil {
		return s.loc
	}
	if s.TimeZone == "" {
		return nil
	}
	if l, ok := zoneCache.Load(s.TimeZone); ok {
		return l.(*time.Location)
	}
	l, err := time.LoadLocation(s.TimeZone)
	if err != nil {
		return nil
	}
	zoneCache.Store(s.TimeZone, l)
	return l
}

// system returns the identifier system of the hospital's own numbers.
func (s *SenderConfig) system(agb, kind string) string {
	if v := s.Systems[kind]; v != "" {
		return v
	}
	return ww.HospitalSystem(agb, kind)
}

// lookupFold finds key in m, exactly or case-insensitively.
func lookupFold[V any](m map[string]V, key string) (V, bool) {
	if v, ok := m[key]; ok {
		return v, true
	}
	for k, v := range m {
		if strings.EqualFold(k, key) {
			return v, true
		}
	}
	var zero V
	return zero, false
}
