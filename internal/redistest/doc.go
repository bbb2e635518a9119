// Package redistest starts real redis-server processes (and real three-master
// Redis Clusters) for tests. Wachtwijzer's tests never run against an
// emulation such as miniredis: Lua semantics, cluster slot rules and AOF
// durability are what the gateway depends on, so the tests use the real thing.
//
// Typical use:
//
//	func TestMain(m *testing.M) { os.Exit(redistest.RunMain(m)) }
//
//	func TestSomething(t *testing.T) {
//		rdb := redistest.Shared(t).Client(t)
//		p := redistest.Prefix(t) // isolate keys from other tests on the shared server
//		rdb.Set(ctx, p+":k", "v", 0)
//	}
//
// Start gives a private server (for fault tests: Kill, Restart, AOF), Shared
// one server per test binary, StartCluster and SharedCluster a real Redis
// Cluster built with redis-cli --cluster create.
//
// When redis-server (or redis-cli, for clusters) is not on PATH the tests are
// skipped, unless the environment sets WACHTWIJZER_REQUIRE_REDIS=1, in which
// case they fail; see Require.
//
// Every child process is started in its own process group with a parent-death
// signal (SIGKILL, Linux only), so a crashed or interrupted test binary does
// not leave Redis servers behind. Shared servers and clusters are stopped by
// RunMain; a test binary that uses Shared without RunMain leaks their temporary
// directories (the processes still die with the binary on Linux).
package redistest
