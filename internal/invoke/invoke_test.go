package invoke

import (
	"context"
	"errors"
	"testing"

	"github.com/sluice-dev/sluice"
	"github.com/sluice-dev/sluice/internal/pool"
	"github.com/sluice-dev/sluice/internal/sandbox"
)

type noCode struct{}

func (noCode) Dir(string) (string, error) { return "", errors.New("no code store in this test") }

// TestBootstrapErrorIsInvokes: what the runtime registry says at a cold
// start (here: the runtime is not provisioned) is Invoke's error as is,
// which the API answers as InvalidRuntimeException; nothing is started.
func TestBootstrapErrorIsInvokes(t *testing.T) {
	want := sluice.Errorf(sluice.EInvalidRuntime, "The runtime nodejs22.x is not provisioned")
	var asked *sluice.Function
	iv := New(Config{
		Code: noCode{},
		Pool: pool.New[*sandbox.Env](pool.Options{}),
		Bootstrap: func(fn *sluice.Function) (sandbox.Bootstrap, error) {
			asked = fn
			return sandbox.Bootstrap{}, want
		},
	})
	defer iv.Shutdown(context.Background())
	fn := &sluice.Function{Name: "f", Runtime: "nodejs22.x", Handler: "index.handler", Timeout: 3, MemorySize: 128, RevisionID: "r"}
	out, err := iv.Invoke(context.Background(), sluice.InvokeRequest{Function: fn, Invocation: sluice.Invocation{RequestID: "id"}})
	if out != nil || err != want {
		t.Fatalf("Invoke: %v %v, want the registry's error as is", out, err)
	}
	if asked != fn {
		t.Fatalf("Bootstrap asked for %v, want the invoked function", asked)
	}
}
