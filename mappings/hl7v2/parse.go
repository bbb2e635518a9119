package hl7v2

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	ww "github.com/wachtwijzer/wachtwijzer"
)

// Default limits of ParseOptions.
const (
	DefaultMaxBytes       = 2 << 20 // 2 MiB
	DefaultMaxSegments    = 2000
	DefaultMaxFields      = 300 // per segment
	DefaultMaxRepetitions = 200 // per field
	DefaultMaxComponents  = 100 // per repetition, and sub-components per component
)

// ParseOptions configure Parse. The zero value is ready to use.
type ParseOptions struct {
	// DefaultCharset is used when MSH-18 is empty (HL7 table 0211 name,
	// e.g. "8859/1" or "UNICODE UTF-8"). Empty means ISO-8859-1.
	DefaultCharset string
	// Location reads times that carry no offset. Nil means Europe/Amsterdam.
	Location *time.Location
	// Senders, when set, supplies per-sender defaults: the charset and
	// timeZone of the sender named by MSH-3/MSH-4 replace DefaultCharset
	// and Location. MSH-18 still wins over both.
	Senders *Config
	// Limits; 0 means the Default… constant. MaxComponents bounds both the
	// components of a repetition and the sub-components of a component.
	MaxBytes, MaxSegments, MaxFields, MaxRepetitions, MaxComponents int
}

func (o ParseOptions) withDefaults() ParseOptions {
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.MaxSegments <= 0 {
		o.MaxSegments = DefaultMaxSegments
	}
	if o.MaxFields <= 0 {
		o.MaxFields = DefaultMaxFields
	}
	if o.MaxRepetitions <= 0 {
		o.MaxRepetitions = DefaultMaxRepetitions
	}
	if o.MaxComponents <= 0 {
		o.MaxComponents = DefaultMaxComponents
	}
	if o.Location == nil {
		o.Location = ww.Amsterdam
	}
	return o
}

// Delimiters are a message's separators, read from MSH-1 and MSH-2. A
// character the message does not define is 0.
type Delimiters struct {
	Field, Component, Repetition, Escape, Subcomponent byte
	// Truncation is the v2.7+ fifth encoding character (usually '#'), 0 when
	// MSH-2 has four characters.
	Truncation byte
}

// DefaultDelimiters are |^~\& (no truncation character).
func DefaultDelimiters() Delimiters {
	return Delimiters{Field: '|', Component: '^', Repetition: '~', Escape: '\\', Subcomponent: '&'}
}

// EncodingCharacters returns MSH-2 as it is written for these delimiters.
func (d Delimiters) EncodingCharacters() string {
	var b []byte
	for _, c := range []byte{d.Component, d.Repetition, d.Escape, d.Subcomponent, d.Truncation} {
		if c == 0 {
			break
		}
		b = append(b, c)
	}
	return string(b)
}

// Message is a parsed HL7 v2 message. All text is UTF-8 with escape
// sequences decoded. The header fields are copied from MSH (and EVN) for
// convenience; they are trimmed but otherwise as sent.
type Message struct {
	Delims Delimiters
	// Charset is the HL7 table 0211 name of the message's character set
	// (MSH-18, else the default). When Parse reports it unsupported, the
	// text was read as ISO-8859-1.
	Charset string
	// Location reads times without an offset (the sender's zone).
	Location *time.Location
	// Segments in message order; Segments[0] is MSH.
	Segments []*Segment
	// Warnings found while parsing (e.g. invalid UTF-8 replaced); Map
	// passes them on in Result.Warnings.
	Warnings []Problem

	Type, Trigger, Structure string // MSH-9.1, MSH-9.2, MSH-9.3
	ControlID                string // MSH-10
	ProcessingID             string // MSH-11.1
	Version                  string // MSH-12.1
	AcceptAckType            string // MSH-15
	AppAckType               string // MSH-16
	// Sending and receiving application and facility (MSH-3..6): the HD
	// namespace ID, else its universal ID.
	SendingApplication, SendingFacility     string
	ReceivingApplication, ReceivingFacility string
}

// Segment is one segment. Field numbering follows HL7: for MSH, field 1 is
// the field separator and field 2 the encoding characters.
type Segment struct {
	Name string
	// Index is the position in the message, 0-based.
	Index int
	// Seq is the occurrence of this segment name in the message, 1-based:
	// the "segment sequence" of an ERR location.
	Seq    int
	raw    string
	sep    byte
	fields []Field // fields[0] is unused
}

// Field is one field: its repetitions. The zero Field is empty.
type Field struct {
	reps []Rep
	null bool
}

// Rep is one repetition of a field: its components.
type Rep struct{ comps []Comp }

// Comp is one component: its sub-components.
type Comp struct{ subs []string }

// Raw returns the segment as received (decoded to UTF-8, escapes intact).
func (s *Segment) Raw() string { return s.raw }

// RawField returns field i as received: still encoded (separators and
// escape sequences intact), "" when absent. For MSH, field 1 is the
// separator and field 2 the encoding characters.
func (s *Segment) RawField(i int) string {
	if s == nil || i < 1 || s.sep == 0 {
		return ""
	}
	if s.Name == "MSH" {
		if i == 1 {
			return string(s.sep)
		}
		i--
	}
	parts := strings.SplitN(s.raw, string(s.sep), i+2)
	if i >= len(parts) {
		return ""
	}
	return parts[i]
}

// NumFields returns the number of the last field present.
func (s *Segment) NumFields() int {
	if len(s.fields) == 0 {
		return 0
	}
	return len(s.fields) - 1
}

// Field returns field i (1-based); absent fields are empty.
func (s *Segment) Field(i int) Field {
	if s == nil || i < 1 || i >= len(s.fields) {
		return Field{}
	}
	return s.fields[i]
}

// Get returns the first component of the first repetition of field i.
func (s *Segment) Get(i int) string { return s.Field(i).Value() }

// Rep returns repetition j (1-based).
func (f Field) Rep(j int) Rep {
	if j < 1 || j > len(f.reps) {
		return Rep{}
	}
	return f.reps[j-1]
}

// Reps returns all repetitions.
func (f Field) Reps() []Rep { return f.reps }

// Empty reports whether the field has no text at all.
func (f Field) Empty() bool {
	for _, r := range f.reps {
		if !r.Empty() {
			return false
		}
	}
	return true
}

// Null reports whether the field was sent as the HL7 null "" (delete the
// value at the receiver).
func (f Field) Null() bool { return f.null }

// Value returns Rep(1).Comp(1).Sub(1).
func (f Field) Value() string { return f.Rep(1).Value() }

// Comp returns component k (1-based).
func (r Rep) Comp(k int) Comp {
	if k < 1 || k > len(r.comps) {
		return Comp{}
	}
	return r.comps[k-1]
}

// Comps returns all components.
func (r Rep) Comps() []Comp { return r.comps }

// Value returns Comp(1).Sub(1).
func (r Rep) Value() string { return r.Comp(1).Value() }

// Get returns the first sub-component of component k, trimmed.
func (r Rep) Get(k int) string { return strings.TrimSpace(r.Comp(k).Value()) }

// Empty reports whether the repetition has no text.
func (r Rep) Empty() bool {
	for _, c := range r.comps {
		for _, s := range c.subs {
			if s != "" {
				return false
			}
		}
	}
	return true
}

// Sub returns sub-component l (1-based).
func (c Comp) Sub(l int) string {
	if l < 1 || l > len(c.subs) {
		return ""
	}
	return c.subs[l-1]
}

// Subs returns all sub-components.
func (c Comp) Subs() []string { return c.subs }

// Value returns Sub(1).
func (c Comp) Value() string { return c.Sub(1) }

// Segment returns the first segment named name, or nil.
func (m *Message) Segment(name string) *Segment {
	for _, s := range m.Segments {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// All returns every segment named name, in order.
func (m *Message) All(name string) []*Segment {
	var out []*Segment
	for _, s := range m.Segments {
		if s.Name == name {
			out = append(out, s)
		}
	}
	return out
}

// Get returns the first component of the first repetition of field n of
// the first segment named seg ("" when absent): m.Get("PID", 8) is the
// gender code.
func (m *Message) Get(seg string, n int) string {
	return m.Segment(seg).Get(n)
}

// Field returns the text at an HL7 path: "SEG-f", "SEG-f.c", "SEG-f.c.s",
// with an optional repetition "SEG-f[r]…" and segment occurrence
// "SEG[n]-f…" (all 1-based). A path that stops at the field or component
// gives its first component or sub-component. Invalid paths and absent
// elements give "".
func (m *Message) Field(path string) string {
	p, err := ParsePath(path)
	if err != nil {
		return ""
	}
	return m.At(p)
}

// Path addresses one element of a message (see Message.Field).
type Path struct {
	Segment               string
	Occurrence            int // 1-based segment occurrence
	Field, Rep, Comp, Sub int // 1-based; Rep, Comp and Sub default to 1
}

// String writes the path as "SEG-f.c.s" (occurrence and repetition only
// when not 1).
func (p Path) String() string {
	var b strings.Builder
	b.WriteString(p.Segment)
	if p.Occurrence > 1 {
		fmt.Fprintf(&b, "[%d]", p.Occurrence)
	}
	fmt.Fprintf(&b, "-%d", p.Field)
	if p.Rep > 1 {
		fmt.Fprintf(&b, "[%d]", p.Rep)
	}
	if p.Comp > 1 || p.Sub > 1 {
		fmt.Fprintf(&b, ".%d", max(p.Comp, 1))
	}
	if p.Sub > 1 {
		fmt.Fprintf(&b, ".%d", p.Sub)
	}
	return b.String()
}

// ParsePath parses "SEG[n]-f[r].c.s" (see Message.Field).
func ParsePath(s string) (Path, error) {
	bad := func() (Path, error) {
		return Path{}, fmt.Errorf("hl7v2: invalid field path %q, expected e.g. PID-3 or ZWL-2.1", s)
	}
	p := Path{Occurrence: 1, Rep: 1, Comp: 1, Sub: 1}
	seg, rest, ok := strings.Cut(strings.TrimSpace(s), "-")
	if !ok {
		return bad()
	}
	var err error
	if seg, p.Occurrence, err = cutIndex(seg); err != nil || !validSegmentName(seg) {
		return bad()
	}
	p.Segment = seg
	parts := strings.Split(rest, ".")
	if len(parts) > 3 {
		return bad()
	}
	fieldPart, rep, err := cutIndex(parts[0])
	if err != nil {
		return bad()
	}
	p.Rep = rep
	if p.Field, err = strconv.Atoi(fieldPart); err != nil || p.Field < 1 || p.Field > 999 {
		return bad()
	}
	for i, q := range parts[1:] {
		n, err := strconv.Atoi(q)
		if err != nil || n < 1 || n > 999 {
			return bad()
		}
		if i == 0 {
			p.Comp = n
		} else {
			p.Sub = n
		}
	}
	return p, nil
}

// cutIndex splits "X[n]" into X and n (1 when there is no index).
func cutIndex(s string) (string, int, error) {
	i := strings.IndexByte(s, '[')
	if i < 0 {
		return s, 1, nil
	}
	if !strings.HasSuffix(s, "]") {
		return "", 0, fmt.Errorf("unclosed [")
	}
	n, err := strconv.Atoi(s[i+1 : len(s)-1])
	if err != nil || n < 1 || n > 100000 {
		return "", 0, fmt.Errorf("bad index")
	}
	return s[:i], n, nil
}

// At returns the text at p ("" when absent).
func (m *Message) At(p Path) string {
	segs := m.All(p.Segment)
	if p.Occurrence < 1 || p.Occurrence > len(segs) {
		return ""
	}
	return segs[p.Occurrence-1].Field(p.Field).Rep(p.Rep).Comp(p.Comp).Sub(p.Sub)
}

// Time parses the DTM/TS at path in the message's zone. An empty value
// gives the zero Time and no error.
func (m *Message) Time(path string) (Time, error) {
	v := strings.TrimSpace(m.Field(path))
	if v == "" {
		return Time{}, nil
	}
	return ParseTime(v, m.Location)
}

// SentTime parses MSH-7 (date/time of message) in the message's zone.
func (m *Message) SentTime() (Time, error) { return m.Time("MSH-7") }

// RecordedTime parses EVN-2 (recorded date/time); the zero Time when the
// message has no EVN-2.
func (m *Message) RecordedTime() (Time, error) { return m.Time("EVN-2") }

// ParseError is returned by Parse. When the MSH segment could be read, Parse
// returns the message too, so that an ACK can still be built.
type ParseError struct {
	Problems []Problem
	// Reject is true when the message must be answered with AR (e.g. an
	// unsupported character set), false for AE.
	Reject bool
}

func (e *ParseError) Error() string {
	var b strings.Builder
	b.WriteString("hl7v2: cannot parse message")
	for _, p := range e.Problems {
		b.WriteString(": ")
		b.WriteString(p.String())
	}
	return b.String()
}

func parseErr(reject bool, code, seg string, seq, field int, format string, args ...any) *ParseError {
	return &ParseError{Reject: reject, Problems: []Problem{{Severity: SeverityError, Code: code, Segment: seg, Seq: seq, Field: field, Text: fmt.Sprintf(format, args...)}}}
}

// Parse parses one HL7 v2 message (no MLLP framing; a leading 0x0B and a
// trailing 0x1C are tolerated). Segments may end with CR, LF or CRLF. The
// separators come from MSH-1 and MSH-2; the character set from MSH-18, else
// the default. Parse never panics. On error it returns a *ParseError, and
// the message as far as MSH could be read (nil when not even that).
func Parse(raw []byte, opt ParseOptions) (*Message, error) {
	opt = opt.withDefaults()
	if len(raw) > opt.MaxBytes {
		return nil, parseErr(false, CodeSegmentSequence, "", 0, 0, "message of %d bytes exceeds the limit of %d bytes", len(raw), opt.MaxBytes)
	}
	raw = trimFrame(raw)
	if len(raw) < 8 || string(raw[:3]) != "MSH" {
		return nil, parseErr(false, CodeSegmentSequence, "MSH", 1, 0, "the message does not start with an MSH segment")
	}
	d, encLen, perr := readDelimiters(raw)
	if perr != nil {
		return nil, perr
	}
	// Read MSH-3, MSH-4 and MSH-18 from the raw MSH line: the charset must be
	// known before the message is decoded.
	mshEnd := len(raw)
	for i, c := range raw {
		if c == '\r' || c == '\n' {
			mshEnd = i
			break
		}
	}
	mshFields := splitBytes(raw[:mshEnd], d.Field)
	rawField := func(n int) string { // MSH-n, first repetition and component, as Latin-1
		if n-1 >= len(mshFields) {
			return ""
		}
		f := mshFields[n-1]
		if i := indexAnyByte(f, d.Repetition, d.Component); i >= 0 {
			f = f[:i]
		}
		return strings.TrimSpace(decodeLatin1(f))
	}
	rawHD := func(n int) string {
		if n-1 >= len(mshFields) {
			return ""
		}
		f := mshFields[n-1]
		if i := indexAnyByte(f, d.Repetition); i >= 0 {
			f = f[:i]
		}
		comps := splitBytes(f, d.Component)
		for _, c := range comps[:min(len(comps), 2)] {
			if s := strings.TrimSpace(decodeLatin1(c)); s != "" {
				return s
			}
		}
		return ""
	}
	defCharset, loc := opt.DefaultCharset, opt.Location
	if opt.Senders != nil {
		sc := opt.Senders.For(rawHD(3), rawHD(4))
		if sc.Charset != "" {
			defCharset = sc.Charset
		}
		if l := sc.location(); l != nil {
			loc = l
		}
	}
	csName := rawField(18)
	if csName == "" {
		csName = defCharset
	}
	if csName == "" {
		csName = "8859/1"
	}
	cs, known := lookupCharset(csName)
	var pending *ParseError
	if !known {
		pending = parseErr(true, CodeTableValueNotFound, "MSH", 1, 18, "character set %q is not supported", sanitize(csName, 40))
		cs, _ = lookupCharset("8859/1")
	}
	m := &Message{Delims: d, Charset: csName, Location: loc}
	text, bad := cs.decode(raw)
	if bad {
		m.Warnings = append(m.Warnings, Problem{Severity: SeverityWarning, Code: CodeDataType, Segment: "MSH", Seq: 1, Field: 18,
			Text: fmt.Sprintf("bytes that are not valid %s were replaced by U+FFFD", cs.name)})
	}
	p := parser{d: d, cs: cs, opt: opt}
	p.presize(text)
	seqs := map[string]int{}
	start := 0
	for i := 0; i <= len(text); i++ {
		if i < len(text) && text[i] != '\r' && text[i] != '\n' {
			continue
		}
		line := text[start:i]
		start = i + 1
		if strings.TrimSpace(line) == "" {
			continue
		}
		if len(m.Segments) >= opt.MaxSegments {
			return m.withHeader(), parseErr(false, CodeSegmentSequence, "", 0, 0, "the message has more than %d segments", opt.MaxSegments)
		}
		seg, err := p.segment(line, len(m.Segments), encLen, seqs)
		if err != nil {
			if len(m.Segments) == 0 {
				return nil, err
			}
			return m.withHeader(), err
		}
		if seg.Name == "MSH" && len(m.Segments) > 0 {
			return m.withHeader(), parseErr(false, CodeSegmentSequence, "MSH", seg.Seq, 0, "a second MSH segment: batches are not supported, send one message at a time")
		}
		m.Segments = append(m.Segments, seg)
	}
	if len(m.Segments) == 0 {
		return nil, parseErr(false, CodeSegmentSequence, "MSH", 1, 0, "no MSH segment")
	}
	m.withHeader()
	if pending != nil {
		return m, pending
	}
	return m, nil
}

func (m *Message) withHeader() *Message {
	msh := m.Segment("MSH")
	if msh == nil {
		return m
	}
	t := func(s string) string { return strings.TrimSpace(s) }
	m.Type = t(msh.Field(9).Rep(1).Comp(1).Sub(1))
	m.Trigger = t(msh.Field(9).Rep(1).Comp(2).Sub(1))
	m.Structure = t(msh.Field(9).Rep(1).Comp(3).Sub(1))
	m.ControlID = t(msh.Get(10))
	m.ProcessingID = t(msh.Get(11))
	m.Version = t(msh.Get(12))
	m.AcceptAckType = t(msh.Get(15))
	m.AppAckType = t(msh.Get(16))
	m.SendingApplication = msh.Field(3).Rep(1).HD().Name()
	m.SendingFacility = msh.Field(4).Rep(1).HD().Name()
	m.ReceivingApplication = msh.Field(5).Rep(1).HD().Name()
	m.ReceivingFacility = msh.Field(6).Rep(1).HD().Name()
	return m
}

// trimFrame strips MLLP framing, a UTF-8 byte order mark and surrounding
// line ends.
func trimFrame(b []byte) []byte {
	for len(b) > 0 && (b[0] == 0x0b || b[0] == '\r' || b[0] == '\n' || b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	if len(b) >= 3 && b[0] == 0xef && b[1] == 0xbb && b[2] == 0xbf {
		b = b[3:]
	}
	for len(b) > 0 {
		c := b[len(b)-1]
		if c != 0x1c && c != '\r' && c != '\n' && c != 0 {
			break
		}
		b = b[:len(b)-1]
	}
	return b
}

// readDelimiters reads MSH-1 and MSH-2.
func readDelimiters(raw []byte) (Delimiters, int, *ParseError) {
	var d Delimiters
	d.Field = raw[3]
	if !validDelimiter(d.Field) {
		return d, 0, parseErr(false, CodeDataType, "MSH", 1, 1, "MSH-1 field separator %q is not a printable non-alphanumeric ASCII character", d.Field)
	}
	j := 4
	for j < len(raw) && raw[j] != d.Field && raw[j] != '\r' && raw[j] != '\n' {
		j++
	}
	enc := raw[4:j]
	if len(enc) < 1 || len(enc) > 5 {
		return d, 0, parseErr(false, CodeDataType, "MSH", 1, 2, "MSH-2 must hold 4 (or, from v2.7, 5) encoding characters, found %d", len(enc))
	}
	seen := map[byte]bool{d.Field: true}
	for _, c := range enc {
		if !validDelimiter(c) || seen[c] {
			return d, 0, parseErr(false, CodeDataType, "MSH", 1, 2, "MSH-2 encoding characters must be distinct printable non-alphanumeric ASCII characters")
		}
		seen[c] = true
	}
	slots := []*byte{&d.Component, &d.Repetition, &d.Escape, &d.Subcomponent, &d.Truncation}
	for i, c := range enc {
		*slots[i] = c
	}
	return d, len(enc), nil
}

func validDelimiter(c byte) bool {
	return c > ' ' && c < 0x7f && !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z')
}

func validSegmentName(s string) bool {
	if len(s) != 3 || s[0] < 'A' || s[0] > 'Z' {
		return false
	}
	for i := 1; i < 3; i++ {
		if !(s[i] >= 'A' && s[i] <= 'Z' || s[i] >= '0' && s[i] <= '9') {
			return false
		}
	}
	return true
}

func splitBytes(b []byte, sep byte) [][]byte {
	var out [][]byte
	start := 0
	for i, c := range b {
		if c == sep {
			out = append(out, b[start:i])
			start = i + 1
		}
	}
	return append(out, b[start:])
}

func indexAnyByte(b []byte, cs ...byte) int {
	for i, c := range b {
		for _, x := range cs {
			if x != 0 && c == x {
				return i
			}
		}
	}
	return -1
}

type parser struct {
	d   Delimiters
	cs  charset
	opt ParseOptions
	// Slabs the fields of the message take their parts from (a few
	// allocations per message instead of three per field).
	reps  []Rep
	comps []Comp
	subs  []string
}

// slabSize is how many parts a slab holds at least; maxPresize bounds the
// first slabs sized for the whole message.
const (
	slabSize   = 128
	maxPresize = 4096
)

// presize makes the first slabs as large as the message's parts can need
// (up to maxPresize): each field, repetition, component and sub-component
// of text takes at most one element, so a message usually takes one slab
// of each.
func (p *parser) presize(text string) {
	n := strings.Count(text, "\r") + strings.Count(text, "\n") + 1 + countSep(text, p.d.Field) + countSep(text, p.d.Repetition)
	reps := n
	n += countSep(text, p.d.Component)
	comps := n
	n += countSep(text, p.d.Subcomponent)
	p.reps, p.comps, p.subs = make([]Rep, min(reps, maxPresize)), make([]Comp, min(comps, maxPresize)), make([]string, min(n, maxPresize))
}

// take returns n elements of *slab (a fresh slab when it has fewer left),
// capped so that an append never reaches the next ones.
func take[T any](slab *[]T, n int) []T {
	if len(*slab) < n {
		*slab = make([]T, max(n, slabSize))
	}
	out := (*slab)[:n:n]
	*slab = (*slab)[n:]
	return out
}

func (p *parser) segment(line string, index, encLen int, seqs map[string]int) (*Segment, *ParseError) {
	name := line
	if i := strings.IndexByte(line, p.d.Field); i >= 0 {
		name = line[:i]
	}
	name = strings.TrimRight(name, " ")
	if !validSegmentName(name) {
		return nil, parseErr(false, CodeSegmentSequence, "", 0, 0, "segment %d has an invalid name %q (expected three capitals or digits)", index+1, sanitize(name, 3))
	}
	seqs[name]++
	s := &Segment{Name: name, Index: index, Seq: seqs[name], raw: line, sep: p.d.Field}
	var parts []string
	if name == "MSH" {
		// MSH-1 is the separator itself, MSH-2 the encoding characters.
		sep := string(p.d.Field)
		rest := ""
		if len(line) > 4+encLen {
			rest = line[4+encLen+1:]
		}
		s.fields = []Field{{}, literalField(sep), literalField(line[4:min(len(line), 4+encLen)])}
		if len(line) > 4+encLen {
			parts = strings.Split(rest, sep)
		}
	} else {
		s.fields = []Field{{}}
		if len(line) > 4 {
			parts = strings.Split(line[4:], string(p.d.Field))
		}
	}
	if len(s.fields)-1+len(parts) > p.opt.MaxFields {
		return nil, parseErr(false, CodeDataType, name, s.Seq, 0, "%s has more than %d fields", name, p.opt.MaxFields)
	}
	s.fields = append(make([]Field, 0, len(s.fields)+len(parts)), s.fields...)
	for _, f := range parts {
		fld, err := p.field(f)
		if err != nil {
			err.Problems[0].Segment, err.Problems[0].Seq, err.Problems[0].Field = name, s.Seq, len(s.fields)
			return nil, err
		}
		s.fields = append(s.fields, fld)
	}
	return s, nil
}

func literalField(s string) Field {
	return Field{reps: []Rep{{comps: []Comp{{subs: []string{s}}}}}}
}

func (p *parser) field(s string) (Field, *ParseError) {
	if s == `""` {
		return Field{null: true}, nil
	}
	if s == "" {
		return Field{}, nil
	}
	if f, ok := p.fieldPacked(s); ok {
		return f, nil
	}
	return p.fieldSplit(s)
}

// fieldPacked is field for one within the limits: its repetitions,
// components and sub-components each taken from the parser's slabs. It reports false for a field over a limit, which
// fieldSplit then refuses with the error that names it.
func (p *parser) fieldPacked(s string) (Field, bool) {
	d := p.d
	nreps := countSep(s, d.Repetition) + 1
	ncomps := countSep(s, d.Component) + nreps
	nsubs := countSep(s, d.Subcomponent) + ncomps
	if nreps > p.opt.MaxRepetitions || ncomps > nreps*p.opt.MaxComponents || nsubs > ncomps*p.opt.MaxComponents {
		return Field{}, false
	}
	reps, comps, subs := take(&p.reps, nreps), take(&p.comps, ncomps), take(&p.subs, nsubs)
	ci, si := 0, 0
	for i, r := range splitSeq(s, d.Repetition) {
		c0 := ci
		for _, c := range splitSeq(r, d.Component) {
			s0 := si
			for _, sub := range splitSeq(c, d.Subcomponent) {
				subs[si] = p.unescape(sub)
				si++
			}
			if si-s0 > p.opt.MaxComponents {
				return Field{}, false
			}
			comps[ci] = Comp{subs: subs[s0:si:si]}
			ci++
		}
		if ci-c0 > p.opt.MaxComponents {
			return Field{}, false
		}
		reps[i] = Rep{comps: comps[c0:ci:ci]}
	}
	return Field{reps: reps}, true
}

// countSep counts sep in s (none when sep is 0: that delimiter is not in
// use).
func countSep(s string, sep byte) int {
	if sep == 0 {
		return 0
	}
	n := 0
	for {
		i := strings.IndexByte(s, sep)
		if i < 0 {
			return n
		}
		n++
		s = s[i+1:]
	}
}

// splitSeq yields the parts of s between seps (s itself when sep is 0),
// with their index, as strings.Split would return them.
func splitSeq(s string, sep byte) func(yield func(int, string) bool) {
	return func(yield func(int, string) bool) {
		for i := 0; ; i++ {
			j := -1
			if sep != 0 {
				j = strings.IndexByte(s, sep)
			}
			if j < 0 {
				yield(i, s)
				return
			}
			if !yield(i, s[:j]) {
				return
			}
			s = s[j+1:]
		}
	}
}

// fieldSplit is field part by part, checking each limit as it goes.
func (p *parser) fieldSplit(s string) (Field, *ParseError) {
	reps := splitOn(s, p.d.Repetition)
	if len(reps) > p.opt.MaxRepetitions {
		return Field{}, parseErr(false, CodeDataType, "", 0, 0, "a field has more than %d repetitions", p.opt.MaxRepetitions)
	}
	f := Field{reps: make([]Rep, len(reps))}
	for i, r := range reps {
		comps := splitOn(r, p.d.Component)
		if len(comps) > p.opt.MaxComponents {
			return Field{}, parseErr(false, CodeDataType, "", 0, 0, "a field has more than %d components", p.opt.MaxComponents)
		}
		rep := Rep{comps: make([]Comp, len(comps))}
		for j, c := range comps {
			subs := splitOn(c, p.d.Subcomponent)
			if len(subs) > p.opt.MaxComponents {
				return Field{}, parseErr(false, CodeDataType, "", 0, 0, "a component has more than %d sub-components", p.opt.MaxComponents)
			}
			comp := Comp{subs: make([]string, len(subs))}
			for k, sub := range subs {
				comp.subs[k] = p.unescape(sub)
			}
			rep.comps[j] = comp
		}
		f.reps[i] = rep
	}
	return f, nil
}

func splitOn(s string, sep byte) []string {
	if sep == 0 {
		return []string{s}
	}
	return strings.Split(s, string(sep))
}

// unescape decodes the escape sequences of one leaf value: \F\ \S\ \T\
// \R\ \E\ \P\ (the delimiters), \Xhh…\ (bytes in the message's charset),
// \.br\ (a line break); \H\ and \N\ (highlighting) are dropped; anything
// else is kept verbatim. The HL7 null "" becomes "".
func (p *parser) unescape(s string) string {
	if s == `""` {
		return ""
	}
	e := p.d.Escape
	if e == 0 || strings.IndexByte(s, e) < 0 {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		if s[i] != e {
			b.WriteByte(s[i])
			i++
			continue
		}
		j := strings.IndexByte(s[i+1:], e)
		if j < 0 {
			b.WriteString(s[i:])
			break
		}
		seq := s[i+1 : i+1+j]
		next := i + 1 + j + 1
		switch {
		case seq == "F":
			b.WriteByte(p.d.Field)
		case seq == "S" && p.d.Component != 0:
			b.WriteByte(p.d.Component)
		case seq == "T" && p.d.Subcomponent != 0:
			b.WriteByte(p.d.Subcomponent)
		case seq == "R" && p.d.Repetition != 0:
			b.WriteByte(p.d.Repetition)
		case seq == "E":
			b.WriteByte(e)
		case seq == "P" && p.d.Truncation != 0:
			b.WriteByte(p.d.Truncation)
		case seq == "H" || seq == "N":
		case seq == ".br":
			b.WriteByte('\n')
		case len(seq) >= 3 && seq[0] == 'X' && len(seq)%2 == 1 && isHex(seq[1:]):
			bs := make([]byte, 0, len(seq)/2)
			for k := 1; k+1 < len(seq); k += 2 {
				bs = append(bs, unhex(seq[k])<<4|unhex(seq[k+1]))
			}
			t, _ := p.cs.decode(bs)
			b.WriteString(t)
		default:
			b.WriteString(s[i:next])
		}
		i = next
	}
	return b.String()
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if unhex(s[i]) == 0xff {
			return false
		}
	}
	return s != ""
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10
	}
	return 0xff
}

// sanitize shortens s and replaces control characters, for error texts.
func sanitize(s string, n int) string {
	var b strings.Builder
	for i, r := range s {
		if i >= n {
			b.WriteString("…")
			break
		}
		if r < ' ' || r == utf8.RuneError {
			r = '?'
		}
		b.WriteRune(r)
	}
	return b.String()
}
