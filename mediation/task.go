package mediation

import (
	"fmt"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/conformance"
	"github.com/wachtwijzer/wachtwijzer/fhirjson"
)

// The mediation Task: code mediation (CodeSystem
// https://wachtwijzer.nl/fhir/CodeSystem/task-code), for the Patient, owner
// the insurer, focus the wait; output chosen-provider (a reference) and
// days-gained (an integer) when completed.
const (
	SystemTaskCode     = "https://wachtwijzer.nl/fhir/CodeSystem/task-code"
	TaskCodeMediation  = "mediation"
	SystemTaskOutput   = "https://wachtwijzer.nl/fhir/CodeSystem/mediation-output"
	OutputChosen       = "chosen-provider"
	OutputDaysGained   = "days-gained"
	TaskRequested      = "requested"
	TaskInProgress     = "in-progress"
	TaskCompleted      = "completed"
	TaskCancelled      = "cancelled"
	taskStatusesListed = "requested, in-progress, completed, cancelled"
)

// TaskTransition checks a mediation Task's status change from old ("" for
// a new Task) to new: a new Task starts requested; requested → in-progress
// or cancelled; in-progress → completed or cancelled; completed and
// cancelled are final. Staying in a status is allowed (other fields change).
func TaskTransition(old, new string) error {
	switch new {
	case TaskRequested, TaskInProgress, TaskCompleted, TaskCancelled:
	default:
		return fmt.Errorf("a mediation Task's status is one of %s, not %q", taskStatusesListed, new)
	}
	if old == new {
		return nil
	}
	ok := false
	switch old {
	case "":
		ok = new == TaskRequested
	case TaskRequested:
		ok = new == TaskInProgress || new == TaskCancelled
	case TaskInProgress:
		ok = new == TaskCompleted || new == TaskCancelled
	}
	if !ok {
		if old == "" {
			return fmt.Errorf("a new mediation Task starts with status requested, not %s", new)
		}
		return fmt.Errorf("a mediation Task cannot go from %s to %s (requested → in-progress → completed, or cancelled before completion)", old, new)
	}
	return nil
}

func init() {
	conformance.AddRule(taskRule)
	conformance.AddTransitionRule(taskTransitionRule)
}

// IsMediationTask reports whether a Task has code mediation.
func IsMediationTask(t *fhirjson.Value) bool {
	for _, c := range items(t.Get("code").Get("coding")) {
		if c.GetStr("system") == SystemTaskCode && c.GetStr("code") == TaskCodeMediation {
			return true
		}
	}
	return false
}

func issue(expr, format string, args ...any) ww.Issue {
	return ww.Issue{Severity: ww.SeverityError, Code: "business-rule", Diagnostics: fmt.Sprintf(format, args...), Expression: []string{expr}}
}

// taskRule checks a mediation Task's shape: for a Patient, owner the
// insurer (an Organization), focus the wait (a ServiceRequest), a known
// status, and when completed the outputs chosen-provider (a reference) and
// days-gained (an integer).
func taskRule(typ string, t *fhirjson.Value) []ww.Issue {
	if typ != "Task" || !IsMediationTask(t) {
		return nil
	}
	var out []ww.Issue
	if rt, _ := refTarget(t.Get("for")); rt != "Patient" {
		out = append(out, issue("Task.for", "a mediation Task is for a Patient (Task.for references Patient/…)"))
	}
	if rt, _ := refTarget(t.Get("owner")); rt != "Organization" && t.Get("owner").Get("identifier").GetStr("system") != ww.SystemUZOVI {
		out = append(out, issue("Task.owner", "a mediation Task is owned by the insurer (Task.owner references its Organization or carries its UZOVI identifier)"))
	}
	if rt, _ := refTarget(t.Get("focus")); rt != "ServiceRequest" {
		out = append(out, issue("Task.focus", "a mediation Task's focus is the wait (Task.focus references ServiceRequest/…)"))
	}
	st := t.GetStr("status")
	if err := TaskTransition(st, st); err != nil {
		out = append(out, issue("Task.status", "%v", err))
	}
	if st == TaskCompleted {
		var chosen, gained bool
		for _, o := range items(t.Get("output")) {
			for _, c := range items(o.Get("type").Get("coding")) {
				if c.GetStr("system") != SystemTaskOutput {
					continue
				}
				switch c.GetStr("code") {
				case OutputChosen:
					chosen = o.Get("valueReference") != nil
				case OutputDaysGained:
					n := o.Get("valueInteger")
					gained = n != nil && n.Kind == fhirjson.Number
				}
			}
		}
		if !chosen {
			out = append(out, issue("Task.output", "a completed mediation Task names the chosen provider: output of type %s|%s with valueReference", SystemTaskOutput, OutputChosen))
		}
		if !gained {
			out = append(out, issue("Task.output", "a completed mediation Task gives the days gained: output of type %s|%s with valueInteger", SystemTaskOutput, OutputDaysGained))
		}
	}
	return out
}

// taskTransitionRule checks a mediation Task's status change against the
// version it replaces.
func taskTransitionRule(typ string, old, new *fhirjson.Value) []ww.Issue {
	if typ != "Task" || new == nil || !IsMediationTask(new) {
		return nil
	}
	prev := ""
	if old != nil && IsMediationTask(old) {
		prev = old.GetStr("status")
	}
	if err := TaskTransition(prev, new.GetStr("status")); err != nil {
		return []ww.Issue{issue("Task.status", "%v", err)}
	}
	return nil
}
