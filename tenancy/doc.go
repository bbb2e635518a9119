// Package tenancy is the gateway's access Policy (wachtwijzer.Policy): who
// may see and change what, by the principal's role.
//
//   - system (ingest, demo, recovery) and admin: everything.
//   - hospital or ZBC (bound to its AGB/URA): writes only resources it owns
//     (the store records each version's writing organisation, Provenance.Owner,
//     and indexes it as _owner); reads its own patient-level data; reads the
//     capacity resources (Slot, Schedule, HealthcareService, Location,
//     Organization, Practitioner, PractitionerRole, InsurancePlan,
//     MeasureReport) of everyone.
//   - insurer (bound to its UZOVI): reads Patient, ServiceRequest,
//     Appointment, Task and Consent only of its own members, and only the
//     Coverages it is the payor of; reads the capacity resources; writes only
//     its own Coverages (member lists) and its own Tasks. With pseudonymised
//     waits (Options.HidePatients) no Patient resource at all.
//   - anonymous: the capacity resources only.
//
// Membership follows DOMAIN.md: a person is a member of an insurer on a day
// when an active Coverage paid by the insurer (payor the insurer's
// Organization or its UZOVI identifier) covers the day; the person's BSN then
// makes every Patient resource with that BSN (one per hospital) a member
// Patient. The member set is resolved through the store with the system
// principal and cached per insurer and day until a Patient, Coverage or
// Organization is written (the store's version count moves).
//
// The Policy restricts searches with Filter clauses (_owner, _id, or the
// type's patient reference), which the store applies inside the index query
// before paging and counting; Visible answers the same question for one
// stored version with the same search parameters, so the two agree.
// Anything a principal may not see is reported exactly as a missing resource.
package tenancy
