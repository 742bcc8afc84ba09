package main

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/sluice-dev/sluice/internal/cgroup"
)

// TestSandboxHostMemoryLimit: all environments sit in one parent cgroup
// whose limits are --sandbox-memory and the host-derived pids; with 300 MB,
// two 128 MB functions busy at once fit and a third environment is refused
// with a 429 TooManyRequestsException, and starts once one of the others
// is idle (it is evicted to make room). The server stays up throughout.
func TestSandboxHostMemoryLimit(t *testing.T) {
	t.Parallel()
	ts := startSandboxed(t, func(c *Config) { c.SandboxMemory, c.SandboxMemoryOvercommit = 300, 1 })
	ts.createProbe(t, "a")
	ts.createProbe(t, "b")

	// The parent cgroup has the limits.
	paths := ts.iso.Cgroups.Paths()
	memFile := "memory.limit_in_bytes"
	if ts.iso.Cgroups.Version() == "v2" {
		memFile = "memory.max"
	}
	if got := readTrim(t, filepath.Join(paths["memory"], memFile)); got != strconv.Itoa(300<<20) {
		t.Errorf("parent %s = %s, want %d", memFile, got, 300<<20)
	}
	host, err := cgroup.HostLimits()
	if err != nil {
		t.Fatal(err)
	}
	if got := readTrim(t, filepath.Join(paths["pids"], "pids.max")); got != strconv.Itoa(host.PIDs) {
		t.Errorf("parent pids.max = %s, want %d (half of the host's)", got, host.PIDs)
	}

	// Two of a, busy for 4 s.
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ts.probe(t, "a", map[string]any{"op": "sleep", "ms": 4000})
		}()
	}
	if !eventually(10*time.Second, func() bool { live, idle := ts.pool.Stats(); return live == 2 && idle == 0 }) {
		live, idle := ts.pool.Stats()
		t.Fatalf("pool: %d live, %d idle; want a's two environments busy", live, idle)
	}
	// A third does not fit: 256 + 128 > 300.
	_, err = ts.Client.Invoke(ctx(t), &lambda.InvokeInput{FunctionName: aws.String("b"), Payload: []byte(`{"op":"whoami"}`)})
	var tm *types.TooManyRequestsException
	if !errors.As(err, &tm) || statusOf(err) != 429 {
		t.Fatalf("Invoke b while a's two environments hold 256 of 300 MB: %v (status %d), want TooManyRequestsException", err, statusOf(err))
	}
	if tm.Reason != types.ThrottleReasonConcurrentInvocationLimitExceeded || !strings.Contains(aws.ToString(tm.Message), "--sandbox-memory") {
		t.Errorf("throttle: Reason %q, Message %q", tm.Reason, aws.ToString(tm.Message))
	}
	t.Logf("refused: %s", aws.ToString(tm.Message))
	wg.Wait()

	// a's environments are idle now: one is stopped to make room for b.
	if r := ts.probe(t, "b", map[string]any{"op": "whoami"}); !r.OK {
		t.Fatalf("b once a is idle: %s", r.raw)
	}
	if live, _ := ts.pool.Stats(); live != 2 {
		t.Errorf("pool: %d live, want 2 (one of a evicted for b)", live)
	}
	// The server is up and well.
	if _, err := ts.Client.ListFunctions(ctx(t), &lambda.ListFunctionsInput{}); err != nil {
		t.Errorf("ListFunctions: %v", err)
	}
	ts.probe(t, "a", map[string]any{"op": "whoami"})
}

func readTrim(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// TestHostLimitsFlags: --sandbox-memory and --sandbox-pids parse and are
// checked.
func TestHostLimitsFlags(t *testing.T) {
	for _, tc := range []struct {
		mem, pids int
		ok        bool
	}{{0, 0, true}, {128, 256, true}, {20000, 100000, true}, {-1, 0, false}, {127, 0, false}, {0, -1, false}, {0, 255, false}} {
		c := DefaultConfig()
		c.SandboxMemory, c.SandboxPIDs = tc.mem, tc.pids
		if err := c.validate(); (err == nil) != tc.ok {
			t.Errorf("--sandbox-memory %d --sandbox-pids %d: %v, want ok=%v", tc.mem, tc.pids, err, tc.ok)
		}
	}
}

// TestMemoryOvercommitFlag: --sandbox-memory-overcommit is 8 by default and
// must be at least 1 (1 reserves each environment's whole MemorySize).
func TestMemoryOvercommitFlag(t *testing.T) {
	if got := DefaultConfig().SandboxMemoryOvercommit; got != 8 {
		t.Errorf("default --sandbox-memory-overcommit = %v, want 8", got)
	}
	for _, tc := range []struct {
		v  float64
		ok bool
	}{{1, true}, {1.5, true}, {8, true}, {1000, true}, {0.99, false}, {0, false}, {-2, false}, {1001, false}} {
		c := DefaultConfig()
		c.SandboxMemoryOvercommit = tc.v
		if err := c.validate(); (err == nil) != tc.ok {
			t.Errorf("--sandbox-memory-overcommit %v: %v, want ok=%v", tc.v, err, tc.ok)
		}
	}
}
