package main

// The isolation tests for the nodejs* and python* runtimes: a hostile
// Node.js and a hostile Python function (internal/testfunction/node/probe,
// internal/testfunction/python/probe.py) in bubblewrap sandboxes, started
// from prepared slots where they fit, as the Go probe is in
// e2e_sandbox_test.go.

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
)

func TestSandboxRuntimesIsolation(t *testing.T) {
	for _, rt := range []struct{ runtime, handler string }{
		{"python3.12", "probe.handler"},
		{"nodejs20.x", "index.handler"},
	} {
		t.Run(rt.runtime, func(t *testing.T) {
			ts := startSandboxed(t)
			zip := zipDir(t, pythonDir)
			if strings.HasPrefix(rt.runtime, "nodejs") {
				zip = nodeZip(t, "probe")
			}
			for _, name := range []string{"a", "b"} {
				ts.createRuntimeFunction(t, name, rt.runtime, rt.handler, zip, func(in *lambda.CreateFunctionInput) {
					in.MemorySize = aws.Int32(128)
				})
			}
			probe := func(name string, ev map[string]any) probeResult {
				t.Helper()
				b, _ := json.Marshal(ev)
				out := ts.invoke(t, name, string(b))
				succeeded(t, out)
				var r probeResult
				if err := json.Unmarshal(out.Payload, &r); err != nil {
					t.Fatalf("probe %s: %s: %v", b, out.Payload, err)
				}
				r.raw = string(out.Payload)
				return r
			}

			dataDir, _ := filepath.Abs(ts.cfg.DataDir)
			wantErrno(t, "list the data dir", probe("a", map[string]any{"op": "list", "path": dataDir}), noSuchFile)
			wantErrno(t, "list the runtimes dir", probe("a", map[string]any{"op": "list", "path": testRuntimesDir}), noSuchFile)
			wantErrno(t, "write /var/task", probe("a", map[string]any{"op": "write", "path": "/var/task/x", "data": "x"}), "read-only file system")
			wantErrno(t, "write /var/runtime", probe("a", map[string]any{"op": "write", "path": "/var/runtime/x", "data": "x"}), "read-only file system")
			secret := "/tmp/secret-" + unique()
			if r := probe("a", map[string]any{"op": "write", "path": secret, "data": "a's"}); !r.OK {
				t.Fatalf("a cannot write its /tmp: %s", r.raw)
			}
			wantErrno(t, "b reading a's /tmp", probe("b", map[string]any{"op": "read", "path": secret}), noSuchFile)

			var who struct {
				UID int    `json:"uid"`
				Cwd string `json:"cwd"`
			}
			r := probe("a", map[string]any{"op": "whoami"})
			_ = json.Unmarshal([]byte(r.raw), &who)
			if who.UID != 993 || who.Cwd != "/var/task" {
				t.Errorf("whoami: %s, want uid 993 in /var/task", r.raw)
			}
			// The runtime passes the function its credentials and sluice's
			// API (the isolated network's listener).
			env := probe("a", map[string]any{"op": "env"}).Env
			api := "http://127.0.0.1:" + portOf(t, ts)
			if env["AWS_ENDPOINT_URL"] != api || env["AWS_ENDPOINT_URL_LAMBDA"] != api || env["AWS_ACCESS_KEY_ID"] == "" || env["AWS_SECRET_ACCESS_KEY"] == "" {
				t.Errorf("the function sees AWS_ENDPOINT_URL %q, AWS_ENDPOINT_URL_LAMBDA %q, AWS_ACCESS_KEY_ID %q, a secret: %v; want %s and credentials",
					env["AWS_ENDPOINT_URL"], env["AWS_ENDPOINT_URL_LAMBDA"], env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"] != "", api)
			}
			r = probe("a", map[string]any{"op": "procs"})
			if !r.OK || len(r.Procs) == 0 || len(r.Procs) > 5 {
				t.Errorf("processes seen: %s, want the sandbox's own few", r.raw)
			}
			for _, p := range r.Procs {
				if p.UID != 993 || strings.Contains(p.Comm, ".test") {
					t.Errorf("a process that is not the sandbox's: %+v", p)
				}
			}

			// Memory is limited to MemorySize: Runtime.OutOfMemory, and the
			// function works again afterwards.
			out := ts.invoke(t, "a", `{"op":"alloc","mb":384}`)
			if doc := functionError(t, out); doc.ErrorType != "Runtime.OutOfMemory" {
				t.Errorf("alloc 384 MB in 128 MB: %s, want Runtime.OutOfMemory", out.Payload)
			}
			if r := probe("a", map[string]any{"op": "alloc", "mb": 16}); !r.OK {
				t.Errorf("after the OOM: %s", r.raw)
			}
		})
	}
}
