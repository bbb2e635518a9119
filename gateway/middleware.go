package gateway

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	ww "github.com/wachtwijzer/wachtwijzer"
)

// recover turns a panic into a 500 OperationOutcome; the stack goes to the
// server log, never to the client.
func (g *Gateway) recover(c *gin.Context) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			g.log.Error("panic serving request", "route", c.FullPath(), "method", c.Request.Method, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			if !c.Writer.Written() {
				c.Data(http.StatusInternalServerError, ctFHIR+"; charset=utf-8", outcomeOf(ww.Errorf(ww.KindInternal, "exception", "internal error")))
			}
			c.Abort()
		}
	}()
	c.Next()
}

// accessLog records each request by route template, method and status —
// never the query or path values, which can hold a BSN.
func (g *Gateway) accessLog(c *gin.Context) {
	start := time.Now()
	c.Next()
	route := c.FullPath()
	if route == "" {
		route = "unmatched"
	}
	d := time.Since(start)
	status := c.Writer.Status()
	code := strconv.Itoa(status)
	g.metrics.requests.WithLabelValues(route, c.Request.Method, code).Inc()
	g.metrics.latency.WithLabelValues(route, c.Request.Method, code).Observe(d.Seconds())
	if route == "/metrics" || route == "/healthz" || route == "/readyz" {
		return
	}
	g.o.AccessLog.Info("request", "method", c.Request.Method, "route", route, "status", status, "ms", float64(d.Microseconds())/1000, "bytes", c.Writer.Size())
}

type metrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "wachtwijzer", Subsystem: "http", Name: "requests_total",
			Help: "HTTP requests by route template, method and status.",
		}, []string{"route", "method", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "wachtwijzer", Subsystem: "http", Name: "request_duration_seconds",
			Help:    "HTTP request latency by route template, method and status.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"route", "method", "status"}),
	}
	reg.MustRegister(m.requests, m.latency)
	return m
}

func metricsHandler(g prometheus.Gatherer) http.Handler {
	return promhttp.HandlerFor(g, promhttp.HandlerOpts{})
}

func (g *Gateway) healthz(c *gin.Context) {
	c.Data(http.StatusOK, "application/json", []byte(`{"status":"ok"}`))
}

// readyz reports ready when Redis answers and the scripts are loaded.
func (g *Gateway) readyz(c *gin.Context) {
	if err := g.store.Ping(c.Request.Context()); err != nil {
		g.log.Warn("not ready", "err", err)
		c.Data(http.StatusServiceUnavailable, "application/json", []byte(`{"status":"unavailable","reason":"redis"}`))
		return
	}
	if g.o.Ready != nil {
		if err := g.o.Ready(c.Request.Context()); err != nil {
			c.Data(http.StatusServiceUnavailable, "application/json", []byte(`{"status":"unavailable"}`))
			return
		}
	}
	c.Data(http.StatusOK, "application/json", []byte(`{"status":"ready"}`))
}

func indent(b []byte) []byte {
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		return b
	}
	return out.Bytes()
}
