package gateway

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"sort"
	"strconv"
	"strings"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/fhirjson"
)

const (
	ctFHIR   = "application/fhir+json"
	ctNDJSON = "application/fhir+ndjson"
)

// negotiate picks the response format from _format and Accept (q-values
// honoured). It returns the media type to send or a 406 error.
func negotiate(format, accept string) (string, error) {
	if format != "" {
		switch strings.ToLower(format) {
		case "json", "application/json", "application/fhir+json", "application/json+fhir":
			return ctFHIR, nil
		case "xml", "text/xml", "application/xml", "application/fhir+xml", "application/xml+fhir":
			return "", ww.Errorf(ww.KindNotAcceptable, "not-supported", "_format=%s: this server speaks FHIR JSON only (application/fhir+json)", format)
		default:
			return "", ww.Errorf(ww.KindNotAcceptable, "not-supported", "_format=%s is not a supported format; use json", format)
		}
	}
	if strings.TrimSpace(accept) == "" {
		return ctFHIR, nil
	}
	type choice struct {
		t string
		q float64
	}
	var cs []choice
	for _, part := range strings.Split(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		q := 1.0
		if qs, ok := params["q"]; ok {
			if f, err := strconv.ParseFloat(qs, 64); err == nil {
				q = f
			}
		}
		if q > 0 {
			cs = append(cs, choice{strings.ToLower(mt), q})
		}
	}
	sort.SliceStable(cs, func(i, j int) bool { return cs[i].q > cs[j].q })
	for _, c := range cs {
		switch c.t {
		case "application/fhir+json", "application/json", "application/json+fhir", "*/*", "application/*", "text/json":
			if c.t == "application/json" {
				return "application/json", nil
			}
			return ctFHIR, nil
		}
	}
	return "", ww.Errorf(ww.KindNotAcceptable, "not-supported", "none of the types in Accept (%s) can be produced; this server answers application/fhir+json", accept)
}

// checkContentType accepts FHIR JSON request bodies (and application/json,
// legacy application/json+fhir); XML and others are 415.
func checkContentType(ct string) error {
	if ct == "" {
		return nil
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return ww.Errorf(ww.KindUnsupportedMedia, "not-supported", "Content-Type %q cannot be parsed", ct)
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return ww.Errorf(ww.KindUnsupportedMedia, "not-supported", "charset %q is not supported; send UTF-8", cs)
	}
	switch strings.ToLower(mt) {
	case "application/fhir+json", "application/json", "application/json+fhir":
		return nil
	case "application/fhir+xml", "application/xml", "text/xml", "application/xml+fhir":
		return ww.Errorf(ww.KindUnsupportedMedia, "not-supported", "this server accepts FHIR JSON only; send Content-Type: application/fhir+json")
	}
	return ww.Errorf(ww.KindUnsupportedMedia, "not-supported", "Content-Type %q is not supported; send application/fhir+json", mt)
}

// readBody reads at most limit bytes; a larger body is a 413.
func readBody(r *http.Request, limit int64) ([]byte, error) {
	if r.ContentLength > limit {
		return nil, ww.Errorf(ww.KindTooLarge, "too-long", "the request body (%d bytes) is larger than the limit of %d bytes", r.ContentLength, limit)
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, ww.Errorf(ww.KindInvalid, "structure", "the request body could not be read: %v", err)
	}
	if int64(len(b)) > limit {
		return nil, ww.Errorf(ww.KindTooLarge, "too-long", "the request body is larger than the limit of %d bytes", limit)
	}
	return b, nil
}

// parseJSON parses a request body, turning syntax errors into 400s with the
// line and column.
func parseJSON(b []byte, lim fhirjson.Limits) (*fhirjson.Value, error) {
	if len(b) == 0 {
		return nil, ww.Errorf(ww.KindInvalid, "required", "the request has no body; send a FHIR resource as JSON")
	}
	v, err := fhirjson.Parse(b, lim)
	if err != nil {
		var se *fhirjson.SyntaxError
		if errors.As(err, &se) {
			return nil, ww.Errorf(ww.KindInvalid, "structure", "the body is not valid JSON: line %d, column %d: %s", se.Line, se.Column, se.Msg)
		}
		return nil, ww.Errorf(ww.KindInvalid, "structure", "the body is not valid JSON: %v", err)
	}
	if v.Kind != fhirjson.Object {
		return nil, ww.Errorf(ww.KindInvalid, "structure", "the body must be a JSON object (a FHIR resource), not a %s", v.Kind)
	}
	return v, nil
}

// prefer holds the Prefer header's preferences.
type prefer struct {
	ret      string // minimal, representation, OperationOutcome
	handling string // strict, lenient
	async    bool
}

func parsePrefer(h []string) prefer {
	var p prefer
	for _, line := range h {
		for _, part := range strings.Split(line, ",") {
			k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
			v = strings.Trim(strings.TrimSpace(v), `"`)
			switch strings.ToLower(strings.TrimSpace(k)) {
			case "return":
				p.ret = v
			case "handling":
				p.handling = strings.ToLower(v)
			case "respond-async":
				p.async = true
			}
		}
	}
	return p
}

// parseETag reads a version from an ETag/If-Match value: W/"3", "3" or 3.
func parseETag(s string) (int64, bool) {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, "W/")
	s = strings.Trim(s, `"`)
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil && n > 0
}

func etag(vid int64) string { return `W/"` + strconv.FormatInt(vid, 10) + `"` }
