// Package smartscheduling reads and writes SMART Scheduling Links: the
// $bulk-publish manifest ({transactionTime, request, output[{type, url,
// extension.state}], error}) and its NDJSON files of Location, Schedule and
// Slot (and PractitionerRole, HealthcareService) resources. It is pure: no
// I/O and no clock.
//
// ParseManifest checks a manifest strictly (transactionTime an instant with
// seconds and an offset, absolute output URLs); Manifest.Outputs keeps the
// types a client should read and drops the rest, as the specification says.
// ParseResource checks one NDJSON line — for a Slot: schedule reference,
// status (free, busy, busy-tentative, busy-unavailable, entered-in-error)
// and start/end as instants with an offset, end after start; for a
// Schedule: at least one actor — and Map turns it into the gateway's ids
// (mappings/remote), keeping every extension: booking-deep-link,
// booking-phone, slot-capacity, has-availability and the rest. The
// publisher's example "2021-03-10T15:00:00-05" is not an instant and is
// refused.
//
// BuildManifest writes the gateway's own manifest for GET
// [base]/$bulk-publish.
package smartscheduling
