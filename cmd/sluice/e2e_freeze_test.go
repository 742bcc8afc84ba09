package main

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// ticksOf invokes the probe function name with ev and returns the count of
// its ticker goroutine.
func (ts *testServer) ticksOf(t *testing.T, name string, ev map[string]any) int64 {
	t.Helper()
	b, _ := json.Marshal(ev)
	out := ts.invoke(t, name, string(b))
	if out.StatusCode != 200 || out.FunctionError != nil {
		t.Fatalf("probe %s %s: status %d FunctionError %q payload %.500s", name, b, out.StatusCode, aws.ToString(out.FunctionError), out.Payload)
	}
	var r struct {
		OK    bool  `json:"ok"`
		Ticks int64 `json:"ticks"`
	}
	if err := json.Unmarshal(out.Payload, &r); err != nil || !r.OK {
		t.Fatalf("probe %s %s: %s (%v)", name, b, out.Payload, err)
	}
	return r.Ticks
}

// TestSandboxFrozenBetweenInvocations: nothing of a function runs between
// its invocations, not even a goroutine of the runtime's own process (the
// whole environment is frozen, as on Lambda), and it runs again during the
// next invocation.
func TestSandboxFrozenBetweenInvocations(t *testing.T) {
	t.Parallel()
	ts := startSandboxed(t)
	ts.createProbe(t, "ticker")
	const every = 10 * time.Millisecond
	const pause = 2 * time.Second
	// Ticks between the handler's return and the freeze: the response's
	// way to the client and the runtime's way back to GET /next, a few ms
	// (0-1 ticks on an idle machine, more under load). Unfrozen: ~200.
	const slack = 10

	t0 := ts.ticksOf(t, "ticker", map[string]any{"op": "ticker", "everyMs": every.Milliseconds()})
	time.Sleep(pause)
	t1 := ts.ticksOf(t, "ticker", map[string]any{"op": "ticks"})
	between := t1 - t0
	t.Logf("callbacks after an invocation ended: %d ticks of a %v ticker in the %v before the next invocation", between, every, pause)
	if between > slack {
		t.Errorf("the function's goroutine ticked %d times in the %v between two invocations (a tick every %v), want it frozen (at most %d)", between, pause, every, slack)
	}
	// It runs during an invocation.
	ts.probe(t, "ticker", map[string]any{"op": "sleep", "ms": 300})
	t2 := ts.ticksOf(t, "ticker", map[string]any{"op": "ticks"})
	if t2-t1 < 10 {
		t.Errorf("the goroutine ticked %d times during a 300 ms invocation, want it running (at least 10)", t2-t1)
	}
	// And the environment stayed the same one, warm, throughout.
	for i := range 20 {
		if got := ts.ticksOf(t, "ticker", map[string]any{"op": "ticks"}); got < t2 {
			t.Fatalf("invocation %d: ticks went back from %d to %d: a new environment", i, t2, got)
		}
	}
}
