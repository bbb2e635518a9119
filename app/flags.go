package app

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// envAliases are extra environment variables a flag is also read from
// (after its WACHTWIJZER_ name).
var envAliases = map[string][]string{
	"redis-url": {"REDIS_URL"},
}

// EnvName returns the environment variable of a flag: --foo-bar →
// WACHTWIJZER_FOO_BAR.
func EnvName(flagName string) string {
	return "WACHTWIJZER_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// usageError is a command-line mistake: exit code 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

// IsUsage reports whether err is a usage error (exit 2).
func IsUsage(err error) bool {
	var u *usageError
	return errors.As(err, &u)
}

// parseFlags parses args, then fills every flag not given on the command
// line from its environment variable; positional arguments are a usage
// error.
func parseFlags(fs *flag.FlagSet, args []string, getenv func(string) string) error {
	if err := parseFlagsAndArgs(fs, args, getenv); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	return nil
}

// parseFlagsAndArgs is parseFlags for commands that take positional
// arguments (files), left in fs.Args().
func parseFlagsAndArgs(fs *flag.FlagSet, args []string, getenv func(string) string) error {
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usagef("%v", err)
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if given[f.Name] || err != nil {
			return
		}
		for _, name := range append([]string{EnvName(f.Name)}, envAliases[f.Name]...) {
			if v := getenv(name); v != "" {
				if e := f.Value.Set(v); e != nil {
					err = usagef("%s=%q: %v", name, v, e)
				}
				return
			}
		}
	})
	return err
}

// printUsage writes the subcommand's flags with their variables and
// defaults.
func printUsage(w io.Writer, cmd, summary string, fs *flag.FlagSet) {
	if !strings.Contains(cmd, "[flags]") {
		cmd += " [flags]"
	}
	fmt.Fprintf(w, "Usage: wachtwijzer %s\n\n%s\n\nFlags (each also read from its environment variable; flag > environment > default):\n", cmd, summary)
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	var names []string
	fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
	sort.Strings(names)
	for _, n := range names {
		f := fs.Lookup(n)
		env := EnvName(n)
		if a := envAliases[n]; len(a) > 0 {
			env += " (or " + strings.Join(a, ", ") + ")"
		}
		def := f.DefValue
		if def == "" {
			def = `""`
		}
		fmt.Fprintf(tw, "  --%s\t%s\tdefault %s\n\t%s\t\n", n, env, def, f.Usage)
	}
	tw.Flush()
}

// durationFlag accepts Go durations ("30s") and plain seconds ("30").
type durationFlag struct{ d *time.Duration }

func (f durationFlag) String() string {
	if f.d == nil {
		return ""
	}
	return f.d.String()
}

func (f durationFlag) Set(s string) error {
	if d, err := time.ParseDuration(s); err == nil {
		*f.d = d
		return nil
	}
	var secs int
	if _, err := fmt.Sscanf(s, "%d", &secs); err == nil && fmt.Sprint(secs) == s {
		*f.d = time.Duration(secs) * time.Second
		return nil
	}
	return fmt.Errorf("not a duration (e.g. 30s, 5m)")
}

var _ = os.Getenv
