package sandbox

import (
	"bytes"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-dev/sluice"
)

// countingSink counts what reaches the function log and keeps its first
// and last bytes.
type countingSink struct {
	mu    sync.Mutex
	n     int64
	head  []byte
	tail  tailBuffer
	lines int
}

func (s *countingSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n += int64(len(p))
	if room := 4096 - len(s.head); room > 0 {
		s.head = append(s.head, p[:min(room, len(p))]...)
	}
	s.tail.Write(p)
	s.lines += bytes.Count(p, []byte("\n"))
	return len(p), nil
}

func (s *countingSink) snapshot() (n int64, head, tail string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n, string(s.head), string(s.tail.Bytes())
}

// TestLogLimit: a function that prints 100 MB in one invocation puts at
// most the limit and one LOGS_DROPPED line into the function log; the
// pipe is drained all the same (the writer never blocks for good), the
// capture allocates next to nothing, the tail is the invocation's last
// 4 KB, and the next invocation has a budget of its own (issue 9).
func TestLogLimit(t *testing.T) {
	const limit = 1 << 20
	const total = 100 << 20
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	sink := &countingSink{}
	l := newLogCapture(sink, limit)
	l.attach(r)
	go l.run()

	var before runtime.MemStats
	runtime.ReadMemStats(&before)

	l.begin("START RequestId: 1\n", true)
	line := []byte(strings.Repeat("x", 1023) + "\n")
	chunk := bytes.Repeat(line, 64) // 64 KiB
	wrote := make(chan error, 1)
	go func() {
		for i := 0; i < total/len(chunk); i++ {
			if _, err := w.Write(chunk); err != nil {
				wrote <- err
				return
			}
		}
		_, err := w.Write([]byte("last line of 1\n"))
		wrote <- err
	}()
	select {
	case err := <-wrote:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("the function's 100 MB did not get through the pipe within 60 s")
	}
	tail := string(l.end("END RequestId: 1\n"))

	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 8<<20 {
		t.Errorf("capturing 100 MB allocated %d bytes", alloc)
	}

	n, head, last := sink.snapshot()
	marker := "LOGS_DROPPED Dropped: " // the dropped count depends on nothing but the sizes
	overhead := int64(len("START RequestId: 1\n") + len("END RequestId: 1\n") + 200)
	t.Logf("function log: %d bytes for %d bytes of output (limit %d)", n, total+15, limit)
	if n > limit+overhead {
		t.Errorf("function log got %d bytes, want at most the limit %d and the platform lines", n, limit)
	}
	if n < limit {
		t.Errorf("function log got %d bytes, want the first %d", n, limit)
	}
	if !strings.HasPrefix(head, "START RequestId: 1\nxxxx") {
		t.Errorf("function log starts %q", head[:40])
	}
	wantDropped := int64(total + len("last line of 1\n") - limit)
	wantEnd := "\n" + marker + strconv.FormatInt(wantDropped, 10) + " bytes\tReason: over the function log limit of 1048576 bytes per invocation\nEND RequestId: 1\n"
	if !strings.HasSuffix(last, wantEnd) {
		t.Errorf("function log ends %q, want %q", last[max(len(last)-300, 0):], wantEnd)
	}
	if len(tail) > sluice.LogTailSize || !strings.HasSuffix(tail, "xxx\nlast line of 1\nEND RequestId: 1\n") {
		t.Errorf("tail of %d bytes ends %q, want the invocation's last lines", len(tail), tail[max(len(tail)-80, 0):])
	}

	// The next invocation has its own budget.
	l.begin("START RequestId: 2\n", true)
	if _, err := w.Write([]byte("hello from 2\n")); err != nil {
		t.Fatal(err)
	}
	tail = string(l.end("END RequestId: 2\n"))
	if _, _, last := sink.snapshot(); !strings.HasSuffix(last, "END RequestId: 1\nSTART RequestId: 2\nhello from 2\nEND RequestId: 2\n") {
		t.Errorf("second invocation's log: %q", last[max(len(last)-120, 0):])
	}
	if tail != "START RequestId: 2\nhello from 2\nEND RequestId: 2\n" {
		t.Errorf("second tail %q", tail)
	}

	// Output between invocations counts against the last one; what is
	// dropped is said before the next platform line, or at the end of the
	// stream.
	if _, err := w.Write(bytes.Repeat(line, 1100)); err != nil { // 1.1 MB, no invocation
		t.Fatal(err)
	}
	w.Close()
	<-l.done
	if _, _, last := sink.snapshot(); !strings.Contains(last, "\n"+marker) || !strings.HasSuffix(last, " bytes per invocation\n") {
		t.Errorf("output after the last invocation: log ends %q", last[max(len(last)-200, 0):])
	}
}

// TestLogNoLimit: a negative limit passes everything on.
func TestLogNoLimit(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	sink := &countingSink{}
	l := newLogCapture(sink, -1)
	l.attach(r)
	go l.run()
	l.begin("S\n", true)
	big := bytes.Repeat([]byte("y\n"), 2<<20) // 4 MiB
	go func() { w.Write(big); w.Close() }()
	<-l.done
	if n, _, _ := sink.snapshot(); n != int64(len(big)+2) {
		t.Errorf("function log got %d bytes, want %d", n, len(big)+2)
	}
}
