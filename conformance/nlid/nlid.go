package nlid

import (
	"errors"
	"fmt"
)

// FHIR identifier and code systems (Nictiz naming systems for the Netherlands).
const (
	// SystemBSN is the naming system of the citizen service number
	// (burgerservicenummer, OID 2.16.840.1.113883.2.4.6.3).
	SystemBSN = "http://fhir.nl/fhir/NamingSystem/bsn"
	// SystemAGB is the naming system of AGB codes of care providers and
	// organisations (Vektis AGB-Z register, OID 2.16.840.1.113883.2.4.6.1).
	SystemAGB = "http://fhir.nl/fhir/NamingSystem/agb-z"
	// SystemURA is the naming system of URA numbers of healthcare
	// organisations (UZI register, OID 2.16.528.1.1007.3.3).
	SystemURA = "http://fhir.nl/fhir/NamingSystem/ura"
	// SystemUZOVI is the naming system of UZOVI codes of health insurers
	// (OID 2.16.840.1.113883.2.4.6.4).
	SystemUZOVI = "http://fhir.nl/fhir/NamingSystem/uzovi"
	// SystemSpecialismOID is the Nictiz system URI of the AGB specialism
	// and organisation-kind code list (Vektis COD016-VEKT). Wachtwijzer
	// writes this one.
	SystemSpecialismOID = "urn:oid:2.16.840.1.113883.2.4.6.7"
	// SystemSpecialismVektis is the system URI the VWS directory
	// implementation guide uses for the same code list. It is accepted on
	// input; see IsSpecialismSystem.
	SystemSpecialismVektis = "http://ei.vektis.nl/codelijsten/COD016-VEKT"
)

// Sentinel errors wrapped by the Check and Normalize functions. Test with
// errors.Is; the wrapping error adds which identifier and what was expected,
// never the rejected value.
var (
	// ErrLength reports a value with the wrong number of characters.
	ErrLength = errors.New("wrong length")
	// ErrNotDigits reports a value containing something other than the
	// ASCII digits 0-9.
	ErrNotDigits = errors.New("not all digits")
	// ErrChecksum reports a BSN that fails the elfproef (11-check).
	ErrChecksum = errors.New("fails the elfproef")
)

// AGB provider kinds returned by AGBKind.
const (
	KindGP         = "gp"         // 01 huisartsen
	KindPharmacy   = "pharmacy"   // 02 apothekers
	KindSpecialist = "specialist" // 03 medisch specialisten
	KindHospital   = "hospital"   // 06 ziekenhuizen
	KindZBC        = "zbc"        // 22 zelfstandige behandelcentra
	KindMHC        = "mhc"        // 54 GGZ-instellingen (mental health)
	KindInsurer    = "insurer"    // 98 zorgverzekeraars/declaranten
)

// agbKinds maps the first two digits of an AGB code to its provider kind
// (zorgpartijsoort, Vektis). Prefixes not listed here yield "".
var agbKinds = map[string]string{
	"01": KindGP,
	"02": KindPharmacy,
	"03": KindSpecialist,
	"06": KindHospital,
	"22": KindZBC,
	"54": KindMHC,
	"98": KindInsurer,
}

// allDigits reports whether s is non-empty and consists of ASCII digits only.
func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// checkDigits checks that s is exactly n ASCII digits; what names the
// identifier in the error message.
func checkDigits(what string, s string, n int) error {
	if len(s) != n {
		return fmt.Errorf("nlid: %s must be %d digits, got %d characters: %w", what, n, len(s), ErrLength)
	}
	if !allDigits(s) {
		return fmt.Errorf("nlid: %s must be %d digits, got a non-digit character: %w", what, n, ErrNotDigits)
	}
	return nil
}

// bsnWeightedSum returns 9·d1 + 8·d2 + … + 2·d8 for the first eight digits
// of s, which must be ASCII digits.
func bsnWeightedSum(s string) int {
	sum := 0
	for i := 0; i < 8; i++ {
		sum += (9 - i) * int(s[i]-'0')
	}
	return sum
}

// ValidBSN reports whether s is a well-formed citizen service number: nine
// ASCII digits passing the elfproef 9·d1+8·d2+…+2·d8−1·d9 ≡ 0 (mod 11) with
// a non-zero sum. Passing does not mean the number was ever issued.
// ValidBSN(s) equals CheckBSN(s) == nil.
func ValidBSN(s string) bool {
	if len(s) != 9 || !allDigits(s) {
		return false
	}
	sum := bsnWeightedSum(s) - int(s[8]-'0')
	return sum != 0 && sum%11 == 0
}

// CheckBSN returns nil when s is a well-formed BSN (see ValidBSN) and
// otherwise an error saying why: wrong length ([ErrLength]), a non-digit
// ([ErrNotDigits]) or a failed elfproef ([ErrChecksum]). The message never
// contains s.
func CheckBSN(s string) error {
	if err := checkDigits("BSN", s, 9); err != nil {
		return err
	}
	if !ValidBSN(s) {
		return fmt.Errorf("nlid: BSN %w", ErrChecksum)
	}
	return nil
}

// BSNCheckDigit returns the ninth digit, as an ASCII byte '0'–'9', that
// makes first8 followed by it a valid BSN, so that first8+string(d) passes
// ValidBSN. It reports false when first8 is not eight ASCII digits or when
// no digit exists (the required check value is 10, or the sum would be 0).
// It is meant for generators of synthetic test data.
func BSNCheckDigit(first8 string) (byte, bool) {
	if len(first8) != 8 || !allDigits(first8) {
		return 0, false
	}
	s := bsnWeightedSum(first8)
	d := s % 11 // s − d ≡ 0 (mod 11)
	if d == 10 || s-d == 0 {
		return 0, false
	}
	return byte('0' + d), true
}

// CheckAGB returns nil when s is a well-formed AGB code: exactly eight ASCII
// digits. It is the strict check for resources written through the REST
// API; ingest paths use NormalizeAGB first.
func CheckAGB(s string) error {
	return checkDigits("AGB code", s, 8)
}

// NormalizeAGB turns an AGB code as found in source files into its
// eight-digit form. Seven digits mean a dropped leading zero: a '0' is
// prepended and padded is true ("6020502" → "06020502"). Eight digits are
// returned as they are. Anything else is an error; surrounding whitespace is
// not trimmed, that is the caller's job.
func NormalizeAGB(s string) (norm string, padded bool, err error) {
	switch {
	case len(s) == 7 && allDigits(s):
		return "0" + s, true, nil
	case len(s) == 8 && allDigits(s):
		return s, false, nil
	case !allDigits(s) && s != "":
		return "", false, fmt.Errorf("nlid: AGB code must be 7 or 8 digits, got a non-digit character: %w", ErrNotDigits)
	default:
		return "", false, fmt.Errorf("nlid: AGB code must be 7 or 8 digits, got %d characters: %w", len(s), ErrLength)
	}
}

// AGBKind returns the kind of care provider an eight-digit AGB code belongs
// to, from its first two digits: KindHospital ("hospital", 06), KindZBC
// ("zbc", 22), KindSpecialist ("specialist", 03), KindMHC ("mhc", 54),
// KindInsurer ("insurer", 98), KindGP ("gp", 01) or KindPharmacy
// ("pharmacy", 02). It returns "" for other prefixes and for anything that
// is not a valid AGB code, including unnormalised seven-digit values.
func AGBKind(agb string) string {
	if CheckAGB(agb) != nil {
		return ""
	}
	return agbKinds[agb[:2]]
}

// CheckUZOVI returns nil when s is a well-formed UZOVI insurer code:
// exactly four ASCII digits.
func CheckUZOVI(s string) error {
	return checkDigits("UZOVI code", s, 4)
}

// CheckURA returns nil when s is a well-formed URA number: exactly eight
// ASCII digits.
func CheckURA(s string) error {
	return checkDigits("URA number", s, 8)
}
