package nlid

import (
	"strings"
	"testing"
)

// FuzzBSN checks that the identifier functions never panic on arbitrary
// input, that ValidBSN and CheckBSN agree, and that what NormalizeAGB
// accepts passes CheckAGB.
func FuzzBSN(f *testing.F) {
	for _, s := range []string{
		"999911120", "123456782", "249566758", "123456789", "000000000",
		"", "12345678", "1234567890", "12345678a", "６020502", "6020502", "06020502",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		valid := ValidBSN(s)
		err := CheckBSN(s)
		if valid != (err == nil) {
			t.Fatalf("ValidBSN=%v but CheckBSN error=%v", valid, err)
		}
		if err != nil && len(s) >= 4 && strings.Contains(err.Error(), s) {
			t.Fatalf("CheckBSN error %q echoes its input", err)
		}
		if len(s) >= 8 {
			d, ok := BSNCheckDigit(s[:8])
			if ok && !ValidBSN(s[:8]+string(d)) {
				t.Fatalf("BSNCheckDigit gave %q which does not validate", d)
			}
		}
		norm, padded, err := NormalizeAGB(s)
		if err == nil {
			if CheckAGB(norm) != nil {
				t.Fatalf("NormalizeAGB accepted a value whose result fails CheckAGB")
			}
			if padded != (len(s) == 7) {
				t.Fatalf("padded=%v for input of length %d", padded, len(s))
			}
		} else if norm != "" || padded {
			t.Fatalf("NormalizeAGB returned %q, %v with error %v", norm, padded, err)
		}
		_ = AGBKind(s)
		if n, err := NormalizeSpecialism(s); err == nil && len(n) != 4 {
			t.Fatalf("NormalizeSpecialism returned %q", n)
		}
		_, _ = SpecialismDisplay(s)
	})
}
