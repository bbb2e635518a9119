package auth

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/smart"
)

// FuzzParseScope: any scope string parses or errors, never panics; what
// parses round-trips through its permission letters.
func FuzzParseScope(f *testing.F) {
	for _, s := range []string{"system/Patient.read", "system/*.cruds", "user/Slot.rs", "system/Patient.rs?x=y", "system/.", "/", "system/Patient.*"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sc, err := ParseScope(s)
		if err != nil {
			return
		}
		if sc.Perm == 0 {
			t.Fatalf("%q parsed with no permission", s)
		}
		again, err := ParseScope(sc.Context + "/" + sc.Type + "." + sc.Perm.String())
		if err != nil || again.Perm != sc.Perm {
			t.Fatalf("%q: %s does not round-trip: %v", s, sc.Perm, err)
		}
		g, _ := ParseGrants(s)
		if sc.Context == "system" && !g.Covers(sc) {
			t.Fatalf("grants of %q do not cover it", s)
		}
	})
}

// FuzzAuthenticate: any Authorization header is a 401 (or passes as a
// token our key signed), never a panic.
func FuzzAuthenticate(f *testing.F) {
	for _, s := range []string{"Bearer a.b.c", "Bearer eyJhbGciOiJub25lIn0.e30.", "bearer", "Basic x", "Bearer " + strings.Repeat("a.", 20)} {
		f.Add(s)
	}
	s, err := New(Options{Config: &Config{}, Redis: nilRedis{}, Clock: &ww.FixedClock{T: time.Unix(1_800_000_000, 0)}, Fetcher: nil})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, h string) {
		r := httptest.NewRequest("GET", "http://gw.test/fhir/Patient", nil)
		r.Header.Set("Authorization", h)
		if _, _, err := s.Authenticate(r); err == nil {
			t.Fatalf("%q was accepted", h)
		} else if !ww.IsKind(err, ww.KindUnauthorized) {
			t.Fatalf("%q: %v, want a 401", h, err)
		}
		_, _, _ = smart.Parse(strings.TrimPrefix(h, "Bearer "))
	})
}

// nilRedis is a Redis that is never reached (Authenticate does not use it).
type nilRedis struct{ redis.Cmdable }
