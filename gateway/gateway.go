package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/audit"
	"github.com/wachtwijzer/wachtwijzer/conformance"
	"github.com/wachtwijzer/wachtwijzer/fhirjson"
	"github.com/wachtwijzer/wachtwijzer/mediation/engine"
	"github.com/wachtwijzer/wachtwijzer/pseudonym"
)

// Options configure a Gateway.
type Options struct {
	Store ww.Store
	// DeploymentKey seals page tokens (shared by every gateway on a Redis).
	DeploymentKey []byte
	Logger        *slog.Logger
	// AccessLog receives one line per request (route template, status,
	// duration; never query values); nil: Logger.
	AccessLog *slog.Logger
	// MaxBodyBytes limits request bodies (default 10 MiB); larger → 413.
	MaxBodyBytes int64
	// BaseURL is the public base of the FHIR API ("https://host/fhir");
	// empty: derived from each request.
	BaseURL string
	Version string
	Clock   ww.Clock
	// Registerer receives the gateway's metrics (nil: a private registry).
	Registerer prometheus.Registerer
	// Gatherer serves /metrics (nil: the private registry).
	Gatherer prometheus.Gatherer
	// Ready is an extra readiness check (Redis reachability is always
	// checked through Store.Ping).
	Ready func(ctx context.Context) error
	// Limits bounds request JSON (depth, array length).
	Limits fhirjson.Limits
	// Security is reported in the CapabilityStatement (nil: none).
	Security *conformance.Security
	// Ingest configures /status, the freshness tags, $import and
	// $bulk-publish (ingest.go).
	Ingest IngestOptions
	// Mediation configures the insurer operations (zero: the defaults).
	Mediation engine.Config
	// Security configures authentication, scopes and the public and admin
	// surface (security.go); zero: no authentication.
	Access SecurityOptions
	// Audit, when set, receives an NEN 7513 event for every request that can
	// touch patient data, before its response goes out (a failed write is a
	// 503), and serves the AuditEvent search to admins.
	Audit *audit.Log
	// TrustedProxies are the addresses or CIDRs of reverse proxies whose
	// X-Forwarded-For / X-Real-IP name the client (for the audit log's
	// source). Empty: those headers are ignored and the source is the peer
	// address, so a client cannot write another address into the log.
	TrustedProxies []string
	// Pseudonyms, when set, pseudonymises what insurers see: Patient
	// references become member pseudonyms (pseudonym.go); identity only
	// through $reidentify.
	Pseudonyms *pseudonym.Keys
}

// Gateway is the HTTP API.
type Gateway struct {
	o       Options
	store   ww.Store
	log     *slog.Logger
	tokens  *pageTokens
	engine  *gin.Engine
	metrics *metrics
	started time.Time
	// capabilities caches the CapabilityStatement per base URL.
	capabilities capabilityCache
	imports      *imports
	med          *engine.Engine // nil when the store has no mediation index
}

// New builds the gateway and its routes.
func New(o Options) (*Gateway, error) {
	if o.Store == nil {
		return nil, errors.New("gateway: no store")
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.AccessLog == nil {
		o.AccessLog = o.Logger
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = 10 << 20
	}
	if o.Clock == nil {
		o.Clock = ww.SystemClock{}
	}
	if o.Limits.MaxDepth == 0 {
		o.Limits.MaxDepth = 100
	}
	if o.Version == "" {
		o.Version = "dev"
	}
	conformance.Warm()
	tok, err := newPageTokens(o.DeploymentKey)
	if err != nil {
		return nil, err
	}
	reg := o.Registerer
	gath := o.Gatherer
	if reg == nil {
		r := prometheus.NewRegistry()
		reg, gath = r, r
	}
	g := &Gateway{o: o, store: o.Store, log: o.Logger, tokens: tok, started: o.Clock.Now(), metrics: newMetrics(reg)}
	if o.Mediation.Clock == nil {
		o.Mediation.Clock = o.Clock
	}
	g.med, _ = engine.New(o.Store, o.Mediation)
	if g.med != nil {
		// Read the provider directory now, not on the first insurer request.
		go g.med.Directory(context.Background()) //nolint:errcheck // retried on first use
	}
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	if err := e.SetTrustedProxies(o.TrustedProxies); err != nil {
		return nil, fmt.Errorf("gateway: trusted proxies: %w", err)
	}
	e.HandleMethodNotAllowed = true
	e.Use(g.recover, g.accessLog, g.secure)
	e.NoRoute(func(c *gin.Context) {
		g.writeError(c, ww.Errorf(ww.KindNotFound, "not-found", "no such endpoint: %s %s", c.Request.Method, c.Request.URL.Path))
	})
	e.NoMethod(func(c *gin.Context) {
		g.writeError(c, ww.Errorf(ww.KindNotAllowed, "not-supported", "%s is not allowed on %s", c.Request.Method, c.Request.URL.Path))
	})
	e.GET("/healthz", g.healthz)
	e.GET("/readyz", g.readyz)
	e.GET("/metrics", gin.WrapH(metricsHandler(gath)))
	g.securityRoutes(e)

	f := e.Group("/fhir")
	f.Use(requestMemo, g.audit, g.pseudonymise)
	f.GET("/metadata", g.handle(g.metadata))
	g.mediationRoutes(f)
	f.POST("", g.handle(g.bundle))
	f.POST("/", g.handle(g.bundle))
	f.GET("/_history", g.handle(g.history))
	f.GET("/:type", g.handle(g.typeLevel))
	f.POST("/:type", g.handle(g.createOrOperation))
	f.PUT("/:type", g.handle(g.conditionalUpdate))
	f.DELETE("/:type", g.handle(g.conditionalDelete))
	f.POST("/:type/_search", g.handle(g.search))
	f.GET("/:type/_history", g.handle(g.history))
	f.GET("/:type/:id", g.handle(g.instanceLevel))
	f.POST("/:type/:id", g.handle(g.typeOperation))
	f.PUT("/:type/:id", g.handle(g.update))
	f.DELETE("/:type/:id", g.handle(g.delete))
	f.GET("/:type/:id/_history", g.handle(g.history))
	f.GET("/:type/:id/_history/:vid", g.handle(g.vread))
	f.GET("/:type/:id/:op", g.handle(g.instanceOperation))
	g.ingestRoutes(e, f)
	f.POST("/:type/:id/:op", g.handle(g.instanceOperation))
	g.engine = e
	return g, nil
}

// Handler returns the HTTP handler.
func (g *Gateway) Handler() http.Handler { return g.engine }

// Engine returns the gin engine, for adapters that add routes (admin).
func (g *Gateway) Engine() *gin.Engine { return g.engine }

// request is one FHIR interaction, from HTTP or from a Bundle entry.
type request struct {
	ctx      context.Context
	method   string
	typ, id  string
	vid      string
	op       string
	query    url.Values
	rawQuery string
	header   http.Header
	body     []byte
	tree     *fhirjson.Value
	base     string
	prefer   prefer
	inBundle bool
}

// response is the result of an interaction.
type response struct {
	status       int
	body         []byte
	location     string
	etag         string
	lastModified time.Time
	err          error
	// resource is the written resource, for Bundle responses.
	resource *ww.Resource
}

func errResponse(err error) *response {
	return &response{status: StatusOf(err), body: outcomeOf(err), err: err}
}

// handle adapts an interaction to gin.
func (g *Gateway) handle(fn func(*request) *response) gin.HandlerFunc {
	return func(c *gin.Context) {
		r := c.Request
		ct, err := negotiate(c.Query("_format"), r.Header.Get("Accept"))
		if err != nil {
			g.writeError(c, err)
			return
		}
		req := &request{
			ctx: r.Context(), method: r.Method, typ: c.Param("type"), id: c.Param("id"), vid: c.Param("vid"),
			op: c.Param("op"), query: r.URL.Query(), rawQuery: r.URL.RawQuery, header: r.Header,
			base: g.baseURL(r), prefer: parsePrefer(r.Header.Values("Prefer")),
		}
		if err := g.authorize(req, c.FullPath()); err != nil {
			g.writeError(c, err)
			return
		}
		if r.Method == http.MethodPost || r.Method == http.MethodPut || r.Method == http.MethodPatch {
			form := strings.HasSuffix(c.FullPath(), "/_search") && strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded")
			if err := checkContentType(r.Header.Get("Content-Type")); err != nil && !form {
				g.writeError(c, err)
				return
			}
			body, err := readBody(r, g.o.MaxBodyBytes)
			if err != nil {
				g.writeError(c, err)
				return
			}
			req.body = body
		}
		var resp *response
		if conformance.IsConformanceType(req.typ) {
			resp = g.conformanceRequest(req, c.FullPath())
		} else {
			resp = fn(req)
		}
		g.write(c, ct, resp)
	}
}

func (g *Gateway) baseURL(r *http.Request) string {
	if g.o.BaseURL != "" {
		return strings.TrimSuffix(g.o.BaseURL, "/")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + "/fhir"
}

func (g *Gateway) write(c *gin.Context, ct string, resp *response) {
	if resp.err != nil {
		g.logError(c, resp.err)
	}
	h := c.Writer.Header()
	if resp.location != "" {
		h.Set("Location", resp.location)
	}
	if resp.etag != "" {
		h.Set("ETag", resp.etag)
	}
	if !resp.lastModified.IsZero() {
		h.Set("Last-Modified", resp.lastModified.UTC().Format(http.TimeFormat))
	}
	if resp.status == http.StatusUnauthorized && h.Get("WWW-Authenticate") == "" {
		h.Set("WWW-Authenticate", `Bearer realm="wachtwijzer"`)
	}
	if len(resp.body) == 0 {
		c.Status(resp.status)
		return
	}
	body := resp.body
	if p := c.Query("_pretty"); p == "true" {
		body = indent(body)
	}
	c.Data(resp.status, ct+"; charset=utf-8", body)
}

func (g *Gateway) writeError(c *gin.Context, err error) {
	g.write(c, ctFHIR, errResponse(err))
}

// logError logs server-side failures with their cause; client errors are
// in the access log already.
func (g *Gateway) logError(c *gin.Context, err error) {
	st := StatusOf(err)
	if st < 500 {
		return
	}
	g.log.Error("request failed", "route", c.FullPath(), "method", c.Request.Method, "status", st, "err", err)
}

// typeLevel dispatches GET /fhir/:type: search, or a type-level operation.
func (g *Gateway) typeLevel(r *request) *response {
	if strings.HasPrefix(r.typ, "$") {
		return g.operation(r, "", r.typ, "")
	}
	if r.typ == "AuditEvent" && g.o.Audit != nil {
		return g.auditSearch(r)
	}
	return g.search(r)
}

// createOrOperation dispatches POST /fhir/:type: create, or a system-level
// operation such as $import.
func (g *Gateway) createOrOperation(r *request) *response {
	if strings.HasPrefix(r.typ, "$") {
		return g.operation(r, "", r.typ, "")
	}
	return g.create(r)
}

// instanceLevel dispatches GET /fhir/:type/:id: read, or a type-level
// operation (GET /fhir/ServiceRequest/$long-waits).
func (g *Gateway) instanceLevel(r *request) *response {
	if strings.HasPrefix(r.id, "$") {
		return g.operation(r, r.typ, r.id, "")
	}
	return g.read(r)
}

func (g *Gateway) typeOperation(r *request) *response {
	if strings.HasPrefix(r.id, "$") {
		return g.operation(r, r.typ, r.id, "")
	}
	return errResponse(ww.Errorf(ww.KindNotAllowed, "not-supported", "POST is not allowed on %s/%s; use PUT to update", r.typ, r.id))
}

func (g *Gateway) instanceOperation(r *request) *response {
	if !strings.HasPrefix(r.op, "$") {
		return errResponse(ww.Errorf(ww.KindNotFound, "not-found", "no such endpoint %s/%s/%s", r.typ, r.id, r.op))
	}
	return g.operation(r, r.typ, r.op, r.id)
}

// checkType verifies a served type in the URL.
func checkType(typ string) error {
	if conformance.IsConformanceType(typ) {
		return ww.Errorf(ww.KindNotAllowed, "not-supported", "%s resources are served read-only from the conformance registry; read them with GET /fhir/%s/[id], not in a Bundle", typ, typ)
	}
	if !conformance.Supported(typ) {
		return ww.Errorf(ww.KindNotFound, "not-supported", "resource type %q is not supported by this server; see /fhir/metadata", typ)
	}
	return nil
}
