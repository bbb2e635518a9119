package conformance

import (
	"math/rand/v2"
	"testing"
)

// TestFoldASCIIAgreesWithUnicodeFolding: on ASCII strings the fast path
// folds exactly as the Unicode transforms do (case, every kind of white
// space, leading, trailing and repeated), and leaves other strings to them.
func TestFoldASCIIAgreesWithUnicodeFolding(t *testing.T) {
	for _, s := range []string{"", " ", "Jansen", "de Vries", "  Den   Haag ", "3511 AB", "a\tb\nc\vd\fe\rf", "already folded", "x ", " x", "A-Z_0.9/@[`{~"} {
		got, ok := foldASCII(s)
		if !ok || got != unicodeFold(s) {
			t.Errorf("foldASCII(%q) = %q, %v; want %q", s, got, ok, unicodeFold(s))
		}
	}
	if _, ok := foldASCII("Ríjsbergen"); ok {
		t.Error("a non-ASCII string took the ASCII path")
	}
	if got := Normalize("Ríjsbergen  MÜLLER"); got != "rijsbergen muller" {
		t.Errorf("Normalize of accents: %q", got)
	}
	r := rand.New(rand.NewPCG(3, 4))
	const alphabet = "aZ Q z\t\n\v\f\r09.-'"
	for i := 0; i < 20000; i++ {
		b := make([]byte, r.IntN(12))
		for j := range b {
			b[j] = alphabet[r.IntN(len(alphabet))]
		}
		s := string(b)
		if got, want := Normalize(s), unicodeFold(s); got != want {
			t.Fatalf("Normalize(%q) = %q, want %q", s, got, want)
		}
	}
}

// FuzzNormalize: the fast path and the Unicode transforms agree on every
// input (the fast path only takes ASCII).
func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"Jansen", " a  b ", "Ríjsbergen", "a\rb"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := Normalize(s), unicodeFold(s); got != want {
			t.Fatalf("Normalize(%q) = %q, want %q", s, got, want)
		}
	})
}
