package nlid

import "fmt"

// Specialism is one AGB medical specialism code (Vektis COD016-VEKT) with a
// short Dutch display name.
type Specialism struct {
	Code    string // four digits, e.g. "0305"
	Display string // short Dutch name, e.g. "Orthopedie"
}

// Specialisms lists the 26 medical specialisms Wachtwijzer knows, in code
// order (the list in DOMAIN.md; `gen` draws from it). Codes come from
// COD016-VEKT "Zorgverlenersspecificatie (subberoepsgroep)", group 03xx
// (medisch specialisten). Display names are short Dutch names for people:
// the official list prefixes most of them with "Medisch specialisten, ", and
// the NZa writes "Orthopedie (305)". Match on Code, never on Display.
// Extend the table only from a cited source. Do not modify it at run time.
//
//	code  display
//	0301  Oogheelkunde
//	0302  Keel-, neus- en oorheelkunde (KNO)
//	0303  Chirurgie (heelkunde)
//	0304  Plastische chirurgie
//	0305  Orthopedie
//	0306  Urologie
//	0307  Obstetrie en gynaecologie
//	0308  Neurochirurgie
//	0310  Dermatologie en venerologie
//	0313  Interne geneeskunde
//	0316  Kindergeneeskunde
//	0318  Maag-, darm- en leverziekten (MDL)
//	0320  Cardiologie
//	0322  Longziekten
//	0324  Reumatologie
//	0326  Allergologie
//	0327  Revalidatiegeneeskunde
//	0328  Cardiothoracale chirurgie
//	0329  Psychiatrie
//	0330  Neurologie
//	0335  Klinische geriatrie
//	0361  Radiotherapie
//	0362  Radiologie
//	0363  Nucleaire geneeskunde
//	0389  Anesthesiologie
//	0390  Klinische genetica
var Specialisms = []Specialism{
	{Code: "0301", Display: "Oogheelkunde"},
	{Code: "0302", Display: "Keel-, neus- en oorheelkunde (KNO)"},
	{Code: "0303", Display: "Chirurgie (heelkunde)"},
	{Code: "0304", Display: "Plastische chirurgie"},
	{Code: "0305", Display: "Orthopedie"},
	{Code: "0306", Display: "Urologie"},
	{Code: "0307", Display: "Obstetrie en gynaecologie"},
	{Code: "0308", Display: "Neurochirurgie"},
	{Code: "0310", Display: "Dermatologie en venerologie"},
	{Code: "0313", Display: "Interne geneeskunde"},
	{Code: "0316", Display: "Kindergeneeskunde"},
	{Code: "0318", Display: "Maag-, darm- en leverziekten (MDL)"},
	{Code: "0320", Display: "Cardiologie"},
	{Code: "0322", Display: "Longziekten"},
	{Code: "0324", Display: "Reumatologie"},
	{Code: "0326", Display: "Allergologie"},
	{Code: "0327", Display: "Revalidatiegeneeskunde"},
	{Code: "0328", Display: "Cardiothoracale chirurgie"},
	{Code: "0329", Display: "Psychiatrie"},
	{Code: "0330", Display: "Neurologie"},
	{Code: "0335", Display: "Klinische geriatrie"},
	{Code: "0361", Display: "Radiotherapie"},
	{Code: "0362", Display: "Radiologie"},
	{Code: "0363", Display: "Nucleaire geneeskunde"},
	{Code: "0389", Display: "Anesthesiologie"},
	{Code: "0390", Display: "Klinische genetica"},
}

// specialismIndex maps a four-digit code to its position in Specialisms.
var specialismIndex = func() map[string]int {
	m := make(map[string]int, len(Specialisms))
	for i, s := range Specialisms {
		m[s.Code] = i
	}
	return m
}()

// NormalizeSpecialism returns the four-digit form of an AGB specialism
// code: three digits get the dropped leading zero back ("305" → "0305", as
// the NZa writes them), four digits are returned as they are. Any other
// input is an error. It checks the format only, not membership of
// Specialisms (the same code list also holds organisation kinds such as
// "0602" and "2200").
func NormalizeSpecialism(code string) (string, error) {
	switch {
	case !allDigits(code) && code != "":
		return "", fmt.Errorf("nlid: specialism code must be 3 or 4 digits, got a non-digit character: %w", ErrNotDigits)
	case len(code) == 3:
		return "0" + code, nil
	case len(code) == 4:
		return code, nil
	default:
		return "", fmt.Errorf("nlid: specialism code must be 3 or 4 digits, got %d characters: %w", len(code), ErrLength)
	}
}

// IsSpecialismSystem reports whether system is one of the two URIs of the
// AGB specialism code list: SystemSpecialismOID (Nictiz) or
// SystemSpecialismVektis (VWS directory IG). Both are accepted on input.
func IsSpecialismSystem(system string) bool {
	return system == SystemSpecialismOID || system == SystemSpecialismVektis
}

// SpecialismDisplay returns the Dutch display name of a specialism in
// Specialisms. The code may be in three- or four-digit form ("305" or
// "0305"); ok is false for malformed or unknown codes.
func SpecialismDisplay(code string) (display string, ok bool) {
	norm, err := NormalizeSpecialism(code)
	if err != nil {
		return "", false
	}
	i, ok := specialismIndex[norm]
	if !ok {
		return "", false
	}
	return Specialisms[i].Display, true
}
