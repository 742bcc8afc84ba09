package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/sluice-dev/sluice"
	"github.com/sluice-dev/sluice/internal/runtimes"
	"github.com/sluice-dev/sluice/internal/runtimes/nodejs"
)

const runtimeUsage = `Usage:
  sluice runtime install nodejs|python [--data-dir DIR] [--runtimes-dir DIR] [--node PATH] [--force] [--log-level LEVEL]

Provisions a runtime into DIR/runtimes/<runtime>, where the server looks for
it (the server also provisions it on first use). nodejs builds the official
runtime interface client (npm aws-lambda-ric) with npm: it needs Node.js 18
or later and cmake, autoconf, automake, libtool, make and g++.
`

// runtimeCommand is `sluice runtime install nodejs|python`.
func runtimeCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	defaults := DefaultConfig()
	fset := newFlagSet("runtime install", stderr)
	dataDir := fset.String("data-dir", defaults.DataDir, "the server's data directory (as for serve)")
	node := fset.String("node", "node", "the Node.js binary (a path, or a name on PATH)")
	force := fset.Bool("force", false, "install again even when the runtime is installed")
	runtimesDir := fset.String("runtimes-dir", defaults.RuntimesDir, "where runtimes are provisioned (as for serve; default DATA-DIR/runtimes)")
	logLevel := fset.String("log-level", "info", "debug (shows npm's output), info, warn or error")
	if len(args) > 0 && isHelpArg(args[0]) {
		printHelp(stdout, runtimeUsage, fset)
		return 0
	}
	if len(args) == 0 || args[0] != "install" {
		fmt.Fprint(stderr, runtimeUsage)
		return 2
	}
	// The runtime's name may come before, between or after the flags.
	var names []string
	rest := args[1:]
	for {
		if code, ok := parseFlags(fset, rest, runtimeUsage, stdout, stderr); !ok {
			return code
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
	cfg := defaults
	cfg.DataDir, cfg.Node, cfg.RuntimesDir = *dataDir, *node, *runtimesDir
	if cfg.Node == "node" {
		cfg.Node = "" // the registry's own lookup on PATH
	}
	reg := runtimes.New(runtimesConfig(cfg, logger))
	var runtime string
	switch name {
	case "nodejs":
		runtime = "nodejs20.x" // any nodejs* runtime: they share the client
	case "python":
		runtime = "python3.12" // any python* runtime: they share the bootstrap
	case "":
		fmt.Fprintf(stderr, "sluice runtime install: which runtime? nodejs or python\n\n%s", runtimeUsage)
		return 2
	default:
		fmt.Fprintf(stderr, "sluice runtime install: unknown runtime %q (nodejs or python)\n", name)
		return 2
	}
	dir := reg.Dir(runtime)
	if reg.Ready(runtime) && !*force {
		fmt.Fprintf(stdout, "%s: already installed in %s (--force installs it again)\n", name, dir)
		return 0
	}
	if *force {
		if err := os.RemoveAll(dir); err != nil {
			fmt.Fprintf(stderr, "sluice: %v\n", err)
			return 1
		}
	}
	start := time.Now()
	// The same provisioning path as the server's (runtimes.Registry.Prepare).
	if err := reg.Prepare(ctx, runtime); err != nil {
		fmt.Fprintf(stderr, "sluice: %v\n", err)
		return 1
	}
	if !reg.Ready(runtime) {
		// No usable interpreter: Bootstrap says what to install.
		_, err := reg.Bootstrap(&sluice.Function{Runtime: runtime, Handler: "index.handler"})
		msg := fmt.Sprint(err)
		if e := (*sluice.Error)(nil); errors.As(err, &e) {
			msg = e.Message
		}
		fmt.Fprintf(stderr, "sluice: %s is not installed: %s\n", name, msg)
		return 1
	}
	if name == "nodejs" {
		if m, err := nodejs.ReadMarker(dir); err == nil {
			fmt.Fprintf(stdout, "nodejs: installed aws-lambda-ric %s for Node.js %s in %s (%s)\n", m.RIC, m.NodeVersion, dir, time.Since(start).Round(time.Second))
			return 0
		}
	}
	fmt.Fprintf(stdout, "%s: installed in %s (%s)\n", name, dir, time.Since(start).Round(time.Second))
	return 0
}
