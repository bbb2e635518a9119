package hl7ingest

import (
	"context"
	"encoding/json"
	"sort"
	"strings"
	"time"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/fhirjson"
	"github.com/wachtwijzer/wachtwijzer/mappings/hl7v2"
)

// DeadLetterPage is one page of dead letters, newest first.
type DeadLetterPage struct {
	DeadLetters []*DeadLetter `json:"deadLetters"`
	// Next is the cursor of the next page ("" on the last).
	Next string `json:"next,omitempty"`
}

// DeadLetters lists the dead-letter store, newest first (count per page,
// default 50; before is a Next cursor or "").
func (p *Processor) DeadLetters(ctx context.Context, before string, count int) (*DeadLetterPage, error) {
	var cur int64
	if before != "" {
		t, err := time.Parse(time.RFC3339Nano, before)
		if err != nil {
			return nil, ww.Errorf(ww.KindInvalid, "invalid", "bad cursor %q", before)
		}
		cur = t.UnixMilli()
	}
	list, next, err := p.o.Store.DeadLetters(ctx, kindDead, cur, count)
	if err != nil {
		return nil, err
	}
	page := &DeadLetterPage{DeadLetters: []*DeadLetter{}}
	for _, d := range list {
		var dl DeadLetter
		if err := json.Unmarshal(d.Value, &dl); err != nil {
			continue
		}
		page.DeadLetters = append(page.DeadLetters, &dl)
	}
	if next != 0 {
		page.Next = time.UnixMilli(next).UTC().Format(time.RFC3339Nano)
	}
	return page, nil
}

// DeadLetter returns one dead letter; KindNotFound when absent.
func (p *Processor) DeadLetter(ctx context.Context, id string) (*DeadLetter, error) {
	d, err := p.o.Store.GetDeadLetter(ctx, kindDead, id)
	if err != nil {
		return nil, err
	}
	var dl DeadLetter
	if err := json.Unmarshal(d.Value, &dl); err != nil {
		return nil, ww.Wrap("hl7ingest.DeadLetter", ww.KindInternal, err, "corrupt dead letter")
	}
	return &dl, nil
}

// ReplayResult is what a replay did with one dead letter.
type ReplayResult struct {
	ID string `json:"id"`
	// Status: accepted (written; the dead letter is gone), duplicate (the
	// message had been accepted meanwhile; gone too), superseded (accepted,
	// but newer messages hold some of its resources: those were not
	// written; the dead letter stays, marked, for replay --force), rejected
	// (again; the dead letter holds the new reason), failed (the store).
	Status string   `json:"status"`
	Code   string   `json:"ack"`
	Issues []Issue  `json:"issues,omitempty"`
	Wrote  []string `json:"written,omitempty"`
}

// Replay processes a dead letter again (after a configuration fix, say).
// force writes its resources even over newer versions (and skips the
// deduplication look-up).
func (p *Processor) Replay(ctx context.Context, id string, force bool) (*ReplayResult, error) {
	dl, err := p.DeadLetter(ctx, id)
	if err != nil {
		return nil, err
	}
	r := p.Process(ctx, dl.Message, ProcessOptions{Force: force, Replay: true})
	out := &ReplayResult{ID: id, Code: r.Code, Issues: issuesOf(r.Problems)}
	for _, w := range r.Written {
		if w.Version > 0 {
			out.Wrote = append(out.Wrote, w.Type+"/"+w.ID+"/_history/"+itoa(w.Version))
		}
	}
	accepted := r.Code == "AA" || r.Code == "CA"
	switch {
	case r.StoreFailed:
		out.Status = "failed"
	case !accepted:
		out.Status = "rejected"
	case r.Duplicate:
		out.Status = "duplicate"
	case r.Superseded > 0:
		out.Status = "superseded"
	default:
		out.Status = "accepted"
	}
	switch out.Status {
	case "duplicate":
		if _, err := p.o.Store.DeleteDeadLetter(ctx, kindDead, id); err != nil {
			return out, err
		}
	case "superseded":
		// Process cleared it on acceptance; keep it, marked, for --force.
		dl.Status, dl.Code, dl.Attempts = "superseded", r.Code, dl.Attempts+1
		dl.Issues = []Issue{{Severity: "warning", Code: "superseded", Text: itoa(int64(r.Superseded)) + " resource(s) hold versions from newer messages and were not overwritten; replay --force writes them"}}
		if _, err := p.o.Store.PutDeadLetter(ctx, kindDead, id, dl.Received, mustJSON(dl)); err != nil {
			return out, err
		}
	}
	return out, nil
}

// ReplayAll replays every dead letter (oldest last page first is not
// needed: each is independent) and returns the results.
func (p *Processor) ReplayAll(ctx context.Context, force bool) ([]*ReplayResult, error) {
	var ids []string
	before := ""
	for {
		page, err := p.DeadLetters(ctx, before, 500)
		if err != nil {
			return nil, err
		}
		for _, d := range page.DeadLetters {
			ids = append(ids, d.ID)
		}
		if page.Next == "" {
			break
		}
		before = page.Next
	}
	var out []*ReplayResult
	for i := len(ids) - 1; i >= 0; i-- { // oldest first: the order they came in
		r, err := p.Replay(ctx, ids[i], force)
		if ww.IsKind(err, ww.KindNotFound) {
			continue
		}
		if err != nil {
			return out, err
		}
		out = append(out, r)
	}
	return out, nil
}

// TraceEntry is what happened to one message with the control id.
type TraceEntry struct {
	Sender   string    `json:"sender"`
	Received time.Time `json:"received"`
	Type     string    `json:"type,omitempty"`
	// Status: accepted or rejected.
	Status string   `json:"status"`
	Code   string   `json:"ack"`
	SHA256 string   `json:"sha256"`
	Reason []string `json:"reason,omitempty"`
	// Warnings of an accepted message (ERR severity W) and its unmapped codes.
	Warnings   []string        `json:"warnings,omitempty"`
	Unmapped   []string        `json:"unmapped,omitempty"`
	DeadLetter string          `json:"deadLetter,omitempty"`
	Source     string          `json:"source,omitempty"`
	Resources  []TraceResource `json:"resources,omitempty"`
}

// TraceResource is a resource a message wrote (or meant to).
type TraceResource struct {
	Reference string `json:"reference"`
	// Versions are the versions whose provenance is this message; empty
	// when it wrote none (an if-absent resource that existed, a write an
	// ordering check skipped, or a version since expired from history).
	Versions []int64 `json:"versions,omitempty"`
	Note     string  `json:"note,omitempty"`
}

// Trace answers "what happened to control id X": every message with that
// control id (from sender, "MSH-3|MSH-4", when given; else from any sender)
// still within the deduplication TTL.
func (p *Processor) Trace(ctx context.Context, controlID, sender string) ([]TraceEntry, error) {
	if controlID == "" {
		return nil, ww.Errorf(ww.KindInvalid, "required", "a control id is required")
	}
	prefix := controlID + "|"
	if sender != "" {
		prefix += sender
	}
	var out []TraceEntry
	acc, err := p.o.Store.FindReceipts(ctx, kindAccepted, prefix, 100)
	if err != nil {
		return nil, err
	}
	for k, v := range acc {
		if sender != "" && k != prefix {
			continue
		}
		var rc receipt
		if json.Unmarshal(v, &rc) != nil {
			continue
		}
		e := TraceEntry{Sender: rc.Sender, Received: rc.Received, Type: rc.Type, Status: "accepted", Code: rc.Code, SHA256: rc.SHA256,
			Warnings: rc.Warnings, Unmapped: rc.Unmapped, Source: rc.Source}
		for _, ref := range rc.Resources {
			e.Resources = append(e.Resources, p.traceResource(ctx, ref, rc.Source))
		}
		out = append(out, e)
	}
	rej, err := p.o.Store.FindReceipts(ctx, kindRejected, prefix, 100)
	if err != nil {
		return nil, err
	}
	for k, v := range rej {
		if sender != "" && k != prefix {
			continue
		}
		var rj rejection
		if json.Unmarshal(v, &rj) != nil {
			continue
		}
		out = append(out, TraceEntry{Sender: rj.Sender, Received: rj.Received, Status: "rejected", Code: rj.Code, SHA256: rj.SHA256,
			Reason: rj.Reason, DeadLetter: rj.DeadLetter})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Received.Before(out[j].Received) })
	if len(out) == 0 {
		return nil, ww.Errorf(ww.KindNotFound, "not-found", "no message with control id %q is known (records last %s)", controlID, p.o.DedupTTL)
	}
	return out, nil
}

func (p *Processor) traceResource(ctx context.Context, ref, source string) TraceResource {
	tr := TraceResource{Reference: ref}
	typ, id, _ := strings.Cut(ref, "/")
	page, err := p.o.Store.History(ctx, &ww.HistoryQuery{Type: typ, ID: id, Count: 50})
	if err != nil {
		tr.Note = "history not readable"
		return tr
	}
	for _, v := range page.Versions {
		if v.Provenance.Source == source {
			tr.Versions = append(tr.Versions, v.VersionID)
		}
	}
	if len(tr.Versions) == 0 {
		tr.Note = "not written by this message (kept the stored resource, or superseded by a newer message)"
	}
	sort.Slice(tr.Versions, func(i, j int) bool { return tr.Versions[i] < tr.Versions[j] })
	return tr
}

// Translate maps a message without storing anything: a collection Bundle
// with the resources it would write (in write order) and, first, an
// OperationOutcome with the acknowledgment code and every problem — for
// onboarding a feed.
func (p *Processor) Translate(ctx context.Context, raw []byte) ([]byte, string) {
	cfg := p.o.Senders.Config()
	m, err := hl7v2.Parse(raw, hl7v2.ParseOptions{Senders: cfg})
	var res *hl7v2.Result
	if err == nil {
		res, err = hl7v2.Map(m, cfg.For(m.SendingApplication, m.SendingFacility), p.o.DeploymentKey)
	}
	var warnings []hl7v2.Problem
	if res != nil {
		warnings = res.Warnings
		if _, problems := validate(ctx, res); len(problems) > 0 {
			err = &hl7v2.MappingError{Problems: problems}
		}
	}
	code, problems := hl7v2.Outcome(warnings, err)
	if m != nil && hl7v2.Mode(m) {
		code = hl7v2.Enhanced(code)
	}
	b := fhirjson.NewObject()
	b.Set("resourceType", fhirjson.NewString("Bundle"))
	b.Set("type", fhirjson.NewString("collection"))
	entries := fhirjson.NewArray()
	oo := fhirjson.NewObject()
	oo.Set("resourceType", fhirjson.NewString("OperationOutcome"))
	issues := fhirjson.NewArray()
	info := fhirjson.NewObject()
	info.Set("severity", fhirjson.NewString("information"))
	info.Set("code", fhirjson.NewString("informational"))
	info.Set("diagnostics", fhirjson.NewString("MSA-1 "+code))
	issues.Items = append(issues.Items, info)
	for _, is := range issuesOf(problems) {
		it := fhirjson.NewObject()
		it.Set("severity", fhirjson.NewString(is.Severity))
		it.Set("code", fhirjson.NewString(map[bool]string{true: "code-invalid", false: "invalid"}[is.Code == hl7v2.CodeTableValueNotFound]))
		it.Set("details", fhirjson.NewObject())
		it.Get("details").Set("text", fhirjson.NewString("HL7 table 0357 code "+is.Code))
		it.Set("diagnostics", fhirjson.NewString(is.Text))
		if is.Location != "" {
			loc := fhirjson.NewArray()
			loc.Items = append(loc.Items, fhirjson.NewString(is.Location))
			it.Set("location", loc)
		}
		issues.Items = append(issues.Items, it)
	}
	oo.Set("issue", issues)
	e := fhirjson.NewObject()
	e.Set("resource", oo)
	entries.Items = append(entries.Items, e)
	if res != nil && err == nil {
		for _, r := range res.Resources {
			tree, perr := fhirjson.Parse(r.JSON, fhirjson.Limits{})
			if perr != nil {
				continue
			}
			e := fhirjson.NewObject()
			e.Set("fullUrl", fhirjson.NewString(r.Type+"/"+r.ID))
			e.Set("resource", tree)
			if r.IfAbsent {
				// Say that the store keeps an existing resource.
				ext := fhirjson.NewObject()
				ext.Set("url", fhirjson.NewString(ww.CanonicalBase+"/StructureDefinition/hl7v2-if-absent"))
				ext.Set("valueBoolean", fhirjson.NewBool(true))
				arr := fhirjson.NewArray()
				arr.Items = append(arr.Items, ext)
				e.Set("extension", arr)
			}
			entries.Items = append(entries.Items, e)
		}
	}
	b.Set("entry", entries)
	return b.Bytes(), code
}

func itoa(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}
