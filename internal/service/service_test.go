package service_test

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"io"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sluice-dev/sluice"
	"github.com/sluice-dev/sluice/internal/artifacts"
	"github.com/sluice-dev/sluice/internal/bolt"
	"github.com/sluice-dev/sluice/internal/concurrency"
	"github.com/sluice-dev/sluice/internal/hotreload"
	"github.com/sluice-dev/sluice/internal/service"
)

var testScope = sluice.Scope{Region: "us-east-1", Account: "123456789012"}

// recordingInvoker records what it was asked to run.
type recordingInvoker struct {
	mu      sync.Mutex
	runs    []sluice.InvokeRequest
	async   []sluice.InvokeRequest
	retired []string
}

func (r *recordingInvoker) Invoke(_ context.Context, req sluice.InvokeRequest) (sluice.Output, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.runs = append(r.runs, req)
	return nil, sluice.Errorf(sluice.EInternal, "recorded")
}

func (r *recordingInvoker) InvokeAsync(req sluice.InvokeRequest) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.async = append(r.async, req)
	return nil
}

// Retire records name:version, with the scope in front (as in
// sluice.EnvironmentKey) when it is not testScope.
func (r *recordingInvoker) Retire(scope sluice.Scope, name, version, _ string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	key := name + ":" + version
	if scope != testScope {
		key = sluice.EnvironmentKey(scope, name, version)
	}
	r.retired = append(r.retired, key)
}

// runtimes is a Config.Runtimes whose Prepare the test controls.
type runtimes struct {
	mu    sync.Mutex
	calls []string
	// prepare, when set, is what Prepare does.
	prepare func(ctx context.Context, runtime string) error
}

func (r *runtimes) Prepare(ctx context.Context, runtime string) error {
	r.mu.Lock()
	r.calls = append(r.calls, runtime)
	f := r.prepare
	r.mu.Unlock()
	if f == nil {
		return nil
	}
	return f(ctx, runtime)
}

// Ready says a runtime is ready once Prepare was called for it.
func (r *runtimes) Ready(runtime string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Contains(r.calls, runtime)
}

func (r *runtimes) set(f func(context.Context, string) error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.prepare = f
}

func (r *runtimes) Calls() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.calls...)
}

type fixture struct {
	t       *testing.T
	dir     string
	store   *bolt.Store
	code    *artifacts.Store
	invoker *recordingInvoker
	rt      *runtimes
	limits  *concurrency.Limiter
	svc     *service.Service
	// codeLimit is Config.CodeStorageLimit of the services open returns.
	codeLimit int64
	// hotRoot is their Config.HotReload.
	hotRoot *hotreload.Root
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	dir := t.TempDir()
	store, err := bolt.Open(filepath.Join(dir, "sluice.db"), testScope)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	code, err := artifacts.Open(filepath.Join(dir, "code"))
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, dir: dir, store: store, code: code, invoker: &recordingInvoker{}, rt: &runtimes{}, limits: concurrency.New(0)}
	f.svc = f.open()
	return f
}

// open returns a new Service on the fixture's stores, closed at cleanup.
func (f *fixture) open() *service.Service {
	svc := service.New(service.Config{
		Scope: testScope, Store: f.store, Code: f.code, Invoker: f.invoker,
		Runtimes: f.rt, Limits: f.limits, CodeStorageLimit: f.codeLimit, HotReload: f.hotRoot,
	})
	f.t.Cleanup(svc.Close)
	return svc
}

func makeZip(t testing.TB, content string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	h := &zip.FileHeader{Name: "bootstrap", Method: zip.Deflate}
	h.SetMode(0o755)
	w, err := zw.CreateHeader(h)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(w, "#!/bin/sh\necho "+content+"\n"); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func (f *fixture) create(name, runtime string, publish bool) *sluice.Function {
	f.t.Helper()
	fn := service.NewFunction(name)
	fn.Runtime, fn.Handler, fn.Role = runtime, "bootstrap", "arn:aws:iam::123456789012:role/r"
	out, err := f.svc.CreateFunction(context.Background(), fn, makeZip(f.t, name), publish)
	if err != nil {
		f.t.Fatalf("CreateFunction(%s): %v", name, err)
	}
	return out
}

// settled polls $LATEST until no deployment is in progress.
func (f *fixture) settled(name string) *sluice.Function {
	f.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		fn, err := f.store.GetFunction(context.Background(), name)
		if err != nil {
			f.t.Fatal(err)
		}
		if fn.State != sluice.StatePending && fn.LastUpdateStatus != sluice.UpdateInProgress {
			return fn
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("%s did not settle: State %s LastUpdateStatus %s", name, fn.State, fn.LastUpdateStatus)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func wantCode(t *testing.T, err error, code sluice.ErrorCode, msg string) {
	t.Helper()
	var e *sluice.Error
	if !errors.As(err, &e) || e.Code != code || (msg != "" && e.Message != msg) {
		t.Fatalf("error = %v, want %s %q", err, code, msg)
	}
}

// The runtime is prepared before the function settles Active: while
// Prepare runs, the function is Pending and refuses invocations.
func TestPrepareBeforeActive(t *testing.T) {
	f := newFixture(t)
	entered, release := make(chan string, 1), make(chan struct{})
	f.rt.set(func(_ context.Context, runtime string) error {
		entered <- runtime
		<-release
		return nil
	})
	created := f.create("fn", "provided.al2023", false)
	if created.State != sluice.StatePending || created.StateReasonCode != "Creating" {
		t.Fatalf("created: State %s %s, want Pending Creating", created.State, created.StateReasonCode)
	}
	if got := <-entered; got != "provided.al2023" {
		t.Fatalf("Prepare(%q), want the function's runtime", got)
	}
	ctx := context.Background()
	if fn, err := f.store.GetFunction(ctx, "fn"); err != nil || fn.State != sluice.StatePending {
		t.Fatalf("while preparing: %v %v, want Pending", fn, err)
	}
	_, err := f.svc.ResolveRunnable(ctx, sluice.FunctionRef{Name: "fn"}, "")
	wantCode(t, err, sluice.EConflict, "The operation cannot be performed at this time. The function is currently in the following state: Pending")
	close(release)
	if fn := f.settled("fn"); fn.State != sluice.StateActive || fn.LastUpdateStatus != sluice.UpdateSuccessful {
		t.Fatalf("after Prepare: State %s LastUpdateStatus %s", fn.State, fn.LastUpdateStatus)
	}
	if _, err := f.svc.ResolveRunnable(ctx, sluice.FunctionRef{Name: "fn"}, ""); err != nil {
		t.Fatalf("Active function not runnable: %v", err)
	}
}

// A runtime that cannot be prepared fails a create with StateReasonCode
// InvalidRuntime and the message of Prepare's error as the reason.
func TestPrepareFailsCreate(t *testing.T) {
	f := newFixture(t)
	f.rt.set(func(context.Context, string) error {
		return sluice.Errorf(sluice.EInvalidParameter, "Node.js is not installed: install node 20 or later")
	})
	f.create("fn", "nodejs20.x", false)
	fn := f.settled("fn")
	if fn.State != sluice.StateFailed || fn.StateReasonCode != "InvalidRuntime" || fn.StateReason != "Node.js is not installed: install node 20 or later" {
		t.Fatalf("State %s %s %q", fn.State, fn.StateReasonCode, fn.StateReason)
	}
	if fn.LastUpdateStatus != sluice.UpdateFailed || fn.LastUpdateStatusReasonCode != "InvalidRuntime" {
		t.Fatalf("LastUpdateStatus %s %s", fn.LastUpdateStatus, fn.LastUpdateStatusReasonCode)
	}
	_, err := f.svc.ResolveRunnable(context.Background(), sluice.FunctionRef{Name: "fn"}, "")
	wantCode(t, err, sluice.EConflict, "The operation cannot be performed at this time. The function is currently in the following state: Failed")

	// A plain error's text may name host paths: it goes to the log, and
	// the reason says so.
	f.rt.set(func(context.Context, string) error {
		return errors.New("lock the runtime directory: open /srv/sluice/runtimes/python/.lock: permission denied")
	})
	f.create("py", "python3.12", false)
	if fn := f.settled("py"); fn.StateReason != "sluice could not prepare the runtime (its log says why)." || fn.StateReasonCode != "InvalidRuntime" {
		t.Fatalf("plain error: %q %s", fn.StateReason, fn.StateReasonCode)
	}
}

// A failed Prepare on an update keeps what ran before, as a bad package
// does, with LastUpdateStatus Failed and InvalidRuntime; its new package is
// collected.
func TestPrepareFailsUpdate(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.create("fn", "provided.al2023", false)
	before := f.settled("fn")
	f.rt.set(func(context.Context, string) error {
		return sluice.Errorf(sluice.EInvalidParameter, "runtime gone")
	})
	zip := makeZip(t, "v2")
	if _, err := f.svc.UpdateFunctionCode(ctx, sluice.FunctionRef{Name: "fn"}, service.CodeUpdate{ZipFile: zip}); err != nil {
		t.Fatal(err)
	}
	fn := f.settled("fn")
	if fn.State != sluice.StateActive || fn.CodeSHA256 != before.CodeSHA256 {
		t.Fatalf("after the failed update: State %s code %s, want Active with the old code %s", fn.State, fn.CodeSHA256, before.CodeSHA256)
	}
	if fn.LastUpdateStatus != sluice.UpdateFailed || fn.LastUpdateStatusReasonCode != "InvalidRuntime" || fn.LastUpdateStatusReason != "runtime gone" {
		t.Fatalf("LastUpdateStatus %s %s %q", fn.LastUpdateStatus, fn.LastUpdateStatusReasonCode, fn.LastUpdateStatusReason)
	}
	if got := f.rt.Calls(); len(got) != 2 {
		t.Fatalf("Prepare calls %v, want one per deployment", got)
	}
	// With Publish the deployment runs in the call, which fails.
	_, err := f.svc.UpdateFunctionCode(ctx, sluice.FunctionRef{Name: "fn"}, service.CodeUpdate{ZipFile: zip, Publish: true})
	wantCode(t, err, sluice.EInvalidParameter, "runtime gone")
}

// A shutdown interrupts a deployment that is preparing its runtime; the
// function stays Pending and the next start resumes it.
func TestPrepareInterruptedResumes(t *testing.T) {
	f := newFixture(t)
	entered := make(chan struct{}, 1)
	f.rt.set(func(ctx context.Context, _ string) error {
		entered <- struct{}{}
		<-ctx.Done()
		return ctx.Err()
	})
	f.create("fn", "provided.al2023", false)
	<-entered
	f.svc.Close()
	fn, err := f.store.GetFunction(context.Background(), "fn")
	if err != nil || fn.State != sluice.StatePending {
		t.Fatalf("after Close: %v %v, want still Pending", fn, err)
	}
	f.rt.set(nil)
	next := f.open()
	if err := next.Resume(context.Background()); err != nil {
		t.Fatal(err)
	}
	if fn := f.settled("fn"); fn.State != sluice.StateActive {
		t.Fatalf("resumed: State %s %s", fn.State, fn.StateReason)
	}
}

// Invoke fills what the caller left out from the target: the invoked ARN
// as qualified and a trace id; the executed version is the routed one.
func TestInvokeTarget(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.create("fn", "provided.al2023", false)
	f.settled("fn")
	if _, err := f.svc.PublishVersion(ctx, sluice.FunctionRef{Name: "fn"}, service.Publish{}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.CreateAlias(ctx, sluice.FunctionRef{Name: "fn"}, &sluice.Alias{Name: "live", FunctionVersion: "1"}); err != nil {
		t.Fatal(err)
	}
	tgt, err := f.svc.Resolve(ctx, sluice.FunctionRef{Name: "fn"}, "live")
	if err != nil {
		t.Fatal(err)
	}
	if tgt.InvokedARN != testScope.FunctionARN("fn")+":live" || tgt.Alias == nil || tgt.Function.Version != "1" {
		t.Fatalf("target %+v", tgt)
	}
	run, err := f.svc.Route(ctx, tgt)
	if err != nil {
		t.Fatal(err)
	}
	if run.ExecutedVersion() != "1" {
		t.Fatalf("executed version %s", run.ExecutedVersion())
	}
	if _, err := f.svc.Invoke(ctx, run, sluice.Invocation{RequestID: "r1", Payload: []byte("{}")}); err == nil {
		t.Fatal("the recording invoker's error was lost")
	}
	f.invoker.mu.Lock()
	req := f.invoker.runs[len(f.invoker.runs)-1]
	f.invoker.mu.Unlock()
	if req.Invocation.InvokedFunctionARN != tgt.InvokedARN || req.Invocation.TraceID == "" || req.Invocation.RequestID != "r1" || req.Function.Version != "1" {
		t.Fatalf("invoked %+v", req)
	}

	// Unqualified not-found: Resolve as reads show it, ResolveRunnable as
	// Invoke does.
	_, err = f.svc.Resolve(ctx, sluice.FunctionRef{Name: "gone"}, "")
	wantCode(t, err, sluice.ENotFound, "Function not found: "+testScope.FunctionARN("gone"))
	_, err = f.svc.ResolveRunnable(ctx, sluice.FunctionRef{Name: "gone"}, "")
	wantCode(t, err, sluice.ENotFound, "Function not found: "+testScope.FunctionARN("gone")+":$LATEST")

	// Events are refused only when nothing may run.
	if err := f.svc.PutFunctionConcurrency(ctx, sluice.FunctionRef{Name: "fn"}, 0); err != nil {
		t.Fatal(err)
	}
	err = f.svc.InvokeAsync(context.Background(), run, sluice.Invocation{RequestID: "r2"})
	wantCode(t, err, sluice.EThrottled, concurrency.ThrottleMessage)
	if err := f.svc.DeleteFunctionConcurrency(ctx, sluice.FunctionRef{Name: "fn"}); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.InvokeAsync(context.Background(), run, sluice.Invocation{RequestID: "r3"}); err != nil {
		t.Fatal(err)
	}
}

// The routing draw picks the additional version exactly when it falls
// below its weight.
func TestRouteWeights(t *testing.T) {
	f := newFixture(t)
	draws := []float64{0, 0.29, 0.3, 0.99}
	var mu sync.Mutex
	svc := service.New(service.Config{
		Scope: testScope, Store: f.store, Code: f.code, Invoker: f.invoker,
		Rand: func() float64 {
			mu.Lock()
			defer mu.Unlock()
			x := draws[0]
			draws = draws[1:]
			return x
		},
	})
	t.Cleanup(svc.Close)
	ctx := context.Background()
	f.create("fn", "provided.al2023", false)
	f.settled("fn")
	ref := sluice.FunctionRef{Name: "fn"}
	if _, err := svc.PublishVersion(ctx, ref, service.Publish{}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.UpdateFunctionConfiguration(ctx, ref, nil, func(fn *sluice.Function) { fn.Timeout = 9 }); err != nil {
		t.Fatal(err)
	}
	f.settled("fn")
	if _, err := svc.PublishVersion(ctx, ref, service.Publish{}); err != nil {
		t.Fatal(err)
	}
	_, err := svc.CreateAlias(ctx, ref, &sluice.Alias{Name: "canary", FunctionVersion: "1", AdditionalVersionWeights: map[string]float64{"2": 0.3}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for range 4 {
		run, err := svc.ResolveRunnable(ctx, ref, "canary")
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, run.ExecutedVersion())
	}
	if want := []string{"2", "2", "1", "1"}; !slices.Equal(got, want) {
		t.Fatalf("routed %v, want %v", got, want)
	}
	// The routing rules are the service's.
	_, err = svc.CreateAlias(ctx, ref, &sluice.Alias{Name: "bad", FunctionVersion: sluice.LatestVersion, AdditionalVersionWeights: map[string]float64{"2": 0.3}})
	wantCode(t, err, sluice.EInvalidParameter, "$LATEST is not supported for an alias pointing to more than 1 version")
}

// TestAssumeRole: CreateFunction and a role change in
// UpdateFunctionConfiguration ask Config.AssumeRole, with the scope and
// the role, and fail with its error as is, storing nothing; other
// configuration changes do not ask.
func TestAssumeRole(t *testing.T) {
	f := newFixture(t)
	const good, bad = "arn:aws:iam::123456789012:role/r", "arn:aws:iam::123456789012:role/missing"
	var mu sync.Mutex
	var asked []string
	f.svc = service.New(service.Config{
		Scope: testScope, Store: f.store, Code: f.code, Invoker: f.invoker, Runtimes: f.rt, Limits: f.limits,
		AssumeRole: func(scope sluice.Scope, role string) error {
			mu.Lock()
			defer mu.Unlock()
			if scope != testScope {
				t.Errorf("AssumeRole asked in scope %v, want %v", scope, testScope)
			}
			asked = append(asked, role)
			if role != good {
				return service.CannotAssumeRole()
			}
			return nil
		},
	})
	t.Cleanup(f.svc.Close)
	askedRoles := func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), asked...)
	}
	const msg = "The role defined for the function cannot be assumed by Lambda."

	fn := service.NewFunction("refused")
	fn.Runtime, fn.Handler, fn.Role = "provided.al2023", "bootstrap", bad
	_, err := f.svc.CreateFunction(context.Background(), fn, makeZip(t, "x"), false)
	wantCode(t, err, sluice.EInvalidParameter, msg)
	if _, err := f.store.GetFunction(context.Background(), "refused"); sluice.ErrorCodeOf(err) != sluice.ENotFound {
		t.Fatalf("a function whose role cannot be assumed was stored: %v", err)
	}
	if got := askedRoles(); !slices.Equal(got, []string{bad}) {
		t.Fatalf("AssumeRole asked for %v, want [%s]", got, bad)
	}

	f.create("fn", "provided.al2023", false) // role good
	f.settled("fn")
	ref := sluice.FunctionRef{Name: "fn"}
	_, err = f.svc.UpdateFunctionConfiguration(context.Background(), ref, nil, func(fn *sluice.Function) { fn.Role = bad })
	wantCode(t, err, sluice.EInvalidParameter, msg)
	if got, _ := f.store.GetFunction(context.Background(), "fn"); got.Role != good {
		t.Fatalf("the refused role was stored: %s", got.Role)
	}
	n := len(askedRoles())
	if _, err := f.svc.UpdateFunctionConfiguration(context.Background(), ref, nil, func(fn *sluice.Function) { fn.Timeout = 9 }); err != nil {
		t.Fatal(err)
	}
	if got := askedRoles(); len(got) != n {
		t.Fatalf("a change that keeps the role asked AssumeRole again: %v", got)
	}
	if got := askedRoles(); !slices.Equal(got, []string{bad, good, bad}) {
		t.Fatalf("AssumeRole asked for %v, want [%s %s %s]", got, bad, good, bad)
	}
}
