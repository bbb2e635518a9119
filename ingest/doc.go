// Package ingest is the write pipeline shared by every bulk path: the
// import command (NDJSON files and the formats registered with it), POST
// [base]/$import (uploads and Bulk Data style URL lists, synchronous or
// asynchronous), the pull adapter and the SMART Scheduling Links importer.
//
// A Job validates each record (conformance.Validate), writes records in
// batches of atomic commits with parallel workers, and rejects bad records
// one by one with why (a failing batch is retried record by record, so one
// bad record never sinks its neighbours). It counts what it wrote per
// resource type and reports progress through a callback (the progress bar
// or the log lines of the import command, X-Progress of an asynchronous
// $import).
package ingest
