package hl7v2

import (
	"strings"
	"time"
)

// Typed views of the HL7 composite data types the mappings use. Every
// value is trimmed; absent parts are "".

// HD is a hierarchic designator (assigning authority, application,
// facility).
type HD struct{ Namespace, UniversalID, UniversalIDType string }

// Name returns the namespace ID, else the universal ID.
func (h HD) Name() string {
	if h.Namespace != "" {
		return h.Namespace
	}
	return h.UniversalID
}

// CX is an extended composite ID (patient identifiers).
type CX struct {
	ID, CheckDigit, CheckDigitScheme string
	Authority                        HD     // CX.4
	TypeCode                         string // CX.5 (table 0203: MR, PI, NNNLD…)
	Facility                         HD     // CX.6
}

// XPN is a person name. Family is FN.1 (the surname as sent, e.g.
// "de Vries-van Dijk").
type XPN struct {
	Family                                string
	OwnPrefix, OwnSurname                 string // FN.2, FN.3
	PartnerPrefix, PartnerSurname         string // FN.4, FN.5
	Given, Middle, Suffix, Prefix, Degree string
	NameType                              string // table 0200: L legal, D display, M maiden…
}

// XAD is an address.
type XAD struct {
	Street                         string // SAD.1, street or mailing address
	StreetName, HouseNumber        string // SAD.2, SAD.3
	Other, City, State, PostalCode string
	Country, AddressType           string // XAD.6, XAD.7 (table 0190: H home, B work, M mailing…)
}

// Line returns the street line: SAD.1, else street name and house number.
func (a XAD) Line() string {
	parts := []string{a.Street, a.StreetName, a.HouseNumber}
	return strings.Join(nonEmpty(parts...), " ")
}

// XCN is a person with an identifier (practitioners).
type XCN struct {
	ID                                    string
	Family                                string // FN.1
	Given, Middle, Suffix, Prefix, Degree string
	Authority                             HD     // XCN.9
	NameType                              string // XCN.10
	TypeCode                              string // XCN.13
}

// CWE is a coded element (CE/CWE/CNE).
type CWE struct {
	Code, Text, System          string
	AltCode, AltText, AltSystem string
	OriginalText                string // CWE.9
}

// IsZero reports whether c has neither code nor text.
func (c CWE) IsZero() bool {
	return c.Code == "" && c.Text == "" && c.AltCode == "" && c.OriginalText == ""
}

// EI is an entity identifier (placer/filler ids).
type EI struct{ ID, Namespace, UniversalID, UniversalIDType string }

// PL is a person location.
type PL struct {
	PointOfCare, Room, Bed       string
	Facility                     HD
	Status, PersonLocationType   string
	Building, Floor, Description string
}

// Key returns point of care, room and bed joined by "/", the location's
// identifier within the hospital.
func (p PL) Key() string { return strings.Join(nonEmpty(p.PointOfCare, p.Room, p.Bed), "/") }

// XTN is a telecommunication number.
type XTN struct {
	Number, UseCode, EquipmentType, Email string // XTN.1–4
	AreaCode, LocalNumber, Unformatted    string // XTN.6, XTN.7, XTN.12
}

func (r Rep) get(k int) string { return r.Get(k) }

func (c Comp) get(l int) string { return strings.TrimSpace(c.Sub(l)) }

// HD reads the repetition as an HD (components).
func (r Rep) HD() HD { return HD{r.get(1), r.get(2), r.get(3)} }

// HD reads a component as an HD (sub-components), as inside CX and XCN.
func (c Comp) HD() HD { return HD{c.get(1), c.get(2), c.get(3)} }

// CX reads the repetition as a CX.
func (r Rep) CX() CX {
	return CX{ID: r.get(1), CheckDigit: r.get(2), CheckDigitScheme: r.get(3), Authority: r.Comp(4).HD(), TypeCode: r.get(5), Facility: r.Comp(6).HD()}
}

// XPN reads the repetition as an XPN.
func (r Rep) XPN() XPN {
	fn := r.Comp(1)
	return XPN{Family: fn.get(1), OwnPrefix: fn.get(2), OwnSurname: fn.get(3), PartnerPrefix: fn.get(4), PartnerSurname: fn.get(5),
		Given: r.get(2), Middle: r.get(3), Suffix: r.get(4), Prefix: r.get(5), Degree: r.get(6), NameType: r.get(7)}
}

// XAD reads the repetition as an XAD.
func (r Rep) XAD() XAD {
	sad := r.Comp(1)
	return XAD{Street: sad.get(1), StreetName: sad.get(2), HouseNumber: sad.get(3), Other: r.get(2), City: r.get(3),
		State: r.get(4), PostalCode: r.get(5), Country: r.get(6), AddressType: r.get(7)}
}

// XCN reads the repetition as an XCN.
func (r Rep) XCN() XCN {
	return XCN{ID: r.get(1), Family: r.Comp(2).get(1), Given: r.get(3), Middle: r.get(4), Suffix: r.get(5), Prefix: r.get(6),
		Degree: r.get(7), Authority: r.Comp(9).HD(), NameType: r.get(10), TypeCode: r.get(13)}
}

// CWE reads the repetition as a CWE (also CE and CNE).
func (r Rep) CWE() CWE {
	return CWE{Code: r.get(1), Text: r.get(2), System: r.get(3), AltCode: r.get(4), AltText: r.get(5), AltSystem: r.get(6), OriginalText: r.get(9)}
}

// EI reads the repetition as an EI.
func (r Rep) EI() EI { return EI{r.get(1), r.get(2), r.get(3), r.get(4)} }

// PL reads the repetition as a PL. Some senders put the location's parts in
// sub-components of PL.1 ("11&X-Ray Room&L"): then the first is the point
// of care and the second the description.
func (r Rep) PL() PL {
	p := PL{PointOfCare: r.get(1), Room: r.get(2), Bed: r.get(3), Facility: r.Comp(4).HD(), Status: r.get(5),
		PersonLocationType: r.get(6), Building: r.get(7), Floor: r.get(8), Description: r.get(9)}
	first := r.Comp(1)
	if len(first.Subs()) > 1 && len(r.Comps()) == 1 {
		p.PointOfCare, p.Description = first.get(1), first.get(2)
	}
	return p
}

// XTN reads the repetition as an XTN.
func (r Rep) XTN() XTN {
	return XTN{Number: r.get(1), UseCode: r.get(2), EquipmentType: r.get(3), Email: r.get(4), AreaCode: r.get(6), LocalNumber: r.get(7), Unformatted: r.get(12)}
}

// Time reads the first component of the repetition as a DTM (a TS's
// time); empty gives the zero Time and no error.
func (r Rep) Time(loc *time.Location) (Time, error) {
	v := r.get(1)
	if v == "" {
		return Time{}, nil
	}
	return ParseTime(v, loc)
}

// Field-level shorthands for the first repetition.

// CX reads the first repetition as a CX.
func (f Field) CX() CX { return f.Rep(1).CX() }

// XPN reads the first repetition as an XPN.
func (f Field) XPN() XPN { return f.Rep(1).XPN() }

// XAD reads the first repetition as an XAD.
func (f Field) XAD() XAD { return f.Rep(1).XAD() }

// XCN reads the first repetition as an XCN.
func (f Field) XCN() XCN { return f.Rep(1).XCN() }

// CWE reads the first repetition as a CWE.
func (f Field) CWE() CWE { return f.Rep(1).CWE() }

// EI reads the first repetition as an EI.
func (f Field) EI() EI { return f.Rep(1).EI() }

// PL reads the first repetition as a PL.
func (f Field) PL() PL { return f.Rep(1).PL() }

// HD reads the first repetition as an HD.
func (f Field) HD() HD { return f.Rep(1).HD() }

// Time reads the first repetition as a DTM/TS.
func (f Field) Time(loc *time.Location) (Time, error) { return f.Rep(1).Time(loc) }

func nonEmpty(ss ...string) []string {
	var out []string
	for _, s := range ss {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}
