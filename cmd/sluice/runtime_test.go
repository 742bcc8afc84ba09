package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRuntimeInstallCommand: `sluice runtime install` provisions through
// the server's registry into the data dir, says so, and says what is
// missing when it cannot.
func TestRuntimeInstallCommand(t *testing.T) {
	dir := t.TempDir()
	run := func(args ...string) (int, string, string) {
		var stdout, stderr bytes.Buffer
		code := runtimeCommand(context.Background(), args, &stdout, &stderr)
		return code, stdout.String(), stderr.String()
	}
	if code, out, errs := run("install", "python", "--data-dir", dir); code != 0 || !strings.Contains(out, "python: installed in") {
		t.Fatalf("install python: %d %q %q", code, out, errs)
	}
	if _, err := os.Stat(filepath.Join(dir, "runtimes", "python", "bootstrap.py")); err != nil {
		t.Fatalf("the bootstrap is not in the data dir: %v", err)
	}
	if code, out, _ := run("install", "--data-dir", dir, "python"); code != 0 || !strings.Contains(out, "already installed") {
		t.Errorf("second install: %d %q", code, out)
	}
	if code, _, errs := run("install", "nodejs", "--data-dir", dir, "--node", filepath.Join(dir, "no-node")); code != 1 || !strings.Contains(errs, "--node") {
		t.Errorf("install nodejs without node: %d %q", code, errs)
	}
	if code, _, _ := run("install", "cobol"); code != 2 {
		t.Errorf("unknown runtime: exit %d, want 2", code)
	}
	if code, _, _ := run(); code != 2 {
		t.Errorf("no arguments: exit %d, want 2", code)
	}
}
