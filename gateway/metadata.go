package gateway

import (
	"strings"

	"github.com/wachtwijzer/wachtwijzer/auth"
	"net/http"
	"sync"

	"github.com/wachtwijzer/wachtwijzer/conformance"
)

// maxCachedStatements bounds the CapabilityStatement cache: the base URL
// comes from the request's Host, so a client choosing Host values must not
// grow memory; beyond the bound statements are built per request.
const maxCachedStatements = 16

// capabilityCache holds one gateway's CapabilityStatements by base URL.
type capabilityCache struct {
	mu sync.Mutex
	m  map[string][]byte
}

func (c *capabilityCache) get(base string, build func() []byte) []byte {
	c.mu.Lock()
	b, ok := c.m[base]
	c.mu.Unlock()
	if ok {
		return b
	}
	b = build()
	c.mu.Lock()
	if c.m == nil {
		c.m = map[string][]byte{}
	}
	if len(c.m) < maxCachedStatements {
		c.m[base] = b
	}
	c.mu.Unlock()
	return b
}

// metadata serves the CapabilityStatement, built from conformance/ (the
// one source of truth about types, interactions, parameters and
// operations).
func (g *Gateway) metadata(r *request) *response {
	b := g.capabilities.get(r.base, func() []byte {
		sec := g.o.Security
		if sec == nil && g.o.Access.Auth != nil {
			iss := strings.TrimSuffix(r.base, "/fhir")
			sec = &conformance.Security{Service: []string{"SMART-on-FHIR"}, TokenURL: iss + auth.TokenPath,
				Description: "SMART Backend Services: client_credentials with private_key_jwt at " + iss + auth.TokenPath +
					"; the gateway's signing keys are at " + iss + auth.JWKSPath + " and the endpoints at " + r.base + auth.DiscoveryPath +
					". Scopes: SMART v1 (system/Type.read|write|*) or v2 (system/Type.cruds) per interaction."}
		}
		return conformance.CapabilityStatement(conformance.ServerInfo{Version: g.o.Version, BaseURL: r.base, Started: g.started, Security: sec})
	})
	return &response{status: http.StatusOK, body: b}
}
