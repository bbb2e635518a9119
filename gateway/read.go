package gateway

import (
	"net/http"
	"strconv"
	"time"

	ww "github.com/wachtwijzer/wachtwijzer"
)

// read serves GET [base]/[type]/[id], honouring If-None-Match and
// If-Modified-Since (304).
func (g *Gateway) read(r *request) *response {
	if err := checkType(r.typ); err != nil {
		return errResponse(err)
	}
	if !ww.ValidID(r.id) {
		return errResponse(ww.Errorf(ww.KindNotFound, "not-found", "%q is not a valid resource id", r.id))
	}
	res, err := g.store.Read(r.ctx, r.typ, r.id)
	if err != nil {
		resp := errResponse(err)
		if res != nil && res.Deleted {
			resp.etag = etag(res.VersionID)
			resp.lastModified = res.LastUpdated
		}
		return resp
	}
	if inm := r.header.Get("If-None-Match"); inm != "" {
		if v, ok := parseETag(inm); ok && v == res.VersionID {
			return &response{status: http.StatusNotModified, etag: etag(res.VersionID), lastModified: res.LastUpdated}
		}
	}
	if ims := r.header.Get("If-Modified-Since"); ims != "" {
		if t, err := http.ParseTime(ims); err == nil && !res.LastUpdated.Truncate(time.Second).After(t) {
			return &response{status: http.StatusNotModified, etag: etag(res.VersionID), lastModified: res.LastUpdated}
		}
	}
	return g.annotated(r, resourceResponse(http.StatusOK, res, r.query))
}

// vread serves GET [base]/[type]/[id]/_history/[vid].
func (g *Gateway) vread(r *request) *response {
	if err := checkType(r.typ); err != nil {
		return errResponse(err)
	}
	vid, err := strconv.ParseInt(r.vid, 10, 64)
	if err != nil || vid <= 0 {
		return errResponse(ww.Errorf(ww.KindNotFound, "not-found", "%q is not a version id of %s/%s", r.vid, r.typ, r.id))
	}
	res, err := g.store.VRead(r.ctx, r.typ, r.id, vid)
	if err != nil {
		return errResponse(err)
	}
	if res.Deleted {
		resp := errResponse(ww.Errorf(ww.KindGone, "deleted", "version %d of %s/%s is its deletion", vid, r.typ, r.id))
		resp.etag, resp.lastModified = etag(res.VersionID), res.LastUpdated
		return resp
	}
	return g.annotated(r, resourceResponse(http.StatusOK, res, r.query))
}

// resourceResponse serves a stored version with its ETag and Last-Modified,
// applying _summary/_elements when asked.
func resourceResponse(status int, res *ww.Resource, q map[string][]string) *response {
	body := res.JSON
	if sub := subsetter(q); sub != nil {
		body = sub(body)
	}
	return &response{status: status, body: body, etag: etag(res.VersionID), lastModified: res.LastUpdated, resource: res}
}
