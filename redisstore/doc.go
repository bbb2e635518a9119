// Package redisstore is the Redis implementation of wachtwijzer.Store.
//
// Every key is built in keys.go, which documents the layout as a table;
// every multi-key write is one Lua script in scripts/ with a comment block
// listing its KEYS, ARGV and reply. Scripts never decode resource JSON: Go
// splices meta.versionId and meta.lastUpdated into the client's bytes,
// computes every index entry from the search-parameter registry, and the
// script only checks expected versions and guards, then writes.
//
// Writes are atomic. On standalone Redis a Commit is one script over all its
// keys. On Redis Cluster a Commit whose keys share one hash slot is one
// script too; a Commit spanning shards runs a commit protocol: prepare
// (pending versions under a transaction id, per shard), flip one commit
// record, apply per shard; readers resolve pending versions through the
// commit record, and start-up recovery finishes or rolls back half-done
// commits. See cluster.go for the isolation this reaches.
package redisstore
