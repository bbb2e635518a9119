// Package principaltest is the tests' stand-in for authentication: a
// handler that puts the principal named in a request header into the
// request's context, and a client that sends requests as a named principal.
package principaltest

import (
	"io"
	"net/http"
	"strings"
	"testing"

	ww "github.com/wachtwijzer/wachtwijzer"
)

// Header names the principal a test request acts for.
const Header = "X-Test-Principal"

// Handler serves h with the principal byName[Header] in each request's
// context; an unknown or missing name leaves the context as it is.
func Handler(h http.Handler, byName map[string]*ww.Principal) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p := byName[r.Header.Get(Header)]; p != nil {
			r = r.WithContext(ww.WithPrincipal(r.Context(), p))
		}
		h.ServeHTTP(w, r)
	})
}

// Do sends method base+path as the principal named as (a non-empty body as
// application/fhir+json) and returns the status, body and headers.
func Do(t testing.TB, base, as, method, path, body string) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set(Header, as)
	if body != "" {
		req.Header.Set("Content-Type", "application/fhir+json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b), resp.Header
}
