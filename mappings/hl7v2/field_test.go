package hl7v2

import (
	"math/rand"
	"reflect"
	"testing"
)

// TestFieldPackedMatchesSplit: the packed field parser gives what the
// part-by-part one gives, and refuses only fields that one refuses, for
// random fields over the delimiters (small limits, so refusals happen),
// with delimiters missing too.
func TestFieldPackedMatchesSplit(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	alphabet := []byte("ab^~&\\FXS0\"")
	for _, d := range []Delimiters{DefaultDelimiters(), {Field: '|', Component: '^'}, {Field: '|', Repetition: '~', Escape: '\\'}} {
		p := &parser{d: d, cs: mustCharset(), opt: ParseOptions{MaxRepetitions: 3, MaxComponents: 3}.withDefaults()}
		for n := 0; n < 20000; n++ {
			b := make([]byte, r.Intn(14))
			for i := range b {
				b[i] = alphabet[r.Intn(len(alphabet))]
			}
			s := string(b)
			want, werr := p.fieldSplit(s)
			got, ok := p.fieldPacked(s)
			if ok != (werr == nil) {
				t.Fatalf("%q (%+v): packed ok %v, split error %v", s, d, ok, werr)
			}
			if ok && !reflect.DeepEqual(got, want) {
				t.Fatalf("%q (%+v): packed %+v, split %+v", s, d, got, want)
			}
		}
	}
}

func mustCharset() charset {
	cs, _ := lookupCharset("8859/1")
	return cs
}
