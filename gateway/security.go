package gateway

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/auth"
	"github.com/wachtwijzer/wachtwijzer/conformance"
)

// SecurityOptions configure authentication and the public surface.
type SecurityOptions struct {
	// Auth authenticates requests and serves /auth/token, /auth/jwks and
	// the SMART discovery document; nil: no authentication (--insecure-dev).
	Auth *auth.Server
	// PrivateBulkPublish makes $bulk-publish need a token (default public).
	PrivateBulkPublish bool
	// SeparateAdmin serves /metrics, /status and /admin/* only on
	// AdminHandler (--admin-addr); the main handler answers 404 there.
	SeparateAdmin bool
}

// Query cost limits: deeper chains, more includes or more :iterate
// includes than these are a 400 that says so.
const (
	maxChainDepth      = 3
	maxIncludes        = 10
	maxIterateIncludes = 2
)

type adminListenerKey struct{}

// AdminHandler serves the admin surface (/metrics, /status, /admin/*) for
// a separate --admin-addr listener, without tokens: that listener's
// network is the access control. Other paths are 404 there.
func (g *Gateway) AdminHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !isAdminPath(r.URL.Path) && r.URL.Path != "/healthz" && r.URL.Path != "/readyz" {
			http.NotFound(w, r)
			return
		}
		g.engine.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), adminListenerKey{}, true)))
	})
}

func isAdminPath(p string) bool {
	return p == "/metrics" || p == "/status" || p == "/admin" || strings.HasPrefix(p, "/admin/")
}

// securityRoutes mounts the authorisation server's endpoints.
func (g *Gateway) securityRoutes(e *gin.Engine) {
	a := g.o.Access.Auth
	if a == nil {
		return
	}
	e.POST(auth.TokenPath, gin.WrapF(a.Token))
	e.GET(auth.JWKSPath, gin.WrapF(a.JWKSHandler))
	e.GET(auth.DiscoveryPath, gin.WrapF(a.Discovery))
	e.GET("/fhir"+auth.DiscoveryPath, gin.WrapF(a.Discovery))
}

// publicRoutes are reachable without a token.
var publicRoutes = map[string]bool{
	"/healthz": true, "/readyz": true, "/fhir/metadata": true,
	auth.TokenPath: true, auth.JWKSPath: true, auth.DiscoveryPath: true, "/fhir" + auth.DiscoveryPath: true,
}

// secure sets the security headers and, with authentication on, admits the
// request: public routes pass, others need a valid token (401), admin
// routes an admin (403), and every client is rate limited (429).
func (g *Gateway) secure(c *gin.Context) {
	h := c.Writer.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
	if c.Request.TLS != nil {
		h.Set("Strict-Transport-Security", "max-age=31536000")
	}
	route := c.FullPath()
	path := c.Request.URL.Path
	public := publicRoutes[route] || (!g.o.Access.PrivateBulkPublish && strings.HasPrefix(route, "/fhir/$bulk-publish"))
	if !public {
		// Patient data: never stored by caches or browsers.
		h.Set("Cache-Control", "no-store")
	}
	onAdminListener, _ := c.Request.Context().Value(adminListenerKey{}).(bool)
	admin := isAdminPath(path)
	if admin && g.o.Access.SeparateAdmin && !onAdminListener {
		g.writeError(c, ww.Errorf(ww.KindNotFound, "not-found", "no such endpoint: %s %s", c.Request.Method, path))
		c.Abort()
		return
	}
	a := g.o.Access.Auth
	if a == nil || public || onAdminListener {
		c.Next()
		return
	}
	p, grants, err := a.Authenticate(c.Request)
	if err != nil {
		if ww.IsKind(err, ww.KindUnauthorized) {
			v := `Bearer realm="wachtwijzer"`
			if c.Request.Header.Get("Authorization") != "" {
				v += `, error="invalid_token"`
			}
			h.Set("WWW-Authenticate", v)
		}
		g.writeError(c, err)
		c.Abort()
		return
	}
	wait, err := a.Limiter().Allow(c.Request.Context(), p.ClientID)
	if err != nil {
		g.writeError(c, ww.Wrap("gateway.ratelimit", ww.KindUnavailable, err, "the rate limiter is unavailable; retry"))
		c.Abort()
		return
	}
	if wait > 0 {
		secs := int((wait + time.Second - 1) / time.Second)
		h.Set("Retry-After", strconv.Itoa(secs))
		g.writeError(c, ww.Errorf(ww.KindTooManyRequests, "throttled", "client %s sent more requests than its rate limit allows; retry after %d s", p.ClientID, secs))
		c.Abort()
		return
	}
	if admin && p.Role != ww.RoleAdmin {
		g.writeError(c, ww.Errorf(ww.KindForbidden, "forbidden", "%s is for admin clients only", path))
		c.Abort()
		return
	}
	ctx := auth.WithGrants(ww.WithPrincipal(c.Request.Context(), p), grants)
	c.Request = c.Request.WithContext(ctx)
	c.Next()
}

// authorize checks the scopes an interaction needs (route is the gin
// route template; "" for a Bundle entry).
func (g *Gateway) authorize(r *request, route string) error {
	if g.o.Access.Auth == nil {
		return nil
	}
	typ, perm, what, ok := needOf(r, route)
	if !ok {
		return nil
	}
	return auth.Check(r.ctx, typ, perm, what)
}

// needOf is the scope an interaction needs: its type ("" for all types),
// the permissions and a name for messages; ok false when it needs none
// beyond a valid token (the conformance registry, metadata).
func needOf(r *request, route string) (typ string, perm auth.Perm, what string, ok bool) {
	if conformance.IsConformanceType(r.typ) || r.typ == "metadata" || route == "/fhir" || route == "/fhir/" {
		// A Bundle's entries are checked one by one (bundle).
		return "", 0, "", false
	}
	if route == "/fhir/_history" || r.typ == "_history" {
		return "", auth.Perm(auth.Search), "system history", true
	}
	switch {
	case strings.HasPrefix(r.typ, "$"):
		return opNeed("", r.typ)
	case strings.HasPrefix(r.id, "$"):
		return opNeed(r.typ, r.id)
	case strings.HasPrefix(r.op, "$"):
		return opNeed(r.typ, r.op)
	}
	switch r.method {
	case http.MethodGet, http.MethodHead:
		switch {
		case r.vid != "":
			return r.typ, auth.Perm(auth.Read), "vread of " + r.typ, true
		case r.id == "_history" || (r.id == "" && strings.HasSuffix(route, "/_history")):
			return r.typ, auth.Perm(auth.Search), "history of " + r.typ, true
		case r.id != "":
			return r.typ, auth.Perm(auth.Read), "read of " + r.typ, true
		}
		return r.typ, auth.Perm(auth.Search), "search of " + r.typ, true
	case http.MethodPost:
		if strings.HasSuffix(route, "/_search") {
			return r.typ, auth.Perm(auth.Search), "search of " + r.typ, true
		}
		return r.typ, auth.Perm(auth.Create), "create of " + r.typ, true
	case http.MethodPut:
		return r.typ, auth.Perm(auth.Update), "update of " + r.typ, true
	case http.MethodDelete:
		return r.typ, auth.Perm(auth.Delete), "delete of " + r.typ, true
	}
	return r.typ, auth.PermAll, r.method + " on " + r.typ, true
}

// opNeed is the scope of an operation: the insurer operations read the
// types they answer from; $validate reads its type.
func opNeed(typ, name string) (string, auth.Perm, string, bool) {
	search := auth.Perm(auth.Search)
	switch name {
	case "$long-waits", "$mediation-options":
		return "ServiceRequest", search, name, true
	case "$availability":
		return "Slot", search, name, true
	case "$regional-capacity":
		return "MeasureReport", search, name, true
	case "$mediation-report":
		return "Task", search, name, true
	case "$import-waiting-times":
		return "HealthcareService", auth.Perm(auth.Create | auth.Update), name, true
	case "$import":
		return "", auth.Perm(auth.Create | auth.Update), name, true
	}
	return typ, auth.Perm(auth.Read), name, true
}

// authorizeImport checks that the token may write every type a $import
// brings: the declared types of listed files (an undeclared one needs
// system/*.write) and each line's resourceType in an upload.
func (g *Gateway) authorizeImport(ctx context.Context, inputs []importInput) error {
	if g.o.Access.Auth == nil {
		return nil
	}
	write := auth.Perm(auth.Create | auth.Update)
	seen := map[string]bool{}
	check := func(typ string) error {
		if seen[typ] {
			return nil
		}
		seen[typ] = true
		return auth.Check(ctx, typ, write, "$import of "+orAll(typ))
	}
	for _, in := range inputs {
		if in.Data == nil {
			if err := check(in.Type); err != nil {
				return err
			}
			continue
		}
		sc := bufio.NewScanner(bytes.NewReader(in.Data))
		sc.Buffer(nil, len(in.Data)+1)
		for sc.Scan() {
			line := bytes.TrimSpace(sc.Bytes())
			if len(line) == 0 {
				continue
			}
			var head struct {
				ResourceType string `json:"resourceType"`
			}
			if json.Unmarshal(line, &head) != nil || head.ResourceType == "" {
				continue // the import reports the line as malformed
			}
			if err := check(head.ResourceType); err != nil {
				return err
			}
		}
	}
	return nil
}

func orAll(typ string) string {
	if typ == "" {
		return "files of undeclared type"
	}
	return typ
}

// queryCost refuses searches too costly to answer: chains deeper than
// maxChainDepth, more than maxIncludes includes, more than
// maxIterateIncludes :iterate includes.
func queryCost(params map[string][]string) error {
	includes, iterates := 0, 0
	for name, vals := range params {
		base, mod, _ := strings.Cut(name, ":")
		switch base {
		case "_include", "_revinclude":
			includes += len(vals)
			if mod == "iterate" || mod == "recurse" {
				iterates += len(vals)
			}
			continue
		}
		if d := strings.Count(name, "."); d > maxChainDepth {
			return ww.Errorf(ww.KindInvalid, "too-costly", "search parameter %q chains %d references; at most %d are allowed", name, d, maxChainDepth).At(name)
		}
		if d := strings.Count(name, "_has:"); d > maxChainDepth {
			return ww.Errorf(ww.KindInvalid, "too-costly", "search parameter %q nests _has %d deep; at most %d are allowed", name, d, maxChainDepth).At(name)
		}
	}
	if includes > maxIncludes {
		return ww.Errorf(ww.KindInvalid, "too-costly", "the search has %d _include/_revinclude values; at most %d are allowed", includes, maxIncludes).At("_include")
	}
	if iterates > maxIterateIncludes {
		return ww.Errorf(ww.KindInvalid, "too-costly", "the search has %d :iterate includes; at most %d are allowed (each one repeats the include over what it found)", iterates, maxIterateIncludes).At("_include:iterate")
	}
	return nil
}
