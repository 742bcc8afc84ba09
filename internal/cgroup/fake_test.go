package cgroup

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// A fake cgroupfs in a temporary directory. Its mkdir creates the control
// files of the hierarchy, as the kernel does, its rmdir removes them, and
// its kill takes the pid out of every cgroup.procs and tasks file.

// fakeHier is one mounted hierarchy of a fake.
type fakeHier struct {
	point  string            // mount point, relative to the fake's root
	fstype string            // "cgroup" or "cgroup2"
	ctls   string            // v1: the controllers, comma-separated, as in /proc/self/cgroup
	own    string            // the process's cgroup in this hierarchy
	files  map[string]string // control files of every group and their initial content
}

type fake struct {
	t     *testing.T
	root  string
	hiers []fakeHier
	opts  Options

	mu     sync.Mutex
	killed []int
	rmdirs []string       // in order
	busy   map[string]int // directory → how many more rmdirs answer EBUSY
}

// newFake lays out hiers under a temporary root, each with its own cgroup
// (and the groups above it) already there. extraMounts are more mountinfo
// lines, listed first.
func newFake(t *testing.T, hiers []fakeHier, extraMounts ...string) *fake {
	t.Helper()
	f := &fake{t: t, root: t.TempDir(), hiers: hiers, busy: map[string]int{}}
	mountinfo := []string{
		"22 1 0:21 / /proc rw,nosuid shared:12 - proc proc rw",
		"31 23 0:28 / " + f.root + " rw,relatime shared:9 - tmpfs tmpfs rw,mode=755",
	}
	mountinfo = append(extraMounts, mountinfo...)
	var cgroupLines []string
	for i, h := range hiers {
		dir := filepath.Join(f.root, h.point)
		for _, d := range append([]string{"/"}, ancestors(h.own)...) {
			if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
				t.Fatal(err)
			}
			f.populate(filepath.Join(dir, d), h)
		}
		opts := "rw"
		if h.ctls != "" {
			opts += "," + h.ctls
		}
		mountinfo = append(mountinfo, fmt.Sprintf("%d 31 0:%d / %s rw,nosuid,relatime shared:%d - %s cgroup %s",
			40+i, 40+i, escape(dir), 20+i, h.fstype, opts))
		if h.fstype == "cgroup2" {
			cgroupLines = append(cgroupLines, "0::"+h.own)
		} else {
			cgroupLines = append(cgroupLines, fmt.Sprintf("%d:%s:%s", 10-i, h.ctls, h.own))
		}
	}
	f.opts = Options{
		Prefix:    "sluice",
		Root:      f.root,
		ProcSelf:  filepath.Join(f.root, "proc-self-cgroup"),
		MountInfo: filepath.Join(f.root, "proc-self-mountinfo"),
	}
	f.write(f.opts.ProcSelf, strings.Join(cgroupLines, "\n")+"\n")
	f.write(f.opts.MountInfo, strings.Join(mountinfo, "\n")+"\n")
	return f
}

// ancestors returns "/a", "/a/b" for "/a/b".
func ancestors(p string) []string {
	var out []string
	for i := 1; i <= len(p); i++ {
		if i == len(p) || p[i] == '/' {
			out = append(out, p[:i])
		}
	}
	return out
}

// escape escapes a path as mountinfo does.
func escape(s string) string {
	return strings.NewReplacer(" ", `\040`, "\t", `\011`, "\n", `\012`, `\`, `\134`).Replace(s)
}

func (f *fake) populate(dir string, h fakeHier) {
	for name, content := range h.files {
		f.write(filepath.Join(dir, name), content)
	}
}

func (f *fake) write(path, content string) {
	f.t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		f.t.Fatal(err)
	}
}

// read returns the content of a file below the fake's root.
func (f *fake) read(rel string) string {
	f.t.Helper()
	data, err := os.ReadFile(filepath.Join(f.root, rel))
	if err != nil {
		f.t.Fatal(err)
	}
	return string(data)
}

func (f *fake) exists(rel string) bool {
	_, err := os.Stat(filepath.Join(f.root, rel))
	return err == nil
}

func (f *fake) ops() ops {
	return ops{
		mkdir: func(path string) error {
			if err := os.Mkdir(path, 0o755); err != nil {
				return err
			}
			for _, h := range f.hiers {
				if within(path, filepath.Join(f.root, h.point)) {
					f.populate(path, h)
				}
			}
			return nil
		},
		rmdir: func(path string) error {
			f.mu.Lock()
			f.rmdirs = append(f.rmdirs, path)
			busy := f.busy[path] > 0
			if busy {
				f.busy[path]--
			}
			f.mu.Unlock()
			if busy {
				return &os.PathError{Op: "rmdir", Path: path, Err: syscall.EBUSY}
			}
			entries, err := os.ReadDir(path)
			if err != nil {
				return err
			}
			for _, e := range entries {
				if !e.IsDir() {
					os.Remove(filepath.Join(path, e.Name()))
				}
			}
			return os.Remove(path)
		},
		kill: func(pid int) error {
			f.mu.Lock()
			f.killed = append(f.killed, pid)
			f.mu.Unlock()
			return filepath.WalkDir(f.root, func(path string, d fs.DirEntry, err error) error {
				if err != nil || (d.Name() != "cgroup.procs" && d.Name() != "tasks") {
					return err
				}
				data, err := os.ReadFile(path)
				if err != nil {
					return err
				}
				lines := slices.DeleteFunc(strings.Fields(string(data)), func(s string) bool { return s == strconv.Itoa(pid) })
				return os.WriteFile(path, []byte(strings.Join(lines, "\n")), 0o644)
			})
		},
	}
}

func (f *fake) manager() *Manager {
	f.t.Helper()
	m, err := newManager(f.opts, f.ops())
	if err != nil {
		f.t.Fatalf("newManager: %v", err)
	}
	return m
}

// Pids of fake processes: above any pid_max, so that even a real kill
// could not hit a process.
const fakePid1, fakePid2, fakePid3 = 90000001, 90000002, 90000003

func v1Files(extra map[string]string) map[string]string {
	files := map[string]string{"cgroup.procs": "", "tasks": "", "notify_on_release": "0"}
	for k, v := range extra {
		files[k] = v
	}
	return files
}

func v1Memory(memsw bool) fakeHier {
	files := v1Files(map[string]string{
		"memory.limit_in_bytes":      "9223372036854771712\n",
		"memory.oom_control":         "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n",
		"memory.failcnt":             "0\n",
		"memory.max_usage_in_bytes":  "0\n",
		"memory.use_hierarchy":       "1\n",
		"memory.soft_limit_in_bytes": "9223372036854771712\n",
	})
	if memsw {
		files["memory.memsw.limit_in_bytes"] = "9223372036854771712\n"
	}
	return fakeHier{point: "memory", fstype: "cgroup", ctls: "memory", own: "/process_api/abc", files: files}
}

var (
	v1CPU     = fakeHier{point: "cpu,cpuacct", fstype: "cgroup", ctls: "cpu,cpuacct", own: "/", files: v1Files(map[string]string{"cpu.shares": "1024\n", "cpuacct.usage": "0\n"})}
	v1PIDs    = fakeHier{point: "pids", fstype: "cgroup", ctls: "pids", own: "/", files: v1Files(map[string]string{"pids.max": "max\n", "pids.current": "0\n"})}
	v1Freezer = fakeHier{point: "freezer", fstype: "cgroup", ctls: "freezer", own: "/", files: v1Files(map[string]string{"freezer.state": "THAWED\n"})}
	v1Systemd = fakeHier{point: "systemd", fstype: "cgroup", ctls: "name=systemd", own: "/", files: v1Files(nil)}
)

// v2Unified is a unified hierarchy whose root offers controllers.
func v2Unified(point, own, controllers string) fakeHier {
	return fakeHier{point: point, fstype: "cgroup2", own: own, files: map[string]string{
		"cgroup.controllers":     controllers + "\n",
		"cgroup.subtree_control": "\n",
		"cgroup.procs":           "",
		"cgroup.freeze":          "0\n",
		"cgroup.kill":            "",
		"memory.max":             "max\n",
		"memory.swap.max":        "max\n",
		"memory.events":          "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\noom_group_kill 0\n",
		"memory.peak":            "0\n",
		"memory.current":         "0\n",
		"cpu.weight":             "100\n",
		"pids.max":               "max\n",
	}}
}

// thisMachine is the layout of the machine the tests were written on: v1
// controllers, the memory cgroup made for the process, and a unified
// hierarchy that only has hugetlb.
func thisMachine(memsw bool) []fakeHier {
	return []fakeHier{v1Systemd, v1PIDs, v1Freezer, v1Memory(memsw), v1CPU, v2Unified("unified", "/", "hugetlb")}
}

func wantFile(t *testing.T, f *fake, rel, want string) {
	t.Helper()
	if got := strings.TrimSpace(f.read(rel)); got != want {
		t.Errorf("%s = %q, want %q", rel, got, want)
	}
}

func wantUID(t *testing.T, path string, uid uint32) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Sys().(*syscall.Stat_t).Uid; got != uid {
		t.Errorf("%s: owner %d, want %d", path, got, uid)
	}
}

func TestFakeV1(t *testing.T) {
	f := newFake(t, thisMachine(true))
	m := f.manager()
	if v := m.Version(); v != "v1" {
		t.Errorf("Version = %q, want v1", v)
	}
	wantPaths := map[string]string{
		"memory":  filepath.Join(f.root, "memory/process_api/abc/sluice"),
		"cpu":     filepath.Join(f.root, "cpu,cpuacct/sluice"),
		"pids":    filepath.Join(f.root, "pids/sluice"),
		"freezer": filepath.Join(f.root, "freezer/sluice"),
	}
	if got := m.Paths(); !mapsEqual(got, wantPaths) {
		t.Errorf("Paths = %v, want %v", got, wantPaths)
	}
	if f.exists("systemd/sluice") || f.exists("unified/sluice") {
		t.Error("New made a directory in a hierarchy it does not use")
	}
	if got := f.read("unified/cgroup.subtree_control"); got != "\n" {
		t.Errorf("unified subtree_control written: %q", got)
	}

	g, err := m.Create("env1", Limits{MemoryBytes: 64 << 20, CPUWeight: 50, PIDs: 16}, 4242)
	if err != nil {
		t.Fatal(err)
	}
	wantFile(t, f, "memory/process_api/abc/sluice/env1/memory.limit_in_bytes", "67108864")
	wantFile(t, f, "memory/process_api/abc/sluice/env1/memory.memsw.limit_in_bytes", "67108864")
	wantFile(t, f, "cpu,cpuacct/sluice/env1/cpu.shares", "512")
	wantFile(t, f, "pids/sluice/env1/pids.max", "16")
	wantFile(t, f, "freezer/sluice/env1/freezer.state", "THAWED")
	if g.Dir() != "" {
		t.Errorf("Dir = %q on v1", g.Dir())
	}
	if g.Name() != "env1" {
		t.Errorf("Name = %q", g.Name())
	}
	want := []string{
		filepath.Join(f.root, "pids/sluice/env1/cgroup.procs"),
		filepath.Join(f.root, "freezer/sluice/env1/cgroup.procs"),
		filepath.Join(f.root, "memory/process_api/abc/sluice/env1/cgroup.procs"),
		filepath.Join(f.root, "cpu,cpuacct/sluice/env1/cgroup.procs"),
	}
	slices.Sort(want)
	got := g.ProcsFiles()
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("ProcsFiles = %q, want %q", got, want)
	}
	for _, p := range want {
		wantUID(t, p, 4242)
		wantUID(t, filepath.Join(filepath.Dir(p), "tasks"), 4242)
		wantUID(t, filepath.Dir(p), 0) // no mkdir of subgroups for uid
	}
	wantUID(t, filepath.Join(f.root, "memory/process_api/abc/sluice/env1/memory.limit_in_bytes"), 0)
	wantUID(t, filepath.Join(f.root, "pids/sluice/env1/pids.max"), 0)

	if err := g.Freeze(); err != nil {
		t.Fatal(err)
	}
	wantFile(t, f, "freezer/sluice/env1/freezer.state", "FROZEN")
	if err := g.Thaw(); err != nil {
		t.Fatal(err)
	}
	wantFile(t, f, "freezer/sluice/env1/freezer.state", "THAWED")

	// A group without limits and without uid leaves the defaults and owners alone.
	g2, err := m.Create("env2", Limits{}, -1)
	if err != nil {
		t.Fatal(err)
	}
	wantFile(t, f, "memory/process_api/abc/sluice/env2/memory.limit_in_bytes", "9223372036854771712")
	wantFile(t, f, "cpu,cpuacct/sluice/env2/cpu.shares", "1024")
	wantFile(t, f, "pids/sluice/env2/pids.max", "max")
	for _, p := range g2.ProcsFiles() {
		wantUID(t, p, uint32(os.Getuid()))
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func TestFakeV1CPUShares(t *testing.T) {
	f := newFake(t, thisMachine(true))
	m := f.manager()
	for weight, shares := range map[int]string{1: "10", 50: "512", 100: "1024", 10000: "102400"} {
		name := fmt.Sprint("w", weight)
		if _, err := m.Create(name, Limits{CPUWeight: weight}, -1); err != nil {
			t.Fatal(err)
		}
		wantFile(t, f, "cpu,cpuacct/sluice/"+name+"/cpu.shares", shares)
	}
}

// TestFakeSetLimitsWritesChanges: SetLimits writes only the limits that
// differ from what the group was last given (a start sets its memory, and
// its CPU weight after init, nothing else), raising and lowering memory
// with its memsw twin.
func TestFakeSetLimitsWritesChanges(t *testing.T) {
	f := newFake(t, thisMachine(true))
	m := f.manager()
	g, err := m.Create("slot", Limits{CPUWeight: 10000, PIDs: 1024}, -1)
	if err != nil {
		t.Fatal(err)
	}
	const dir = "memory/process_api/abc/sluice/slot/"
	// Marks: a file written again loses its mark.
	f.write(filepath.Join(f.root, "cpu,cpuacct/sluice/slot/cpu.shares"), "mark")
	f.write(filepath.Join(f.root, "pids/sluice/slot/pids.max"), "mark")
	if err := g.SetLimits(Limits{MemoryBytes: 128 << 20, CPUWeight: 10000, PIDs: 1024}); err != nil {
		t.Fatal(err)
	}
	wantFile(t, f, dir+"memory.limit_in_bytes", "134217728")
	wantFile(t, f, dir+"memory.memsw.limit_in_bytes", "134217728")
	wantFile(t, f, "cpu,cpuacct/sluice/slot/cpu.shares", "mark")
	wantFile(t, f, "pids/sluice/slot/pids.max", "mark")
	f.write(filepath.Join(f.root, dir, "memory.limit_in_bytes"), "mark")
	if err := g.SetLimits(Limits{MemoryBytes: 128 << 20, CPUWeight: 7}); err != nil {
		t.Fatal(err)
	}
	wantFile(t, f, dir+"memory.limit_in_bytes", "mark")
	wantFile(t, f, "cpu,cpuacct/sluice/slot/cpu.shares", "71")
	for _, mb := range []int64{512, 64} {
		if err := g.SetLimits(Limits{MemoryBytes: mb << 20}); err != nil {
			t.Fatal(err)
		}
		wantFile(t, f, dir+"memory.limit_in_bytes", fmt.Sprint(mb<<20))
		wantFile(t, f, dir+"memory.memsw.limit_in_bytes", fmt.Sprint(mb<<20))
	}
}

func TestFakeV1WithoutMemsw(t *testing.T) {
	f := newFake(t, thisMachine(false))
	m := f.manager()
	if _, err := m.Create("env", Limits{MemoryBytes: 1 << 30}, -1); err != nil {
		t.Fatal(err)
	}
	wantFile(t, f, "memory/process_api/abc/sluice/env/memory.limit_in_bytes", "1073741824")
	if f.exists("memory/process_api/abc/sluice/env/memory.memsw.limit_in_bytes") {
		t.Error("memsw file created")
	}
}

func TestFakeV2(t *testing.T) {
	f := newFake(t, []fakeHier{v2Unified("", "/system.slice/sluice.service", "cpuset cpu io memory hugetlb pids rdma misc")})
	m := f.manager()
	if v := m.Version(); v != "v2" {
		t.Errorf("Version = %q, want v2", v)
	}
	own := "system.slice/sluice.service"
	wantFile(t, f, own+"/cgroup.subtree_control", "+memory +cpu +pids")
	wantFile(t, f, own+"/sluice/cgroup.subtree_control", "+memory +cpu +pids")
	base := filepath.Join(f.root, own, "sluice")
	for _, c := range controllers {
		if got := m.Paths()[c]; got != base {
			t.Errorf("Paths[%s] = %q, want %q", c, got, base)
		}
	}

	g, err := m.Create("env", Limits{MemoryBytes: 128 << 20, CPUWeight: 250, PIDs: 64}, 4242)
	if err != nil {
		t.Fatal(err)
	}
	dir := own + "/sluice/env"
	wantFile(t, f, dir+"/memory.max", "134217728")
	wantFile(t, f, dir+"/memory.swap.max", "0")
	wantFile(t, f, dir+"/cpu.weight", "250")
	wantFile(t, f, dir+"/pids.max", "64")
	if g.Dir() != filepath.Join(f.root, dir) {
		t.Errorf("Dir = %q", g.Dir())
	}
	if got := g.ProcsFiles(); !slices.Equal(got, []string{filepath.Join(f.root, dir, "cgroup.procs")}) {
		t.Errorf("ProcsFiles = %q", got)
	}
	wantUID(t, filepath.Join(f.root, dir, "cgroup.procs"), 4242)
	wantUID(t, filepath.Join(f.root, dir, "memory.max"), 0)

	if err := g.Freeze(); err != nil {
		t.Fatal(err)
	}
	wantFile(t, f, dir+"/cgroup.freeze", "1")
	if err := g.Thaw(); err != nil {
		t.Fatal(err)
	}
	wantFile(t, f, dir+"/cgroup.freeze", "0")

	f.write(filepath.Join(f.root, dir, "cgroup.procs"), fmt.Sprintf("%d\n%d\n", fakePid2, fakePid1))
	if pids, err := g.Procs(); err != nil || !slices.Equal(pids, []int{fakePid1, fakePid2}) {
		t.Errorf("Procs = %v, %v", pids, err)
	}
	if err := g.Kill(); err != nil {
		t.Fatal(err)
	}
	wantFile(t, f, dir+"/cgroup.kill", "1")
	wantFile(t, f, dir+"/cgroup.freeze", "0")
	if !slices.Equal(f.killed, []int{fakePid1, fakePid2}) {
		t.Errorf("killed %v", f.killed)
	}
}

func TestFakeV2ControllersAlreadyEnabled(t *testing.T) {
	h := v2Unified("unified", "/", "memory pids")
	h.files["cgroup.subtree_control"] = "memory pids\n"
	f := newFake(t, []fakeHier{h})
	m := f.manager()
	wantFile(t, f, "unified/cgroup.subtree_control", "memory pids") // not rewritten
	wantFile(t, f, "unified/sluice/cgroup.subtree_control", "memory pids")
	if _, ok := m.Paths()["cpu"]; ok {
		t.Error("cpu in use though the kernel does not offer it")
	}
	if _, err := m.Create("env", Limits{CPUWeight: 100}, -1); err == nil {
		t.Error("Create with a CPU weight succeeded without a cpu controller")
	}
}

func TestFakeHybrid(t *testing.T) {
	hiers := []fakeHier{v1Memory(true), v1CPU, v1Freezer, v2Unified("unified", "/", "pids")}
	f := newFake(t, hiers)
	m := f.manager()
	if v := m.Version(); v != "hybrid" {
		t.Errorf("Version = %q, want hybrid", v)
	}
	if m.Paths()["pids"] != filepath.Join(f.root, "unified/sluice") || m.Paths()["freezer"] != filepath.Join(f.root, "unified/sluice") {
		t.Errorf("pids and freezer should be in v2: %v", m.Paths())
	}
	g, err := m.Create("env", Limits{MemoryBytes: 64 << 20, PIDs: 16}, 7)
	if err != nil {
		t.Fatal(err)
	}
	wantFile(t, f, "unified/sluice/env/pids.max", "16")
	wantFile(t, f, "memory/process_api/abc/sluice/env/memory.limit_in_bytes", "67108864")
	if f.exists("freezer/sluice") {
		t.Error("v1 freezer used though v2 is")
	}
	if len(g.ProcsFiles()) != 3 || g.Dir() != filepath.Join(f.root, "unified/sluice/env") {
		t.Errorf("ProcsFiles %q, Dir %q", g.ProcsFiles(), g.Dir())
	}
	wantUID(t, filepath.Join(f.root, "memory/process_api/abc/sluice/env/tasks"), 7)
	if f.exists("unified/sluice/env/tasks") {
		t.Error("tasks in v2")
	}
	if err := g.Freeze(); err != nil {
		t.Fatal(err)
	}
	wantFile(t, f, "unified/sluice/env/cgroup.freeze", "1")
}

func TestFakeNoMemoryController(t *testing.T) {
	// Memory is mounted, but outside Root, and v2 has no memory controller.
	outside := t.TempDir()
	f := newFake(t, []fakeHier{v1CPU, v1PIDs, v2Unified("unified", "/", "cpu pids")},
		"35 31 0:32 / "+outside+" rw,relatime shared:5 - cgroup cgroup rw,memory")
	os.WriteFile(f.opts.ProcSelf, append([]byte("4:memory:/\n"), []byte(f.read("proc-self-cgroup"))...), 0o644)
	_, err := newManager(f.opts, f.ops())
	if !errors.Is(err, ErrNoMemoryController) {
		t.Fatalf("err = %v, want ErrNoMemoryController", err)
	}
	if entries, _ := os.ReadDir(outside); len(entries) != 0 {
		t.Errorf("New wrote outside Root: %v", entries)
	}
	t.Log(err)
}

func TestFakeMountRootNotSlash(t *testing.T) {
	// In a container, the memory hierarchy is mounted from /docker/c1 and
	// the process's cgroup is /docker/c1/app.
	f := newFake(t, []fakeHier{v1Memory(true)})
	f.write(f.opts.ProcSelf, "4:memory:/docker/c1/app\n")
	os.MkdirAll(filepath.Join(f.root, "memory/app"), 0o755)
	f.write(f.opts.MountInfo, "35 31 0:32 /docker/c1 "+filepath.Join(f.root, "memory")+" rw - cgroup cgroup rw,memory\n")
	m := f.manager()
	if got, want := m.Paths()["memory"], filepath.Join(f.root, "memory/app/sluice"); got != want {
		t.Errorf("memory at %q, want %q", got, want)
	}
	// A cgroup outside the mounted subtree is not reachable.
	f.write(f.opts.ProcSelf, "4:memory:/other\n")
	if _, err := newManager(f.opts, f.ops()); !errors.Is(err, ErrNoMemoryController) {
		t.Errorf("err = %v", err)
	}
}

func TestFakeMemoryOnly(t *testing.T) {
	f := newFake(t, []fakeHier{v1Memory(true)})
	m := f.manager()
	if _, err := m.Create("a", Limits{PIDs: 10}, -1); err == nil {
		t.Error("pids limit accepted without a pids controller")
	}
	if _, err := m.Create("b", Limits{CPUWeight: 10}, -1); err == nil {
		t.Error("CPU weight accepted without a cpu controller")
	}
	if f.exists("memory/process_api/abc/sluice/a") || f.exists("memory/process_api/abc/sluice/b") {
		t.Error("failed Create left a directory")
	}
	g, err := m.Create("c", Limits{MemoryBytes: 1 << 20}, -1)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Freeze(); err != nil { // no freezer: no-op
		t.Error(err)
	}
}

func TestFakeCreateRollback(t *testing.T) {
	pids := v1PIDs
	pids.files = v1Files(nil) // no pids.max
	f := newFake(t, []fakeHier{v1Memory(true), v1CPU, pids, v1Freezer})
	m := f.manager()
	_, err := m.Create("env", Limits{MemoryBytes: 64 << 20, PIDs: 16}, 1000)
	if err == nil || !strings.Contains(err.Error(), "pids.max") {
		t.Fatalf("err = %v, want one about pids.max", err)
	}
	for _, h := range []string{"memory/process_api/abc", "cpu,cpuacct", "pids", "freezer"} {
		if f.exists(h + "/sluice/env") {
			t.Errorf("%s/sluice/env left behind", h)
		}
		if !f.exists(h + "/sluice") {
			t.Errorf("%s/sluice removed", h)
		}
	}
	if _, err := m.Create("env", Limits{MemoryBytes: 64 << 20}, 1<<32-1); err == nil {
		t.Error("uid 2^32-1 (the kernel's -1) accepted")
	}

	// A failing chown rolls back too: here the freezer has no tasks file.
	freezer := v1Freezer
	freezer.files = map[string]string{"cgroup.procs": "", "freezer.state": "THAWED\n"}
	f = newFake(t, []fakeHier{v1Memory(true), freezer})
	m = f.manager()
	if _, err := m.Create("env", Limits{MemoryBytes: 64 << 20}, 1000); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Create = %v, want the chown's ErrNotExist", err)
	}
	if f.exists("memory/process_api/abc/sluice/env") || f.exists("freezer/sluice/env") {
		t.Error("left behind after failed chown")
	}
	if _, err := m.Create("env", Limits{MemoryBytes: 64 << 20}, -1); err != nil {
		t.Errorf("without chown: %v", err)
	}
}

func TestFakeCreateExisting(t *testing.T) {
	f := newFake(t, thisMachine(true))
	m := f.manager()
	if _, err := m.Create("env", Limits{MemoryBytes: 64 << 20}, -1); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Create("env", Limits{MemoryBytes: 1 << 30}, 5); !errors.Is(err, fs.ErrExist) {
		t.Errorf("second Create: %v, want ErrExist", err)
	}
	wantFile(t, f, "memory/process_api/abc/sluice/env/memory.limit_in_bytes", "67108864")
	if !f.exists("pids/sluice/env") {
		t.Error("failed Create removed the existing group")
	}
}

func TestFakeBadInput(t *testing.T) {
	f := newFake(t, thisMachine(true))
	m := f.manager()
	for _, name := range []string{"", ".", "..", "a/b", "/a", "a\x00", strings.Repeat("x", 256)} {
		if _, err := m.Create(name, Limits{}, -1); err == nil {
			t.Errorf("Create(%q) succeeded", name)
		}
	}
	for _, l := range []Limits{{MemoryBytes: -1}, {CPUWeight: -1}, {CPUWeight: 10001}, {PIDs: -1}} {
		if _, err := m.Create("env", l, -1); err == nil {
			t.Errorf("Create with %+v succeeded", l)
		}
	}
	if entries, _ := os.ReadDir(filepath.Join(f.root, "pids/sluice")); slices.ContainsFunc(entries, fs.DirEntry.IsDir) {
		t.Errorf("bad input left %v", entries)
	}
	for _, prefix := range []string{"a/b", "..", "x\x00"} {
		opts := f.opts
		opts.Prefix = prefix
		if _, err := newManager(opts, f.ops()); err == nil {
			t.Errorf("prefix %q accepted", prefix)
		}
	}
}

func TestFakeOOMKilledAndPeak(t *testing.T) {
	f := newFake(t, thisMachine(true))
	m := f.manager()
	g, err := m.Create("env", Limits{MemoryBytes: 64 << 20}, -1)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(f.root, "memory/process_api/abc/sluice/env")
	for _, c := range []struct {
		oomControl, failcnt string
		want                bool
	}{
		{"oom_kill_disable 0\nunder_oom 0\noom_kill 0\n", "0", false},
		{"oom_kill_disable 0\nunder_oom 0\noom_kill 0\n", "12", false}, // hit the limit, reclaimed, no kill
		{"oom_kill_disable 0\nunder_oom 0\noom_kill 2\n", "12", true},
		{"oom_kill_disable 0\nunder_oom 1\n", "3", true}, // before 4.13: no oom_kill line
		{"oom_kill_disable 0\nunder_oom 0\n", "3", false},
		{"oom_kill_disable 0\nunder_oom 1\n", "0", false},
	} {
		f.write(filepath.Join(dir, "memory.oom_control"), c.oomControl)
		f.write(filepath.Join(dir, "memory.failcnt"), c.failcnt)
		if got, err := g.OOMKilled(); err != nil || got != c.want {
			t.Errorf("oom_control %q failcnt %s: OOMKilled = %v, %v; want %v", c.oomControl, c.failcnt, got, err, c.want)
		}
	}
	f.write(filepath.Join(dir, "memory.oom_control"), "oom_kill x\n")
	if _, err := g.OOMKilled(); err == nil {
		t.Error("garbage oom_control parsed")
	}
	f.write(filepath.Join(dir, "memory.max_usage_in_bytes"), "67100672\n")
	if n, err := g.PeakMemory(); err != nil || n != 67100672 {
		t.Errorf("PeakMemory = %d, %v", n, err)
	}

	f2 := newFake(t, []fakeHier{v2Unified("", "/", "memory")})
	g2, err := f2.manager().Create("env", Limits{}, -1)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := g2.OOMKilled(); err != nil || got {
		t.Errorf("fresh v2 group: OOMKilled = %v, %v", got, err)
	}
	f2.write(filepath.Join(g2.Dir(), "memory.events"), "low 0\nhigh 0\nmax 40\noom 1\noom_kill 1\noom_group_kill 0\n")
	if got, err := g2.OOMKilled(); err != nil || !got {
		t.Errorf("v2 oom_kill 1: OOMKilled = %v, %v", got, err)
	}
	f2.write(filepath.Join(g2.Dir(), "memory.peak"), "5000\n")
	f2.write(filepath.Join(g2.Dir(), "memory.current"), "4000\n")
	if n, err := g2.PeakMemory(); err != nil || n != 5000 {
		t.Errorf("PeakMemory = %d, %v; want memory.peak", n, err)
	}
	// The file stays open: a later reading is the value then.
	f2.write(filepath.Join(g2.Dir(), "memory.peak"), "6000\n")
	if n, err := g2.PeakMemory(); err != nil || n != 6000 {
		t.Errorf("second PeakMemory = %d, %v; want 6000", n, err)
	}
	// A kernel without memory.peak (before 5.19): memory.current.
	g3, err := f2.manager().Create("env-old-kernel", Limits{}, -1)
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(g3.Dir(), "memory.peak"))
	f2.write(filepath.Join(g3.Dir(), "memory.current"), "4000\n")
	if n, err := g3.PeakMemory(); err != nil || n != 4000 {
		t.Errorf("PeakMemory = %d, %v; want memory.current", n, err)
	}
}

func TestFakeKillRemoveV1(t *testing.T) {
	f := newFake(t, thisMachine(true))
	m := f.manager()
	g, err := m.Create("env", Limits{MemoryBytes: 64 << 20}, -1)
	if err != nil {
		t.Fatal(err)
	}
	f.write(filepath.Join(f.root, "memory/process_api/abc/sluice/env/cgroup.procs"), fmt.Sprintf("%d\n%d\n", fakePid1, fakePid2))
	f.write(filepath.Join(f.root, "pids/sluice/env/cgroup.procs"), fmt.Sprintf("%d\n%d\n", fakePid1, fakePid3))
	if pids, err := g.Procs(); err != nil || !slices.Equal(pids, []int{fakePid1, fakePid2, fakePid3}) {
		t.Errorf("Procs = %v, %v", pids, err)
	}
	f.busy[filepath.Join(f.root, "pids/sluice/env")] = 3
	if err := g.Remove(); err != nil {
		t.Fatal(err)
	}
	slices.Sort(f.killed)
	if !slices.Equal(f.killed, []int{fakePid1, fakePid2, fakePid3}) {
		t.Errorf("killed %v", f.killed)
	}
	for _, p := range g.ProcsFiles() {
		if _, err := os.Stat(filepath.Dir(p)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s still there", filepath.Dir(p))
		}
	}
	if n := count(f.rmdirs, filepath.Join(f.root, "pids/sluice/env")); n != 4 {
		t.Errorf("pids group rmdir'ed %d times, want 3 EBUSY + 1", n)
	}
	if err := g.Remove(); err != nil {
		t.Errorf("second Remove: %v", err)
	}
	if pids, err := g.Procs(); err != nil || len(pids) != 0 {
		t.Errorf("Procs of a removed group = %v, %v", pids, err)
	}
	if err := g.Kill(); err != nil {
		t.Errorf("Kill of a removed group: %v", err)
	}
}

func count(list []string, s string) int {
	n := 0
	for _, x := range list {
		if x == s {
			n++
		}
	}
	return n
}

func TestFakeBadPidIsNotKilled(t *testing.T) {
	f := newFake(t, thisMachine(true))
	g, err := f.manager().Create("env", Limits{}, -1)
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"0", "-1", "x"} {
		f.write(filepath.Join(f.root, "pids/sluice/env/cgroup.procs"), bad+"\n")
		if err := g.Kill(); err == nil {
			t.Errorf("Kill with pid %q in cgroup.procs succeeded", bad)
		}
	}
	if len(f.killed) != 0 {
		t.Errorf("killed %v", f.killed)
	}
}

func TestFakeKillTimesOut(t *testing.T) {
	t.Parallel()
	f := newFake(t, thisMachine(true))
	m := f.manager()
	var mu sync.Mutex
	var killed []int
	m.ops.kill = func(pid int) error { // a process that does not die
		mu.Lock()
		defer mu.Unlock()
		killed = append(killed, pid)
		return nil
	}
	g, err := m.Create("env", Limits{}, -1)
	if err != nil {
		t.Fatal(err)
	}
	// The server's own pid in a group must never be signalled.
	f.write(filepath.Join(f.root, "pids/sluice/env/cgroup.procs"), fmt.Sprintf("%d\n%d\n", fakePid1, os.Getpid()))
	if err := g.Kill(); err == nil || !strings.Contains(err.Error(), strconv.Itoa(fakePid1)) {
		t.Errorf("Kill = %v, want an error naming the pid", err)
	}
	if len(killed) < 10 || slices.Contains(killed, os.Getpid()) || slices.ContainsFunc(killed, func(p int) bool { return p != fakePid1 }) {
		t.Errorf("killed %v, want %d again and again, never %d", killed, fakePid1, os.Getpid())
	}
	wantFile(t, f, "freezer/sluice/env/freezer.state", "THAWED")
}

func TestFakeCleanup(t *testing.T) {
	f := newFake(t, thisMachine(true))
	m := f.manager()
	mk := func(rel string) {
		if err := f.ops().mkdir(filepath.Join(f.root, rel)); err != nil {
			t.Fatal(err)
		}
	}
	// Leftovers: "old" in every hierarchy with a nested group and a
	// process; "half" only in the freezer (a crash inside Create).
	for _, h := range []string{"memory/process_api/abc", "cpu,cpuacct", "pids", "freezer"} {
		mk(h + "/sluice/old")
	}
	mk("memory/process_api/abc/sluice/old/nested")
	mk("memory/process_api/abc/sluice/old/nested/deeper")
	mk("freezer/sluice/half")
	f.write(filepath.Join(f.root, "memory/process_api/abc/sluice/old/nested/cgroup.procs"), fmt.Sprint(fakePid3))
	f.write(filepath.Join(f.root, "freezer/sluice/old/freezer.state"), "FROZEN\n")
	f.busy[filepath.Join(f.root, "memory/process_api/abc/sluice/old")] = 2
	// Not ours: a group beside Prefix, and Prefix's own control files.
	mk("memory/process_api/abc/other")

	// A second Manager, as after a restart.
	m2 := f.manager()
	n, err := m2.Cleanup()
	if err != nil || n != 2 {
		t.Fatalf("Cleanup = %d, %v; want 2, nil", n, err)
	}
	if !slices.Equal(f.killed, []int{fakePid3}) {
		t.Errorf("killed %v", f.killed)
	}
	for _, h := range []string{"memory/process_api/abc", "cpu,cpuacct", "pids", "freezer"} {
		if entries, _ := os.ReadDir(filepath.Join(f.root, h, "sluice")); slices.ContainsFunc(entries, fs.DirEntry.IsDir) {
			t.Errorf("%s/sluice still has groups: %v", h, entries)
		}
		if !f.exists(h + "/sluice/cgroup.procs") {
			t.Errorf("%s/sluice lost its own files", h)
		}
	}
	if !f.exists("memory/process_api/abc/other") {
		t.Error("Cleanup removed a group outside Prefix")
	}
	// Depth-first: deeper, nested, then old.
	order := slices.DeleteFunc(slices.Clone(f.rmdirs), func(p string) bool { return !strings.Contains(p, "memory/") })
	want := []string{"old/nested/deeper", "old/nested", "old", "old", "old"}
	if len(order) != len(want) {
		t.Fatalf("rmdir order %q", order)
	}
	for i := range want {
		if !strings.HasSuffix(order[i], "/sluice/"+want[i]) {
			t.Errorf("rmdir %d = %s, want .../%s", i, order[i], want[i])
		}
	}
	if n, err := m.Cleanup(); n != 0 || err != nil {
		t.Errorf("second Cleanup = %d, %v", n, err)
	}

	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"memory/process_api/abc", "cpu,cpuacct", "pids", "freezer"} {
		if f.exists(h + "/sluice") {
			t.Errorf("Close left %s/sluice", h)
		}
	}
}

func TestFakeRemoveGivesUp(t *testing.T) {
	t.Parallel()
	f := newFake(t, thisMachine(true))
	g, err := f.manager().Create("env", Limits{}, -1)
	if err != nil {
		t.Fatal(err)
	}
	f.busy[filepath.Join(f.root, "pids/sluice/env")] = 1 << 30
	err = g.Remove()
	if !errors.Is(err, syscall.EBUSY) {
		t.Errorf("Remove = %v, want EBUSY", err)
	}
	if f.exists("memory/process_api/abc/sluice/env") {
		t.Error("other hierarchies should still be removed")
	}
}
