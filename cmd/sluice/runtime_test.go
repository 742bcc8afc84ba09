package main

import (
	"bytes"
	"context"
	"flag"
	"io"
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

// TestNodeForFlag: --node-for RUNTIME=PATH names one nodejs runtime's
// node; anything else is refused.
func TestNodeForFlag(t *testing.T) {
	parse := func(args ...string) (Config, error) {
		c := DefaultConfig()
		fs := flag.NewFlagSet("serve", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		c.flags(fs)
		if err := fs.Parse(args); err != nil {
			return c, err
		}
		return c, c.validate()
	}
	c, err := parse("--node-for", "nodejs22.x=/opt/node22/bin/node", "--node-for", "nodejs24.x=/opt/node24/bin/node")
	if err != nil || c.NodeFor["nodejs22.x"] != "/opt/node22/bin/node" || c.NodeFor["nodejs24.x"] != "/opt/node24/bin/node" {
		t.Fatalf("NodeFor %v, %v", c.NodeFor, err)
	}
	for _, bad := range []string{"python3.12=/usr/bin/python3", "nodejs22.x", "nodejs99.x=/x"} {
		if _, err := parse("--node-for", bad); err == nil {
			t.Errorf("--node-for %s accepted", bad)
		}
	}
}
