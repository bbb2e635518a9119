package publication

import (
	"context"
	"fmt"
	"sort"
	"strings"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/conformance"
	"github.com/wachtwijzer/wachtwijzer/fhirjson"
	"github.com/wachtwijzer/wachtwijzer/mappings/nzacsv"
	"github.com/wachtwijzer/wachtwijzer/mediation"
)

// Format names the input format.
type Format int

// The formats.
const (
	// Detect looks at the first non-blank byte: '[' or '{' is JSON.
	Detect Format = iota
	CSV
	JSON
)

// Options configure an import.
type Options struct {
	Store ww.Store
	// Key is the deployment key ids are derived with.
	Key []byte
	// Geo places new Locations by PC4 (nil: without position).
	Geo mediation.PC4Geo
	// Channel and Source are recorded as the versions' provenance.
	Channel ww.Channel
	Source  string
	// Batch is the number of writes per commit (default 100).
	Batch int
}

// Report is what an import did.
type Report struct {
	Rows      int // data rows read
	Imported  int // rows whose figure is now stored
	Older     int // rows skipped: an equally keyed newer figure is stored
	Rejected  int // malformed rows
	Services  int // HealthcareServices written (created or updated)
	Unchanged int // HealthcareServices the publication did not change
	Created   map[string]int
	Errors    []nzacsv.RowError
}

// Issues renders the report as OperationOutcome issues: the counts, then
// one issue per rejected (error) or skipped (warning) row.
func (r *Report) Issues() []ww.Issue {
	out := []ww.Issue{{Severity: ww.SeverityInformation, Code: "informational", Diagnostics: r.Summary()}}
	for _, e := range r.Errors {
		sev := ww.SeverityError
		if e.Field == "Date" && strings.Contains(e.Msg, "older than the stored") {
			sev = ww.SeverityWarning
		}
		is := ww.Issue{Severity: sev, Code: "value", Diagnostics: e.Error()}
		if e.Field != "" {
			is.Expression = []string{fmt.Sprintf("line[%d].%s", e.Line, e.Field)}
		}
		out = append(out, is)
	}
	return out
}

// Summary is one line of counts.
func (r *Report) Summary() string {
	return fmt.Sprintf("%d rows: %d imported, %d older than the stored figure, %d rejected; %d HealthcareServices written, %d unchanged; created %d Organizations, %d Locations",
		r.Rows, r.Imported, r.Older, r.Rejected, r.Services, r.Unchanged, r.Created["Organization"], r.Created["Location"])
}

// Parse reads a publication in either format.
func Parse(data []byte, f Format) ([]nzacsv.Row, []nzacsv.RowError, error) {
	if f == Detect {
		f = CSV
		t := strings.TrimLeft(string(data[:min(len(data), 64)]), " \t\r\n\ufeff")
		if strings.HasPrefix(t, "[") || strings.HasPrefix(t, "{") {
			f = JSON
		}
	}
	if f == JSON {
		return nzacsv.ParseJSON(data)
	}
	return nzacsv.ParseCSV(data)
}

type reader interface {
	ReadMany(ctx context.Context, typ string, ids []string) ([]*ww.Resource, error)
}

// readMany reads resources by id, through the store's batch read when it
// has one.
func readMany(ctx context.Context, s ww.Store, typ string, ids []string) ([]*ww.Resource, error) {
	if r, ok := s.(reader); ok {
		return r.ReadMany(ctx, typ, ids)
	}
	out := make([]*ww.Resource, len(ids))
	for i, id := range ids {
		res, err := s.Read(ctx, typ, id)
		switch {
		case err == nil:
			out[i] = res
		case ww.IsKind(err, ww.KindNotFound), ww.IsKind(err, ww.KindGone):
		default:
			return nil, err
		}
	}
	return out, nil
}

// Import parses data and writes what it publishes. Each row's
// Organization, Location and HealthcareService are the ones with the
// derived ids (wachtwijzer.DeriveID over the AGB codes and the service
// value, so the NZa import, gen, HL7 and pull meet), else an existing one
// found by identifier (Organization and Location by AGB or location key) or
// by location and specialism (HealthcareService) — so resources created
// over REST with ids of their own are met too — else new ones with the
// derived ids.
func Import(ctx context.Context, data []byte, f Format, o Options) (*Report, error) {
	rows, errs, err := Parse(data, f)
	if err != nil {
		return nil, ww.Errorf(ww.KindInvalid, "structure", "%v", err)
	}
	rep := &Report{Rows: len(rows) + len(errs), Rejected: len(errs), Created: map[string]int{}, Errors: errs}
	if o.Batch <= 0 {
		o.Batch = 100
	}
	prov := ww.Provenance{Channel: o.Channel, Source: o.Source}
	if prov.Channel == "" {
		prov.Channel = ww.ChannelImport
	}
	rv := &resolver{ctx: ctx, o: o, orgs: map[string]string{}, locs: map[string]string{}}
	// Organizations, then Locations (they name their Organization).
	var writes []ww.Write
	derived := make([]nzacsv.IDs, len(rows))
	for i := range rows {
		derived[i] = nzacsv.IDsOf(o.Key, &rows[i])
	}
	for i := range rows {
		r := &rows[i]
		if _, ok := rv.orgs[r.ProviderAGB]; ok {
			continue
		}
		id, found, err := rv.find("Organization", derived[i].Org, []ww.Clause{{Param: "identifier", Values: []string{ww.SystemAGB + "|" + r.ProviderAGB}}})
		if err != nil {
			return nil, err
		}
		rv.orgs[r.ProviderAGB] = id
		if !found {
			writes = append(writes, ww.Write{Op: ww.OpUpdate, Type: "Organization", ID: id, JSON: nzacsv.NewOrganization(r, derived[i]), IfMissing: true, Provenance: prov})
		}
	}
	for i := range rows {
		r := &rows[i]
		ids := derived[i]
		lk := ids.LocationSystem + "|" + ids.LocationValue
		if _, ok := rv.locs[lk]; ok {
			continue
		}
		id, found, err := rv.find("Location", ids.Location, []ww.Clause{{Param: "identifier", Values: []string{lk}}})
		if err != nil {
			return nil, err
		}
		rv.locs[lk] = id
		if !found {
			ids.Org = rv.orgs[r.ProviderAGB]
			writes = append(writes, ww.Write{Op: ww.OpUpdate, Type: "Location", ID: id, JSON: nzacsv.NewLocation(r, ids, o.Geo), IfMissing: true, Provenance: prov})
		}
	}
	for i := 0; i < len(writes); i += o.Batch {
		batch := writes[i:min(i+o.Batch, len(writes))]
		if err := commitOneByOne(ctx, o.Store, batch, func(w *ww.Write, err error) error {
			if ww.IsKind(err, ww.KindConflict) || ww.IsKind(err, ww.KindPrecondition) {
				return nil // created meanwhile by another writer: it exists, as wanted
			}
			return err
		}, func(w *ww.Write) { rep.Created[w.Type]++ }); err != nil {
			return nil, err
		}
	}
	// HealthcareServices, merged with their stored versions; a concurrent
	// change re-reads and merges again.
	byService := map[string][]*nzacsv.Row{}
	idsOf := map[string]nzacsv.IDs{}
	for i := range rows {
		ids := derived[i]
		ids.Org = rv.orgs[rows[i].ProviderAGB]
		ids.Location = rv.locs[ids.LocationSystem+"|"+ids.LocationValue]
		svc, _, err := rv.find("HealthcareService", ids.Service, []ww.Clause{
			{Param: "location", Values: []string{"Location/" + ids.Location}}, {Param: "specialty", Values: []string{ww.SystemSpecialism + "|" + rows[i].Specialism}}})
		if err != nil {
			return nil, err
		}
		ids.Service = svc
		byService[svc] = append(byService[svc], &rows[i])
		idsOf[svc] = ids
	}
	svcIDs := sortedKeys(byService)
	for i := 0; i < len(svcIDs); i += o.Batch {
		ids := svcIDs[i:min(i+o.Batch, len(svcIDs))]
		for attempt := 0; ; attempt++ {
			err := mergeBatch(ctx, o, ids, byService, idsOf, prov, rep)
			if err == nil {
				break
			}
			if !(ww.IsKind(err, ww.KindConflict) || ww.IsKind(err, ww.KindPrecondition)) || attempt >= 5 {
				return nil, err
			}
		}
	}
	sort.SliceStable(rep.Errors, func(i, j int) bool { return rep.Errors[i].Line < rep.Errors[j].Line })
	return rep, nil
}

// resolver finds the resources rows meet.
type resolver struct {
	ctx        context.Context
	o          Options
	orgs, locs map[string]string // AGB / system|value → id
	cache      map[string]string
}

// find returns the id of the resource with the derived id when it exists,
// else of the one resource matching criteria, else the derived id (found
// false: it is to be created).
func (rv *resolver) find(typ, derived string, criteria []ww.Clause) (string, bool, error) {
	if rv.cache == nil {
		rv.cache = map[string]string{}
	}
	ck := typ + "/" + derived
	if id, ok := rv.cache[ck]; ok {
		if id == "" {
			return derived, false, nil
		}
		return id, true, nil
	}
	got, err := readMany(rv.ctx, rv.o.Store, typ, []string{derived})
	if err != nil {
		return "", false, err
	}
	if got[0] != nil {
		rv.cache[ck] = derived
		return derived, true, nil
	}
	res, err := rv.o.Store.Search(rv.ctx, &ww.Query{Type: typ, Clauses: criteria, Count: 2})
	if err != nil {
		return "", false, err
	}
	if len(res.Resources) == 1 {
		rv.cache[ck] = res.Resources[0].ID
		return res.Resources[0].ID, true, nil
	}
	rv.cache[ck] = ""
	return derived, false, nil
}

// mergeBatch merges and writes a batch of services atomically (If-Match on
// each stored version, create-only for new ones).
func mergeBatch(ctx context.Context, o Options, ids []string, byService map[string][]*nzacsv.Row, idsOf map[string]nzacsv.IDs, prov ww.Provenance, rep *Report) error {
	got, err := readMany(ctx, o.Store, "HealthcareService", ids)
	if err != nil {
		return err
	}
	var writes []ww.Write
	var older []nzacsv.RowError
	imported, unchanged := 0, 0
	for i, id := range ids {
		var existing []byte
		w := ww.Write{Op: ww.OpUpdate, Type: "HealthcareService", ID: id, Provenance: prov}
		if got[i] != nil {
			existing, w.IfMatch = stripMeta(got[i].JSON), got[i].VersionID
		} else {
			w.IfMissing = true
		}
		js, changed, old, err := nzacsv.MergeService(existing, idsOf[id], byService[id])
		if err != nil {
			return ww.Wrap("publication.Import", ww.KindInternal, err, "a stored HealthcareService cannot be read")
		}
		older = append(older, old...)
		imported += len(byService[id]) - len(old)
		if !changed {
			unchanged++
			continue
		}
		tree, err := fhirjson.Parse(js, fhirjson.Limits{MaxDepth: 200})
		if err == nil {
			err = conformance.Validate(ctx, "HealthcareService", tree)
		}
		if err != nil {
			for _, r := range byService[id] {
				rep.Errors = append(rep.Errors, nzacsv.RowError{Line: r.Line, Msg: "the HealthcareService it updates does not validate: " + err.Error()})
			}
			rep.Rejected += len(byService[id])
			imported -= len(byService[id]) - len(old)
			continue
		}
		w.JSON = js
		writes = append(writes, w)
	}
	if len(writes) > 0 {
		if _, err := o.Store.Commit(ctx, &ww.Commit{Writes: writes}); err != nil {
			return err
		}
	}
	rep.Services += len(writes)
	rep.Unchanged += unchanged
	rep.Imported += imported
	rep.Older += len(older)
	rep.Errors = append(rep.Errors, older...)
	return nil
}

// stripMeta drops meta (the store sets it again).
func stripMeta(b []byte) []byte {
	t, err := fhirjson.Parse(b, fhirjson.Limits{MaxDepth: 200})
	if err != nil {
		return b
	}
	t.Delete("meta")
	return t.Bytes()
}

// commitOneByOne commits writes together, falling back to one by one when
// the batch fails, so one conflict does not sink the others.
func commitOneByOne(ctx context.Context, s ww.Store, ws []ww.Write, onErr func(*ww.Write, error) error, onOK func(*ww.Write)) error {
	if _, err := s.Commit(ctx, &ww.Commit{Writes: ws}); err == nil {
		for i := range ws {
			onOK(&ws[i])
		}
		return nil
	} else if ww.IsKind(err, ww.KindUnavailable) {
		return err
	}
	for i := range ws {
		if _, err := s.Commit(ctx, &ww.Commit{Writes: ws[i : i+1]}); err != nil {
			if err := onErr(&ws[i], err); err != nil {
				return err
			}
			continue
		}
		onOK(&ws[i])
	}
	return nil
}

func sortedKeys[T any](m map[string]T) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
