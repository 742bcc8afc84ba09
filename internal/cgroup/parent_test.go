package cgroup

import (
	"os"
	"path/filepath"
	"testing"
)

// SetLimits bounds all groups together: the limits go on the Prefix
// directories, v1 memory with its memsw twin; PIDs reads them back.
func TestFakeParentLimitsV1(t *testing.T) {
	f := newFake(t, thisMachine(true))
	m := f.manager()
	f.write(filepath.Join(f.root, "memory/process_api/abc/sluice/memory.use_hierarchy"), "0\n")
	if err := m.SetLimits(Limits{MemoryBytes: 3 << 30, PIDs: 16384}); err != nil {
		t.Fatal(err)
	}
	wantFile(t, f, "memory/process_api/abc/sluice/memory.limit_in_bytes", "3221225472")
	wantFile(t, f, "memory/process_api/abc/sluice/memory.memsw.limit_in_bytes", "3221225472")
	wantFile(t, f, "memory/process_api/abc/sluice/memory.use_hierarchy", "1")
	wantFile(t, f, "pids/sluice/pids.max", "16384")
	wantFile(t, f, "cpu,cpuacct/sluice/cpu.shares", "1024") // untouched

	f.write(filepath.Join(f.root, "pids/sluice/pids.current"), "42\n")
	cur, limit, err := m.PIDs()
	if err != nil || cur != 42 || limit != 16384 {
		t.Errorf("PIDs = %d, %d, %v; want 42, 16384", cur, limit, err)
	}
	// Raising a v1 memory limit writes memsw first (the kernel refuses
	// memory above memsw); the fake only sees the end state.
	if err := m.SetLimits(Limits{MemoryBytes: 4 << 30}); err != nil {
		t.Fatal(err)
	}
	wantFile(t, f, "memory/process_api/abc/sluice/memory.limit_in_bytes", "4294967296")
	wantFile(t, f, "memory/process_api/abc/sluice/memory.memsw.limit_in_bytes", "4294967296")

	if err := m.SetLimits(Limits{MemoryBytes: -1}); err == nil {
		t.Error("SetLimits accepted a negative memory limit")
	}
}

func TestFakeParentLimitsV2(t *testing.T) {
	unified := v2Unified("unified", "/", "memory cpu pids")
	unified.files["pids.current"] = "7\n"
	f := newFake(t, []fakeHier{unified})
	m := f.manager()
	if _, limit, err := m.PIDs(); err != nil || limit != -1 {
		t.Errorf("PIDs limit before SetLimits = %d, %v; want -1 (max)", limit, err)
	}
	if err := m.SetLimits(Limits{MemoryBytes: 1 << 30, PIDs: 100}); err != nil {
		t.Fatal(err)
	}
	wantFile(t, f, "unified/sluice/memory.max", "1073741824")
	wantFile(t, f, "unified/sluice/memory.swap.max", "0")
	wantFile(t, f, "unified/sluice/pids.max", "100")
	if cur, limit, err := m.PIDs(); err != nil || cur != 7 || limit != 100 {
		t.Errorf("PIDs = %d, %d, %v; want 7, 100", cur, limit, err)
	}
}

// Without a pids controller a pids limit is an error and PIDs says -1.
func TestFakeParentLimitsNoPIDs(t *testing.T) {
	f := newFake(t, []fakeHier{v1Memory(true), v1Freezer})
	m := f.manager()
	if err := m.SetLimits(Limits{PIDs: 10}); err == nil {
		t.Error("SetLimits set a pids limit without a pids controller")
	}
	if cur, limit, err := m.PIDs(); err != nil || cur != -1 || limit != -1 {
		t.Errorf("PIDs = %d, %d, %v; want -1, -1", cur, limit, err)
	}
}

func TestHostLimits(t *testing.T) {
	// This machine: 24683628 kB, pid_max 32768, threads-max 192724.
	l := hostLimits(24683628<<10, 32768, 192724)
	if want := int64(24683628<<10) - int64(24683628<<10)/8; l.MemoryBytes != want {
		t.Errorf("memory = %d, want %d (MemTotal less 1/8)", l.MemoryBytes, want)
	}
	if l.PIDs != 16384 {
		t.Errorf("pids = %d, want 16384 (half of pid_max)", l.PIDs)
	}
	// A small host keeps 1 GiB.
	if l := hostLimits(2<<30, 4194304, 1000); l.MemoryBytes != 1<<30 || l.PIDs != 500 {
		t.Errorf("small host: %+v, want 1 GiB and 500 tasks", l)
	}
	if l := hostLimits(512<<20, 100, 100); l.MemoryBytes != 256<<20 {
		t.Errorf("tiny host: memory %d, want half of it", l.MemoryBytes)
	}

	meminfo := filepath.Join(t.TempDir(), "meminfo")
	os.WriteFile(meminfo, []byte("MemTotal:       24683628 kB\nMemFree:        23203612 kB\n"), 0o644)
	if n, err := memTotal(meminfo); err != nil || n != 24683628<<10 {
		t.Errorf("memTotal = %d, %v", n, err)
	}
	real, err := HostLimits()
	if err != nil || real.MemoryBytes <= 0 || real.PIDs <= 0 {
		t.Errorf("HostLimits = %+v, %v", real, err)
	}
}
