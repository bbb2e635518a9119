package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/conformance"
	"github.com/wachtwijzer/wachtwijzer/fhirjson"
	"github.com/wachtwijzer/wachtwijzer/ingest"
)

// importStateKind is the SyncState kind of asynchronous import jobs.
const importStateKind = "import"

// importStale is how long an in-progress job may go without a heartbeat
// before a poll reports it interrupted (its gateway stopped).
const importStale = 2 * time.Minute

// importJob is the stored state of an asynchronous $import.
type importJob struct {
	ID       string          `json:"id"`
	Status   string          `json:"status"` // in-progress, completed, failed
	Request  string          `json:"request"`
	Started  time.Time       `json:"started"`
	Updated  time.Time       `json:"updated"`
	Written  int             `json:"written"`
	Rejected int             `json:"rejected"`
	Manifest json.RawMessage `json:"manifest,omitempty"`
	Error    string          `json:"error,omitempty"`
	// Client and Organization are who started the job: only that client
	// (and admins) may poll it; to anyone else it is missing.
	Client       string `json:"client,omitempty"`
	Organization string `json:"organization,omitempty"`
}

// visibleTo reports whether p may see the job: admins and the gateway
// itself see every job, a client only the jobs it started (a job recorded
// without its starter is for admins only).
func (j *importJob) visibleTo(p *ww.Principal) bool {
	if p.Role == ww.RoleAdmin || p.Role == ww.RoleSystem {
		return true
	}
	return j.Client != "" && j.Client == p.ClientID && j.Organization == p.Organization
}

// imports keeps job states in the store's SyncState (so any gateway on the
// Redis answers a poll), or in memory for stores without one.
type imports struct {
	g     *Gateway
	state ww.SyncState
	mu    sync.Mutex
	mem   map[string][]byte
}

func newImports(g *Gateway) *imports {
	st, _ := g.store.(ww.SyncState)
	return &imports{g: g, state: st, mem: map[string][]byte{}}
}

func (im *imports) put(ctx context.Context, j *importJob) error {
	b, _ := json.Marshal(j)
	if im.state != nil {
		return im.state.PutState(ctx, importStateKind, j.ID, b, 24*time.Hour)
	}
	im.mu.Lock()
	im.mem[j.ID] = b
	im.mu.Unlock()
	return nil
}

func (im *imports) get(ctx context.Context, id string) (*importJob, error) {
	var b []byte
	var err error
	if im.state != nil {
		b, err = im.state.GetState(ctx, importStateKind, id)
	} else {
		im.mu.Lock()
		b = im.mem[id]
		im.mu.Unlock()
	}
	if err != nil || b == nil {
		return nil, err
	}
	var j importJob
	if err := json.Unmarshal(b, &j); err != nil {
		return nil, err
	}
	return &j, nil
}

// importInput is one thing to import: an uploaded body or a URL.
type importInput struct {
	Type string // the declared resource type ("" for an upload)
	URL  string
	Data []byte
}

// importOp serves POST [base]/$import: an application/fhir+ndjson upload,
// or a Parameters (Bulk Data style: input parts with type and url) whose
// files are fetched. Prefer: respond-async runs it in the background (202
// and Content-Location of $import-status); otherwise the manifest is the
// answer.
func (g *Gateway) importOp(c *gin.Context) {
	r := c.Request
	base := g.baseURL(r)
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	body, err := readBody(r, g.o.Ingest.ImportMaxBytes)
	if err != nil {
		if ww.IsKind(err, ww.KindTooLarge) {
			err = ww.Errorf(ww.KindTooLarge, "too-long", "the $import body is larger than the limit of %d bytes (--import-max-bytes); list large files by URL in a Parameters resource", g.o.Ingest.ImportMaxBytes)
		}
		g.writeError(c, err)
		return
	}
	var inputs []importInput
	switch strings.ToLower(mt) {
	case "application/fhir+ndjson", "application/ndjson", "application/x-ndjson":
		if len(bytes.TrimSpace(body)) == 0 {
			g.writeError(c, ww.Errorf(ww.KindInvalid, "required", "the $import upload is empty; send one FHIR resource per line"))
			return
		}
		inputs = []importInput{{Data: body}}
	case "application/fhir+json", "application/json", "":
		if inputs, err = parseImportParameters(body); err != nil {
			g.writeError(c, err)
			return
		}
	default:
		g.writeError(c, ww.Errorf(ww.KindUnsupportedMedia, "not-supported", "$import takes application/fhir+ndjson (an upload) or application/fhir+json (a Parameters listing input URLs), not %q", mt))
		return
	}
	if err := g.authorizeImport(r.Context(), inputs); err != nil {
		g.writeError(c, err)
		return
	}
	p := ww.PrincipalFrom(r.Context())
	job := &importJob{ID: ww.NewID(), Status: "in-progress", Request: base + "/$import", Started: g.o.Clock.Now(), Updated: g.o.Clock.Now(),
		Client: p.ClientID, Organization: p.Organization}
	if !parsePrefer(r.Header.Values("Prefer")).async {
		manifest, err := g.runImport(r.Context(), p, job, inputs, nil)
		if err != nil {
			g.writeError(c, err)
			return
		}
		c.Data(http.StatusOK, "application/json", manifest)
		return
	}
	ctx := ww.WithPrincipal(context.WithoutCancel(r.Context()), p)
	if err := g.imports.put(ctx, job); err != nil {
		g.writeError(c, ww.Wrap("gateway.import", ww.KindUnavailable, err, "the import job cannot be recorded"))
		return
	}
	go func() {
		last := time.Time{}
		var mu sync.Mutex
		progress := func(j *ingest.Job, force bool) {
			mu.Lock()
			defer mu.Unlock()
			now := g.o.Clock.Now()
			if !force && now.Sub(last) < time.Second {
				return
			}
			last = now
			job.Written, job.Rejected, job.Updated = j.Written, j.Errors(), now
			g.imports.put(ctx, job)
		}
		manifest, err := g.runImport(ctx, p, job, inputs, progress)
		job.Updated = g.o.Clock.Now()
		if err != nil {
			job.Status, job.Error = "failed", errorText(err)
			g.log.Warn("asynchronous $import failed", "job", job.ID, "err", err)
		} else {
			job.Status, job.Manifest = "completed", manifest
		}
		if err := g.imports.put(ctx, job); err != nil {
			g.log.Error("asynchronous $import: the result cannot be recorded", "job", job.ID, "err", err)
		}
	}()
	c.Header("Content-Location", base+"/$import-status/"+job.ID)
	c.Data(http.StatusAccepted, ctFHIR+"; charset=utf-8", info("the import was accepted; poll "+base+"/$import-status/"+job.ID))
}

func errorText(err error) string {
	var we *ww.Error
	if asErr(err, &we) && len(we.Issues) > 0 {
		return we.Issues[0].Diagnostics
	}
	return "the import failed; the gateway logged the details"
}

// parseImportParameters reads the inputs of a Parameters resource
// (parameter "input" with parts "type" and "url") or of a Bulk Data import
// manifest ({"input":[{"type","url"}]}).
func parseImportParameters(body []byte) ([]importInput, error) {
	v, err := parseJSON(body, fhirjson.Limits{MaxDepth: 20})
	if err != nil {
		return nil, err
	}
	var inputs []importInput
	add := func(typ, u, where string) error {
		pu, err := url.Parse(u)
		if err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
			return ww.Errorf(ww.KindInvalid, "value", "%s: %q is not an absolute http(s) URL", where, u).At(where)
		}
		if typ != "" && !conformance.Supported(typ) {
			return ww.Errorf(ww.KindInvalid, "not-supported", "%s: resource type %q is not served here", where, typ).At(where)
		}
		inputs = append(inputs, importInput{Type: typ, URL: u})
		return nil
	}
	switch v.GetStr("resourceType") {
	case "Parameters":
		ps := v.Get("parameter")
		if ps != nil && ps.Kind == fhirjson.Array {
			for i, p := range ps.Items {
				if p.GetStr("name") != "input" {
					continue
				}
				where := fmt.Sprintf("Parameters.parameter[%d]", i)
				var typ, u string
				if parts := p.Get("part"); parts != nil && parts.Kind == fhirjson.Array {
					for _, part := range parts.Items {
						switch part.GetStr("name") {
						case "type":
							typ = part.GetStr("valueCode") + part.GetStr("valueString")
						case "url":
							u = part.GetStr("valueUrl") + part.GetStr("valueUri")
						}
					}
				}
				if err := add(typ, u, where); err != nil {
					return nil, err
				}
			}
		}
	case "":
		if in := v.Get("input"); in != nil && in.Kind == fhirjson.Array {
			for i, x := range in.Items {
				if err := add(x.GetStr("type"), x.GetStr("url"), fmt.Sprintf("input[%d]", i)); err != nil {
					return nil, err
				}
			}
		}
	default:
		return nil, ww.Errorf(ww.KindInvalid, "invalid", "$import takes a Parameters resource, not a %s", v.GetStr("resourceType"))
	}
	if len(inputs) == 0 {
		return nil, ww.Errorf(ww.KindInvalid, "required", "the Parameters list no input (parameter \"input\" with parts \"type\" and \"url\")").At("Parameters.parameter")
	}
	return inputs, nil
}

// runImport writes the inputs through the ingest pipeline and returns the
// outcome manifest.
func (g *Gateway) runImport(ctx context.Context, p *ww.Principal, j *importJob, inputs []importInput, progress func(*ingest.Job, bool)) ([]byte, error) {
	ctx = ww.WithPrincipal(ctx, p)
	job := &ingest.Job{Store: g.store, Key: g.o.DeploymentKey, Channel: ww.ChannelImport, Owner: p.Organization}
	if progress != nil {
		job.Progress = func(int) { progress(job, false) }
	}
	for i, in := range inputs {
		name := "upload"
		data := in.Data
		if in.URL != "" {
			resp, err := g.o.Ingest.Fetcher.Get(ctx, in.URL, "application/fhir+ndjson", nil)
			if err != nil {
				return nil, ww.Errorf(ww.KindUnprocessable, "exception", "input %d (%s) could not be fetched: %v", i+1, in.Type, err)
			}
			data = resp.Body
			u, _ := url.Parse(in.URL)
			name = path.Base(u.Path)
		}
		if in.Type != "" {
			want := in.Type
			job.Prepare = func(ctx context.Context, rec ingest.Record) (ww.Write, error) {
				w, err := ingest.PrepareRecord(ctx, rec, ww.Provenance{Owner: p.Organization, Channel: ww.ChannelImport, Source: rec.Where})
				if err == nil && w.Type != want {
					return w, fmt.Errorf("a %s in a file declared as %s", w.Type, want)
				}
				return w, err
			}
		} else {
			job.Prepare = nil
		}
		if err := job.ReadNDJSON(ctx, bytes.NewReader(data), name); err != nil {
			if ww.IsKind(err, ww.KindUnavailable) {
				return nil, err
			}
			return nil, ww.Errorf(ww.KindInvalid, "structure", "%v", err)
		}
	}
	if progress != nil {
		progress(job, true)
	}
	return importManifest(g.o.Clock.Now(), j.Request, job), nil
}

// importManifest is the outcome: per type the count written, and an
// OperationOutcome with one issue per rejected record.
func importManifest(now time.Time, request string, job *ingest.Job) []byte {
	type out struct {
		Type  string `json:"type"`
		Count int    `json:"count"`
	}
	m := struct {
		TransactionTime string          `json:"transactionTime"`
		Request         string          `json:"request"`
		RequiresToken   bool            `json:"requiresAccessToken"`
		Output          []out           `json:"output"`
		Error           []out           `json:"error"`
		Outcome         json.RawMessage `json:"outcome"`
	}{TransactionTime: now.UTC().Format("2006-01-02T15:04:05.000Z"), Request: request, Output: []out{}, Error: []out{}}
	counts := job.Counts()
	for _, t := range job.Types() {
		m.Output = append(m.Output, out{Type: t, Count: counts[t]})
	}
	issues := []ww.Issue{{Severity: ww.SeverityInformation, Code: "informational", Diagnostics: fmt.Sprintf("%d resources written, %d rejected", job.Written, job.Errors())}}
	if n := job.Errors(); n > 0 {
		m.Error = append(m.Error, out{Type: "OperationOutcome", Count: n})
		for i, r := range job.Rejected {
			if i >= 1000 {
				issues = append(issues, ww.Issue{Severity: ww.SeverityWarning, Code: "too-costly", Diagnostics: fmt.Sprintf("%d more rejections not listed", n-i)})
				break
			}
			issues = append(issues, ww.Issue{Severity: ww.SeverityError, Code: "invalid", Diagnostics: r})
		}
	}
	m.Outcome = operationOutcome(issues)
	b, _ := json.Marshal(m)
	return b
}

// importStatus serves GET [base]/$import-status/:job: 202 with X-Progress
// while running, 200 with the manifest when done, 500 with an
// OperationOutcome when it failed or its gateway stopped. A job another
// client started answers exactly as a missing one (404).
func (g *Gateway) importStatus(c *gin.Context) {
	id := c.Param("job")
	if !ww.ValidID(id) {
		g.writeError(c, ww.Errorf(ww.KindNotFound, "not-found", "no import job %q", id))
		return
	}
	j, err := g.imports.get(c.Request.Context(), id)
	if err != nil {
		g.writeError(c, ww.Wrap("gateway.importStatus", ww.KindUnavailable, err, "the import job cannot be read"))
		return
	}
	if j == nil || !j.visibleTo(ww.PrincipalFrom(c.Request.Context())) {
		g.writeError(c, ww.Errorf(ww.KindNotFound, "not-found", "no import job %q (jobs are kept for 24 hours)", id))
		return
	}
	switch j.Status {
	case "completed":
		c.Data(http.StatusOK, "application/json", j.Manifest)
	case "failed":
		c.Data(http.StatusInternalServerError, ctFHIR+"; charset=utf-8", operationOutcome([]ww.Issue{{Severity: ww.SeverityError, Code: "exception", Diagnostics: "the import failed: " + j.Error}}))
	default:
		if g.o.Clock.Now().Sub(j.Updated) > importStale {
			c.Data(http.StatusInternalServerError, ctFHIR+"; charset=utf-8", operationOutcome([]ww.Issue{{Severity: ww.SeverityError, Code: "incomplete",
				Diagnostics: fmt.Sprintf("the import was interrupted (no progress since %s; its gateway stopped): %d resources were written; import again, it is idempotent", j.Updated.UTC().Format(time.RFC3339), j.Written)}}))
			return
		}
		c.Header("X-Progress", fmt.Sprintf("%d written, %d rejected", j.Written, j.Rejected))
		c.Header("Retry-After", "2")
		c.Status(http.StatusAccepted)
	}
}
