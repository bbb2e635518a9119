package hl7v2

import (
	"strings"
	"unicode/utf8"
)

// charset decodes a message's bytes to UTF-8.
type charset struct {
	name   string
	decode func([]byte) (string, bool) // text, whether bad bytes were replaced
}

// Charsets names the character sets Parse accepts in MSH-18 (HL7 table
// 0211 names, matched case-insensitively; a few common non-table spellings
// are accepted too).
var Charsets = []string{"ASCII", "8859/1", "8859/15", "UNICODE UTF-8", "UTF-8", "CP1252", "WINDOWS-1252"}

func lookupCharset(name string) (charset, bool) {
	n := strings.ToUpper(strings.TrimSpace(name))
	n = strings.Join(strings.Fields(n), " ")
	switch n {
	case "ASCII", "US-ASCII":
		// Bytes above 0x7f are not ASCII; read them as ISO-8859-1 and warn.
		return charset{"ASCII", func(b []byte) (string, bool) {
			for _, c := range b {
				if c >= 0x80 {
					return decodeLatin1(b), true
				}
			}
			return string(b), false
		}}, true
	case "8859/1", "ISO-8859-1", "ISO 8859-1", "LATIN1", "LATIN-1":
		return charset{"ISO-8859-1", func(b []byte) (string, bool) { return decodeLatin1(b), false }}, true
	case "8859/15", "ISO-8859-15", "LATIN9", "LATIN-9":
		return charset{"ISO-8859-15", func(b []byte) (string, bool) { return decodeTable(b, latin9), false }}, true
	case "UNICODE UTF-8", "UTF-8", "UTF8":
		return charset{"UTF-8", func(b []byte) (string, bool) {
			if utf8.Valid(b) {
				return string(b), false
			}
			return strings.ToValidUTF8(string(b), "\uFFFD"), true
		}}, true
	case "CP1252", "WINDOWS-1252", "WIN1252":
		return charset{"Windows-1252", func(b []byte) (string, bool) { return decodeTable(b, cp1252), false }}, true
	}
	return charset{}, false
}

// decodeLatin1 maps each byte to the code point of the same value.
func decodeLatin1(b []byte) string {
	ascii := true
	for _, c := range b {
		if c >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		return string(b)
	}
	r := make([]rune, len(b))
	for i, c := range b {
		r[i] = rune(c)
	}
	return string(r)
}

// decodeTable is Latin-1 with the code points of some bytes replaced.
func decodeTable(b []byte, table map[byte]rune) string {
	var sb strings.Builder
	sb.Grow(len(b))
	for _, c := range b {
		if r, ok := table[c]; ok {
			sb.WriteRune(r)
		} else if c < 0x80 {
			sb.WriteByte(c)
		} else {
			sb.WriteRune(rune(c))
		}
	}
	return sb.String()
}

// latin9 lists where ISO-8859-15 differs from ISO-8859-1.
var latin9 = map[byte]rune{0xa4: '€', 0xa6: 'Š', 0xa8: 'š', 0xb4: 'Ž', 0xb8: 'ž', 0xbc: 'Œ', 0xbd: 'œ', 0xbe: 'Ÿ'}

// cp1252 lists where Windows-1252 differs from ISO-8859-1 (0x80–0x9f);
// the five undefined bytes stay C1 controls.
var cp1252 = map[byte]rune{
	0x80: '€', 0x82: '‚', 0x83: 'ƒ', 0x84: '„', 0x85: '…', 0x86: '†', 0x87: '‡', 0x88: 'ˆ', 0x89: '‰', 0x8a: 'Š',
	0x8b: '‹', 0x8c: 'Œ', 0x8e: 'Ž', 0x91: '‘', 0x92: '’', 0x93: '“', 0x94: '”', 0x95: '•', 0x96: '–', 0x97: '—',
	0x98: '˜', 0x99: '™', 0x9a: 'š', 0x9b: '›', 0x9c: 'œ', 0x9e: 'ž', 0x9f: 'Ÿ',
}

// encodeCharset encodes UTF-8 text for the charset named (used for ACKs):
// characters the charset cannot hold become '?'.
func encodeCharset(s, name string) []byte {
	cs, ok := lookupCharset(name)
	if !ok || cs.name == "UTF-8" {
		return []byte(s)
	}
	var rev map[rune]byte
	switch cs.name {
	case "ISO-8859-15":
		rev = reverse(latin9)
	case "Windows-1252":
		rev = reverse(cp1252)
	}
	out := make([]byte, 0, len(s))
	for _, r := range s {
		switch {
		case r < 0x80:
			out = append(out, byte(r))
		case rev != nil && rev[r] != 0:
			out = append(out, rev[r])
		case r <= 0xff && cs.name != "ASCII" && !(rev != nil && overridden(r, cs.name)):
			out = append(out, byte(r))
		default:
			out = append(out, '?')
		}
	}
	return out
}

func reverse(t map[byte]rune) map[rune]byte {
	m := make(map[rune]byte, len(t))
	for b, r := range t {
		m[r] = b
	}
	return m
}

// overridden reports whether the Latin-1 code point r is not representable
// because the charset uses its byte for something else.
func overridden(r rune, name string) bool {
	var t map[byte]rune
	switch name {
	case "ISO-8859-15":
		t = latin9
	case "Windows-1252":
		t = cp1252
	}
	_, ok := t[byte(r)]
	return ok
}
