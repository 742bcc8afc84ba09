package main

// Resource limits and clean-up of sandboxed environments, checked from the
// host: the cgroup files and the host uid of an environment's processes,
// what a timeout and an init failure leave behind, and what a crashed sluice
// leaves to the next one (the real binary, SIGKILLed).
//
// They need what the other TestSandbox* tests need (root, bwrap, a cgroup
// memory controller); they are not parallel because they count processes
// and cgroups on the host.

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
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

// cgroupLine is one line of /proc/<pid>/cgroup: a hierarchy, the
// controllers bound to it (none for v2) and the process's group in it.
type cgroupLine struct {
	v2          bool
	controllers []string
	path        string
}

// procCgroups reads /proc/<pid>/cgroup.
func procCgroups(t *testing.T, pid int) []cgroupLine {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cgroup")
	if err != nil {
		t.Fatalf("cgroups of pid %d: %v", pid, err)
	}
	var out []cgroupLine
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.SplitN(line, ":", 3)
		if len(f) != 3 {
			t.Fatalf("/proc/%d/cgroup: bad line %q", pid, line)
		}
		l := cgroupLine{v2: f[0] == "0" && f[1] == "", path: f[2]}
		if f[1] != "" {
			l.controllers = strings.Split(f[1], ",")
		}
		out = append(out, l)
	}
	return out
}

// cgroupMount is a cgroup file system mounted in this process's mount
// namespace.
type cgroupMount struct {
	v2          bool
	controllers []string // v1: the controllers of its super options
	root, point string   // the group it shows, and where
}

// cgroupMounts lists the cgroup mounts of /proc/self/mountinfo.
func cgroupMounts(t *testing.T) []cgroupMount {
	t.Helper()
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	var out []cgroupMount
	for _, line := range strings.Split(string(b), "\n") {
		left, right, found := strings.Cut(line, " - ")
		if !found {
			continue
		}
		lf, rf := strings.Fields(left), strings.Fields(right)
		if len(lf) < 5 || len(rf) < 3 || (rf[0] != "cgroup" && rf[0] != "cgroup2") {
			continue
		}
		m := cgroupMount{v2: rf[0] == "cgroup2", root: lf[3], point: lf[4]}
		if !m.v2 {
			m.controllers = strings.Split(rf[2], ",")
		}
		out = append(out, m)
	}
	return out
}

// groupDir is the directory, on the host, of the group of a process in
// the hierarchy of controller (v1), or in the v2 hierarchy when no v1
// hierarchy has it. It returns "" when neither knows the process.
func groupDir(t *testing.T, mounts []cgroupMount, lines []cgroupLine, controller string) (dir string, v2 bool) {
	t.Helper()
	var v2path string
	for _, l := range lines {
		if l.v2 {
			v2path = l.path
			continue
		}
		if !slices.Contains(l.controllers, controller) {
			continue
		}
		for _, m := range mounts {
			if !m.v2 && slices.Contains(m.controllers, controller) {
				if rel, ok := strings.CutPrefix(l.path, m.root); ok || m.root == "/" {
					if m.root == "/" {
						rel = l.path
					}
					return filepath.Join(m.point, rel), false
				}
			}
		}
		t.Fatalf("no mount of the %s hierarchy shows %s (mounts %+v)", controller, l.path, mounts)
	}
	if v2path == "" {
		return "", false
	}
	for _, m := range mounts {
		if m.v2 {
			if rel, ok := strings.CutPrefix(v2path, m.root); ok {
				if m.root == "/" {
					rel = v2path
				}
				return filepath.Join(m.point, rel), true
			}
		}
	}
	return "", false
}

// readTrimmed reads a one-value file.
func readTrimmed(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Errorf("%v", err)
		return ""
	}
	return strings.TrimSpace(string(b))
}

// hostUIDs returns the four uids (real, effective, saved, fs) of a host
// process.
func hostUIDs(t *testing.T, pid int) []int {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Fatalf("status of pid %d: %v", pid, err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "Uid:"); ok {
			var uids []int
			for _, f := range strings.Fields(rest) {
				n, err := strconv.Atoi(f)
				if err != nil {
					t.Fatalf("/proc/%d/status: Uid line %q", pid, line)
				}
				uids = append(uids, n)
			}
			return uids
		}
	}
	t.Fatalf("/proc/%d/status has no Uid line", pid)
	return nil
}

// hostLimit returns the soft and hard values of a line of
// /proc/<pid>/limits, e.g. "Max open files".
func hostLimit(t *testing.T, pid int, name string) (soft, hard string) {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/limits")
	if err != nil {
		t.Fatalf("limits of pid %d: %v", pid, err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, name); ok {
			f := strings.Fields(rest)
			if len(f) >= 2 {
				return f[0], f[1]
			}
		}
	}
	t.Fatalf("/proc/%d/limits has no %q line:\n%s", pid, name, b)
	return "", ""
}

// startBackground runs the probe's "background" op in fn's environment
// and returns the host process of the background shell and of its parent,
// the runtime (bootstrap). The shell's command line holds a path unique to
// this call; it is killed at cleanup should it outlive its environment, and
// the environment's group is thawed then if the test failed.
func startBackground(t *testing.T, invoke func(ev map[string]any) probeResult) (path string, shell, runtime proc) {
	t.Helper()
	path = "/tmp/sluice-bg-" + unique() + ".txt"
	killMatching(t, []byte(path))
	removeAtCleanup(t, path)
	if r := invoke(map[string]any{"op": "background", "path": path, "everyMs": 50}); !r.OK {
		t.Fatalf("background: %s", r.raw)
	}
	// The shell, not a child it forked that has not exec'd sleep yet (same
	// command line): the one whose parent is the runtime.
	var all []proc
	for _, p := range hostProcsMatching([]byte(path)) {
		all = append(all, p)
		if parent, ok := readProc(p.ppid); ok && parent.comm == "bootstrap" {
			// Should the test fail with the environment frozen, its
			// processes could not take their SIGKILL (nor the server stop):
			// thaw its group first (cleanups run last-in first-out).
			if fz, _ := groupDir(t, cgroupMounts(t), procCgroups(t, parent.pid), "freezer"); fz != "" {
				t.Cleanup(func() {
					if t.Failed() {
						_ = os.WriteFile(filepath.Join(fz, "freezer.state"), []byte("THAWED"), 0)
					}
				})
			}
			return path, p, parent
		}
	}
	t.Fatalf("no background shell (child of a bootstrap) on the host; processes with %s in their command line: %+v", path, all)
	return
}

// Lambda's per-environment limits, as isolate.go sets them.
const (
	wantPIDs   = 1024
	wantNoFile = 1024
)

// wantCPUShares is the v1 cpu.shares of an environment of memoryMB: the
// weight isolate.go gives it (100 per full vCPU of 1769 MB, within
// 1..10000) on cgroup.Limits' v1 scale (weight*1024/100, at least 2).
func wantCPUShares(memoryMB int) (weight, shares int) {
	weight = max(1, min(10000, 100*memoryMB/1769))
	return weight, max(2, weight*1024/100)
}

// TestSandboxLimitsApplied: an environment's processes run as a host uid
// of their own (at or above 1e9, one per environment) in a cgroup that has
// the memory limit of the function's MemorySize (swap included), a CPU
// share proportional to it, 1024 tasks at most; and with 1024 open files
// at most.
func TestSandboxLimitsApplied(t *testing.T) {
	ts := startSandboxed(t)
	sizes := map[string]int{"a": 512, "b": 1024}
	for _, name := range []string{"a", "b"} {
		ts.createProbe(t, name, func(in *lambda.CreateFunctionInput) { in.MemorySize = aws.Int32(int32(sizes[name])) })
	}
	mounts := cgroupMounts(t)
	// An environment's group: env-<id>, or slot-<uid> when it started in a
	// prepared slot (internal/sandbox/slots.go).
	envPath := regexp.MustCompile(`/sluice-[0-9a-f]{8}/(env|slot)-[^/]+$`)

	uids := map[string]int{}
	groups := map[string]string{}
	for _, name := range []string{"a", "b"} {
		mb := sizes[name]
		_, shell, runtime := startBackground(t, func(ev map[string]any) probeResult { return ts.probe(t, name, ev) })
		t.Logf("%s: background shell %d, runtime %d", name, shell.pid, runtime.pid)

		// Host uid: the same for the runtime and the shell, all four of
		// each, in the sandbox range.
		u := hostUIDs(t, runtime.pid)
		for _, p := range []proc{runtime, shell} {
			got := hostUIDs(t, p.pid)
			for _, uid := range got {
				if uid < 1_000_000_000 || uid != u[0] {
					t.Errorf("%s: host uids of pid %d (%s): %v, want all equal and >= 1000000000 (runtime's %v)", name, p.pid, p.comm, got, u)
					break
				}
			}
		}
		uids[name] = u[0]

		// The cgroups: the runtime and the shell share one group per
		// hierarchy, sluice-<instance>/env-<id>.
		lines := procCgroups(t, runtime.pid)
		if shellLines := procCgroups(t, shell.pid); fmt.Sprint(shellLines) != fmt.Sprint(lines) {
			t.Errorf("%s: the background shell's cgroups %+v differ from the runtime's %+v", name, shellLines, lines)
		}
		dirs := map[string]string{}
		v2 := map[string]bool{}
		for _, c := range []string{"memory", "cpu", "pids", "freezer"} {
			d, isV2 := groupDir(t, mounts, lines, c)
			if d == "" || !envPath.MatchString(d) {
				t.Errorf("%s: group of the runtime in the %s hierarchy: %q, want .../sluice-<instance>/{env,slot}-<id> (/proc/%d/cgroup: %+v)", name, c, d, runtime.pid, lines)
				continue
			}
			dirs[c], v2[c] = d, isV2
		}
		groups[name] = dirs["memory"]
		t.Logf("%s: groups %v", name, dirs)

		memBytes := strconv.Itoa(mb << 20)
		weight, shares := wantCPUShares(mb)
		if d := dirs["memory"]; d != "" && !v2["memory"] {
			if got := readTrimmed(t, filepath.Join(d, "memory.limit_in_bytes")); got != memBytes {
				t.Errorf("%s (MemorySize %d): memory.limit_in_bytes %s, want %s", name, mb, got, memBytes)
			}
			swap := filepath.Join(d, "memory.memsw.limit_in_bytes")
			if _, err := os.Stat(swap); err == nil {
				if got := readTrimmed(t, swap); got != memBytes {
					t.Errorf("%s (MemorySize %d): memory.memsw.limit_in_bytes %s, want %s (no swap)", name, mb, got, memBytes)
				}
			} else {
				t.Logf("no memory.memsw.limit_in_bytes: the kernel does not account swap")
			}
		} else if d != "" {
			if got := readTrimmed(t, filepath.Join(d, "memory.max")); got != memBytes {
				t.Errorf("%s (MemorySize %d): memory.max %s, want %s", name, mb, got, memBytes)
			}
			if swap := filepath.Join(d, "memory.swap.max"); fileExists(swap) {
				if got := readTrimmed(t, swap); got != "0" {
					t.Errorf("%s: memory.swap.max %s, want 0", name, got)
				}
			}
		}
		if d := dirs["cpu"]; d != "" && !v2["cpu"] {
			if got := readTrimmed(t, filepath.Join(d, "cpu.shares")); got != strconv.Itoa(shares) {
				t.Errorf("%s (MemorySize %d): cpu.shares %s, want %d (weight %d)", name, mb, got, shares, weight)
			}
		} else if d != "" {
			if got := readTrimmed(t, filepath.Join(d, "cpu.weight")); got != strconv.Itoa(weight) {
				t.Errorf("%s (MemorySize %d): cpu.weight %s, want %d", name, mb, got, weight)
			}
		}
		if d := dirs["pids"]; d != "" {
			if got := readTrimmed(t, filepath.Join(d, "pids.max")); got != strconv.Itoa(wantPIDs) {
				t.Errorf("%s: pids.max %s, want %d", name, got, wantPIDs)
			}
		}

		// Open files: the probe's own view (Go raises its soft limit to
		// the hard one), and the shell's on the host, which has the soft
		// limit the wrapper set.
		r := ts.probe(t, name, map[string]any{"op": "rlimit"})
		var nofile struct{ Soft, Hard uint64 }
		if err := json.Unmarshal([]byte(r.raw), &nofile); err != nil || !r.OK || nofile.Soft != wantNoFile || nofile.Hard != wantNoFile {
			t.Errorf("%s: RLIMIT_NOFILE inside: %s (%v), want soft and hard %d", name, r.raw, err, wantNoFile)
		}
		if soft, hard := hostLimit(t, shell.pid, "Max open files"); soft != strconv.Itoa(wantNoFile) || hard != strconv.Itoa(wantNoFile) {
			t.Errorf("%s: the background shell's open-file limit on the host: soft %s hard %s, want %d and %d", name, soft, hard, wantNoFile, wantNoFile)
		}
	}
	if uids["a"] == uids["b"] {
		t.Errorf("the environments of a and b run as the same host uid %d", uids["a"])
	}
	if groups["a"] == groups["b"] {
		t.Errorf("the environments of a and b share the memory group %s", groups["a"])
	}
}

func fileExists(path string) bool { _, err := os.Stat(path); return err == nil }

// TestSandboxTimeoutKillsTree: an invocation that outlives its timeout
// ends with Sandbox.Timedout, takes down every process of its environment,
// background ones included, and the next invocation gets a new
// environment.
func TestSandboxTimeoutKillsTree(t *testing.T) {
	ts := startSandboxed(t)
	ts.createProbe(t, "slow", func(in *lambda.CreateFunctionInput) { in.Timeout = aws.Int32(2) })
	path, shell, runtime := startBackground(t, func(ev map[string]any) probeResult { return ts.probe(t, "slow", ev) })
	if r := ts.probe(t, "slow", map[string]any{"op": "count", "path": path}); !r.OK || r.Lines < 1 {
		t.Fatalf("count before the timeout: %s", r.raw)
	}

	start := time.Now()
	out := ts.invoke(t, "slow", `{"op":"sleep","ms":5000}`)
	took := time.Since(start)
	doc := functionError(t, out)
	if doc.ErrorType != "Sandbox.Timedout" || !strings.Contains(doc.ErrorMessage, "timed out after 2.00 seconds") {
		t.Errorf("error %+v, want Sandbox.Timedout (timed out after 2.00 seconds)", doc)
	}
	if took > 4500*time.Millisecond {
		t.Errorf("the timed-out invocation returned after %v, want about 2 s", took)
	}

	var left []proc
	if !eventually(5*time.Second, func() bool { left = stillThere([]proc{shell, runtime}); return len(left) == 0 }) {
		t.Errorf("5 s after the timeout these processes of the environment are still there: %+v", left)
	} else {
		t.Logf("the environment's processes were gone %v after the invocation returned", time.Since(start)-took)
	}
	if more := hostProcsMatching([]byte(path)); len(more) > 0 {
		t.Errorf("processes of the background shell still on the host: %+v", more)
	}

	// The next invocation runs, in a new environment: its /tmp does not
	// have the background shell's file, and a second init ran.
	r := ts.probe(t, "slow", map[string]any{"op": "count", "path": path})
	wantErrno(t, "counting the old environment's file in the next one", r, noSuchFile)
	if n := strings.Count(ts.logs.String(), "INIT_START"); n != 2 {
		t.Errorf("%d INIT_START lines in the function log, want 2 (a new environment after the timeout):\n%s", n, ts.logs.String())
	}
}

// TestSandboxEFSIOError: an access point that cannot be read (here a
// symlink loop: ELOOP) fails the invocation with EFSIOException, HTTP 410.
func TestSandboxEFSIOError(t *testing.T) {
	t.Parallel()
	efs := t.TempDir()
	for _, d := range []string{filepath.Dir(efs), efs} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	const loop = "fsap-0cccccccccccccccc"
	loopPath := filepath.Join(efs, loop)
	if err := os.Symlink(loopPath, loopPath); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(loopPath); !errors.Is(err, syscall.ELOOP) {
		t.Fatalf("stat of the symlink loop: %v, want ELOOP", err)
	}
	ts := startSandboxed(t, func(c *Config) { c.EFSDir = efs })
	ts.createProbe(t, "loop", func(in *lambda.CreateFunctionInput) {
		in.FileSystemConfigs = []types.FileSystemConfig{{
			Arn:            aws.String("arn:aws:elasticfilesystem:us-east-1:000000000000:access-point/" + loop),
			LocalMountPath: aws.String("/mnt/data"),
		}}
	})
	for i := 0; i < 2; i++ {
		_, err := ts.Client.Invoke(ctx(t), &lambda.InvokeInput{FunctionName: aws.String("loop"), Payload: []byte(`{"op":"list","path":"/mnt/data"}`)})
		var e *types.EFSIOException
		if err == nil || !errors.As(err, &e) || statusOf(err) != 410 {
			t.Errorf("invoke %d with a symlink loop as access point: %v (status %d), want 410 EFSIOException", i, err, statusOf(err))
		}
	}
}

// TestSandboxInitErrorRetried: a runtime that exits during init fails the
// invocation with Runtime.ExitError, and the next invocation runs init
// again in a new environment.
func TestSandboxInitErrorRetried(t *testing.T) {
	ts := startSandboxed(t)
	ts.createFunction(t, "initcrash", "initcrash")
	for i := 1; i <= 2; i++ {
		out := ts.invoke(t, "initcrash", `{}`)
		doc := functionError(t, out)
		if doc.ErrorType != "Runtime.ExitError" || !strings.HasSuffix(doc.ErrorMessage, "Runtime exited with error: exit status 3") {
			t.Errorf("invoke %d: error %+v, want Runtime.ExitError (exit status 3)", i, doc)
		}
		logs := ts.logs.String()
		if n := strings.Count(logs, "INIT_START"); n != i {
			t.Errorf("after invoke %d: %d INIT_START lines in the function log, want %d:\n%s", i, n, i, logs)
		}
		if n := strings.Count(logs, "initcrash: exiting during init\n"); n != i {
			t.Errorf("after invoke %d: the init output is in the function log %d times, want %d:\n%s", i, n, i, logs)
		}
	}
	// Nothing of the two environments is left.
	if left := runtimesOf(ts.cfg.DataDir); len(left) > 0 {
		t.Errorf("runtime processes left: %+v", left)
	}
}

// sluiceProcess is the real sluice binary, started by a test.
type sluiceProcess struct {
	cmd     *exec.Cmd
	url     string
	stderr  *syncBuffer
	exited  chan struct{} // closed once it exited and waitErr is set
	waitErr error
}

// startSluice runs `bin serve` on a loopback port with args and waits
// until it prints its address. It is SIGKILLed at cleanup if still running.
func startSluice(t *testing.T, bin string, args ...string) *sluiceProcess {
	t.Helper()
	s := &sluiceProcess{stderr: &syncBuffer{}, exited: make(chan struct{})}
	s.cmd = exec.Command(bin, append([]string{"serve", "--listen", "127.0.0.1:0", "--function-logs-stderr"}, args...)...)
	stdout, err := s.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	s.cmd.Stderr = s.stderr
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addr := make(chan string, 1)
	var readOut sync.WaitGroup
	readOut.Add(1)
	go func() {
		defer readOut.Done()
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), "sluice listening on http://"); ok {
				a, _, _ := strings.Cut(rest, " ")
				addr <- a
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	go func() { readOut.Wait(); s.waitErr = s.cmd.Wait(); close(s.exited) }()
	t.Cleanup(func() {
		select {
		case <-s.exited:
		default:
			_ = s.cmd.Process.Kill()
			<-s.exited
		}
		if t.Failed() {
			t.Logf("sluice (pid %d) stderr:\n%s", s.cmd.Process.Pid, s.stderr.String())
		}
	})
	select {
	case a := <-addr:
		s.url = "http://" + a
	case <-s.exited:
		t.Fatalf("sluice exited before listening: %v\n%s", s.waitErr, s.stderr.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("sluice did not print its address within 30 s\n%s", s.stderr.String())
	}
	return s
}

// descendantsOf lists the live processes below pid.
func descendantsOf(pid int) []proc {
	ents, _ := os.ReadDir("/proc")
	var out []proc
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil || p == pid {
			continue
		}
		if descendsFrom(p, pid) {
			if q, ok := readProc(p); ok {
				out = append(out, q)
			}
		}
	}
	return out
}

// liveOf returns the processes of ps that still exist and have not exited:
// a zombie is gone (after a crash its parent is init, which reaps it).
func liveOf(ps []proc) []proc {
	var out []proc
	for _, p := range stillThere(ps) {
		if p.state != "Z" && p.state != "X" {
			out = append(out, p)
		}
	}
	return out
}

// subgroups lists the names of the groups (directories) in dir.
func subgroups(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range ents {
		if e.IsDir() {
			names = append(names, e.Name())
		}
	}
	return names, nil
}

// forceRemoveGroups is the test's own last resort for groups a failed
// test would leave: it thaws every group below each dir, kills its
// processes and removes the groups, deepest first.
func forceRemoveGroups(dirs []string) {
	for _, dir := range dirs {
		var all []string
		_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				all = append(all, p)
			}
			return nil
		})
		for i := len(all) - 1; i >= 0; i-- {
			g := all[i]
			_ = os.WriteFile(filepath.Join(g, "freezer.state"), []byte("THAWED"), 0)
			if b, err := os.ReadFile(filepath.Join(g, "cgroup.procs")); err == nil {
				for _, f := range strings.Fields(string(b)) {
					if pid, err := strconv.Atoi(f); err == nil && pid > 1 && pid != os.Getpid() {
						_ = syscall.Kill(pid, syscall.SIGKILL)
					}
				}
			}
			deadline := time.Now().Add(2 * time.Second)
			for syscall.Rmdir(g) == syscall.EBUSY && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
		}
	}
}

// TestSandboxCrashCleanup: when sluice is SIGKILLed its environments die
// with it (Pdeathsig), an idle (frozen) one as well as one in the middle of
// an invocation; the next sluice on the same data dir removes the cgroups
// the crashed one left, and removes its own at shutdown.
func TestSandboxCrashCleanup(t *testing.T) {
	data := t.TempDir()
	// testing's temporary directories are private; the sandboxes' uids
	// must reach the code in the data dir (sluice fixes the dir itself).
	if err := os.Chmod(filepath.Dir(data), 0o711); err != nil {
		t.Fatal(err)
	}
	bin := buildSluice(t)
	args := []string{"--data-dir", data, "--sandbox", "bwrap", "--shutdown-grace", "2s"}
	s1 := startSluice(t, bin, args...)
	client := lambdaclient.New(s1.url, "test", "test")
	active := lambda.NewFunctionActiveV2Waiter(client, func(o *lambda.FunctionActiveV2WaiterOptions) {
		o.MinDelay, o.MaxDelay = 5*time.Millisecond, 50*time.Millisecond
	})
	invoke := func(name string) func(map[string]any) probeResult {
		return func(ev map[string]any) probeResult {
			t.Helper()
			b, _ := json.Marshal(ev)
			out, err := client.Invoke(ctx(t), &lambda.InvokeInput{FunctionName: aws.String(name), Payload: b})
			if err != nil || out.StatusCode != 200 || out.FunctionError != nil {
				t.Fatalf("probe %s %s: %v %+v", name, b, err, out)
			}
			var r probeResult
			if err := json.Unmarshal(out.Payload, &r); err != nil {
				t.Fatalf("probe %s: payload %.300s: %v", name, out.Payload, err)
			}
			r.raw = string(out.Payload)
			return r
		}
	}
	for _, name := range []string{"idle", "busy"} {
		_, err := client.CreateFunction(ctx(t), &lambda.CreateFunctionInput{
			FunctionName: aws.String(name),
			Runtime:      types.RuntimeProvidedal2023,
			Handler:      aws.String("probe"),
			Role:         aws.String("arn:aws:iam::000000000000:role/x"),
			Code:         &types.FunctionCode{ZipFile: testFunctionZip},
			Timeout:      aws.Int32(60),
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := active.Wait(ctx(t), &lambda.GetFunctionInput{FunctionName: aws.String(name)}, time.Minute); err != nil {
			t.Fatal(err)
		}
	}

	// "idle" is frozen between invocations when sluice dies; "busy" is in
	// the middle of one.
	_, idleShell, idleRuntime := startBackground(t, invoke("idle"))
	_, busyShell, busyRuntime := startBackground(t, invoke("busy"))
	mounts := cgroupMounts(t)
	envDirs := map[string][]string{} // function → its groups, one per hierarchy
	var instanceDirs []string
	for name, pid := range map[string]int{"idle": idleRuntime.pid, "busy": busyRuntime.pid} {
		for _, c := range []string{"memory", "cpu", "pids", "freezer"} {
			d, _ := groupDir(t, mounts, procCgroups(t, pid), c)
			if b := filepath.Base(d); d == "" || !(strings.HasPrefix(b, "env-") || strings.HasPrefix(b, "slot-")) || !strings.HasPrefix(filepath.Base(filepath.Dir(d)), "sluice-") {
				t.Fatalf("%s: the runtime's group in the %s hierarchy is %q, want .../sluice-<instance>/{env,slot}-<id>", name, c, d)
			}
			envDirs[name] = append(envDirs[name], d)
			if !slices.Contains(instanceDirs, filepath.Dir(d)) {
				instanceDirs = append(instanceDirs, filepath.Dir(d))
			}
		}
	}
	slices.Sort(instanceDirs)
	t.Logf("sluice's cgroup directories: %v", instanceDirs)
	t.Cleanup(func() { forceRemoveGroups(instanceDirs) })

	busyCtx, cancelBusy := context.WithCancel(context.Background())
	defer cancelBusy()
	busyDone := make(chan error, 1)
	go func() {
		_, err := client.Invoke(busyCtx, &lambda.InvokeInput{FunctionName: aws.String("busy"), Payload: []byte(`{"op":"sleep","ms":30000}`)})
		busyDone <- err
	}()
	freezer := func(name string) string {
		for _, d := range envDirs[name] {
			if b, err := os.ReadFile(filepath.Join(d, "freezer.state")); err == nil {
				return strings.TrimSpace(string(b))
			}
		}
		return "(no freezer)"
	}
	if !eventually(10*time.Second, func() bool { return freezer("busy") == "THAWED" }) {
		t.Fatalf("the busy environment is not running (freezer.state %s)", freezer("busy"))
	}
	time.Sleep(200 * time.Millisecond) // the runtime has taken the invocation
	t.Logf("at the crash: idle env freezer.state %s, busy env %s", freezer("idle"), freezer("busy"))

	tree := descendantsOf(s1.cmd.Process.Pid)
	for _, p := range []proc{idleShell, idleRuntime, busyShell, busyRuntime} {
		if !slices.ContainsFunc(tree, func(q proc) bool { return q.pid == p.pid }) {
			t.Errorf("process %d (%s) is not below sluice (pid %d)", p.pid, p.comm, s1.cmd.Process.Pid)
		}
	}
	if err := s1.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-s1.exited
	select {
	case <-busyDone:
	case <-time.After(10 * time.Second):
		t.Errorf("the busy invocation did not fail within 10 s of the crash")
	}

	// Every process of the environments dies with sluice.
	for name, ps := range map[string][]proc{"idle (frozen)": {idleShell, idleRuntime}, "busy (running)": {busyShell, busyRuntime}} {
		var left []proc
		if !eventually(5*time.Second, func() bool { left = liveOf(ps); return len(left) == 0 }) {
			t.Errorf("%s environment: 5 s after sluice was SIGKILLed these processes are still alive: %+v", name, left)
		}
	}
	var left []proc
	eventually(time.Second, func() bool { left = liveOf(tree); return len(left) == 0 })
	if len(left) > 0 {
		states := make([]string, len(left))
		for i, p := range left {
			states[i] = fmt.Sprintf("%d %s state %s", p.pid, p.comm, p.state)
		}
		t.Errorf("processes of the crashed sluice still alive: %s (idle env freezer.state %s, busy env %s)", strings.Join(states, "; "), freezer("idle"), freezer("busy"))
	}

	// What the crash left of the cgroups (reported, not asserted: nobody
	// was there to remove them).
	for _, name := range []string{"idle", "busy"} {
		var there []string
		for _, d := range envDirs[name] {
			if fileExists(d) {
				there = append(there, d)
			}
		}
		t.Logf("after the crash, %d of the %d groups of the %s environment remain: %v", len(there), len(envDirs[name]), name, there)
	}
	for _, d := range instanceDirs {
		names, err := subgroups(d)
		t.Logf("after the crash, %s: groups %v (%v)", d, names, err)
	}

	// The next sluice on the data dir removes them at start.
	s2 := startSluice(t, bin, args...)
	for _, d := range instanceDirs {
		names, err := subgroups(d)
		if err != nil {
			t.Errorf("after the restart: %v", err)
			continue
		}
		if slices.ContainsFunc(names, func(n string) bool { return strings.HasPrefix(n, "env-") || strings.HasPrefix(n, "slot-") }) {
			t.Errorf("after the restart %s still holds environment groups: %v", d, names)
		}
	}
	if !strings.Contains(s2.stderr.String(), "removed the cgroups of an earlier run") {
		t.Errorf("the restarted sluice does not log that it removed the earlier run's cgroups:\n%s", s2.stderr.String())
	}
	if left := liveOf(tree); len(left) > 0 {
		t.Errorf("processes of the crashed sluice still alive after the restart: %+v", left)
	}
	// It still runs functions.
	client = lambdaclient.New(s2.url, "test", "test")
	if r := invoke("idle")(map[string]any{"op": "sleep", "ms": 0}); !r.OK {
		t.Errorf("invoke after the restart: %s", r.raw)
	}

	// A clean shutdown removes sluice's cgroup directories altogether.
	if err := s2.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s2.exited:
		if s2.waitErr != nil {
			t.Errorf("sluice exited with %v after SIGTERM, want status 0", s2.waitErr)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("sluice did not exit within 20 s of SIGTERM")
	}
	for _, d := range instanceDirs {
		if fileExists(d) {
			names, _ := subgroups(d)
			t.Errorf("after a clean shutdown %s still exists (groups %v)", d, names)
		}
	}
}
