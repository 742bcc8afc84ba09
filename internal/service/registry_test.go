package service_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluice-dev/sluice"
	"github.com/sluice-dev/sluice/internal/concurrency"
	"github.com/sluice-dev/sluice/internal/service"
)

// Scopes of the registry tests: testScope (the default), another region
// of its account, and another account in its region.
var (
	otherRegion  = sluice.Scope{Region: "eu-west-1", Account: testScope.Account}
	otherAccount = sluice.Scope{Region: testScope.Region, Account: "210987654321"}
)

// registry returns a Registry on the fixture's stores, closed at cleanup,
// whose scopes have an account limit of limit (0: the default).
func (f *fixture) registry(limit int) *service.Registry {
	f.t.Helper()
	reg := service.NewRegistry(service.RegistryConfig{
		Default: testScope,
		Stores:  f.store,
		Limits:  concurrency.NewLimiters(limit),
		Service: service.Config{Code: f.code, Invoker: f.invoker, Runtimes: f.rt, CodeStorageLimit: f.codeLimit, NewURLID: newURLID()},
	})
	f.t.Cleanup(reg.Close)
	return reg
}

// newURLID returns ids of URLs: 32 digits, a new one per call.
func newURLID() func() string {
	var n atomic.Int64
	return func() string { return fmt.Sprintf("%032d", n.Add(1)) }
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func (f *fixture) scoped(reg *service.Registry, scope sluice.Scope) *service.Service {
	f.t.Helper()
	svc, err := reg.Service(context.Background(), scope)
	if err != nil {
		f.t.Fatalf("Service(%s): %v", scope, err)
	}
	return svc
}

// createIn creates name with the package content in svc's scope and waits
// for it to settle.
func (f *fixture) createIn(svc *service.Service, name, content string) *sluice.Function {
	f.t.Helper()
	if _, err := svc.CreateFunction(context.Background(), f.newFunction(name), makeZip(f.t, content), false); err != nil {
		f.t.Fatalf("CreateFunction(%s) in %s: %v", name, svc.Scope(), err)
	}
	return f.settledIn(svc.Scope(), name)
}

// settledIn polls the $LATEST of name in scope until no deployment is in
// progress.
func (f *fixture) settledIn(scope sluice.Scope, name string) *sluice.Function {
	f.t.Helper()
	store := f.store.In(scope)
	for i := 0; ; i++ {
		fn, err := store.GetFunction(context.Background(), name)
		if err != nil {
			f.t.Fatal(err)
		}
		if fn.State != sluice.StatePending && fn.LastUpdateStatus != sluice.UpdateInProgress {
			return fn
		}
		if i > 6000 {
			f.t.Fatalf("%s in %s did not settle", name, scope)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// The Registry hands out one Service per scope, each with its own
// functions, ARNs and invocations.
func TestRegistryScopes(t *testing.T) {
	f := newFixture(t)
	reg := f.registry(0)
	ctx := context.Background()
	if reg.Default() != testScope {
		t.Fatalf("Default = %v", reg.Default())
	}
	a, b, c := f.scoped(reg, testScope), f.scoped(reg, otherRegion), f.scoped(reg, otherAccount)
	if again := f.scoped(reg, otherRegion); again != b {
		t.Error("a second Service call made another Service for the same scope")
	}
	for _, svc := range []*service.Service{a, b, c} {
		f.createIn(svc, "fn", svc.Scope().String())
	}
	for _, svc := range []*service.Service{a, b, c} {
		scope := svc.Scope()
		fns, err := svc.ListFunctions(ctx, "", 0)
		if err != nil || len(fns) != 1 || fns[0].CodeSHA256 != sha256Hex(makeZip(t, scope.String())) {
			t.Fatalf("ListFunctions in %s = %v, %v; want its own fn", scope, fns, err)
		}
		tgt, err := svc.Resolve(ctx, sluice.FunctionRef{Name: "fn"}, "")
		if err != nil {
			t.Fatal(err)
		}
		if tgt.InvokedARN != scope.FunctionARN("fn") {
			t.Errorf("ARN in %s = %s", scope, tgt.InvokedARN)
		}
		// A full ARN of the scope resolves; one of another region is
		// Lambda's not-reachable error.
		if _, err := svc.Resolve(ctx, sluice.FunctionRef{Name: "fn", Region: scope.Region, Account: scope.Account}, ""); err != nil {
			t.Errorf("Resolve of the full ARN in %s: %v", scope, err)
		}
		run, err := svc.Route(ctx, tgt)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = svc.Invoke(ctx, run, sluice.Invocation{RequestID: "r-" + scope.String()})
		f.invoker.mu.Lock()
		req := f.invoker.runs[len(f.invoker.runs)-1]
		f.invoker.mu.Unlock()
		if req.Scope != scope || req.Invocation.InvokedFunctionARN != scope.FunctionARN("fn") {
			t.Errorf("invocation in %s: scope %v, ARN %s", scope, req.Scope, req.Invocation.InvokedFunctionARN)
		}
	}
	_, err := b.Resolve(ctx, sluice.FunctionRef{Name: "fn", Region: testScope.Region}, "")
	wantCode(t, err, sluice.ENotFound, "Functions from 'us-east-1' are not reachable in this region ('eu-west-1')")

	// A delete in one scope retires that scope's environments and leaves
	// the others' functions.
	if err := b.DeleteFunction(ctx, sluice.FunctionRef{Name: "fn"}, ""); err != nil {
		t.Fatal(err)
	}
	f.invoker.mu.Lock()
	retired := slices.Clone(f.invoker.retired)
	f.invoker.mu.Unlock()
	if want := sluice.EnvironmentKey(otherRegion, "fn", sluice.LatestVersion); !slices.Contains(retired, want) || slices.Contains(retired, "fn:$LATEST") {
		t.Errorf("retired %v, want %s only", retired, want)
	}
	for _, svc := range []*service.Service{a, c} {
		if _, err := svc.Resolve(ctx, sluice.FunctionRef{Name: "fn"}, ""); err != nil {
			t.Errorf("fn in %s after the delete in %s: %v", svc.Scope(), otherRegion, err)
		}
	}

	_, err = reg.Service(ctx, sluice.Scope{Region: "local", Account: testScope.Account})
	wantCode(t, err, sluice.EInvalidParameter, "")
	reg.Close()
	_, err = reg.Service(ctx, otherRegion)
	wantCode(t, err, sluice.EServiceUnavailable, "")
}

// A package two scopes use is stored once, charged to both, and removed
// only when neither uses it any more.
func TestRegistryCodeAcrossScopes(t *testing.T) {
	f := newFixture(t)
	f.codeLimit = 2 * onePackage
	reg := f.registry(0)
	ctx := context.Background()
	a, b := f.scoped(reg, testScope), f.scoped(reg, otherAccount)
	f.createIn(a, "one", "shared")
	f.createIn(b, "other", "shared")
	if zips, _ := f.storedZips(); zips != 1 {
		t.Fatalf("%d packages stored, want the shared one once", zips)
	}
	for _, svc := range []*service.Service{a, b} {
		if got := f.usage(svc); got != onePackage {
			t.Errorf("usage in %s = %d, want %d", svc.Scope(), got, onePackage)
		}
	}
	// Quotas are per scope: a fills its own up, b still has room.
	f.createIn(a, "two", "a-only")
	_, err := a.CreateFunction(ctx, f.newFunction("three"), makeZip(t, "a-three"), false)
	wantCode(t, err, sluice.ECodeStorageExceeded, msgCodeStorage)
	f.createIn(b, "two", "b-only")

	if err := a.DeleteFunction(ctx, sluice.FunctionRef{Name: "one"}, ""); err != nil {
		t.Fatal(err)
	}
	if got := f.usage(a); got != onePackage {
		t.Errorf("usage in %s after deleting its user of the shared package = %d, want %d", a.Scope(), got, onePackage)
	}
	if got := f.usage(b); got != 2*onePackage {
		t.Errorf("usage in %s = %d, want %d", b.Scope(), got, 2*onePackage)
	}
	if _, err := f.code.Stat(sha256Hex(makeZip(t, "shared"))); err != nil {
		t.Fatalf("the package another scope uses was removed: %v", err)
	}
	if err := b.DeleteFunction(ctx, sluice.FunctionRef{Name: "other"}, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := f.code.Stat(sha256Hex(makeZip(t, "shared"))); err == nil {
		t.Error("the package no scope uses any more is still stored")
	}
	if zips, _ := f.storedZips(); zips != 2 {
		t.Errorf("%d packages stored, want a-only and b-only", zips)
	}
}

// Concurrency counts per scope: a reservation in one scope leaves the
// unreserved pool of the others whole, and a scope's reservations are
// loaded from the store when its Service is made.
func TestRegistryConcurrencyPerScope(t *testing.T) {
	f := newFixture(t)
	reg := f.registry(200)
	ctx := context.Background()
	a, b := f.scoped(reg, testScope), f.scoped(reg, otherRegion)
	f.createIn(a, "fn", "a")
	f.createIn(b, "fn", "b")
	if err := b.PutFunctionConcurrency(ctx, sluice.FunctionRef{Name: "fn"}, 100); err != nil {
		t.Fatal(err)
	}
	// The same reservation fits in a: b's does not count there.
	if err := a.PutFunctionConcurrency(ctx, sluice.FunctionRef{Name: "fn"}, 100); err != nil {
		t.Fatalf("a reservation in %s counted against %s: %v", otherRegion, testScope, err)
	}
	if err := a.DeleteFunctionConcurrency(ctx, sluice.FunctionRef{Name: "fn"}); err != nil {
		t.Fatal(err)
	}
	ua, err := a.AccountSettings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ub, err := b.AccountSettings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ua.ConcurrentExecutions != 200 || ua.UnreservedConcurrentExecutions != 200 || ua.FunctionCount != 1 {
		t.Errorf("settings in %s = %+v", testScope, ua)
	}
	if ub.ConcurrentExecutions != 200 || ub.UnreservedConcurrentExecutions != 100 || ub.FunctionCount != 1 {
		t.Errorf("settings in %s = %+v", otherRegion, ub)
	}

	// A new registry (a restart) loads b's reservation when b's Service
	// is made.
	reg2 := f.registry(200)
	b2 := f.scoped(reg2, otherRegion)
	if n, ok := b2.ReservedConcurrency("fn"); !ok || n != 100 {
		t.Errorf("reservation in %s after a restart = %d, %v; want 100", otherRegion, n, ok)
	}
	if n, ok := f.scoped(reg2, testScope).ReservedConcurrency("fn"); ok {
		t.Errorf("reservation in %s after a restart = %d, want none", testScope, n)
	}
}

// Resume restarts the interrupted deployments of every scope.
func TestRegistryResumesEveryScope(t *testing.T) {
	f := newFixture(t)
	entered := make(chan struct{}, 2)
	f.rt.set(func(ctx context.Context, _ string) error {
		entered <- struct{}{}
		<-ctx.Done()
		return ctx.Err()
	})
	reg := f.registry(0)
	ctx := context.Background()
	for _, sc := range []sluice.Scope{otherRegion, otherAccount} {
		if _, err := f.scoped(reg, sc).CreateFunction(ctx, f.newFunction("fn"), makeZip(t, "fn"), false); err != nil {
			t.Fatal(err)
		}
		<-entered
	}
	reg.Close()
	for _, sc := range []sluice.Scope{otherRegion, otherAccount} {
		if fn, err := f.store.In(sc).GetFunction(ctx, "fn"); err != nil || fn.State != sluice.StatePending {
			t.Fatalf("fn in %s after Close: %v, %v; want Pending", sc, fn, err)
		}
	}
	f.rt.set(nil)
	reg2 := f.registry(0)
	if err := reg2.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	for _, sc := range []sluice.Scope{otherRegion, otherAccount} {
		if fn := f.settledIn(sc, "fn"); fn.State != sluice.StateActive {
			t.Errorf("fn in %s after Resume: %s", sc, fn.State)
		}
	}
}

// A function URL is found by its id in whatever scope it is, with that
// scope's Service.
func TestRegistryURLTarget(t *testing.T) {
	f := newFixture(t)
	reg := f.registry(0)
	ctx := context.Background()
	b := f.scoped(reg, otherAccount)
	f.createIn(b, "web", "web")
	c, err := b.CreateFunctionURL(ctx, sluice.FunctionRef{Name: "web"}, "", &sluice.FunctionURLConfig{AuthType: sluice.URLAuthNone})
	if err != nil {
		t.Fatal(err)
	}
	if arn := b.URLFunctionARN(c); arn != otherAccount.FunctionARN("web") {
		t.Errorf("URL's FunctionArn = %s", arn)
	}
	svc, got, run, err := reg.URLTarget(ctx, c.URLID)
	if err != nil {
		t.Fatal(err)
	}
	if svc.Scope() != otherAccount || got.URLID != c.URLID || run.Target.InvokedARN != otherAccount.FunctionARN("web") {
		t.Errorf("URLTarget = %v, %v, %v", svc.Scope(), got, run.Target.InvokedARN)
	}
	// The default scope's Service does not know it.
	if _, _, err := f.scoped(reg, testScope).URLTarget(ctx, c.URLID); err != service.ErrNoURL {
		t.Errorf("URLTarget of another scope's URL in %s: %v, want ErrNoURL", testScope, err)
	}
	if _, _, _, err := reg.URLTarget(ctx, "nosuchurl00000000000000000000000"); err != service.ErrNoURL {
		t.Errorf("URLTarget of an unknown id: %v, want ErrNoURL", err)
	}
}
