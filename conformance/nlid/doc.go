// Package nlid checks and normalises the Dutch identifiers and codes that
// Wachtwijzer meets on every ingest path: the citizen service number (BSN),
// AGB codes of care providers, UZOVI codes of insurers, URA numbers of
// healthcare organisations, and the AGB/Vektis specialism codes (COD016).
//
// All functions are pure: no I/O, no logging, no global state beyond the
// read-only specialism table. Error messages say why a value was rejected
// but never repeat the value itself, because a BSN is personal data of the
// most sensitive kind and must not reach logs or OperationOutcomes. Callers
// can distinguish the reason with errors.Is and the sentinel errors
// [ErrLength], [ErrNotDigits] and [ErrChecksum].
//
// Strict versus lenient: the Check functions are strict and are what the
// REST API applies to resources written by clients. [NormalizeAGB] and
// [NormalizeSpecialism] are for ingest mappings and query parameters, where
// source files often drop a leading zero (AGB "6020502", NZa specialism
// "305").
//
// The FHIR identifier systems follow the Nictiz conventions for FHIR in the
// Netherlands; see the System constants.
package nlid
