package hl7v2

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/conformance"
	"github.com/wachtwijzer/wachtwijzer/fhirjson"
	"github.com/wachtwijzer/wachtwijzer/internal/jsonpath"
)

var testKey = []byte("test-deployment-key")

// hl7 joins segments with CR, the HL7 segment terminator.
func hl7(segs ...string) []byte { return []byte(strings.Join(segs, "\r") + "\r") }

func mustParse(t *testing.T, raw []byte) *Message {
	t.Helper()
	m, err := Parse(raw, ParseOptions{})
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return m
}

// testConfig is testdata/senders.json.
func testConfig(t *testing.T) *Config {
	t.Helper()
	f, err := os.Open("testdata/senders.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	c, err := LoadConfig(f)
	if err != nil {
		t.Fatalf("LoadConfig: %v", err)
	}
	return c
}

// mapRaw parses raw and maps it with the sender's entry of testdata/senders.json.
func mapRaw(t *testing.T, raw []byte) (*Message, *Result, error) {
	t.Helper()
	cfg := testConfig(t)
	m, err := Parse(raw, ParseOptions{Senders: cfg})
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	res, err := Map(m, cfg.For(m.SendingApplication, m.SendingFacility), testKey)
	return m, res, err
}

// mustMap maps raw and fails on an error; every resource must pass the
// gateway's validation and reference only resources written before it.
func mustMap(t *testing.T, raw []byte) *Result {
	t.Helper()
	_, res, err := mapRaw(t, raw)
	if err != nil {
		t.Fatalf("Map: %v", err)
	}
	checkResources(t, res)
	return res
}

// mappingError maps raw and returns its *MappingError (failing if none).
func mappingError(t *testing.T, raw []byte) *MappingError {
	t.Helper()
	_, _, err := mapRaw(t, raw)
	var me *MappingError
	if !errors.As(err, &me) {
		t.Fatalf("want a *MappingError, got %v", err)
	}
	return me
}

// checkResources validates every resource with conformance.Validate and
// checks the write order: a resource only references resources before it
// (or already stored ones it does not emit).
func checkResources(t *testing.T, res *Result) {
	t.Helper()
	emitted := map[string]int{}
	for i, r := range res.Resources {
		emitted[r.Type+"/"+r.ID] = i
	}
	for i, r := range res.Resources {
		v, err := fhirjson.Parse(r.JSON, fhirjson.Limits{})
		if err != nil {
			t.Fatalf("%s/%s: invalid JSON: %v", r.Type, r.ID, err)
		}
		if err := conformance.Validate(context.Background(), r.Type, v); err != nil {
			t.Errorf("%s/%s fails validation: %v\n%s", r.Type, r.ID, err, r.JSON)
		}
		if !ww.ValidID(r.ID) || v.GetStr("id") != r.ID || v.GetStr("resourceType") != r.Type {
			t.Errorf("%s/%s: id or resourceType mismatch", r.Type, r.ID)
		}
		if src := v.Get("meta").GetStr("source"); !strings.HasPrefix(src, "urn:hl7v2:") {
			t.Errorf("%s/%s: meta.source = %q", r.Type, r.ID, src)
		}
		fhirjson.Walk(v, r.Type, func(path string, x *fhirjson.Value) bool {
			if s, ok := x.Get("reference").Str(); ok {
				if j, ok := emitted[s]; ok && j >= i {
					t.Errorf("%s/%s references %s, which is written after it", r.Type, r.ID, s)
				}
			}
			return true
		})
	}
}

// decoded returns the resources of a type as generic JSON.
func decoded(t *testing.T, res *Result, typ string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, r := range res.Resources {
		if r.Type != typ {
			continue
		}
		var m map[string]any
		d := json.NewDecoder(bytes.NewReader(r.JSON))
		d.UseNumber()
		if err := d.Decode(&m); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

// one returns the only resource of a type.
func one(t *testing.T, res *Result, typ string) map[string]any {
	t.Helper()
	rs := decoded(t, res, typ)
	if len(rs) != 1 {
		t.Fatalf("want 1 %s, got %d (%s)", typ, len(rs), types(res))
	}
	return rs[0]
}

func types(res *Result) string {
	var s []string
	for _, r := range res.Resources {
		s = append(s, r.Type)
	}
	return strings.Join(s, ",")
}

func get(v any, path ...any) any { return jsonpath.Get(v, path...) }

func str(v any, path ...any) string { return jsonpath.Str(v, path...) }

// hasProblem reports whether ps holds a problem with the code at segment-field.
func hasProblem(ps []Problem, sev, code, seg string, field int) bool {
	for _, p := range ps {
		if p.Severity == sev && p.Code == code && p.Segment == seg && (field == 0 || p.Field == field) {
			return true
		}
	}
	return false
}

func problemsString(ps []Problem) string {
	var s []string
	for _, p := range ps {
		s = append(s, p.String())
	}
	return strings.Join(s, "; ")
}
