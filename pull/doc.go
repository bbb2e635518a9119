// Package pull is the adapter that polls hospital FHIR servers and SMART
// Scheduling Links publishers, so hospitals need not push.
//
// Sources are configured in a file (LoadFile: JSON, or YAML with the same
// fields; see the README for the format): an id, the base URL, how to
// authenticate (none, a static bearer token, or SMART Backend Services —
// client_credentials with a private_key_jwt assertion, the token cached
// until it expires), the resource types with their search filters, the
// interval, the page size and the id namespace.
//
// # Incremental sync
//
// Per source and type a cursor lives in Redis (wachtwijzer.SyncState). A
// run searches [type]?_lastUpdated=ge(cursor − overlap)&_sort=_lastUpdated
// &_count=N (the overlap, 5 minutes by default, catches commits that land
// behind the cursor and clock skew), follows next links to the end (a link
// seen before ends the walk: loops are detected; a link to another host is
// refused), maps each page (mappings/remote: deterministic ids, references
// rewritten, identifiers kept, lastSourceSync recorded), skips versions
// already stored (the source's type/id/_history/version is the version's
// provenance), validates the rest and writes the page in one atomic commit.
// Only after the commit returns does the cursor move: to the newest
// lastUpdated of the pages before this one (one page behind, so records
// tied at a page boundary are never skipped), and to the newest seen once
// the walk has reached the last page. A page older than the pages before
// it means the source does not keep its sort: the cursor then waits for
// the end of the walk, and a walk that cannot reach the end (a next loop, a
// link to another host) fails the run without moving it. A crash at any point
// therefore repeats at most the pages after the durable cursor, and the
// repeat writes nothing new.
//
// Deletions arrive through [type]/_history?_since=… for types configured
// with history; for the others a periodic reconciliation lists the
// source's ids (_elements=id) and tombstones what the gateway holds from
// the source that the source no longer lists — never after a listing that
// failed midway, and never more than reconcileMaxDelete of what is held.
//
// # Reliability
//
// Every request goes through package fetch (go-retryablehttp with backoff,
// Retry-After, deadlines, a circuit breaker per source; logs name the
// source, never URLs or patient data).
//
// # Scheduling
//
// Several gateways may share one Redis: the Scheduler runs syncs only on
// the holder of the leader lock (a lease in Redis, renewed every third of
// its lifetime); a gateway that loses the lock cancels its running syncs,
// and the next leader continues from the durable cursors.
//
// # Freshness
//
// Board keeps each source's status (last success, last error, lag, records,
// the circuit) in Redis for /status, implements wachtwijzer.Freshness for
// operations that must say when data may be stale, and Annotate tags served
// resources from a stale source (meta.tag, output only: nothing is
// rewritten when a source falls behind).
package pull
