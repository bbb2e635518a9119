package conformance

import (
	"context"
	"os"
	"testing"

	"github.com/wachtwijzer/wachtwijzer/fhirjson"
)

func benchTree(b *testing.B, file string) *fhirjson.Value {
	src, err := os.ReadFile(file)
	if err != nil {
		b.Fatal(err)
	}
	tree, err := fhirjson.Parse(src, fhirjson.Limits{})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(src)))
	return tree
}

func benchValidate(b *testing.B, typ, file string) {
	tree := benchTree(b, file)
	if err := Validate(context.Background(), typ, tree); err != nil {
		b.Fatalf("the benchmark resource must be valid: %v", err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := Validate(context.Background(), typ, tree); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkValidate measures the write-path validation of realistic
// resources (already parsed, as on every write path).
func BenchmarkValidateAppointment(b *testing.B) {
	benchValidate(b, "Appointment", "testdata/appointment.json")
}
func BenchmarkValidatePatient(b *testing.B) { benchValidate(b, "Patient", "testdata/patient.json") }
