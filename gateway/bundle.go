package gateway

import (
	"net/http"
	"strconv"
	"time"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/fhirjson"
	"github.com/wachtwijzer/wachtwijzer/fhirtime"
)

// bundleBuilder assembles a Bundle around stored resource bytes without
// decoding them.
type bundleBuilder struct {
	b       *fhirjson.Value
	entries *fhirjson.Value
}

func newBundle(typ string, clock ww.Clock) *bundleBuilder {
	b := fhirjson.NewObject()
	b.Set("resourceType", fhirjson.NewString("Bundle"))
	b.Set("id", fhirjson.NewString(ww.NewID()))
	meta := fhirjson.NewObject()
	meta.Set("lastUpdated", fhirjson.NewString(fhirtime.FormatInstant(clock.Now())))
	b.Set("meta", meta)
	b.Set("type", fhirjson.NewString(typ))
	return &bundleBuilder{b: b, entries: fhirjson.NewArray()}
}

func (bb *bundleBuilder) total(n int) {
	bb.b.Set("total", fhirjson.NewNumber(int64(n)))
}

func (bb *bundleBuilder) link(rel, url string) {
	links := bb.b.Get("link")
	if links == nil {
		links = fhirjson.NewArray()
		bb.b.Set("link", links)
	}
	l := fhirjson.NewObject()
	l.Set("relation", fhirjson.NewString(rel))
	l.Set("url", fhirjson.NewString(url))
	links.Items = append(links.Items, l)
}

// entry appends an entry and returns it for further members.
func (bb *bundleBuilder) entry(fullURL string, resource []byte) *fhirjson.Value {
	e := fhirjson.NewObject()
	if fullURL != "" {
		e.Set("fullUrl", fhirjson.NewString(fullURL))
	}
	if resource != nil {
		e.Set("resource", fhirjson.NewRaw(resource))
	}
	bb.entries.Items = append(bb.entries.Items, e)
	return e
}

func searchMode(e *fhirjson.Value, mode string) *fhirjson.Value {
	s := fhirjson.NewObject()
	s.Set("mode", fhirjson.NewString(mode))
	e.Set("search", s)
	return s
}

func (bb *bundleBuilder) bytes() []byte {
	if len(bb.entries.Items) > 0 {
		bb.b.Set("entry", bb.entries)
	}
	return bb.b.Bytes()
}

// entryResponse builds Bundle.entry.response for a result.
func entryResponse(status int, location, et string, lastModified time.Time, outcome []byte) *fhirjson.Value {
	r := fhirjson.NewObject()
	r.Set("status", fhirjson.NewString(strconv.Itoa(status)+" "+http.StatusText(status)))
	if location != "" {
		r.Set("location", fhirjson.NewString(location))
	}
	if et != "" {
		r.Set("etag", fhirjson.NewString(et))
	}
	if !lastModified.IsZero() {
		r.Set("lastModified", fhirjson.NewString(fhirtime.FormatInstant(lastModified)))
	}
	if outcome != nil {
		r.Set("outcome", fhirjson.NewRaw(outcome))
	}
	return r
}
