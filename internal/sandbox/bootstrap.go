package sandbox

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"strings"
)

// Paths of an execution environment, as the runtime sees them. Sandboxed
// drivers mount the code and the runtime there; the plain driver maps them
// to host directories (Bootstrap.hostPath).
const (
	taskRoot   = "/var/task"
	runtimeDir = "/var/runtime"
	sandboxTmp = "/tmp"
)

// Bootstrap is what an execution environment runs: the runtime's command
// and what it needs around it, as data (the Runtime Interface Emulator's
// Bootstrap is the model). A runtime registry makes one per runtime family;
// the supervisor adds Lambda's reserved environment and the driver creates
// the process.
type Bootstrap struct {
	// Command is the runtime's argv, with paths as seen inside an
	// environment: /var/task/... (the code), /var/runtime/... (RuntimeDir),
	// or a host binary that every environment can reach (under /usr, which
	// sandboxes bind read-only). Empty means ["/var/task/bootstrap"], the
	// provided.* runtimes' entry point.
	Command []string
	// Env holds runtime-specific variables, added to Lambda's reserved ones
	// (which it cannot override). The function's own variables are added
	// after these and may override them (not the reserved ones).
	Env map[string]string
	// Cwd is the working directory inside; "" means /var/task.
	Cwd string
	// RuntimeDir is the host directory bound read-only at /var/runtime;
	// "" gives an empty /var/runtime.
	RuntimeDir string
	// Notice, when set, is written once to the function's log after the
	// INIT_START line (e.g. that the node binary is not the runtime's
	// version).
	Notice string
}

// withDefaults fills the empty Command and Cwd.
func (b Bootstrap) withDefaults() Bootstrap {
	if len(b.Command) == 0 {
		b.Command = []string{taskRoot + "/bootstrap"}
	}
	if b.Cwd == "" {
		b.Cwd = taskRoot
	}
	return b
}

// hostPath maps a path as seen inside an environment to the host path it
// is when no sandbox mounts the code and runtime directories: /var/task
// and what lies under it to codeDir, /var/runtime to runtimeDir (an empty
// runtimeDir leaves it unchanged: there is nothing to reach there), /tmp
// to tmpDir when tmpDir is set. Other paths are returned as they are.
func hostPath(p, codeDir, rtDir, tmpDir string) string {
	for _, m := range [...]struct{ inside, host string }{{taskRoot, codeDir}, {runtimeDir, rtDir}, {sandboxTmp, tmpDir}} {
		if m.host == "" {
			continue
		}
		if p == m.inside {
			return m.host
		}
		if rest, ok := strings.CutPrefix(p, m.inside+"/"); ok {
			return path.Join(m.host, rest)
		}
	}
	return p
}

// hostList is hostPath on each element of a colon-separated list
// (LD_LIBRARY_PATH, NODE_PATH, PYTHONPATH).
func hostList(v, codeDir, rtDir, tmpDir string) string {
	parts := strings.Split(v, ":")
	for i, p := range parts {
		parts[i] = hostPath(p, codeDir, rtDir, tmpDir)
	}
	return strings.Join(parts, ":")
}

// checkEntrypoint reports why the host file path cannot be executed as a
// runtime's first program (Runtime.InvalidEntrypoint).
func checkEntrypoint(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the cause alone: the host path is not the function's business
		}
		return &exec.Error{Name: path, Err: err}
	}
	if !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
		return &exec.Error{Name: path, Err: fs.ErrPermission}
	}
	return nil
}

// entrypointError is a driver's report that the runtime's command could
// not be executed: the environment is dead at once and its first Invoke
// reports Runtime.InvalidEntrypoint.
type entrypointError struct{ err error }

func (e *entrypointError) Error() string { return e.err.Error() }
func (e *entrypointError) Unwrap() error { return e.err }
