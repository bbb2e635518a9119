package hl7v2

import (
	"os"
	"path/filepath"
	"testing"
)

// fuzzConfig exercises every configurable path of Map.
var fuzzConfig = &SenderConfig{
	AGB:            nlAGB,
	Status:         map[string]string{"ARRIVED": "arrived"},
	ReferralStatus: map[string]string{"X": "on-hold"},
	Service:        map[string]Coding{"0305": {System: "http://snomed.info/sct", Code: "11429006"}},
	Specialism:     map[string]string{"ORTH": "0305"},
	WaitKind:       map[string]string{"CONSULT": "outpatient"},
	ZSegments:      map[string]string{"ZWL-2": "authoredOn", "ZWL-3": "specialism", "ZWL-4": "waitKind", "ZWL-5": "orderNumber"},
	Locations:      map[string]string{"POLI-ORTH": "06011235"},
}

// FuzzParse feeds arbitrary bytes to Parse, and whatever parses to the
// accessors, Map and BuildACK: none may panic, and every ACK must parse.
// Seeds: testdata/fuzz/FuzzParse (committed) plus, when present, the
// shared sample files (read, never copied).
func FuzzParse(f *testing.F) {
	f.Add(siuMsg("S12", map[int]string{26: "ORD-1"}))
	f.Add(adtMsg("A40", pidNoord, "MRG|7000001^^^ZKH-NOORD^MR"))
	f.Add(refMsg("I12", nil))
	if files, _ := filepath.Glob(filepath.Join(sampleDir, "hl7v2", "*.hl7")); len(files) > 0 {
		for _, fn := range files {
			if b, err := os.ReadFile(fn); err == nil {
				f.Add(b)
			}
		}
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		m, err := Parse(raw, ParseOptions{MaxSegments: 200, MaxFields: 100, MaxRepetitions: 50})
		if m == nil {
			if err == nil {
				t.Fatal("no message and no error")
			}
			ack := BuildACK(nil, "AE", nil, ACKOptions{})
			if _, err := Parse(ack, ParseOptions{}); err != nil {
				t.Fatalf("the ACK of an unreadable message does not parse: %v", err)
			}
			return
		}
		for _, s := range m.Segments {
			for i := 1; i <= s.NumFields()+1; i++ {
				f := s.Field(i)
				_ = s.RawField(i)
				for _, r := range f.Reps() {
					_, _, _, _, _, _, _, _ = r.CX(), r.XPN(), r.XAD(), r.XCN(), r.CWE(), r.EI(), r.PL(), r.XTN()
					_, _ = r.Time(nil)
				}
			}
		}
		_ = m.Field("PID-3[2].4.1")
		var warnings []Problem
		res, err2 := Map(m, fuzzConfig, testKey)
		if res != nil {
			warnings = res.Warnings
		}
		if err == nil {
			_, _ = Map(m, nil, testKey)
		} else {
			err2 = err
		}
		code, problems := Outcome(warnings, err2)
		ack := BuildACK(m, code, problems, ACKOptions{})
		back, err := Parse(ack, ParseOptions{})
		if err != nil {
			t.Fatalf("the ACK does not parse: %v\n%q", err, ack)
		}
		if back.Field("MSA-1") != code {
			t.Fatalf("MSA-1 %q, want %q", back.Field("MSA-1"), code)
		}
	})
}
