package nzacsv

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/wachtwijzer/wachtwijzer/conformance/nlid"
	"github.com/wachtwijzer/wachtwijzer/mediation"
)

// Row is one published waiting time.
type Row struct {
	// Line is the CSV line (1 = the header) or the 1-based index of the
	// JSON record.
	Line int
	Date mediation.Day
	// Days is the waiting time; HasDays is false with insufficient
	// observations.
	Days         int
	HasDays      bool
	Insufficient bool
	KvK          string
	CareProvider string
	// ProviderAGB and LocationAGB are 8-digit AGB codes (7 digits are
	// padded); LocationAGB may be empty when LocationKey is given.
	ProviderAGB, LocationAGB      string
	LocationKey, Location         string
	Street, StreetNumber, City    string
	PostalCode                    string // "6525 GA"
	TreatmentKey, TreatmentNumber string
	Treatment, TreatmentType      string
	// Kind is outpatient, diagnostics or treatment (from TreatmentType).
	Kind string
	// Specialism is the 4-digit COD016 code; SpecialismName its NZa name.
	Specialism, SpecialismName string
	Description                string
}

// RowError is a rejected row: its line, the field at fault and why.
type RowError struct {
	Line  int
	Field string
	Msg   string
}

func (e RowError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
	}
	return fmt.Sprintf("line %d, %s: %s", e.Line, e.Field, e.Msg)
}

// ErrFormat is wrapped by errors about a file as a whole.
var ErrFormat = errors.New("not an NZa waiting-time publication")

// Fields are the record fields, in the order of the NZa CSV.
var Fields = []string{"Date", "WaitingTime", "InsufficientObservations", "KVKNumber", "CareProvider", "CareProvider_AGBCode",
	"LocationKey", "Location_AGBCode", "Location", "Street", "StreetNumber", "PostalCode", "City",
	"TreatmentKey", "TreatmentNumber", "Treatment", "TreatmentType", "Specialism", "Description"}

// kinds maps TreatmentType to the wait kind of the published figure.
var kinds = map[string]string{"polikliniekbezoek": mediation.KindOutpatient, "diagnostiek": mediation.KindDiagnostics, "behandeling": mediation.KindTreatment}

// decode turns the file's bytes into a string: UTF-8 when it has a BOM or
// is valid UTF-8 with multi-byte sequences, else ISO-8859-1 (one byte per
// character, as the NZa publishes it).
func decode(b []byte) string {
	if bytes.HasPrefix(b, []byte("\xef\xbb\xbf")) {
		return string(b[3:])
	}
	ascii := true
	for _, c := range b {
		if c >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii || utf8.Valid(b) {
		return string(b)
	}
	r := make([]rune, len(b))
	for i, c := range b {
		r[i] = rune(c)
	}
	return string(r)
}

// ParseCSV reads the NZa CSV. err is set (wrapping ErrFormat) only when the
// file as a whole cannot be read; rows that break a rule are in the row
// errors.
func ParseCSV(data []byte) ([]Row, []RowError, error) {
	rd := csv.NewReader(strings.NewReader(decode(data)))
	rd.Comma = ';'
	rd.FieldsPerRecord = -1
	rd.ReuseRecord = false
	header, err := rd.Read()
	if err != nil {
		return nil, nil, fmt.Errorf("%w: no header row: %v", ErrFormat, err)
	}
	cols := map[string]int{}
	for i, h := range header {
		cols[strings.ToLower(strings.TrimSpace(h))] = i
	}
	if err := checkColumns(func(f string) bool { _, ok := cols[strings.ToLower(f)]; return ok }); err != nil {
		return nil, nil, err
	}
	var rows []Row
	var errs []RowError
	for {
		rec, err := rd.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				if pe.Err == csv.ErrFieldCount {
					continue
				}
				errs = append(errs, RowError{Line: pe.Line, Msg: "unreadable CSV: " + pe.Err.Error()})
				if pe.Err == csv.ErrQuote || pe.Err == csv.ErrBareQuote {
					// csv cannot resynchronise after a quote error.
					break
				}
				continue
			}
			return rows, errs, fmt.Errorf("%w: %v", ErrFormat, err)
		}
		line, _ := rd.FieldPos(0)
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		get := func(f string) string {
			i, ok := cols[strings.ToLower(f)]
			if !ok || i >= len(rec) {
				return ""
			}
			return strings.TrimSpace(rec[i])
		}
		row, rerr := build(line, get)
		if rerr != nil {
			errs = append(errs, *rerr)
			continue
		}
		rows = append(rows, row)
	}
	return rows, errs, nil
}

func checkColumns(has func(string) bool) error {
	var missing []string
	for _, f := range []string{"Date", "TreatmentType", "Specialism", "CareProvider_AGBCode", "WaitingTime"} {
		if !has(f) {
			missing = append(missing, f)
		}
	}
	if !has("Location_AGBCode") && !has("LocationKey") {
		missing = append(missing, "Location_AGBCode or LocationKey")
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: missing columns %s", ErrFormat, strings.Join(missing, ", "))
	}
	return nil
}

// ParseJSON reads the JSON of the WaitingTimeMSZ API: an array of records,
// or an object holding one array of records (under any key). Values may be
// strings, numbers or booleans.
func ParseJSON(data []byte) ([]Row, []RowError, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var top any
	if err := dec.Decode(&top); err != nil {
		return nil, nil, fmt.Errorf("%w: invalid JSON: %v", ErrFormat, err)
	}
	recs, ok := records(top)
	if !ok {
		return nil, nil, fmt.Errorf("%w: expected an array of waiting-time records (or an object with one)", ErrFormat)
	}
	var rows []Row
	var errs []RowError
	for i, r := range recs {
		m, ok := r.(map[string]any)
		if !ok {
			errs = append(errs, RowError{Line: i + 1, Msg: "a record must be a JSON object"})
			continue
		}
		lower := map[string]any{}
		for k, v := range m {
			lower[strings.ToLower(k)] = v
		}
		if i == 0 {
			if err := checkColumns(func(f string) bool { _, ok := lower[strings.ToLower(f)]; return ok }); err != nil {
				return nil, nil, err
			}
		}
		get := func(f string) string {
			switch v := lower[strings.ToLower(f)].(type) {
			case string:
				return strings.TrimSpace(v)
			case json.Number:
				return v.String()
			case bool:
				if v {
					return "true"
				}
				return "false"
			}
			return ""
		}
		row, rerr := build(i+1, get)
		if rerr != nil {
			errs = append(errs, *rerr)
			continue
		}
		rows = append(rows, row)
	}
	return rows, errs, nil
}

func records(v any) ([]any, bool) {
	switch x := v.(type) {
	case []any:
		return x, true
	case map[string]any:
		for _, k := range []string{"value", "data", "items", "records", "TL_RESTs", "TL_REST", "WaitingTimeMSZ"} {
			if inner, ok := x[k]; ok {
				if r, ok := records(inner); ok {
					return r, true
				}
			}
		}
		for _, inner := range x {
			if arr, ok := inner.([]any); ok {
				return arr, true
			}
		}
	}
	return nil, false
}

// build checks one record's fields and makes a Row.
func build(line int, get func(string) string) (Row, *RowError) {
	bad := func(field, format string, args ...any) (Row, *RowError) {
		return Row{}, &RowError{Line: line, Field: field, Msg: fmt.Sprintf(format, args...)}
	}
	r := Row{Line: line, KvK: get("KVKNumber"), CareProvider: get("CareProvider"), LocationKey: get("LocationKey"), Location: get("Location"),
		Street: get("Street"), StreetNumber: get("StreetNumber"), City: get("City"), TreatmentKey: get("TreatmentKey"),
		TreatmentNumber: get("TreatmentNumber"), Treatment: get("Treatment"), TreatmentType: get("TreatmentType"), Description: get("Description")}
	d, ok := parseDate(get("Date"))
	if !ok {
		return bad("Date", "%q is not a date (YYYY-MM-DD or DD-MM-YYYY)", get("Date"))
	}
	r.Date = d
	agb, _, err := nlid.NormalizeAGB(get("CareProvider_AGBCode"))
	if err != nil {
		return bad("CareProvider_AGBCode", "the care provider's AGB code must be 7 or 8 digits")
	}
	r.ProviderAGB = agb
	if v := get("Location_AGBCode"); v != "" {
		la, _, err := nlid.NormalizeAGB(v)
		if err != nil {
			return bad("Location_AGBCode", "the location's AGB code must be 7 or 8 digits")
		}
		r.LocationAGB = la
	}
	if r.LocationAGB == "" && r.LocationKey == "" {
		return bad("Location_AGBCode", "the row names no location (Location_AGBCode or LocationKey)")
	}
	if r.LocationKey != "" && strings.ContainsAny(r.LocationKey, "|\t\n") {
		return bad("LocationKey", "a location key cannot hold '|' or control characters")
	}
	k, ok := kinds[strings.ToLower(r.TreatmentType)]
	if !ok {
		return bad("TreatmentType", "%q is not Polikliniekbezoek, Diagnostiek or Behandeling", r.TreatmentType)
	}
	r.Kind = k
	spec, name, ok := specialism(get("Specialism"))
	if !ok {
		return bad("Specialism", "%q has no AGB specialism code (expected e.g. \"Orthopedie (305)\")", get("Specialism"))
	}
	r.Specialism, r.SpecialismName = spec, name
	switch v := strings.ToLower(get("InsufficientObservations")); v {
	case "ja", "j", "yes", "true", "1":
		r.Insufficient = true
	case "nee", "n", "no", "false", "0", "":
	default:
		return bad("InsufficientObservations", "%q is not Ja or Nee", get("InsufficientObservations"))
	}
	wt := get("WaitingTime")
	if !r.Insufficient {
		if wt == "" {
			return bad("WaitingTime", "no waiting time although InsufficientObservations is Nee")
		}
		n, ok := days(wt)
		if !ok {
			return bad("WaitingTime", "%q is not a number of days (0–3650)", wt)
		}
		r.Days, r.HasDays = n, true
	}
	if pc := get("PostalCode"); pc != "" {
		r.PostalCode = postcode(pc)
	}
	return r, nil
}

func parseDate(s string) (mediation.Day, bool) {
	if len(s) >= 10 && s[4] == '-' {
		d, err := mediation.ParseDay(s[:10])
		return d, err == nil
	}
	if len(s) >= 10 && s[2] == '-' && s[5] == '-' {
		d, err := mediation.ParseDay(s[6:10] + "-" + s[3:5] + "-" + s[0:2])
		return d, err == nil
	}
	return mediation.NoDay, false
}

func days(s string) (int, bool) {
	s = strings.Replace(s, ",", ".", 1)
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 || f > 3650 || f != f {
		return 0, false
	}
	return int(f + 0.5), true
}

// specialism reads "Orthopedie (305)" (or a bare code) into the 4-digit
// code and the name.
func specialism(s string) (code, name string, ok bool) {
	if i := strings.LastIndex(s, "("); i >= 0 && strings.HasSuffix(s, ")") {
		c, ok := mediation.NormalizeSpecialism(s[i+1 : len(s)-1])
		return c, strings.TrimSpace(s[:i]), ok
	}
	c, ok := mediation.NormalizeSpecialism(s)
	return c, "", ok
}

// postcode formats a Dutch postcode as "1234 AB" (others are kept).
func postcode(s string) string {
	t := strings.ToUpper(strings.ReplaceAll(s, " ", ""))
	if len(t) == 6 && mediation.PC4(t) != "" && t[4] >= 'A' && t[4] <= 'Z' && t[5] >= 'A' && t[5] <= 'Z' {
		return t[:4] + " " + t[4:]
	}
	return s
}
