package hl7v2

import (
	"strings"
	"testing"
	"time"

	ww "github.com/wachtwijzer/wachtwijzer"
)

var ackOpt = ACKOptions{
	Clock:     &ww.FixedClock{T: time.Date(2026, 11, 3, 13, 15, 30, 0, time.UTC)},
	ControlID: func() string { return "ACK0001" },
}

func segments(ack []byte) []string {
	s := string(ack)
	return strings.Split(strings.TrimSuffix(s, "\r"), "\r")
}

func TestACKLayoutPerVersion(t *testing.T) {
	pidProblem := Problem{Severity: "E", Code: "102", Segment: "PID", Seq: 1, Field: 3, Rep: 2, Comp: 1, Text: "PID-3 repetition 2: the BSN fails the elfproef"}
	cases := []struct {
		version string
		want    []string
	}{
		{"2.3", []string{
			"MSH|^~\\&|WACHTWIJZER|WW|HIX|ZKH-NOORD^01234567^L|20261103141530+0100||ACK^S12^ACK|ACK0001|P|2.3",
			"MSA|AE|CTRL-1|PID-3 repetition 2: the BSN fails the elfproef",
			"ERR|PID^1^3^102&PID-3 repetition 2: the BSN fails the elfproef&HL70357",
		}},
		{"2.5.1", []string{
			"MSH|^~\\&|WACHTWIJZER|WW|HIX|ZKH-NOORD^01234567^L|20261103141530+0100||ACK^S12^ACK|ACK0001|P|2.5.1",
			"MSA|AE|CTRL-1",
			"ERR||PID^1^3^2^1|102^Data type error^HL70357|E||||PID-3 repetition 2: the BSN fails the elfproef",
		}},
		{"2.8", []string{
			"MSH|^~\\&|WACHTWIJZER|WW|HIX|ZKH-NOORD^01234567^L|20261103141530+0100||ACK^S12^ACK|ACK0001|P|2.8",
			"MSA|AE|CTRL-1",
			"ERR||PID^1^3^2^1|102^Data type error^HL70357|E||||PID-3 repetition 2: the BSN fails the elfproef",
		}},
	}
	for _, c := range cases {
		t.Run("v"+c.version, func(t *testing.T) {
			m := mustParse(t, hl7("MSH|^~\\&|HIX|ZKH-NOORD^01234567^L|WACHTWIJZER|WW|20261103141502||SIU^S12|CTRL-1|P|"+c.version, "PID|1"))
			ack := BuildACK(m, "AE", []Problem{pidProblem}, ackOpt)
			if strings.Contains(string(ack), "\n") || !strings.HasSuffix(string(ack), "\r") {
				t.Fatalf("segments must end with CR: %q", ack)
			}
			got := segments(ack)
			if len(got) != len(c.want) {
				t.Fatalf("got %q", got)
			}
			for i := range got {
				if got[i] != c.want[i] {
					t.Errorf("segment %d\n got %s\nwant %s", i, got[i], c.want[i])
				}
			}
			// The ACK is itself a valid message.
			back := mustParse(t, ack)
			if back.Type != "ACK" || back.Trigger != "S12" || back.Field("MSA-2") != "CTRL-1" || back.Version != c.version {
				t.Errorf("re-parsed: %s^%s %s", back.Type, back.Trigger, back.Field("MSA-2"))
			}
		})
	}
}

func TestACKWarningsAndLocations(t *testing.T) {
	m := mustParse(t, hl7("MSH|^~\\&|HIX|ZKH-NOORD|WACHTWIJZER|WW|20261103141502||SIU^S14^SIU_S12|C9|P|2.5.1|||AL|NE", "SCH|1"))
	ps := []Problem{
		{Severity: "W", Code: "103", Segment: "SCH", Seq: 1, Field: 25, Text: `SCH-25 filler status "Gepland|x^y" has no mapping`},
		{Severity: "W", Code: "101", Segment: "IN1", Seq: 2, Field: 36, Text: "line 1\nline 2"},
		{Severity: "E", Code: "207", Text: "no location"},
	}
	got := segments(BuildACK(m, "CA", ps, ackOpt))
	want := []string{
		"MSA|CA|C9",
		`ERR||SCH^1^25|103^Table value not found^HL70357|W||||SCH-25 filler status "Gepland\F\x\S\y" has no mapping`,
		`ERR||IN1^2^36|101^Required field missing^HL70357|W||||line 1\.br\line 2`,
		`ERR|||207^Application internal error^HL70357|E||||no location`,
	}
	for i, w := range want {
		if got[i+1] != w {
			t.Errorf("segment %d\n got %s\nwant %s", i+1, got[i+1], w)
		}
	}
	if !Mode(m) {
		t.Errorf("MSH-15/16 valued: enhanced mode")
	}
}

func TestACKSeparatorsAndCharset(t *testing.T) {
	t.Run("custom separators are echoed and used", func(t *testing.T) {
		m := mustParse(t, []byte("MSH#:@%$#APP#FAC:X#RCV#RFAC#20261103##ADT:A04#C1#P#2.5\rPID#1"))
		ack := string(BuildACK(m, "AR", []Problem{{Severity: "E", Code: "201", Segment: "MSH", Seq: 1, Field: 9, Comp: 2, Text: "event ADT:A04 # not supported"}}, ackOpt))
		want := "MSH#:@%$#RCV#RFAC#APP#FAC:X#20261103141530+0100##ACK:A04:ACK#ACK0001#P#2.5\r" +
			"MSA#AR#C1\r" +
			"ERR##MSH:1:9:1:2#201:Unsupported event code:HL70357#E####event ADT%S%A04 %F% not supported\r"
		if ack != want {
			t.Errorf("got\n%q\nwant\n%q", ack, want)
		}
	})
	t.Run("v2.7 truncation character kept in MSH-2", func(t *testing.T) {
		m := mustParse(t, hl7("MSH|^~\\&#|HIX|ZKH|WW|WW|20261103||ADT^A04^ADT_A01|C1|P|2.8|||AL|NE|NLD|UNICODE UTF-8"))
		got := segments(BuildACK(m, "CA", nil, ackOpt))
		if got[0] != "MSH|^~\\&#|WW|WW|HIX|ZKH|20261103141530+0100||ACK^A04^ACK|ACK0001|P|2.8||||||UNICODE UTF-8" {
			t.Errorf("%s", got[0])
		}
	})
	t.Run("ISO-8859-1 message gets an ISO-8859-1 ACK", func(t *testing.T) {
		m := mustParse(t, hl7("MSH|^~\\&|HIX|Ziekenhuis Zee\xebn|WW|WW|20261103||ADT^A04|C1|P|2.5||||||8859/1"))
		ack := BuildACK(m, "AA", nil, ackOpt)
		if !strings.Contains(string(ack), "|Ziekenhuis Zee\xebn|") {
			t.Errorf("%q", ack)
		}
	})
	t.Run("UTF-8 message gets a UTF-8 ACK", func(t *testing.T) {
		m := mustParse(t, hl7("MSH|^~\\&|HIX|Ziekenhuis Zeeën|WW|WW|20261103||ADT^A04|C1|P|2.5||||||UNICODE UTF-8"))
		if ack := BuildACK(m, "AA", nil, ackOpt); !strings.Contains(string(ack), "|Ziekenhuis Zeeën|") {
			t.Errorf("%q", ack)
		}
	})
}

func TestACKSpecialCases(t *testing.T) {
	t.Run("unparseable message: defaults, empty MSA-2", func(t *testing.T) {
		got := segments(BuildACK(nil, "AE", []Problem{{Severity: "E", Code: "100", Segment: "MSH", Seq: 1, Text: "no MSH"}}, ackOpt))
		if got[0] != "MSH|^~\\&|WACHTWIJZER||||20261103141530+0100||ACK|ACK0001|P|2.5.1" || got[1] != "MSA|AE" || got[2] != "ERR||MSH^1|100^Segment sequence error^HL70357|E||||no MSH" {
			t.Errorf("%q", got)
		}
	})
	t.Run("empty receiving fields: our own names", func(t *testing.T) {
		m := mustParse(t, hl7("MSH|^~\\&|HIX|ZKH|||20261103||ADT^A08|C1|P|2.4"))
		got := segments(BuildACK(m, "AA", nil, ACKOptions{Clock: ackOpt.Clock, ControlID: ackOpt.ControlID, Application: "WW-GATEWAY", Facility: "WACHTWIJZER"}))
		if got[0] != "MSH|^~\\&|WW-GATEWAY|WACHTWIJZER|HIX|ZKH|20261103141530+0100||ACK^A08^ACK|ACK0001|P|2.4" {
			t.Errorf("%s", got[0])
		}
	})
	t.Run("REF gets an RRI echoing RF1 and PRD, never PID", func(t *testing.T) {
		m := mustParse(t, refMsg("I13", nil))
		got := segments(BuildACK(m, "AA", nil, ackOpt))
		if !strings.Contains(got[0], "|RRI^I13^RRI_I12|") || got[1] != "MSA|AA|REF-I13" || !strings.HasPrefix(got[2], "RF1|A^Accepted^HL70283|") ||
			!strings.HasPrefix(got[3], "PRD|RP") || len(got) != 5 {
			t.Errorf("%q", got)
		}
		for _, s := range got {
			if strings.HasPrefix(s, "PID") || strings.Contains(s, testBSN) {
				t.Errorf("a PID or BSN in the RRI: %s", s)
			}
		}
	})
	t.Run("a random control id by default, a fresh one each time", func(t *testing.T) {
		m := mustParse(t, hl7("MSH|^~\\&|HIX|ZKH|WW|WW|20261103||ADT^A08|C1|P|2.5"))
		a, b := mustParse(t, BuildACK(m, "AA", nil, ACKOptions{})), mustParse(t, BuildACK(m, "AA", nil, ACKOptions{}))
		if a.ControlID == "" || a.ControlID == b.ControlID || len(a.ControlID) != 20 {
			t.Errorf("%q %q", a.ControlID, b.ControlID)
		}
	})
	t.Run("at most MaxErrors ERR segments", func(t *testing.T) {
		m := mustParse(t, hl7("MSH|^~\\&|HIX|ZKH|WW|WW|20261103||SIU^S12|C1|P|2.5"))
		var ps []Problem
		for i := 0; i < 80; i++ {
			ps = append(ps, Problem{Severity: "W", Code: "103", Segment: "AIS", Seq: i + 1, Field: 3, Text: "unmapped"})
		}
		got := segments(BuildACK(m, "AA", ps, ACKOptions{MaxErrors: 10}))
		if len(got) != 2+11 || got[12] != "ERR|||103^Table value not found^HL70357|W||||70 more problems not listed" {
			t.Errorf("%d segments, last %q", len(got), got[len(got)-1])
		}
	})
	t.Run("original mode", func(t *testing.T) {
		if Mode(mustParse(t, hl7("MSH|^~\\&|HIX|ZKH|WW|WW|20261103||ADT^A08|C1|P|2.5"))) || Mode(nil) {
			t.Errorf("no MSH-15/16: original mode")
		}
	})
}

func TestACKLatin9(t *testing.T) {
	m := mustParse(t, hl7("MSH|^~\\&|HIX|Kas \xa4|WW|WW|20261103||ADT^A04|C1|P|2.5||||||8859/15"))
	if m.SendingFacility != "Kas €" {
		t.Fatalf("%q", m.SendingFacility)
	}
	if ack := BuildACK(m, "AA", nil, ackOpt); !strings.Contains(string(ack), "|Kas \xa4|") {
		t.Errorf("%q", ack)
	}
	if got := string(encodeCharset("é€ž", "CP1252")); got != "\xe9\x80\x9e" {
		t.Errorf("CP1252 %q", got)
	}
	if got := string(encodeCharset("€¤", "8859/1")); got != "?\xa4" {
		t.Errorf("Latin-1 %q", got)
	}
	if got := string(encodeCharset("¤", "8859/15")); got != "?" {
		t.Errorf("Latin-9 has no ¤: %q", got)
	}
}
