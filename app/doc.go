// Package app wires the Wachtwijzer command: its subcommands (serve,
// healthcheck, and the data commands later issues add), the flag contract
// every operator script relies on (each --foo-bar also read from
// WACHTWIJZER_FOO_BAR, flag > environment > default), the Redis connection
// (URL, Cluster, or the embedded default) and graceful shutdown.
//
// cmd/wachtwijzer is a thin main around Main; tests drive Main directly.
package app
