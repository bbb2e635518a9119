package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/wachtwijzer/wachtwijzer/audit"
)

func init() {
	Register("audit", "Export the NEN 7513 access log to NDJSON, or verify its hash chain (exit 1 when it was tampered with).", runAudit)
}

func runAudit(ctx context.Context, env Env, args []string) error {
	fs := flag.NewFlagSet("audit", flag.ContinueOnError)
	var rf redisFlags
	rf.register(fs)
	file := fs.String("file", "", "export: write here instead of stdout; verify: check this NDJSON export instead of the log in Redis")
	logFormat := fs.String("log-format", "text", "log format: json or text")
	help := func() {
		printUsage(env.Stdout, "audit export|verify [flags]", "export: write the access log (first line its chain head, then one entry per line, oldest first). verify: check every entry's hash and link and the chain head; a changed, removed or inserted entry exits with status 1.", fs)
	}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		help()
		if len(args) == 0 {
			return usagef("audit needs a subcommand: export or verify")
		}
		return flag.ErrHelp
	}
	sub := args[0]
	if sub != "export" && sub != "verify" {
		return usagef("audit %q: the subcommands are export and verify", sub)
	}
	if err := parseFlags(fs, args[1:], env.Getenv); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			help()
		}
		return err
	}
	if fs.NArg() > 0 {
		return usagef("audit %s takes no arguments (got %q)", sub, fs.Arg(0))
	}
	if sub == "verify" && *file != "" {
		f, err := os.Open(*file)
		if err != nil {
			return err
		}
		defer f.Close()
		n, err := audit.VerifyExport(f)
		if err != nil {
			return fmt.Errorf("the audit export %s does not verify: %w", *file, err)
		}
		fmt.Fprintf(env.Stdout, "audit export %s: %d events, chain intact\n", *file, n)
		return nil
	}
	log, err := newLogger(env.Stderr, *logFormat)
	if err != nil {
		return err
	}
	store, closeStore, err := rf.connectStore(ctx, log, embeddedServer)
	if err != nil {
		return err
	}
	defer closeStore()
	l := audit.New(store, nil)
	if sub == "verify" {
		n, err := l.Verify(ctx)
		if err != nil {
			return fmt.Errorf("the audit log does not verify: %w", err)
		}
		fmt.Fprintf(env.Stdout, "audit log: %d events, chain intact\n", n)
		return nil
	}
	var w io.Writer = env.Stdout
	if *file != "" {
		f, err := os.Create(*file)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	n, err := l.Export(ctx, w)
	if err != nil {
		return fmt.Errorf("export the audit log: %w", err)
	}
	fmt.Fprintf(env.Stderr, "exported %d audit events\n", n)
	return nil
}
