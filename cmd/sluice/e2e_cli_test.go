package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
)

// The `sluice` command's client side as a user runs it: the real binary,
// against a server on a loopback port.

// cliResult is what one run of the binary did.
type cliResult struct {
	stdout, stderr string
	code           int
}

// runCLI runs bin with args, env added to a clean environment (no AWS_*
// variables of the machine), and stdin.
func runCLI(t *testing.T, bin string, env []string, stdin string, args ...string) cliResult {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(cleanEnv(), env...)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running %s %q: %v", bin, args, err)
	}
	return cliResult{stdout.String(), stderr.String(), code}
}

// cleanEnv is the test's environment without AWS_* variables.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			env = append(env, kv)
		}
	}
	return env
}

// subcommandsOf lists the subcommands the usage text names ("  sluice X").
func subcommandsOf(usage string) []string {
	var cmds []string
	seen := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^  sluice ([a-z]+)`).FindAllStringSubmatch(usage, -1) {
		if !seen[m[1]] {
			seen[m[1]] = true
			cmds = append(cmds, m[1])
		}
	}
	return cmds
}

// TestE2ECLIHelp: every subcommand prints its help to stdout and exits 0
// for `CMD --help`, `CMD -h` and `help CMD`, with GNU-style --flags; an
// unknown command or flag is a usage error (exit 2).
func TestE2ECLIHelp(t *testing.T) {
	t.Parallel()
	bin := buildSluice(t)
	cmds := subcommandsOf(usage)
	for _, want := range []string{"serve", "runtime", "store", "invoke", "ls", "version"} {
		if !strings.Contains(" "+strings.Join(cmds, " ")+" ", " "+want+" ") {
			t.Fatalf("the usage text does not name %q: %q", want, cmds)
		}
	}
	// Flags each help must show (any subcommand added later is checked
	// for the conventions, its flags by its own tests).
	flags := map[string][]string{
		"serve":   {"--listen", "--data-dir", "--region", "--sandbox", "--log-level"},
		"runtime": {"--data-dir", "--node", "--force"},
		"store":   {"--data-dir"},
		"invoke":  {"--payload", "--qualifier", "--buffered", "--log", "--endpoint", "--region"},
		"ls":      {"--json", "--endpoint", "--region"},
	}
	// serve's help shows every flag of the README's table of them.
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, table, _ := strings.Cut(string(readme), "## `sluice serve` flags")
	table, _, _ = strings.Cut(table, "\n## ")
	for _, m := range regexp.MustCompile("(?m)^\\| `(--[a-z-]+)`(?:, `(--[a-z-]+)`)?").FindAllStringSubmatch(table, -1) {
		for _, f := range m[1:] {
			if f != "" {
				flags["serve"] = append(flags["serve"], f)
			}
		}
	}
	if len(flags["serve"]) < 20 {
		t.Fatalf("found only %q in the README's table of serve's flags", flags["serve"])
	}
	singleDash := regexp.MustCompile(`(?m)^\s+-[a-z]`)
	for _, cmd := range cmds {
		for _, args := range [][]string{{cmd, "--help"}, {cmd, "-h"}, {"help", cmd}} {
			t.Run(strings.Join(args, "_"), func(t *testing.T) {
				r := runCLI(t, bin, nil, "", args...)
				if r.code != 0 {
					t.Fatalf("sluice %s: exit %d, want 0\nstderr: %s", strings.Join(args, " "), r.code, r.stderr)
				}
				if r.stderr != "" {
					t.Errorf("sluice %s wrote to stderr: %s", strings.Join(args, " "), r.stderr)
				}
				if !strings.Contains(r.stdout, "Usage:") || !strings.Contains(r.stdout, "sluice "+cmd) {
					t.Errorf("sluice %s: no usage of %s on stdout:\n%s", strings.Join(args, " "), cmd, r.stdout)
				}
				for _, f := range flags[cmd] {
					if !regexp.MustCompile(`(?m)^  ` + regexp.QuoteMeta(f) + `\b`).MatchString(r.stdout) {
						t.Errorf("sluice %s does not list %s:\n%s", strings.Join(args, " "), f, r.stdout)
					}
				}
				if m := singleDash.FindString(r.stdout); m != "" {
					t.Errorf("sluice %s lists a single-dash flag %q:\n%s", strings.Join(args, " "), m, r.stdout)
				}
			})
		}
	}
	for _, tc := range []struct {
		args []string
		code int
	}{
		{nil, 2},
		{[]string{"frobnicate"}, 2},
		{[]string{"help", "frobnicate"}, 2},
		{[]string{"serve", "--no-such-flag"}, 2},
		{[]string{"invoke", "--no-such-flag", "f"}, 2},
		{[]string{"invoke"}, 2},
		{[]string{"ls", "extra"}, 2},
		{[]string{"help"}, 0},
		{[]string{"--help"}, 0},
	} {
		r := runCLI(t, bin, nil, "", tc.args...)
		if r.code != tc.code {
			t.Errorf("sluice %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(tc.args, " "), r.code, tc.code, r.stdout, r.stderr)
		}
	}
}

// TestE2ECLIInvokeStreams: `sluice invoke` writes the first chunk to its
// stdout before the function has written its last one.
func TestE2ECLIInvokeStreams(t *testing.T) {
	t.Parallel()
	bin := buildSluice(t)
	ts := startServer(t, nil)
	ts.createFunction(t, "streamer", "stream", func(in *lambda.CreateFunctionInput) { in.Timeout = aws.Int32(30) })

	const chunks, pause = 3, 1500 // ms between chunks: generous
	cmd := exec.Command(bin, "invoke", "streamer", "--payload", `{"chunks":3,"pauseMs":1500,"stamp":true}`)
	// The endpoint from the environment, as the README's quick start has it.
	cmd.Env = append(cleanEnv(), "AWS_ENDPOINT_URL="+ts.URL)
	var stderr syncBuffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	type line struct {
		text string
		read time.Time
	}
	var lines []line
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		lines = append(lines, line{sc.Text(), time.Now()})
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("sluice invoke: %v\nstderr: %s", err, stderr.String())
	}
	if len(lines) != chunks {
		t.Fatalf("got %d lines, want %d: %v", len(lines), chunks, lines)
	}
	written := make([]time.Time, chunks)
	for i, l := range lines {
		name, stamp, ok := strings.Cut(l.text, " ")
		ns, err := strconv.ParseInt(stamp, 10, 64)
		if !ok || err != nil || name != "chunk-"+strconv.Itoa(i) {
			t.Fatalf("line %d is %q, want chunk-%d and the time it was written", i, l.text, i)
		}
		written[i] = time.Unix(0, ns)
	}
	// The order of events, not speed: the function writes its last chunk
	// 3 s after the first; sluice invoke must have printed the first one
	// before that.
	if !lines[0].read.Before(written[chunks-1]) {
		t.Errorf("the first chunk was read from sluice invoke's stdout at %s, after the function wrote its last chunk at %s: buffered",
			lines[0].read.Format(time.RFC3339Nano), written[chunks-1].Format(time.RFC3339Nano))
	}
	if !lines[1].read.Before(written[chunks-1]) {
		t.Errorf("the second chunk was read at %s, after the last was written at %s", lines[1].read.Format(time.RFC3339Nano), written[chunks-1].Format(time.RFC3339Nano))
	}
	if stderr.String() != "" {
		t.Errorf("stderr of a successful invoke: %s", stderr.String())
	}
}

// TestE2ECLIInvoke: payloads, --buffered, --log, the function's errors and
// the API's, with their exit codes.
func TestE2ECLIInvoke(t *testing.T) {
	t.Parallel()
	bin := buildSluice(t)
	ts := startServer(t, nil)
	ts.createFunction(t, "echo", "echo")
	ts.createFunction(t, "fail", "fail")
	ts.createFunction(t, "streamfail", "streamfail")
	ep := []string{"AWS_ENDPOINT_URL=" + ts.URL}

	payloadFile := filepath.Join(t.TempDir(), "event.json")
	if err := os.WriteFile(payloadFile, []byte(`{"from":"file"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		args   []string
		stdin  string
		code   int
		stdout string   // exact
		stderr []string // contained
	}{
		{"stream payload", []string{"invoke", "echo", "--payload", `{"a":1}`}, "", 0, `{"a":1}`, nil},
		{"default payload", []string{"invoke", "echo"}, "", 0, `{}`, nil},
		{"file payload", []string{"invoke", "--payload", "@" + payloadFile, "echo"}, "", 0, `{"from":"file"}`, nil},
		{"stdin payload", []string{"invoke", "echo", "--payload", "-"}, `{"from":"stdin"}`, 0, `{"from":"stdin"}`, nil},
		{"buffered", []string{"invoke", "echo", "--buffered", "--payload", `{"b":2}`}, "", 0, `{"b":2}`, nil},
		{"qualifier", []string{"invoke", "echo", "--qualifier", "$LATEST", "--payload", `{"q":1}`}, "", 0, `{"q":1}`, nil},
		{"log", []string{"invoke", "echo", "--log"}, "", 0, `{}`, []string{"START RequestId:", "REPORT RequestId:"}},
		{"buffered log", []string{"invoke", "echo", "--log", "--buffered"}, "", 0, `{}`, []string{"START RequestId:", "REPORT RequestId:"}},
		{"function error mid-stream", []string{"invoke", "streamfail"}, "", 1, "partial-1\npartial-2\n", []string{"function error: errorString", "disk on fire"}},
		{"function error", []string{"invoke", "fail"}, "", 1, "", []string{"function error", "boom"}},
		{"buffered function error", []string{"invoke", "fail", "--buffered"}, "", 1, "", []string{"function error (Unhandled)", "boom"}},
		{"no such function", []string{"invoke", "nope"}, "", 1, "", []string{"ResourceNotFoundException", "nope"}},
		{"buffered no such function", []string{"invoke", "nope", "--buffered"}, "", 1, "", []string{"ResourceNotFoundException"}},
		{"no such version", []string{"invoke", "echo", "--qualifier", "42"}, "", 1, "", []string{"ResourceNotFoundException"}},
		{"not JSON", []string{"invoke", "echo", "--payload", "{"}, "", 1, "", []string{"InvalidRequestContentException"}},
		{"missing file", []string{"invoke", "echo", "--payload", "@" + payloadFile + ".gone"}, "", 2, "", []string{"--payload"}},
		{"two functions", []string{"invoke", "echo", "fail"}, "", 2, "", []string{"one function at a time"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, bin, ep, tc.stdin, tc.args...)
			if r.code != tc.code {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", r.code, tc.code, r.stdout, r.stderr)
			}
			if r.stdout != tc.stdout {
				t.Errorf("stdout %q, want %q", r.stdout, tc.stdout)
			}
			for _, s := range tc.stderr {
				if !strings.Contains(r.stderr, s) {
					t.Errorf("stderr does not say %q:\n%s", s, r.stderr)
				}
			}
			if tc.stderr == nil && r.stderr != "" {
				t.Errorf("stderr: %s", r.stderr)
			}
		})
	}

	// --endpoint over the environment, and a server that is not there.
	r := runCLI(t, bin, []string{"AWS_ENDPOINT_URL=http://127.0.0.1:1"}, "", "invoke", "echo", "--endpoint", ts.URL)
	if r.code != 0 || r.stdout != "{}" {
		t.Errorf("--endpoint: exit %d, stdout %q, stderr %s", r.code, r.stdout, r.stderr)
	}
	r = runCLI(t, bin, []string{"AWS_ENDPOINT_URL=http://127.0.0.1:1", "AWS_MAX_ATTEMPTS=1"}, "", "invoke", "echo")
	if r.code != 1 || !strings.Contains(r.stderr, "127.0.0.1:1") {
		t.Errorf("unreachable endpoint: exit %d, want 1, stderr %s", r.code, r.stderr)
	}
	// A key sluice does not know: the API's error, exit 1.
	r = runCLI(t, bin, append(ep, "AWS_ACCESS_KEY_ID=AKIANOTAKEY000000000", "AWS_SECRET_ACCESS_KEY=x"), "", "invoke", "echo")
	if r.code != 1 || !strings.Contains(r.stderr, "UnrecognizedClientException") {
		t.Errorf("unknown key: exit %d, want 1 and UnrecognizedClientException, stderr %s", r.code, r.stderr)
	}
}

// TestE2ECLILs: `sluice ls` lists the functions, as a table and as JSON.
func TestE2ECLILs(t *testing.T) {
	t.Parallel()
	bin := buildSluice(t)
	ts := startServer(t, nil)
	ep := []string{"AWS_ENDPOINT_URL=" + ts.URL}

	r := runCLI(t, bin, ep, "", "ls", "--json")
	if r.code != 0 || strings.TrimSpace(r.stdout) != "[]" {
		t.Fatalf("ls --json of no functions: exit %d, stdout %q, stderr %s", r.code, r.stdout, r.stderr)
	}
	ts.createFunction(t, "alpha", "echo")
	ts.createFunction(t, "beta", "stream")

	r = runCLI(t, bin, ep, "", "ls")
	if r.code != 0 {
		t.Fatalf("ls: exit %d, stderr %s", r.code, r.stderr)
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "NAME") {
		t.Fatalf("ls: want a header and 2 functions:\n%s", r.stdout)
	}
	for i, name := range []string{"alpha", "beta"} {
		f := strings.Fields(lines[i+1])
		if len(f) < 6 || f[0] != name || f[1] != "provided.al2023" || f[2] != "Active" || f[len(f)-2] != "128" || f[len(f)-1] != "MB" {
			t.Errorf("ls line of %s: %q", name, lines[i+1])
		}
	}

	r = runCLI(t, bin, ep, "", "ls", "--json")
	var fns []lsFunction
	if err := json.Unmarshal([]byte(r.stdout), &fns); err != nil || r.code != 0 {
		t.Fatalf("ls --json: exit %d, %v\n%s", r.code, err, r.stdout)
	}
	if len(fns) != 2 || fns[0].FunctionName != "alpha" || fns[1].State != "Active" || fns[0].MemorySize != 128 || fns[0].LastModified == "" {
		t.Errorf("ls --json: %+v", fns)
	}
	// Another region is another namespace: nothing there.
	r = runCLI(t, bin, ep, "", "ls", "--region", "eu-west-1")
	if r.code != 0 || strings.Count(strings.TrimSpace(r.stdout), "\n") != 0 {
		t.Errorf("ls --region eu-west-1: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// TestE2ECLIVersion: `sluice version` and `sluice --version` print the
// module version and the VCS revision, or "(devel)"; -ldflags sets it.
func TestE2ECLIVersion(t *testing.T) {
	t.Parallel()
	bin := buildSluice(t)
	a := runCLI(t, bin, nil, "", "version")
	b := runCLI(t, bin, nil, "", "--version")
	if a.code != 0 || b.code != 0 || a.stdout != b.stdout {
		t.Fatalf("version: exit %d %q; --version: exit %d %q", a.code, a.stdout, b.code, b.stdout)
	}
	if !regexp.MustCompile(`^sluice (\S+ \(revision [0-9a-f]{7,}[^)]*\)|\(devel\)( \([^)]*\))?) go1\.\d+`).MatchString(a.stdout) {
		t.Errorf("version: %q, want a revision or (devel), and the Go version", a.stdout)
	}

	stamped := filepath.Join(t.TempDir(), "sluice")
	if out, err := exec.Command("go", "build", "-ldflags", "-X main.version=v1.2.3-test", "-o", stamped, "github.com/sluice-dev/sluice/cmd/sluice").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	if r := runCLI(t, stamped, nil, "", "version"); r.code != 0 || !strings.HasPrefix(r.stdout, "sluice v1.2.3-test ") {
		t.Errorf("version with -ldflags: exit %d, %q", r.code, r.stdout)
	}
}

// TestVersionString: the version line from the build information.
func TestVersionString(t *testing.T) {
	info := &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Path: "github.com/sluice-dev/sluice", Version: "v0.3.0"},
		Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "0123456789abcdef"}, {Key: "vcs.time", Value: "2026-12-03T10:00:00Z"}, {Key: "vcs.modified", Value: "true"}}}
	for _, tc := range []struct {
		ldflags string
		info    *debug.BuildInfo
		want    string
	}{
		{"", info, "sluice v0.3.0 (revision 0123456789abcdef, 2026-12-03T10:00:00Z, modified) go1.26.0"},
		{"v9", info, "sluice v9 (revision 0123456789abcdef, 2026-12-03T10:00:00Z, modified) go1.26.0"},
		{"", &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "(devel)"}}, "sluice (devel) go1.26.0"},
		{"", nil, "sluice (devel)"},
	} {
		if got := versionString(tc.ldflags, tc.info); got != tc.want {
			t.Errorf("versionString(%q, ...) = %q, want %q", tc.ldflags, got, tc.want)
		}
	}
}
