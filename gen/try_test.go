package gen

import (
	"testing"
	"time"
)

func TestTry(t *testing.T) {
	for _, n := range []int{2000, 100000} {
		t0 := time.Now()
		counts, err := WriteNDJSON(t.TempDir(), Config{Seed: 1, Appointments: n, AsOf: time.Date(2026, 3, 20, 10, 0, 0, 0, amsterdam), DeploymentKey: []byte("k")})
		if err != nil {
			t.Fatal(err)
		}
		t.Log(n, time.Since(t0), counts)
	}
}
