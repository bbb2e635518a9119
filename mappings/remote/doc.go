// Package remote maps resources read from another FHIR server (a pull
// source, a SMART Scheduling Links publisher, a Bulk Data file) into the
// gateway's ids. It is pure: no I/O, no clock (the sync time is passed in).
//
// A source's logical ids are business identifiers in the source's
// namespace (by default its base URL), so a resource's id here is
// wachtwijzer.DeriveID(deployment key, type, namespace, source id): every
// gateway on one Redis, and every later sync, derives the same id, and a
// reference "Patient/123" in any resource of that source is rewritten to
// the same id without a lookup, whatever order resources arrive in.
//
// Map rewrites, in a copy of the resource:
//
//   - id → the derived id;
//   - every Reference.reference that points into the source — relative
//     ("Type/id", "Type/id/_history/n") or absolute under the source's base
//     URL — to "Type/<derived id>" (version suffixes are dropped: versions
//     are the gateway's own); contained ("#x"), urn: and foreign absolute
//     references are kept;
//   - meta: the source's versionId and lastUpdated are dropped (the store
//     sets its own), meta.source records the source's URL of the resource,
//     and the extension http://hl7.org/fhir/StructureDefinition/lastSourceSync
//     (valueDateTime) is set to the sync time, replacing an earlier one.
//
// Identifiers are kept as they are: they keep the source's systems.
//
// VersionKey tells whether a version was seen before: the source's
// meta.versionId, else its meta.lastUpdated, else a hash of the bytes.
package remote
