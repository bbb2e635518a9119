package hl7v2

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseSeparators(t *testing.T) {
	cases := []struct {
		name    string
		raw     string
		want    Delimiters
		enc     string
		path    string // a value read with the message's own separators
		wantVal string
	}{
		{"standard |^~\\&", "MSH|^~\\&|APP|FAC|||20261103||ADT^A04|1|P|2.5\rPID|1||A^^^B~C^^^D||Jansen&de&Jansen^Piet",
			Delimiters{'|', '^', '~', '\\', '&', 0}, "^~\\&", "PID-3[2].4", "D"},
		{"v2.7 five characters ^~\\&#", "MSH|^~\\&#|APP|FAC|||20261103||ADT^A04|1|P|2.8\rPID|1||A^^^B~C^^^D",
			Delimiters{'|', '^', '~', '\\', '&', '#'}, "^~\\&#", "PID-3[2].1", "C"},
		{"custom separators !*?/$", "MSH!*?/$!APP!FAC!!!20261103!!ADT*A04!1!P!2.5\rPID!1!!A***B?C***D!!Jansen$de$Jansen*Piet",
			Delimiters{'!', '*', '?', '/', '$', 0}, "*?/$", "PID-5.1.2", "de"},
		{"custom with escape in use", "MSH#:@%$#APP#FAC###20261103##ADT:A04#1#P#2.5\rNTE#1##a%F%b%S%c%T%d%R%e%E%f",
			Delimiters{'#', ':', '@', '%', '$', 0}, ":@%$", "NTE-3", "a#b:c$d@e%f"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := mustParse(t, []byte(c.raw))
			if m.Delims != c.want {
				t.Fatalf("delimiters %+v, want %+v", m.Delims, c.want)
			}
			if got := m.Delims.EncodingCharacters(); got != c.enc {
				t.Errorf("EncodingCharacters = %q, want %q", got, c.enc)
			}
			if got := m.Field("MSH-2"); got != c.enc {
				t.Errorf("MSH-2 = %q, want %q", got, c.enc)
			}
			if got := m.Field("MSH-1"); got != string(c.want.Field) {
				t.Errorf("MSH-1 = %q", got)
			}
			if m.Type != "ADT" || m.Trigger != "A04" || m.ControlID != "1" || m.SendingApplication != "APP" || m.SendingFacility != "FAC" {
				t.Errorf("header: %q %q %q %q %q", m.Type, m.Trigger, m.ControlID, m.SendingApplication, m.SendingFacility)
			}
			if got := m.Field(c.path); got != c.wantVal {
				t.Errorf("%s = %q, want %q", c.path, got, c.wantVal)
			}
		})
	}
}

func TestParseSegmentTerminators(t *testing.T) {
	segs := []string{"MSH|^~\\&|A|B|||20261103||SIU^S12^SIU_S12|C1|P|2.5.1", "SCH|P1|F1", "PID|1||123^^^X^MR", "ZWL|1|20260915"}
	cases := map[string]string{
		"CR (the standard)":         strings.Join(segs, "\r") + "\r",
		"LF (files on Unix)":        strings.Join(segs, "\n") + "\n",
		"CRLF (files on Windows)":   strings.Join(segs, "\r\n") + "\r\n",
		"mixed, blank lines":        segs[0] + "\r\n" + segs[1] + "\n\n" + segs[2] + "\r\r" + segs[3],
		"MLLP framing and BOM kept": "\x0b\xef\xbb\xbf" + strings.Join(segs, "\r") + "\r\x1c\r",
		"no final terminator":       strings.Join(segs, "\r"),
	}
	for name, raw := range cases {
		t.Run(name, func(t *testing.T) {
			m := mustParse(t, []byte(raw))
			var names []string
			for _, s := range m.Segments {
				names = append(names, s.Name)
			}
			if got := strings.Join(names, ","); got != "MSH,SCH,PID,ZWL" {
				t.Fatalf("segments %s", got)
			}
			if m.Get("ZWL", 2) != "20260915" {
				t.Errorf("Z-segment field lost: %q", m.Get("ZWL", 2))
			}
			if m.Structure != "SIU_S12" || m.Version != "2.5.1" {
				t.Errorf("MSH-9.3 %q, MSH-12 %q", m.Structure, m.Version)
			}
		})
	}
}

func TestParseEscapes(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"field separator", `a\F\b`, "a|b"},
		{"component separator", `a\S\b`, "a^b"},
		{"subcomponent separator", `ZorgDomein\T\ huisarts`, "ZorgDomein& huisarts"},
		{"repetition separator", `a\R\b`, "a~b"},
		{"escape character", `C:\E\temp`, `C:\temp`},
		{"truncation character (v2.7)", `50\P\`, "50#"},
		{"hex, one byte", `\X41\`, "A"},
		{"hex, several bytes", `\X414243\`, "ABC"},
		{"hex, ISO-8859-1 é", `caf\XE9\`, "café"},
		{"line break", `line 1\.br\line 2`, "line 1\nline 2"},
		{"highlighting dropped", `\H\important\N\ note`, "important note"},
		{"unknown escape kept", `\Zabc\ and \.sp2\`, `\Zabc\ and \.sp2\`},
		{"odd hex kept", `\X4\`, `\X4\`},
		{"non-hex kept", `\XZZ\`, `\XZZ\`},
		{"unterminated escape kept", `50 \F`, `50 \F`},
		{"empty escape kept", `a\\b`, `a\\b`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := mustParse(t, hl7("MSH|^~\\&#|A|B|||20261103||ADT^A04|1|P|2.8||||||8859/1", "NTE|1||"+c.in))
			if got := m.Get("NTE", 3); got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
	t.Run("hex in UTF-8 message", func(t *testing.T) {
		m := mustParse(t, hl7("MSH|^~\\&|A|B|||20261103||ADT^A04|1|P|2.8||||||UNICODE UTF-8", `NTE|1||caf\XC3A9\`))
		if got := m.Get("NTE", 3); got != "café" {
			t.Errorf("got %q", got)
		}
	})
	t.Run("escapes are decoded after splitting", func(t *testing.T) {
		m := mustParse(t, hl7("MSH|^~\\&|A|B|||20261103||ADT^A04|1|P|2.5", `PID|1||X\S\Y^^^AUTH\T\1^MR`))
		cx := m.Segment("PID").Field(3).CX()
		if cx.ID != "X^Y" || cx.Authority.Namespace != "AUTH&1" || cx.TypeCode != "MR" {
			t.Errorf("CX %+v", cx)
		}
	})
}

func TestParseCharsets(t *testing.T) {
	msh := func(cs string) string { return "MSH|^~\\&|A|B|||20261103||ADT^A04|1|P|2.5||||||" + cs }
	cases := []struct {
		name    string
		raw     []byte
		opt     ParseOptions
		want    string
		charset string
		warn    bool
	}{
		{"8859/1 é (0xE9)", hl7(msh("8859/1"), "PID|1||1^^^X^MR||Ren\xe9"), ParseOptions{}, "René", "8859/1", false},
		{"UNICODE UTF-8 é", hl7(msh("UNICODE UTF-8"), "PID|1||1^^^X^MR||René"), ParseOptions{}, "René", "UNICODE UTF-8", false},
		{"empty MSH-18 → ISO-8859-1 default", hl7(msh(""), "PID|1||1^^^X^MR||Ren\xe9"), ParseOptions{}, "René", "8859/1", false},
		{"empty MSH-18 → caller's default UTF-8", hl7(msh(""), "PID|1||1^^^X^MR||René"), ParseOptions{DefaultCharset: "UNICODE UTF-8"}, "René", "UNICODE UTF-8", false},
		{"8859/15 euro sign (0xA4)", hl7(msh("8859/15"), "PID|1||1^^^X^MR||\xa4"), ParseOptions{}, "€", "8859/15", false},
		{"CP1252 curly quote (0x92)", hl7(msh("CP1252"), "PID|1||1^^^X^MR||d\x92A"), ParseOptions{}, "d’A", "CP1252", false},
		{"case and spaces in MSH-18", hl7(msh("unicode  utf-8"), "PID|1||1^^^X^MR||René"), ParseOptions{}, "René", "unicode  utf-8", false},
		{"invalid UTF-8 replaced, warning", hl7(msh("UNICODE UTF-8"), "PID|1||1^^^X^MR||Ren\xe9"), ParseOptions{}, "Ren\uFFFD", "UNICODE UTF-8", true},
		{"ASCII with 8-bit bytes read as Latin-1, warning", hl7(msh("ASCII"), "PID|1||1^^^X^MR||Ren\xe9"), ParseOptions{}, "René", "ASCII", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := Parse(c.raw, c.opt)
			if err != nil {
				t.Fatal(err)
			}
			if got := m.Segment("PID").Field(5).Rep(1).Comp(1).Sub(1); got != c.want {
				t.Errorf("PID-5 = %q, want %q", got, c.want)
			}
			if m.Charset != c.charset {
				t.Errorf("Charset = %q, want %q", m.Charset, c.charset)
			}
			if (len(m.Warnings) > 0) != c.warn {
				t.Errorf("warnings %v", m.Warnings)
			}
		})
	}
	t.Run("unknown charset → AR 103 at MSH-18, message still usable for the ACK", func(t *testing.T) {
		m, err := Parse(hl7(msh("KOI8-R"), "PID|1"), ParseOptions{})
		var pe *ParseError
		if !errors.As(err, &pe) || !pe.Reject || !hasProblem(pe.Problems, "E", "103", "MSH", 18) {
			t.Fatalf("want AR 103 at MSH-18, got %v", err)
		}
		if m == nil || m.ControlID != "1" {
			t.Fatalf("the message must come back for the ACK: %+v", m)
		}
		if code, _ := Outcome(nil, err); code != "AR" {
			t.Errorf("Outcome %s", code)
		}
	})
	t.Run("sender's configured charset when MSH-18 is empty", func(t *testing.T) {
		cfg, err := NewConfig(SenderConfig{}, map[string]*SenderConfig{"A|B": {Charset: "UNICODE UTF-8"}})
		if err != nil {
			t.Fatal(err)
		}
		m, err := Parse(hl7(msh(""), "PID|1||1^^^X^MR||René"), ParseOptions{Senders: cfg})
		if err != nil || m.Get("PID", 5) != "René" {
			t.Fatalf("%v %q", err, m.Get("PID", 5))
		}
	})
}

func TestParseStructure(t *testing.T) {
	m := mustParse(t, hl7(
		"MSH|^~\\&|HIX|ZKH-NOORD^01234567^L|WW|WW|20261103141502||SIU^S12|ZKH1|P|2.3|||AL|NE",
		`PID|1||123456782^^^NLMINBIZA^NNNLD~7654321^^^ZKH-NOORD^MR||de Vries-van Dijk&&&&van Dijk^Johanna^M^^Mw.^^L||19580214|F|||Kerkstraat 12^^Groningen^^9711AB^NL^H||""`,
		"NTE|1||first",
		"NTE|2||second~third",
		"AIL|1||11&X-Ray Room&L",
		"ZWL|1|20260915|ORTH",
	))
	checks := []struct{ path, want string }{
		{"PID-3", "123456782"},
		{"PID-3.4", "NLMINBIZA"},
		{"PID-3[2].1", "7654321"},
		{"PID-3[2].5", "MR"},
		{"PID-5.1.5", "van Dijk"},
		{"PID-11.5", "9711AB"},
		{"NTE[2]-3", "second"},
		{"NTE[2]-3[2]", "third"},
		{"MSH-4.2", "01234567"},
		{"MSH-9.2", "S12"},
		{"ZWL-3", "ORTH"},
		{"PID-99", ""},
		{"NTE[3]-3", ""},
		{"bogus", ""},
	}
	for _, c := range checks {
		if got := m.Field(c.path); got != c.want {
			t.Errorf("%s = %q, want %q", c.path, got, c.want)
		}
	}
	pid := m.Segment("PID")
	if got := pid.Field(3).Rep(2).Comp(4).Sub(1); got != "ZKH-NOORD" {
		t.Errorf("Field(3).Rep(2).Comp(4).Sub(1) = %q", got)
	}
	if len(pid.Field(3).Reps()) != 2 {
		t.Errorf("repetitions: %d", len(pid.Field(3).Reps()))
	}
	if !pid.Field(13).Null() || pid.Get(13) != "" {
		t.Errorf(`PID-13 "" should be the HL7 null`)
	}
	n := pid.Field(5).XPN()
	if n.Family != "de Vries-van Dijk" || n.PartnerSurname != "van Dijk" || n.Given != "Johanna" || n.Middle != "M" || n.Prefix != "Mw." || n.NameType != "L" {
		t.Errorf("XPN %+v", n)
	}
	a := pid.Field(11).XAD()
	if a.Line() != "Kerkstraat 12" || a.City != "Groningen" || a.PostalCode != "9711AB" || a.Country != "NL" || a.AddressType != "H" {
		t.Errorf("XAD %+v", a)
	}
	if pl := m.Segment("AIL").Field(3).PL(); pl.PointOfCare != "11" || pl.Description != "X-Ray Room" {
		t.Errorf("PL in sub-components: %+v", pl)
	}
	if m.AcceptAckType != "AL" || m.AppAckType != "NE" || !Mode(m) {
		t.Errorf("MSH-15/16: %q %q", m.AcceptAckType, m.AppAckType)
	}
	if got := m.Segment("MSH").RawField(4); got != "ZKH-NOORD^01234567^L" {
		t.Errorf("RawField(4) = %q", got)
	}
	if got := m.Segment("MSH").RawField(2); got != "^~\\&" {
		t.Errorf("RawField(2) = %q", got)
	}
	if got := m.Segment("NTE").Seq; got != 1 || m.All("NTE")[1].Seq != 2 {
		t.Errorf("segment sequence numbers")
	}
	sent, err := m.Time("MSH-7")
	if err != nil || sent.FHIRDateTime() != "2026-11-03T14:15:02+01:00" {
		t.Errorf("MSH-7 %v %q", err, sent.FHIRDateTime())
	}
}

func TestParseTypedHelpers(t *testing.T) {
	m := mustParse(t, hl7(
		"MSH|^~\\&|A|B|||20261103||SIU^S12|1|P|2.5",
		"SCH|PL-1^PLACER^1.2.3^ISO|FL-1^ZKH||||CANC^Geannuleerd^L^X^Alt^99ZKH",
		"AIP|1||01234567^Jansen^Pieter^J^jr^Dr^MD^^VEKTIS&2.16.840.1.113883.2.4.6.1&ISO^L^^^AGB",
		"AIL|1||POLI-ORTH^K2.14^B3^ZKH-NOORD^^^Gebouw K^2^Polikliniek orthopedie",
		"PID|1||||||||||||0501234567^PRN^PH~^NET^Internet^p@example.nl",
	))
	if ei := m.Segment("SCH").Field(1).EI(); ei != (EI{"PL-1", "PLACER", "1.2.3", "ISO"}) {
		t.Errorf("EI %+v", ei)
	}
	if c := m.Segment("SCH").Field(6).CWE(); c.Code != "CANC" || c.Text != "Geannuleerd" || c.System != "L" || c.AltCode != "X" || c.AltSystem != "99ZKH" {
		t.Errorf("CWE %+v", c)
	}
	x := m.Segment("AIP").Field(3).XCN()
	if x.ID != "01234567" || x.Family != "Jansen" || x.Given != "Pieter" || x.Prefix != "Dr" || x.Authority.Namespace != "VEKTIS" || x.Authority.UniversalID != "2.16.840.1.113883.2.4.6.1" || x.TypeCode != "AGB" {
		t.Errorf("XCN %+v", x)
	}
	pl := m.Segment("AIL").Field(3).PL()
	if pl.Key() != "POLI-ORTH/K2.14/B3" || pl.Facility.Namespace != "ZKH-NOORD" || pl.Building != "Gebouw K" || pl.Description != "Polikliniek orthopedie" {
		t.Errorf("PL %+v", pl)
	}
	tel := m.Segment("PID").Field(13)
	if tel.Rep(1).XTN().Number != "0501234567" || tel.Rep(2).XTN().Email != "p@example.nl" {
		t.Errorf("XTN %+v %+v", tel.Rep(1).XTN(), tel.Rep(2).XTN())
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct {
		name    string
		raw     string
		opt     ParseOptions
		code    string
		seg     string
		msgBack bool
	}{
		{"empty", "", ParseOptions{}, "100", "MSH", false},
		{"not starting with MSH", "PID|1||123\rMSH|^~\\&|A", ParseOptions{}, "100", "MSH", false},
		{"batch header", "FHS|^~\\&|A\rMSH|^~\\&|A", ParseOptions{}, "100", "MSH", false},
		{"alphanumeric field separator", "MSHX^~\\&XA", ParseOptions{}, "102", "MSH", false},
		{"repeated encoding character", "MSH|^^\\&|A|B", ParseOptions{}, "102", "MSH", false},
		{"six encoding characters", "MSH|^~\\&#!|A|B", ParseOptions{}, "102", "MSH", false},
		{"invalid segment name", "MSH|^~\\&|A|B|||20261103||ADT^A04|1|P|2.5\rpid|1", ParseOptions{}, "100", "", true},
		{"second MSH (batch)", "MSH|^~\\&|A|B|||20261103||ADT^A04|1|P|2.5\rMSH|^~\\&|A", ParseOptions{}, "100", "MSH", true},
		{"too many bytes", "MSH|^~\\&|A|B|||20261103||ADT^A04|1|P|2.5\rNTE|1||" + strings.Repeat("x", 200), ParseOptions{MaxBytes: 100}, "100", "", false},
		{"too many segments", "MSH|^~\\&|A|B|||20261103||ADT^A04|1|P|2.5" + strings.Repeat("\rNTE|1", 5), ParseOptions{MaxSegments: 4}, "100", "", true},
		{"too many fields", "MSH|^~\\&|A|B|||20261103||ADT^A04|1|P|2.5\rNTE" + strings.Repeat("|x", 20), ParseOptions{MaxFields: 15}, "102", "NTE", true},
		{"too many components", "MSH|^~\\&|A|B|||20261103||ADT^A04|1|P|2.5\rPID|1||" + strings.Repeat("^", 20), ParseOptions{MaxComponents: 10}, "102", "PID", true},
		{"too many sub-components", "MSH|^~\\&|A|B|||20261103||ADT^A04|1|P|2.5\rPID|1||" + strings.Repeat("&", 20), ParseOptions{MaxComponents: 10}, "102", "PID", true},
		{"too many repetitions", "MSH|^~\\&|A|B|||20261103||ADT^A04|1|P|2.5\rPID|1||" + strings.Repeat("1~", 20), ParseOptions{MaxRepetitions: 10}, "102", "PID", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := Parse([]byte(c.raw), c.opt)
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("want *ParseError, got %v", err)
			}
			if pe.Reject || pe.Problems[0].Code != c.code || pe.Problems[0].Segment != c.seg {
				t.Errorf("got %s", problemsString(pe.Problems))
			}
			if (m != nil) != c.msgBack {
				t.Errorf("message returned: %v", m != nil)
			}
			if c.name == "too many repetitions" && pe.Problems[0].Field != 3 {
				t.Errorf("location %s", pe.Problems[0].Location())
			}
			if code, _ := Outcome(nil, err); code != "AE" {
				t.Errorf("Outcome %s, want AE", code)
			}
		})
	}
}

func TestParseTimeZoneOption(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	m, err := Parse(hl7("MSH|^~\\&|A|B|||202611031400||ADT^A04|1|P|2.5"), ParseOptions{Location: ny})
	if err != nil {
		t.Fatal(err)
	}
	tm, _ := m.Time("MSH-7")
	if got := tm.FHIRDateTime(); got != "2026-11-03T14:00:00-05:00" {
		t.Errorf("got %s", got)
	}
}

func TestParsePath(t *testing.T) {
	good := map[string]Path{
		"PID-3":       {Segment: "PID", Occurrence: 1, Field: 3, Rep: 1, Comp: 1, Sub: 1},
		"ZWL-2.1":     {Segment: "ZWL", Occurrence: 1, Field: 2, Rep: 1, Comp: 1, Sub: 1},
		"NTE[2]-3[4]": {Segment: "NTE", Occurrence: 2, Field: 3, Rep: 4, Comp: 1, Sub: 1},
		"PID-3.4.2":   {Segment: "PID", Occurrence: 1, Field: 3, Rep: 1, Comp: 4, Sub: 2},
	}
	for s, want := range good {
		p, err := ParsePath(s)
		if err != nil || p != want {
			t.Errorf("%s: %+v %v", s, p, err)
		}
	}
	for _, s := range []string{"", "PID", "PID-", "PID-0", "pid-3", "PID-3.x", "PID-3.1.1.1", "PID[0]-3", "PID[-3", "PI-3"} {
		if _, err := ParsePath(s); err == nil {
			t.Errorf("%q should not parse", s)
		}
	}
	if got := (Path{Segment: "ZWL", Occurrence: 1, Field: 2, Rep: 1, Comp: 1, Sub: 1}).String(); got != "ZWL-2" {
		t.Errorf("String %q", got)
	}
}
