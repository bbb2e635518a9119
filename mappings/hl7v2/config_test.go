package hl7v2

import (
	"strings"
	"sync"
	"testing"
)

func TestConfigFor(t *testing.T) {
	cfg, err := LoadConfig(strings.NewReader(`{
	  "default": {"timeZone": "Europe/Amsterdam", "status": {"GEPLAND": "booked"}, "defaultWaitKind": "outpatient"},
	  "senders": {
	    "HIX|ZKH-NOORD": {"agb": "06011234", "status": {"AANWEZIG": "arrived"}},
	    "*|ZKH-ZUID":    {"agb": "6021234", "defaultWaitKind": "treatment"},
	    "EPIC|*":        {"agb": "06030000", "timeZone": "Europe/Brussels"}
	  }
	}`))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct{ app, fac, agb, zone, kind string }{
		{"HIX", "ZKH-NOORD", "06011234", "Europe/Amsterdam", "outpatient"},
		{"hix", "zkh-noord", "06011234", "Europe/Amsterdam", "outpatient"}, // keys are case-insensitive
		{"ANY", "ZKH-ZUID", "06021234", "Europe/Amsterdam", "treatment"},   // "*|facility", AGB padded
		{"EPIC", "ELDERS", "06030000", "Europe/Brussels", "outpatient"},    // "app|*"
		{"HIX", "ZKH-ZUID", "06021234", "Europe/Amsterdam", "treatment"},   // "*|facility" before "app|*"
		{"X", "Y", "", "Europe/Amsterdam", "outpatient"},                   // the default
	}
	for _, c := range cases {
		s := cfg.For(c.app, c.fac)
		if s.AGB != c.agb || s.TimeZone != c.zone || s.DefaultWaitKind != c.kind {
			t.Errorf("For(%s, %s) = agb %q zone %q kind %q", c.app, c.fac, s.AGB, s.TimeZone, s.DefaultWaitKind)
		}
	}
	noord := cfg.For("HIX", "ZKH-NOORD")
	if noord.Status["GEPLAND"] != "booked" || noord.Status["AANWEZIG"] != "arrived" {
		t.Errorf("maps are merged: %v", noord.Status)
	}
	if (*Config)(nil).For("a", "b") == nil {
		t.Errorf("nil config")
	}
}

func TestLoadConfigRejects(t *testing.T) {
	cases := map[string]string{
		"unknown field":                   `{"default": {"agbCode": "06011234"}}`,
		"bad AGB":                         `{"senders": {"A|B": {"agb": "0601"}}}`,
		"bad charset":                     `{"default": {"charset": "EBCDIC"}}`,
		"bad time zone":                   `{"default": {"timeZone": "Europe/Atlantis"}}`,
		"status not FHIR":                 `{"default": {"status": {"X": "gepland"}}}`,
		"referral status not FHIR":        `{"default": {"referralStatus": {"X": "open"}}}`,
		"wait kind unknown":               `{"default": {"waitKind": {"X": "poli"}}}`,
		"default wait kind":               `{"default": {"defaultWaitKind": "poli"}}`,
		"specialism not a code":           `{"default": {"specialism": {"X": "ORTH"}}}`,
		"default specialism":              `{"default": {"defaultSpecialism": "30500"}}`,
		"zsegments not a Z field":         `{"default": {"zsegments": {"PID-3": "authoredOn"}}}`,
		"zsegments bad path":              `{"default": {"zsegments": {"ZWL": "authoredOn"}}}`,
		"zsegments bad target":            `{"default": {"zsegments": {"ZWL-2": "startDate"}}}`,
		"systems unknown kind":            `{"default": {"systems": {"encounter": "urn:x"}}}`,
		"service without code":            `{"default": {"service": {"X": {"system": "http://snomed.info/sct"}}}}`,
		"sender key without |":            `{"senders": {"HIX": {"agb": "06011234"}}}`,
		"sender keys differ only in case": `{"senders": {"HIX|A": {"agb": "06011234"}, "hix|a": {"agb": "06011234"}}}`,
		"location AGB":                    `{"default": {"locations": {"POLI": "12"}}}`,
		"not JSON":                        `{"default":`,
	}
	for name, js := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := LoadConfig(strings.NewReader(js)); err == nil {
				t.Errorf("accepted %s", js)
			}
		})
	}
}

func TestConfigNormalises(t *testing.T) {
	cfg, err := LoadConfig(strings.NewReader(`{"default": {"agb": "6011234", "specialism": {"orth": "305"}, "defaultSpecialism": "305", "locations": {"POLI": "6011235"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	s := cfg.For("a", "b")
	if s.AGB != "06011234" || s.Specialism["orth"] != "0305" || s.DefaultSpecialism != "0305" || s.Locations["POLI"] != "06011235" {
		t.Errorf("%+v", s)
	}
	if v, ok := lookupFold(s.Specialism, "ORTH"); !ok || v != "0305" {
		t.Errorf("case-insensitive lookup")
	}
}

func TestTestdataConfigLoads(t *testing.T) {
	cfg := testConfig(t)
	if cfg.For("HIX", "ZKH-NOORD").AGB != nlAGB || cfg.For("SCHApp", "GHHSFacility").AGB != "06039999" {
		t.Errorf("testdata/senders.json")
	}
}

// TestSenderKey: the key as written in the configuration, matched as For
// matches (case and spaces aside, the exact pair before "*|facility"
// before "application|*"), or "" for the default; a Config that was not
// loaded answers the same.
func TestSenderKey(t *testing.T) {
	cfg, err := LoadConfig(strings.NewReader(`{"default": {"agb": "6011234"},
		"senders": {"HIX|Zkh-Noord": {"agb": "6011234"}, "* | ZKH-ZUID": {"agb": "6011234"}, "lab|*": {"agb": "6011234"}, "LAB|ZKH-ZUID": {"agb": "6011234"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	raw := &Config{Senders: cfg.Senders}
	for _, c := range []struct{ app, fac, want string }{
		{"hix", " zkh-noord ", "HIX|Zkh-Noord"},
		{"OTHER", "zkh-zuid", "* | ZKH-ZUID"},
		{"Lab", "ZKH-WEST", "lab|*"},
		{"lab", "zkh-zuid", "LAB|ZKH-ZUID"},
		{"HIX", "ZKH-WEST", ""},
	} {
		if got := cfg.SenderKey(c.app, c.fac); got != c.want {
			t.Errorf("SenderKey(%q, %q) = %q, want %q", c.app, c.fac, got, c.want)
		}
		if got := raw.SenderKey(c.app, c.fac); got != c.want {
			t.Errorf("unloaded SenderKey(%q, %q) = %q, want %q", c.app, c.fac, got, c.want)
		}
	}
}

// TestConfigLiteralConcurrent: a Config written as a literal is merged once,
// safely, when many messages ask for their sender at the same time (run
// with -race), and a literal that does not check gives the empty
// configuration every time, never a half-merged one.
func TestConfigLiteralConcurrent(t *testing.T) {
	c := &Config{Default: SenderConfig{Charset: "ISO-8859-1"}, Senders: map[string]*SenderConfig{"EPIC|ZKH1": {Charset: "UTF-8"}}}
	bad := &Config{Senders: map[string]*SenderConfig{"EPIC|ZKH1": {}, "no-bar": {}}}
	var wg sync.WaitGroup
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if got := c.For("epic", "zkh1").Charset; got != "UTF-8" {
				t.Errorf("sender charset %q", got)
			}
			if got := c.For("other", "x").Charset; got != "ISO-8859-1" {
				t.Errorf("default charset %q", got)
			}
			if got := bad.For("EPIC", "ZKH1"); got.Charset != "" || len(got.Status) != 0 {
				t.Errorf("a literal that does not check gave %+v", got)
			}
			// SenderKey beside For on the same literal (both build it once)
			if got := c.SenderKey("epic", "zkh1"); got != "EPIC|ZKH1" {
				t.Errorf("sender key %q", got)
			}
			if got := bad.SenderKey("epic", "zkh1"); got != "EPIC|ZKH1" {
				t.Errorf("sender key of a literal that does not check: %q", got)
			}
		}()
	}
	wg.Wait()
}
