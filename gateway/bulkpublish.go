package gateway

import (
	"bufio"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/mappings/smartscheduling"
)

// publishTypes are the types of the gateway's SMART Scheduling Links
// publication, targets first.
var publishTypes = []string{"Location", "HealthcareService", "PractitionerRole", "Schedule", "Slot"}

// bulkPublish serves GET [base]/$bulk-publish: the SMART Scheduling Links
// manifest of the gateway's capacity. Public, no token; _since passes on to
// the files (only what changed since).
func (g *Gateway) bulkPublish(c *gin.Context) {
	base := g.baseURL(c.Request)
	since := c.Query("_since")
	if since != "" {
		if _, err := smartscheduling.ParseInstant(since); err != nil {
			g.writeError(c, ww.Errorf(ww.KindInvalid, "value", "_since: %v", err).At("_since"))
			return
		}
	}
	var outs []smartscheduling.Output
	for _, t := range publishTypes {
		u := base + "/$bulk-publish/" + t + ".ndjson"
		if since != "" {
			u += "?_since=" + since
		}
		outs = append(outs, smartscheduling.Output{Type: t, URL: u})
	}
	req := base + "/$bulk-publish"
	if since != "" {
		req += "?_since=" + since
	}
	c.Header("Cache-Control", "max-age=60")
	c.Data(http.StatusOK, "application/json", smartscheduling.BuildManifest(g.o.Clock.Now(), req, outs))
}

// bulkPublishFile serves one NDJSON file of the publication: every live
// resource of the type (Slots from today on, free and busy alike, as the
// specification recommends), streamed page by page from the store.
func (g *Gateway) bulkPublishFile(c *gin.Context) {
	file := c.Param("file")
	typ := strings.TrimSuffix(file, ".ndjson")
	known := false
	for _, t := range publishTypes {
		known = known || t == typ
	}
	if !known || !strings.HasSuffix(file, ".ndjson") {
		g.writeError(c, ww.Errorf(ww.KindNotFound, "not-found", "no published file %q; see %s/$bulk-publish", file, g.baseURL(c.Request)))
		return
	}
	var clauses []ww.Clause
	if since := c.Query("_since"); since != "" {
		if _, err := smartscheduling.ParseInstant(since); err != nil {
			g.writeError(c, ww.Errorf(ww.KindInvalid, "value", "_since: %v", err).At("_since"))
			return
		}
		clauses = append(clauses, ww.Clause{Param: "_lastUpdated", Values: []string{"ge" + since}})
	}
	if typ == "Slot" {
		today := g.o.Clock.Now().In(ww.Amsterdam).Format("2006-01-02")
		clauses = append(clauses, ww.Clause{Param: "start", Values: []string{"ge" + today}})
	}
	ctx := c.Request.Context()
	q := &ww.Query{Type: typ, Clauses: clauses, Count: 500}
	first, err := g.store.Search(ctx, q)
	if err != nil {
		g.writeError(c, err)
		return
	}
	c.Header("Content-Type", ctNDJSON)
	c.Header("Cache-Control", "max-age=60")
	c.Status(http.StatusOK)
	w := bufio.NewWriterSize(c.Writer, 64<<10)
	defer w.Flush()
	page := first
	for {
		for _, r := range page.Resources {
			w.Write(g.annotate(ctx, r, r.JSON))
			w.WriteByte('\n')
		}
		if page.Next == nil {
			return
		}
		q.After = page.Next
		start := time.Now()
		if page, err = g.store.Search(ctx, q); err != nil {
			// The status line is sent: cut the stream short so the client
			// sees a truncated file, never a silently shorter one.
			g.log.Error("bulk-publish: a page failed mid-stream", "type", typ, "err", err, "ms", time.Since(start).Milliseconds())
			w.Flush()
			panic(http.ErrAbortHandler)
		}
	}
}
