package gateway

import (
	"errors"
	"net/http"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/fhirjson"
)

// statusOf is the one table from error kind to HTTP status.
var statusOf = map[ww.Kind]int{
	ww.KindInternal:         http.StatusInternalServerError,
	ww.KindInvalid:          http.StatusBadRequest,
	ww.KindUnprocessable:    http.StatusUnprocessableEntity,
	ww.KindNotFound:         http.StatusNotFound,
	ww.KindGone:             http.StatusGone,
	ww.KindConflict:         http.StatusConflict,
	ww.KindPrecondition:     http.StatusPreconditionFailed,
	ww.KindNotAllowed:       http.StatusMethodNotAllowed,
	ww.KindTooLarge:         http.StatusRequestEntityTooLarge,
	ww.KindUnsupportedMedia: http.StatusUnsupportedMediaType,
	ww.KindNotAcceptable:    http.StatusNotAcceptable,
	ww.KindUnauthorized:     http.StatusUnauthorized,
	ww.KindForbidden:        http.StatusForbidden,
	ww.KindTooManyRequests:  http.StatusTooManyRequests,
	ww.KindUnavailable:      http.StatusServiceUnavailable,
}

// StatusOf returns the HTTP status for an error.
func StatusOf(err error) int {
	if s, ok := statusOf[ww.KindOf(err)]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// outcomeOf renders err as an OperationOutcome. Internal causes are never
// shown: only the issues, which the code wrote for clients.
func outcomeOf(err error) []byte {
	var e *ww.Error
	if !errors.As(err, &e) || len(e.Issues) == 0 {
		return operationOutcome([]ww.Issue{{Severity: ww.SeverityError, Code: "exception", Diagnostics: "internal error; the gateway logged the details"}})
	}
	return operationOutcome(e.Issues)
}

// operationOutcome builds an OperationOutcome from issues.
func operationOutcome(issues []ww.Issue) []byte {
	oo := fhirjson.NewObject()
	oo.Set("resourceType", fhirjson.NewString("OperationOutcome"))
	arr := fhirjson.NewArray()
	for _, is := range issues {
		it := fhirjson.NewObject()
		sev := is.Severity
		if sev == "" {
			sev = ww.SeverityError
		}
		it.Set("severity", fhirjson.NewString(string(sev)))
		code := is.Code
		if code == "" {
			code = "processing"
		}
		it.Set("code", fhirjson.NewString(code))
		if is.Diagnostics != "" {
			it.Set("diagnostics", fhirjson.NewString(is.Diagnostics))
		}
		if len(is.Expression) > 0 {
			ex := fhirjson.NewArray()
			for _, x := range is.Expression {
				ex.Items = append(ex.Items, fhirjson.NewString(x))
			}
			it.Set("expression", ex)
		}
		arr.Items = append(arr.Items, it)
	}
	oo.Set("issue", arr)
	return oo.Bytes()
}

// info is an informational OperationOutcome (successful deletes, Prefer:
// return=OperationOutcome).
func info(msg string) []byte {
	return operationOutcome([]ww.Issue{{Severity: ww.SeverityInformation, Code: "informational", Diagnostics: msg}})
}

func asErr(err error, target **ww.Error) bool { return errors.As(err, target) }
