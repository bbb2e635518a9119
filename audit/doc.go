// Package audit is the NEN 7513 access log: every access to patient data
// becomes one Event (client, organisation, patients by resource id — never a
// BSN —, action, outcome, time, source address, purpose of use and legal
// ground; never the payload or query values), appended to an append-only
// Redis stream as a hash chain.
//
// Entry n carries prev = hash(n−1) and hash = hex(SHA-256(prev "\n" event));
// the chain head ("<stream id> <hash>") moves in the same script as the XADD
// (redisstore/scripts/audit.lua), and an append computed on a head another
// gateway moved is retried on the new head, so one chain serves every gateway
// on a Redis. Verify walks the chain (from Redis or from an NDJSON export) and
// reports the first entry that was changed, removed or inserted, and a head
// that does not match the last entry (a deleted tail).
//
// The gateway records through Log.Record before the response goes out; a
// failed append fails the request (503). Concurrent Records share appends
// (group commit: the waiting request that takes the writer lock appends
// every queued event in one script call), and each returns only when its
// own entry is stored. Admins search the log as FHIR
// AuditEvent resources (date, agent, patient); `wachtwijzer audit export`
// writes NDJSON for archival and `wachtwijzer audit verify` checks a chain.
// The Redis ACL user the gateway should run as (no XDEL, XTRIM or DEL on the
// audit keys) is in ACL and the README.
package audit
