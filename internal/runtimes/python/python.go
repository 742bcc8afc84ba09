// Package python is sluice's Python runtime (python3.11 to python3.14): a
// bootstrap written in Python's standard library that speaks the Lambda
// Runtime API as AWS's Python runtime interface client does, because the
// official client cannot be installed without PyPI.
//
// The bootstrap is embedded. Install writes it into a directory that the
// execution environment mounts read-only at RuntimeDir; Command and Env say
// how to start it. The environment must also carry Lambda's usual variables
// (AWS_LAMBDA_RUNTIME_API, _HANDLER, LAMBDA_TASK_ROOT, AWS_LAMBDA_FUNCTION_*,
// AWS_LAMBDA_LOG_*), and the working directory should be the task root.
//
// Sluice extension: a handler that returns a generator or iterator is
// streamed chunk by chunk (see bootstrap.py and docs/decisions.md).
package python

import (
	"bytes"
	_ "embed"
	"fmt"
	"os"
	"path/filepath"
)

//go:embed bootstrap.py
var bootstrap []byte

// Script is the bootstrap's file name in the runtime directory.
const Script = "bootstrap.py"

// RuntimeDir is where the runtime directory appears inside a sandbox.
const RuntimeDir = "/var/runtime"

// Install writes the bootstrap into dir, creating dir if needed. The file is
// written to a temporary name and renamed, so an environment starting at the
// same time sees the old file or the new one, never half of one. Installing
// the same bootstrap again changes nothing.
func Install(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("python runtime: %w", err)
	}
	dst := filepath.Join(dir, Script)
	if cur, err := os.ReadFile(dst); err == nil && bytes.Equal(cur, bootstrap) {
		return nil
	}
	f, err := os.CreateTemp(dir, "."+Script+"-*")
	if err != nil {
		return fmt.Errorf("python runtime: %w", err)
	}
	tmp := f.Name()
	_, err = f.Write(bootstrap)
	if err == nil {
		err = f.Chmod(0o644)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, dst)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("python runtime: %w", err)
	}
	return nil
}

// Command is the argv that starts the runtime inside a sandbox, where the
// runtime directory is mounted at RuntimeDir. python is the interpreter's
// path as the environment sees it.
func Command(python string) []string {
	return CommandAt(python, RuntimeDir)
}

// CommandAt is Command for a runtime directory at runtimeDir, for
// environments that do not mount it at RuntimeDir (plain processes).
//
// -u: stdout and stderr unbuffered, so every line reaches the log at once.
// -B: no .pyc files written (the task root is read-only, and outside a
// sandbox it is the unpacked package, which must not change). Not -I or -E:
// the function's PYTHONPATH and other PYTHON* variables must work. The
// bootstrap puts LAMBDA_TASK_ROOT first on sys.path itself.
func CommandAt(python, runtimeDir string) []string {
	return []string{python, "-u", "-B", filepath.Join(runtimeDir, Script)}
}

// Env is the runtime's own environment, to be added to Lambda's variables.
// It returns a new map on each call.
func Env() map[string]string {
	return map[string]string{
		"PYTHONUNBUFFERED":        "1",
		"PYTHONDONTWRITEBYTECODE": "1",
	}
}
