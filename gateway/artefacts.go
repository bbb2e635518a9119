package gateway

import (
	"net/http"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/conformance"
)

// artefactRead serves GET /fhir/{OperationDefinition|StructureDefinition|
// CodeSystem|Measure}/<id>: the project's own conformance artefacts,
// read-only, from conformance/artefacts.
func (g *Gateway) artefactRead(r *request) *response {
	raw, ok := conformance.Artefact(r.typ, r.id)
	if !ok {
		return errResponse(ww.Errorf(ww.KindNotFound, "not-found", "%s/%s is not known; GET /fhir/%s lists the ones served", r.typ, r.id, r.typ))
	}
	return &response{status: http.StatusOK, body: raw}
}

// artefactSearch serves GET /fhir/<artefact type>[?url=…]: a searchset of
// every artefact of the type (or the one with that canonical url).
func (g *Gateway) artefactSearch(r *request) *response {
	bb := newBundle("searchset", g.o.Clock)
	ids := conformance.ArtefactIDs(r.typ, r.query.Get("url"))
	bb.total(len(ids))
	self := r.base + "/" + r.typ
	if u := r.query.Get("url"); u != "" {
		self += "?url=" + u
	}
	bb.link("self", self)
	for _, id := range ids {
		raw, _ := conformance.Artefact(r.typ, id)
		searchMode(bb.entry(r.base+"/"+r.typ+"/"+id, raw), "match")
	}
	return &response{status: http.StatusOK, body: bb.bytes()}
}
