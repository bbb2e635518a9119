// Package mediation holds the domain rules of the insurer operations: how
// long a member waits, against which Treeknorm, which waits exceed it or are
// about to, what a provider is (academic centre, hospital, ZBC), where a
// Slot takes place and who offers it, which specialism a wait or a Slot is
// for, which providers an insurer contracts, how alternatives are ranked for
// mediation, which region a postcode lies in, and which cells of an
// aggregate must be suppressed. Everything here is pure: no I/O, time only as
// arguments (callers take it from a wachtwijzer.Clock), table-tested.
//
// # The wait model
//
// A wait is a ServiceRequest with status active or on-hold (DOMAIN.md). Its
// waiting days are calendar days in Europe/Amsterdam from authoredOn to the
// start of the earliest Appointment based on it whose status is booked,
// arrived, checked-in or fulfilled (a booked appointment in the past still
// counts), or to asOf while none holds. Proposed, pending, waitlist,
// cancelled, no-show and entered-in-error appointments do not end a wait.
// A completed, revoked or entered-in-error ServiceRequest is no wait.
//
// The norm is the Treeknorm of the wait's kind (Norms; default outpatient
// 28, diagnostics 28, treatment-day 42, treatment-inpatient 49, treatment
// 42, mhc-intake 28, mhc-treatment 70 days), overridable per specialism.
// excessDays = waitDays − normDays; a wait is exceeded when excessDays > 0,
// except on hold (wenswachttijd), which is never exceeded. A wait of kind
// treatment (day care or inpatient unknown) is held to the stricter 42 days,
// and between 43 and 49 days it carries the note that it exceeds the norm
// for day care but not for inpatient care. A wait without a kind is held to
// the outpatient norm (the strictest). At risk: not booked, not exceeded,
// and waitDays + within > normDays.
//
// # Projections
//
// WaitRecord and MemberRecord are the derived state the store maintains in
// the same commit as the resource writes that change it (redisstore): per
// ServiceRequest its facts, the appointments that hold it and a snapshot of
// the member's coverages and home; per member (BSN) the coverages of all
// its Patient resources and its waits. The functions that turn FHIR
// resources into their facts (SRFacts, AppointmentFacts, PatientFactsOf,
// CoverageFactOf) live here so the store and the tests share them.
package mediation
