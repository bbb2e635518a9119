package redistest

import (
	"os"
	"os/exec"
	"testing"
)

// EnvRequireRedis names the environment variable that turns a missing
// redis-server from a skipped test into a failed one (value "1").
const EnvRequireRedis = "WACHTWIJZER_REQUIRE_REDIS"

// Require skips the test when redis-server is not on PATH, or fails it when
// WACHTWIJZER_REQUIRE_REDIS=1. Every helper in this package calls it; other
// Redis-backed tests (for example end-to-end tests that start the gateway
// binary) call it before they start anything.
func Require(tb testing.TB) {
	tb.Helper()
	requireBinaries(tb, "redis-server")
}

// requireBinaries applies Require's skip-or-fail rule to each named binary.
func requireBinaries(tb testing.TB, names ...string) {
	tb.Helper()
	for _, name := range names {
		if _, err := exec.LookPath(name); err == nil {
			continue
		}
		if os.Getenv(EnvRequireRedis) == "1" {
			tb.Fatalf("redistest: %s not found on PATH, and %s=1 requires Redis-backed tests to run: install Redis 7.0+ (redis-server and redis-cli) or unset %s",
				name, EnvRequireRedis, EnvRequireRedis)
		}
		tb.Skipf("%s not found on PATH: Redis-backed test skipped (set %s=1 to fail instead)", name, EnvRequireRedis)
	}
}
