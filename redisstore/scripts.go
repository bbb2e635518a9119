package redisstore

import (
	"embed"
	"strings"

	"github.com/redis/go-redis/v9"
)

//go:embed scripts/*.lua
var scriptFS embed.FS

type scripts struct {
	commit, prepare, apply, abort, txstate, search, deadletter, reindex *redis.Script
	// commitBatch runs several commits in one call (batch.go).
	commitBatch *redis.Script
	// zcount counts many score ranges at once (mediation.go).
	zcount *redis.Script
	// audit appends to the audit chain (audit.go).
	audit *redis.Script
}

// loadScripts builds the scripts: common.lua is prepended to each that uses
// it, and on real Redis each starts with a "#!lua" shebang so Redis refuses
// a write script up front when it is out of memory (instead of at its first
// write). The in-process miniredis does not understand the shebang.
func loadScripts(shebang bool) *scripts {
	common := mustRead("scripts/common.lua")
	build := func(name string, withCommon bool) *redis.Script {
		var b strings.Builder
		if shebang {
			if name == "search.lua" || name == "zcount.lua" {
				// A read-only script runs even when Redis is out of memory.
				b.WriteString("#!lua flags=no-writes\n")
			} else {
				b.WriteString("#!lua\n")
			}
		}
		if withCommon {
			b.WriteString(common)
			b.WriteString("\n")
		}
		b.WriteString(mustRead("scripts/" + name))
		return redis.NewScript(b.String())
	}
	return &scripts{
		commit: build("commit.lua", true),

		commitBatch: build("commitbatch.lua", true),
		prepare:     build("prepare.lua", true),
		apply:       build("apply.lua", true),
		abort:       build("abort.lua", true),
		txstate:     build("txstate.lua", false),
		search:      build("search.lua", false),
		reindex:     build("reindex.lua", true),

		deadletter: build("deadletter.lua", false),
		zcount:     build("zcount.lua", false),
		audit:      build("audit.lua", false),
	}
}

func mustRead(name string) string {
	b, err := scriptFS.ReadFile(name)
	if err != nil {
		panic("redisstore: missing embedded script " + name)
	}
	return string(b)
}

func (s *scripts) all() []*redis.Script {
	return []*redis.Script{s.commit, s.commitBatch, s.prepare, s.apply, s.abort, s.txstate, s.search, s.deadletter, s.reindex, s.zcount, s.audit}
}
