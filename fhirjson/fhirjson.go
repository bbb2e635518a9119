package fhirjson

import (
	"fmt"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// Kind is the JSON type of a Value.
type Kind uint8

// The JSON kinds.
const (
	Null Kind = iota
	Bool
	Number
	String
	Object
	Array
	// Raw is a pre-serialised JSON value (a stored resource placed in a
	// Bundle); Parse never produces it and AppendTo copies it verbatim.
	Raw
)

func (k Kind) String() string {
	switch k {
	case Null:
		return "null"
	case Bool:
		return "boolean"
	case Number:
		return "number"
	case String:
		return "string"
	case Object:
		return "object"
	case Array:
		return "array"
	case Raw:
		return "raw"
	}
	return "unknown"
}

// Value is one node of a parsed JSON document.
type Value struct {
	Kind Kind
	// Raw holds the literal bytes of a null, boolean, number or string
	// (strings include their quotes and escapes as written).
	Raw []byte
	// Members holds an object's members in document order.
	Members []Member
	// Items holds an array's elements.
	Items []*Value
	// Off is the byte offset of the value in the parsed source (-1 for
	// values built in code).
	Off int
}

// Member is one key/value pair of an object.
type Member struct {
	Key   string
	Value *Value
}

// Limits bounds the shape of documents Parse accepts. Zero fields take the
// defaults.
type Limits struct {
	// MaxDepth is the deepest nesting of objects and arrays (default 64).
	MaxDepth int
	// MaxItems is the longest array and the largest object (default 100000).
	MaxItems int
}

// SyntaxError reports malformed JSON with its position.
type SyntaxError struct {
	Msg    string
	Offset int
	Line   int
	Column int
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("invalid JSON at line %d, column %d: %s", e.Line, e.Column, e.Msg)
}

type parser struct {
	src      []byte
	pos      int
	depth    int
	maxDepth int
	maxItems int
}

// Parse parses one JSON document. A UTF-8 byte order mark is skipped;
// anything but white space after the document is an error.
func Parse(src []byte, lim Limits) (*Value, error) {
	p := &parser{src: src, maxDepth: lim.MaxDepth, maxItems: lim.MaxItems}
	if p.maxDepth <= 0 {
		p.maxDepth = 64
	}
	if p.maxItems <= 0 {
		p.maxItems = 100000
	}
	if len(src) >= 3 && src[0] == 0xEF && src[1] == 0xBB && src[2] == 0xBF {
		p.pos = 3
	}
	p.skipWS()
	if p.pos >= len(src) {
		return nil, p.errAt(p.pos, "empty document")
	}
	v, err := p.value()
	if err != nil {
		return nil, err
	}
	p.skipWS()
	if p.pos < len(src) {
		return nil, p.errAt(p.pos, fmt.Sprintf("unexpected %s after the end of the document", describe(src[p.pos])))
	}
	return v, nil
}

func describe(c byte) string {
	if c >= 0x20 && c < 0x7f {
		return strconv.Quote(string(c))
	}
	return fmt.Sprintf("byte 0x%02x", c)
}

func (p *parser) errAt(off int, msg string) *SyntaxError {
	line, col := Position(p.src, off)
	return &SyntaxError{Msg: msg, Offset: off, Line: line, Column: col}
}

// Position returns the 1-based line and column (in characters) of a byte
// offset in src.
func Position(src []byte, off int) (line, col int) {
	if off > len(src) {
		off = len(src)
	}
	line, col = 1, 1
	for i := 0; i < off; {
		if src[i] == '\n' {
			line++
			col = 1
			i++
			continue
		}
		_, n := utf8.DecodeRune(src[i:])
		i += n
		col++
	}
	return line, col
}

func (p *parser) skipWS() {
	for p.pos < len(p.src) {
		switch p.src[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *parser) value() (*Value, error) {
	if p.pos >= len(p.src) {
		return nil, p.errAt(p.pos, "unexpected end of input")
	}
	start := p.pos
	switch c := p.src[p.pos]; {
	case c == '{':
		return p.object()
	case c == '[':
		return p.array()
	case c == '"':
		end, err := p.scanString()
		if err != nil {
			return nil, err
		}
		return &Value{Kind: String, Raw: p.src[start:end], Off: start}, nil
	case c == '-' || (c >= '0' && c <= '9'):
		end, err := p.scanNumber()
		if err != nil {
			return nil, err
		}
		return &Value{Kind: Number, Raw: p.src[start:end], Off: start}, nil
	case c == 't':
		return p.literal("true", Bool)
	case c == 'f':
		return p.literal("false", Bool)
	case c == 'n':
		return p.literal("null", Null)
	default:
		return nil, p.errAt(p.pos, "unexpected "+describe(c)+", expected a value")
	}
}

func (p *parser) literal(word string, k Kind) (*Value, error) {
	start := p.pos
	if len(p.src)-p.pos < len(word) || string(p.src[p.pos:p.pos+len(word)]) != word {
		return nil, p.errAt(p.pos, "invalid literal, expected "+word)
	}
	p.pos += len(word)
	return &Value{Kind: k, Raw: p.src[start:p.pos], Off: start}, nil
}

func (p *parser) enter() error {
	p.depth++
	if p.depth > p.maxDepth {
		return p.errAt(p.pos, fmt.Sprintf("nesting deeper than %d levels", p.maxDepth))
	}
	return nil
}

func (p *parser) object() (*Value, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	v := &Value{Kind: Object, Off: p.pos}
	p.pos++ // {
	p.skipWS()
	if p.pos < len(p.src) && p.src[p.pos] == '}' {
		p.pos++
		p.depth--
		return v, nil
	}
	var seen map[string]struct{}
	for {
		p.skipWS()
		if p.pos >= len(p.src) {
			return nil, p.errAt(p.pos, "unexpected end of input in object")
		}
		if p.src[p.pos] != '"' {
			return nil, p.errAt(p.pos, "unexpected "+describe(p.src[p.pos])+", expected a member name in quotes")
		}
		keyStart := p.pos
		end, err := p.scanString()
		if err != nil {
			return nil, err
		}
		key, err := decodeString(p.src[keyStart:end])
		if err != nil {
			return nil, p.errAt(keyStart, err.Error())
		}
		if dup := p.duplicate(v.Members, &seen, key); dup {
			return nil, p.errAt(keyStart, fmt.Sprintf("duplicate member %q", key))
		}
		p.skipWS()
		if p.pos >= len(p.src) || p.src[p.pos] != ':' {
			return nil, p.errAt(p.pos, fmt.Sprintf("expected ':' after member name %q", key))
		}
		p.pos++
		p.skipWS()
		val, err := p.value()
		if err != nil {
			return nil, err
		}
		if len(v.Members) >= p.maxItems {
			return nil, p.errAt(keyStart, fmt.Sprintf("object has more than %d members", p.maxItems))
		}
		v.Members = append(v.Members, Member{Key: key, Value: val})
		p.skipWS()
		if p.pos >= len(p.src) {
			return nil, p.errAt(p.pos, "unexpected end of input in object")
		}
		switch p.src[p.pos] {
		case ',':
			p.pos++
		case '}':
			p.pos++
			p.depth--
			return v, nil
		default:
			return nil, p.errAt(p.pos, "unexpected "+describe(p.src[p.pos])+", expected ',' or '}'")
		}
	}
}

// duplicate reports whether key is already a member, switching from a
// linear scan to a set for large objects.
func (p *parser) duplicate(ms []Member, seen *map[string]struct{}, key string) bool {
	if len(ms) < 16 {
		for i := range ms {
			if ms[i].Key == key {
				return true
			}
		}
		return false
	}
	if *seen == nil {
		*seen = make(map[string]struct{}, len(ms)*2)
		for i := range ms {
			(*seen)[ms[i].Key] = struct{}{}
		}
	}
	if _, ok := (*seen)[key]; ok {
		return true
	}
	(*seen)[key] = struct{}{}
	return false
}

func (p *parser) array() (*Value, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	v := &Value{Kind: Array, Off: p.pos}
	p.pos++ // [
	p.skipWS()
	if p.pos < len(p.src) && p.src[p.pos] == ']' {
		p.pos++
		p.depth--
		return v, nil
	}
	for {
		p.skipWS()
		item, err := p.value()
		if err != nil {
			return nil, err
		}
		if len(v.Items) >= p.maxItems {
			return nil, p.errAt(item.Off, fmt.Sprintf("array has more than %d elements", p.maxItems))
		}
		v.Items = append(v.Items, item)
		p.skipWS()
		if p.pos >= len(p.src) {
			return nil, p.errAt(p.pos, "unexpected end of input in array")
		}
		switch p.src[p.pos] {
		case ',':
			p.pos++
		case ']':
			p.pos++
			p.depth--
			return v, nil
		default:
			return nil, p.errAt(p.pos, "unexpected "+describe(p.src[p.pos])+", expected ',' or ']'")
		}
	}
}

// scanString validates the string starting at p.pos and returns the offset
// just past its closing quote.
func (p *parser) scanString() (int, error) {
	start := p.pos
	i := p.pos + 1
	for i < len(p.src) {
		c := p.src[i]
		switch {
		case c == '"':
			p.pos = i + 1
			return p.pos, nil
		case c == '\\':
			if i+1 >= len(p.src) {
				return 0, p.errAt(i, "unterminated escape in string")
			}
			switch p.src[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(p.src) || !isHex4(p.src[i+2:i+6]) {
					return 0, p.errAt(i, `invalid \u escape in string`)
				}
				i += 6
			default:
				return 0, p.errAt(i, "invalid escape "+describe(p.src[i+1])+" in string")
			}
		case c < 0x20:
			return 0, p.errAt(i, "control character "+describe(c)+" in string (escape it)")
		case c < utf8.RuneSelf:
			i++
		default:
			r, n := utf8.DecodeRune(p.src[i:])
			if r == utf8.RuneError && n <= 1 {
				return 0, p.errAt(i, "invalid UTF-8 in string")
			}
			i += n
		}
	}
	return 0, p.errAt(start, "unterminated string")
}

func isHex4(b []byte) bool {
	for _, c := range b {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

func (p *parser) scanNumber() (int, error) {
	i := p.pos
	if p.src[i] == '-' {
		i++
	}
	if i >= len(p.src) {
		return 0, p.errAt(i, "unexpected end of input in number")
	}
	switch {
	case p.src[i] == '0':
		i++
	case p.src[i] >= '1' && p.src[i] <= '9':
		for i < len(p.src) && p.src[i] >= '0' && p.src[i] <= '9' {
			i++
		}
	default:
		return 0, p.errAt(i, "invalid number")
	}
	if i < len(p.src) && p.src[i] == '.' {
		i++
		d := i
		for i < len(p.src) && p.src[i] >= '0' && p.src[i] <= '9' {
			i++
		}
		if i == d {
			return 0, p.errAt(i, "invalid number: digits expected after '.'")
		}
	}
	if i < len(p.src) && (p.src[i] == 'e' || p.src[i] == 'E') {
		i++
		if i < len(p.src) && (p.src[i] == '+' || p.src[i] == '-') {
			i++
		}
		d := i
		for i < len(p.src) && p.src[i] >= '0' && p.src[i] <= '9' {
			i++
		}
		if i == d {
			return 0, p.errAt(i, "invalid number: digits expected in exponent")
		}
	}
	p.pos = i
	return i, nil
}

// decodeString turns a validated string literal (with quotes) into its value.
func decodeString(raw []byte) (string, error) {
	body := raw[1 : len(raw)-1]
	bs := -1
	for i, c := range body {
		if c == '\\' {
			bs = i
			break
		}
	}
	if bs < 0 {
		return string(body), nil
	}
	out := make([]byte, 0, len(body))
	out = append(out, body[:bs]...)
	for i := bs; i < len(body); {
		c := body[i]
		if c != '\\' {
			out = append(out, c)
			i++
			continue
		}
		e := body[i+1]
		switch e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r := rune(hex4(body[i+2 : i+6]))
			i += 6
			if utf16.IsSurrogate(r) {
				if i+6 <= len(body) && body[i] == '\\' && body[i+1] == 'u' {
					r2 := rune(hex4(body[i+2 : i+6]))
					if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
						out = utf8.AppendRune(out, dec)
						i += 6
						continue
					}
				}
				return "", fmt.Errorf("unpaired surrogate in \\u escape")
			}
			out = utf8.AppendRune(out, r)
			continue
		}
		i += 2
	}
	return string(out), nil
}

func hex4(b []byte) int {
	n := 0
	for _, c := range b {
		n <<= 4
		switch {
		case c >= '0' && c <= '9':
			n |= int(c - '0')
		case c >= 'a' && c <= 'f':
			n |= int(c-'a') + 10
		default:
			n |= int(c-'A') + 10
		}
	}
	return n
}
