package wachtwijzer

import (
	"errors"
	"fmt"
	"strings"
)

// Kind classifies an error. The gateway maps each kind to one HTTP status in
// a single table; adapters (HL7 ACKs, import reports) map them likewise.
type Kind int

// The error kinds.
const (
	KindInternal         Kind = iota // a bug or an unexpected failure (500)
	KindInvalid                      // malformed request or resource (400)
	KindUnprocessable                // well-formed but breaks a rule (422)
	KindNotFound                     // no such resource, type or version (404)
	KindGone                         // the resource was deleted (410)
	KindConflict                     // a concurrent write won (409)
	KindPrecondition                 // If-Match or conditional criteria failed (412)
	KindNotAllowed                   // interaction not allowed on this resource (405)
	KindTooLarge                     // body over the configured limit (413)
	KindUnsupportedMedia             // request content type not supported (415)
	KindNotAcceptable                // no acceptable response format (406)
	KindUnauthorized                 // no or bad credentials (401)
	KindForbidden                    // authenticated but not allowed (403)
	KindTooManyRequests              // rate limited (429)
	KindUnavailable                  // a dependency (Redis) is down or timed out (503)
)

var kindNames = [...]string{"internal", "invalid", "unprocessable", "not found", "gone", "conflict",
	"precondition failed", "not allowed", "too large", "unsupported media type", "not acceptable",
	"unauthorized", "forbidden", "too many requests", "unavailable"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// Severity of an Issue, as in OperationOutcome.issue.severity.
type Severity string

// The issue severities.
const (
	SeverityFatal       Severity = "fatal"
	SeverityError       Severity = "error"
	SeverityWarning     Severity = "warning"
	SeverityInformation Severity = "information"
)

// Issue is one finding, shaped like OperationOutcome.issue: Code is a FHIR
// issue-type code (invalid, structure, required, value, not-found, …) and
// Expression names the element in FHIRPath.
type Issue struct {
	Severity    Severity
	Code        string
	Diagnostics string
	Expression  []string
}

// Error is the error type of the gateway: an operation, a kind and one or
// more issues, with an optional cause that is logged but never shown to a
// client.
type Error struct {
	Op     string
	Kind   Kind
	Issues []Issue
	Err    error
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.Op != "" {
		b.WriteString(e.Op)
		b.WriteString(": ")
	}
	b.WriteString(e.Kind.String())
	for i, is := range e.Issues {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(is.Diagnostics)
		if len(is.Expression) > 0 {
			b.WriteString(" (at ")
			b.WriteString(strings.Join(is.Expression, ", "))
			b.WriteString(")")
		}
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf builds an Error with one issue of severity error.
func Errorf(kind Kind, code string, format string, args ...any) *Error {
	return &Error{Kind: kind, Issues: []Issue{{Severity: SeverityError, Code: code, Diagnostics: fmt.Sprintf(format, args...)}}}
}

// At sets the FHIRPath expression of the error's issues and returns it.
func (e *Error) At(expr ...string) *Error {
	for i := range e.Issues {
		e.Issues[i].Expression = expr
	}
	return e
}

// WithOp sets the operation and returns the error.
func (e *Error) WithOp(op string) *Error {
	e.Op = op
	return e
}

// Wrap returns an internal or unavailable error carrying cause, for failures
// the client cannot fix; the cause is logged, never shown.
func Wrap(op string, kind Kind, cause error, diagnostics string) *Error {
	return &Error{Op: op, Kind: kind, Err: cause, Issues: []Issue{{Severity: SeverityError, Code: codeFor(kind), Diagnostics: diagnostics}}}
}

func codeFor(kind Kind) string {
	switch kind {
	case KindUnavailable:
		return "transient"
	case KindTooManyRequests:
		return "throttled"
	default:
		return "exception"
	}
}

// KindOf returns the kind of err: the Kind of the first *Error in its chain,
// KindInternal otherwise.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindInternal
}

// IsKind reports whether err is an *Error of kind k.
func IsKind(err error, k Kind) bool {
	var e *Error
	return errors.As(err, &e) && e.Kind == k
}

// ErrStoreClosed is returned by a Store after Close.
var ErrStoreClosed = errors.New("store closed")
