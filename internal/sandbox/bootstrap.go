package sandbox

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/sluice-dev/sluice"
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

// execWrapperScript is what Lambda's managed runtimes do with
// AWS_LAMBDA_EXEC_WRAPPER (their bootstrap scripts): check the wrapper,
// then exec it with the runtime's command as its arguments. $0 is the
// wrapper, "$@" the runtime's argv.
const execWrapperScript = `if [ ! -f "$0" ]; then echo "$0: does not exist"; exit 127; fi
if [ ! -x "$0" ]; then echo "$0: is not an executable"; exit 126; fi
exec "$0" "$@"`

// withExecWrapper starts the runtime through the function's
// AWS_LAMBDA_EXEC_WRAPPER, as Lambda's managed runtimes do (a wrapper that
// does not exist ends init with exit status 127, one that is not
// executable with 126). The provided.* runtimes ignore it, as on Lambda:
// their bootstrap is the function's own.
func (b Bootstrap) withExecWrapper(fn *sluice.Function) Bootstrap {
	if fn == nil || strings.HasPrefix(fn.Runtime, "provided") {
		return b
	}
	w := fn.Environment["AWS_LAMBDA_EXEC_WRAPPER"]
	if w == "" {
		return b
	}
	b.Command = append([]string{"/bin/sh", "-c", execWrapperScript, w}, b.Command...)
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

// checkEntrypoint reports why command, the runtime's first program as seen
// inside an environment, cannot be executed (Runtime.InvalidEntrypoint).
// codeDir and rtDir are the host directories of /var/task and
// /var/runtime.
//
// A command under /var/task is the function's: it is resolved inside the
// task root only (resolveTaskPath), so that a symlink in a package never
// makes sluice look at the host (its answer would tell the function's
// owner whether any host path exists). Other commands are the runtime's
// and the operator's, and are looked up on the host.
func checkEntrypoint(command, codeDir, rtDir string) error {
	host := hostPath(command, codeDir, rtDir, "")
	if command == taskRoot || strings.HasPrefix(command, taskRoot+"/") {
		resolved, err := resolveTaskPath(codeDir, command)
		if err != nil {
			return &exec.Error{Name: command, Err: err}
		}
		host = resolved
	}
	fi, err := os.Stat(host)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the cause alone: the host path is not the function's business
		}
		return &exec.Error{Name: command, Err: err}
	}
	if !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
		return &exec.Error{Name: command, Err: fs.ErrPermission}
	}
	return nil
}

// maxSymlinks is the most symlinks resolveTaskPath follows, Linux's
// limit for one path.
const maxSymlinks = 40

// resolveTaskPath resolves p, a path under /var/task, in the function's
// code at codeDir, as the kernel would resolve it inside an environment
// but without leaving the task root: symlinks are followed, relative ones
// from where they are, absolute ones only when they point under /var/task;
// a symlink or ".." that leads anywhere else is a path that does not
// exist (ENOENT), whatever the host has there. It returns the host path
// of what p names, free of symlinks, which may not exist (a later Stat
// says so). Errors are errno values only (ENOENT, ENOTDIR, ELOOP), never
// host paths.
func resolveTaskPath(codeDir, p string) (string, error) {
	rest, ok := strings.CutPrefix(p, taskRoot)
	if !ok || (rest != "" && rest[0] != '/') {
		return "", syscall.ENOENT
	}
	var done []string // resolved components under the task root
	todo := splitPath(rest)
	links := 0
	for len(todo) > 0 {
		c := todo[0]
		todo = todo[1:]
		switch c {
		case ".":
			continue
		case "..":
			if len(done) == 0 {
				return "", syscall.ENOENT // above the task root
			}
			done = done[:len(done)-1]
			continue
		}
		host := filepath.Join(codeDir, filepath.Join(append(done, c)...))
		fi, err := os.Lstat(host)
		if err != nil {
			if len(todo) == 0 && errors.Is(err, fs.ErrNotExist) {
				return host, nil // the last component: Stat reports it
			}
			var pe *fs.PathError
			if errors.As(err, &pe) {
				return "", pe.Err
			}
			return "", syscall.ENOENT
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			if len(todo) > 0 && !fi.IsDir() {
				return "", syscall.ENOTDIR
			}
			done = append(done, c)
			continue
		}
		if links++; links > maxSymlinks {
			return "", syscall.ELOOP
		}
		target, err := os.Readlink(host)
		if err != nil {
			return "", syscall.ENOENT
		}
		if path.IsAbs(target) {
			inside, ok := strings.CutPrefix(path.Clean(target), taskRoot)
			if !ok || (inside != "" && inside[0] != '/') {
				return "", syscall.ENOENT // outside the task root
			}
			done = nil
			target = inside
		}
		todo = append(splitPath(target), todo...)
	}
	return filepath.Join(codeDir, filepath.Join(done...)), nil
}

// splitPath returns the non-empty components of a slash-separated path.
func splitPath(p string) []string {
	var out []string
	for c := range strings.SplitSeq(p, "/") {
		if c != "" {
			out = append(out, c)
		}
	}
	return out
}

// entrypointError is a driver's report that the runtime's command could
// not be executed: the environment is dead at once and its first Invoke
// reports Runtime.InvalidEntrypoint.
type entrypointError struct{ err error }

func (e *entrypointError) Error() string { return e.err.Error() }
func (e *entrypointError) Unwrap() error { return e.err }
