package pull

import "testing"

// FuzzParseSources: a sources file of any bytes is read or refused.
func FuzzParseSources(f *testing.F) {
	f.Add([]byte(`{"sources":[{"id":"zkh","baseUrl":"https://x/fhir","interval":"5m","resources":[{"type":"Patient","filter":"active=true"}],"auth":{"type":"bearer","tokenEnv":"T"}}]}`))
	f.Add([]byte(`{"sources":[{"id":"p","kind":"bulk-publish","baseUrl":"https://x/$bulk-publish","reconcileEvery":"0s"}]}`))
	f.Add([]byte(`{"sources":[null]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		f, err := Parse(b)
		if err != nil {
			return
		}
		for _, s := range f.Sources {
			if s.PageSize < 1 || s.Interval <= 0 || s.ReconcileEvery == nil || len(s.Resources) == 0 {
				t.Fatalf("accepted without defaults: %+v", s)
			}
		}
	})
}

// FuzzParseBundle: a page of any bytes is read or refused.
func FuzzParseBundle(f *testing.F) {
	f.Add([]byte(`{"resourceType":"Bundle","type":"searchset","link":[{"relation":"next","url":"https://x/fhir/Patient?_page=2"}],"entry":[{"resource":{"resourceType":"Patient","id":"a"}}]}`))
	f.Add([]byte(`{"resourceType":"Bundle","entry":null}`))
	f.Add([]byte(`{"resourceType":"Bundle","entry":{}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		parseBundle(b)
	})
}
