package app

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/wachtwijzer/wachtwijzer/hl7ingest"
)

func init() {
	Register("hl7", "HL7 v2 feed tools: deadletter list, replay [--force] ID|--all, trace CONTROLID.", runHL7)
}

const hl7Usage = `Usage:
  wachtwijzer hl7 deadletter list [--count N] [--json]   rejected messages, newest first
  wachtwijzer hl7 replay [--force] ID|--all               process dead letters again
  wachtwijzer hl7 trace [--sender APP|FAC] CONTROLID      what happened to a message
Each takes the Redis flags of serve (--redis-url, --key-prefix, …) and --hl7-senders.`

func runHL7(ctx context.Context, env Env, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprintln(env.Stdout, hl7Usage)
		if len(args) == 0 {
			return usagef("hl7 needs a subcommand")
		}
		return nil
	}
	sub, rest := args[0], args[1:]
	if sub == "deadletter" {
		if len(rest) == 0 || rest[0] != "list" {
			return usagef("hl7 deadletter: the subcommand is list")
		}
		sub, rest = "deadletter list", rest[1:]
	}
	var rf redisFlags
	var h hl7Flags
	fs := flag.NewFlagSet("hl7 "+sub, flag.ContinueOnError)
	rf.register(fs)
	h.register(fs)
	logFormat := fs.String("log-format", "text", "log format: json or text")
	count := fs.Int("count", 50, "dead letters to list")
	asJSON := fs.Bool("json", false, "print JSON")
	force := fs.Bool("force", false, "replay: write the message's resources even over versions from newer messages")
	all := fs.Bool("all", false, "replay: every dead letter")
	sender := fs.String("sender", "", "trace: the sender MSH-3|MSH-4 (faster; default any sender)")
	var pos []string
	// Flags and the positional argument in any order.
	for len(rest) > 0 {
		if err := parseFlagsAndArgs(fs, rest, env.Getenv); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fmt.Fprintln(env.Stdout, hl7Usage)
				printUsage(env.Stdout, "hl7 "+sub, "HL7 v2 feed tools.", fs)
			}
			return err
		}
		rest = fs.Args()
		if len(rest) > 0 {
			pos = append(pos, rest[0])
			rest = rest[1:]
		}
	}
	if len(pos) == 0 {
		if err := parseFlags(fs, nil, env.Getenv); err != nil {
			return err
		}
	}
	log, err := newLogger(env.Stderr, *logFormat)
	if err != nil {
		return err
	}
	store, closeStore, err := rf.connectStore(ctx, log, noEmbedded)
	if err != nil {
		return err
	}
	defer closeStore()
	p, _, err := newProcessor(store, &h, log, nil)
	if err != nil {
		return err
	}
	switch sub {
	case "deadletter list":
		page, err := p.DeadLetters(ctx, "", *count)
		if err != nil {
			return err
		}
		if *asJSON {
			for _, d := range page.DeadLetters {
				d.Message = nil
			}
			return printJSON(env.Stdout, page)
		}
		tw := tabwriter.NewWriter(env.Stdout, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tRECEIVED\tSENDER\tCONTROL ID\tTYPE\tACK\tSTATUS\tATTEMPTS\tREASON")
		for _, d := range page.DeadLetters {
			reason := ""
			if len(d.Issues) > 0 {
				reason = d.Issues[0].Code + " " + d.Issues[0].Location + " " + d.Issues[0].Text
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\n", d.ID, d.Received.Format(time.RFC3339), d.Sender, d.ControlID, d.Type, d.Code, d.Status, d.Attempts, strings.TrimSpace(reason))
		}
		return tw.Flush()
	case "replay":
		var results []*hl7ingest.ReplayResult
		switch {
		case *all && len(pos) == 0:
			results, err = p.ReplayAll(ctx, *force)
		case !*all && len(pos) == 1:
			var r *hl7ingest.ReplayResult
			r, err = p.Replay(ctx, pos[0], *force)
			if r != nil {
				results = append(results, r)
			}
		default:
			return usagef("hl7 replay takes one dead-letter ID or --all")
		}
		for _, r := range results {
			line := fmt.Sprintf("%s\t%s\t%s", r.ID, r.Status, r.Code)
			if len(r.Issues) > 0 {
				line += "\t" + r.Issues[0].Code + " " + r.Issues[0].Location + " " + r.Issues[0].Text
			}
			fmt.Fprintln(env.Stdout, line)
		}
		return err
	case "trace":
		if len(pos) != 1 {
			return usagef("hl7 trace takes one control id")
		}
		tr, err := p.Trace(ctx, pos[0], *sender)
		if err != nil {
			return err
		}
		if *asJSON {
			return printJSON(env.Stdout, tr)
		}
		for _, e := range tr {
			fmt.Fprintf(env.Stdout, "%s from %s, received %s: %s (ACK %s)\n", pos[0], e.Sender, e.Received.Format(time.RFC3339Nano), e.Status, e.Code)
			for _, r := range e.Reason {
				fmt.Fprintf(env.Stdout, "  reason: %s\n", r)
			}
			if e.DeadLetter != "" {
				fmt.Fprintf(env.Stdout, "  dead letter: %s\n", e.DeadLetter)
			}
			for _, w := range e.Warnings {
				fmt.Fprintf(env.Stdout, "  warning: %s\n", w)
			}
			for _, r := range e.Resources {
				if len(r.Versions) > 0 {
					vs := make([]string, len(r.Versions))
					for i, v := range r.Versions {
						vs[i] = fmt.Sprint(v)
					}
					fmt.Fprintf(env.Stdout, "  wrote %s version %s\n", r.Reference, strings.Join(vs, ","))
				} else {
					fmt.Fprintf(env.Stdout, "  %s: %s\n", r.Reference, r.Note)
				}
			}
		}
		return nil
	}
	fmt.Fprintln(env.Stderr, hl7Usage)
	return usagef("unknown hl7 subcommand %q", sub)
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
