package hl7v2

import (
	"cmp"
	"crypto/rand"
	"encoding/base32"
	"strconv"
	"strings"
	"time"

	ww "github.com/wachtwijzer/wachtwijzer"
)

// ACKOptions configure BuildACK. The zero value is ready to use.
type ACKOptions struct {
	// Clock stamps MSH-7 (nil: the system clock), written in Location (nil:
	// Europe/Amsterdam) with its offset.
	Clock    ww.Clock
	Location *time.Location
	// ControlID returns MSH-10 of the ACK (nil: 20 random characters).
	ControlID func() string
	// Application and Facility are MSH-3/4 of the ACK when the inbound
	// MSH-5/6 are empty (default "WACHTWIJZER" and empty).
	Application, Facility string
	// Version is MSH-12 when the inbound message has none (default 2.5.1).
	Version string
	// MaxErrors caps the ERR segments (default 50); the rest are counted in
	// one last ERR.
	MaxErrors int
}

// Mode reports whether the message asks for enhanced-mode acknowledgment
// (MSH-15 or MSH-16 valued): then the answer is a commit ACK (CA/CE/CR,
// see Enhanced), sent after the durable write; otherwise original mode
// (AA/AE/AR). Wachtwijzer sends no deferred application acknowledgments,
// whatever MSH-16 asks: the commit ACK is the only answer (the message is
// fully processed when it is committed, so an application ACK would say
// nothing new).
func Mode(m *Message) (enhanced bool) {
	return m != nil && (m.AcceptAckType != "" || m.AppAckType != "")
}

// BuildACK builds the acknowledgment of m: MSH with sending and receiving
// application and facility swapped, MSH-7 now, MSH-9 ACK^{trigger}^ACK
// (for REF in original mode RRI^{trigger}^RRI_I12, echoing RF1 and PRD but
// never PID — a deviation from RRI_I12, where PID is required: it keeps the
// BSN out of acknowledgments, which end up in engine logs; a commit ACK
// CA/CE/CR is always a plain ACK), a new MSH-10, the
// inbound MSH-11, MSH-12 and MSH-18; MSA-1 = code (AA AE AR CA CE CR),
// MSA-2 = the inbound MSH-10; and one ERR per problem in the layout of the
// inbound version: ERR-1 (segment^sequence^field^code&text&HL70357) up to
// v2.4, ERR-2 location, ERR-3 code, ERR-4 severity and ERR-8 text from
// v2.5. The separators and character set are the message's; segments end
// with CR. m may be nil (a message that could not be parsed): then the
// defaults apply and MSA-2 is empty.
func BuildACK(m *Message, code string, problems []Problem, opt ACKOptions) []byte {
	d := DefaultDelimiters()
	version, charset, vid := "", "", ""
	var msh *Segment
	if m != nil && len(m.Segments) > 0 && m.Segments[0].Name == "MSH" {
		msh = m.Segments[0]
		d = m.Delims
		version = msh.RawField(12)
		vid = m.Version
		if _, ok := lookupCharset(m.Charset); ok {
			charset = msh.RawField(18) // an unsupported one is left out: the ACK is ISO-8859-1
		}
	}
	if version == "" {
		version = firstNonEmpty(opt.Version, "2.5.1")
	}
	w := &ackWriter{d: d}
	now := time.Now()
	if opt.Clock != nil {
		now = opt.Clock.Now()
	}
	loc := opt.Location
	if loc == nil {
		loc = ww.Amsterdam
	}
	ctrl := ""
	if opt.ControlID != nil {
		ctrl = opt.ControlID()
	} else {
		ctrl = newControlID()
	}
	raw := func(n int) string {
		if msh == nil {
			return ""
		}
		return msh.RawField(n)
	}
	sendApp, sendFac := raw(5), raw(6)
	if sendApp == "" && sendFac == "" {
		sendApp, sendFac = w.esc(firstNonEmpty(opt.Application, "WACHTWIJZER")), w.esc(opt.Facility)
	}
	msgType := "ACK"
	rri := m != nil && strings.EqualFold(m.Type, "REF") && !strings.HasPrefix(code, "C")
	if m != nil {
		trig := w.esc(m.Trigger)
		if rri {
			msgType = "RRI" + string(d.Component) + trig + string(d.Component) + "RRI_I12"
		} else {
			msgType = "ACK" + string(d.Component) + trig + string(d.Component) + "ACK"
		}
	}
	procID := firstNonEmpty(raw(11), "P")
	fields := []string{
		"MSH", d.EncodingCharacters(), sendApp, sendFac, raw(3), raw(4),
		now.In(loc).Format("20060102150405-0700"), "", msgType, w.esc(ctrl), procID, version,
	}
	if charset != "" {
		fields = append(fields, "", "", "", "", "", charset)
	}
	// MSH: "MSH" + MSH-1 (the separator) + MSH-2 + …
	w.b.WriteString("MSH")
	w.b.WriteByte(d.Field)
	w.b.WriteString(strings.Join(fields[1:], string(d.Field)))
	w.b.WriteByte('\r')

	old := oldERR(firstNonEmpty(vid, version))
	msa := []string{"MSA", w.esc(code), raw(10)}
	if old {
		for _, p := range problems {
			if p.Severity == SeverityError || p.Severity == "" {
				msa = append(msa, w.esc(p.Text))
				break
			}
		}
	}
	w.segment(msa...)
	if limit := cmp.Or(opt.MaxErrors, 50); len(problems) > limit {
		rest := problems[limit:]
		sev := SeverityWarning
		for _, p := range rest {
			if p.Severity == SeverityError {
				sev = SeverityError
			}
		}
		problems = append(problems[:limit:limit], Problem{Severity: sev, Code: rest[0].Code, Text: strconv.Itoa(len(rest)) + " more problems not listed"})
	}
	for _, p := range problems {
		if old {
			w.segment("ERR", w.eld(p))
		} else {
			sev := firstNonEmpty(p.Severity, SeverityError)
			w.segment("ERR", "", w.erl(p), w.join(d.Component, p.Code, codeText[p.Code], "HL70357"), w.esc(sev), "", "", "", w.esc(p.Text))
		}
	}
	if rri {
		// RRI_I12 carries the referral back; PID is left out on purpose so
		// that no BSN travels in an ACK (ACKs end up in logs).
		for _, s := range m.Segments {
			if s.Name == "RF1" || s.Name == "PRD" {
				w.b.WriteString(s.Raw())
				w.b.WriteByte('\r')
			}
		}
	}
	return encodeCharset(w.b.String(), charsetOf(m))
}

func charsetOf(m *Message) string {
	if m == nil {
		return "UTF-8"
	}
	if _, ok := lookupCharset(m.Charset); !ok {
		return "8859/1"
	}
	return m.Charset
}

// oldERR reports whether a version uses the v2.3/v2.4 ERR layout.
func oldERR(version string) bool {
	v := strings.Split(version, ".")
	if len(v) < 2 || v[0] != "2" {
		return false
	}
	minor, err := strconv.Atoi(v[1])
	return err == nil && minor < 5
}

type ackWriter struct {
	d Delimiters
	b strings.Builder
}

func (w *ackWriter) segment(fields ...string) {
	for len(fields) > 1 && fields[len(fields)-1] == "" {
		fields = fields[:len(fields)-1]
	}
	w.b.WriteString(strings.Join(fields, string(w.d.Field)))
	w.b.WriteByte('\r')
}

// join escapes each part and joins them with sep, dropping trailing empty
// parts.
func (w *ackWriter) join(sep byte, parts ...string) string {
	for len(parts) > 0 && parts[len(parts)-1] == "" {
		parts = parts[:len(parts)-1]
	}
	for i, p := range parts {
		parts[i] = w.esc(p)
	}
	return strings.Join(parts, string(sep))
}

// erl is the v2.5+ ERR-2 error location.
func (w *ackWriter) erl(p Problem) string {
	if p.Segment == "" {
		return ""
	}
	parts := []string{p.Segment, strconv.Itoa(max(p.Seq, 1))}
	if p.Field > 0 {
		parts = append(parts, strconv.Itoa(p.Field))
		if p.Rep > 0 || p.Comp > 0 {
			parts = append(parts, strconv.Itoa(max(p.Rep, 1)))
		}
		if p.Comp > 0 {
			parts = append(parts, strconv.Itoa(p.Comp))
		}
	}
	return w.join(w.d.Component, parts...)
}

// eld is the v2.3/v2.4 ERR-1: segment^sequence^field^code&text&HL70357.
func (w *ackWriter) eld(p Problem) string {
	seq, field := "", ""
	if p.Segment != "" {
		seq = strconv.Itoa(max(p.Seq, 1))
	}
	if p.Field > 0 {
		field = strconv.Itoa(p.Field)
	}
	sub := string(w.d.Subcomponent)
	if w.d.Subcomponent == 0 {
		sub = " "
	}
	ce := w.esc(p.Code) + sub + w.esc(firstNonEmpty(p.Text, codeText[p.Code])) + sub + "HL70357"
	c := string(w.d.Component)
	return w.esc(p.Segment) + c + seq + c + field + c + ce
}

// esc escapes text for a field: the delimiters become \F\ \S\ \T\ \R\ \E\
// \P\, line breaks \.br\, other control characters \Xhh\.
func (w *ackWriter) esc(s string) string {
	e := w.d.Escape
	if e == 0 {
		e = '\\'
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		var seq string
		switch {
		case c == w.d.Field:
			seq = "F"
		case c == w.d.Component && c != 0:
			seq = "S"
		case c == w.d.Subcomponent && c != 0:
			seq = "T"
		case c == w.d.Repetition && c != 0:
			seq = "R"
		case c == e:
			seq = "E"
		case c == w.d.Truncation && c != 0:
			seq = "P"
		case c == '\n':
			seq = ".br"
		case c == '\r':
			continue
		case c < ' ' || c == 0x7f:
			seq = "X" + strings.ToUpper(strconv.FormatInt(int64(c)|0x100, 16)[1:])
		default:
			b.WriteByte(c)
			continue
		}
		b.WriteByte(e)
		b.WriteString(seq)
		b.WriteByte(e)
	}
	return b.String()
}

// newControlID returns 20 random characters (A–Z, 2–7): 100 bits, within
// the 20 characters MSH-10 allows before v2.7.
func newControlID() string {
	var b [15]byte
	if _, err := rand.Read(b[:]); err != nil {
		// crypto/rand does not fail on supported platforms; fall back to the
		// package's id generator rather than send an empty MSH-10.
		return strings.ToUpper(ww.NewID())
	}
	return base32.StdEncoding.EncodeToString(b[:])[:20]
}
