package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
)

// Version is set at build time (-ldflags "-X …/app.Version=…").
var Version = "dev"

// Env is the process environment Main reads (tests pass their own).
type Env struct {
	Stdout, Stderr io.Writer
	Getenv         func(string) string
}

type command struct {
	name, summary string
	run           func(ctx context.Context, env Env, args []string) error
}

var commands = []command{
	{"serve", "Run the FHIR gateway.", runServe},
	{"healthcheck", "Probe a running gateway's /readyz (for Docker HEALTHCHECK); exit 0 when ready.", runHealthcheck},
	{"version", "Print the version.", func(_ context.Context, env Env, _ []string) error {
		fmt.Fprintln(env.Stdout, "wachtwijzer", Version)
		return nil
	}},
}

// Register adds a subcommand (later issues add import, gen, reindex, …).
func Register(name, summary string, run func(ctx context.Context, env Env, args []string) error) {
	commands = append(commands, command{name, summary, run})
}

// Main runs the command line and returns the exit code: 0 clean, 1 runtime
// failure, 2 usage.
func Main(ctx context.Context, args []string, env Env) int {
	if env.Getenv == nil {
		env.Getenv = os.Getenv
	}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(env.Stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands {
		if c.name != args[0] {
			continue
		}
		err := c.run(ctx, env, args[1:])
		switch {
		case err == nil:
			return 0
		case errors.Is(err, flag.ErrHelp):
			return 0
		case IsUsage(err):
			fmt.Fprintf(env.Stderr, "wachtwijzer %s: %v\nRun 'wachtwijzer %s --help' for the flags.\n", c.name, err, c.name)
			return 2
		default:
			fmt.Fprintf(env.Stderr, "wachtwijzer %s: %v\n", c.name, err)
			return 1
		}
	}
	fmt.Fprintf(env.Stderr, "wachtwijzer: unknown command %q\n", args[0])
	usage(env.Stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Wachtwijzer: FHIR R4 gateway for Dutch hospital waiting lists and capacity.")
	fmt.Fprintln(w, "\nUsage: wachtwijzer <command> [flags]   (wachtwijzer <command> --help lists the flags)")
	fmt.Fprintln(w, "\nCommands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-12s %s\n", c.name, c.summary)
	}
}

// newLogger builds the slog logger for --log-format.
func newLogger(w io.Writer, format string) (*slog.Logger, error) {
	switch strings.ToLower(format) {
	case "json":
		return slog.New(slog.NewJSONHandler(w, nil)), nil
	case "text", "":
		return slog.New(slog.NewTextHandler(w, nil)), nil
	}
	return nil, usagef("--log-format must be json or text")
}
