package gateway

import (
	"net/http"
	"strings"
	"sync"

	ww "github.com/wachtwijzer/wachtwijzer"
)

// Operation is the handler of a FHIR operation ($name). It receives the
// resource type ("" at system level), the instance id ("" unless invoked on
// an instance) and the request; GET passes parameters in the query, POST a
// Parameters resource in the body.
type Operation func(req *OperationRequest) (status int, body []byte, err error)

// OperationRequest is what an operation handler gets.
type OperationRequest struct {
	*request
	Type, ID string
	gw       *Gateway
}

var (
	opMu sync.RWMutex
	ops  = map[string]Operation{}
)

// RegisterOperation installs handler for $name on typ ("" for system
// level). Packages that serve operations call it before the gateway serves;
// they also declare the operation in conformance.RegisterOperation so the
// CapabilityStatement lists it.
func RegisterOperation(typ, name string, handler Operation) {
	opMu.Lock()
	defer opMu.Unlock()
	ops[typ+"$"+strings.TrimPrefix(name, "$")] = handler
}

func (g *Gateway) operation(r *request, typ, name, id string) *response {
	if typ != "" {
		if err := checkType(typ); err != nil && !strings.HasPrefix(name, "$") {
			return errResponse(err)
		}
	}
	if name == "$validate" && typ != "" {
		return g.validateOperation(r, typ, id)
	}
	opMu.RLock()
	h, ok := ops[typ+name]
	opMu.RUnlock()
	if !ok {
		where := "at system level"
		if typ != "" {
			where = "on " + typ
		}
		return errResponse(ww.Errorf(ww.KindNotFound, "not-supported", "operation %s is not supported %s; see /fhir/metadata", name, where))
	}
	r.ctx = g.withIngest(r.ctx)
	status, body, err := h(&OperationRequest{request: r, Type: typ, ID: id, gw: g})
	if err != nil {
		return errResponse(err)
	}
	if status == 0 {
		status = http.StatusOK
	}
	return &response{status: status, body: body}
}
