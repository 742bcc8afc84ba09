package sandbox

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/sluice-dev/sluice"
)

// TestBootstrapSymlinkResolvedInTaskRoot: a bootstrap symlink is resolved
// inside the task root only. One pointing anywhere else is a bootstrap
// that does not exist, whatever the host has there (an existing file, an
// executable, nothing), so the answer tells nothing about the host, and
// names no host path.
func TestBootstrapSymlinkResolvedInTaskRoot(t *testing.T) {
	var payloads []string
	for _, target := range []string{"/etc/passwd", "/nonexistent", "/bin/sh", "../../../../../../etc/passwd", "..", "/var/taskx/bootstrap"} {
		dir := t.TempDir()
		if err := os.Symlink(target, filepath.Join(dir, "bootstrap")); err != nil {
			t.Fatal(err)
		}
		fn := &sluice.Function{Name: "fn", Runtime: "provided.al2023", Handler: "x", Timeout: 3, MemorySize: 128, RevisionID: "r"}
		e, err := Start(t.Context(), Spec{Function: fn, CodeDir: dir}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		_, res := run(t, e)
		e.Stop()
		if res.Err == nil || res.Err.Type != "Runtime.InvalidEntrypoint" {
			t.Fatalf("bootstrap -> %s: result %+v, want Runtime.InvalidEntrypoint", target, res.Err)
		}
		p := string(res.Err.Payload)
		if !strings.Contains(p, "fork/exec /var/task/bootstrap: no such file or directory") {
			t.Errorf("bootstrap -> %s: %s, want no such file or directory", target, p)
		}
		if strings.Contains(p, dir) || strings.Contains(p, target) && target != ".." {
			t.Errorf("bootstrap -> %s: the error names a host path: %s", target, p)
		}
		// The same document but for the request id.
		if i := strings.Index(p, "Error: "); i >= 0 {
			p = p[i:]
		}
		payloads = append(payloads, p)
	}
	for _, p := range payloads[1:] {
		if p != payloads[0] {
			t.Errorf("different answers for different host targets: %q and %q", payloads[0], p)
		}
	}
}

// TestResolveTaskPath: symlinks inside the task root resolve as inside an
// environment; anything that leaves it does not exist.
func TestResolveTaskPath(t *testing.T) {
	code := t.TempDir()
	for _, d := range []string{"bin", "lib"} {
		if err := os.Mkdir(filepath.Join(code, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(code, "bin", "real"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, target := range map[string]string{
		"rel":      "bin/real",
		"abs":      "/var/task/bin/real",
		"chain":    "rel",
		"dotdot":   "bin/../bin/real",
		"up":       "../task/bin/real", // /var/task/.. is outside, even on the way back in
		"out":      "/etc/passwd",
		"loop":     "loop",
		"dirlink":  "bin",
		"lib/back": "../bin/real",
	} {
		if err := os.Symlink(target, filepath.Join(code, name)); err != nil {
			t.Fatal(err)
		}
	}
	real := filepath.Join(code, "bin", "real")
	for _, tc := range []struct {
		p    string
		want string
		err  error
	}{
		{"/var/task/rel", real, nil},
		{"/var/task/abs", real, nil},
		{"/var/task/chain", real, nil},
		{"/var/task/dotdot", real, nil},
		{"/var/task/dirlink/real", real, nil},
		{"/var/task/lib/back", real, nil},
		{"/var/task/missing", filepath.Join(code, "missing"), nil},
		{"/var/task/up", "", syscall.ENOENT},
		{"/var/task/out", "", syscall.ENOENT},
		{"/var/task/../etc/passwd", "", syscall.ENOENT},
		{"/var/task/loop", "", syscall.ELOOP},
		{"/var/task/bin/real/x", "", syscall.ENOTDIR},
		{"/var/taskx", "", syscall.ENOENT},
	} {
		got, err := resolveTaskPath(code, tc.p)
		if got != tc.want || err != tc.err {
			t.Errorf("resolveTaskPath(%s) = %q, %v; want %q, %v", tc.p, got, err, tc.want, tc.err)
		}
	}
}
