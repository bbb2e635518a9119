// Package redisproc runs the gateway's embedded default Redis.
//
// When an operator starts `wachtwijzer serve --demo` without configuring a
// Redis, the gateway calls Start: it launches a private redis-server child
// with its data (AOF, appendonly yes) in the gateway's --data-dir, listening on
// a unix socket <data-dir>/redis.sock (mode 0700) and on a TCP port on
// 127.0.0.1 for debugging with redis-cli. The child is in its own process
// group, so a terminal's ^C reaches only the gateway, which shuts Redis down
// in order through Close; on Linux it also receives SIGTERM should the gateway
// die first.
//
// One gateway owns a data dir at a time: Start holds an flock on
// <data-dir>/redis.lock for the life of the Instance. Other subcommands
// (import, reindex, …) run with the same --data-dir and reach the running
// Redis with Connect; it returns ErrNotRunning when no gateway runs there.
//
// When no redis-server binary can be found and Options.AllowInProcess is set,
// Start falls back to an in-process miniredis on a random loopback port. That
// is for demos only: nothing is persisted, other processes cannot find it
// through the data dir, and it does not scale.
package redisproc
