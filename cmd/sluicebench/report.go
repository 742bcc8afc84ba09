package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// row is one line of the table: a figure of sluice beside the baseline's.
type row struct {
	Key      string  `json:"key"`
	Metric   string  `json:"metric"`
	Unit     string  `json:"unit"` // "ms", "MiB/s", "µs", "µs/MiB", "/s", "KiB" or "streams"
	Sluice   float64 `json:"sluice"`
	Baseline float64 `json:"baseline"`
	// SluiceRuns and BaselineRuns are the runs whose median Sluice and
	// Baseline are, where there are several.
	SluiceRuns   []float64 `json:"sluice_runs,omitempty"`
	BaselineRuns []float64 `json:"baseline_runs,omitempty"`
	Diff         float64   `json:"diff"`  // sluice - baseline
	Ratio        float64   `json:"ratio"` // sluice / baseline
	// Goal is issue 14's goal for the ratio ("≤ 1.10"), Met whether the
	// figures meet it; both empty for a figure without a goal.
	Goal string `json:"goal,omitempty"`
	Met  *bool  `json:"met,omitempty"`
}

// goal is a bound on a row's ratio.
type goal struct {
	atMost bool // ratio ≤ v, else ratio ≥ v
	v      float64
}

func (g goal) String() string {
	if g.atMost {
		return fmt.Sprintf("≤ %.2f", g.v)
	}
	return fmt.Sprintf("≥ %.2f", g.v)
}

func (g goal) met(ratio float64) bool {
	if g.atMost {
		return ratio <= g.v
	}
	return ratio >= g.v
}

// Issue 14's goals.
var (
	atMost110 = &goal{atMost: true, v: 1.10}
	atMost130 = &goal{atMost: true, v: 1.30}
	atLeast95 = &goal{v: 0.95}
	atLeast80 = &goal{v: 0.80}
	atLeast12 = &goal{v: 1.20}
)

// goalCell is the goal column of r: the goal and ✓ or ✗.
func (r row) goalCell() string {
	if r.Goal == "" {
		return ""
	}
	mark := "✗"
	if r.Met != nil && *r.Met {
		mark = "✓"
	}
	return r.Goal + " " + mark
}

type machine struct {
	GOOS      string `json:"goos"`
	GOARCH    string `json:"goarch"`
	NumCPU    int    `json:"num_cpu"`
	CPU       string `json:"cpu,omitempty"`
	GoVersion string `json:"go_version"`
}

type report struct {
	Command string    `json:"command"`
	Time    time.Time `json:"time"`
	Machine machine   `json:"machine"`
	Config  struct {
		N      int `json:"n"`
		TTFB   int `json:"ttfb"`
		MB     int `json:"mb"`
		Runs   int `json:"runs"`
		Cold   int `json:"cold"`
		Warmup int `json:"warmup"`
		// Sandbox is sluice's --sandbox setting.
		Sandbox string `json:"sandbox"`
		// Runtimes says whether the nodejs and python cold starts ran.
		Runtimes   bool `json:"runtimes"`
		Block      int  `json:"block"`
		Conc       int  `json:"conc"`
		ConcCalls  int  `json:"conc_calls"`
		ConcRounds int  `json:"conc_rounds"`
		Open       int  `json:"open"`
	} `json:"config"`
	// Sandboxed says whether sluice ran its environments in sandboxes
	// (its log did not warn that they were not isolated).
	Sandboxed bool  `json:"sandboxed"`
	Rows      []row `json:"rows"`
	// Extra figures named in the notes under the table.
	LargeStream     string               `json:"large_stream"` // function and event of the throughput stream
	ThroughputRuns  map[string][]float64 `json:"throughput_runs_mib_s"`
	RelayColdInvoke float64              `json:"relay_cold_invoke_p50_ms"`
	SluiceColdMax   float64              `json:"sluice_cold_max_ms"`
	// Runtimes are the other runtimes' cold starts, in row order.
	Runtimes []runtimeNote `json:"runtimes,omitempty"`
	// Open are the open streams, if measured.
	Open *openStreamsNote `json:"open_streams,omitempty"`
}

// runtimeNote is what the notes say about one runtime's cold start.
type runtimeNote struct {
	Key         string `json:"key"`         // of its rows: cold_start_KEY_p50
	Runtime     string `json:"runtime"`     // nodejs20.x
	Handler     string `json:"handler"`     // index.handler
	Interpreter string `json:"interpreter"` // what --version printed, on both sides
	// RelayColdInvoke is the relay's first Invoke of a fresh instance
	// (median), as RelayColdInvoke for Go.
	RelayColdInvoke float64 `json:"relay_cold_invoke_p50_ms"`
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func newReport(cfg config, args []string, res *results, runtimes []runtimeCase, interp interpreters) *report {
	rep := &report{
		Command: command(args),
		Time:    time.Now().UTC().Truncate(time.Second),
		Machine: machine{GOOS: runtime.GOOS, GOARCH: runtime.GOARCH, NumCPU: runtime.NumCPU(), CPU: cpuModel(), GoVersion: runtime.Version()},
	}
	rep.Config.N, rep.Config.TTFB, rep.Config.MB, rep.Config.Runs, rep.Config.Cold, rep.Config.Warmup = cfg.n, cfg.ttfb, cfg.mb, cfg.runs, cfg.cold, cfg.warmup
	rep.Config.Sandbox, rep.Config.Runtimes = cfg.sandbox, cfg.runtimes
	rep.Config.Block, rep.Config.Conc, rep.Config.ConcCalls, rep.Config.ConcRounds, rep.Config.Open = cfg.block, cfg.conc, cfg.concCalls, cfg.concRounds, cfg.open
	s, b := res.sides["sluice"], res.sides["relay"]
	rep.LargeStream = res.largeStream
	add := func(key, metric, unit string, sv, bv float64, g *goal) *row {
		r := row{Key: key, Metric: metric, Unit: unit, Sluice: sv, Baseline: bv, Diff: sv - bv}
		if bv != 0 {
			r.Ratio = sv / bv
		}
		if g != nil {
			met := g.met(r.Ratio)
			r.Goal, r.Met = g.String(), &met
		}
		rep.Rows = append(rep.Rows, r)
		return &rep.Rows[len(rep.Rows)-1]
	}
	lat := func(key, metric string, sd, bd time.Duration, g *goal) { add(key, metric, "ms", ms(sd), ms(bd), g) }
	runs := func(key, metric, unit string, sr, br []float64, g *goal) {
		r := add(key, metric, unit, medianFloat(sr), medianFloat(br), g)
		r.SluiceRuns, r.BaselineRuns = sr, br
	}
	perCall := func(d time.Duration, n int) float64 {
		return float64(d) / float64(time.Microsecond) / float64(max(n, 1))
	}
	lat("warm_invoke_p50", fmt.Sprintf("warm Invoke p50 (echo, %d calls)", cfg.n), percentile(s.warm, .5), percentile(b.warm, .5), atMost110)
	lat("warm_invoke_p99", "warm Invoke p99", percentile(s.warm, .99), percentile(b.warm, .99), atMost130)
	lat("warm_invoke_mean", "warm Invoke mean", mean(s.warm), mean(b.warm), nil)
	add("server_cpu_per_invoke", "server CPU per warm Invoke", "µs", perCall(s.warmCPU, len(s.warm)), perCall(b.warmCPU, len(b.warm)), atMost130)
	runs("concurrent_invokes_per_s", fmt.Sprintf("invokes/s, %d concurrent clients (%d rounds)", cfg.conc, cfg.concRounds), "/s", s.conc.perSecond, b.conc.perSecond, atLeast95)
	add("concurrent_cpu_per_invoke", fmt.Sprintf("server CPU per Invoke, %d concurrent clients", cfg.conc), "µs", perCall(s.conc.cpu, s.conc.calls), perCall(b.conc.cpu, b.conc.calls), nil)
	lat("stream_ttfb_p50", fmt.Sprintf("stream TTFB p50 (1 chunk, 200 ms pause; %d calls)", cfg.ttfb), percentile(s.ttfb, .5), percentile(b.ttfb, .5), atMost110)
	lat("stream_ttfb_p99", "stream TTFB p99", percentile(s.ttfb, .99), percentile(b.ttfb, .99), nil)
	runs("throughput_sdk", fmt.Sprintf("one %d MiB stream, Go SDK client (%d runs)", cfg.mb, cfg.runs), "MiB/s", s.mibs, b.mibs, nil)
	runs("throughput_raw", fmt.Sprintf("one %d MiB stream, raw event-stream client", cfg.mb), "MiB/s", s.rawMibs, b.rawMibs, atLeast12)
	runs("throughput_raw_vs_ceiling", "the same, sluice beside the two-hop loopback ceiling", "MiB/s", s.rawMibs, res.ceiling, atLeast80)
	add("server_cpu_per_mib", "server CPU per MiB streamed", "µs/MiB", perMiB(s.streamCPU, s.streamMiB), perMiB(b.streamCPU, b.streamMiB), nil)
	lat("cold_start_p50", fmt.Sprintf("cold start provided.al2023 (Go), median of %d new functions", cfg.cold), percentile(s.cold, .5), percentile(b.cold, .5), atMost130)
	lat("cold_start_min", "cold start provided.al2023 (Go), min", percentile(s.cold, 0), percentile(b.cold, 0), nil)
	lat("cold_start_max", "cold start provided.al2023 (Go), max", percentile(s.cold, 1), percentile(b.cold, 1), nil)
	add("server_cpu_per_cold_start", "server CPU per cold start (Go)", "µs", perCall(s.coldCPU, len(s.cold)), perCall(b.coldCPU, len(b.cold)), nil)
	for _, rc := range runtimes {
		sc, bc := s.runtimes[rc.key], b.runtimes[rc.key]
		rt := string(rc.fn.runtime)
		lat("cold_start_"+rc.key+"_p50", fmt.Sprintf("cold start %s, median of %d new functions", rt, cfg.cold), percentile(sc.cold, .5), percentile(bc.cold, .5), atMost130)
		lat("cold_start_"+rc.key+"_min", fmt.Sprintf("cold start %s, min", rt), percentile(sc.cold, 0), percentile(bc.cold, 0), nil)
		lat("cold_start_"+rc.key+"_max", fmt.Sprintf("cold start %s, max", rt), percentile(sc.cold, 1), percentile(bc.cold, 1), nil)
		version := interp.nodeVersion
		if rc.key == "python" {
			version = interp.pythonVersion
		}
		rep.Runtimes = append(rep.Runtimes, runtimeNote{Key: rc.key, Runtime: rt, Handler: rc.fn.handler, Interpreter: version, RelayColdInvoke: ms(percentile(bc.invoke, .5))})
	}
	if so, bo := s.open, b.open; so != nil && bo != nil {
		r := add("open_streams_complete", fmt.Sprintf("open streams complete byte-exact (%d at once)", cfg.open), "streams", float64(so.ok), float64(bo.ok), nil)
		met := so.ok == so.n
		r.Goal, r.Met = fmt.Sprintf("all %d", so.n), &met
		add("open_stream_rss", "server RSS growth per open stream", "KiB", so.perStreamKiB(), bo.perStreamKiB(), nil)
		rep.Open = &openStreamsNote{N: cfg.open, Sluice: so.note(), Relay: bo.note()}
	}
	rep.ThroughputRuns = map[string][]float64{"sluice": s.mibs, "relay": b.mibs, "sluice_raw": s.rawMibs, "relay_raw": b.rawMibs, "ceiling": res.ceiling}
	rep.RelayColdInvoke = ms(percentile(b.coldInvoke, .5))
	rep.SluiceColdMax = ms(percentile(s.cold, 1))
	return rep
}

// perMiB is CPU time per MiB in µs.
func perMiB(d time.Duration, mib float64) float64 {
	if mib == 0 {
		return 0
	}
	return float64(d) / float64(time.Microsecond) / mib
}

// openStreamsNote is what the notes say of the open streams.
type openStreamsNote struct {
	N      int      `json:"n"`
	Sluice openNote `json:"sluice"`
	Relay  openNote `json:"relay"`
}

// openNote is one side's open streams, for the notes.
type openNote struct {
	OK           int            `json:"ok"`
	Failures     map[string]int `json:"failures,omitempty"`
	RSSBeforeKiB int64          `json:"rss_before_kib"`
	RSSOpenKiB   int64          `json:"rss_open_kib"`
	AnonBefore   int64          `json:"rss_anon_before_kib"`
	AnonOpen     int64          `json:"rss_anon_open_kib"`
	OpeningMs    float64        `json:"opening_ms"` // first call until every stream had its first chunk
	MaxHoldMs    float64        `json:"max_hold_ms"`
}

func (o *openSamples) note() openNote {
	return openNote{OK: o.ok, Failures: o.failures, RSSBeforeKiB: o.rssBefore, RSSOpenKiB: o.rssOpen, AnonBefore: o.anonBefore, AnonOpen: o.anonOpen, OpeningMs: ms(o.opening), MaxHoldMs: ms(o.maxHold)}
}

// command is the command line that reproduces this run.
func command(args []string) string {
	parts := []string{"go", "run", "./cmd/sluicebench"}
	for _, a := range args {
		if a == "" || strings.ContainsAny(a, " \t\"'$\\") {
			a = strconv.Quote(a)
		}
		parts = append(parts, a)
	}
	return strings.Join(parts, " ")
}

// cpuModel is the first "model name" of /proc/cpuinfo, if any.
func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func formatValue(v float64, unit string) string {
	switch unit {
	case "ms":
		return formatMs(v)
	case "KiB":
		return fmt.Sprintf("%.1f KiB", v)
	case "streams":
		return fmt.Sprintf("%.0f", v)
	case "/s":
		return fmt.Sprintf("%.0f/s", v)
	}
	return fmt.Sprintf("%.0f %s", v, unit)
}

// cell is one side's figure: min / median / max of runs where there are
// several, else v.
func cell(v float64, runs []float64, unit string) string {
	if len(runs) < 2 {
		return formatValue(v, unit)
	}
	s := formatValue(slices.Max(runs), unit)
	return fmt.Sprintf("%.0f / %.0f / %s", slices.Min(runs), v, s)
}

func formatMs(v float64) string {
	switch a := max(v, -v); {
	case a >= 100:
		return fmt.Sprintf("%.0f ms", v)
	case a >= 10:
		return fmt.Sprintf("%.1f ms", v)
	default:
		return fmt.Sprintf("%.3f ms", v)
	}
}

func (rep *report) markdown(w io.Writer) error {
	var b strings.Builder
	m := rep.Machine
	cpu := ""
	if m.CPU != "" {
		cpu = " (" + m.CPU + ")"
	}
	fmt.Fprintf(&b, "## sluicebench\n\n")
	fmt.Fprintf(&b, "`%s`  \n%s/%s, %d CPUs%s, %s, %s\n\n", rep.Command, m.GOOS, m.GOARCH, m.NumCPU, cpu, m.GoVersion, rep.Time.Format(time.RFC3339))
	fmt.Fprintf(&b, "| figure | sluice | baseline | ratio | goal |\n")
	fmt.Fprintf(&b, "|---|--:|--:|--:|:-:|\n")
	for _, r := range rep.Rows {
		fmt.Fprintf(&b, "| %s | %s | %s | ×%.2f | %s |\n", r.Metric, cell(r.Sluice, r.SluiceRuns, r.Unit), cell(r.Baseline, r.BaselineRuns, r.Unit), r.Ratio, r.goalCell())
	}
	fmt.Fprintf(&b, "\n")
	fmt.Fprintf(&b, "- Same client for both sides (internal/lambdaclient, aws-sdk-go-v2), one call at a time except the concurrent invokes and the open streams, %d warm-up calls per side first; the sides take turns. Latencies are client-measured. Ratio = sluice ÷ baseline (of the medians where a cell gives min / median / max of the runs); goal = issue 14's bound on the ratio.\n", rep.Config.Warmup)
	sandboxed := "in bubblewrap sandboxes"
	if !rep.Sandboxed {
		sandboxed = "NOT sandboxed (plain child processes)"
	}
	fmt.Fprintf(&b, "- sluice runs with `--sandbox %s`: its execution environments ran %s; the relay never sandboxes.\n", rep.Config.Sandbox, sandboxed)
	fmt.Fprintf(&b, "- Baseline: cmd/sluicebench/relay.go, the two invoke endpoints joined by channels to a bare Runtime API, one bootstrap per concurrent invocation of a function (an idle one is reused), same event-stream writer; no auth, validation, store, logs or limits. Both servers are child processes.\n")
	fmt.Fprintf(&b, "- Server CPU: the server process's own CPU time (the sum of /proc/PID/task/*/schedstat; not its functions', not bubblewrap's), read around each side's own calls: the warm Invokes run in blocks of %d per side, taking turns; per MiB over the SDK and raw throughput runs; per cold start over the Go cold starts' invokes.\n", rep.Config.Block)
	fmt.Fprintf(&b, "- Invokes/s: %d goroutines, each with its own SDK client, %d Invokes of `echo` each per round, after a warm-up round that brings up one environment (relay: bootstrap) per client.\n", rep.Config.Conc, rep.Config.ConcCalls)
	fmt.Fprintf(&b, "- Stream TTFB: call start until the client receives the first PayloadChunk of `stream` `{\"chunks\":2,\"pauseMs\":200}`.\n")
	fmt.Fprintf(&b, "- One stream: %d MiB from `%s`, call start until InvokeComplete, byte count exact. Go SDK client: aws-sdk-go-v2's event-stream reader. Raw client: the SigV4-signed POST sent with net/http, read through a 1 MiB buffer and decoded frame by frame with the SDK's event-stream decoder. Two-hop loopback ceiling: a writer process → a copier process → this process over loopback TCP, 32 KiB writes (as aws-lambda-go's), the copier's 64 KiB read/write loop (as the servers' stream buffer), from the copier's connection to the last byte.\n", rep.Config.MB, rep.LargeStream)
	if o := rep.Open; o != nil {
		side := func(n openNote) string {
			f := fmt.Sprintf("RSS %.1f → %.1f MiB (RssAnon %.1f → %.1f MiB), all open after %.1f s (longest hold %.1f s)", float64(n.RSSBeforeKiB)/1024, float64(n.RSSOpenKiB)/1024, float64(n.AnonBefore)/1024, float64(n.AnonOpen)/1024, n.OpeningMs/1000, n.MaxHoldMs/1000)
			for msg, k := range n.Failures {
				f += fmt.Sprintf("; %d × %s", k, msg)
			}
			return f
		}
		fmt.Fprintf(&b, "- Open streams, on a fresh sluice (its limits raised to admit them) and a fresh relay: %d streams of `stream` `{\"chunks\":2,\"pauseMs\":HOLD,\"size\":%d}` opened as fast as the server admits them (at most %d waiting for their first chunk), each on its own connection of the raw client and in its own environment (relay: bootstrap), HOLD %.3g× the expected time to open the rest + %v; RSS growth = the server's VmRSS once every stream had its first chunk − its VmRSS before, ÷ %d. sluice: %s; relay: %s. `make burst` is the longer storm.\n", o.N, openChunkSize, openPending, openSlack, openMargin, o.N, side(o.Sluice), side(o.Relay))
	}
	fmt.Fprintf(&b, "- Cold start: sluice = first Invoke of a just-created function (max %s); baseline = fork/exec of the bootstrap until its first GET /next; the sides take turns, each start after a %v pause (so that no start overlaps the background work of the one before, e.g. sluice refilling its prepared sandboxes). The relay's own first Invoke of a fresh instance took %s (median).\n", formatMs(rep.SluiceColdMax), coldSettle, formatMs(rep.RelayColdInvoke))
	if len(rep.Runtimes) > 0 {
		var first []string
		for _, n := range rep.Runtimes {
			first = append(first, fmt.Sprintf("%s %s", n.Runtime, formatMs(n.RelayColdInvoke)))
		}
		fmt.Fprintf(&b, "- Cold start per runtime: sluice = first Invoke of a just-created nodejs20.x function (internal/testfunction/node/buffered, `index.handler`, under AWS's runtime interface client, aws-lambda-ric) or python3.12 function (internal/testfunction/python, `app.context`, under sluice's bootstrap), in sluice's environment as above; baseline = fork/exec of `node -e` or `python3 -c` running a minimal Runtime API loop (node:http or http.client: GET /next, POST /response) until its first GET /next, unsandboxed: the interpreter's start, not a runtime client's or the handler's. Interpreters (the same binaries on both sides): %s. The relay's own first Invoke of a fresh instance (median): %s.\n", rep.interpreters(), strings.Join(first, ", "))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// interpreters lists the runtimes' interpreter versions.
func (rep *report) interpreters() string {
	var s []string
	for _, n := range rep.Runtimes {
		s = append(s, fmt.Sprintf("%s %s", n.Runtime, n.Interpreter))
	}
	return strings.Join(s, ", ")
}

// writeJSON writes the report as one line of JSON.
func (rep *report) writeJSON(w io.Writer) error {
	b, err := json.Marshal(rep)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "\n%s\n", b)
	return err
}
