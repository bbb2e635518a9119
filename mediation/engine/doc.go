// Package engine answers the insurer operations — long waits, free
// capacity, mediation options, regional capacity and the mediation report —
// over a wachtwijzer.Store and the store's mediation.Index, with the rules
// of package mediation. The gateway parses the parameters and writes the
// Bundles; this package decides what goes in them.
//
// Where the answers come from:
//
//   - waits, their order and their counts: the wait projections the store
//     writes in the same commit as the resources (mediation.Index streams);
//   - the provider side (Organizations, Locations, HealthcareServices,
//     PractitionerRoles, Schedules, InsurancePlans: thousands, not
//     millions): a Directory snapshot read through Store.Search and kept in
//     memory, rebuilt when the store's Generation of those types changes
//     (checked on every request, one pipelined round trip);
//   - free capacity: the store's per-Schedule free-slot index, joined with
//     the snapshot's places (computed at query time from indexes, the
//     second option of GUIDE §2).
package engine
