package sandbox

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sluice-dev/sluice"
	"github.com/sluice-dev/sluice/internal/cgroup"
)

// The drivers against one Bootstrap: a command that is a script in the
// runtime directory (/bin/sh /var/runtime/run.sh), which execs the test
// binary from the code directory. The sandboxed drivers need root and
// bubblewrap, as the sandbox itself does.

// testIsolation returns an Isolation on the machine's cgroups with a
// prefix and a uid range of its own, and a stage dir the sandboxes reach.
func testIsolation(t testing.TB) *Isolation {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("the sandboxed drivers need root")
	}
	cg, err := cgroup.New(cgroup.Options{Prefix: fmt.Sprintf("sluice-sandbox-test-%d", os.Getpid())})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := cg.Close(); err != nil {
			t.Errorf("removing the test's cgroups: %v", err)
		}
	})
	stage := reachableDir(t)
	t.Cleanup(func() { _ = CleanStage(stage) })
	return &Isolation{
		Bwrap:    "/usr/bin/bwrap",
		Cgroups:  cg,
		UIDs:     NewUIDRange(1_900_000_000+(os.Getpid()%1000)*64, 64),
		Network:  "host",
		StageDir: stage,
	}
}

// reachableDir is a temporary directory every uid can read and traverse.
func reachableDir(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	for p := dir; p != "/" && p != os.TempDir(); p = filepath.Dir(p) {
		if err := os.Chmod(p, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// bootstrapFixture is a code dir holding the test binary as "function" and
// a runtime dir holding run.sh, which execs it.
func bootstrapFixture(t *testing.T) (code, rt string) {
	t.Helper()
	code, rt = reachableDir(t), reachableDir(t)
	exe, err := os.ReadFile(must(os.Executable()))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(code, "function"), exe, 0o755); err != nil {
		t.Fatal(err)
	}
	// Files are not rewritten by the plain driver: the script uses the
	// variable, not the literal /var/task.
	if err := os.WriteFile(filepath.Join(rt, "run.sh"), []byte("#!/bin/sh\nexec \"$LAMBDA_TASK_ROOT/function\" \"$@\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return code, rt
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// bootInfo is the "bootinfo" handler's answer.
type bootInfo struct {
	Cwd, Werr, WerrTask, Script, LambdaRuntimeDir, LambdaTaskRoot, ExecEnv, Path, RuntimeVar, Tmpdir string
	Args                                                                                             []string
}

func startBootstrap(t *testing.T, d Driver, code string, b Bootstrap, log io.Writer) *Env {
	t.Helper()
	fn := &sluice.Function{Name: "fn", Runtime: "nodejs22.x", Handler: "bootinfo", Timeout: 10, MemorySize: 128,
		EphemeralStorage: sluice.DefaultEphemeralStorage, RevisionID: "r1", Environment: map[string]string{"SLUICE_TEST_RUNTIME": "1"}}
	e, err := Start(context.Background(), Spec{Function: fn, CodeDir: code, Scope: sluice.Scope{Region: "us-east-1"}, Bootstrap: b},
		Options{Driver: d, FunctionLog: func(LogStream) io.Writer { return log }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Stop)
	return e
}

func invokeBootInfo(t *testing.T, e *Env) bootInfo {
	t.Helper()
	out, res := run(t, e)
	if res.Err != nil {
		t.Fatalf("invoke: %s %s", res.Err.Type, res.Err.Payload)
	}
	var raw map[string]any
	if err := json.Unmarshal([]byte(out), &raw); err != nil {
		t.Fatalf("output %q: %v", out, err)
	}
	str := func(k string) string { s, _ := raw[k].(string); return s }
	bi := bootInfo{Cwd: str("cwd"), Werr: str("werr"), WerrTask: str("werrTask"), Script: str("script"), LambdaRuntimeDir: str("LAMBDA_RUNTIME_DIR"),
		LambdaTaskRoot: str("LAMBDA_TASK_ROOT"), ExecEnv: str("AWS_EXECUTION_ENV"), Path: str("PATH"), RuntimeVar: str("RUNTIME_VAR"), Tmpdir: str("TMPDIR")}
	args, _ := raw["args"].([]any)
	for _, a := range args {
		bi.Args = append(bi.Args, fmt.Sprint(a))
	}
	return bi
}

func TestBootstrapDrivers(t *testing.T) {
	code, rt := bootstrapFixture(t)
	b := Bootstrap{
		Command:    []string{"/bin/sh", "/var/runtime/run.sh", "one", "two words"},
		Env:        map[string]string{"RUNTIME_VAR": "/var/runtime/lib:/var/task/node_modules", "LAMBDA_TASK_ROOT": "/elsewhere"},
		Cwd:        "/var/runtime",
		RuntimeDir: rt,
		Notice:     "node v20 runs nodejs22.x",
	}
	type want struct{ root, rt, cwd, runtimeVar string }
	sandboxed := want{"/var/task", "/var/runtime", "/var/runtime", "/var/runtime/lib:/var/task/node_modules"}
	iso := testIsolation(t)
	slots := Slots(iso)
	t.Cleanup(slots.Close)
	cases := []struct {
		name   string
		driver Driver
		want   want
		slot   bool
	}{
		{"plain", Plain(""), want{code, rt, rt, rt + "/lib:" + code + "/node_modules"}, false},
		{"bwrap", Bwrap(iso), sandboxed, false},
		{"slot", slots, sandboxed, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.slot {
				waitSlots(t, iso)
			}
			var log syncWriter
			e := startBootstrap(t, tc.driver, code, b, &log)
			if got := e.proc.(*child).iso != nil && e.proc.(*child).iso.slot != nil; got != tc.slot {
				t.Fatalf("started in a prepared slot: %v, want %v", got, tc.slot)
			}
			t.Cleanup(func() {
				if t.Failed() {
					t.Logf("the environment's log:\n%s", log.String())
				}
			})
			bi := invokeBootInfo(t, e)
			if bi.LambdaTaskRoot != tc.want.root || bi.LambdaRuntimeDir != tc.want.rt || bi.Cwd != tc.want.cwd || bi.RuntimeVar != tc.want.runtimeVar {
				t.Errorf("LAMBDA_TASK_ROOT %q LAMBDA_RUNTIME_DIR %q cwd %q RUNTIME_VAR %q, want %+v", bi.LambdaTaskRoot, bi.LambdaRuntimeDir, bi.Cwd, bi.RuntimeVar, tc.want)
			}
			if tc.slot {
				// The slot's mounts left sluice's mount table once the
				// sandbox had its copies, which the checks here and below
				// (code and runtime readable, read-only) still see.
				// (initDone detaches them beside the first invocation.)
				s := e.proc.(*child).iso
				s.settleMu.Lock()
				done := s.settled
				s.settleMu.Unlock()
				if done == nil {
					t.Fatal("the runtime's init is over, but initDone did not run")
				}
				<-done
				dir := s.slot.dir
				if m := mountsUnder(t, dir); len(m) != 0 {
					t.Errorf("a running slot environment leaves %d mounts in sluice's mount table: %v", len(m), m)
				}
			}
			if strings.Join(bi.Args, "|") != "one|two words" {
				t.Errorf("args %q", bi.Args)
			}
			if !strings.Contains(bi.Script, "LAMBDA_TASK_ROOT") {
				t.Errorf("run.sh not readable in the runtime dir: %q", bi.Script)
			}
			if bi.ExecEnv != "AWS_Lambda_nodejs22.x" || bi.Path != "/var/lang/bin:/usr/local/bin:/usr/bin/:/bin:/opt/bin" {
				t.Errorf("AWS_EXECUTION_ENV %q PATH %q", bi.ExecEnv, bi.Path)
			}
			if tc.name == "plain" {
				if !strings.HasPrefix(bi.Tmpdir, os.TempDir()) || bi.Tmpdir == os.TempDir() {
					t.Errorf("TMPDIR %q, want a directory of its own", bi.Tmpdir)
				}
				os.Remove(filepath.Join(rt, "written"))
				os.Remove(filepath.Join(code, "written"))
			} else {
				// Read-only mounts, not just files the sandbox's uid does
				// not own.
				if !strings.Contains(bi.Werr, syscall.EROFS.Error()) || !strings.Contains(bi.WerrTask, syscall.EROFS.Error()) {
					t.Errorf("writing into /var/runtime: %q, into /var/task: %q, want %q", bi.Werr, bi.WerrTask, syscall.EROFS.Error())
				}
				if bi.Tmpdir != "/tmp" {
					t.Errorf("TMPDIR %q", bi.Tmpdir)
				}
			}
			e.Stop()
			lines := strings.SplitN(log.String(), "\n", 3)
			if len(lines) < 3 || !strings.HasPrefix(lines[0], "INIT_START Runtime Version: sluice:nodejs22.x") || lines[1] != b.Notice {
				t.Errorf("log does not start with INIT_START and the notice:\n%s", log.String())
			}
		})
	}
}

// mountsUnder lists the mount points of this process at or under dir.
func mountsUnder(t *testing.T, dir string) []string {
	t.Helper()
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) > 4 && (f[4] == dir || strings.HasPrefix(f[4], dir+"/")) {
			out = append(out, f[4])
		}
	}
	return out
}

// waitSlots waits until the Isolation has a prepared slot.
func waitSlots(t testing.TB, iso *Isolation) {
	t.Helper()
	iso.refill()
	deadline := time.Now().Add(10 * time.Second)
	for {
		iso.slots.mu.Lock()
		n := len(iso.slots.ready)
		iso.slots.mu.Unlock()
		if n > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("no slot was prepared")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestBootstrapInvalidEntrypoint: a command that cannot be executed is
// Runtime.InvalidEntrypoint in every driver, named as seen inside, and a
// prepared slot is not spent on it.
func TestBootstrapInvalidEntrypoint(t *testing.T) {
	code, rt := bootstrapFixture(t)
	if err := os.WriteFile(filepath.Join(code, "bootstrap"), []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	iso := testIsolation(t)
	slots := Slots(iso)
	t.Cleanup(slots.Close)
	for _, d := range []struct {
		name   string
		driver Driver
	}{{"plain", Plain("")}, {"bwrap", Bwrap(iso)}, {"slot", slots}} {
		for _, c := range []struct {
			b         Bootstrap
			cmd, want string
		}{
			{Bootstrap{}, "/var/task/bootstrap", "permission denied"},
			{Bootstrap{Command: []string{"/var/runtime/missing"}, RuntimeDir: rt}, "/var/runtime/missing", "no such file or directory"},
			{Bootstrap{Command: []string{"/usr/bin/no-such-node"}}, "/usr/bin/no-such-node", "no such file or directory"},
		} {
			t.Run(d.name+c.cmd, func(t *testing.T) {
				if d.name == "slot" {
					waitSlots(t, iso)
				}
				e := startBootstrap(t, d.driver, code, c.b, io.Discard)
				_, res := run(t, e)
				if res.Err == nil || res.Err.Type != "Runtime.InvalidEntrypoint" || !strings.Contains(string(res.Err.Payload), "fork/exec "+c.cmd+": "+c.want) {
					t.Fatalf("result %+v", res.Err)
				}
				if strings.Contains(string(res.Err.Payload), code) || strings.Contains(string(res.Err.Payload), rt) {
					t.Fatalf("error document leaks a host path: %s", res.Err.Payload)
				}
				if d.name == "slot" {
					iso.slots.mu.Lock()
					n := len(iso.slots.ready)
					iso.slots.mu.Unlock()
					if n == 0 {
						t.Fatal("a slot was spent on a command that cannot run")
					}
				}
			})
		}
	}
}

// TestFunctionOverridesRuntimeVars: the runtime's variables (NODE_PATH,
// PYTHONPATH...) are the function's to override, as on Lambda; Lambda's
// reserved ones are not.
func TestFunctionOverridesRuntimeVars(t *testing.T) {
	code, rt := bootstrapFixture(t)
	fn := &sluice.Function{Name: "fn", Runtime: "nodejs22.x", Handler: "bootinfo", Timeout: 10, MemorySize: 128,
		EphemeralStorage: sluice.DefaultEphemeralStorage, RevisionID: "r1",
		Environment: map[string]string{"SLUICE_TEST_RUNTIME": "1", "RUNTIME_VAR": "the function's", "LAMBDA_TASK_ROOT": "/not/allowed"}}
	e, err := Start(context.Background(), Spec{Function: fn, CodeDir: code, Scope: sluice.Scope{Region: "us-east-1"}, Bootstrap: Bootstrap{
		Command:    []string{"/bin/sh", "/var/runtime/run.sh"},
		Env:        map[string]string{"RUNTIME_VAR": "the runtime's"},
		RuntimeDir: rt,
	}}, Options{Driver: Plain("")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Stop)
	bi := invokeBootInfo(t, e)
	if bi.RuntimeVar != "the function's" || bi.LambdaTaskRoot != code {
		t.Errorf("RUNTIME_VAR %q LAMBDA_TASK_ROOT %q, want the function's value and the task root %q", bi.RuntimeVar, bi.LambdaTaskRoot, code)
	}
}
