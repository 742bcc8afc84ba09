package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/internal/eventstream"
)

// TestProcCPU reads this process's CPU time, which grows as it works.
func TestProcCPU(t *testing.T) {
	before, err := procCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	for start := time.Now(); time.Since(start) < 50*time.Millisecond; {
	}
	after, err := procCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if before <= 0 || after <= before {
		t.Errorf("CPU %v, then %v after 50 ms of spinning; want positive and growing", before, after)
	}
}

// TestProcCPUSources checks both sources on a fake /proc: the sum of the
// tasks' schedstat, else utime + stime of stat.
func TestProcCPUSources(t *testing.T) {
	old := procRoot
	t.Cleanup(func() { procRoot = old })
	procRoot = t.TempDir()
	dir := filepath.Join(procRoot, "42")
	write := func(rel, s string) {
		t.Helper()
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// comm with spaces and a parenthesis; utime 7, stime 5 ticks
	write("stat", "42 (a (b) c) S 1 42 42 0 -1 4194560 100 0 0 0 7 5 0 0 20 0 1 0 100 1000 10\n")
	if d, err := procCPU(42); err != nil || d != 12*clockTick {
		t.Errorf("from stat: %v, %v; want %v", d, err, 12*clockTick)
	}
	write("task/42/schedstat", "1000 5 3\n")
	write("task/43/schedstat", "234 0 1\n")
	if d, err := procCPU(42); err != nil || d != 1234 {
		t.Errorf("from schedstat: %v, %v; want 1234ns", d, err)
	}
	if _, err := procCPU(7); err == nil {
		t.Error("no error for a process that does not exist")
	}
}

// TestDecodeStream decodes what sluice's event-stream writer writes.
func TestDecodeStream(t *testing.T) {
	frames := func(chunks []string, c eventstream.Complete, complete bool) []byte {
		var b bytes.Buffer
		w := eventstream.NewWriter(&b, func() error { return nil })
		for _, s := range chunks {
			if err := w.Chunk([]byte(s)); err != nil {
				t.Fatal(err)
			}
		}
		if complete {
			if err := w.Complete(c); err != nil {
				t.Fatal(err)
			}
		}
		return b.Bytes()
	}
	big := strings.Repeat("z", 3*eventstream.MaxChunk+5) // several frames
	firsts := 0
	var sink bytes.Buffer
	n, err := decodeStream(bytes.NewReader(frames([]string{"ab", big, "c"}, eventstream.Complete{}, true)), func() { firsts++ }, &sink)
	if err != nil || n != int64(3+len(big)) || firsts != 1 || sink.String() != "ab"+big+"c" {
		t.Errorf("got %d bytes (%d in sink), %d first calls, %v; want %d, 1, nil", n, sink.Len(), firsts, err, 3+len(big))
	}
	if _, err := decodeStream(bytes.NewReader(frames([]string{"ab"}, eventstream.Complete{ErrorCode: "Boom", ErrorDetails: "d"}, true)), nil, nil); err == nil || !strings.Contains(err.Error(), "Boom") {
		t.Errorf("InvokeComplete with an error: %v", err)
	}
	if _, err := decodeStream(bytes.NewReader(frames([]string{"ab"}, eventstream.Complete{}, false)), nil, nil); err == nil {
		t.Error("no error for a stream without InvokeComplete")
	}
	trailing := append(frames(nil, eventstream.Complete{}, true), 'x')
	if _, err := decodeStream(bytes.NewReader(trailing), nil, nil); err == nil {
		t.Error("no error for data after InvokeComplete")
	}
	cut := frames([]string{"abcdef"}, eventstream.Complete{}, true)
	if _, err := decodeStream(bytes.NewReader(cut[:20]), nil, nil); err == nil || errors.Is(err, errShortStream) {
		t.Errorf("a frame cut short: %v", err)
	}
}

// TestGoalCell checks the goal column.
func TestGoalCell(t *testing.T) {
	for _, c := range []struct {
		g     *goal
		ratio float64
		want  string
	}{
		{atMost110, 1.05, "≤ 1.10 ✓"},
		{atMost110, 1.10, "≤ 1.10 ✓"},
		{atMost110, 1.11, "≤ 1.10 ✗"},
		{atLeast95, 0.96, "≥ 0.95 ✓"},
		{atLeast95, 0.75, "≥ 0.95 ✗"},
		{atLeast12, 1.48, "≥ 1.20 ✓"},
	} {
		met := c.g.met(c.ratio)
		r := row{Ratio: c.ratio, Goal: c.g.String(), Met: &met}
		if got := r.goalCell(); got != c.want {
			t.Errorf("%v at ratio %v: %q, want %q", c.g, c.ratio, got, c.want)
		}
	}
	if got := (row{Ratio: 2}).goalCell(); got != "" {
		t.Errorf("no goal: %q, want empty", got)
	}
}

// TestCell checks min / median / max cells.
func TestCell(t *testing.T) {
	if got, want := cell(412, []float64{398, 430, 412}, "MiB/s"), "398 / 412 / 430 MiB/s"; got != want {
		t.Errorf("cell %q, want %q", got, want)
	}
	if got, want := cell(0.84, nil, "ms"), "0.840 ms"; got != want {
		t.Errorf("cell %q, want %q", got, want)
	}
}

// TestStreamBytes checks what the "stream" handler is expected to write.
func TestStreamBytes(t *testing.T) {
	got := string(streamBytes(2, 16))
	want := fmt.Sprintf("chunk-0\n%s\nchunk-1\n%s\n", strings.Repeat("x", 7), strings.Repeat("x", 7))
	if got != want {
		t.Errorf("%q, want %q", got, want)
	}
}
