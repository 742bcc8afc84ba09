package service_test

import (
	"context"
	"strings"
	"testing"

	"github.com/sluice-dev/sluice"
	"github.com/sluice-dev/sluice/internal/lineage"
	"github.com/sluice-dev/sluice/internal/service"
)

const clientTrace = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"

// TestLineage: the caller's trace is kept and its lineage extended; a
// function runs lineage.MaxInvocations times in one chain, the next
// invocation gets ERecursiveInvocation, unless its recursion setting is
// Allow. The setting is the function's: a published version follows it.
func TestLineage(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.create("loop", "provided.al2023", false)
	f.settled("loop")
	if _, err := f.svc.PublishVersion(ctx, sluice.FunctionRef{Name: "loop"}, service.Publish{}); err != nil {
		t.Fatal(err)
	}

	first, err := f.svc.Lineage(ctx, "loop", clientTrace)
	hash := lineage.Hash(testScope.FunctionARN("loop"))
	if err != nil || first != clientTrace+";Lineage=1:"+hash+":0" {
		t.Fatalf("Lineage = %q, %v; want the client's trace with Lineage=1:%s:0", first, err, hash)
	}
	fresh, err := f.svc.Lineage(ctx, "loop", "")
	if h := lineage.Parse(fresh); err != nil || h.Root == "" || h.Parent == "" || h.Sampled != "0" || h.Count(hash) != 1 {
		t.Fatalf("Lineage without a client trace = %q, %v; want a new trace", fresh, err)
	}

	// A chain: each hop's header is what the previous invocation's SDK
	// sends back.
	chain := func() (ran int, stopped error) {
		header := clientTrace
		for ran < 100 {
			next, err := f.svc.Lineage(ctx, "loop", header)
			if err != nil {
				return ran, err
			}
			ran++
			header = next
		}
		return ran, nil
	}
	ran, err := chain()
	if ran != lineage.MaxInvocations || sluice.ErrorCodeOf(err) != sluice.ERecursiveInvocation {
		t.Fatalf("chain ran %d times and ended with %v; want %d and ERecursiveInvocation", ran, err, lineage.MaxInvocations)
	}
	if !strings.Contains(err.Error(), "recursive loop") {
		t.Errorf("message %q", err)
	}

	if err := f.svc.PutFunctionRecursionConfig(ctx, sluice.FunctionRef{Name: "loop"}, sluice.RecursiveLoopAllow); err != nil {
		t.Fatal(err)
	}
	if ran, err := chain(); ran != 100 || err != nil {
		t.Fatalf("with Allow the chain ran %d times and ended with %v; want it not stopped", ran, err)
	}

	// Through Invoke and InvokeAsync, on the published version.
	if err := f.svc.PutFunctionRecursionConfig(ctx, sluice.FunctionRef{Name: "loop"}, sluice.RecursiveLoopTerminate); err != nil {
		t.Fatal(err)
	}
	run, err := f.svc.ResolveRunnable(ctx, sluice.FunctionRef{Name: "loop"}, "1")
	if err != nil {
		t.Fatal(err)
	}
	at16 := clientTrace + ";Lineage=16:" + hash + ":0"
	_, err = f.svc.Invoke(ctx, run, sluice.Invocation{RequestID: "r1", Payload: []byte("{}"), TraceID: at16})
	if sluice.ErrorCodeOf(err) != sluice.ERecursiveInvocation {
		t.Fatalf("Invoke of the 17th hop: %v, want ERecursiveInvocation", err)
	}
	if err := f.svc.InvokeAsync(run, sluice.Invocation{RequestID: "r2", Payload: []byte("{}"), TraceID: at16}); err != nil {
		t.Fatalf("InvokeAsync of the 17th hop: %v, want it accepted (and dropped)", err)
	}
	f.invoker.mu.Lock()
	runs, async := len(f.invoker.runs), len(f.invoker.async)
	f.invoker.mu.Unlock()
	if runs != 0 || async != 0 {
		t.Fatalf("the stopped invocations reached the invoker (%d, %d)", runs, async)
	}
	at15 := clientTrace + ";Lineage=15:" + hash + ":0"
	if err := f.svc.InvokeAsync(run, sluice.Invocation{RequestID: "r3", Payload: []byte("{}"), TraceID: at15}); err != nil {
		t.Fatal(err)
	}
	f.invoker.mu.Lock()
	got := f.invoker.async[0].Invocation.TraceID
	f.invoker.mu.Unlock()
	if want := clientTrace + ";Lineage=16:" + hash + ":0"; got != want {
		t.Errorf("the queued event carries %q, want %q", got, want)
	}
}
