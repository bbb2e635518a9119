package hl7v2

import (
	"errors"
	"strings"
	"testing"

	ww "github.com/wachtwijzer/wachtwijzer"
)

func TestMapRejects(t *testing.T) {
	msh := func(fac, typ, pid, ver string) string {
		return "MSH|^~\\&|HIX|" + fac + "|WW|WW|20261103140000+0100||" + typ + "|C1|" + pid + "|" + ver
	}
	cases := []struct {
		name  string
		raw   []byte
		code  string
		field int
	}{
		{"unsupported message type ORM → AR 200", hl7(msh("ZKH-NOORD", "ORM^O01", "P", "2.5"), pidNoord), "200", 9},
		{"empty MSH-9 → AR 200", hl7(msh("ZKH-NOORD", "", "P", "2.5"), pidNoord), "200", 9},
		{"ADT^A60 → AR 201", hl7(msh("ZKH-NOORD", "ADT^A60^ADT_A60", "P", "2.8"), pidNoord), "201", 9},
		{"ADT^A03 → AR 201", hl7(msh("ZKH-NOORD", "ADT^A03", "P", "2.5"), pidNoord), "201", 9},
		{"SIU^S25 (a query event) → AR 201", hl7(msh("ZKH-NOORD", "SIU^S25", "P", "2.5"), pidNoord), "201", 9},
		{"REF^I15 → AR 201", hl7(msh("ZKH-NOORD", "REF^I15", "P", "2.5"), pidNoord), "201", 9},
		{"version 2.2 → AR 203", hl7(msh("ZKH-NOORD", "ADT^A04", "P", "2.2"), pidNoord), "203", 12},
		{"version 2.10 → AR 203", hl7(msh("ZKH-NOORD", "ADT^A04", "P", "2.10"), pidNoord), "203", 12},
		{"version 3.0 → AR 203", hl7(msh("ZKH-NOORD", "ADT^A04", "P", "3.0"), pidNoord), "203", 12},
		{"no version → AR 203", hl7(msh("ZKH-NOORD", "ADT^A04", "P", ""), pidNoord), "203", 12},
		{"processing id T (training) → AR 202", hl7(msh("ZKH-NOORD", "ADT^A04", "T", "2.5"), pidNoord), "202", 11},
		{"processing id D (debugging) → AR 202", hl7(msh("ZKH-NOORD", "ADT^A04", "D", "2.5"), pidNoord), "202", 11},
		{"unknown sender without AGB → AR 207", hl7(msh("ONBEKEND", "ADT^A04", "P", "2.5"), pidNoord), "207", 4},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			me := mappingError(t, c.raw)
			if !me.Reject || !hasProblem(me.Problems, "E", c.code, "MSH", c.field) {
				t.Errorf("got reject=%v %s", me.Reject, problemsString(me.Problems))
			}
			if code, _ := Outcome(nil, me); code != "AR" {
				t.Errorf("Outcome %s", code)
			}
		})
	}
	t.Run("every reject reason is reported", func(t *testing.T) {
		me := mappingError(t, hl7(msh("ONBEKEND", "ORM^O01", "T", "2.1")))
		if len(me.Problems) != 4 {
			t.Errorf("%s", problemsString(me.Problems))
		}
	})
}

func TestMapHeader(t *testing.T) {
	t.Run("AGB from MSH-4 when the sender is not configured", func(t *testing.T) {
		raw := hl7("MSH|^~\\&|HIX|ZKH^06012345^L|WW|WW|20261103||ADT^A04|C1|P|2.5", "PID|1||1^^^X^MR")
		res, err := Map(mustParse(t, raw), nil, testKey)
		if err != nil {
			t.Fatal(err)
		}
		if o := one(t, res, "Organization"); str(o, "identifier", 0, "value") != "06012345" {
			t.Errorf("%v", o)
		}
	})
	t.Run("a 7-digit AGB in MSH-4 gets its 0 back", func(t *testing.T) {
		raw := hl7("MSH|^~\\&|HIX|6012345|WW|WW|20261103||ADT^A04|C1|P|2.5", "PID|1||1^^^X^MR")
		res, err := Map(mustParse(t, raw), nil, testKey)
		if err != nil {
			t.Fatal(err)
		}
		if o := one(t, res, "Organization"); str(o, "id") != ww.DeriveID(testKey, "Organization", ww.SystemAGB, "06012345") {
			t.Errorf("%v", o)
		}
	})
	t.Run("processing id T accepted when configured; empty means P", func(t *testing.T) {
		for _, pid := range []string{"T", ""} {
			raw := hl7("MSH|^~\\&|HIX|X|WW|WW|20261103||ADT^A04|C1|"+pid+"|2.5", "PID|1||1^^^X^MR")
			if _, err := Map(mustParse(t, raw), &SenderConfig{AGB: nlAGB, ProcessingIDs: []string{"P", "T"}}, testKey); err != nil {
				t.Errorf("%q: %v", pid, err)
			}
		}
	})
	t.Run("every supported version", func(t *testing.T) {
		for _, v := range []string{"2.3", "2.3.1", "2.4", "2.5", "2.5.1", "2.6", "2.7", "2.7.1", "2.8", "2.8.1", "2.8.2", "2.9"} {
			raw := hl7("MSH|^~\\&|HIX|X|WW|WW|20261103||ADT^A04|C1|P|"+v, "PID|1||1^^^X^MR")
			if _, err := Map(mustParse(t, raw), &SenderConfig{AGB: nlAGB}, testKey); err != nil {
				t.Errorf("%s: %v", v, err)
			}
		}
	})
	for _, c := range []struct {
		name, msh7, evn string
		code, seg       string
		field           int
	}{
		{"MSH-7 empty → AE 101", "", "", "101", "MSH", 7},
		{"MSH-7 unparseable → AE 102", "2026-11-03", "", "102", "MSH", 7},
		{"EVN-2 unparseable → AE 102", "20261103", "EVN||yesterday", "102", "EVN", 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			segs := []string{"MSH|^~\\&|HIX|X|WW|WW|" + c.msh7 + "||ADT^A04|C1|P|2.5"}
			if c.evn != "" {
				segs = append(segs, c.evn)
			}
			_, err := Map(mustParse(t, hl7(append(segs, "PID|1||1^^^X^MR")...)), &SenderConfig{AGB: nlAGB}, testKey)
			var me *MappingError
			if !errors.As(err, &me) || me.Reject || !hasProblem(me.Problems, "E", c.code, c.seg, c.field) {
				t.Errorf("%v", err)
			}
		})
	}
	t.Run("source time: EVN-2, else MSH-7, with its precision", func(t *testing.T) {
		res := mustMap(t, siuMsg("S12", nil))
		if res.SourceTime.Precision != PrecSecond || res.SourceTime.FHIRDateTime() != "2026-11-03T14:15:02+01:00" {
			t.Errorf("%+v", res.SourceTime)
		}
	})
	t.Run("parse warnings reach the result", func(t *testing.T) {
		raw := hl7("MSH|^~\\&|HIX|X|WW|WW|20261103||ADT^A04|C1|P|2.5||||||UNICODE UTF-8", "PID|1||1^^^X^MR||Ren\xe9")
		res, err := Map(mustParse(t, raw), &SenderConfig{AGB: nlAGB}, testKey)
		if err != nil || !hasProblem(res.Warnings, "W", "102", "MSH", 18) {
			t.Errorf("%v %v", err, res)
		}
	})
	t.Run("meta.source escapes spaces", func(t *testing.T) {
		raw := hl7("MSH|^~\\&|HIX app|Zkh Noord|WW|WW|20261103||ADT^A04|C 1|P|2.5", "PID|1||1^^^X^MR")
		res, err := Map(mustParse(t, raw), &SenderConfig{AGB: nlAGB}, testKey)
		if err != nil {
			t.Fatal(err)
		}
		if src := str(one(t, res, "Patient"), "meta", "source"); src != "urn:hl7v2:HIX%20app|Zkh%20Noord#C%201" {
			t.Errorf("%s", src)
		}
	})
	t.Run("nil message", func(t *testing.T) {
		var me *MappingError
		if _, err := Map(nil, nil, testKey); !errors.As(err, &me) {
			t.Errorf("%v", err)
		}
	})
	t.Run("the deployment key changes every id", func(t *testing.T) {
		raw := hl7("MSH|^~\\&|HIX|X|WW|WW|20261103||ADT^A04|C1|P|2.5", "PID|1||1^^^X^MR")
		a, _ := Map(mustParse(t, raw), &SenderConfig{AGB: nlAGB}, []byte("a"))
		b, _ := Map(mustParse(t, raw), &SenderConfig{AGB: nlAGB}, []byte("b"))
		if a.Resources[1].ID == b.Resources[1].ID {
			t.Errorf("same id under two keys")
		}
	})
}

func TestOutcome(t *testing.T) {
	w := []Problem{{Severity: "W", Code: "103", Text: "w"}}
	if code, ps := Outcome(w, nil); code != "AA" || len(ps) != 1 {
		t.Errorf("%s %v", code, ps)
	}
	if code, ps := Outcome(nil, &MappingError{Problems: []Problem{{Severity: "E", Code: "101"}}}); code != "AE" || len(ps) != 1 {
		t.Errorf("%s %v", code, ps)
	}
	if code, ps := Outcome(nil, &MappingError{Reject: true, Problems: []Problem{{Severity: "E", Code: "200"}}}); code != "AR" || ps[0].Code != "200" {
		t.Errorf("%s %v", code, ps)
	}
	if code, ps := Outcome(nil, errors.New("redis: connection refused")); code != "AR" || ps[0].Code != "207" || strings.Contains(ps[0].Text, "redis") {
		t.Errorf("a store failure is AR 207 without internals: %s %v", code, ps)
	}
	for in, want := range map[string]string{"AA": "CA", "AE": "CE", "AR": "CR", "CA": "CA"} {
		if Enhanced(in) != want {
			t.Errorf("Enhanced(%s)", in)
		}
	}
}

func TestSenderSystemsOverride(t *testing.T) {
	sc := &SenderConfig{AGB: nlAGB, Systems: map[string]string{"patient": "urn:oid:2.16.840.1.113883.2.4.3.999.1", "appointment": "urn:oid:2.16.840.1.113883.2.4.3.999.2"}}
	res, err := mapWith(t, siuMsg("S12", nil), sc)
	if err != nil {
		t.Fatal(err)
	}
	p, a := one(t, res, "Patient"), one(t, res, "Appointment")
	if str(p, "identifier", 0, "system") != "urn:oid:2.16.840.1.113883.2.4.3.999.1" ||
		str(p, "id") != ww.DeriveID(testKey, "Patient", "urn:oid:2.16.840.1.113883.2.4.3.999.1", patientNo) {
		t.Errorf("patient %v", get(p, "identifier"))
	}
	if str(a, "id") != ww.DeriveID(testKey, "Appointment", "urn:oid:2.16.840.1.113883.2.4.3.999.2", "FL-1") {
		t.Errorf("appointment id")
	}
}

func TestProblemLocationAndTimes(t *testing.T) {
	p := Problem{Severity: "E", Code: "102", Segment: "PID", Seq: 1, Field: 3, Rep: 2, Comp: 1, Text: "x"}
	if p.Location() != "PID[1]-3(2).1" || p.String() != "E 102 at PID[1]-3(2).1: x" {
		t.Errorf("%q %q", p.Location(), p.String())
	}
	if (Problem{Code: "207", Text: "y"}).String() != " 207: y" {
		t.Errorf("%q", (Problem{Code: "207", Text: "y"}).String())
	}
	m := mustParse(t, adtMsg("A04", pidNoord))
	sent, err1 := m.SentTime()
	rec, err2 := m.RecordedTime()
	if err1 != nil || err2 != nil || sent.FHIRDateTime() != "2026-11-03T14:00:00+01:00" || rec.FHIRDateTime() != "2026-11-03T13:59:00+01:00" {
		t.Errorf("%v %v %s %s", err1, err2, sent.FHIRDateTime(), rec.FHIRDateTime())
	}
	if PrecMinute.String() != "minute" || Precision(0).String() != "none" {
		t.Errorf("Precision.String")
	}
}
