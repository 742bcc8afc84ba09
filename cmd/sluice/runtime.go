package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/sluice-dev/sluice/internal/runtimes/nodejs"
)

const runtimeUsage = `Usage:
  sluice runtime install nodejs|python [--data-dir DIR] [--node PATH] [--force] [--log-level LEVEL]

Provisions a runtime into DIR/runtimes/<runtime>, where the server looks for
it (the server also provisions it on first use). nodejs builds the official
runtime interface client (npm aws-lambda-ric) with npm: it needs Node.js 18
or later and cmake, autoconf, automake, libtool, make and g++.
`

// runtimeCommand is `sluice runtime install nodejs|python`.
func runtimeCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "install" {
		fmt.Fprint(stderr, runtimeUsage)
		return 2
	}
	defaults := DefaultConfig()
	fset := flag.NewFlagSet("runtime install", flag.ContinueOnError)
	fset.SetOutput(stderr)
	fset.Usage = func() { fmt.Fprint(stderr, runtimeUsage); fset.PrintDefaults() }
	dataDir := fset.String("data-dir", defaults.DataDir, "the server's data directory (as for serve)")
	node := fset.String("node", "node", "the Node.js binary (a path, or a name on PATH)")
	force := fset.Bool("force", false, "install again even when the runtime is installed")
	logLevel := fset.String("log-level", "info", "debug (shows npm's output), info, warn or error")
	// The runtime's name may come before, between or after the flags.
	var names []string
	rest := args[1:]
	for {
		if err := fset.Parse(rest); err != nil {
			return 2
		}
		if fset.NArg() == 0 {
			break
		}
		names = append(names, fset.Arg(0))
		rest = fset.Args()[1:]
	}
	if len(names) > 1 {
		fmt.Fprintf(stderr, "sluice runtime install: one runtime at a time, got %q\n", names)
		return 2
	}
	var name string
	if len(names) == 1 {
		name = names[0]
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		fmt.Fprintf(stderr, "sluice: bad --log-level: %v\n", err)
		return 2
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	// integrator: once internal/runtimes is in, this switch becomes
	//	runtimes.New(runtimes.Config{DataDir: *dataDir, Node: *node, Logger: logger,
	//		InstallNode: ..., NodeCommand: ..., ...}).Prepare(ctx, name)
	// (the same Registry the server builds in Open), so that the command and
	// the server share one provisioning path; --force then removes the
	// installed directory first.
	switch name {
	case "nodejs":
		start := time.Now()
		dir := filepath.Join(*dataDir, "runtimes", "nodejs")
		installed, err := installNode(ctx, dir, *node, *force, logger)
		if err != nil {
			fmt.Fprintf(stderr, "sluice: %v\n", err)
			return 1
		}
		m, err := nodejs.ReadMarker(dir)
		if err != nil {
			fmt.Fprintf(stderr, "sluice: %v\n", err)
			return 1
		}
		if installed {
			fmt.Fprintf(stdout, "nodejs: installed aws-lambda-ric %s for Node.js %s in %s (%s)\n", m.RIC, m.NodeVersion, dir, time.Since(start).Round(time.Second))
		} else {
			fmt.Fprintf(stdout, "nodejs: aws-lambda-ric %s for Node.js %s is already installed in %s (--force installs it again)\n", m.RIC, m.NodeVersion, dir)
		}
		return 0
	case "python":
		fmt.Fprintln(stderr, "sluice runtime install python: not in this build yet (the Python runtime is provisioned by the runtime registry)")
		return 1
	case "":
		fmt.Fprintf(stderr, "sluice runtime install: which runtime? nodejs or python\n\n%s", runtimeUsage)
		return 2
	default:
		fmt.Fprintf(stderr, "sluice runtime install: unknown runtime %q (nodejs or python)\n", name)
		return 2
	}
}

// installNode installs the Node.js runtime into dir unless it is there:
// into a temporary directory beside it, renamed into place when complete,
// so that a crash or Ctrl-C never leaves a half-installed runtime where the
// server would use it. It reports whether it installed.
func installNode(ctx context.Context, dir, node string, force bool, log *slog.Logger) (bool, error) {
	_, err := nodejs.ReadMarker(dir)
	switch {
	case err == nil && !force:
		return false, nil
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return false, err
	}
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return false, err
	}
	tmp, err := os.MkdirTemp(parent, ".nodejs-install-")
	if err != nil {
		return false, err
	}
	defer os.RemoveAll(tmp)
	if err := nodejs.Install(ctx, tmp, node, log); err != nil {
		return false, err
	}
	// Move what is there (an older installation, or one without marker)
	// aside before the new one takes its place.
	old := tmp + ".old"
	if err := os.Rename(dir, old); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return false, err
	}
	if err := os.Rename(tmp, dir); err != nil {
		return false, err
	}
	if err := os.RemoveAll(old); err != nil {
		log.Warn("could not remove the previous Node.js runtime", "dir", old, "err", err)
	}
	return true, nil
}
