// Package fhirtime parses FHIR date, dateTime and instant values and the
// date values of search parameters, keeping their precision.
//
// Every value stands for a range: "2026" is the whole year, "2026-03-29" the
// whole day, "2026-03-29T10:00" the whole minute. Range returns that range as
// [Lo, Hi) instants. Values without an offset are read in Europe/Amsterdam
// (DST-aware), the zone all Dutch care happens in; the CapabilityStatement
// says so.
package fhirtime
