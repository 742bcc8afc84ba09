package cgroup

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// The Prefix directories hold every group a Manager creates, so limits set
// on them (SetLimits) bound all the groups together: in v1 as in v2 a
// group's usage is charged to every ancestor up to the root, and a charge
// beyond an ancestor's limit fails (pids: fork gets EAGAIN) or reclaims and
// then OOM-kills inside that ancestor's subtree only (memory).

// SetLimits sets l on the Manager's own directories, the parents of all its
// groups. Only MemoryBytes and PIDs are meaningful here (CPUWeight would
// weigh the whole of sluice's groups against their siblings). A v1 memory
// hierarchy must account hierarchically (memory.use_hierarchy, always 1
// since Linux 5.11): SetLimits sets it when it can and fails when it is
// off, since a parent limit would bound nothing then.
func (m *Manager) SetLimits(l Limits) error {
	if err := l.validate(); err != nil {
		return err
	}
	if l.PIDs > 0 && m.ctl[ctlPIDs] == nil {
		return errors.New("cgroup: pids limit requested but no pids controller is usable")
	}
	if h := m.ctl[ctlMemory]; l.MemoryBytes > 0 && !h.v2 {
		file := filepath.Join(h.base, "memory.use_hierarchy")
		if n, err := readInt(file); err == nil && n == 0 {
			if err := writeFile(file, "1"); err != nil {
				return fmt.Errorf("cgroup: %s is 0 and cannot be set, so a limit on %s would not bound its groups: %w", file, h.base, err)
			}
		}
	}
	p := m.parent()
	if err := p.SetLimits(Limits{MemoryBytes: l.MemoryBytes, PIDs: l.PIDs}); err != nil {
		return fmt.Errorf("cgroup: limits of %s: %w", m.ctl[ctlMemory].base, err)
	}
	return nil
}

// parent is the Group of the Manager's own directories.
func (m *Manager) parent() *Group {
	g := &Group{m: m, name: filepath.Base(m.ctl[ctlMemory].base)}
	for _, h := range m.hiers {
		g.dirs = append(g.dirs, h.base)
	}
	return g
}

// PIDs returns how many tasks (processes and threads) all the groups hold
// together and the limit on them (pids.current and pids.max of the Prefix
// directory; limit -1 when "max"). Without a pids controller both are -1.
// A single read each, cheap enough for every environment's start.
func (m *Manager) PIDs() (current, limit int64, err error) {
	h := m.ctl[ctlPIDs]
	if h == nil {
		return -1, -1, nil
	}
	if current, err = readInt(filepath.Join(h.base, "pids.current")); err != nil {
		return -1, -1, fmt.Errorf("cgroup: %w", err)
	}
	b, err := os.ReadFile(filepath.Join(h.base, "pids.max"))
	if err != nil {
		return -1, -1, fmt.Errorf("cgroup: %w", err)
	}
	s := strings.TrimSpace(string(b))
	if s == "max" {
		return current, -1, nil
	}
	if limit, err = strconv.ParseInt(s, 10, 64); err != nil {
		return -1, -1, fmt.Errorf("cgroup: pids.max %q: %w", s, err)
	}
	return current, limit, nil
}

// HostLimits are the default limits of all environments together, derived
// from this host: memory is MemTotal (/proc/meminfo) less a reserve for
// the host and sluice, max(1 GiB, MemTotal/8) but at most half; tasks are half of the
// smaller of kernel.pid_max and kernel.threads-max.
func HostLimits() (Limits, error) {
	mem, err := memTotal("/proc/meminfo")
	if err != nil {
		return Limits{}, err
	}
	pidMax, err := readInt("/proc/sys/kernel/pid_max")
	if err != nil {
		return Limits{}, fmt.Errorf("cgroup: %w", err)
	}
	threadsMax, err := readInt("/proc/sys/kernel/threads-max")
	if err != nil {
		return Limits{}, fmt.Errorf("cgroup: %w", err)
	}
	return hostLimits(mem, pidMax, threadsMax), nil
}

// hostLimits is HostLimits' arithmetic.
func hostLimits(memTotal, pidMax, threadsMax int64) Limits {
	reserve := min(max(1<<30, memTotal/8), memTotal/2)
	return Limits{
		MemoryBytes: memTotal - reserve,
		PIDs:        int(max(1, min(pidMax, threadsMax)/2)),
	}
}

// memTotal reads MemTotal, in bytes, from a meminfo file.
func memTotal(path string) (int64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("cgroup: %w", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("cgroup: %s: MemTotal: %w", path, err)
			}
			return kb << 10, nil
		}
	}
	return 0, fmt.Errorf("cgroup: %s has no MemTotal", path)
}
