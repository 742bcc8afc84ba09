// Command sluicebench measures sluice beside a minimal relay, in one run:
//
//	go run ./cmd/sluicebench [-n 1000] [-block 50] [-conc 16] [-conc-calls 150] [-conc-rounds 3]
//	                         [-ttfb 100] [-mb 200] [-runs 3] [-cold 20] [-open 300] [-warmup 50]
//	                         [-sandbox auto] [-runtimes=true] [-runtimes-dir DIR] [-json]
//
// It builds internal/testfunction (the `bootstrap` every measurement runs)
// and ./cmd/sluice into a temporary directory, starts the real sluice binary
// (`sluice serve --listen 127.0.0.1:0`) and the baseline relay (relay.go, the
// same benchmark binary re-executed) as child processes, and drives both with
// the same aws-sdk-go-v2 client (internal/lambdaclient), the two sides taking
// turns:
//
//   - warm Invoke latency of "echo" (p50, p99, mean over -n calls, made in
//     blocks of -block calls per side) and the server's CPU per call: the
//     CPU time of the server process alone (cpu.go), read around each
//     block,
//   - invokes/s with -conc concurrent clients (concurrent.go), -conc-calls
//     each, median of -conc-rounds rounds, and the server's CPU per call,
//   - InvokeWithResponseStream time to first byte of "stream" with
//     {"chunks":2,"pauseMs":200}: call start to the first PayloadChunk
//     (p50, p99 over -ttfb calls),
//   - throughput of one -mb MiB stream of "big" (at most 200 MiB, Lambda's
//     stream limit, which sluice enforces), -runs times, read by the Go SDK
//     and by a raw event-stream client (raw.go), beside the two-hop
//     loopback ceiling (ceiling.go: writer → copier → reader processes over
//     TCP with the function's write sizes), and the server's CPU per MiB,
//   - cold start: the first Invoke of each of -cold freshly created functions
//     (median, min, max) and the server's CPU per cold start; the relay's
//     figure is fork/exec of the bootstrap until its first GET /next,
//   - with -runtimes (the default), the same cold start of -cold nodejs20.x
//     functions (internal/testfunction/node/buffered, index.handler, under
//     AWS's runtime interface client) and -cold python3.12 functions
//     (internal/testfunction/python, app.context, under sluice's
//     bootstrap); the relay's figure is fork/exec of `node -e` or
//     `python3 -c` running a minimal Runtime API loop until its first GET
//     /next (runtimes.go). Both sides run the same node and python3. sluice
//     provisions the runtimes on the first create, into -runtimes-dir (by
//     default a directory under os.TempDir() kept across runs), so the
//     native build of the Node.js client, a minute or more, happens once
//     per machine; the benchmark waits up to 10 minutes for the function to
//     become Active,
//   - -open streams held open at once on a fresh sluice and a fresh relay
//     (open.go): whether each completes byte-exact, and the server's
//     resident memory growth per open stream.
//
// It prints one Markdown table (figure, sluice, baseline, ratio, and issue
// 14's goal for the ratio with ✓ or ✗), notes on how each figure is
// measured, and with -json also one line of JSON as the last line of
// stdout. Progress goes to stderr. With -burst it runs the burst mode
// instead (burst.go). It must run inside this module (it calls `go build`).
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
	if code, ok := childMain(); ok {
		os.Exit(code)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "sluicebench:", err)
		os.Exit(1)
	}
}

// run is the whole benchmark; args are the command-line flags.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	progress := func(format string, a ...any) { fmt.Fprintf(stderr, "sluicebench: "+format+"\n", a...) }

	dir, err := os.MkdirTemp("", "sluicebench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	// sluice's data dir is under dir; the sandboxed functions' user must
	// be able to reach it, or --sandbox auto falls back to unsandboxed
	// environments (MkdirTemp makes dir 0700).
	if err := os.Chmod(dir, 0o755); err != nil {
		return err
	}

	progress("building internal/testfunction and cmd/sluice")
	bins, err := build(ctx, dir)
	if err != nil {
		return err
	}

	if cfg.burst > 0 {
		return burstMode(ctx, cfg, args, bins, dir, stdout, progress)
	}

	var (
		interp   interpreters
		runtimes []runtimeCase
	)
	if cfg.runtimes {
		if interp, err = findInterpreters(ctx); err != nil {
			return err
		}
		if runtimes, err = runtimeCases(bins.testfunctionDir); err != nil {
			return err
		}
	}

	mainCfg := cfg
	mainCfg.open = 0 // measureOpen starts a sluice of its own
	sl, err := startSluice(ctx, bins, dir, mainCfg, interp)
	if err != nil {
		return err
	}
	defer sl.stop()
	rl, err := startRelay(ctx, bins, dir, interp)
	if err != nil {
		return err
	}
	defer rl.stop()
	ceil, err := startCeiling(ctx, dir)
	if err != nil {
		return err
	}
	defer ceil.stop()
	progress("sluice on %s, relay on %s", sl.url, rl.url)

	res, err := measure(ctx, cfg, []*target{sl.sluiceTarget(), rl.relayTarget()}, bins.zip, runtimes, ceil, progress)
	if err != nil {
		return fmt.Errorf("%w\n%s%s%s", err, sl.logTail(), rl.logTail(), ceil.copier.logTail())
	}
	if err := ceil.stop(); err != nil {
		return fmt.Errorf("stopping the ceiling's copier: %w\n%s", err, ceil.copier.logTail())
	}
	if err := sl.stop(); err != nil {
		return fmt.Errorf("stopping sluice: %w\n%s", err, sl.logTail())
	}
	if err := rl.stop(); err != nil {
		return fmt.Errorf("stopping relay: %w\n%s", err, rl.logTail())
	}
	if cfg.open > 0 {
		open, err := measureOpen(ctx, cfg, bins, dir, progress)
		if err != nil {
			return err
		}
		for name, o := range open {
			res.sides[name].open = o
		}
	}
	rep := newReport(cfg, args, res, runtimes, interp)
	if rep.Sandboxed, err = sl.sandboxed(); err != nil {
		return err
	}
	if err := rep.markdown(stdout); err != nil {
		return err
	}
	if cfg.json {
		return rep.writeJSON(stdout)
	}
	return nil
}

// burstMode runs sluice alone and the burst on it (burst.go).
func burstMode(ctx context.Context, cfg config, args []string, bins *binaries, dir string, stdout io.Writer, progress func(string, ...any)) error {
	cfg.runtimes, cfg.open = false, 0
	sl, err := startSluice(ctx, bins, dir, cfg, interpreters{})
	if err != nil {
		return err
	}
	defer sl.stop()
	progress("sluice on %s", sl.url)
	res, err := runBurst(ctx, cfg, sl.url, sl.cmd.Process.Pid, bins.zip, progress)
	if err != nil {
		return fmt.Errorf("%w\n%s", err, sl.logTail())
	}
	if err := sl.stop(); err != nil {
		return fmt.Errorf("stopping sluice: %w\n%s", err, sl.logTail())
	}
	sandboxed, err := sl.sandboxed()
	if err != nil {
		return err
	}
	if len(res.Failures) > 0 {
		// What sluice said about them: its warnings and errors.
		progress("sluice's log during the burst (warnings, errors and bwrap's messages, first 20):\n%s", sl.logLines(20, "level=WARN", "level=ERROR", "bwrap:"))
	}
	if err := res.markdown(stdout, command(args), cfg, sandboxed); err != nil {
		return err
	}
	if cfg.json {
		return res.writeJSON(stdout)
	}
	return nil
}
