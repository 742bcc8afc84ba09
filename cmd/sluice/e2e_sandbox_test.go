package main

// Hostile functions against the bubblewrap sandbox: each test runs the
// test function's "probe" handler (internal/testfunction/probe.go) in
// sandboxed environments and checks that it cannot see or touch what is
// not its own, and that its limits hold. The probe reports an expected
// failure as {"ok":false,"error":"<errno text>"}, so the tests assert the
// kernel's exact words.
//
// The tests also clean up after an unsandboxed server (files a probe wrote
// to the host's /tmp, /etc, /usr or /, a background process that escaped):
// they must be able to fail without leaving a mess.

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/sluice-dev/sluice/internal/lambdaclient"
)

const (
	insideUID  = 993
	insideGID  = 990
	mebibyte   = 1 << 20
	noSuchFile = "no such file or directory"
)

// probeProc is one process as the probe sees it inside its sandbox.
type probeProc struct {
	Pid  int    `json:"pid"`
	Comm string `json:"comm"`
	UID  int    `json:"uid"`
}

// probeResult is the probe's answer; each op fills some fields.
type probeResult struct {
	OK       bool              `json:"ok"`
	Error    string            `json:"error"`
	Detail   string            `json:"detail"`
	Content  string            `json:"content"`
	Names    []string          `json:"names"`
	Bytes    int64             `json:"bytes"`
	Free     int64             `json:"free"`
	Type     string            `json:"type"`
	Started  int               `json:"started"`
	Marker   string            `json:"marker"`
	Pid      int               `json:"pid"`
	Lines    int               `json:"lines"`
	Procs    []probeProc       `json:"procs"`
	Environ  []string          `json:"environ"`
	Status   int               `json:"status"`
	Body     string            `json:"body"`
	Env      map[string]string `json:"env"`
	UID      int               `json:"uid"`
	GID      int               `json:"gid"`
	EUID     int               `json:"euid"`
	EGID     int               `json:"egid"`
	Hostname string            `json:"hostname"`
	Cwd      string            `json:"cwd"`
	CapEff   string            `json:"capEff"`

	raw string
}

// startSandboxed starts a server whose environments run in bubblewrap.
func startSandboxed(t *testing.T, mods ...func(*Config)) *testServer {
	t.Helper()
	return startServer(t, func(c *Config) {
		c.Sandbox = "bwrap"
		for _, m := range mods {
			m(c)
		}
	})
}

// createProbe creates a function running the probe handler, with a
// timeout long enough for its slowest ops.
func (ts *testServer) createProbe(t *testing.T, name string, mods ...func(*lambda.CreateFunctionInput)) *lambda.CreateFunctionOutput {
	t.Helper()
	all := append([]func(*lambda.CreateFunctionInput){func(in *lambda.CreateFunctionInput) { in.Timeout = aws.Int32(60) }}, mods...)
	return ts.createFunction(t, name, "probe", all...)
}

// probe invokes a probe function with ev and decodes its answer; a
// function error fails the test.
func (ts *testServer) probe(t *testing.T, name string, ev map[string]any) probeResult {
	t.Helper()
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	out := ts.invoke(t, name, string(b))
	if out.StatusCode != 200 || out.FunctionError != nil {
		t.Fatalf("probe %s %s: status %d FunctionError %q payload %.500s", name, b, out.StatusCode, aws.ToString(out.FunctionError), out.Payload)
	}
	var r probeResult
	if err := json.Unmarshal(out.Payload, &r); err != nil {
		t.Fatalf("probe %s %s: payload %.500s: %v", name, b, out.Payload, err)
	}
	r.raw = string(out.Payload)
	return r
}

// wantErrno fails the test unless r is a failure whose errno text is one
// of want.
func wantErrno(t *testing.T, what string, r probeResult, want ...string) {
	t.Helper()
	if r.OK {
		t.Errorf("%s succeeded (%.300s), want %q", what, r.raw, want)
		return
	}
	for _, w := range want {
		if r.Error == w {
			return
		}
	}
	t.Errorf("%s failed with %q (%s), want %q", what, r.Error, r.Detail, want)
}

// unique returns a random lower-case token for file names and markers.
func unique() string { return strings.ToLower(rand.Text()) }

// hostProcsMatching lists the host's processes (this test process aside)
// whose command line contains sub.
func hostProcsMatching(sub []byte) []proc {
	ents, _ := os.ReadDir("/proc")
	var out []proc
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		cmdline, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil || !bytes.Contains(cmdline, sub) {
			continue
		}
		if p, ok := readProc(pid); ok {
			out = append(out, p)
		}
	}
	return out
}

// descendsFrom reports whether pid has ancestor among its ancestors.
func descendsFrom(pid, ancestor int) bool {
	for i := 0; i < 64 && pid > 1; i++ {
		p, ok := readProc(pid)
		if !ok {
			return false
		}
		if p.ppid == ancestor {
			return true
		}
		pid = p.ppid
	}
	return false
}

// killMatching kills (at cleanup) every host process whose command line
// contains sub: what an unsandboxed probe left running.
func killMatching(t *testing.T, sub []byte) {
	t.Cleanup(func() {
		for _, p := range hostProcsMatching(sub) {
			_ = syscall.Kill(p.pid, syscall.SIGKILL)
		}
	})
}

// removeAtCleanup removes host paths a probe may have created when it was
// not sandboxed (they do not exist otherwise).
func removeAtCleanup(t *testing.T, paths ...string) {
	t.Cleanup(func() {
		for _, p := range paths {
			_ = os.Remove(p)
		}
	})
}

// TestSandboxReadDataDir: sluice's data dir (the store, every package) is
// not in a function's view of the file system.
func TestSandboxReadDataDir(t *testing.T) {
	t.Parallel()
	ts := startSandboxed(t)
	ts.createProbe(t, "p")
	dataDir, err := filepath.Abs(ts.cfg.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	wantErrno(t, "list "+dataDir, ts.probe(t, "p", map[string]any{"op": "list", "path": dataDir}), noSuchFile)
	wantErrno(t, "read sluice.db", ts.probe(t, "p", map[string]any{"op": "read", "path": filepath.Join(dataDir, "sluice.db")}), noSuchFile)
	wantErrno(t, "list code/unpacked", ts.probe(t, "p", map[string]any{"op": "list", "path": filepath.Join(dataDir, "code", "unpacked")}), noSuchFile)
}

// TestSandboxOtherFunctionTmpAndCode: a function sees neither another
// function's /tmp nor its code, and /var/task holds its own package only.
func TestSandboxOtherFunctionTmpAndCode(t *testing.T) {
	t.Parallel()
	ts := startSandboxed(t)
	a := ts.createProbe(t, "a", func(in *lambda.CreateFunctionInput) {
		in.Code = &types.FunctionCode{ZipFile: testFunctionZipWith(t, map[string][]byte{"a-only.txt": []byte("a's code\n")})}
	})
	ts.createProbe(t, "b", func(in *lambda.CreateFunctionInput) {
		in.Code = &types.FunctionCode{ZipFile: testFunctionZipWith(t, map[string][]byte{"b-only.txt": []byte("b's code\n")})}
	})
	secret := "/tmp/sluice-secret-" + unique()
	removeAtCleanup(t, secret)

	if r := ts.probe(t, "a", map[string]any{"op": "write", "path": secret, "data": "a's secret"}); !r.OK {
		t.Fatalf("a cannot write its own /tmp: %s", r.raw)
	}
	if r := ts.probe(t, "a", map[string]any{"op": "read", "path": secret}); !r.OK || r.Content != "a's secret" {
		t.Fatalf("a cannot read back its /tmp file: %s", r.raw)
	}
	wantErrno(t, "b reading a's /tmp file", ts.probe(t, "b", map[string]any{"op": "read", "path": secret}), noSuchFile)
	if r := ts.probe(t, "b", map[string]any{"op": "list", "path": "/tmp"}); !r.OK || len(r.Names) != 0 {
		t.Errorf("b's /tmp: %s, want its own, empty", r.raw)
	}

	sha, err := base64.StdEncoding.DecodeString(aws.ToString(a.CodeSha256))
	if err != nil || len(sha) != 32 {
		t.Fatalf("CodeSha256 %q: %v", aws.ToString(a.CodeSha256), err)
	}
	dataDir, _ := filepath.Abs(ts.cfg.DataDir)
	aCode := filepath.Join(dataDir, "code", "unpacked", hex.EncodeToString(sha))
	if _, err := os.Stat(filepath.Join(aCode, "a-only.txt")); err != nil {
		t.Fatalf("a's code is not where the test expects it: %v", err)
	}
	wantErrno(t, "b reading a's code by its host path", ts.probe(t, "b", map[string]any{"op": "read", "path": filepath.Join(aCode, "a-only.txt")}), noSuchFile)
	wantErrno(t, "b listing a's code dir", ts.probe(t, "b", map[string]any{"op": "list", "path": aCode}), noSuchFile)

	r := ts.probe(t, "b", map[string]any{"op": "list", "path": "/var/task"})
	if !r.OK || strings.Join(r.Names, ",") != "b-only.txt,bootstrap" {
		t.Errorf("b's /var/task: %s, want b-only.txt and bootstrap", r.raw)
	}
}

// TestSandboxHostProcesses: a function sees its own processes only, and
// nothing of sluice's environment. Not parallel: it sets an environment
// variable of the test process (t.Setenv).
func TestSandboxHostProcesses(t *testing.T) {
	marker := "host-marker-" + unique()
	t.Setenv("SLUICE_HOST_MARKER", marker)
	// os.Setenv does not change this process's /proc/<pid>/environ, so a
	// host process that has the marker in its environment from the start
	// stands in for sluice's: none of the host's environments is readable.
	host := exec.Command("/usr/bin/sleep", "300")
	host.Env = os.Environ()
	if err := host.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { host.Process.Kill(); host.Wait() })
	ts := startSandboxed(t)
	ts.createProbe(t, "p")

	r := ts.probe(t, "p", map[string]any{"op": "procs"})
	if !r.OK {
		t.Fatalf("procs: %s", r.raw)
	}
	if len(r.Procs) == 0 || len(r.Procs) > 4 {
		t.Errorf("the function sees %d processes, want 1 to 4: %.600s", len(r.Procs), r.raw)
	}
	for _, p := range r.Procs {
		if p.UID != insideUID {
			t.Errorf("the function sees process %d (%s) of uid %d, want only its own (uid %d)", p.Pid, p.Comm, p.UID, insideUID)
			break
		}
	}
	pids := map[int]bool{1: true}
	for _, p := range r.Procs {
		pids[p.Pid] = true
	}
	unreadable := map[string]int{}
	for pid := range pids {
		e := ts.probe(t, "p", map[string]any{"op": "environ", "pid": pid})
		if !e.OK {
			unreadable[e.Error]++
			continue
		}
		for _, kv := range e.Environ {
			if strings.Contains(kv, marker) || strings.HasPrefix(kv, "SLUICE_HOST_MARKER=") {
				t.Errorf("/proc/%d/environ inside the sandbox holds sluice's environment: %q", pid, kv)
				break
			}
		}
	}
	if len(unreadable) > 0 {
		t.Logf("unreadable /proc/<pid>/environ inside: %v", unreadable)
	}
	if v, found := ts.probe(t, "p", map[string]any{"op": "env"}).Env["SLUICE_HOST_MARKER"]; found {
		t.Errorf("the function inherited SLUICE_HOST_MARKER=%s", v)
	}
}

// TestSandboxWhoAmI: uid 993, gid 990, no capabilities, in /var/task.
func TestSandboxWhoAmI(t *testing.T) {
	t.Parallel()
	ts := startSandboxed(t)
	ts.createProbe(t, "p")
	r := ts.probe(t, "p", map[string]any{"op": "whoami"})
	if !r.OK || r.UID != insideUID || r.EUID != insideUID || r.GID != insideGID || r.EGID != insideGID ||
		r.CapEff != "0000000000000000" || r.Cwd != "/var/task" {
		t.Errorf("whoami: %s; want uid/euid %d, gid/egid %d, CapEff 0000000000000000, cwd /var/task", r.raw, insideUID, insideGID)
	}
	t.Logf("hostname inside: %q", r.Hostname)
	if root := ts.probe(t, "p", map[string]any{"op": "env"}).Env["LAMBDA_TASK_ROOT"]; root != "/var/task" {
		t.Errorf("LAMBDA_TASK_ROOT=%q, want /var/task", root)
	}
}

// TestSandboxWriteOutsideTmp: everything but /tmp is read-only.
func TestSandboxWriteOutsideTmp(t *testing.T) {
	t.Parallel()
	ts := startSandboxed(t)
	ts.createProbe(t, "p")
	name := "sluice-probe-" + unique()
	for _, dir := range []string{"/var/task", "/opt", "/etc", "/usr", "/usr/bin", "/"} {
		path := filepath.Join(dir, name)
		removeAtCleanup(t, path)
		wantErrno(t, "writing "+path, ts.probe(t, "p", map[string]any{"op": "write", "path": path, "data": "x"}),
			"read-only file system", "permission denied")
	}
	tmp := filepath.Join("/tmp", name)
	removeAtCleanup(t, tmp)
	if r := ts.probe(t, "p", map[string]any{"op": "write", "path": tmp, "data": "x"}); !r.OK {
		t.Errorf("writing %s: %s", tmp, r.raw)
	}
}

// TestSandboxFillTmp: /tmp is a file system of EphemeralStorage MB. Not
// parallel: it writes half a gigabyte.
func TestSandboxFillTmp(t *testing.T) {
	ts := startSandboxed(t)
	ts.createProbe(t, "small", func(in *lambda.CreateFunctionInput) {
		in.MemorySize = aws.Int32(1024)
		in.EphemeralStorage = &types.EphemeralStorage{Size: aws.Int32(512)}
	})
	ts.createProbe(t, "large", func(in *lambda.CreateFunctionInput) {
		in.MemorySize = aws.Int32(1024)
		in.EphemeralStorage = &types.EphemeralStorage{Size: aws.Int32(1024)}
	})

	// statfs first: filling an unsandboxed /tmp would fill the host's.
	r := ts.probe(t, "small", map[string]any{"op": "statfs", "path": "/tmp"})
	if !r.OK || r.Bytes < 500*mebibyte || r.Bytes > 513*mebibyte {
		t.Fatalf("statfs /tmp with EphemeralStorage 512: %s (%.1f MiB), want about 512 MiB", r.raw, float64(r.Bytes)/mebibyte)
	}
	r = ts.probe(t, "small", map[string]any{"op": "fill", "path": "/tmp/fill", "mb": 600})
	wantErrno(t, "filling /tmp with 600 MB", r, "no space left on device")
	if r.Bytes < 500*mebibyte || r.Bytes > 513*mebibyte {
		t.Errorf("filled /tmp with %d bytes (%.1f MiB) before the error, want about 512 MiB", r.Bytes, float64(r.Bytes)/mebibyte)
	}
	// The file is removed by the probe: /tmp is usable again.
	if r := ts.probe(t, "small", map[string]any{"op": "write", "path": "/tmp/after", "data": "x"}); !r.OK {
		t.Errorf("writing /tmp after the fill: %s", r.raw)
	}

	r = ts.probe(t, "large", map[string]any{"op": "statfs", "path": "/tmp"})
	if !r.OK || r.Bytes < 1012*mebibyte || r.Bytes > 1025*mebibyte {
		t.Errorf("statfs /tmp with EphemeralStorage 1024: %s (%.1f MiB), want about 1024 MiB", r.raw, float64(r.Bytes)/mebibyte)
	}
}

// TestSandboxOutOfMemory: a function that allocates beyond MemorySize is
// killed and reported as Runtime.OutOfMemory; its next invocation gets a
// fresh environment, and other functions are not disturbed. Not parallel:
// unsandboxed, it really allocates.
func TestSandboxOutOfMemory(t *testing.T) {
	ts := startSandboxed(t)
	ts.createProbe(t, "hog", func(in *lambda.CreateFunctionInput) { in.MemorySize = aws.Int32(128) })
	ts.createProbe(t, "other")
	ts.probe(t, "other", map[string]any{"op": "sleep", "ms": 0}) // warm

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var calls int
	var otherErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			out, err := ts.Client.Invoke(c, &lambda.InvokeInput{FunctionName: aws.String("other"), Payload: []byte(`{"op":"sleep","ms":20}`)})
			cancel()
			if err == nil && (out.StatusCode != 200 || out.FunctionError != nil) {
				err = errors.New("function error: " + string(out.Payload))
			}
			if err != nil {
				otherErr = err
				return
			}
			calls++
		}
	}()

	out := ts.invoke(t, "hog", `{"op":"alloc","mb":384}`)
	close(stop)
	wg.Wait()
	doc := functionError(t, out)
	if doc.ErrorType != "Runtime.OutOfMemory" {
		t.Errorf("error %+v, want errorType Runtime.OutOfMemory", doc)
	}
	t.Logf("OOM error: %+v", doc)
	if otherErr != nil {
		t.Errorf("another function failed while the hog ran: %v", otherErr)
	} else if calls == 0 {
		t.Errorf("another function was not invoked while the hog ran")
	}
	if r := ts.probe(t, "hog", map[string]any{"op": "sleep", "ms": 0}); !r.OK {
		t.Errorf("the hog after its OOM: %s", r.raw)
	}
	ts.probe(t, "other", map[string]any{"op": "sleep", "ms": 0})
}

// TestSandboxForkBomb: an environment runs at most 1024 tasks; a fork
// bomb hits the limit, leaves the server serving and no process behind.
// Not parallel: unsandboxed, it really starts 5000 processes.
func TestSandboxForkBomb(t *testing.T) {
	ts := startSandboxed(t)
	ts.createProbe(t, "bomb", func(in *lambda.CreateFunctionInput) { in.MemorySize = aws.Int32(512) })
	ts.createProbe(t, "other")

	r := ts.probe(t, "bomb", map[string]any{"op": "forkbomb", "max": 5000})
	t.Logf("forkbomb: started %d, error %q", r.Started, r.Error)
	if r.Started >= 1100 {
		t.Errorf("the fork bomb started %d processes, want fewer than 1100", r.Started)
	}
	wantErrno(t, "the fork bomb", r, "resource temporarily unavailable")
	ts.probe(t, "other", map[string]any{"op": "sleep", "ms": 0})

	// No sleep left on the host: neither one of this bomb (its argument is
	// unique) nor any below this test process.
	if r.Marker == "" {
		t.Fatalf("forkbomb answer without a marker: %s", r.raw)
	}
	needle := []byte("\x00" + r.Marker + "\x00")
	var left []proc
	if !eventually(10*time.Second, func() bool {
		left = left[:0]
		ents, _ := os.ReadDir("/proc")
		for _, e := range ents {
			pid, err := strconv.Atoi(e.Name())
			if err != nil {
				continue
			}
			p, ok := readProc(pid)
			if !ok || p.comm != "sleep" {
				continue
			}
			cmdline, _ := os.ReadFile("/proc/" + e.Name() + "/cmdline")
			if bytes.Contains(cmdline, needle) || descendsFrom(pid, os.Getpid()) {
				left = append(left, p)
			}
		}
		return len(left) == 0
	}) {
		t.Errorf("%d sleep processes of the fork bomb left on the host, e.g. %+v", len(left), left[0])
	}
}

// TestSandboxBackgroundFrozen: a process a function leaves running does
// not run between invocations (the environment is frozen), and dies with
// its environment.
func TestSandboxBackgroundFrozen(t *testing.T) {
	t.Parallel()
	ts := startSandboxed(t)
	ts.createProbe(t, "bg")
	path := "/tmp/sluice-bg-" + unique() + ".txt"
	killMatching(t, []byte(path))
	removeAtCleanup(t, path)

	r := ts.probe(t, "bg", map[string]any{"op": "background", "path": path, "everyMs": 50})
	if !r.OK {
		t.Fatalf("background: %s", r.raw)
	}
	host := hostProcsMatching([]byte(path))
	if len(host) == 0 {
		t.Fatalf("the background shell (pid %d inside) is not visible on the host", r.Pid)
	}
	t.Logf("background shell: pid %d inside, %+v on the host", r.Pid, host)

	count := func() int {
		t.Helper()
		r := ts.probe(t, "bg", map[string]any{"op": "count", "path": path})
		if !r.OK {
			t.Fatalf("count: %s", r.raw)
		}
		return r.Lines
	}
	time.Sleep(time.Second)
	c1 := count()
	time.Sleep(time.Second)
	c2 := count()
	if c2-c1 >= 5 {
		t.Errorf("the background process wrote %d lines in the second between two invocations, want it frozen (fewer than 5)", c2-c1)
	}
	// It does run while the environment is thawed.
	ts.probe(t, "bg", map[string]any{"op": "sleep", "ms": 500})
	if c3 := count(); c3-c2 < 3 {
		t.Errorf("the background process wrote %d lines during a 500 ms invocation, want it running (at least 3)", c3-c2)
	}

	if _, err := ts.Client.DeleteFunction(ctx(t), &lambda.DeleteFunctionInput{FunctionName: aws.String("bg")}); err != nil {
		t.Fatal(err)
	}
	waitGone(t, host, 10*time.Second)
}

// TestSandboxOtherRuntimeAPI: a function cannot talk to another
// environment's Runtime API on the host's loopback (--sandbox-network
// host, where the listener checks the peer's uid). With a network
// namespace of its own, each environment's Runtime API is at 127.0.0.1:9001
// of that namespace: the same address in another one is that one's own.
func TestSandboxOtherRuntimeAPI(t *testing.T) {
	t.Parallel()
	ts := startSandboxed(t, func(c *Config) { c.SandboxNetwork = "host" })
	ts.createProbe(t, "a")
	ts.createProbe(t, "b")
	api := ts.probe(t, "a", map[string]any{"op": "env"}).Env["AWS_LAMBDA_RUNTIME_API"]
	if api == "" {
		t.Fatalf("a has no AWS_LAMBDA_RUNTIME_API")
	}
	r := ts.probe(t, "b", map[string]any{"op": "http", "url": "http://" + api + "/2018-06-01/runtime/invocation/next"})
	refused := false
	switch {
	case r.OK:
		refused = r.Status != 200
	default:
		for _, s := range []string{"EOF", "connection reset by peer", "connection refused", "broken pipe", "server closed"} {
			if strings.Contains(r.Detail, s) {
				refused = true
			}
		}
	}
	if !refused {
		// A timeout means a's listener accepted b and is serving its request.
		t.Errorf("b's GET /next on a's Runtime API (%s): %s; want the connection refused, reset or closed, or a non-200", api, r.raw)
	}
	for i := 0; i < 2; i++ {
		if w := ts.probe(t, "a", map[string]any{"op": "whoami"}); !w.OK {
			t.Errorf("a after b's attempt: %s", w.raw)
		}
	}
}

// TestSandboxNetworkNone: with SandboxNetwork "none" a function reaches
// nothing outside its environment; with "host" it does.
func TestSandboxNetworkNone(t *testing.T) {
	t.Parallel()
	host := startSandboxed(t, func(c *Config) { c.SandboxNetwork = "host" })
	none := startSandboxed(t, func(c *Config) { c.SandboxNetwork = "none" })
	host.createProbe(t, "net")
	none.createProbe(t, "net")
	target := host.URL + "/"

	r := none.probe(t, "net", map[string]any{"op": "http", "url": target})
	wantErrno(t, "GET "+target+" with SandboxNetwork none", r, "connection refused", "network is unreachable")
	r = host.probe(t, "net", map[string]any{"op": "http", "url": target})
	if !r.OK || r.Status == 0 {
		t.Errorf("GET %s with SandboxNetwork host: %s, want a response", target, r.raw)
	}
}

// TestSandboxEFS: FileSystemConfigs mount EFSDir/fsap-x read-write; a
// missing access point or one that is not a directory fail the invocation
// as Lambda does.
func TestSandboxEFS(t *testing.T) {
	t.Parallel()
	efs := t.TempDir()
	// The environment's uid must reach the access point and write to it.
	for _, d := range []string{filepath.Dir(efs), efs} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	const (
		good    = "fsap-0123456789abcdef0"
		missing = "fsap-0aaaaaaaaaaaaaaaa"
		notDir  = "fsap-0bbbbbbbbbbbbbbbb"
	)
	ap := filepath.Join(efs, good)
	if err := os.Mkdir(ap, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(ap, 0o777); err != nil { // past the umask
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ap, "hello.txt"), []byte("hello from efs\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(efs, notDir), []byte("not a directory"), 0o644); err != nil {
		t.Fatal(err)
	}
	ts := startSandboxed(t, func(c *Config) { c.EFSDir = efs })
	mount := func(id string) func(*lambda.CreateFunctionInput) {
		return func(in *lambda.CreateFunctionInput) {
			in.FileSystemConfigs = []types.FileSystemConfig{{
				Arn:            aws.String("arn:aws:elasticfilesystem:us-east-1:000000000000:access-point/" + id),
				LocalMountPath: aws.String("/mnt/data"),
			}}
		}
	}
	ts.createProbe(t, "efs", mount(good))
	ts.createProbe(t, "missing", mount(missing))
	ts.createProbe(t, "notdir", mount(notDir))

	if r := ts.probe(t, "efs", map[string]any{"op": "read", "path": "/mnt/data/hello.txt"}); !r.OK || r.Content != "hello from efs\n" {
		t.Errorf("reading /mnt/data/hello.txt: %s", r.raw)
	}
	if r := ts.probe(t, "efs", map[string]any{"op": "write", "path": "/mnt/data/out.txt", "data": "from the function"}); !r.OK {
		t.Errorf("writing /mnt/data/out.txt: %s", r.raw)
	} else if b, err := os.ReadFile(filepath.Join(ap, "out.txt")); err != nil || string(b) != "from the function" {
		t.Errorf("out.txt on the host: %q, %v", b, err)
	}

	for _, c := range []struct {
		fn     string
		status int
		check  func(error) bool
		want   string
	}{
		{"missing", 408, func(err error) bool { var e *types.EFSMountConnectivityException; return errors.As(err, &e) }, "EFSMountConnectivityException"},
		{"notdir", 403, func(err error) bool { var e *types.EFSMountFailureException; return errors.As(err, &e) }, "EFSMountFailureException"},
	} {
		_, err := ts.Client.Invoke(ctx(t), &lambda.InvokeInput{FunctionName: aws.String(c.fn), Payload: []byte(`{"op":"list","path":"/mnt/data"}`)})
		if err == nil || !c.check(err) || statusOf(err) != c.status {
			t.Errorf("invoking %s: %v (status %d), want %d %s", c.fn, err, statusOf(err), c.status, c.want)
		}
	}
}

// TestSandboxUnsandboxedSaysSo: Sandbox "none" runs functions, and says
// loudly that they are not isolated.
func TestSandboxUnsandboxedSaysSo(t *testing.T) {
	t.Parallel()
	var logs syncBuffer
	cfg := DefaultConfig()
	cfg.Listen = "127.0.0.1:0"
	cfg.DataDir = t.TempDir()
	cfg.ShutdownGrace = 3 * time.Second
	cfg.Sandbox = "none"
	ts := startServerLogging(t, cfg, slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	ts.createProbe(t, "p")
	if r := ts.probe(t, "p", map[string]any{"op": "whoami"}); !r.OK {
		t.Fatalf("whoami: %s", r.raw)
	}
	warning := regexp.MustCompile(`(?i)level=(WARN|ERROR).*not isolated`)
	if !warning.MatchString(logs.String()) {
		t.Errorf("no warning (level WARN or ERROR) mentioning \"not isolated\" in the server's log:\n%s", logs.String())
	}
}

// startServerLogging is startServerWith with the server's log going to
// logger instead of t.Log.
func startServerLogging(t *testing.T, cfg Config, logger *slog.Logger) *testServer {
	t.Helper()
	srv, err := Open(context.Background(), cfg, logger, func(string) io.Writer { return io.Discard })
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	c, cancel := context.WithCancel(context.Background())
	ts := &testServer{Server: srv, cfg: cfg, URL: "http://" + srv.Addr(), logs: &syncBuffer{}, cancel: cancel, done: make(chan error, 1)}
	go func() { ts.done <- srv.Serve(c) }()
	ts.Client = lambdaclient.New(ts.URL, cfg.AccessKeyID, cfg.SecretAccessKey)
	t.Cleanup(func() { ts.stop(t) })
	return ts
}
