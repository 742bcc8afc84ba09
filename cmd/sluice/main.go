// Command sluice runs the sluice function platform.
//
//	sluice serve [--listen 127.0.0.1:9000] [--data-dir .sluice] [--region us-east-1] [--account-id 000000000000]
//	sluice runtime install nodejs|python [--data-dir .sluice] [--node node]
//	sluice store check|backup|restore|repair [--data-dir .sluice] ...
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
  sluice serve [flags]    run the Lambda API (see "sluice serve -h")
  sluice runtime install nodejs|python [flags]
                          provision a runtime into the data dir
  sluice store check|backup|restore|repair [flags]
                          check, back up, restore or repair the store
                          (see "sluice help store")
  sluice logs FUNCTION [--follow] [--since 10m]
                          print a function's log (see "sluice logs --help")
  sluice version          print the version
`

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

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
	case "logs":
		return logsCommand(ctx, args[1:], stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "sluice", version)
		return 0
	case "help", "-h", "--help":
		if len(args) > 1 && args[1] == "store" {
			fmt.Fprint(stdout, storeUsage)
			return 0
		}
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "sluice: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
}
