package gateway

import (
	"encoding/base64"
	"mime"
	"net/http"
	"strings"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/fhirjson"
	"github.com/wachtwijzer/wachtwijzer/publication"
)

func init() {
	// POST has its own route (it reads CSV); other methods land here.
	RegisterOperation("HealthcareService", "import-waiting-times", func(r *OperationRequest) (int, []byte, error) {
		return 0, nil, ww.Errorf(ww.KindNotAllowed, "not-supported", "$import-waiting-times changes data: POST the publication to /fhir/HealthcareService/$import-waiting-times")
	})
}

// opImportWaitingTimes serves POST /fhir/HealthcareService/$import-waiting-times
// (OperationDefinition/import-waiting-times): the body is the NZa CSV
// (text/csv), the WaitingTimeMSZ JSON (application/json) or a Parameters
// resource with a file attachment. It answers an OperationOutcome with the
// per-row report; the valid rows are imported.
func opImportWaitingTimes(r *OperationRequest, format string) (int, []byte, string, error) {
	if format == "csv" {
		return 0, nil, "", ww.Errorf(ww.KindNotAcceptable, "not-supported", "$import-waiting-times answers an OperationOutcome in FHIR JSON")
	}
	data := r.body
	if len(strings.TrimSpace(string(data))) == 0 {
		return 0, nil, "", ww.Errorf(ww.KindInvalid, "required", "the body is empty: post the NZa CSV (text/csv), the WaitingTimeMSZ JSON (application/json) or a Parameters resource with a file attachment")
	}
	mt, _, _ := mime.ParseMediaType(r.header.Get("Content-Type"))
	f := publication.Detect
	switch mt {
	case "text/csv", "text/plain", "application/csv":
		f = publication.CSV
	case "application/json", "application/fhir+json", "":
		if tree, err := fhirjson.Parse(data, fhirjson.Limits{MaxDepth: 20}); err == nil && tree.GetStr("resourceType") == "Parameters" {
			var ct string
			if data, ct, err = attachment(tree); err != nil {
				return 0, nil, "", err
			}
			if ct == "text/csv" {
				f = publication.CSV
			}
		} else if mt != "" {
			f = publication.JSON
		}
	case "application/octet-stream":
	default:
		return 0, nil, "", ww.Errorf(ww.KindUnsupportedMedia, "not-supported", "Content-Type %s: post text/csv, application/json or a FHIR Parameters resource", mt)
	}
	key := r.gw.o.DeploymentKey
	if k, ok := r.gw.store.(interface{ DeploymentKey() []byte }); ok {
		key = k.DeploymentKey()
	}
	o := publication.Options{Store: r.gw.store, Key: key, Channel: ww.ChannelImport, Source: "$import-waiting-times"}
	if r.gw.med != nil {
		o.Geo = r.gw.med.Config().Geo
	}
	rep, err := publication.Import(r.ctx, data, f, o)
	if err != nil {
		return 0, nil, "", err
	}
	return http.StatusOK, operationOutcome(rep.Issues()), "", nil
}

// attachment returns the data of the Parameters' file attachment.
func attachment(p *fhirjson.Value) ([]byte, string, error) {
	for _, prm := range itemsOf(p.Get("parameter")) {
		if prm.GetStr("name") != "file" {
			continue
		}
		a := prm.Get("valueAttachment")
		if a == nil {
			return nil, "", ww.Errorf(ww.KindInvalid, "required", "parameter file needs a valueAttachment").At("Parameters.parameter.valueAttachment")
		}
		b, err := base64.StdEncoding.DecodeString(a.GetStr("data"))
		if err != nil || len(b) == 0 {
			return nil, "", ww.Errorf(ww.KindInvalid, "value", "the file attachment's data is not base64 (or empty)").At("Parameters.parameter.valueAttachment.data")
		}
		return b, a.GetStr("contentType"), nil
	}
	return nil, "", ww.Errorf(ww.KindInvalid, "required", "the Parameters resource has no file parameter").At("Parameters.parameter")
}
