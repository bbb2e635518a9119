package gen

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/wachtwijzer/wachtwijzer/conformance/nlid"
)

// NZaHeader is the header row of the NZa Zorgbeeld waiting-time CSV.
var NZaHeader = []string{
	"Date", "WaitingTime", "InsufficientObservations", "KVKNumber", "CareProvider", "CareProvider_AGBCode",
	"LocationKey", "Location_AGBCode", "Location", "Street", "StreetNumber", "PostalCode", "City",
	"TreatmentKey", "TreatmentNumber", "Treatment", "TreatmentType", "Specialism", "Description",
}

// HospitalHeader is the header row of a hospital waiting-list export
// (WriteHospitalCSV).
var HospitalHeader = []string{
	"patientnummer", "bsn", "achternaam", "geboortedatum", "postcode", "verwijsdatum", "specialisme", "soort",
	"afspraakdatum", "afspraakstatus", "ordernummer",
	"voornaam", "geslacht", "status", "complexiteit", "locatie_agb", "afspraaknummer",
}

var nzaTypes = [3]string{"Polikliniekbezoek", "Diagnostiek", "Behandeling"}

// csvField quotes a field when it holds the separator, a quote or a line
// break (RFC 4180 with ';').
func csvField(s string) string {
	if !strings.ContainsAny(s, ";\"\r\n") {
		return s
	}
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// latin1 appends s encoded as ISO-8859-1 ('?' for runes beyond U+00FF).
func latin1(b []byte, s string) []byte {
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		i += n
		if r > 0xFF {
			r = '?'
		}
		b = append(b, byte(r))
	}
	return b
}

// WriteNZaCSV writes the world's published waits as the NZa Zorgbeeld CSV:
// ';'-separated, ISO-8859-1, CRLF line ends, the NZaHeader row, then one
// row per HealthcareService (location × specialism) and treatment type
// (Polikliniekbezoek, Diagnostiek, Behandeling). WaitingTime is in days and
// empty when InsufficientObservations is Ja (those kinds carry no
// published-waiting-time extension on the HealthcareService). It returns
// the number of data rows.
func WriteNZaCSV(out io.Writer, cfg Config) (int, error) {
	w, err := New(cfg)
	if err != nil {
		return 0, err
	}
	return w.WriteNZaCSV(out)
}

// WriteNZaCSV writes the NZa CSV (see the package function).
func (w *World) WriteNZaCSV(out io.Writer) (int, error) {
	bw := bufio.NewWriterSize(out, 1<<20)
	var b []byte
	row := func(fields []string) {
		b = b[:0]
		for i, f := range fields {
			if i > 0 {
				b = append(b, ';')
			}
			b = latin1(b, csvField(f))
		}
		b = append(b, '\r', '\n')
		bw.Write(b)
	}
	row(NZaHeader)
	date := w.days.date(w.peil)
	rows := 0
	for _, s := range w.svcs {
		sp := specParams[s.spec]
		code := nlid.Specialisms[s.spec].Code
		l, o := s.loc, s.org
		for t, typ := range nzaTypes {
			wait, insufficient := "", "Ja"
			if s.published[t] >= 0 {
				wait, insufficient = strconv.Itoa(s.published[t]), "Nee"
			}
			treatment := [3]string{sp.nza, sp.diagnostic, sp.treatment}[t]
			number := strconv.Itoa(atoi(code)*10 + t + 1)
			row([]string{
				date, wait, insufficient, o.kvk, o.name, o.agb,
				l.key, l.agb, l.name, l.street, l.number, strings.ReplaceAll(l.postal, " ", ""), cities[l.city].name,
				uuid(0, 99, uint64(atoi(number))), number, treatment, typ,
				fmt.Sprintf("%s (%s)", sp.nza, strings.TrimLeft(code, "0")),
				[3]string{"Eerste polikliniekbezoek " + strings.ToLower(sp.nza), "Diagnostiek: " + sp.diagnostic, "Behandeling: " + sp.treatment}[t],
			})
			rows++
		}
	}
	return rows, bw.Flush()
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

// Provider is a care provider of the world (for choosing an AGB for
// WriteHospitalCSV, or for tests).
type Provider struct {
	AGB       string   // 8-digit AGB code of the Organization
	ID        string   // the Organization id
	Name      string   //
	Type      string   // COD016 organisation kind: 0601, 0602, 0613, 0614, 2200
	City      string   // city of the main location
	Province  string   //
	Locations []string // AGB codes of its locations, main first
}

// Providers lists the world's care providers, hospitals first.
func Providers(cfg Config) ([]Provider, error) {
	w, err := New(cfg)
	if err != nil {
		return nil, err
	}
	return w.Providers(), nil
}

// Providers lists the world's care providers (see the package function).
func (w *World) Providers() []Provider {
	out := make([]Provider, len(w.orgs))
	for i, o := range w.orgs {
		p := Provider{AGB: o.agb, ID: o.id, Name: o.name, Type: orgTypeCode[o.kind],
			City: cities[o.city].name, Province: cities[o.city].province}
		for _, l := range o.locs {
			p.Locations = append(p.Locations, l.agb)
		}
		out[i] = p
	}
	return out
}

// WriteHospitalCSV writes one hospital's waiting-list export: UTF-8,
// ';'-separated, LF line ends, the HospitalHeader row, then one row per
// referral (wait) at the provider with AGB agb, in referral order. Dates
// are ISO 8601 (afspraakdatum an instant with the Amsterdam offset);
// specialisme the 4-digit AGB code; soort the wait-kind code; afspraak*
// describe the appointment that ends the wait (else the latest one), empty
// when the wait has none; status the ServiceRequest status; complexiteit
// "hoog" or empty; geslacht M or V. It returns the number of data rows.
func WriteHospitalCSV(out io.Writer, cfg Config, agb string) (int, error) {
	w, err := New(cfg)
	if err != nil {
		return 0, err
	}
	return w.WriteHospitalCSV(out, agb)
}

// WriteHospitalCSV writes a hospital export (see the package function).
func (w *World) WriteHospitalCSV(out io.Writer, agb string) (int, error) {
	var target *org
	for _, o := range w.orgs {
		if o.agb == agb {
			target = o
		}
	}
	if target == nil {
		return 0, fmt.Errorf("gen: no care provider with AGB %q in this world", agb)
	}
	bw := bufio.NewWriterSize(out, 1<<20)
	var b []byte
	row := func(fields []string) {
		b = b[:0]
		for i, f := range fields {
			if i > 0 {
				b = append(b, ';')
			}
			b = append(b, csvField(f)...)
		}
		b = append(b, '\n')
		bw.Write(b)
	}
	row(HospitalHeader)
	rows := 0
	bk := w.newBooker()
	for j := 0; j < w.nRef; j++ {
		// Plan every referral: the booker must see them all in order.
		p := w.plan(j, bk)
		if p.rec.org != target {
			continue
		}
		pers := w.person(p.rec.person)
		var date, status, number string
		if i := p.anchor; i >= 0 || p.n > 0 {
			if i < 0 {
				i = p.n - 1
			}
			a := &p.appts[i]
			status, number = StatusCodes[a.st], w.apptNumber(&p, i)
			if a.st != stWaitlist {
				date = string(w.days.instant(nil, a.day, a.start))
			}
		}
		sex := "M"
		if pers.female {
			sex = "V"
		}
		high := ""
		if p.high {
			high = "hoog"
		}
		row([]string{
			p.rec.patnr, w.bsn(pers.n), pers.family, pers.birth, pers.postal, w.days.date(p.authored),
			nlid.Specialisms[p.svc.spec].Code, KindCodes[p.kind], date, status, w.orderNumber(&p),
			pers.given, sex, srStatusCodes[p.status], high, p.svc.loc.agb, number,
		})
		rows++
	}
	return rows, bw.Flush()
}
