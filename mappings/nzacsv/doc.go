// Package nzacsv reads the NZa Zorgbeeld publication of waiting times in
// medical specialist care as it comes — the open CSV (';'-separated,
// ISO-8859-1, a header row) and the JSON of the open WaitingTimeMSZ API —
// into rows, and maps rows onto the HealthcareService, Organization and
// Location resources of the wait model. It is pure: no I/O.
//
// Fields (DOMAIN.md): Date (the peildatum), WaitingTime (days; empty with
// too few observations), InsufficientObservations (Ja/Nee), KVKNumber,
// CareProvider, CareProvider_AGBCode, LocationKey, Location_AGBCode,
// Location, Street, StreetNumber, PostalCode, City, TreatmentKey,
// TreatmentNumber, Treatment, TreatmentType (Polikliniekbezoek,
// Diagnostiek, Behandeling), Specialism ("Orthopedie (305)": the COD016
// code without its leading 0) and Description. Columns are found by name
// (case-insensitive, in any order; unknown ones are ignored); a file
// without Date, TreatmentType, Specialism, CareProvider_AGBCode and one of
// Location_AGBCode/LocationKey is refused as a whole. A row that breaks a
// rule is reported with its line and field and skipped; the others are
// kept.
package nzacsv
