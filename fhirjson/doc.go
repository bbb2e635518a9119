// Package fhirjson is a small, lossless JSON tree for FHIR resources.
//
// The typed FHIR models drop contained resources, primitive extensions and
// unknown elements, so the gateway keeps the client's JSON as the source of
// truth. Parse builds a tree that remembers every member in document order
// and every string and number literal byte for byte; AppendTo writes it back
// minified. The store uses the tree to splice meta.versionId and
// meta.lastUpdated into a resource and to extract search-index values without
// a decode/encode round trip through Go structs.
//
// Parse is strict where FHIR is: duplicate keys, invalid UTF-8, control
// characters in strings and trailing data are errors, and every error carries
// the line and column where it was found.
package fhirjson
