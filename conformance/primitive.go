package conformance

import (
	"bytes"
	"strconv"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/fhirjson"
)

// strBytes returns the decoded content of a JSON string without copying
// when it has no escapes.
func strBytes(v *fhirjson.Value) ([]byte, bool) {
	if v.Kind != fhirjson.String || len(v.Raw) < 2 {
		return nil, false
	}
	inner := v.Raw[1 : len(v.Raw)-1]
	if bytes.IndexByte(inner, '\\') < 0 {
		return inner, true
	}
	s, ok := v.Str()
	return []byte(s), ok
}

// memberBytes returns the string member key of an object without copying
// (nil when absent or not a string).
func memberBytes(v *fhirjson.Value, key string) []byte {
	m := v.Get(key)
	if m == nil {
		return nil
	}
	b, _ := strBytes(m)
	return b
}

// checkPrimitive checks a primitive value's JSON kind and lexical form. It
// returns "" when the value is fine, otherwise what is wrong and what is
// expected, phrased to complete "<path> ...".
func checkPrimitive(k primKind, typ string, v *fhirjson.Value) string {
	switch k {
	case primBoolean:
		if v.Kind != fhirjson.Bool {
			return "must be a JSON boolean (true or false, without quotes), got " + kindPhrase(v)
		}
		return ""
	case primInteger, primPositiveInt, primUnsignedInt:
		if v.Kind != fhirjson.Number {
			return "must be a JSON number (an " + typ + ", without quotes), got " + kindPhrase(v)
		}
		n, err := strconv.ParseInt(string(v.Raw), 10, 32)
		if err != nil {
			return "must be a whole number between -2147483648 and 2147483647 (an " + typ + "), got " + string(v.Raw)
		}
		if k == primPositiveInt && n < 1 {
			return "must be 1 or more (a positiveInt), got " + string(v.Raw)
		}
		if k == primUnsignedInt && n < 0 {
			return "must be 0 or more (an unsignedInt), got " + string(v.Raw)
		}
		return ""
	case primDecimal:
		if v.Kind != fhirjson.Number {
			return "must be a JSON number (a decimal, without quotes), got " + kindPhrase(v)
		}
		return ""
	}
	b, ok := strBytes(v)
	if !ok {
		return "must be a JSON string (a " + typ + "), got " + kindPhrase(v)
	}
	switch k {
	case primString, primMarkdown:
		if len(b) > 1<<20 {
			return "is longer than the 1 MB a FHIR string may have"
		}
	case primCode:
		if !validCode(b) {
			return "must be a code: no leading or trailing white space and single spaces only, got " + strconv.Quote(string(b))
		}
	case primID:
		if !ww.ValidID(string(b)) {
			return "must be an id: 1-64 characters of A-Z, a-z, 0-9, '-' and '.', got " + strconv.Quote(string(b))
		}
	case primURI, primURL, primCanonical:
		if i := bytes.IndexAny(b, " \t\r\n"); i >= 0 {
			return "must be a " + typ + " without white space, got " + strconv.Quote(string(b))
		}
	case primOID:
		if !validOID(b) {
			return "must be an oid such as urn:oid:2.16.840.1.113883.2.4.6.1, got " + strconv.Quote(string(b))
		}
	case primUUID:
		if !validUUID(b) {
			return "must be a uuid such as urn:uuid:c757873d-ec9a-4326-a141-556f43239520 (lower case), got " + strconv.Quote(string(b))
		}
	case primBase64:
		if !validBase64(b) {
			return "must be base64-encoded (A-Z, a-z, 0-9, '+', '/', '=' padding to a multiple of 4)"
		}
	case primInstant:
		if msg := checkDateTime(b, true, true); msg != "" {
			return "must be an instant: a full date and time with seconds and a zone, such as 2026-12-01T09:00:00+01:00 or 2026-12-01T08:00:00Z; " + msg + ", got " + strconv.Quote(string(b))
		}
	case primDateTime:
		if msg := checkDateTime(b, false, true); msg != "" {
			return "must be a dateTime: YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DDThh:mm:ss with a zone (+01:00 or Z); " + msg + ", got " + strconv.Quote(string(b))
		}
	case primDate:
		if msg := checkDateTime(b, false, false); msg != "" {
			return "must be a date: YYYY, YYYY-MM or YYYY-MM-DD without a time; " + msg + ", got " + strconv.Quote(string(b))
		}
	case primTime:
		if msg := checkTime(b); msg != "" {
			return "must be a time of day hh:mm:ss (seconds required, no zone); " + msg + ", got " + strconv.Quote(string(b))
		}
	case primXHTML:
		t := bytes.TrimSpace(b)
		if !bytes.HasPrefix(t, []byte("<div")) || !bytes.HasSuffix(t, []byte("</div>")) {
			return "must be XHTML in a single <div xmlns=\"http://www.w3.org/1999/xhtml\"> element"
		}
	}
	return ""
}

func kindPhrase(v *fhirjson.Value) string {
	switch v.Kind {
	case fhirjson.String:
		return "a string " + string(v.Raw)
	case fhirjson.Number:
		return "the number " + string(v.Raw)
	case fhirjson.Bool:
		return string(v.Raw)
	}
	return "a JSON " + v.Kind.String()
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// validCode follows the R4 regex [^\s]+(\s[^\s]+)*.
func validCode(b []byte) bool {
	if len(b) == 0 || isSpace(b[0]) || isSpace(b[len(b)-1]) {
		return false
	}
	for i := 1; i < len(b); i++ {
		if isSpace(b[i]) && isSpace(b[i-1]) {
			return false
		}
	}
	return true
}

// validOID follows urn:oid:[0-2](\.(0|[1-9][0-9]*))+.
func validOID(b []byte) bool {
	rest, ok := bytes.CutPrefix(b, []byte("urn:oid:"))
	if !ok || len(rest) < 3 || rest[0] < '0' || rest[0] > '2' {
		return false
	}
	arcs := bytes.Split(rest[1:], []byte("."))
	if len(arcs) < 2 || len(arcs[0]) != 0 {
		return false
	}
	for _, a := range arcs[1:] {
		if len(a) == 0 || (a[0] == '0' && len(a) > 1) || !allDigits(a) {
			return false
		}
	}
	return true
}

func allDigits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return len(b) > 0
}

// validUUID follows urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}.
func validUUID(b []byte) bool {
	rest, ok := bytes.CutPrefix(b, []byte("urn:uuid:"))
	if !ok || len(rest) != 36 {
		return false
	}
	for i, c := range rest {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
				return false
			}
		}
	}
	return true
}

func validBase64(b []byte) bool {
	n, pad := 0, 0
	for _, c := range b {
		switch {
		case isSpace(c):
			continue
		case c == '=':
			pad++
		case pad > 0:
			return false // data after padding
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '+', c == '/':
		default:
			return false
		}
		n++
	}
	return n%4 == 0 && pad <= 2
}

func digitsAt(b []byte, i, n int) (int, bool) {
	if i+n > len(b) {
		return 0, false
	}
	v := 0
	for _, c := range b[i : i+n] {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	return v, true
}

func daysInMonth(year, month int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// checkDateTime checks a date (withTime false), dateTime or instant
// (needTime) and returns "" or what is wrong.
func checkDateTime(b []byte, needTime, allowTime bool) string {
	year, ok := digitsAt(b, 0, 4)
	if !ok || year == 0 {
		return "the year must be four digits (0001-9999)"
	}
	if len(b) == 4 {
		if needTime {
			return "the time is missing"
		}
		return ""
	}
	if b[4] != '-' {
		return "a '-' must follow the year"
	}
	month, ok := digitsAt(b, 5, 2)
	if !ok || month < 1 || month > 12 {
		return "the month must be 01-12"
	}
	if len(b) == 7 {
		if needTime {
			return "the day and time are missing"
		}
		return ""
	}
	if b[7] != '-' {
		return "a '-' must follow the month"
	}
	day, ok := digitsAt(b, 8, 2)
	if !ok || day < 1 || day > daysInMonth(year, month) {
		return "the day does not exist in that month"
	}
	if len(b) == 10 {
		if needTime {
			return "the time is missing"
		}
		return ""
	}
	if !allowTime {
		return "a date has no time part"
	}
	if b[10] != 'T' {
		return "a 'T' must separate the date and the time"
	}
	rest := b[11:]
	end := 8
	if msg := checkClock(rest); msg != "" {
		return msg
	}
	if len(rest) > end && rest[end] == '.' {
		j := end + 1
		for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
			j++
		}
		if j == end+1 {
			return "a '.' must be followed by digits of a second"
		}
		end = j
	}
	zone := rest[end:]
	switch {
	case len(zone) == 0:
		return "a time needs a zone (Z or +01:00)"
	case len(zone) == 1 && zone[0] == 'Z':
		return ""
	case len(zone) == 6 && (zone[0] == '+' || zone[0] == '-') && zone[3] == ':':
		h, ok1 := digitsAt(zone, 1, 2)
		m, ok2 := digitsAt(zone, 4, 2)
		if !ok1 || !ok2 || m > 59 || h > 14 || h == 14 && m != 0 {
			return "the zone offset must be between -14:00 and +14:00"
		}
		return ""
	}
	return "the zone must be Z or ±hh:mm"
}

// checkClock checks hh:mm:ss at the start of b.
func checkClock(b []byte) string {
	if len(b) < 8 || b[2] != ':' || b[5] != ':' {
		return "the time must be hh:mm:ss (seconds are required)"
	}
	h, ok1 := digitsAt(b, 0, 2)
	m, ok2 := digitsAt(b, 3, 2)
	s, ok3 := digitsAt(b, 6, 2)
	if !ok1 || !ok2 || !ok3 || h > 23 || m > 59 || s > 60 {
		return "the time must be hh:mm:ss with hours 00-23, minutes and seconds 00-59"
	}
	return ""
}

func checkTime(b []byte) string {
	if msg := checkClock(b); msg != "" {
		return msg
	}
	rest := b[8:]
	if len(rest) == 0 {
		return ""
	}
	if rest[0] != '.' || len(rest) == 1 || !allDigits(rest[1:]) {
		return "only a fraction of a second may follow the seconds"
	}
	return ""
}
