package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// row is one line of the table: a figure of sluice beside the baseline's.
type row struct {
	Key      string  `json:"key"`
	Metric   string  `json:"metric"`
	Unit     string  `json:"unit"` // "ms" or "MiB/s"
	Sluice   float64 `json:"sluice"`
	Baseline float64 `json:"baseline"`
	Diff     float64 `json:"diff"`  // sluice - baseline
	Ratio    float64 `json:"ratio"` // sluice / baseline
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
		Runtimes bool `json:"runtimes"`
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
	s, b := res.sides["sluice"], res.sides["relay"]
	rep.LargeStream = res.largeStream
	add := func(key, metric, unit string, sv, bv float64) {
		r := row{Key: key, Metric: metric, Unit: unit, Sluice: sv, Baseline: bv, Diff: sv - bv}
		if bv != 0 {
			r.Ratio = sv / bv
		}
		rep.Rows = append(rep.Rows, r)
	}
	lat := func(key, metric string, sd, bd time.Duration) { add(key, metric, "ms", ms(sd), ms(bd)) }
	lat("warm_invoke_p50", fmt.Sprintf("warm Invoke p50 (echo, %d calls)", cfg.n), percentile(s.warm, .5), percentile(b.warm, .5))
	lat("warm_invoke_p99", "warm Invoke p99", percentile(s.warm, .99), percentile(b.warm, .99))
	lat("warm_invoke_mean", "warm Invoke mean", mean(s.warm), mean(b.warm))
	lat("stream_ttfb_p50", fmt.Sprintf("stream TTFB p50 (1 chunk, 200 ms pause; %d calls)", cfg.ttfb), percentile(s.ttfb, .5), percentile(b.ttfb, .5))
	lat("stream_ttfb_p99", "stream TTFB p99", percentile(s.ttfb, .99), percentile(b.ttfb, .99))
	add("throughput_run1", fmt.Sprintf("stream throughput, one %d MiB stream", cfg.mb), "MiB/s", s.mibs[0], b.mibs[0])
	add("throughput_median", fmt.Sprintf("stream throughput, median of %d runs", cfg.runs), "MiB/s", medianFloat(s.mibs), medianFloat(b.mibs))
	lat("cold_start_p50", fmt.Sprintf("cold start provided.al2023 (Go), median of %d new functions", cfg.cold), percentile(s.cold, .5), percentile(b.cold, .5))
	lat("cold_start_min", "cold start provided.al2023 (Go), min", percentile(s.cold, 0), percentile(b.cold, 0))
	lat("cold_start_max", "cold start provided.al2023 (Go), max", percentile(s.cold, 1), percentile(b.cold, 1))
	for _, rc := range runtimes {
		sc, bc := s.runtimes[rc.key], b.runtimes[rc.key]
		rt := string(rc.fn.runtime)
		lat("cold_start_"+rc.key+"_p50", fmt.Sprintf("cold start %s, median of %d new functions", rt, cfg.cold), percentile(sc.cold, .5), percentile(bc.cold, .5))
		lat("cold_start_"+rc.key+"_min", fmt.Sprintf("cold start %s, min", rt), percentile(sc.cold, 0), percentile(bc.cold, 0))
		lat("cold_start_"+rc.key+"_max", fmt.Sprintf("cold start %s, max", rt), percentile(sc.cold, 1), percentile(bc.cold, 1))
		version := interp.nodeVersion
		if rc.key == "python" {
			version = interp.pythonVersion
		}
		rep.Runtimes = append(rep.Runtimes, runtimeNote{Key: rc.key, Runtime: rt, Handler: rc.fn.handler, Interpreter: version, RelayColdInvoke: ms(percentile(bc.invoke, .5))})
	}
	rep.ThroughputRuns = map[string][]float64{"sluice": s.mibs, "relay": b.mibs}
	rep.RelayColdInvoke = ms(percentile(b.coldInvoke, .5))
	rep.SluiceColdMax = ms(percentile(s.cold, 1))
	return rep
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
	if unit == "MiB/s" {
		return fmt.Sprintf("%.0f MiB/s", v)
	}
	return formatMs(v)
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
	fmt.Fprintf(&b, "| measurement | sluice | baseline (minimal relay) | overhead | ratio |\n")
	fmt.Fprintf(&b, "|---|--:|--:|--:|--:|\n")
	for _, r := range rep.Rows {
		diff := formatValue(r.Diff, r.Unit)
		if r.Diff >= 0 {
			diff = "+" + diff
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | ×%.2f |\n", r.Metric, formatValue(r.Sluice, r.Unit), formatValue(r.Baseline, r.Unit), diff, r.Ratio)
	}
	runs := func(f []float64) string {
		s := make([]string, len(f))
		for i, v := range f {
			s[i] = fmt.Sprintf("%.0f", v)
		}
		return strings.Join(s, ", ")
	}
	fmt.Fprintf(&b, "\n")
	fmt.Fprintf(&b, "- Same client for both sides (internal/lambdaclient, aws-sdk-go-v2), one call at a time, %d warm-up calls per side first. Latencies are client-measured; overhead = sluice − baseline, ratio = sluice ÷ baseline.\n", rep.Config.Warmup)
	sandboxed := "in bubblewrap sandboxes"
	if !rep.Sandboxed {
		sandboxed = "NOT sandboxed (plain child processes)"
	}
	fmt.Fprintf(&b, "- sluice runs with `--sandbox %s`: its execution environments ran %s; the relay never sandboxes.\n", rep.Config.Sandbox, sandboxed)
	fmt.Fprintf(&b, "- Baseline: cmd/sluicebench/relay.go, the two invoke endpoints joined by channels to a bare Runtime API, one bootstrap per function, same event-stream writer; no auth, validation, store, logs or limits. Both servers are child processes.\n")
	fmt.Fprintf(&b, "- Stream TTFB: call start until the client receives the first PayloadChunk of `stream` `{\"chunks\":2,\"pauseMs\":200}`.\n")
	fmt.Fprintf(&b, "- Throughput: %d MiB from `%s`, call start until InvokeComplete; runs (MiB/s): sluice %s; relay %s.\n", rep.Config.MB, rep.LargeStream, runs(rep.ThroughputRuns["sluice"]), runs(rep.ThroughputRuns["relay"]))
	fmt.Fprintf(&b, "- Cold start: sluice = first Invoke of a just-created function (max %s); baseline = fork/exec of the bootstrap until its first GET /next. The relay's own first Invoke of a fresh instance took %s (median).\n", formatMs(rep.SluiceColdMax), formatMs(rep.RelayColdInvoke))
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
