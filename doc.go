// Package wachtwijzer holds the vocabulary of the Wachtwijzer gateway: the
// Store interface every adapter writes through, the search and history query
// types, the error kinds (mapped to HTTP statuses in one table in gateway/),
// the Principal and Policy seams for tenancy, the injectable Clock and the
// one function that derives ids for ingested resources.
//
// The package has no dependencies beyond the standard library, so every
// other package can import it.
package wachtwijzer
