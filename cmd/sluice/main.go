// Command sluice runs the sluice function platform.
//
//	sluice serve [--listen 127.0.0.1:9000] [--data-dir .sluice] [--region us-east-1] [--account-id 000000000000]
//	sluice runtime install nodejs|python [--data-dir .sluice] [--node node]
//	sluice store check|backup|restore|repair [--data-dir .sluice] ...
//	sluice invoke FUNCTION [--payload JSON|@file|-] [--qualifier Q] [--buffered] [--log]
//	sluice ls [--json]
//	sluice version
//
// See README.md.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

const usage = `sluice: a self-hosted, AWS-Lambda-wire-compatible function platform.

Usage:
  sluice serve [flags]    run the Lambda API (see "sluice serve --help")
  sluice runtime install nodejs|python [flags]
                          provision a runtime into the data dir
  sluice store check|backup|restore|repair [flags]
                          check, back up, restore or repair the store
                          (see "sluice help store")
  sluice deploy DIR [--name N] [--runtime R] [--handler H] [--watch]
                          build, zip and deploy a function (see "sluice deploy --help")
  sluice invoke FUNCTION [flags]
                          invoke a function, its response streamed to stdout
  sluice logs FUNCTION [--follow] [--since 10m]
                          print a function's log (see "sluice logs --help")
  sluice ls [flags]       list the functions
  sluice version          print the version (also: sluice --version)

"sluice help CMD" or "sluice CMD --help" prints the help of CMD.
`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "serve":
		return serveCommand(ctx, args[1:], stdout, stderr)
	case "runtime":
		return runtimeCommand(ctx, args[1:], stdout, stderr)
	case "store":
		return storeCommand(args[1:], stdout, stderr)
	case "deploy":
		return deployCommand(ctx, args[1:], stdout, stderr)
	case "logs":
		return logsCommand(ctx, args[1:], stdout, stderr)
	case "invoke":
		return invokeCommand(ctx, args[1:], stdout, stderr)
	case "ls":
		return lsCommand(ctx, args[1:], stdout, stderr)
	case "version", "--version":
		return versionCommand(ctx, args[1:], stdout, stderr)
	case "help", "-h", "-help", "--help":
		if len(args) > 1 && args[0] == "help" && !isHelpArg(args[1]) {
			// Every subcommand prints its help for --help.
			return run(ctx, []string{args[1], "--help"}, stdout, stderr)
		}
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "sluice: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
}
