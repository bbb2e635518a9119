package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/conformance"
	"github.com/wachtwijzer/wachtwijzer/fhirjson"
	csvmap "github.com/wachtwijzer/wachtwijzer/mappings/csv"
)

var csvFlags struct {
	mapping      string
	senderAGB    string
	closeMissing bool
	report       string
}

func init() {
	RegisterImporter("hospital-csv", importHospitalCSV)
	RegisterImportFlags(func(fs *flag.FlagSet) {
		fs.StringVar(&csvFlags.mapping, "mapping", "", "hospital-csv: the sender's column mapping file (JSON; see the README)")
		fs.StringVar(&csvFlags.senderAGB, "sender-agb", "", "hospital-csv without --mapping: read the default export layout (gen's) for this hospital AGB")
		fs.BoolVar(&csvFlags.closeMissing, "close-missing", false, "hospital-csv: close the waits of earlier exports that this export no longer lists (ServiceRequest.status → the mapping's closeStatus, default completed)")
		fs.StringVar(&csvFlags.report, "report", "", "hospital-csv: write a per-row report (line;outcome;messages) to this file")
	})
}

// csvSource is the SyncState source of a sender's exports (held waits).
func csvSource(agb string) string { return "csv-" + agb }

func importHospitalCSV(ctx context.Context, job *ImportJob, path string) error {
	var m *csvmap.Mapping
	switch {
	case csvFlags.mapping != "":
		b, err := os.ReadFile(csvFlags.mapping)
		if err != nil {
			return usagef("--mapping: %v", err)
		}
		if m, err = csvmap.LoadMapping(b); err != nil {
			return usagef("--mapping %s: %v", csvFlags.mapping, err)
		}
	case csvFlags.senderAGB != "":
		agb, _ := ww.NormalizeAGB(csvFlags.senderAGB)
		m = csvmap.DefaultMapping(agb)
	default:
		return usagef("--format hospital-csv needs --mapping FILE (or --sender-agb AGB for the default layout)")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	res, err := csvmap.Parse(data, m, job.Key)
	if err != nil {
		return fmt.Errorf("%s cannot be read: %w", filepath.Base(path), err)
	}
	log := job.Logger()
	base := filepath.Base(path)
	prov := func(line int) ww.Provenance {
		return ww.Provenance{Owner: m.Sender.AGB, Channel: ww.ChannelCSV, Source: fmt.Sprintf("%s:%d", base, line)}
	}
	var report strings.Builder
	report.WriteString("line;outcome;messages\n")
	var held, listed []string
	imported, rejected := 0, 0
	for _, row := range res.Rows {
		if row.OrderNumber != "" {
			listed = append(listed, ww.DeriveID(job.Key, "ServiceRequest", m.System("order"), row.OrderNumber))
		}
		if len(row.Errors) > 0 {
			rejected++
			job.Reject(fmt.Sprintf("%s:%d", base, row.Line), errors.New(strings.Join(row.Errors, "; ")))
			fmt.Fprintf(&report, "%d;rejected;%s\n", row.Line, strings.Join(row.Errors, " | "))
			if job.Progress != nil {
				job.Progress(1)
			}
			continue
		}
		var writes []ww.Write
		for _, r := range row.Resources {
			tree, err := fhirjson.Parse(r.JSON, fhirjson.Limits{MaxDepth: 64})
			if err == nil {
				err = validate(ctx, r.Type, tree)
			}
			if err != nil {
				writes = nil
				rejected++
				job.Reject(fmt.Sprintf("%s:%d", base, row.Line), fmt.Errorf("%s: %s", r.Type, issuesOnly(err)))
				fmt.Fprintf(&report, "%d;rejected;%s: %s\n", row.Line, r.Type, issuesOnly(err))
				break
			}
			writes = append(writes, ww.Write{Op: ww.OpUpdate, Type: r.Type, ID: r.ID, JSON: r.JSON, Provenance: prov(row.Line)})
		}
		if writes == nil {
			continue
		}
		if _, err := job.Store.Commit(ctx, &ww.Commit{Writes: writes}); err != nil {
			if ww.IsKind(err, ww.KindUnavailable) || ctx.Err() != nil {
				return err
			}
			rejected++
			job.Reject(fmt.Sprintf("%s:%d", base, row.Line), errors.New(issuesOnly(err)))
			fmt.Fprintf(&report, "%d;rejected;%s\n", row.Line, issuesOnly(err))
			continue
		}
		imported++
		job.Wrote(len(writes))
		for _, w := range writes {
			if w.Type == "ServiceRequest" {
				held = append(held, w.ID)
			}
		}
		msg := strings.Join(row.Warnings, " | ")
		fmt.Fprintf(&report, "%d;imported;%s\n", row.Line, msg)
		for _, wmsg := range row.Warnings {
			log.Warn("csv row warning", "file", base, "warning", wmsg)
		}
	}
	state, _ := job.Store.(ww.SyncState)
	if state != nil && len(held) > 0 {
		if err := state.Advance(ctx, csvSource(m.Sender.AGB), "ServiceRequest", time.Time{}, held); err != nil {
			return err
		}
	}
	closed := 0
	if csvFlags.closeMissing {
		if state == nil {
			return fmt.Errorf("--close-missing: this store keeps no record of earlier exports")
		}
		if len(res.Rows) == 0 {
			return fmt.Errorf("--close-missing: %s has no rows; refusing to close every wait", base)
		}
		if closed, err = closeMissing(ctx, job, state, m, listed); err != nil {
			return err
		}
	}
	log.Info("hospital CSV imported", "file", base, "rows", len(res.Rows), "imported", imported, "rejected", rejected, "closed", closed, "sender", m.Sender.AGB)
	if csvFlags.report != "" {
		if err := os.WriteFile(csvFlags.report, []byte(report.String()), 0o644); err != nil {
			return fmt.Errorf("--report: %w", err)
		}
	}
	return nil
}

// closeMissing closes the sender's waits that earlier exports listed and
// this one does not: status active, on-hold or draft → the mapping's
// closeStatus (completed by default: a wait leaves the list when it ends),
// each a version-checked update.
func closeMissing(ctx context.Context, job *ImportJob, state ww.SyncState, m *csvmap.Mapping, listed []string) (int, error) {
	src := csvSource(m.Sender.AGB)
	held, err := state.Held(ctx, src, "ServiceRequest")
	if err != nil {
		return 0, err
	}
	in := map[string]bool{}
	for _, id := range listed {
		in[id] = true
	}
	closed := 0
	var gone []string
	for _, id := range held {
		if in[id] {
			continue
		}
		gone = append(gone, id)
		cur, err := job.Store.Read(ctx, "ServiceRequest", id)
		if err != nil {
			if ww.IsKind(err, ww.KindNotFound) || ww.IsKind(err, ww.KindGone) {
				continue
			}
			return closed, err
		}
		tree, err := fhirjson.Parse(cur.JSON, fhirjson.Limits{MaxDepth: 200})
		if err != nil {
			return closed, err
		}
		switch tree.GetStr("status") {
		case "active", "on-hold", "draft":
		default:
			continue
		}
		tree.Set("status", fhirjson.NewString(m.CloseStatus))
		w := ww.Write{Op: ww.OpUpdate, Type: "ServiceRequest", ID: id, JSON: tree.Bytes(), IfMatch: cur.VersionID,
			Provenance: ww.Provenance{Owner: m.Sender.AGB, Channel: ww.ChannelCSV, Source: "close-missing"}}
		if _, err := job.Store.Commit(ctx, &ww.Commit{Writes: []ww.Write{w}}); err != nil {
			if ww.IsKind(err, ww.KindPrecondition) {
				continue // changed meanwhile (HL7): leave it to the newer news
			}
			return closed, err
		}
		closed++
	}
	return closed, state.Forget(ctx, src, "ServiceRequest", gone)
}

// issuesOnly describes an error by its issue codes and locations.
func issuesOnly(err error) string {
	var we *ww.Error
	if !errors.As(err, &we) {
		return "refused"
	}
	var parts []string
	for _, is := range we.Issues {
		parts = append(parts, is.Code+" at "+strings.Join(is.Expression, ","))
	}
	return strings.Join(parts, "; ")
}

// validate is conformance.Validate (a variable for tests).
var validate = conformance.Validate
