package conformance

import (
	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/fhirjson"
)

// TransitionRule checks a change of a resource: old is the live version it
// replaces (nil for a create), new the version written. It reports issues;
// an error rejects the write with 422. The store runs the rules inside the
// commit against the version it replaces, so a concurrent change cannot
// slip between the check and the write (the commit's version check fails
// and the write is planned again).
type TransitionRule func(typ string, old, new *fhirjson.Value) []ww.Issue

var transitions []TransitionRule

// AddTransitionRule registers a transition rule. Call it from init only.
func AddTransitionRule(r TransitionRule) { transitions = append(transitions, r) }

// CheckTransition runs the transition rules on a write.
func CheckTransition(typ string, old, new *fhirjson.Value) error {
	var issues []ww.Issue
	for _, r := range transitions {
		issues = append(issues, r(typ, old, new)...)
	}
	if hasError(issues) {
		return &ww.Error{Op: "conformance.CheckTransition", Kind: ww.KindUnprocessable, Issues: issues}
	}
	return nil
}

// hasError reports whether any issue is an error or fatal.
func hasError(issues []ww.Issue) bool {
	for _, is := range issues {
		if is.Severity == ww.SeverityError || is.Severity == ww.SeverityFatal {
			return true
		}
	}
	return false
}
