package app

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/audit"
	"github.com/wachtwijzer/wachtwijzer/internal/redistest"
	"github.com/wachtwijzer/wachtwijzer/redisstore"
)

func TestMain(m *testing.M) { os.Exit(redistest.RunMain(m)) }

func run(args ...string) (int, string) {
	var out bytes.Buffer
	code := Main(context.Background(), args, Env{Stdout: &out, Stderr: &out, Getenv: func(string) string { return "" }})
	return code, out.String()
}

// TestAuditExportVerify drives `wachtwijzer audit export|verify`: an intact
// chain exits 0; a tampered export and a deleted entry exit 1.
func TestAuditExportVerify(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Shared(t)
	c := srv.Client(t)
	prefix := redistest.Prefix(t)
	st, err := redisstore.Open(ctx, redisstore.Options{Client: c, Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	l := audit.New(st, &ww.FixedClock{})
	for i := 0; i < 5; i++ {
		if err := l.Record(ctx, &audit.Event{Client: "c", Role: "insurer", Action: "R", Outcome: 200, Patients: []string{"p" + strings.Repeat("x", i)}}); err != nil {
			t.Fatal(err)
		}
	}
	flags := []string{"--redis-url", "redis://" + srv.Addr, "--key-prefix", prefix}
	if code, out := run(append([]string{"audit", "verify"}, flags...)...); code != 0 || !strings.Contains(out, "5 events, chain intact") {
		t.Fatalf("verify: %d %s", code, out)
	}
	file := filepath.Join(t.TempDir(), "audit.ndjson")
	if code, out := run(append([]string{"audit", "export", "--file", file}, flags...)...); code != 0 {
		t.Fatalf("export: %d %s", code, out)
	}
	if code, out := run("audit", "verify", "--file", file); code != 0 {
		t.Fatalf("verify the export: %d %s", code, out)
	}
	b, _ := os.ReadFile(file)
	tampered := filepath.Join(t.TempDir(), "tampered.ndjson")
	os.WriteFile(tampered, bytes.Replace(b, []byte(`"outcome":200`), []byte(`"outcome":403`), 1), 0o600)
	if code, out := run("audit", "verify", "--file", tampered); code != 1 || !strings.Contains(out, "changed") {
		t.Fatalf("verify a tampered export: %d %s", code, out)
	}
	logKey, _ := st.AuditKeys()
	msgs, _ := c.XRange(ctx, logKey, "-", "+").Result()
	c.XDel(ctx, logKey, msgs[2].ID)
	if code, out := run(append([]string{"audit", "verify"}, flags...)...); code != 1 || !strings.Contains(out, "removed") {
		t.Fatalf("verify after a deleted entry: %d %s", code, out)
	}
	if code, _ := run("audit", "rewrite"); code != 2 {
		t.Fatalf("an unknown subcommand: %d", code)
	}
}
