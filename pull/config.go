package pull

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/goccy/go-yaml"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/conformance"
	"github.com/wachtwijzer/wachtwijzer/smart"
)

// Duration is a JSON/YAML duration: "30s", "5m", "1h30m".
type Duration time.Duration

// UnmarshalJSON reads a Go duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("a duration is a string such as \"5m\" or \"30s\"")
	}
	v, err := time.ParseDuration(s)
	if err != nil || v < 0 {
		return fmt.Errorf("%q is not a duration (e.g. \"5m\", \"30s\")", s)
	}
	*d = Duration(v)
	return nil
}

// MarshalJSON writes the duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// File is a sources file.
type File struct {
	Sources []*Source `json:"sources"`
}

// The source kinds.
const (
	KindFHIR        = "fhir"         // a FHIR REST server, searched incrementally
	KindBulkPublish = "bulk-publish" // a SMART Scheduling Links publisher ($bulk-publish manifest)
)

// Source is one pulled source.
type Source struct {
	// ID names the source in keys, logs and /status (letters, digits, -_.).
	ID string `json:"id"`
	// Kind is fhir (default) or bulk-publish.
	Kind string `json:"kind,omitempty"`
	// BaseURL is the FHIR base (kind fhir) or the manifest URL ending in
	// $bulk-publish (kind bulk-publish).
	BaseURL string `json:"baseUrl"`
	// Namespace is the namespace of the source's ids (default: the base
	// URL; the manifest URL without $bulk-publish for publishers). Keep it
	// when the source moves, so ids stay.
	Namespace string `json:"namespace,omitempty"`
	// Owner is the AGB (or URA) of the organisation the data belongs to,
	// recorded as the writing organisation of every version.
	Owner string `json:"owner,omitempty"`
	// Interval between syncs (default 5m).
	Interval Duration `json:"interval,omitempty"`
	// PageSize is the _count asked for (default 100).
	PageSize int `json:"pageSize,omitempty"`
	// StaleAfter marks the source's data stale when no sync succeeded for
	// this long (default 3 × interval).
	StaleAfter Duration `json:"staleAfter,omitempty"`
	// ReconcileEvery runs a full reconciliation (tombstoning what
	// disappeared) this often for types without history (default 24h; "0s"
	// never).
	ReconcileEvery *Duration `json:"reconcileEvery,omitempty"`
	// ReconcileMaxDelete refuses a reconciliation that would tombstone more
	// than this share of what is held (default 0.5): a source that
	// suddenly lists nothing is more likely broken than empty.
	ReconcileMaxDelete float64 `json:"reconcileMaxDelete,omitempty"`
	Auth               Auth    `json:"auth,omitempty"`
	HTTP               HTTP    `json:"http,omitempty"`
	// Resources are the types pulled, in order (kind fhir). A publisher
	// imports Location, Schedule, Slot (and PractitionerRole,
	// HealthcareService) by default.
	Resources []*Resource `json:"resources,omitempty"`

	dir string
}

// Resource is one pulled type.
type Resource struct {
	Type string `json:"type"`
	// Filter is extra search parameters ("status=active&specialty=…").
	Filter string `json:"filter,omitempty"`
	// History reads [type]/_history instead of searching, so deletions
	// arrive as they happen (the source must support type history with
	// _since).
	History bool `json:"history,omitempty"`
}

// Auth is how the gateway authenticates to the source.
type Auth struct {
	// Type is none (default), bearer or smart-backend.
	Type string `json:"type,omitempty"`
	// Token (bearer) or TokenEnv, the environment variable holding it.
	Token    string `json:"token,omitempty"`
	TokenEnv string `json:"tokenEnv,omitempty"`
	// SMART Backend Services (client_credentials, private_key_jwt).
	TokenURL string   `json:"tokenUrl,omitempty"`
	ClientID string   `json:"clientId,omitempty"`
	KeyFile  string   `json:"privateKeyFile,omitempty"`
	KeyID    string   `json:"keyId,omitempty"`
	Scopes   []string `json:"scopes,omitempty"`
}

// HTTP tunes the source's client (defaults in package fetch).
type HTTP struct {
	Timeout         Duration `json:"timeout,omitempty"`
	Deadline        Duration `json:"deadline,omitempty"`
	RetryMax        int      `json:"retryMax,omitempty"`
	WaitMin         Duration `json:"waitMin,omitempty"`
	WaitMax         Duration `json:"waitMax,omitempty"`
	MaxRetryAfter   Duration `json:"maxRetryAfter,omitempty"`
	BreakerFailures int      `json:"breakerFailures,omitempty"`
	BreakerCooldown Duration `json:"breakerCooldown,omitempty"`
}

// LoadFile reads a sources file: JSON, or YAML (by the .yaml/.yml
// extension) with the same fields.
func LoadFile(path string) (*File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if ext := strings.ToLower(filepath.Ext(path)); ext == ".yaml" || ext == ".yml" {
		if b, err = yaml.YAMLToJSON(b); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	f, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	for _, s := range f.Sources {
		s.dir = filepath.Dir(path)
	}
	return f, nil
}

// Parse reads a sources file in JSON; unknown fields are an error.
func Parse(b []byte) (*File, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	var f File
	if err := d.Decode(&f); err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for i, s := range f.Sources {
		if s == nil {
			return nil, fmt.Errorf("sources[%d] is empty", i)
		}
		if err := s.check(); err != nil {
			return nil, fmt.Errorf("source %q (sources[%d]): %w", s.ID, i, err)
		}
		if seen[s.ID] {
			return nil, fmt.Errorf("source id %q is used twice", s.ID)
		}
		seen[s.ID] = true
	}
	return &f, nil
}

func (s *Source) check() error {
	if err := ww.ValidStateName(s.ID); err != nil {
		return fmt.Errorf("id: %v", err)
	}
	if s.Kind == "" {
		s.Kind = KindFHIR
	}
	if s.Kind != KindFHIR && s.Kind != KindBulkPublish {
		return fmt.Errorf("kind must be %s or %s", KindFHIR, KindBulkPublish)
	}
	u, err := url.Parse(s.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("baseUrl must be an absolute http(s) URL")
	}
	s.BaseURL = strings.TrimSuffix(s.BaseURL, "/")
	if s.Kind == KindBulkPublish && !strings.HasSuffix(u.Path, "$bulk-publish") {
		return fmt.Errorf("a bulk-publish source's baseUrl is the manifest URL, ending in $bulk-publish")
	}
	if s.Interval == 0 {
		s.Interval = Duration(5 * time.Minute)
	}
	if time.Duration(s.Interval) < time.Second {
		return fmt.Errorf("interval must be at least 1s")
	}
	if s.PageSize == 0 {
		s.PageSize = 100
	}
	if s.PageSize < 1 || s.PageSize > 1000 {
		return fmt.Errorf("pageSize must be 1-1000")
	}
	if s.StaleAfter == 0 {
		s.StaleAfter = 3 * s.Interval
	}
	if s.ReconcileEvery == nil {
		d := Duration(24 * time.Hour)
		s.ReconcileEvery = &d
	}
	if s.ReconcileMaxDelete == 0 {
		s.ReconcileMaxDelete = 0.5
	}
	if s.ReconcileMaxDelete < 0 || s.ReconcileMaxDelete > 1 {
		return fmt.Errorf("reconcileMaxDelete is a share between 0 and 1")
	}
	if s.Kind == KindFHIR && len(s.Resources) == 0 {
		return fmt.Errorf("resources: name at least one type to pull")
	}
	if s.Kind == KindBulkPublish && len(s.Resources) == 0 {
		for _, t := range []string{"Location", "HealthcareService", "PractitionerRole", "Schedule", "Slot"} {
			s.Resources = append(s.Resources, &Resource{Type: t})
		}
	}
	types := map[string]bool{}
	for i, r := range s.Resources {
		if r == nil || !conformance.Supported(r.Type) {
			return fmt.Errorf("resources[%d]: type is not a type this gateway serves", i)
		}
		if types[r.Type] {
			return fmt.Errorf("resources[%d]: %s is listed twice", i, r.Type)
		}
		types[r.Type] = true
		if _, err := url.ParseQuery(r.Filter); err != nil {
			return fmt.Errorf("resources[%d] (%s): filter is not a query string: %v", i, r.Type, err)
		}
		for k := range mustQuery(r.Filter) {
			if k == "_lastUpdated" || k == "_sort" || k == "_count" || k == "_since" {
				return fmt.Errorf("resources[%d] (%s): filter may not set %s (the sync sets it)", i, r.Type, k)
			}
		}
	}
	switch s.Auth.Type {
	case "", "none":
		s.Auth.Type = "none"
	case "bearer":
		if s.Auth.Token == "" && s.Auth.TokenEnv == "" {
			return fmt.Errorf("auth bearer needs token or tokenEnv")
		}
	case "smart-backend":
		if s.Auth.TokenURL == "" || s.Auth.ClientID == "" || s.Auth.KeyFile == "" {
			return fmt.Errorf("auth smart-backend needs tokenUrl, clientId and privateKeyFile")
		}
	default:
		return fmt.Errorf("auth type must be none, bearer or smart-backend")
	}
	return nil
}

func mustQuery(q string) url.Values {
	v, _ := url.ParseQuery(q)
	return v
}

// namespace is the source's id namespace.
func (s *Source) namespace() string {
	if s.Namespace != "" {
		return strings.TrimSuffix(s.Namespace, "/")
	}
	if s.Kind == KindBulkPublish {
		return strings.TrimSuffix(strings.TrimSuffix(s.BaseURL, "$bulk-publish"), "/")
	}
	return s.BaseURL
}

// keyFile resolves the private key path against the sources file's folder.
func (s *Source) keyFile() string {
	if filepath.IsAbs(s.Auth.KeyFile) || s.dir == "" {
		return s.Auth.KeyFile
	}
	return filepath.Join(s.dir, s.Auth.KeyFile)
}

var _ = smart.RS256
