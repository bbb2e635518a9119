package gateway

import (
	"net/http"
	"sync"

	"github.com/wachtwijzer/wachtwijzer/conformance"
)

var capOnce sync.Map // base URL → statement bytes

// metadata serves the CapabilityStatement, built from conformance/ (the
// one source of truth about types, interactions, parameters and
// operations).
func (g *Gateway) metadata(r *request) *response {
	if v, ok := capOnce.Load(r.base); ok {
		return &response{status: http.StatusOK, body: v.([]byte)}
	}
	b := conformance.CapabilityStatement(conformance.ServerInfo{Version: g.o.Version, BaseURL: r.base, Started: g.started, Security: g.o.Security})
	capOnce.Store(r.base, b)
	return &response{status: http.StatusOK, body: b}
}
