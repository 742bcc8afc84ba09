package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// The help conventions every subcommand follows: `sluice CMD --help` (or
// -h, or `sluice help CMD`) prints the command's usage and its flags, as
// --name, to stdout and exits 0; a usage error prints what is wrong to
// stderr and exits 2; a failure exits 1.

// newFlagSet returns a flag set for subcommand name whose parse errors go
// to stderr; parseFlags handles its help.
func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {} // parseFlags prints the help, to stdout
	return fs
}

// parseFlags parses args into fs. It returns ok when the command should go
// on; otherwise the command returns code: 0 after printing usage and the
// flags to stdout for -h/--help, 2 after a usage error (the flag package
// has printed it to stderr).
func parseFlags(fs *flag.FlagSet, args []string, usage string, stdout, stderr io.Writer) (code int, ok bool) {
	err := fs.Parse(args)
	if err == nil {
		return 0, true
	}
	if errors.Is(err, flag.ErrHelp) {
		printHelp(stdout, usage, fs)
		return 0, false
	}
	fmt.Fprintf(stderr, "Run 'sluice %s --help' for usage.\n", fs.Name())
	return 2, false
}

// printHelp writes usage and then fs's flags.
func printHelp(w io.Writer, usage string, fs *flag.FlagSet) {
	fmt.Fprint(w, usage)
	if !strings.HasSuffix(usage, "\n") {
		fmt.Fprintln(w)
	}
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	if n == 0 {
		return
	}
	fmt.Fprint(w, "\nFlags:\n")
	printFlags(w, fs)
}

// printFlags is flag.PrintDefaults with GNU-style double-dash names, as
// the README and the help texts write them.
func printFlags(w io.Writer, fs *flag.FlagSet) {
	fs.VisitAll(func(f *flag.Flag) {
		var b strings.Builder
		fmt.Fprintf(&b, "  --%s", f.Name)
		name, text := flag.UnquoteUsage(f)
		if name != "" {
			b.WriteString(" " + name)
		}
		b.WriteString("\n    \t")
		b.WriteString(strings.ReplaceAll(text, "\n", "\n    \t"))
		if !isZeroValue(f) && !strings.Contains(text, "(default") {
			if name == "string" {
				fmt.Fprintf(&b, " (default %q)", f.DefValue)
			} else {
				fmt.Fprintf(&b, " (default %v)", f.DefValue)
			}
		}
		fmt.Fprintln(w, b.String())
	})
}

// isZeroValue reports whether f's default is not worth printing.
func isZeroValue(f *flag.Flag) bool {
	switch f.DefValue {
	case "", "0", "false", "0s", "[]":
		return true
	}
	return false
}

// isHelpArg reports whether arg asks for help.
func isHelpArg(arg string) bool {
	switch arg {
	case "-h", "-help", "--help", "help":
		return true
	}
	return false
}
