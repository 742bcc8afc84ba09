package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sluice-dev/sluice"
)

// config is what the flags say.
type config struct {
	n      int  // warm Invoke calls
	ttfb   int  // streaming calls for time to first byte
	mb     int  // MiB of the throughput stream
	runs   int  // throughput runs
	cold   int  // cold starts (functions created)
	warmup int  // warm-up calls per side and measurement
	json   bool // also print one line of JSON
	// block is how many warm Invoke calls a side makes in a row, its
	// server's CPU read around them.
	block int
	// conc clients invoke at once, concCalls calls each per round,
	// concRounds rounds per side.
	conc, concCalls, concRounds int
	// open streams are held open at once (0: none).
	open int
	// sandbox is sluice's --sandbox: auto, bwrap or none.
	sandbox string
	// runtimes adds the cold starts of a nodejs20.x and a python3.12
	// function (-cold of each) beside their interpreters' baselines.
	runtimes bool
	// runtimesDir is sluice's --runtimes-dir: where it provisions the
	// Node.js runtime client (a native build of a minute or more), kept
	// across runs.
	runtimesDir string
	// burst, when above 0, runs the burst mode instead (burst.go): that
	// many streams opened burstGap apart, each held burstHold.
	burst     int
	burstGap  [2]time.Duration
	burstHold time.Duration
}

// maxMB is the largest stream sluice relays: Lambda's 200 MiB response
// stream limit (sluice.MaxStreamedResponse). Beyond it sluice ends the stream
// with Function.ResponseSizeTooLarge.
const maxMB = sluice.MaxStreamedResponse >> 20

// defaultRuntimesDir is where runs of the benchmark (and its test) share
// provisioned runtimes. sluice does not reinstall a runtime provisioned
// there by an older version of it: remove the directory when sluice's
// Node.js client version changes.
func defaultRuntimesDir() string {
	return filepath.Join(os.TempDir(), "sluice-bench-runtimes")
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("sluicebench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&c.n, "n", 1000, "warm Invoke calls (echo, small payload)")
	fs.IntVar(&c.ttfb, "ttfb", 100, `InvokeWithResponseStream calls of "stream" {"chunks":2,"pauseMs":200} for time to first byte`)
	fs.IntVar(&c.mb, "mb", maxMB, fmt.Sprintf("MiB of the throughput stream (at most %d, Lambda's stream limit)", maxMB))
	fs.IntVar(&c.runs, "runs", 3, "throughput runs (the median is reported)")
	fs.IntVar(&c.cold, "cold", 20, "cold starts: functions created, then invoked once each")
	fs.IntVar(&c.warmup, "warmup", 50, "warm-up calls per side before each measurement")
	fs.IntVar(&c.block, "block", 50, "warm Invoke calls a side makes in a row (its server's CPU is read around each block)")
	fs.IntVar(&c.conc, "conc", 16, "concurrent clients of the invokes/s measurement")
	fs.IntVar(&c.concCalls, "conc-calls", 150, "Invoke calls per concurrent client and round")
	fs.IntVar(&c.concRounds, "conc-rounds", 3, "rounds of the invokes/s measurement per side (the median is reported)")
	fs.IntVar(&c.open, "open", 300, "streams held open at once on a fresh sluice and a fresh relay (0: skip); each needs an execution environment of its own")
	fs.StringVar(&c.sandbox, "sandbox", "auto", "sluice's --sandbox: auto (sandboxes when root and bubblewrap allow), bwrap or none")
	fs.BoolVar(&c.runtimes, "runtimes", true, "also measure the cold start of a nodejs20.x and a python3.12 function (-cold of each) beside node and python3 starting a minimal Runtime API client")
	fs.StringVar(&c.runtimesDir, "runtimes-dir", defaultRuntimesDir(), "sluice's --runtimes-dir, kept across runs: the Node.js runtime client is built there once per machine")
	fs.IntVar(&c.burst, "burst", 0, "burst mode: open this many InvokeWithResponseStream calls of one function -burst-gap apart, each held -burst-hold, and report completion, time to first byte and sluice's peak RSS (nothing else is measured)")
	gap := "5ms-90ms"
	fs.StringVar(&gap, "burst-gap", gap, "MIN-MAX: the time between two streams of the burst, uniformly random")
	fs.DurationVar(&c.burstHold, "burst-hold", 60*time.Second, "how long the function holds each stream of the burst open (one chunk at once, then one a second)")
	fs.BoolVar(&c.json, "json", false, "also print the results as one line of JSON (the last line of stdout)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	lo, hi, ok := strings.Cut(gap, "-")
	var err1, err2 error
	c.burstGap[0], err1 = time.ParseDuration(lo)
	c.burstGap[1], err2 = time.ParseDuration(hi)
	if !ok || err1 != nil || err2 != nil || c.burstGap[0] < 0 || c.burstGap[1] < c.burstGap[0] {
		return c, fmt.Errorf("-burst-gap must be MIN-MAX durations, MIN <= MAX, got %q", gap)
	}
	switch {
	case c.burst < 0 || c.burstHold < 0:
		return c, errors.New("-burst and -burst-hold must not be negative")
	case c.block < 1, c.conc < 1, c.concCalls < 1, c.concRounds < 1:
		return c, errors.New("-block, -conc, -conc-calls and -conc-rounds must be at least 1")
	case c.open < 0:
		return c, errors.New("-open must not be negative")
	case c.n < 1, c.ttfb < 1, c.runs < 1, c.cold < 1, c.warmup < 0:
		return c, errors.New("-n, -ttfb, -runs and -cold must be at least 1, -warmup at least 0")
	case c.sandbox != "auto" && c.sandbox != "bwrap" && c.sandbox != "none":
		return c, fmt.Errorf("-sandbox must be auto, bwrap or none, got %q", c.sandbox)
	case c.runtimes && c.runtimesDir == "":
		return c, errors.New("-runtimes-dir must not be empty")
	case c.mb < 1 || c.mb > maxMB:
		return c, fmt.Errorf("-mb must be between 1 and %d (Lambda's response stream limit, which sluice enforces)", maxMB)
	}
	return c, nil
}
