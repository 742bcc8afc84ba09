package sandbox

import (
	"testing"
)

// TestTailStartsAtStart: the init phase's lines are in the function log
// but not in the tail of an invocation the runtime took (LogResult starts
// at START, as recorded against AWS); an invocation that failed before the
// runtime took it keeps them in its tail.
func TestTailStartsAtStart(t *testing.T) {
	for _, taken := range []bool{true, false} {
		sink := &countingSink{}
		l := newLogCapture(sink, -1)
		l.write("INIT_START Runtime Version: sluice:python3.12\n")
		l.write("printed by init\n")
		l.begin("START RequestId: 1\n", taken)
		tail := string(l.end("END RequestId: 1\n"))
		want := "START RequestId: 1\nEND RequestId: 1\n"
		if !taken {
			want = "INIT_START Runtime Version: sluice:python3.12\nprinted by init\n" + want
		}
		if tail != want {
			t.Errorf("taken=%v: tail %q, want %q", taken, tail, want)
		}
		if _, head, _ := sink.snapshot(); head != "INIT_START Runtime Version: sluice:python3.12\nprinted by init\nSTART RequestId: 1\nEND RequestId: 1\n" {
			t.Errorf("taken=%v: function log %q", taken, head)
		}
	}
}
