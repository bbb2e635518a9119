// Package gateway is the FHIR R4 REST API of Wachtwijzer, on gin.
//
// Each FHIR interaction has its own file (read.go, write.go, history.go,
// search.go, transaction.go, metadata.go, …) and is written as a function
// from a request to a response, so batch and transaction entries run through
// exactly the same code as single requests. Every error becomes an
// OperationOutcome; errors.go holds the one table from error kind to HTTP
// status. Stored resources are served as the bytes Redis returns, and
// Bundles are assembled around them without decoding.
package gateway
