package service_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/sluice-dev/sluice"
	"github.com/sluice-dev/sluice/internal/service"
)

// onePackage is what each package of makeZip takes: three 4 KiB blocks
// (its zip, and the root directory and bootstrap of its tree).
const onePackage = 3 * 4096

const msgCodeStorage = "Code storage limit exceeded."

// newQuotaFixture is a fixture whose account may keep n packages of
// makeZip.
func newQuotaFixture(t *testing.T, n int64) *fixture {
	t.Helper()
	f := newFixture(t)
	f.codeLimit = n * onePackage
	f.svc = f.open()
	return f
}

// usage returns the account's code storage in use, checking its limit.
func (f *fixture) usage(svc *service.Service) int64 {
	f.t.Helper()
	used, limit, err := svc.CodeStorage(context.Background())
	if err != nil {
		f.t.Fatal(err)
	}
	if limit != f.codeLimit {
		f.t.Errorf("limit = %d, want %d", limit, f.codeLimit)
	}
	return used
}

// storedZips counts the packages in the code store's zip directory, and
// the unpacked trees and temporaries.
func (f *fixture) storedZips() (zips, trees int) {
	f.t.Helper()
	z, err := os.ReadDir(filepath.Join(f.dir, "code", "zip"))
	if err != nil {
		f.t.Fatal(err)
	}
	u, err := os.ReadDir(filepath.Join(f.dir, "code", "unpacked"))
	if err != nil {
		f.t.Fatal(err)
	}
	return len(z), len(u)
}

func (f *fixture) newFunction(name string) *sluice.Function {
	fn := service.NewFunction(name)
	fn.Runtime, fn.Handler, fn.Role = "provided.al2023", "bootstrap", "arn:aws:iam::123456789012:role/r"
	return fn
}

// A package that would take the account over its limit is refused with
// CodeStorageExceededException before anything is stored; deleting a
// function frees its packages' storage.
func TestCodeStorageQuota(t *testing.T) {
	f := newQuotaFixture(t, 3)
	ctx := context.Background()
	for _, name := range []string{"a", "b", "c"} {
		f.create(name, "provided.al2023", false)
		f.settled(name)
	}
	if got := f.usage(f.svc); got != 3*onePackage {
		t.Fatalf("usage after three functions = %d, want %d", got, 3*onePackage)
	}

	_, err := f.svc.CreateFunction(ctx, f.newFunction("d"), makeZip(t, "d"), false)
	wantCode(t, err, sluice.ECodeStorageExceeded, msgCodeStorage)
	if _, err := f.store.GetFunction(ctx, "d"); sluice.ErrorCodeOf(err) != sluice.ENotFound {
		t.Errorf("refused function stored: %v", err)
	}
	if zips, trees := f.storedZips(); zips != 3 || trees != 3 {
		t.Errorf("after the refusal: %d zips and %d trees, want 3 and 3", zips, trees)
	}

	// An update to a new package is refused too, DryRun or not, and the
	// function keeps its code.
	for _, dry := range []bool{true, false} {
		_, err = f.svc.UpdateFunctionCode(ctx, sluice.FunctionRef{Name: "a"}, service.CodeUpdate{ZipFile: makeZip(t, "a2"), DryRun: dry})
		wantCode(t, err, sluice.ECodeStorageExceeded, msgCodeStorage)
	}
	if fn, _ := f.store.GetFunction(ctx, "a"); fn.LastUpdateStatus != sluice.UpdateSuccessful || fn.Previous != nil {
		t.Errorf("a after a refused update: %s, previous %v", fn.LastUpdateStatus, fn.Previous)
	}

	// A package the account keeps already costs nothing: a's update to
	// b's package frees a's.
	if _, err := f.svc.UpdateFunctionCode(ctx, sluice.FunctionRef{Name: "a"}, service.CodeUpdate{ZipFile: makeZip(t, "b")}); err != nil {
		t.Fatalf("update to a package the account keeps: %v", err)
	}
	f.settled("a")
	if got := f.usage(f.svc); got != 2*onePackage {
		t.Errorf("usage after a took b's package = %d, want %d", got, 2*onePackage)
	}
	// Versions of a kept package cost nothing either.
	if _, err := f.svc.PublishVersion(ctx, sluice.FunctionRef{Name: "b"}, service.Publish{}); err != nil {
		t.Fatalf("publish: %v", err)
	}
	f.create("d", "provided.al2023", false)
	f.settled("d")
	if got := f.usage(f.svc); got != 3*onePackage {
		t.Errorf("usage with d = %d, want %d", got, 3*onePackage)
	}
	_, err = f.svc.CreateFunction(ctx, f.newFunction("e"), makeZip(t, "e"), false)
	wantCode(t, err, sluice.ECodeStorageExceeded, msgCodeStorage)

	// Deleting c frees its package.
	if err := f.svc.DeleteFunction(ctx, sluice.FunctionRef{Name: "c"}, ""); err != nil {
		t.Fatal(err)
	}
	if got := f.usage(f.svc); got != 2*onePackage {
		t.Errorf("usage after deleting c = %d, want %d", got, 2*onePackage)
	}
	f.create("e", "provided.al2023", false)
	f.settled("e")

	// b's package is used by a, b and b's version 1: deleting b keeps
	// it charged, deleting a too frees it.
	if err := f.svc.DeleteFunction(ctx, sluice.FunctionRef{Name: "b"}, ""); err != nil {
		t.Fatal(err)
	}
	if got := f.usage(f.svc); got != 3*onePackage {
		t.Errorf("usage after deleting b = %d, want %d", got, 3*onePackage)
	}
	if err := f.svc.DeleteFunction(ctx, sluice.FunctionRef{Name: "a"}, ""); err != nil {
		t.Fatal(err)
	}
	if got := f.usage(f.svc); got != 2*onePackage {
		t.Errorf("usage after deleting a = %d, want %d", got, 2*onePackage)
	}
}

// The usage is the same after a restart: it is derived from the store and
// the packages on disk.
func TestCodeStorageSurvivesRestart(t *testing.T) {
	f := newQuotaFixture(t, 3)
	ctx := context.Background()
	f.create("a", "provided.al2023", false)
	f.settled("a")
	f.create("b", "provided.al2023", true) // with a version
	before := f.usage(f.svc)
	if before != 2*onePackage {
		t.Fatalf("usage = %d, want %d", before, 2*onePackage)
	}
	f.svc.Close()

	restarted := f.open()
	if got := f.usage(restarted); got != before {
		t.Errorf("usage after a restart = %d, want %d", got, before)
	}
	if _, err := restarted.CreateFunction(ctx, f.newFunction("c"), makeZip(t, "c"), false); err != nil {
		t.Fatalf("create within the limit after a restart: %v", err)
	}
	_, err := restarted.CreateFunction(ctx, f.newFunction("d"), makeZip(t, "d"), false)
	wantCode(t, err, sluice.ECodeStorageExceeded, msgCodeStorage)
	u, err := restarted.AccountSettings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if u.TotalCodeSize != 3*onePackage || u.CodeStorageLimit != 3*onePackage {
		t.Errorf("AccountSettings: TotalCodeSize %d CodeStorageLimit %d, want %d and %d", u.TotalCodeSize, u.CodeStorageLimit, 3*onePackage, 3*onePackage)
	}
}

// Without a limit, the account gets Lambda's 75 GB.
func TestCodeStorageDefault(t *testing.T) {
	f := newFixture(t)
	_, limit, err := f.svc.CodeStorage(context.Background())
	if err != nil || limit != 80530636800 {
		t.Errorf("default limit = %d, %v; want 80530636800", limit, err)
	}
}
