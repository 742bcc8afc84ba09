package runtimes

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluice-dev/sluice"
)

// fakeNode writes a "node" outside /usr that reports version v.
func fakeNode(t *testing.T, v string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "node")
	if err := os.WriteFile(p, []byte("#!/bin/sh\necho "+v+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func nodeCommand(handler string) []string {
	return []string{"node", "/var/runtime/node_modules/aws-lambda-ric/bin/index.mjs", handler}
}

func pythonCommand(py string) []string { return []string{py, "/var/runtime/bootstrap.py"} }

func TestSupportedAndNames(t *testing.T) {
	r := New(Config{DataDir: t.TempDir()})
	want := []string{"provided.al2023", "provided.al2", "provided", "nodejs20.x", "nodejs22.x", "nodejs24.x", "python3.11", "python3.12", "python3.13", "python3.14"}
	if got := r.Names(); !slices.Equal(got, want) {
		t.Fatalf("Names %q, want %q", got, want)
	}
	for _, n := range want {
		if !r.Supported(n) {
			t.Errorf("Supported(%q) = false", n)
		}
	}
	for _, n := range []string{"nodejs18.x", "python3.10", "java21", "go1.x", "", "provided.al2023 "} {
		if r.Supported(n) {
			t.Errorf("Supported(%q) = true", n)
		}
	}
	if !r.Ready("provided") || r.Ready("nodejs20.x") || r.Ready("java21") {
		t.Error("Ready: provided needs nothing, nodejs is not provisioned, java21 is not a runtime")
	}
}

// TestPrepareOnce: concurrent Prepare calls share one install, which ends
// ready in the data dir (node outside /usr copied in), and later calls do
// nothing.
func TestPrepareOnce(t *testing.T) {
	data := t.TempDir()
	var calls atomic.Int32
	release := make(chan struct{})
	r := New(Config{DataDir: data, Node: fakeNode(t, "v22.3.0"), NodeCommand: nodeCommand,
		InstallNode: func(ctx context.Context, dir, node string) error {
			calls.Add(1)
			<-release
			return os.WriteFile(filepath.Join(dir, "ric.mjs"), []byte("//"), 0o644)
		}})
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for _, rt := range []string{"nodejs20.x", "nodejs22.x", "nodejs24.x", "nodejs22.x", "nodejs20.x", "nodejs22.x", "nodejs24.x", "nodejs20.x"} {
		wg.Add(1)
		go func() { defer wg.Done(); errs <- r.Prepare(context.Background(), rt) }()
	}
	time.Sleep(200 * time.Millisecond) // every caller is waiting on the one install
	if r.Ready("nodejs22.x") {
		t.Fatal("ready before the install finished")
	}
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("Prepare: %v", err)
		}
	}
	if n := calls.Load(); n != 1 {
		t.Fatalf("InstallNode ran %d times, want 1", n)
	}
	dir := filepath.Join(data, "runtimes", "nodejs")
	for _, f := range []string{"ric.mjs", "bin/node"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("provisioned runtime lacks %s: %v", f, err)
		}
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("runtime dir: %v %v, want 0755 (sandbox uids read it)", fi.Mode(), err)
	}
	if entries := unlocked(filepath.Dir(dir)); len(entries) != 1 {
		t.Errorf("runtimes/ holds %d entries, want the one runtime dir (no temp dirs left)", len(entries))
	}
	if err := r.Prepare(context.Background(), "nodejs22.x"); err != nil || calls.Load() != 1 || !r.Ready("nodejs24.x") {
		t.Fatalf("Prepare of a ready runtime: %v, %d installs", err, calls.Load())
	}
	// A new registry on the same data dir finds it ready.
	if !New(Config{DataDir: data}).Ready("nodejs20.x") {
		t.Fatal("the provisioned runtime is not ready for the next sluice")
	}
}

// TestPrepareRetriesAFailure: a failed install leaves nothing behind, says
// what to install, and the next Prepare tries again.
func TestPrepareRetriesAFailure(t *testing.T) {
	data := t.TempDir()
	var calls atomic.Int32
	r := New(Config{DataDir: data, Python: "/usr/bin/python3", PythonCommand: pythonCommand,
		InstallPython: func(dir string) error {
			if calls.Add(1) == 1 {
				os.WriteFile(filepath.Join(dir, "half"), nil, 0o644)
				return errors.New("disk on fire")
			}
			return os.WriteFile(filepath.Join(dir, "bootstrap.py"), []byte("#"), 0o644)
		}})
	err := r.Prepare(context.Background(), "python3.12")
	if sluice.ErrorCodeOf(err) != sluice.EInvalidRuntime || !strings.Contains(err.Error(), "disk on fire") || !strings.Contains(err.Error(), "sluice runtime install python") {
		t.Fatalf("failed install: %v", err)
	}
	if r.Ready("python3.12") {
		t.Fatal("ready after a failed install")
	}
	if entries := unlocked(filepath.Join(data, "runtimes")); len(entries) != 0 {
		t.Fatalf("a failed install left %d entries", len(entries))
	}
	if err := r.Prepare(context.Background(), "python3.13"); err != nil || calls.Load() != 2 || !r.Ready("python3.11") {
		t.Fatalf("retry: %v after %d installs", err, calls.Load())
	}
}

// TestPrepareContext: a caller that gives up does not cancel the install
// the others share.
func TestPrepareContext(t *testing.T) {
	release := make(chan struct{})
	r := New(Config{DataDir: t.TempDir(), Node: fakeNode(t, "v20.1.0"),
		InstallNode: func(ctx context.Context, dir, node string) error { <-release; return ctx.Err() }})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := r.Prepare(ctx, "nodejs20.x"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Prepare with a cancelled context: %v", err)
	}
	close(release)
	if err := r.Prepare(context.Background(), "nodejs20.x"); err != nil {
		t.Fatalf("the shared install failed with its first caller's context: %v", err)
	}
}

func TestBootstrap(t *testing.T) {
	data := t.TempDir()
	node := fakeNode(t, "v22.11.0")
	r := New(Config{DataDir: data, Node: node, Python: "/usr/bin/python3", NodeCommand: nodeCommand, PythonCommand: pythonCommand,
		InstallNode:   func(ctx context.Context, dir, node string) error { return nil },
		InstallPython: func(dir string) error { return nil }})

	b, err := r.Bootstrap(&sluice.Function{Runtime: "provided.al2023", Handler: "x"})
	if err != nil || !slices.Equal(b.Command, []string{"/var/task/bootstrap"}) || b.RuntimeDir != "" {
		t.Fatalf("provided: %+v %v", b, err)
	}

	_, err = r.Bootstrap(&sluice.Function{Runtime: "nodejs22.x", Handler: "index.handler"})
	if sluice.ErrorCodeOf(err) != sluice.EInvalidRuntime || !strings.Contains(err.Error(), "sluice runtime install nodejs") {
		t.Fatalf("nodejs before provisioning: %v", err)
	}
	for _, rt := range []string{"nodejs22.x", "python3.11"} {
		if err := r.Prepare(context.Background(), rt); err != nil {
			t.Fatal(err)
		}
	}
	b, err = r.Bootstrap(&sluice.Function{Runtime: "nodejs22.x", Handler: "src/app.handler"})
	if err != nil || !slices.Equal(b.Command, []string{"/var/runtime/bin/node", "/var/runtime/node_modules/aws-lambda-ric/bin/index.mjs", "src/app.handler"}) ||
		b.RuntimeDir != filepath.Join(data, "runtimes", "nodejs") || b.Notice != "" {
		t.Fatalf("nodejs22.x on node 22: %+v %v", b, err)
	}
	b, err = r.Bootstrap(&sluice.Function{Runtime: "nodejs20.x", Handler: "index.handler"})
	if err != nil || !strings.Contains(b.Notice, "node 22.11.0 runs nodejs20.x") {
		t.Fatalf("nodejs20.x on node 22: notice %q, %v", b.Notice, err)
	}

	py, err := r.Bootstrap(&sluice.Function{Runtime: "python3.11", Handler: "app.handler"})
	if err != nil || !slices.Equal(py.Command, []string{"/usr/bin/python3", "/var/runtime/bootstrap.py"}) || py.RuntimeDir != filepath.Join(data, "runtimes", "python") {
		t.Fatalf("python3.11: %+v %v", py, err)
	}
	have := r.version("/usr/bin/python3") // the machine's: the notice follows it
	for _, rt := range []string{"python3.11", "python3.14"} {
		b, err := r.Bootstrap(&sluice.Function{Runtime: rt, Handler: "app.handler"})
		mismatch := !strings.HasPrefix(have, strings.TrimPrefix(rt, "python")+".")
		if err != nil || (b.Notice != "") != mismatch {
			t.Errorf("%s on Python %s: notice %q, %v", rt, have, b.Notice, err)
		}
	}
}

// TestNodeUnderUsr: a node under /usr runs where it is, and is not copied.
func TestNodeUnderUsr(t *testing.T) {
	if _, err := os.Stat("/usr/bin/node"); err != nil {
		t.Fatalf("this test needs /usr/bin/node: %v", err)
	}
	data := t.TempDir()
	r := New(Config{DataDir: data, Node: "/usr/bin/node", NodeCommand: nodeCommand,
		InstallNode: func(ctx context.Context, dir, node string) error { return nil }})
	if err := r.Prepare(context.Background(), "nodejs20.x"); err != nil {
		t.Fatal(err)
	}
	b, err := r.Bootstrap(&sluice.Function{Runtime: "nodejs20.x", Handler: "index.handler"})
	if err != nil || b.Command[0] != "/usr/bin/node" {
		t.Fatalf("%+v %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(data, "runtimes", "nodejs", "bin", "node")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("node under /usr was copied: %v", err)
	}
}

// TestMissingInterpreters: no node, a --node that is not there, a python
// outside /usr: EInvalidRuntime saying what to do.
func TestMissingInterpreters(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	r := New(Config{DataDir: t.TempDir(), NodeCommand: nodeCommand, InstallNode: func(context.Context, string, string) error { return nil }})
	// Without node nothing can be provisioned and nothing is wrong with
	// the function: Prepare lets it settle, its invocations say what to do.
	if err := r.Prepare(context.Background(), "nodejs20.x"); err != nil {
		t.Errorf("Prepare without node: %v, want nil", err)
	}
	if r.Ready("nodejs20.x") {
		t.Errorf("ready without node")
	}
	if _, err := r.Bootstrap(&sluice.Function{Runtime: "nodejs20.x", Handler: "i.h"}); sluice.ErrorCodeOf(err) != sluice.EInvalidRuntime || !strings.Contains(err.Error(), "install Node.js") {
		t.Errorf("no node: %v", err)
	}
	r = New(Config{DataDir: t.TempDir(), Node: "/nonexistent/node"})
	if _, err := r.Bootstrap(&sluice.Function{Runtime: "nodejs24.x", Handler: "i.h"}); sluice.ErrorCodeOf(err) != sluice.EInvalidRuntime || !strings.Contains(err.Error(), "--node") {
		t.Errorf("--node missing: %v", err)
	}
	outside := fakeNode(t, "Python 3.12.1") // a python3 outside /usr
	r = New(Config{DataDir: t.TempDir(), Python: outside, InstallPython: func(string) error { return nil }})
	if err := r.Prepare(context.Background(), "python3.12"); err != nil {
		t.Errorf("Prepare with a python outside /usr: %v, want nil", err)
	}
	if _, err := r.Bootstrap(&sluice.Function{Runtime: "python3.12", Handler: "a.b"}); sluice.ErrorCodeOf(err) != sluice.EInvalidRuntime || !strings.Contains(err.Error(), "outside /usr") {
		t.Errorf("python outside /usr, Bootstrap: %v", err)
	}
	if err := r.Prepare(context.Background(), "cobol85"); sluice.ErrorCodeOf(err) != sluice.EInvalidRuntime {
		t.Errorf("unknown runtime: %v", err)
	}
}

// unlocked lists dir without the install lock files (<family>.lock), which
// stay.
func unlocked(dir string) []string {
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".lock") {
			names = append(names, e.Name())
		}
	}
	return names
}

// TestNodeFor: --node-for gives a runtime its own node, copied into the
// runtime directory when it lies outside /usr, with its own notice; other
// nodejs runtimes keep the one node.
func TestNodeFor(t *testing.T) {
	data := t.TempDir()
	node22 := fakeNode(t, "v22.11.0")
	r := New(Config{
		DataDir: data, Node: "/usr/bin/node", NodeFor: map[string]string{"nodejs22.x": node22},
		NodeCommand: nodeCommand, InstallNode: func(context.Context, string, string) error { return nil },
	})
	if err := r.Prepare(context.Background(), "nodejs22.x"); err != nil {
		t.Fatal(err)
	}
	copied := filepath.Join(data, "runtimes", "nodejs", "bin", "nodejs22.x", "node")
	if b, err := os.ReadFile(copied); err != nil || !strings.Contains(string(b), "v22.11.0") {
		t.Fatalf("the nodejs22.x node was not copied into the runtime dir: %v", err)
	}
	b22, err := r.Bootstrap(&sluice.Function{Runtime: "nodejs22.x", Handler: "index.handler"})
	if err != nil {
		t.Fatal(err)
	}
	if b22.Command[0] != "/var/runtime/bin/nodejs22.x/node" || b22.Notice != "" {
		t.Errorf("nodejs22.x: command %q notice %q, want its own node and no notice", b22.Command, b22.Notice)
	}
	b20, err := r.Bootstrap(&sluice.Function{Runtime: "nodejs20.x", Handler: "index.handler"})
	if err != nil {
		t.Fatal(err)
	}
	if b20.Command[0] != "/usr/bin/node" {
		t.Errorf("nodejs20.x: command %q, want the one node", b20.Command)
	}
	r = New(Config{DataDir: data, NodeFor: map[string]string{"nodejs24.x": filepath.Join(t.TempDir(), "none")}, NodeCommand: nodeCommand})
	if _, err := r.Bootstrap(&sluice.Function{Runtime: "nodejs24.x", Handler: "i.h"}); sluice.ErrorCodeOf(err) != sluice.EInvalidRuntime || !strings.Contains(err.Error(), "--node-for") {
		t.Errorf("a --node-for binary that is not there: %v", err)
	}
}

// TestClose: Close cancels an install in progress and waits for it; the
// runtime is not left ready.
func TestClose(t *testing.T) {
	started := make(chan struct{})
	r := New(Config{DataDir: t.TempDir(), Node: "/usr/bin/node", NodeCommand: nodeCommand,
		InstallNode: func(ctx context.Context, dir, node string) error {
			close(started)
			<-ctx.Done()
			return ctx.Err()
		}})
	errc := make(chan error, 1)
	go func() { errc <- r.Prepare(context.Background(), "nodejs20.x") }()
	<-started
	r.Close()
	if err := <-errc; err == nil {
		t.Fatalf("Prepare of an install Close cancelled: nil error")
	}
	if r.Ready("nodejs20.x") {
		t.Fatalf("ready after a cancelled install")
	}
}

// TestPythonBootstrapRefreshed: a sluice started over a runtime directory
// provisioned by an older one installs its own bootstrap at the first
// Python cold start, once.
func TestPythonBootstrapRefreshed(t *testing.T) {
	data := t.TempDir()
	var installs atomic.Int32
	install := func(version string) func(dir string) error {
		return func(dir string) error {
			installs.Add(1)
			return os.WriteFile(filepath.Join(dir, "bootstrap.py"), []byte(version), 0o644)
		}
	}
	old := New(Config{DataDir: data, Python: "/usr/bin/python3", PythonCommand: pythonCommand, InstallPython: install("old")})
	if err := old.Prepare(context.Background(), "python3.11"); err != nil {
		t.Fatal(err)
	}
	old.Close()
	r := New(Config{DataDir: data, Python: "/usr/bin/python3", PythonCommand: pythonCommand, InstallPython: install("new")})
	defer r.Close()
	for range 3 {
		if _, err := r.Bootstrap(&sluice.Function{Runtime: "python3.12", Handler: "app.handler"}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(filepath.Join(data, "runtimes", "python", "bootstrap.py"))
	if err != nil || string(got) != "new" {
		t.Fatalf("bootstrap after the new sluice's cold starts: %q, %v; want the new one", got, err)
	}
	if n := installs.Load(); n != 2 {
		t.Fatalf("%d installs, want 2 (the old provisioning, one refresh)", n)
	}
}
