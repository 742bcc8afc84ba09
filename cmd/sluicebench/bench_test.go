package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/internal/runtimes/nodejs"
)

func TestMain(m *testing.M) {
	// The benchmark re-executes its own binary as the relay and the
	// ceiling's processes; under go test that binary is this test binary.
	if code, ok := childMain(); ok {
		os.Exit(code)
	}
	os.Exit(m.Run())
}

// TestBenchSmoke runs the whole benchmark with tiny sizes, the nodejs and
// python cold starts included, and checks that every row is there with
// positive figures. It asserts nothing about speed.
func TestBenchSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs sluice and the relay")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 9*time.Minute)
	defer cancel()
	var stdout bytes.Buffer
	// The runtimes directory every test package of sluice shares (see
	// internal/runtimes/nodejs's harness): one build of the client.
	shared := filepath.Join(os.TempDir(), "sluice-test-runtimes-"+nodejs.RICVersion)
	args := []string{"-n", "20", "-block", "7", "-mb", "8", "-cold", "2", "-ttfb", "3", "-warmup", "3", "-runs", "3", "-conc", "4", "-conc-calls", "5", "-conc-rounds", "3", "-open", "6", "-json", "-runtimes-dir", shared}
	if err := run(ctx, args, &stdout, testLog{t}); err != nil {
		t.Fatalf("run: %v\nstdout:\n%s", err, stdout.String())
	}
	out := strings.TrimSpace(stdout.String())
	t.Logf("output:\n%s", out)

	lines := strings.Split(out, "\n")
	var rep report
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &rep); err != nil {
		t.Fatalf("last line is not the JSON report: %v", err)
	}
	markdown := strings.Join(lines[:len(lines)-1], "\n")
	if !strings.Contains(markdown, "`go run ./cmd/sluicebench "+strings.Join(args, " ")+"`") {
		t.Errorf("the table does not show the command")
	}
	want := []string{
		"warm_invoke_p50", "warm_invoke_p99", "warm_invoke_mean", "server_cpu_per_invoke",
		"concurrent_invokes_per_s", "concurrent_cpu_per_invoke",
		"stream_ttfb_p50", "stream_ttfb_p99",
		"throughput_sdk", "throughput_raw", "throughput_raw_vs_ceiling", "server_cpu_per_mib",
		"cold_start_p50", "cold_start_min", "cold_start_max", "server_cpu_per_cold_start",
		"cold_start_nodejs_p50", "cold_start_nodejs_min", "cold_start_nodejs_max",
		"cold_start_python_p50", "cold_start_python_min", "cold_start_python_max",
		"open_streams_complete", "open_stream_rss",
	}
	// Rows with a goal: the goal column says whether it is met.
	goals := map[string]string{
		"warm_invoke_p50": "≤ 1.10", "warm_invoke_p99": "≤ 1.30", "server_cpu_per_invoke": "≤ 1.30",
		"concurrent_invokes_per_s": "≥ 0.95", "stream_ttfb_p50": "≤ 1.10",
		"throughput_raw": "≥ 1.20", "throughput_raw_vs_ceiling": "≥ 0.80",
		"cold_start_p50": "≤ 1.30", "cold_start_nodejs_p50": "≤ 1.30", "cold_start_python_p50": "≤ 1.30",
		"open_streams_complete": "all 6",
	}
	rows := map[string]row{}
	for _, r := range rep.Rows {
		rows[r.Key] = r
	}
	for _, key := range want {
		r, ok := rows[key]
		if !ok {
			t.Errorf("no row %s", key)
			continue
		}
		// Memory growth may be negative (a garbage collection).
		if !(r.Sluice > 0 && r.Baseline > 0 && r.Ratio > 0) && key != "open_stream_rss" {
			t.Errorf("row %s: sluice %v, baseline %v, ratio %v; want all positive", key, r.Sluice, r.Baseline, r.Ratio)
		}
		if !strings.Contains(markdown, "\n| "+r.Metric+" | ") {
			t.Errorf("row %s (%q) is not in the Markdown table", key, r.Metric)
		}
		if r.Goal != goals[key] || (r.Goal != "") != (r.Met != nil) {
			t.Errorf("row %s: goal %q (met %v), want %q", key, r.Goal, r.Met, goals[key])
		}
		if r.Goal != "" && !strings.Contains(markdown, " | "+r.goalCell()+" |\n") {
			t.Errorf("row %s: the table has no goal cell %q", key, r.goalCell())
		}
	}
	if len(rep.Rows) != len(want) {
		t.Errorf("%d rows, want %d", len(rep.Rows), len(want))
	}
	if r := rows["open_streams_complete"]; r.Sluice != 6 || r.Baseline != 6 {
		t.Errorf("open streams complete: sluice %v, relay %v; want 6 of 6", r.Sluice, r.Baseline)
	}
	for _, key := range []string{"throughput_sdk", "throughput_raw", "throughput_raw_vs_ceiling", "concurrent_invokes_per_s"} {
		if r := rows[key]; len(r.SluiceRuns) != 3 || len(r.BaselineRuns) != 3 {
			t.Errorf("%s: runs %v and %v, want 3 of each", key, r.SluiceRuns, r.BaselineRuns)
		}
	}
	for side, runs := range rep.ThroughputRuns {
		if len(runs) != 3 {
			t.Errorf("%s: %d throughput runs, want 3", side, len(runs))
		}
	}
	if os.Geteuid() == 0 && !rep.Sandboxed {
		if _, err := exec.LookPath("bwrap"); err == nil {
			t.Errorf("sluice did not sandbox, as root with bubblewrap installed")
		}
	}
	if !rep.Config.Runtimes || len(rep.Runtimes) != 2 {
		t.Errorf("runtimes %v, notes %+v; want both runtimes", rep.Config.Runtimes, rep.Runtimes)
	}
	for _, n := range rep.Runtimes {
		if n.Interpreter == "" || n.RelayColdInvoke <= 0 {
			t.Errorf("runtime note %+v: want the interpreter and the relay's first Invoke", n)
		}
		if !strings.Contains(markdown, n.Interpreter) {
			t.Errorf("the notes do not name %s's interpreter %q", n.Runtime, n.Interpreter)
		}
	}
	if rep.Machine.NumCPU <= 0 || rep.Machine.GoVersion == "" || rep.Machine.GOOS == "" {
		t.Errorf("machine info missing: %+v", rep.Machine)
	}
}

// testLog sends the benchmark's progress to t.Log.
type testLog struct{ t *testing.T }

func (w testLog) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// TestBurstSmoke runs the burst mode with a handful of streams and checks
// its figures: every stream complete byte-exact, a time to first byte, a
// peak RSS. It asserts nothing about speed.
func TestBurstSmoke(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var stdout bytes.Buffer
	args := []string{"-burst", "6", "-burst-gap", "5ms-20ms", "-burst-hold", "2s", "-json"}
	if err := run(ctx, args, &stdout, testLog{t}); err != nil {
		t.Fatalf("run: %v\nstdout:\n%s", err, stdout.String())
	}
	out := strings.TrimSpace(stdout.String())
	t.Logf("output:\n%s", out)
	lines := strings.Split(out, "\n")
	var rep struct {
		N, OK      int
		Failures   map[string]int
		PeakRSSKiB int64   `json:"peak_rss_kib"`
		TTFBp50    float64 `json:"ttfb_p50_ms"`
		TTFBp99    float64 `json:"ttfb_p99_ms"`
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &rep); err != nil {
		t.Fatalf("last line is not the JSON report: %v", err)
	}
	if rep.N != 6 || rep.OK != 6 || len(rep.Failures) != 0 {
		t.Errorf("%d of %d complete, failures %v; want 6 of 6", rep.OK, rep.N, rep.Failures)
	}
	if rep.PeakRSSKiB <= 0 || rep.TTFBp50 <= 0 || rep.TTFBp99 < rep.TTFBp50 {
		t.Errorf("peak RSS %d KiB, TTFB p50 %v p99 %v ms; want all positive, p99 >= p50", rep.PeakRSSKiB, rep.TTFBp50, rep.TTFBp99)
	}
	for _, want := range []string{"| streams completed byte-exact | 6 of 6 (100.0 %) |", "| time to first byte p99 |", "| sluice peak RSS during the burst |"} {
		if !strings.Contains(out, want) {
			t.Errorf("the table has no %q", want)
		}
	}
}
