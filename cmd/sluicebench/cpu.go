package main

// Server CPU: the CPU time of one server process (sluice or the relay), not
// of its children (the functions, bubblewrap), read around the calls that
// the measurement makes to that server alone.

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// procRoot is where procCPU reads; a test points it at a fake tree.
var procRoot = "/proc"

// clockTick is the unit of utime and stime in /proc/PID/stat (USER_HZ,
// 100 on every Linux that Go supports).
const clockTick = 10 * time.Millisecond

// procCPU returns the CPU time that process pid has used so far: the sum
// of the first field of /proc/PID/task/*/schedstat (nanoseconds on CPU,
// per thread), or, where the kernel has no schedstat, utime + stime of
// /proc/PID/stat (in clock ticks, 10 ms). A thread that exits takes its
// schedstat with it; the Go servers measured here keep their threads.
func procCPU(pid int) (time.Duration, error) {
	dir := filepath.Join(procRoot, strconv.Itoa(pid))
	if d, err := schedstatCPU(dir); err == nil {
		return d, nil
	}
	b, err := os.ReadFile(filepath.Join(dir, "stat"))
	if err != nil {
		return 0, err
	}
	return statCPU(string(b))
}

// schedstatCPU sums the first field of every task's schedstat under dir.
func schedstatCPU(dir string) (time.Duration, error) {
	tasks, err := os.ReadDir(filepath.Join(dir, "task"))
	if err != nil {
		return 0, err
	}
	var sum time.Duration
	read := 0
	for _, t := range tasks {
		b, err := os.ReadFile(filepath.Join(dir, "task", t.Name(), "schedstat"))
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				continue // the thread exited since ReadDir
			}
			return 0, err
		}
		first, _, _ := strings.Cut(strings.TrimSpace(string(b)), " ")
		ns, err := strconv.ParseInt(first, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%s/task/%s/schedstat: %q: %w", dir, t.Name(), b, err)
		}
		sum += time.Duration(ns)
		read++
	}
	if read == 0 {
		return 0, fmt.Errorf("%s: no task schedstat", dir)
	}
	return sum, nil
}

// statCPU is utime + stime of a /proc/PID/stat line.
func statCPU(stat string) (time.Duration, error) {
	// The command name (field 2) is in parentheses and may hold spaces.
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("stat %q: no command name", stat)
	}
	f := strings.Fields(stat[i+1:])
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("stat %q: too few fields", stat)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("stat %q: %w", stat, err)
	}
	return time.Duration(utime+stime) * clockTick, nil
}

// cpuMeter adds up the CPU time one server spends over the spans it is
// measured.
type cpuMeter struct {
	pid   int
	total time.Duration
	start time.Duration
	err   error
}

// begin starts a span.
func (m *cpuMeter) begin() {
	d, err := procCPU(m.pid)
	m.start = d
	m.err = errors.Join(m.err, err)
}

// end ends the span and adds it up.
func (m *cpuMeter) end() {
	d, err := procCPU(m.pid)
	m.total += d - m.start
	m.err = errors.Join(m.err, err)
}

// span measures f alone.
func (m *cpuMeter) span(f func() error) error {
	m.begin()
	err := f()
	m.end()
	return err
}
