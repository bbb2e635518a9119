package app

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/mediation"
	"github.com/wachtwijzer/wachtwijzer/publication"
)

func init() {
	RegisterImporter("waiting-times", importWaitingTimes)
}

// importGeo places the Locations a waiting-time import creates (--geo-pc4;
// nil without it).
var importGeo mediation.PC4Geo

// importWaitingTimes reads an NZa waiting-time publication (the Zorgbeeld
// CSV, or the WaitingTimeMSZ JSON when the file starts with [ or {) and
// updates the HealthcareServices it publishes (package publication).
// Malformed rows are reported as rejected records; rows older than the
// stored figure are listed as skipped.
func importWaitingTimes(ctx context.Context, job *ImportJob, path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	base := filepath.Base(path)
	rep, err := publication.Import(ctx, data, publication.Detect, publication.Options{Store: job.Store, Key: job.Key, Geo: importGeo,
		Channel: ww.ChannelImport, Source: base, Batch: job.Batch})
	if err != nil {
		return err
	}
	for _, e := range rep.Errors {
		where := fmt.Sprintf("%s:%d", base, e.Line)
		if e.Field == "Date" && strings.Contains(e.Msg, "older than the stored") {
			job.Logger().Info("skipped: a newer figure is stored", "row", where, "why", e.Msg)
			continue
		}
		job.Reject(where, rowErr{e.Field, e.Msg})
	}
	job.Wrote(rep.Imported)
	job.Logger().Info("waiting times imported", "file", base, "summary", rep.Summary())
	return nil
}

type rowErr struct{ field, msg string }

func (e rowErr) Error() string {
	if e.field == "" {
		return e.msg
	}
	return e.field + ": " + e.msg
}
