package mediation

import "fmt"

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
