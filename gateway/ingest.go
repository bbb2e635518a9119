package gateway

import (
	"context"
	"net/http"

	"github.com/gin-gonic/gin"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/conformance"
	"github.com/wachtwijzer/wachtwijzer/fetch"
)

// StatusReporter renders the /status document (the pull sources' last
// success, last error, lag and records).
type StatusReporter interface {
	StatusJSON(ctx context.Context) ([]byte, error)
}

// Annotator adds computed facts to a served resource (output only; the
// stored bytes stay as they are): the pull adapter's staleness tag.
type Annotator interface {
	Annotate(ctx context.Context, r *ww.Resource, body []byte) []byte
}

// Fetcher fetches a URL for POST $import (a *fetch.Client).
type Fetcher interface {
	Get(ctx context.Context, url, accept string, check fetch.Check) (*fetch.Response, error)
}

// IngestOptions configure the ingest-facing routes.
type IngestOptions struct {
	// Status serves GET /status (admin); nil answers an empty source list.
	Status StatusReporter
	// Annotate, when set, sees every resource read or searched.
	Annotate Annotator
	// ImportMaxBytes limits a POST $import body (default 256 MiB) and each
	// file it lists.
	ImportMaxBytes int64
	// Fetcher fetches the files a $import Parameters lists (default: a
	// retrying client named "import").
	Fetcher Fetcher
	// PublishOff turns GET $bulk-publish off.
	PublishOff bool
	// Freshness tells operations whether pulled data may be stale
	// (OperationRequest.Freshness); nil: nothing is pulled.
	Freshness ww.Freshness
}

func init() {
	conformance.RegisterOperation(conformance.Operation{Name: "import", Definition: ww.CanonicalBase + "/OperationDefinition/import"})
	conformance.RegisterOperation(conformance.Operation{Name: "bulk-publish", Definition: "http://hl7.org/fhir/uv/smart-scheduling-links/OperationDefinition/bulk-publish"})
}

// ingestRoutes adds /status, $import and $bulk-publish.
func (g *Gateway) ingestRoutes(e *gin.Engine, f *gin.RouterGroup) {
	if g.o.Ingest.ImportMaxBytes <= 0 {
		g.o.Ingest.ImportMaxBytes = 256 << 20
	}
	if g.o.Ingest.Fetcher == nil {
		g.o.Ingest.Fetcher = fetch.New(fetch.Options{Source: "import", MaxBody: g.o.Ingest.ImportMaxBytes, Logger: g.log, Clock: g.o.Clock})
	}
	g.imports = newImports(g)
	e.GET("/status", g.status)
	f.POST("/$import", g.importOp)
	f.GET("/$import-status/:job", g.importStatus)
	if !g.o.Ingest.PublishOff {
		f.GET("/$bulk-publish", g.bulkPublish)
		f.GET("/$bulk-publish/:file", g.bulkPublishFile)
	}
}

// status serves GET /status.
func (g *Gateway) status(c *gin.Context) {
	if g.o.Ingest.Status == nil {
		c.Data(http.StatusOK, "application/json", []byte(`{"sources":[]}`))
		return
	}
	b, err := g.o.Ingest.Status.StatusJSON(c.Request.Context())
	if err != nil {
		g.writeError(c, ww.Wrap("gateway.status", ww.KindUnavailable, err, "the source status cannot be read"))
		return
	}
	c.Data(http.StatusOK, "application/json", b)
}

// annotate passes a served resource through the Annotator.
func (g *Gateway) annotate(ctx context.Context, r *ww.Resource, body []byte) []byte {
	if g.o.Ingest.Annotate == nil || r == nil {
		return body
	}
	return g.o.Ingest.Annotate.Annotate(ctx, r, body)
}

// annotated annotates a read's response body.
func (g *Gateway) annotated(r *request, resp *response) *response {
	if resp.resource != nil && resp.body != nil {
		resp.body = g.annotate(r.ctx, resp.resource, resp.body)
	}
	return resp
}

// withIngest puts the Freshness into an operation's context.
func (g *Gateway) withIngest(ctx context.Context) context.Context {
	return ww.WithFreshness(ctx, g.o.Ingest.Freshness)
}

// Freshness tells an operation ($long-waits, $availability) whether data
// from a pulled source may be stale: Of(resource) per stored version,
// Source(id) per source, Any() for a warning on the whole answer. Without
// pull sources it knows no source (wachtwijzer.NoFreshness).
func (r *OperationRequest) Freshness() ww.Freshness { return ww.FreshnessFrom(r.ctx) }
