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
	"time"
)

// Group is one group made by Manager.Create: a directory of the same name in
// every hierarchy the Manager uses.
type Group struct {
	m    *Manager
	name string
	dirs []string // dirs[i] is the group's directory in m.hiers[i]

	// freezer is the freezer control file, opened by the first Freeze or
	// Thaw and kept open: one write(2) per change, no open and close on
	// the invocation path. Remove closes it.
	freezeMu sync.Mutex
	freezer  *os.File

	// peak is the peak-memory file, opened by the first PeakMemory and
	// kept open: each reading is one pread(2) at offset 0, which makes
	// cgroupfs render the value afresh (a REPORT line per invocation reads
	// it). Remove closes it.
	peakMu   sync.Mutex
	peak     *os.File
	peakPath string

	// set are the limits this Group last wrote (a zero field: none, or
	// unknown); SetLimits skips the writes that would change nothing.
	// Only sluice writes the limit files of its groups.
	limMu sync.Mutex
	set   Limits
}

// Name returns the name the group was created with.
func (g *Group) Name() string { return g.name }

// dir returns the group's directory in the hierarchy of controller c, and
// whether that hierarchy is v2; "" when c is not in use.
func (g *Group) dir(c string) (string, bool) {
	h := g.m.ctl[c]
	if h == nil {
		return "", false
	}
	return g.dirs[slices.Index(g.m.hiers, h)], h.v2
}

// ProcsFiles are the files a process writes its own pid into to join the
// group, one cgroup.procs per hierarchy. A process must join them all, and
// before it execs anything it does not trust.
//
// In v2 the kernel also requires write access to the cgroup.procs of the
// common ancestor of the old and the new group, so an unprivileged process
// cannot join by itself there: start it in the group with
// SysProcAttr.CgroupFD (see Dir) instead.
func (g *Group) ProcsFiles() []string {
	files := make([]string, len(g.dirs))
	for i, d := range g.dirs {
		files[i] = filepath.Join(d, "cgroup.procs")
	}
	return files
}

// Dir returns the group's directory in the unified (v2) hierarchy, to be
// opened for SysProcAttr.UseCgroupFD, or "" when v2 is not in use.
func (g *Group) Dir() string {
	for i, h := range g.m.hiers {
		if h.v2 {
			return g.dirs[i]
		}
	}
	return ""
}

// setLimits writes the limits into the group's files, leaving alone
// those that already hold the value this Group last wrote there. Called
// with limMu held, or on a group nobody else has yet.
func (g *Group) setLimits(l Limits) error {
	if l.MemoryBytes > 0 && l.MemoryBytes != g.set.MemoryBytes {
		g.set.MemoryBytes = 0 // unknown until both files are written
		d, v2 := g.dir(ctlMemory)
		limit, swap, swapValue := "memory.limit_in_bytes", "memory.memsw.limit_in_bytes", l.MemoryBytes
		if v2 {
			limit, swap, swapValue = "memory.max", "memory.swap.max", 0
		}
		// v1: memsw must never be below the memory limit, so it comes second.
		if err := writeFile(filepath.Join(d, limit), strconv.FormatInt(l.MemoryBytes, 10)); err != nil {
			return err
		}
		if ok, err := g.m.hasSwapFile(filepath.Join(d, swap)); err != nil {
			return err
		} else if ok {
			if err := writeFile(filepath.Join(d, swap), strconv.FormatInt(swapValue, 10)); err != nil {
				return err
			}
		}
		g.set.MemoryBytes = l.MemoryBytes
	}
	if l.CPUWeight > 0 && l.CPUWeight != g.set.CPUWeight {
		d, v2 := g.dir(ctlCPU)
		file, value := "cpu.shares", max(2, l.CPUWeight*1024/100)
		if v2 {
			file, value = "cpu.weight", l.CPUWeight
		}
		if err := writeFile(filepath.Join(d, file), strconv.Itoa(value)); err != nil {
			return err
		}
		g.set.CPUWeight = l.CPUWeight
	}
	if l.PIDs > 0 && l.PIDs != g.set.PIDs {
		d, _ := g.dir(ctlPIDs)
		if err := writeFile(filepath.Join(d, "pids.max"), strconv.Itoa(l.PIDs)); err != nil {
			return err
		}
		g.set.PIDs = l.PIDs
	}
	return nil
}

// Freeze stops every process of the group (v1: freezer.state=FROZEN, v2:
// cgroup.freeze=1). It does not wait until all of them are stopped. It does
// nothing when no freezer is in use.
func (g *Group) Freeze() error { return g.setFrozen(true, true) }

// Thaw lets the processes of a frozen group run again. It does nothing when
// no freezer is in use.
func (g *Group) Thaw() error { return g.setFrozen(false, false) }

// setFrozen freezes or thaws the group; pin makes the v1 freezer pin first
// (see pinName) when freezing.
func (g *Group) setFrozen(frozen, pin bool) error {
	d, v2 := g.dir(ctlFreezer)
	if d == "" {
		return nil
	}
	// Both values of each file have the same length, so writing at offset
	// 0 of the open file is the whole value (cgroupfs ignores the offset;
	// a fake file of the tests is overwritten in place).
	file, value := "freezer.state", "THAWED"
	switch {
	case v2 && frozen:
		file, value = "cgroup.freeze", "1"
	case v2:
		file, value = "cgroup.freeze", "0"
	case frozen:
		value = "FROZEN"
	}
	if pin && !v2 {
		g.m.pinOnce.Do(g.m.pinFreezer)
	}
	g.freezeMu.Lock()
	defer g.freezeMu.Unlock()
	if g.freezer == nil {
		f, err := os.OpenFile(filepath.Join(d, file), os.O_WRONLY, 0)
		if err != nil {
			return fmt.Errorf("cgroup: %w", err)
		}
		g.freezer = f
	}
	if _, err := g.freezer.WriteAt([]byte(value), 0); err != nil {
		return fmt.Errorf("cgroup: writing %q to %s: %w", value, filepath.Join(d, file), err)
	}
	return nil
}

// closeFiles closes the files kept open by setFrozen and PeakMemory.
func (g *Group) closeFiles() {
	g.freezeMu.Lock()
	if g.freezer != nil {
		g.freezer.Close()
		g.freezer = nil
	}
	g.freezeMu.Unlock()
	g.peakMu.Lock()
	if g.peak != nil {
		g.peak.Close()
		g.peak = nil
	}
	g.peakMu.Unlock()
}

// OOMKilled reports whether the kernel's OOM killer killed a process of the
// group since it was created. v1: "oom_kill N" of memory.oom_control, or on
// kernels before 4.13 that lack it, memory.failcnt > 0 while under_oom is 1
// (which sees only an OOM still in progress). v2: "oom_kill" of
// memory.events.
func (g *Group) OOMKilled() (bool, error) {
	d, v2 := g.dir(ctlMemory)
	if v2 {
		ev, err := readKeyed(filepath.Join(d, "memory.events"))
		if err != nil {
			return false, fmt.Errorf("cgroup: %w", err)
		}
		return ev["oom_kill"] > 0, nil
	}
	oc, err := readKeyed(filepath.Join(d, "memory.oom_control"))
	if err != nil {
		return false, fmt.Errorf("cgroup: %w", err)
	}
	if n, ok := oc["oom_kill"]; ok {
		return n > 0, nil
	}
	fails, err := readInt(filepath.Join(d, "memory.failcnt"))
	if err != nil {
		return false, fmt.Errorf("cgroup: %w", err)
	}
	return fails > 0 && oc["under_oom"] == 1, nil
}

// PeakMemory returns the group's peak memory usage in bytes: v1
// memory.max_usage_in_bytes; v2 memory.peak, or memory.current on kernels
// without it (before 5.19).
func (g *Group) PeakMemory() (int64, error) {
	g.peakMu.Lock()
	defer g.peakMu.Unlock()
	if g.peak == nil {
		d, v2 := g.dir(ctlMemory)
		file := filepath.Join(d, "memory.max_usage_in_bytes")
		if v2 {
			file = filepath.Join(d, "memory.peak")
			if ok, err := present(file); err != nil {
				return 0, fmt.Errorf("cgroup: %w", err)
			} else if !ok {
				file = filepath.Join(d, "memory.current")
			}
		}
		f, err := os.Open(file)
		if err != nil {
			return 0, fmt.Errorf("cgroup: %w", err)
		}
		g.peak, g.peakPath = f, file
	}
	// One pread(2): ReadAt would read again until EOF.
	var buf [32]byte
	n, err := syscall.Pread(int(g.peak.Fd()), buf[:], 0)
	if err != nil {
		return 0, fmt.Errorf("cgroup: reading %s: %w", g.peakPath, err)
	}
	v, err := strconv.ParseInt(strings.TrimSpace(string(buf[:n])), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("cgroup: %s: %w", g.peakPath, err)
	}
	return v, nil
}

// Procs lists, sorted, the processes in the group (and in any group below
// it) in any of its hierarchies. A removed group has none.
func (g *Group) Procs() ([]int, error) {
	var pids []int
	for _, d := range g.dirs {
		if err := procsTree(d, &pids); err != nil {
			return nil, fmt.Errorf("cgroup: %w", err)
		}
	}
	slices.Sort(pids)
	return slices.Compact(pids), nil
}

// procsTree appends the pids of the group dir and of the groups below it.
func procsTree(dir string, pids *[]int) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return err
	}
	for _, e := range entries {
		if e.IsDir() {
			if err := procsTree(filepath.Join(dir, e.Name()), pids); err != nil {
				return err
			}
		}
	}
	data, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
	if errors.Is(err, fs.ErrNotExist) { // removed meanwhile
		return nil
	} else if err != nil {
		return err
	}
	for _, f := range strings.Fields(string(data)) {
		pid, err := strconv.Atoi(f)
		if err != nil || pid <= 0 { // never let kill(2) see 0 or -1
			return fmt.Errorf("%s/cgroup.procs: bad pid %q", dir, f)
		}
		*pids = append(*pids, pid)
	}
	return nil
}

// Kill SIGKILLs every process in the group, and in any group below it,
// until none is left, for at most about 2 s. Each round writes cgroup.kill
// where v2 has it, then freezes the group (without waiting: it only narrows
// the windows in which a process forks, or exits and has its pid reused,
// between the listing and the signal), signals every listed process and
// thaws the group, since a frozen v1 process dies only once thawed. Kill
// never signals the calling process.
func (g *Group) Kill() error {
	deadline := time.Now().Add(killTimeout)
	self := os.Getpid()
	for {
		pids, err := g.Procs()
		if err != nil {
			return err
		}
		if len(pids) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("cgroup: kill %s: processes %v still in the group after %v", g.name, pids, killTimeout)
		}
		if d := g.Dir(); d != "" {
			if ok, _ := present(filepath.Join(d, "cgroup.kill")); ok {
				_ = writeFile(filepath.Join(d, "cgroup.kill"), "1")
			}
		}
		_ = g.setFrozen(true, false) // no pin: Cleanup and Close must not make one
		if pids, err = g.Procs(); err != nil {
			return err
		}
		for _, pid := range pids {
			if pid != self {
				_ = g.m.ops.kill(pid)
			}
		}
		if err := g.Thaw(); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		time.Sleep(pollInterval)
	}
}

// Remove kills what is left in the group (as Kill) and removes its
// directories, and any group below them, retrying rmdir on EBUSY for about
// 2 s. Removing a removed group does nothing.
func (g *Group) Remove() error {
	errs := []error{g.Kill()}
	g.closeFiles()
	deadline := time.Now().Add(rmdirTimeout)
	for _, d := range g.dirs {
		if err := g.m.removeTree(d, deadline); err != nil {
			errs = append(errs, fmt.Errorf("cgroup: remove %s: %w", g.name, err))
		}
	}
	return errors.Join(errs...)
}

// present reports whether path exists.
func present(path string) (bool, error) {
	_, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}

// SetLimits changes the limits of a group that exists (and may already
// hold processes). A v1 memory limit is written before or after its
// memory+swap limit as the kernel requires (memsw may never be below it).
func (g *Group) SetLimits(l Limits) error {
	if err := l.validate(); err != nil {
		return err
	}
	g.limMu.Lock()
	defer g.limMu.Unlock()
	if l.MemoryBytes > 0 && l.MemoryBytes != g.set.MemoryBytes {
		if d, v2 := g.dir(ctlMemory); !v2 {
			// Raising: memsw first, or the memory write is refused. The
			// memsw limit is the memory limit this Group last wrote, or
			// read when unknown.
			swap := filepath.Join(d, "memory.memsw.limit_in_bytes")
			cur := g.set.MemoryBytes
			if cur == 0 {
				var err error
				if cur, err = readInt(swap); err != nil {
					cur = l.MemoryBytes // no memsw file: nothing to raise
				}
			}
			if cur < l.MemoryBytes {
				if ok, err := g.m.hasSwapFile(swap); err != nil {
					return err
				} else if ok {
					g.set.MemoryBytes = 0 // unknown until setLimits is through
					if err := writeFile(swap, strconv.FormatInt(l.MemoryBytes, 10)); err != nil {
						return err
					}
				}
			}
		}
	}
	return g.setLimits(l)
}
