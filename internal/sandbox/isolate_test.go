package sandbox

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluice-dev/sluice"
)

// TestUIDRange: uids are handed out once until returned, and an exhausted
// range is an error.
func TestUIDRange(t *testing.T) {
	r := NewUIDRange(1000, 2)
	a, err1 := r.Get()
	b, err2 := r.Get()
	if err1 != nil || err2 != nil || a == b || a < 1000 || a > 1001 || b < 1000 || b > 1001 {
		t.Fatalf("Get: %d %v, %d %v", a, err1, b, err2)
	}
	if _, err := r.Get(); err == nil {
		t.Fatal("Get from an exhausted range succeeded")
	}
	r.Put(a)
	if c, err := r.Get(); err != nil || c != a {
		t.Fatalf("Get after Put: %d %v, want %d", c, err, a)
	}
}

// TestSandboxSetupFailureIsAnError: when the sandbox cannot be set up (here:
// no uid left), Start fails with a platform error, which the API answers
// as ServiceException (500), not as a function error.
func TestSandboxSetupFailureIsAnError(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "bootstrap"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	fn := &sluice.Function{Name: "fn", Runtime: "provided", Handler: "x", Timeout: 3, MemorySize: 128, EphemeralStorage: 512, RevisionID: "r"}
	iso := &Isolation{Bwrap: "bwrap", UIDs: NewUIDRange(1_000_000_000, 0), Network: "host"}
	e, err := Start(context.Background(), Spec{Function: fn, CodeDir: dir}, Options{Driver: Bwrap(iso)})
	if err == nil {
		e.Stop()
		t.Fatal("Start succeeded without a uid")
	}
	if code := sluice.ErrorCodeOf(err); code != sluice.EInternal || !strings.Contains(err.Error(), "uids are in use") {
		t.Fatalf("Start: %v (code %s), want an internal error about uids", err, code)
	}
}

// TestEFSMounts: access points map to directories under EFSDir, and each
// local fault has its Lambda error.
func TestEFSMounts(t *testing.T) {
	root := t.TempDir()
	const ap = "arn:aws:elasticfilesystem:us-east-1:000000000000:access-point/fsap-0123456789abcdef0"
	fn := &sluice.Function{FileSystemConfigs: []sluice.FileSystemConfig{{ARN: ap, LocalMountPath: "/mnt/data"}}}
	iso := &Isolation{EFSDir: root}

	if _, err := iso.efsMounts(fn); sluice.ErrorCodeOf(err) != sluice.EEFSMountConnectivity {
		t.Errorf("missing directory: %v, want EFSMountConnectivity", err)
	}
	if err := os.WriteFile(filepath.Join(root, "fsap-0123456789abcdef0"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := iso.efsMounts(fn); sluice.ErrorCodeOf(err) != sluice.EEFSMountFailure {
		t.Errorf("a file, not a directory: %v, want EFSMountFailure", err)
	}
	os.Remove(filepath.Join(root, "fsap-0123456789abcdef0"))
	if err := os.Symlink("fsap-0123456789abcdef0", filepath.Join(root, "fsap-0123456789abcdef0")); err != nil {
		t.Fatal(err)
	}
	if _, err := iso.efsMounts(fn); sluice.ErrorCodeOf(err) != sluice.EEFSIO {
		t.Errorf("a symlink loop: %v, want EFSIO", err)
	}
	os.Remove(filepath.Join(root, "fsap-0123456789abcdef0"))
	if err := os.Mkdir(filepath.Join(root, "fsap-0123456789abcdef0"), 0o755); err != nil {
		t.Fatal(err)
	}
	m, err := iso.efsMounts(fn)
	if err != nil || len(m) != 1 || m[0].Source != filepath.Join(root, "fsap-0123456789abcdef0") || m[0].Target != "/mnt/data" {
		t.Errorf("mounts %+v, %v", m, err)
	}
	if _, err := (&Isolation{}).efsMounts(fn); sluice.ErrorCodeOf(err) != sluice.EEFSMountFailure {
		t.Errorf("no EFS directory configured: %v, want EFSMountFailure", err)
	}
}
