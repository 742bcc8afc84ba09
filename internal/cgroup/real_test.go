package cgroup

// Tests against the machine's own cgroups. They need root and a memory
// controller; they fail, rather than skip, without them.

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// helperEnv makes the test binary act as a helper process instead of
// running tests.
const helperEnv = "SLUICE_CGROUP_TEST_HELPER"

func TestMain(m *testing.M) {
	switch os.Getenv(helperEnv) {
	case "":
	case "alloc": // allocate and touch 200 MiB
		b := make([]byte, 200<<20)
		for i := 0; i < len(b); i += 4096 {
			b[i] = 1
		}
		fmt.Println("allocated 200 MiB")
		os.Exit(0)
	default:
		os.Exit(3)
	}
	os.Exit(m.Run())
}

var prefixSeq atomic.Int32

// newReal returns a Manager on the machine's cgroups with a prefix of its
// own, which Close removes at the end of the test. It counts the EBUSY
// answers of rmdir.
func newReal(t *testing.T) (*Manager, *atomic.Int32) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("these tests need root")
	}
	busy := new(atomic.Int32)
	o := realOps
	o.rmdir = func(path string) error {
		err := realOps.rmdir(path)
		if errors.Is(err, syscall.EBUSY) {
			busy.Add(1)
		}
		return err
	}
	m, err := newManager(Options{Prefix: fmt.Sprintf("sluice-test-%d-%d", os.Getpid(), prefixSeq.Add(1))}, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		for c, p := range m.Paths() {
			if _, err := os.Stat(p); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("Close left the %s directory %s", c, p)
			}
		}
		if n := busy.Load(); n > 0 {
			t.Logf("rmdir answered EBUSY %d times", n)
		}
	})
	return m, busy
}

// joinCmd returns a shell that joins g by writing its own pid into every
// ProcsFiles file (exit 111 when it cannot) and then runs script.
func joinCmd(g *Group, script string) *exec.Cmd {
	join := `for f in "$@"; do echo $$ > "$f" || exit 111; done; `
	cmd := exec.Command("/bin/sh", append([]string{"-c", join + script, "sh"}, g.ProcsFiles()...)...)
	cmd.Dir = "/"
	return cmd
}

// groupFile is the path of a control file of g in the hierarchy of c.
func groupFile(t *testing.T, m *Manager, g *Group, c, file string) string {
	t.Helper()
	base, ok := m.Paths()[c]
	if !ok {
		t.Fatalf("no %s controller in use", c)
	}
	return filepath.Join(base, g.Name(), file)
}

func readString(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(data))
}

// alive reports whether pid is a process that has not exited.
func alive(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

// waitFor polls cond for up to timeout.
func waitFor(timeout time.Duration, cond func() bool) bool {
	for deadline := time.Now().Add(timeout); ; time.Sleep(10 * time.Millisecond) {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
	}
}

// wantGone fails unless every directory of g is gone.
func wantGone(t *testing.T, g *Group) {
	t.Helper()
	for _, p := range g.ProcsFiles() {
		if _, err := os.Stat(filepath.Dir(p)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s still exists (%v)", filepath.Dir(p), err)
		}
	}
}

func wantSignaled(t *testing.T, err error, out []byte) {
	t.Helper()
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("want a SIGKILLed process, got %v; output %q", err, out)
	}
	if ws := ee.Sys().(syscall.WaitStatus); !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("want a SIGKILLed process, got %v; output %q", err, out)
	}
}

func TestRealLayout(t *testing.T) {
	m, _ := newReal(t)
	t.Logf("version %s, paths %v", m.Version(), m.Paths())
	prefix := filepath.Base(m.Paths()[ctlMemory])
	data, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	// On a machine with v1 controllers mounted the usual way and a unified
	// hierarchy without them, such as the one these tests were written on,
	// every group lives in v1 below the process's own cgroup.
	unified, _ := os.ReadFile("/sys/fs/cgroup/unified/cgroup.controllers")
	if strings.Contains(string(data), ":memory:") && !strings.Contains(string(unified), "memory") {
		if m.Version() != "v1" {
			t.Errorf("Version = %s, want v1", m.Version())
		}
		for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
			f := strings.SplitN(line, ":", 3)
			for _, c := range strings.Split(f[1], ",") {
				if c != ctlMemory && c != ctlCPU && c != ctlPIDs && c != ctlFreezer {
					continue
				}
				want := filepath.Join("/sys/fs/cgroup", f[1], f[2], prefix)
				if got := m.Paths()[c]; got != want {
					t.Errorf("%s at %q, want %q", c, got, want)
				}
			}
		}
	}
	for c, p := range m.Paths() {
		if _, err := os.Stat(filepath.Join(p, "cgroup.procs")); err != nil {
			t.Errorf("%s: %v", c, err)
		}
	}
	if len(m.Paths()) != 4 {
		t.Errorf("want memory, cpu, pids and freezer on this machine: %v", m.Paths())
	}
}

func TestRealLimitsAndOOM(t *testing.T) {
	t.Parallel()
	m, _ := newReal(t)
	g, err := m.Create("oom", Limits{MemoryBytes: 64 << 20, CPUWeight: 50, PIDs: 16}, -1)
	if err != nil {
		t.Fatal(err)
	}
	if m.Version() == "v1" {
		if got := readString(t, groupFile(t, m, g, ctlMemory, "memory.limit_in_bytes")); got != "67108864" {
			t.Errorf("memory.limit_in_bytes = %s", got)
		}
		memsw := groupFile(t, m, g, ctlMemory, "memory.memsw.limit_in_bytes")
		if _, err := os.Stat(memsw); err == nil {
			if got := readString(t, memsw); got != "67108864" {
				t.Errorf("memory.memsw.limit_in_bytes = %s", got)
			}
		} else {
			t.Log("no memory.memsw.limit_in_bytes: swap is not limited")
		}
		if got := readString(t, groupFile(t, m, g, ctlCPU, "cpu.shares")); got != "512" {
			t.Errorf("cpu.shares = %s", got)
		}
	}
	if got := readString(t, groupFile(t, m, g, ctlPIDs, "pids.max")); got != "16" {
		t.Errorf("pids.max = %s", got)
	}
	if oom, err := g.OOMKilled(); err != nil || oom {
		t.Errorf("fresh group: OOMKilled = %v, %v", oom, err)
	}

	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := joinCmd(g, `exec "$SELF"`)
	cmd.Env = append(os.Environ(), helperEnv+"=alloc", "SELF="+self)
	out, err := cmd.CombinedOutput()
	wantSignaled(t, err, out)
	if oom, err := g.OOMKilled(); err != nil || !oom {
		t.Errorf("OOMKilled = %v, %v; want true", oom, err)
	}
	peak, err := g.PeakMemory()
	// The kernel may overshoot the limit by a page or so.
	if err != nil || peak < 32<<20 || peak > 65<<20 {
		t.Errorf("PeakMemory = %d, %v; want about 64 MiB", peak, err)
	}
	t.Logf("peak %d bytes", peak)
	if err := g.Remove(); err != nil {
		t.Fatal(err)
	}
	wantGone(t, g)
}

func TestRealPIDsKillRemove(t *testing.T) {
	t.Parallel()
	m, _ := newReal(t)
	g, err := m.Create("pids", Limits{PIDs: 16}, -1)
	if err != nil {
		t.Fatal(err)
	}
	// dash stops at the first fork that fails, leaving the sleeps behind.
	cmd := joinCmd(g, `i=0; while [ $i -lt 50 ]; do sleep 30 >/dev/null 2>&1 & i=$((i+1)); done; wait`)
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(strings.ToLower(string(out)), "fork") {
		t.Fatalf("want a failed fork, got %v, output %q", err, out)
	}
	t.Logf("shell: %v, %q", err, out)
	pids, err := g.Procs()
	if err != nil {
		t.Fatal(err)
	}
	if len(pids) < 10 || len(pids) > 15 {
		t.Fatalf("Procs = %v, want the 15 sleeps that fit under pids.max 16 beside the shell", pids)
	}
	for _, pid := range pids {
		if comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid)); strings.TrimSpace(string(comm)) != "sleep" {
			t.Errorf("pid %d in the group is %q", pid, comm)
		}
	}
	if err := g.Kill(); err != nil {
		t.Fatal(err)
	}
	if left, err := g.Procs(); err != nil || len(left) != 0 {
		t.Errorf("after Kill: Procs = %v, %v", left, err)
	}
	if !waitFor(2*time.Second, func() bool {
		for _, pid := range pids {
			if alive(pid) {
				return false
			}
		}
		return true
	}) {
		t.Error("sleeps still running after Kill")
	}
	if err := g.Remove(); err != nil {
		t.Fatal(err)
	}
	wantGone(t, g)
	if err := g.Remove(); err != nil {
		t.Errorf("second Remove: %v", err)
	}
}

func TestRealFreezeThaw(t *testing.T) {
	t.Parallel()
	m, _ := newReal(t)
	g, err := m.Create("freeze", Limits{MemoryBytes: 64 << 20}, -1)
	if err != nil {
		t.Fatal(err)
	}
	ticks := filepath.Join(t.TempDir(), "ticks")
	cmd := joinCmd(g, `while :; do echo x >> "$TICKS"; sleep 0.01; done`)
	cmd.Env = append(os.Environ(), "TICKS="+ticks)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() { // when the test failed half-way
		g.Thaw()
		cmd.Process.Kill()
	}()
	size := func() int64 {
		fi, err := os.Stat(ticks)
		if err != nil {
			return 0
		}
		return fi.Size()
	}
	if !waitFor(5*time.Second, func() bool { return size() > 0 }) {
		t.Fatal("the loop does not run")
	}
	if pids, err := g.Procs(); err != nil || !containsInt(pids, cmd.Process.Pid) {
		t.Fatalf("Procs = %v, %v; want the shell %d in it", pids, err, cmd.Process.Pid)
	}

	if err := g.Freeze(); err != nil {
		t.Fatal(err)
	}
	state := groupFile(t, m, g, ctlFreezer, "freezer.state")
	if !waitFor(2*time.Second, func() bool { return readString(t, state) == "FROZEN" }) {
		t.Fatalf("freezer.state = %s", readString(t, state))
	}
	t.Logf("frozen shell's state in /proc/%d/stat: %c", cmd.Process.Pid, procState(cmd.Process.Pid))
	if h := m.ctl[ctlFreezer]; !h.v2 {
		// The v1 pin keeps the kernel's freezer hooks on (see pinName).
		if got := readString(t, filepath.Join(h.base, pinName, "freezer.state")); got != "FROZEN" {
			t.Errorf("the freezer pin's state = %s, want FROZEN", got)
		}
	}
	s1 := size()
	time.Sleep(300 * time.Millisecond)
	if s2 := size(); s2 != s1 {
		t.Errorf("frozen loop still writes: %d → %d bytes", s1, s2)
	}
	if err := g.Thaw(); err != nil {
		t.Fatal(err)
	}
	if got := readString(t, state); got != "THAWED" {
		t.Errorf("freezer.state = %s after Thaw", got)
	}
	if !waitFor(2*time.Second, func() bool { return size() > s1 }) {
		t.Error("thawed loop does not run")
	}

	// Kill works on a frozen group: it thaws it.
	if err := g.Freeze(); err != nil {
		t.Fatal(err)
	}
	if err := g.Kill(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		wantSignaled(t, err, nil)
	case <-time.After(5 * time.Second):
		t.Fatal("the shell survived Kill")
	}
	if err := g.Remove(); err != nil {
		t.Fatal(err)
	}
	wantGone(t, g)
}

func procState(pid int) byte {
	data, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	s := string(data)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2]
	}
	return '?'
}

func containsInt(list []int, n int) bool {
	for _, x := range list {
		if x == n {
			return true
		}
	}
	return false
}

func TestRealUnprivilegedJoin(t *testing.T) {
	t.Parallel()
	m, _ := newReal(t)
	const nobody = 65534
	asNobody := func(cmd *exec.Cmd) *exec.Cmd {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
		return cmd
	}

	g, err := m.Create("mine", Limits{MemoryBytes: 64 << 20, PIDs: 16}, nobody)
	if err != nil {
		t.Fatal(err)
	}
	limit := groupFile(t, m, g, ctlMemory, "memory.limit_in_bytes")
	cmd := asNobody(joinCmd(g, `id -u; cat /proc/self/cgroup; if echo 1 > "$LIMIT"; then echo WROTE-LIMIT; fi; if mkdir "$(dirname "$LIMIT")/sub"; then echo MADE-SUBGROUP; fi`))
	cmd.Env = append(os.Environ(), "LIMIT="+limit)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("joining as nobody: %v, %q", err, out)
	}
	memPath := strings.TrimPrefix(filepath.Dir(limit), "/sys/fs/cgroup/memory")
	if !strings.Contains(string(out), ":memory:"+memPath+"\n") || !strings.Contains(string(out), ":pids:/"+filepath.Base(m.Paths()[ctlPIDs])+"/mine\n") {
		t.Errorf("the process did not join: %q", out)
	}
	if !strings.HasPrefix(string(out), "65534\n") || strings.Contains(string(out), "WROTE-LIMIT") || strings.Contains(string(out), "MADE-SUBGROUP") {
		t.Errorf("nobody could change the group: %q", out)
	}
	if got := readString(t, limit); got != "67108864" {
		t.Errorf("limit is now %s", got)
	}

	// Without the chown, nobody cannot join.
	g2, err := m.Create("not-mine", Limits{}, -1)
	if err != nil {
		t.Fatal(err)
	}
	out, err = asNobody(joinCmd(g2, `echo JOINED`)).CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 111 || !strings.Contains(string(out), "Permission denied") || strings.Contains(string(out), "JOINED") {
		t.Errorf("nobody joining a root group: %v, %q", err, out)
	}
	for _, gr := range []*Group{g, g2} {
		if err := gr.Remove(); err != nil {
			t.Error(err)
		}
		wantGone(t, gr)
	}
}

func TestRealCleanupAfterCrash(t *testing.T) {
	t.Parallel()
	m1, _ := newReal(t)
	g, err := m1.Create("crashed", Limits{MemoryBytes: 64 << 20, PIDs: 16}, -1)
	if err != nil {
		t.Fatal(err)
	}
	// Two sleeps whose parent exits, as if the server had crashed; the
	// second is moved into a group below the first (in memory), and the
	// group is left frozen.
	out, err := joinCmd(g, `sleep 60 >/dev/null 2>&1 & echo $!; sleep 60 >/dev/null 2>&1 & echo $!`).Output()
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		pid, err := strconv.Atoi(sc.Text())
		if err != nil {
			t.Fatal(err)
		}
		pids = append(pids, pid)
	}
	if len(pids) != 2 {
		t.Fatalf("output %q", out)
	}
	nested := filepath.Join(m1.Paths()[ctlMemory], "crashed", "nested")
	if err := os.Mkdir(nested, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(nested, "cgroup.procs"), []byte(strconv.Itoa(pids[1])), 0); err != nil {
		t.Fatal(err)
	}
	if err := g.Freeze(); err != nil {
		t.Fatal(err)
	}
	if got, err := g.Procs(); err != nil || !containsInt(got, pids[0]) || !containsInt(got, pids[1]) {
		t.Fatalf("Procs = %v, %v; want %v", got, err, pids)
	}

	// The restarted server.
	m2, err := New(Options{Prefix: filepath.Base(m1.Paths()[ctlMemory])})
	if err != nil {
		t.Fatal(err)
	}
	n, err := m2.Cleanup()
	if err != nil || n != 1 {
		t.Fatalf("Cleanup = %d, %v; want 1, nil", n, err)
	}
	if !waitFor(2*time.Second, func() bool { return !alive(pids[0]) && !alive(pids[1]) }) {
		t.Errorf("leftover processes %v still run", pids)
	}
	wantGone(t, g)
	for c, p := range m2.Paths() {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("Cleanup removed the %s prefix directory: %v", c, err)
		}
	}
}

func TestRealCreateTwice(t *testing.T) {
	t.Parallel()
	m, _ := newReal(t)
	if _, err := m.Create("twice", Limits{MemoryBytes: 64 << 20}, -1); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Create("twice", Limits{MemoryBytes: 128 << 20}, -1); !errors.Is(err, fs.ErrExist) {
		t.Errorf("second Create: %v", err)
	}
	g := m.group("twice")
	if got := readString(t, groupFile(t, m, g, ctlMemory, "memory.limit_in_bytes")); got != "67108864" {
		t.Errorf("the first group's limit changed to %s", got)
	}
}

// TestRealRemoveAfterBwrap removes groups straight after bubblewrap exited.
// bwrap's child in its pid namespace dies a moment after bwrap itself, and
// rmdir then often answers EBUSY: Remove must wait it out.
func TestRealRemoveAfterBwrap(t *testing.T) {
	t.Parallel()
	bwrap, err := exec.LookPath("bwrap")
	if err != nil {
		t.Fatalf("bubblewrap, which sluice's sandboxes use, is not installed: %v", err)
	}
	m, busy := newReal(t)
	for i := 0; i < 20; i++ {
		g, err := m.Create(fmt.Sprint("bwrap", i), Limits{MemoryBytes: 64 << 20, PIDs: 16}, -1)
		if err != nil {
			t.Fatal(err)
		}
		cmd := joinCmd(g, `exec "$BWRAP" --unshare-all --die-with-parent --ro-bind /usr /usr --symlink usr/lib /lib --symlink usr/lib64 /lib64 --symlink usr/bin /bin --tmpfs /tmp --proc /proc --dev /dev /bin/sh -c 'sleep 5 & sleep 0.02; echo ran'`)
		cmd.Env = append(os.Environ(), "BWRAP="+bwrap)
		if out, err := cmd.CombinedOutput(); err != nil || string(out) != "ran\n" {
			t.Fatalf("bwrap: %v, %q", err, out)
		}
		if err := g.Remove(); err != nil {
			t.Fatal(err)
		}
		wantGone(t, g)
	}
	t.Logf("rmdir answered EBUSY %d times in 20 removals", busy.Load())
}
