package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
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
	t.Logf("FIGURE callbacks after an invocation ended: %d ticks of a %v ticker in the %v before the next invocation", between, every, pause)
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

// TestSandboxFrozenLifecycle: with environments frozen after every
// invocation, Tail logs are still each invocation's own, the idle
// environment's group is FROZEN (and the v1 freezer pin too), and idle
// reaping kills and removes a frozen environment.
func TestSandboxFrozenLifecycle(t *testing.T) {
	t.Parallel()
	ts := startSandboxed(t, func(c *Config) { c.IdleTimeout = 2 * time.Second })
	ts.createFunction(t, "logger", "logs")
	for i := range 3 { // cold, then warm: each tail is its own invocation's
		out, err := ts.Client.Invoke(ctx(t), &lambda.InvokeInput{FunctionName: aws.String("logger"), LogType: types.LogTypeTail, Payload: []byte(`{"lines":3}`)})
		if err != nil {
			t.Fatal(err)
		}
		succeeded(t, out)
		tail := decodeTail(t, out.LogResult)
		checkTail(t, tail, requestIDOf(t, out.ResultMetadata))
		if strings.Count(tail, "START RequestId:") != 1 {
			t.Fatalf("call %d: tail has more than its own invocation:\n%s", i, tail)
		}
	}
	freezer := ts.iso.Cgroups.Paths()["freezer"]
	if freezer == "" {
		t.Fatal("no freezer in use")
	}
	state := func() map[string]string {
		states := map[string]string{}
		for _, f := range []string{"freezer.state", "cgroup.freeze"} {
			files, _ := filepath.Glob(filepath.Join(freezer, "*", f))
			for _, p := range files {
				b, _ := os.ReadFile(p)
				states[filepath.Base(filepath.Dir(p))] = strings.TrimSpace(string(b))
			}
		}
		return states
	}
	// The environment's group (env-*, or slot-* when it started in a
	// prepared slot) is the one frozen group besides the pin.
	frozenEnvs := func() (names []string, all map[string]string) {
		all = state()
		for name, s := range all {
			if name != "freezer-pin" && (s == "FROZEN" || s == "1") {
				names = append(names, name)
			}
		}
		return names, all
	}
	if !eventually(2*time.Second, func() bool { n, _ := frozenEnvs(); return len(n) == 1 }) {
		_, all := frozenEnvs()
		t.Fatalf("freezer states of the groups: %v; want the idle environment's FROZEN", all)
	}
	names, _ := frozenEnvs()
	if ts.iso.Cgroups.Version() == "v1" {
		if s := state()["freezer-pin"]; s != "FROZEN" {
			t.Errorf("freezer pin: %q, want FROZEN", s)
		}
	}
	if !eventually(15*time.Second, func() bool { live, _ := ts.pool.Stats(); return live == 0 }) {
		t.Fatal("the idle environment was not reaped")
	}
	if !eventually(10*time.Second, func() bool { _, there := state()[names[0]]; return !there }) {
		t.Errorf("the frozen environment's group %s is still there after it was reaped: %v", names[0], state())
	}
	// And a new one serves.
	succeeded(t, ts.invoke(t, "logger", `{"lines":1}`))
}
