// Package cgroup puts the processes of one execution environment into
// control groups: a memory limit without swap, a relative CPU weight, a
// limit on the number of processes and a freezer, on cgroup v1, v2 or a mix
// of both ("hybrid").
//
// A Manager is made once per server. New finds, for each controller, the
// hierarchy where sluice creates its groups: under the server's own cgroup in
// that hierarchy, in a directory named Options.Prefix that sluice owns. On a
// machine with v1 controllers and the server's memory cgroup at /a/b:
//
//	/sys/fs/cgroup/memory/a/b/<Prefix>/<name>
//	/sys/fs/cgroup/cpu/<Prefix>/<name>
//	/sys/fs/cgroup/pids/<Prefix>/<name>
//	/sys/fs/cgroup/freezer/<Prefix>/<name>
//
// Create makes one Group per environment. Its process joins the group
// itself, by writing its own pid into every ProcsFiles file before it execs
// the runtime (in v1 this works for an unprivileged process when the group
// was created for its uid), or, on v2, is started in it with
// SysProcAttr.CgroupFD. Remove kills what is left and removes the group.
// Cleanup, at start-up, removes what an earlier run left behind.
//
// Everything here reads and writes cgroupfs files as the server's user, so
// the server needs write access to its own cgroups: root, or a delegated
// subtree. A Manager and its Groups are safe for concurrent use.
package cgroup

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// The controllers sluice uses, by their kernel names.
const (
	ctlMemory  = "memory"
	ctlCPU     = "cpu"
	ctlPIDs    = "pids"
	ctlFreezer = "freezer" // in v2 not a controller but the cgroup.freeze file of every non-root group
)

// controllers is the order in which New looks for controllers.
var controllers = []string{ctlMemory, ctlCPU, ctlPIDs, ctlFreezer}

// Timing of Kill and Remove.
const (
	killTimeout  = 2 * time.Second       // Kill gives up after this long
	rmdirTimeout = 2 * time.Second       // Remove retries rmdir on EBUSY for this long
	pollInterval = 10 * time.Millisecond // between attempts
)

// ErrNoMemoryController is returned (wrapped, with the reasons) by New when
// no hierarchy with a usable memory controller was found. Callers then run
// without cgroups and should say so.
var ErrNoMemoryController = errors.New("cgroup: no usable memory controller")

// Limits of one group. A zero field leaves that resource unlimited (or, for
// CPUWeight, at the default share).
type Limits struct {
	// MemoryBytes is the memory limit in bytes. v1: memory.limit_in_bytes,
	// and memory.memsw.limit_in_bytes set to the same value when the kernel
	// accounts swap, so that the group cannot swap. v2: memory.max, and
	// memory.swap.max=0 when present.
	MemoryBytes int64
	// CPUWeight is the relative CPU share, 1..10000 on the cgroup v2 scale
	// where 100 is the default. v2: cpu.weight; v1: cpu.shares =
	// CPUWeight*1024/100, at least 2.
	CPUWeight int
	// PIDs is the most tasks (processes and threads) the group may hold:
	// pids.max.
	PIDs int
}

func (l Limits) validate() error {
	switch {
	case l.MemoryBytes < 0:
		return fmt.Errorf("cgroup: negative memory limit %d", l.MemoryBytes)
	case l.CPUWeight < 0 || l.CPUWeight > 10000:
		return fmt.Errorf("cgroup: CPU weight %d outside 1..10000", l.CPUWeight)
	case l.PIDs < 0:
		return fmt.Errorf("cgroup: negative pids limit %d", l.PIDs)
	}
	return nil
}

// Options configure New. Only Prefix matters in production; the other fields
// let tests point New at a fake cgroupfs.
type Options struct {
	// Prefix is the name of the directory sluice owns in every hierarchy,
	// under the server's own cgroup; "sluice" when empty. Cleanup removes
	// every group under it, so two servers sharing a cgroup need different
	// prefixes.
	Prefix string
	// Root is where cgroupfs is mounted; only mounts at or under it are used.
	// Default "/sys/fs/cgroup".
	Root string
	// ProcSelf is the file listing the process's cgroups. Default
	// "/proc/self/cgroup".
	ProcSelf string
	// MountInfo is the process's mount table. Default
	// "/proc/self/mountinfo".
	MountInfo string
}

// hierarchy is one mounted cgroup hierarchy that New decided to use.
type hierarchy struct {
	v2          bool
	base        string   // <mount point>/<own cgroup>/<Prefix>
	controllers []string // the controllers of ours it serves
}

// ops are the system calls that differ between the real cgroupfs and the
// fake one of the tests: in cgroupfs, mkdir creates the control files and
// rmdir removes a directory that still holds them.
type ops struct {
	mkdir func(path string) error
	rmdir func(path string) error
	kill  func(pid int) error // SIGKILL
}

var realOps = ops{
	mkdir: func(path string) error { return os.Mkdir(path, 0o755) },
	rmdir: func(path string) error {
		if err := syscall.Rmdir(path); err != nil {
			return &os.PathError{Op: "rmdir", Path: path, Err: err}
		}
		return nil
	},
	kill: func(pid int) error { return syscall.Kill(pid, syscall.SIGKILL) },
}

// Manager creates and removes groups in the hierarchies New chose.
type Manager struct {
	hiers []*hierarchy          // v2 (if used) first, then v1 in controllers order
	ctl   map[string]*hierarchy // controller → its hierarchy; absent when unusable
	ops   ops

	pinOnce sync.Once // makes the v1 freezer pin (pinFreezer)

	// swapFile caches whether the memory hierarchy's groups have a swap
	// limit file (v1 memory.memsw.limit_in_bytes, v2 memory.swap.max):
	// the kernel's configuration decides it for all of them.
	swapMu    sync.Mutex
	swapKnown bool
	swapFile  bool
}

// hasSwapFile reports whether path, the swap limit file of one of the
// Manager's memory groups, exists, stat-ing only the first time.
func (m *Manager) hasSwapFile(path string) (bool, error) {
	m.swapMu.Lock()
	defer m.swapMu.Unlock()
	if !m.swapKnown {
		ok, err := present(path)
		if err != nil {
			return false, err
		}
		m.swapKnown, m.swapFile = true, ok
	}
	return m.swapFile, nil
}

// pinName is the v1 freezer group that stays frozen, empty, for the
// Manager's life. The kernel enables the v1 freezer's hooks (a static key,
// freezer_active) when the first group on the machine starts freezing and
// disables them when the last one thaws; each switch patches kernel text
// and costs ~6 ms here, for freezing and again for thawing. While one
// group stays frozen, freezing or thawing another is a few microseconds.
// The pin holds no process, so keeping it frozen costs nothing. The thaw
// guard thaws it with the rest; Cleanup and Close remove it.
const pinName = "freezer-pin"

// pinFreezer makes and freezes the pin, once, before the first v1 freeze.
// A failure only leaves freezing slow.
func (m *Manager) pinFreezer() {
	h := m.ctl[ctlFreezer]
	if h == nil || h.v2 {
		return
	}
	dir := filepath.Join(h.base, pinName)
	if err := m.ops.mkdir(dir); err != nil && !errors.Is(err, fs.ErrExist) {
		return
	}
	_ = writeFile(filepath.Join(dir, "freezer.state"), "FROZEN")
}

// New finds, for each controller sluice uses (memory, cpu, pids, freezer),
// where a group can be created, and makes the Prefix directory there.
//
// A controller goes to the unified (v2) hierarchy when it is listed in the
// cgroup.controllers file of the process's own v2 cgroup and can be enabled
// in the cgroup.subtree_control files of that cgroup and of Prefix (New
// enables it). The v2 freezer (cgroup.freeze) is used when v2 is used for
// anything else. Every other controller goes to its v1 hierarchy, under the
// process's own cgroup there (from /proc/self/cgroup, mapped through the
// mount table). A controller found in neither is not used; Create then fails
// for limits that need it. New fails with ErrNoMemoryController when memory
// is usable nowhere.
//
// A v2 cgroup other than the root that holds processes cannot enable
// controllers for its children (the "no internal processes" rule), so on a
// pure v2 machine the server must run in a delegated cgroup of its own.
func New(opts Options) (*Manager, error) { return newManager(opts, realOps) }

func newManager(opts Options, o ops) (*Manager, error) {
	if opts.Prefix == "" {
		opts.Prefix = "sluice"
	}
	if opts.Root == "" {
		opts.Root = "/sys/fs/cgroup"
	}
	if opts.ProcSelf == "" {
		opts.ProcSelf = "/proc/self/cgroup"
	}
	if opts.MountInfo == "" {
		opts.MountInfo = "/proc/self/mountinfo"
	}
	if err := checkName(opts.Prefix); err != nil {
		return nil, fmt.Errorf("cgroup: prefix: %w", err)
	}
	data, err := os.ReadFile(opts.ProcSelf)
	if err != nil {
		return nil, fmt.Errorf("cgroup: %w", err)
	}
	own, err := parseProcCgroup(data)
	if err != nil {
		return nil, fmt.Errorf("cgroup: %s: %w", opts.ProcSelf, err)
	}
	if data, err = os.ReadFile(opts.MountInfo); err != nil {
		return nil, fmt.Errorf("cgroup: %w", err)
	}
	mounts, err := parseMountInfo(data)
	if err != nil {
		return nil, fmt.Errorf("cgroup: %s: %w", opts.MountInfo, err)
	}
	mounts = slices.DeleteFunc(mounts, func(mt mount) bool { return !within(mt.point, opts.Root) })

	m := &Manager{ctl: map[string]*hierarchy{}, ops: o}
	var why []string
	if err := m.useV2(own, mounts, opts.Prefix); err != nil {
		why = append(why, "v2: "+err.Error())
	}
	for _, c := range controllers {
		if m.ctl[c] != nil {
			continue
		}
		if err := m.useV1(c, own, mounts, opts.Prefix); err != nil {
			why = append(why, "v1 "+c+": "+err.Error())
		}
	}
	if m.ctl[ctlMemory] == nil {
		return nil, fmt.Errorf("%w (mounts under %s; %s)", ErrNoMemoryController, opts.Root, strings.Join(why, "; "))
	}
	return m, nil
}

// useV2 claims for the unified hierarchy what it can serve.
func (m *Manager) useV2(own procCgroups, mounts []mount, prefix string) error {
	if !own.hasV2 {
		return errors.New("process has no cgroup2 entry")
	}
	dir, err := ownDir(mounts, "cgroup2", "", own.v2)
	if err != nil {
		return err
	}
	avail, err := readFields(filepath.Join(dir, "cgroup.controllers"))
	if err != nil {
		return err
	}
	want := slices.DeleteFunc([]string{ctlMemory, ctlCPU, ctlPIDs}, func(c string) bool { return !slices.Contains(avail, c) })
	if len(want) == 0 {
		return fmt.Errorf("%s/cgroup.controllers has none of memory, cpu, pids (%q)", dir, strings.Join(avail, " "))
	}
	if want, err = enable(dir, want); len(want) == 0 {
		return err
	}
	base := filepath.Join(dir, prefix)
	if err := m.ops.mkdir(base); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	if want, err = enable(base, want); len(want) == 0 {
		return err
	}
	h := &hierarchy{v2: true, base: base, controllers: want}
	if ok, _ := present(filepath.Join(base, "cgroup.freeze")); ok {
		h.controllers = append(h.controllers, ctlFreezer)
	}
	m.add(h)
	return nil
}

// enable enables the controllers want for the children of the v2 group dir
// and returns those that are enabled (in the order of want), with the first
// error met.
func enable(dir string, want []string) ([]string, error) {
	file := filepath.Join(dir, "cgroup.subtree_control")
	on, err := readFields(file)
	if err != nil {
		return nil, err
	}
	var got, missing []string
	for _, c := range want {
		if slices.Contains(on, c) {
			got = append(got, c)
		} else {
			missing = append(missing, c)
		}
	}
	if len(missing) == 0 {
		return got, nil
	}
	// One write for all; the kernel applies all or none of it.
	first := writeFile(file, "+"+strings.Join(missing, " +"))
	if first == nil {
		return want, nil
	}
	for _, c := range missing {
		if writeFile(file, "+"+c) == nil {
			got = append(got, c)
		}
	}
	slices.SortFunc(got, func(a, b string) int { return slices.Index(want, a) - slices.Index(want, b) })
	return got, first
}

// useV1 claims controller c in its v1 hierarchy.
func (m *Manager) useV1(c string, own procCgroups, mounts []mount, prefix string) error {
	path, ok := own.v1[c]
	if !ok {
		return errors.New("not in the process's cgroup file")
	}
	dir, err := ownDir(mounts, "cgroup", c, path)
	if err != nil {
		return err
	}
	base := filepath.Join(dir, prefix)
	for _, h := range m.hiers { // mounted together with one already claimed (cpu,cpuacct,memory, ...)
		if !h.v2 && h.base == base {
			h.controllers = append(h.controllers, c)
			m.ctl[c] = h
			return nil
		}
	}
	if err := m.ops.mkdir(base); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	m.add(&hierarchy{base: base, controllers: []string{c}})
	return nil
}

func (m *Manager) add(h *hierarchy) {
	m.hiers = append(m.hiers, h)
	for _, c := range h.controllers {
		m.ctl[c] = h
	}
}

// Version reports what New chose, for logs: "v1", "v2" or "hybrid" (some
// controllers in each).
func (m *Manager) Version() string {
	var v1, v2 bool
	for _, h := range m.hiers {
		v1, v2 = v1 || !h.v2, v2 || h.v2
	}
	switch {
	case v1 && v2:
		return "hybrid"
	case v2:
		return "v2"
	}
	return "v1"
}

// Paths maps each controller in use ("memory", "cpu", "pids", "freezer") to
// the Prefix directory that holds its groups, for logs.
func (m *Manager) Paths() map[string]string {
	p := map[string]string{}
	for c, h := range m.ctl {
		p[c] = h.base
	}
	return p
}

// Cleanup removes the groups found under Prefix, left by an earlier run
// (after a crash, say): each is removed as by Group.Remove, which thaws it,
// SIGKILLs its processes, waits for them to leave and removes its
// directories depth-first. It returns how many groups it removed, and the
// errors of those it could not remove.
func (m *Manager) Cleanup() (int, error) {
	var names []string
	var errs []error
	for _, h := range m.hiers {
		entries, err := os.ReadDir(h.base)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
		for _, e := range entries {
			if e.IsDir() && e.Name() != pinName && !slices.Contains(names, e.Name()) {
				names = append(names, e.Name())
			}
		}
	}
	sort.Strings(names)
	// A pin left by an earlier run (or this one's, at Close) goes too; it
	// is not one of the groups counted.
	if err := m.group(pinName).Remove(); err != nil {
		errs = append(errs, err)
	}
	n := 0
	for _, name := range names {
		if err := m.group(name).Remove(); err != nil {
			errs = append(errs, err)
		} else {
			n++
		}
	}
	return n, errors.Join(errs...)
}

// Close removes every group under Prefix, as Cleanup does, and then the
// Prefix directories themselves: for a clean shutdown, when every
// environment is gone.
func (m *Manager) Close() error {
	_, err := m.Cleanup()
	if err != nil {
		return err
	}
	deadline := time.Now().Add(rmdirTimeout)
	var errs []error
	for _, h := range m.hiers {
		errs = append(errs, m.rmdir(h.base, deadline))
	}
	return errors.Join(errs...)
}

// Create makes a group called name (a single path element) under Prefix in
// every hierarchy in use and sets its limits. When uid >= 0 it gives uid the
// files a process writes its own pid into to join the group (cgroup.procs,
// and tasks in v1), so that an unprivileged process running as uid can join
// itself; the limit files stay root's. A group that already exists is an
// error, and so is a limit that cannot be set: Create then removes what it
// made.
func (m *Manager) Create(name string, l Limits, uid int) (*Group, error) {
	if err := checkName(name); err != nil {
		return nil, fmt.Errorf("cgroup: group name: %w", err)
	}
	if err := l.validate(); err != nil {
		return nil, err
	}
	if uid >= 1<<32-1 {
		return nil, fmt.Errorf("cgroup: uid %d out of range", uid)
	}
	if l.CPUWeight > 0 && m.ctl[ctlCPU] == nil {
		return nil, errors.New("cgroup: CPU weight requested but no cpu controller is usable")
	}
	if l.PIDs > 0 && m.ctl[ctlPIDs] == nil {
		return nil, errors.New("cgroup: pids limit requested but no pids controller is usable")
	}
	g := m.group(name)
	var made []string
	err := func() error {
		for _, d := range g.dirs {
			if err := m.ops.mkdir(d); err != nil {
				return err
			}
			made = append(made, d)
		}
		if err := g.setLimits(l); err != nil {
			return err
		}
		if uid < 0 {
			return nil
		}
		for i, h := range m.hiers {
			files := []string{"cgroup.procs"}
			if !h.v2 {
				files = append(files, "tasks")
			}
			for _, f := range files {
				if err := os.Chown(filepath.Join(g.dirs[i], f), uid, -1); err != nil {
					return err
				}
			}
		}
		return nil
	}()
	if err != nil {
		errs := []error{fmt.Errorf("cgroup: create %s: %w", name, err)}
		deadline := time.Now().Add(rmdirTimeout)
		for i := len(made) - 1; i >= 0; i-- {
			errs = append(errs, m.rmdir(made[i], deadline))
		}
		return nil, errors.Join(errs...)
	}
	return g, nil
}

// group returns the Group called name, without creating anything.
func (m *Manager) group(name string) *Group {
	g := &Group{m: m, name: name}
	for _, h := range m.hiers {
		g.dirs = append(g.dirs, filepath.Join(h.base, name))
	}
	return g
}

// removeTree removes dir and the groups below it, depth-first. It is not an
// error if dir does not exist.
func (m *Manager) removeTree(dir string, deadline time.Time) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return err
	}
	for _, e := range entries {
		if e.IsDir() {
			if err := m.removeTree(filepath.Join(dir, e.Name()), deadline); err != nil {
				return err
			}
		}
	}
	return m.rmdir(dir, deadline)
}

// rmdir removes the group directory dir, retrying on EBUSY until deadline:
// a cgroup stays busy for a moment after its last process exited. It is not
// an error if dir does not exist.
func (m *Manager) rmdir(dir string, deadline time.Time) error {
	for {
		err := m.ops.rmdir(dir)
		if err == nil || errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if !errors.Is(err, syscall.EBUSY) || time.Now().After(deadline) {
			return err
		}
		time.Sleep(pollInterval)
	}
}

// checkName accepts a single, ordinary path element.
func checkName(name string) error {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\x00") || len(name) > 255 {
		return fmt.Errorf("%q is not a single path element", name)
	}
	return nil
}

// writeFile writes s to an existing cgroupfs file. Unlike os.WriteFile it
// never creates the file: a control file that is missing is an error.
func writeFile(path, s string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteString(s)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("writing %q: %w", s, err)
	}
	return nil
}

// readInt reads a file holding one integer.
func readInt(path string) (int64, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(data)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	return n, nil
}

// readFields reads a file of space-separated words.
func readFields(path string) ([]string, error) {
	data, err := os.ReadFile(path)
	return strings.Fields(string(data)), err
}

// readKeyed reads a flat-keyed file ("key value" lines), as memory.events
// and memory.oom_control.
func readKeyed(path string) (map[string]int64, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	kv := map[string]int64{}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) != 2 {
			continue
		}
		n, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		kv[f[0]] = n
	}
	return kv, nil
}
