// Package conformance is the gateway's single source of truth about what it
// serves: the resource types and their interactions, the search-parameter
// registry (data, loaded once, driving index maintenance, query parsing and
// the CapabilityStatement alike), the validation hook every write passes,
// and the CapabilityStatement built from all of it.
package conformance
