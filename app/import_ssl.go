package app

import (
	"context"
	"flag"
	"fmt"
	"net/url"
	"strings"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/pull"
)

var sslFlags struct {
	source    string
	namespace string
	full      bool
}

func init() {
	RegisterImporter("bulk-publish", importBulkPublish)
	RegisterImportFlags(func(fs *flag.FlagSet) {
		fs.StringVar(&sslFlags.source, "source", "", "bulk-publish: the source id its cursor and held ids are kept under (default: from the manifest host)")
		fs.StringVar(&sslFlags.namespace, "namespace", "", "bulk-publish: the id namespace of the publisher (default: the manifest URL without $bulk-publish)")
		fs.BoolVar(&sslFlags.full, "full", false, "bulk-publish: import everything (no _since) and tombstone what the publisher no longer lists")
	})
}

// importBulkPublish imports a SMART Scheduling Links publisher: the
// argument is its manifest URL (ending in $bulk-publish). Without --full a
// repeat import asks only for what changed since the last one (_since).
func importBulkPublish(ctx context.Context, job *ImportJob, manifest string) error {
	u, err := url.Parse(manifest)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return usagef("--format bulk-publish takes the manifest URL (http(s)://…/$bulk-publish), not %q", manifest)
	}
	state, ok := job.Store.(ww.SyncState)
	if !ok {
		return fmt.Errorf("this store keeps no sync state")
	}
	id := sslFlags.source
	if id == "" {
		id = "ssl-" + strings.NewReplacer(":", "-", "[", "", "]", "").Replace(u.Host)
	}
	f, err := pull.Parse([]byte(fmt.Sprintf(`{"sources":[{"id":%q,"kind":"bulk-publish","baseUrl":%q,"namespace":%q,"owner":%q}]}`, id, manifest, sslFlags.namespace, job.Owner)))
	if err != nil {
		return usagef("%v", err)
	}
	src := f.Sources[0]
	c, err := pull.NewClient(src, pull.ClientOptions{UserAgent: "wachtwijzer/" + Version})
	if err != nil {
		return err
	}
	sy := &pull.Syncer{Source: src, Client: c, Store: job.Store, State: state, Key: job.Key, Clock: ww.SystemClock{}, Log: job.Logger()}
	cursor, _ := state.Cursor(ctx, id, "manifest")
	results, err := sy.SyncBulkPublish(ctx, sslFlags.full || cursor.IsZero())
	for _, r := range results {
		job.Wrote(r.Written)
		for _, rej := range r.Rejections {
			job.Reject(manifest, fmt.Errorf("%s", rej))
		}
		job.Logger().Info("bulk-publish file imported", "type", r.Type, "seen", r.Seen, "written", r.Written, "skipped", r.Skipped, "deleted", r.Deleted, "rejected", r.Rejected)
	}
	return err
}
