package service_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluice-dev/sluice"
	"github.com/sluice-dev/sluice/internal/hotreload"
	"github.com/sluice-dev/sluice/internal/service"
)

// hotFixture is a fixture whose services accept hot reload under root,
// which holds the directory fn with a bootstrap.
func hotFixture(t *testing.T) (f *fixture, root string) {
	t.Helper()
	f = newFixture(t)
	root = filepath.Join(t.TempDir(), "root")
	if err := os.MkdirAll(filepath.Join(root, "fn"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "fn", "bootstrap"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	r, err := hotreload.NewRoot(root)
	if err != nil {
		t.Fatal(err)
	}
	f.hotRoot = r
	f.svc = f.open()
	return f, root
}

func hotFunction(name, dir string) *sluice.Function {
	fn := service.NewFunction(name)
	fn.Runtime, fn.Handler, fn.Role = "provided.al2023", "bootstrap", "arn:aws:iam::123456789012:role/r"
	fn.CodeSHA256 = sluice.HotReloadCode(dir)
	return fn
}

// CreateFunction with hot reload stores no package: the function's code
// is the directory, of size 0, and it settles Active.
func TestHotReloadCreate(t *testing.T) {
	f, root := hotFixture(t)
	dir := filepath.Join(root, "fn")
	if _, err := f.svc.CreateFunction(context.Background(), hotFunction("hot", dir), nil, false); err != nil {
		t.Fatal(err)
	}
	fn := f.settled("hot")
	if fn.State != sluice.StateActive || fn.CodeSHA256 != sluice.HotReloadCode(dir) || fn.CodeSize != 0 {
		t.Fatalf("State %s CodeSHA256 %q CodeSize %d; want Active, the directory, 0", fn.State, fn.CodeSHA256, fn.CodeSize)
	}
	if got := service.CodeSHA256(fn.CodeSHA256); got != sluice.HotReloadCodeSha256 {
		t.Errorf("CodeSha256 answered %q, want %q", got, sluice.HotReloadCodeSha256)
	}
	var files []string
	_ = filepath.WalkDir(filepath.Join(f.dir, "code"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, p)
		}
		return nil
	})
	if len(files) != 0 {
		t.Errorf("the package store holds %v, want nothing", files)
	}
	// A version published from it runs from the directory too.
	v, err := f.svc.PublishVersion(context.Background(), sluice.FunctionRef{Name: "hot"}, service.Publish{})
	if err != nil {
		t.Fatal(err)
	}
	if v.CodeSHA256 != fn.CodeSHA256 {
		t.Errorf("version %s: CodeSHA256 %q", v.Version, v.CodeSHA256)
	}
	if err := f.svc.DeleteFunction(context.Background(), sluice.FunctionRef{Name: "hot"}, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "bootstrap")); err != nil {
		t.Errorf("deleting the function touched its directory: %v", err)
	}
}

// The directory is checked by the service, whatever the api let through.
func TestHotReloadRefused(t *testing.T) {
	f, root := hotFixture(t)
	outside := filepath.Join(filepath.Dir(root), "outside")
	if err := os.Mkdir(outside, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(root, "escape")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "file"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ dir, msg string }{
		{"fn", "has to be an absolute path! Your archive key: fn"},
		{filepath.Join(root, "missing"), "does not exist"},
		{filepath.Join(root, "file"), "must name a directory"},
		{outside, "--hot-reload-root"},
		{filepath.Join(root, "fn", "..", "..", "outside"), "--hot-reload-root"},
		{filepath.Join(root, "escape"), "--hot-reload-root"},
	} {
		_, err := f.svc.CreateFunction(context.Background(), hotFunction("refused", c.dir), nil, false)
		if sluice.ErrorCodeOf(err) != sluice.EInvalidParameter || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("create from %q: %v; want InvalidParameterValue %q", c.dir, err, c.msg)
		}
	}
	if _, err := f.store.GetFunction(context.Background(), "refused"); sluice.ErrorCodeOf(err) != sluice.ENotFound {
		t.Errorf("a refused function was stored: %v", err)
	}
	f.create("zipped", "provided.al2023", false)
	f.settled("zipped")
	_, err := f.svc.UpdateFunctionCode(context.Background(), sluice.FunctionRef{Name: "zipped"}, service.CodeUpdate{HotReloadDir: outside})
	if sluice.ErrorCodeOf(err) != sluice.EInvalidParameter || !strings.Contains(err.Error(), "--hot-reload-root") {
		t.Errorf("update to a directory outside the root: %v", err)
	}
}

// Without a root (no --hot-reload-root) hot reload is refused.
func TestHotReloadOff(t *testing.T) {
	f := newFixture(t)
	_, err := f.svc.CreateFunction(context.Background(), hotFunction("hot", t.TempDir()), nil, false)
	if sluice.ErrorCodeOf(err) != sluice.EInvalidParameter || !strings.Contains(err.Error(), "Hot reloading is disabled") {
		t.Fatalf("create with hot reload off: %v", err)
	}
}

// UpdateFunctionCode switches a function between a package and a
// directory; the package it left is removed, and the environments of the
// configuration before are retired.
func TestHotReloadUpdate(t *testing.T) {
	f, root := hotFixture(t)
	dir := filepath.Join(root, "fn")
	zipped := f.create("f", "provided.al2023", false)
	f.settled("f")
	pkg := zipped.CodeSHA256
	if _, err := f.code.Stat(pkg); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.UpdateFunctionCode(context.Background(), sluice.FunctionRef{Name: "f"}, service.CodeUpdate{HotReloadDir: dir}); err != nil {
		t.Fatal(err)
	}
	fn := f.settled("f")
	if fn.LastUpdateStatus != sluice.UpdateSuccessful || fn.CodeSHA256 != sluice.HotReloadCode(dir) || fn.CodeSize != 0 {
		t.Fatalf("after the update: %s %q %d", fn.LastUpdateStatus, fn.CodeSHA256, fn.CodeSize)
	}
	// The deployment releases the package and retires the environments
	// right after it settles the function.
	released := func() bool {
		f.invoker.mu.Lock()
		retired := len(f.invoker.retired)
		f.invoker.mu.Unlock()
		_, err := f.code.Stat(pkg)
		return err != nil && retired > 0
	}
	for deadline := time.Now().Add(10 * time.Second); !released() && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	if !released() {
		t.Error("the package the function left is still stored, or no environments were retired")
	}
	// and back to a package
	if _, err := f.svc.UpdateFunctionCode(context.Background(), sluice.FunctionRef{Name: "f"}, service.CodeUpdate{ZipFile: makeZip(t, "again")}); err != nil {
		t.Fatal(err)
	}
	if fn := f.settled("f"); fn.LastUpdateStatus != sluice.UpdateSuccessful || strings.HasPrefix(fn.CodeSHA256, "hot-reload:") {
		t.Fatalf("back to a package: %s %q", fn.LastUpdateStatus, fn.CodeSHA256)
	}
}
