package nlid

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestCheckBSN(t *testing.T) {
	tests := []struct {
		name string
		bsn  string
		want error // nil, ErrLength, ErrNotDigits or ErrChecksum
	}{
		{"public test BSN 999911120 passes", "999911120", nil},
		{"public test BSN 123456782 passes", "123456782", nil},
		{"test BSN 249566758 passes", "249566758", nil},
		{"legacy 8-digit number with leading zero added passes", "012345672", nil},
		{"123456789 (valid under the old bank 11-proef, +1·d9) fails", "123456789", ErrChecksum},
		{"typo in one digit fails the elfproef", "999911121", ErrChecksum},
		{"two swapped digits fail the elfproef", "129456782", ErrChecksum},
		{"all zeros: sum 0 is rejected", "000000000", ErrChecksum},
		{"empty", "", ErrLength},
		{"8 digits (leading zero dropped by a spreadsheet)", "12345672", ErrLength},
		{"10 digits", "1234567820", ErrLength},
		{"letter in the number", "12345678a", ErrNotDigits},
		{"dots as in a printed BSN", "1234.56.7", ErrNotDigits},
		{"surrounding space is not trimmed", " 23456782", ErrNotDigits},
		{"minus sign", "-12345678", ErrNotDigits},
		{"full-width unicode digits", "１２３４５６７８２", ErrLength},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckBSN(tt.bsn)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("CheckBSN: unexpected error %v", err)
				}
			} else if !errors.Is(err, tt.want) {
				t.Fatalf("CheckBSN error = %v, want %v", err, tt.want)
			}
			if got := ValidBSN(tt.bsn); got != (tt.want == nil) {
				t.Errorf("ValidBSN = %v, want %v", got, tt.want == nil)
			}
			if err != nil && len(tt.bsn) >= 4 && strings.Contains(err.Error(), strings.TrimSpace(tt.bsn)) {
				t.Errorf("error message %q echoes the BSN", err)
			}
		})
	}
}

func TestBSNCheckDigit(t *testing.T) {
	tests := []struct {
		name   string
		first8 string
		want   byte
		ok     bool
	}{
		{"completes public test BSN 999911120", "99991112", '0', true},
		{"completes public test BSN 123456782", "12345678", '2', true},
		{"completes test BSN 249566758", "24956675", '8', true},
		{"no digit exists when the check value would be 10", "00000005", 0, false},
		{"all zeros: sum 0 is never valid", "00000000", 0, false},
		{"7 digits", "1234567", 0, false},
		{"9 digits", "123456782", 0, false},
		{"non-digit", "1234567x", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := BSNCheckDigit(tt.first8)
			if got != tt.want || ok != tt.ok {
				t.Fatalf("BSNCheckDigit(%q) = %q, %v; want %q, %v", tt.first8, got, ok, tt.want, tt.ok)
			}
			if ok && !ValidBSN(tt.first8+string(got)) {
				t.Errorf("%s%c does not pass ValidBSN", tt.first8, got)
			}
		})
	}
}

// TestBSNCheckDigitAgreesWithValidBSN checks, over a range of prefixes, that
// the digit BSNCheckDigit returns is the only one that makes a valid BSN,
// and that no digit works when it reports false.
func TestBSNCheckDigitAgreesWithValidBSN(t *testing.T) {
	for n := 0; n < 200000; n += 7 {
		first8 := fmt.Sprintf("%08d", n*431%100000000)
		d, ok := BSNCheckDigit(first8)
		for c := byte('0'); c <= '9'; c++ {
			valid := ValidBSN(first8 + string(c))
			if valid != (ok && c == d) {
				t.Fatalf("prefix %s digit %c: ValidBSN=%v, BSNCheckDigit=(%c,%v)", first8, c, valid, d, ok)
			}
		}
	}
}

func TestCheckAGB(t *testing.T) {
	tests := []struct {
		name string
		agb  string
		want error
	}{
		{"academic hospital 06020502", "06020502", nil},
		{"ZBC 22xxxxxx", "22990003", nil},
		{"7 digits (leading zero dropped) is rejected on the REST API", "6020502", ErrLength},
		{"9 digits", "060205021", ErrLength},
		{"empty", "", ErrLength},
		{"letter", "0602050A", ErrNotDigits},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckAGB(tt.agb)
			if (tt.want == nil) != (err == nil) || (tt.want != nil && !errors.Is(err, tt.want)) {
				t.Fatalf("CheckAGB(%q) = %v, want %v", tt.agb, err, tt.want)
			}
		})
	}
}

func TestNormalizeAGB(t *testing.T) {
	tests := []struct {
		name       string
		in         string
		want       string
		wantPadded bool
		wantErr    error
	}{
		{"NZa file drops the leading zero of a hospital", "6020502", "06020502", true, nil},
		{"HL7 feed sends 8 digits", "06020502", "06020502", false, nil},
		{"ZBC code needs no padding", "22990003", "22990003", false, nil},
		{"6 digits", "602050", "", false, ErrLength},
		{"9 digits", "006020502", "", false, ErrLength},
		{"empty field", "", "", false, ErrLength},
		{"surrounding whitespace is not trimmed", " 6020502", "", false, ErrNotDigits},
		{"AGB with prefix text", "AGB06020502", "", false, ErrNotDigits},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, padded, err := NormalizeAGB(tt.in)
			if got != tt.want || padded != tt.wantPadded {
				t.Errorf("NormalizeAGB(%q) = %q, %v; want %q, %v", tt.in, got, padded, tt.want, tt.wantPadded)
			}
			if tt.wantErr == nil && err != nil {
				t.Errorf("unexpected error %v", err)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("error = %v, want %v", err, tt.wantErr)
			}
			if err == nil && CheckAGB(got) != nil {
				t.Errorf("normalised %q does not pass CheckAGB", got)
			}
		})
	}
}

func TestAGBKind(t *testing.T) {
	tests := []struct {
		name string
		agb  string
		want string
	}{
		{"general or academic hospital (06)", "06020502", KindHospital},
		{"ZBC (22)", "22990003", KindZBC},
		{"medical specialist (03)", "03990001", KindSpecialist},
		{"mental-health institution (54)", "54990001", KindMHC},
		{"insurer (98)", "98990001", KindInsurer},
		{"general practitioner (01)", "01990001", KindGP},
		{"pharmacy (02)", "02990001", KindPharmacy},
		{"unknown prefix 50 (laboratory)", "50990001", ""},
		{"unnormalised 7-digit hospital code is not guessed", "6020502", ""},
		{"not an AGB code", "hospital", ""},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := AGBKind(tt.agb); got != tt.want {
				t.Errorf("AGBKind(%q) = %q, want %q", tt.agb, got, tt.want)
			}
		})
	}
}

func TestCheckUZOVIAndURA(t *testing.T) {
	tests := []struct {
		name  string
		check func(string) error
		in    string
		want  error
	}{
		{"UZOVI 7119", CheckUZOVI, "7119", nil},
		{"UZOVI 3332", CheckUZOVI, "3332", nil},
		{"UZOVI with 3 digits", CheckUZOVI, "711", ErrLength},
		{"UZOVI with 5 digits", CheckUZOVI, "71190", ErrLength},
		{"UZOVI with a letter", CheckUZOVI, "71a9", ErrNotDigits},
		{"URA 8 digits", CheckURA, "90000123", nil},
		{"URA 7 digits", CheckURA, "9000012", ErrLength},
		{"URA with a letter", CheckURA, "9000012x", ErrNotDigits},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.check(tt.in)
			if (tt.want == nil) != (err == nil) || (tt.want != nil && !errors.Is(err, tt.want)) {
				t.Fatalf("check(%q) = %v, want %v", tt.in, err, tt.want)
			}
		})
	}
}

func TestNormalizeSpecialism(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    string
		wantErr error
	}{
		{"NZa writes orthopedie as 305", "305", "0305", nil},
		{"AGB code 0305 as is", "0305", "0305", nil},
		{"organisation kind ZBC 2200 passes the format check", "2200", "2200", nil},
		{"2 digits", "05", "", ErrLength},
		{"5 digits", "03050", "", ErrLength},
		{"empty", "", "", ErrLength},
		{"NZa label with name", "Orthopedie (305)", "", ErrNotDigits},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NormalizeSpecialism(tt.in)
			if got != tt.want {
				t.Errorf("NormalizeSpecialism(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if (tt.wantErr == nil) != (err == nil) || (tt.wantErr != nil && !errors.Is(err, tt.wantErr)) {
				t.Errorf("error = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestIsSpecialismSystem(t *testing.T) {
	tests := []struct {
		name   string
		system string
		want   bool
	}{
		{"Nictiz OID", SystemSpecialismOID, true},
		{"Vektis URL from the VWS directory IG", SystemSpecialismVektis, true},
		{"bare OID without urn:oid:", "2.16.840.1.113883.2.4.6.7", false},
		{"AGB naming system is not a code system for specialisms", SystemAGB, false},
		{"empty", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsSpecialismSystem(tt.system); got != tt.want {
				t.Errorf("IsSpecialismSystem(%q) = %v, want %v", tt.system, got, tt.want)
			}
		})
	}
}

func TestSpecialismDisplay(t *testing.T) {
	tests := []struct {
		name   string
		code   string
		want   string
		wantOK bool
	}{
		{"orthopedie by AGB code", "0305", "Orthopedie", true},
		{"orthopedie as the NZa writes it", "305", "Orthopedie", true},
		{"oogheelkunde", "0301", "Oogheelkunde", true},
		{"cardiologie", "0320", "Cardiologie", true},
		{"klinische genetica, last in the table", "0390", "Klinische genetica", true},
		{"0309 zenuw- en zielsziekten is not in the list", "0309", "", false},
		{"organisation kind 0602 is not a specialism", "0602", "", false},
		{"malformed", "3o5", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := SpecialismDisplay(tt.code)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("SpecialismDisplay(%q) = %q, %v; want %q, %v", tt.code, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestSpecialismsTable(t *testing.T) {
	if len(Specialisms) != 26 {
		t.Errorf("Specialisms has %d entries, DOMAIN.md lists 26", len(Specialisms))
	}
	prev := ""
	for _, s := range Specialisms {
		if len(s.Code) != 4 || !allDigits(s.Code) || !strings.HasPrefix(s.Code, "03") {
			t.Errorf("code %q is not a 4-digit 03xx medical specialism", s.Code)
		}
		if s.Code <= prev {
			t.Errorf("code %q out of order or duplicated after %q", s.Code, prev)
		}
		prev = s.Code
		if s.Display == "" {
			t.Errorf("code %s has no display", s.Code)
		}
	}
}
