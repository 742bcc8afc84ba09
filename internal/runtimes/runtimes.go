// Package runtimes is the runtime registry: it maps each Lambda Runtime
// sluice supports to what an execution environment runs (sandbox.Bootstrap)
// and provisions, once, what a runtime family needs on this machine.
//
//   - provided.al2023, provided.al2, provided: the function's own
//     /var/task/bootstrap; nothing to provision.
//   - nodejs20.x, nodejs22.x, nodejs24.x: node and the Node.js runtime
//     interface client, installed into <DataDir>/runtimes/nodejs and bound
//     read-only at /var/runtime.
//   - python3.11 to python3.14: python3 and sluice's bootstrap, written
//     into <DataDir>/runtimes/python.
//
// The interpreters are the machine's. Sandboxes bind only /usr of the
// host, so an interpreter must be reachable there: node under /usr is run
// where it is; a node elsewhere (a version manager's directory) is copied
// once into the provisioned runtime directory and run from /var/runtime.
// Python cannot be copied that way (its standard library lies beside it),
// so a python3 outside /usr fails Prepare with a message saying so.
//
// When the interpreter's version is not the runtime's (node 20 running
// nodejs22.x), the Bootstrap carries a Notice that the environment writes
// to the function's log once.
package runtimes

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/sluice-dev/sluice"
	"github.com/sluice-dev/sluice/internal/sandbox"
)

// Config configures a Registry.
type Config struct {
	// DataDir is sluice's data directory; provisioned runtimes are kept
	// under DataDir/runtimes/<family> unless Dir says otherwise.
	DataDir string
	// Dir, when set, is where provisioned runtimes are kept instead
	// (Dir/<family>), so that several data dirs (or test servers) share
	// one provisioning. Installs into it are serialised across processes
	// by a lock file beside each family's directory.
	Dir string
	// Node is the path of the node binary; "" means exec.LookPath("node").
	Node string
	// NodeFor names the node binary of particular runtimes
	// ("nodejs22.x" → path), over Node: a machine with several Node.js
	// versions runs each runtime on its own.
	NodeFor map[string]string
	// Python is the path of python3; "" means /usr/bin/python3 if it
	// exists, else exec.LookPath("python3").
	Python string
	// Logger receives provisioning logs; nil discards.
	Logger *slog.Logger

	// InstallNode provisions the Node.js runtime interface client into
	// dir, using node (slow: npm and a native build).
	InstallNode func(ctx context.Context, dir, node string) error
	// NodeCommand is the argv inside the sandbox that runs handler with
	// the runtime interface client, its paths under /var/runtime; its
	// first element is replaced by the node binary's path inside.
	NodeCommand func(handler string) []string
	// NodeEnv is the runtime's own environment of nodejs<major>.x
	// (NODE_PATH...); nil means none.
	NodeEnv func(major int) map[string]string
	// InstallPython writes sluice's Python bootstrap into dir.
	InstallPython func(dir string) error
	// PythonCommand is the argv inside the sandbox that runs the
	// bootstrap with the interpreter python (its path inside).
	PythonCommand func(python string) []string
	// PythonEnv is the Python runtime's own environment; nil means none.
	// The registry adds PYTHONPATH=/var/runtime, as Lambda sets it.
	PythonEnv func() map[string]string
}

// family is a group of runtimes provisioned together.
type family string

const (
	provided family = "provided"
	nodejs   family = "nodejs"
	python   family = "python"
)

// runtimeFamilies lists every supported runtime, in Names order.
var runtimeFamilies = []struct {
	name   string
	family family
}{
	{"provided.al2023", provided}, {"provided.al2", provided}, {"provided", provided},
	{"nodejs20.x", nodejs}, {"nodejs22.x", nodejs}, {"nodejs24.x", nodejs},
	{"python3.11", python}, {"python3.12", python}, {"python3.13", python}, {"python3.14", python},
}

func familyOf(runtime string) (family, bool) {
	for _, r := range runtimeFamilies {
		if r.name == runtime {
			return r.family, true
		}
	}
	return "", false
}

// Registry is the runtime registry. It is safe for concurrent use.
type Registry struct {
	cfg Config
	log *slog.Logger

	mu       sync.Mutex
	installs map[family]*install // the one in progress or done, per family
	// pyRefresh rewrites a provisioned Python runtime's bootstrap once
	// per process, at the first Python cold start: the bootstrap is
	// sluice's own, and a sluice upgraded over an old runtime directory
	// must not run the previous version's.
	pyRefresh sync.Once
	versions  map[string]string // interpreter path → its version ("v20.19.2", "3.11.2"), read once

	// bg is the context of the installs (one goroutine each, shared by
	// their callers); Close cancels it and waits for them.
	bg     context.Context
	stopBG context.CancelFunc
	wg     sync.WaitGroup
}

// install is one provisioning of a family; done is closed when it ended.
type install struct {
	done chan struct{}
	err  error
	// node is the node binary's path inside the sandbox (nodejs only).
	node string
}

// New returns a Registry.
func New(cfg Config) *Registry {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	// The runtime directories are bound into sandboxes: absolute paths.
	if abs, err := filepath.Abs(cfg.DataDir); err == nil {
		cfg.DataDir = abs
	}
	r := &Registry{cfg: cfg, log: cfg.Logger, installs: map[family]*install{}, versions: map[string]string{}}
	r.bg, r.stopBG = context.WithCancel(context.Background())
	return r
}

// Close cancels the installs in progress (an install stops its build and
// leaves nothing in place; the next Prepare starts over) and waits for
// them. Prepare after Close fails.
func (r *Registry) Close() {
	r.stopBG()
	r.wg.Wait()
}

// Supported reports whether sluice can run runtime.
func (r *Registry) Supported(runtime string) bool {
	_, ok := familyOf(runtime)
	return ok
}

// Names lists the supported runtimes.
func (r *Registry) Names() []string {
	names := make([]string, len(runtimeFamilies))
	for i, rf := range runtimeFamilies {
		names[i] = rf.name
	}
	return names
}

// dir is where family f is provisioned.
func (r *Registry) dir(f family) string {
	if r.cfg.Dir != "" {
		return filepath.Join(r.cfg.Dir, string(f))
	}
	return filepath.Join(r.cfg.DataDir, "runtimes", string(f))
}

// Dir returns the directory runtime's family is provisioned into ("" for
// the provided.* runtimes and unknown ones).
func (r *Registry) Dir(runtime string) string {
	f, ok := familyOf(runtime)
	if !ok || f == provided {
		return ""
	}
	return r.dir(f)
}

// lockDir takes an exclusive lock on dir's lock file (dir + ".lock"),
// across processes: two sluice processes (or a server and `sluice runtime
// install`) never install into the same directory at once. It blocks
// until the lock is free.
func lockDir(dir string) (unlock func(), err error) {
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(dir+".lock", os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, err
	}
	return func() { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
}

// Ready reports whether runtime needs no provisioning (any more).
func (r *Registry) Ready(runtime string) bool {
	f, ok := familyOf(runtime)
	if !ok {
		return false
	}
	if f == provided {
		return true
	}
	_, err := os.Stat(filepath.Join(r.dir(f), readyMark))
	return err == nil
}

// readyMark is the file a finished provisioning leaves in its directory.
const readyMark = ".sluice-ready"

// Prepare provisions runtime's family once: concurrent callers share one
// install, which goes into a temporary directory renamed into place when
// it succeeded. A failed install is tried again by the next Prepare. The
// error says what to install. When the machine has no usable interpreter
// (no node, a python outside /usr) there is nothing to provision and
// Prepare returns nil: the function is fine, its invocations answer
// InvalidRuntimeException (Bootstrap) saying what to install, and the next
// Prepare looks again.
func (r *Registry) Prepare(ctx context.Context, runtime string) error {
	f, ok := familyOf(runtime)
	if !ok {
		return sluice.Errorf(sluice.EInvalidRuntime, "The runtime %s is not supported by sluice.", runtime)
	}
	if f == provided {
		return nil
	}
	r.mu.Lock()
	in := r.installs[f]
	if in != nil {
		select {
		case <-in.done:
			if in.err != nil {
				in = nil // failed: try again
			}
		default:
		}
	}
	if in == nil {
		in = &install{done: make(chan struct{})}
		r.installs[f] = in
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			// The install is shared: it does not end with one caller's
			// ctx, only with the registry (Close).
			in.node, in.err = r.provision(r.bg, f)
			var missing *noInterpreter
			if errors.As(in.err, &missing) {
				// Nothing can be provisioned without the interpreter, and
				// nothing is wrong with the function: it settles Active and
				// its invocations answer InvalidRuntimeException (Bootstrap)
				// until the machine has one. The next Prepare looks again.
				r.log.Warn("runtime not provisioned: no usable interpreter on this machine", "runtime", runtime, "err", missing.err)
				in.err = nil
				r.mu.Lock()
				if r.installs[f] == in {
					delete(r.installs, f)
				}
				r.mu.Unlock()
			}
			close(in.done)
		}()
	}
	r.mu.Unlock()
	select {
	case <-in.done:
		return in.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// noInterpreter is provision's error when the machine has no usable
// interpreter for the family (no node, a python outside /usr).
type noInterpreter struct{ err error }

func (e *noInterpreter) Error() string { return e.err.Error() }
func (e *noInterpreter) Unwrap() error { return e.err }

// provision makes family f ready: it checks the interpreter, and unless
// the family's directory is ready already installs it into a temporary
// directory and renames that into place. It returns the node binary's path
// inside the sandbox for nodejs.
func (r *Registry) provision(ctx context.Context, f family) (string, error) {
	dir := r.dir(f)
	unlock, err := lockDir(dir)
	if err != nil {
		return "", fmt.Errorf("lock the runtime directory: %w", err)
	}
	defer unlock()
	switch f {
	case nodejs:
		node, err := r.installerNode()
		if err != nil {
			return "", &noInterpreter{err}
		}
		if !r.Ready("nodejs20.x") {
			err := r.installInto(dir, func(tmp string) error {
				if r.cfg.InstallNode == nil {
					return errors.New("no installer for the Node.js runtime interface client")
				}
				return r.cfg.InstallNode(ctx, tmp, node)
			})
			if err != nil {
				return "", &sluice.Error{Code: sluice.EInvalidRuntime, Err: err, // the cause names host paths: the log's, not the client's
					Message: "sluice could not provision the Node.js runtime (its log says why): run `sluice runtime install nodejs`, which needs npm and a C++ build toolchain (g++, make, cmake, autoconf, automake, libtool)."}
			}
			r.log.Info("provisioned the Node.js runtime", "dir", dir, "node", node)
		}
		// Node binaries outside /usr are copied into the runtime directory,
		// where the sandboxes reach them (each run: it may have changed).
		if err := r.copyNodes(dir); err != nil {
			return "", err
		}
		return node, nil
	case python:
		py, err := r.python()
		if err != nil {
			return "", &noInterpreter{err}
		}
		if !underUsr(py) {
			return "", &noInterpreter{&sluice.Error{Code: sluice.EInvalidRuntime, Err: fmt.Errorf("python3 is %s", py),
				Message: "The Python interpreter of this sluice is outside /usr, which is all of the host that sandboxes see: install python3 from the system's packages (e.g. apt-get install python3) or pass --python /usr/bin/python3."}}
		}
		if !r.Ready("python3.11") {
			err := r.installInto(dir, func(tmp string) error {
				if r.cfg.InstallPython == nil {
					return errors.New("no installer for sluice's Python bootstrap")
				}
				return r.cfg.InstallPython(tmp)
			})
			if err != nil {
				return "", &sluice.Error{Code: sluice.EInvalidRuntime, Err: err, // the cause names host paths: the log's, not the client's
					Message: "sluice could not provision the Python runtime (its log says why): run `sluice runtime install python`."}
			}
			r.log.Info("provisioned the Python runtime", "dir", dir, "python", py)
		}
		return "", nil
	}
	return "", nil
}

// installInto runs fill on a fresh temporary directory beside dir, marks
// it ready and renames it to dir (replacing an unfinished one). The
// directories are readable by every uid: sandboxes run as their own.
func (r *Registry) installInto(dir string, fill func(tmp string) error) error {
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return err
	}
	// Temporary directories of installs a crash interrupted (the caller
	// holds the family's lock: nobody else is installing).
	if stale, _ := filepath.Glob(filepath.Join(parent, "."+filepath.Base(dir)+"-*")); len(stale) > 0 {
		for _, d := range stale {
			_ = os.RemoveAll(d)
		}
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+"-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp) // gone once renamed
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	if err := fill(tmp); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(tmp, readyMark), nil, 0o644); err != nil {
		return err
	}
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	return os.Rename(tmp, dir)
}

// Bootstrap returns what an environment of fn runs. A runtime that is not
// provisioned, or whose interpreter this machine lacks, is an
// EInvalidRuntime error saying what to do.
func (r *Registry) Bootstrap(fn *sluice.Function) (sandbox.Bootstrap, error) {
	f, ok := familyOf(fn.Runtime)
	if !ok {
		return sandbox.Bootstrap{}, sluice.Errorf(sluice.EInvalidRuntime, "The runtime %s is not supported by sluice.", fn.Runtime)
	}
	switch f {
	case nodejs:
		node, err := r.nodeFor(fn.Runtime)
		if err != nil {
			return sandbox.Bootstrap{}, err
		}
		if !r.Ready(fn.Runtime) {
			return sandbox.Bootstrap{}, sluice.Errorf(sluice.EInvalidRuntime, "The runtime %s is not provisioned on this sluice yet: run `sluice runtime install nodejs` (sluice also provisions it when a function with this runtime is created).", fn.Runtime)
		}
		if r.cfg.NodeCommand == nil {
			return sandbox.Bootstrap{}, sluice.Errorf(sluice.EInvalidRuntime, "This sluice has no Node.js runtime interface client to run %s.", fn.Runtime)
		}
		cmd := slices.Clone(r.cfg.NodeCommand(fn.Handler))
		if len(cmd) == 0 {
			return sandbox.Bootstrap{}, fmt.Errorf("runtimes: NodeCommand returned no command")
		}
		cmd[0] = r.nodeInside(fn.Runtime, node)
		return sandbox.Bootstrap{
			Command:    cmd,
			Env:        r.nodeEnv(fn.Runtime),
			RuntimeDir: r.dir(nodejs),
			Notice:     r.notice(node, fn.Runtime),
		}, nil
	case python:
		py, err := r.python()
		if err != nil {
			return sandbox.Bootstrap{}, err
		}
		if !underUsr(py) {
			return sandbox.Bootstrap{}, &sluice.Error{Code: sluice.EInvalidRuntime, Err: fmt.Errorf("python3 is %s", py),
				Message: "The Python interpreter of this sluice is outside /usr, which is all of the host that sandboxes see: install python3 from the system's packages or pass --python /usr/bin/python3."}
		}
		if !r.Ready(fn.Runtime) {
			return sandbox.Bootstrap{}, sluice.Errorf(sluice.EInvalidRuntime, "The runtime %s is not provisioned on this sluice yet: run `sluice runtime install python` (sluice also provisions it when a function with this runtime is created).", fn.Runtime)
		}
		if r.cfg.PythonCommand == nil {
			return sandbox.Bootstrap{}, sluice.Errorf(sluice.EInvalidRuntime, "This sluice has no Python bootstrap to run %s.", fn.Runtime)
		}
		r.pyRefresh.Do(r.refreshPython)
		return sandbox.Bootstrap{
			Command:    r.cfg.PythonCommand(py),
			Env:        r.pythonEnv(),
			RuntimeDir: r.dir(python),
			Notice:     r.notice(py, fn.Runtime),
		}, nil
	}
	return sandbox.Bootstrap{Command: []string{"/var/task/bootstrap"}}, nil
}

// nodeEnv is the environment of a nodejs<major>.x runtime.
func (r *Registry) nodeEnv(runtime string) map[string]string {
	major, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(runtime, "nodejs"), ".x"))
	if r.cfg.NodeEnv == nil {
		return nil
	}
	return r.cfg.NodeEnv(major)
}

// pythonEnv is the environment of a python3.x runtime.
func (r *Registry) pythonEnv() map[string]string {
	env := map[string]string{}
	if r.cfg.PythonEnv != nil {
		env = r.cfg.PythonEnv()
	}
	env["PYTHONPATH"] = "/var/runtime"
	return env
}

// refreshPython installs this sluice's Python bootstrap over the one in
// the provisioned runtime directory (InstallPython leaves an identical file
// alone and replaces a different one whole, by rename).
func (r *Registry) refreshPython() {
	if r.cfg.InstallPython == nil {
		return
	}
	dir := r.dir(python)
	unlock, err := lockDir(dir)
	if err != nil {
		r.log.Warn("python runtime: could not refresh its bootstrap", "err", err)
		return
	}
	defer unlock()
	if err := r.cfg.InstallPython(dir); err != nil {
		r.log.Warn("python runtime: could not refresh its bootstrap", "err", err)
	}
}

// node finds the node binary.
func (r *Registry) node() (string, error) {
	if r.cfg.Node != "" {
		if err := executable(r.cfg.Node); err != nil {
			return "", &sluice.Error{Code: sluice.EInvalidRuntime, Err: fmt.Errorf("--node %s: %w", r.cfg.Node, err),
				Message: "The node binary of this sluice (--node) cannot be run: install Node.js or pass --node with the path of one."}
		}
		return filepath.Abs(r.cfg.Node)
	}
	p, err := exec.LookPath("node")
	if err != nil {
		return "", sluice.Errorf(sluice.EInvalidRuntime, "Node.js is not installed on this machine: install Node.js (node on the PATH of sluice) or pass --node with the path of a node binary.")
	}
	return filepath.Abs(p)
}

// python finds python3.
func (r *Registry) python() (string, error) {
	p := r.cfg.Python
	if p == "" {
		if executable("/usr/bin/python3") == nil {
			return "/usr/bin/python3", nil
		}
		var err error
		if p, err = exec.LookPath("python3"); err != nil {
			return "", sluice.Errorf(sluice.EInvalidRuntime, "Python 3 is not installed on this machine: install python3 (e.g. apt-get install python3) or pass --python with its path.")
		}
	} else if err := executable(p); err != nil {
		return "", &sluice.Error{Code: sluice.EInvalidRuntime, Err: fmt.Errorf("--python %s: %w", p, err),
			Message: "The Python interpreter of this sluice (--python) cannot be run: install python3 or pass --python with the path of one."}
	}
	return filepath.Abs(p)
}

// nodeInside is the path inside a sandbox of runtime's node: where it is
// under /usr, else its copy in the runtime directory (copyNodes).
func (r *Registry) nodeInside(runtime, node string) string {
	if underUsr(node) {
		return node
	}
	if _, ok := r.cfg.NodeFor[runtime]; ok {
		return "/var/runtime/bin/" + runtime + "/node"
	}
	return "/var/runtime/bin/node"
}

// nodeFor finds the node binary of runtime: its --node-for entry, else
// the one node.
func (r *Registry) nodeFor(runtime string) (string, error) {
	if p, ok := r.cfg.NodeFor[runtime]; ok {
		if err := executable(p); err != nil {
			return "", &sluice.Error{Code: sluice.EInvalidRuntime, Err: fmt.Errorf("--node-for %s=%s: %w", runtime, p, err),
				Message: fmt.Sprintf("The node binary of this sluice for %s (--node-for) cannot be run: install it or fix --node-for.", runtime)}
		}
		return filepath.Abs(p)
	}
	return r.node()
}

// installerNode is the node that builds the runtime client: the one node,
// or else a --node-for one (the client's native part uses Node-API only,
// so one build serves every Node.js version).
func (r *Registry) installerNode() (string, error) {
	node, err := r.node()
	if err == nil || len(r.cfg.NodeFor) == 0 {
		return node, err
	}
	runtimes := slices.Sorted(maps.Keys(r.cfg.NodeFor))
	for _, rt := range runtimes {
		if n, ferr := r.nodeFor(rt); ferr == nil {
			return n, nil
		}
	}
	return "", err
}

// copyNodes copies each usable node binary that lies outside /usr into
// dir/bin (the one node) or dir/bin/<runtime> (a --node-for one), each
// through a temporary file renamed into place.
func (r *Registry) copyNodes(dir string) error {
	copyTo := func(node, target string) error {
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		tmp := target + ".tmp"
		if err := copyFile(node, tmp); err != nil {
			return err
		}
		return os.Rename(tmp, target)
	}
	if node, err := r.node(); err == nil && !underUsr(node) {
		if err := copyTo(node, filepath.Join(dir, "bin", "node")); err != nil {
			return err
		}
	}
	for rt := range r.cfg.NodeFor {
		if node, err := r.nodeFor(rt); err == nil && !underUsr(node) {
			if err := copyTo(node, filepath.Join(dir, "bin", rt, "node")); err != nil {
				return err
			}
		}
	}
	return nil
}

// underUsr reports whether p lies under /usr (bound read-only in every
// sandbox) once its symlinks are resolved.
func underUsr(p string) bool {
	if real, err := filepath.EvalSymlinks(p); err == nil {
		p = real
	}
	return strings.HasPrefix(filepath.Clean(p), "/usr/")
}

func executable(p string) error {
	fi, err := os.Stat(p)
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
		return fmt.Errorf("%s is not an executable file", p)
	}
	return nil
}

// copyFile copies the executable src to dst (0755).
func copyFile(src, dst string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// versionRE finds a version number in an interpreter's --version output.
var versionRE = regexp.MustCompile(`v?(\d+)\.(\d+)(?:\.(\d+))?`)

// version returns the interpreter's version (read once per path), "" when
// it cannot be read.
func (r *Registry) version(bin string) string {
	r.mu.Lock()
	v, ok := r.versions[bin]
	r.mu.Unlock()
	if ok {
		return v
	}
	out, err := exec.Command(bin, "--version").CombinedOutput()
	if err == nil {
		v = versionRE.FindString(string(out))
	}
	r.mu.Lock()
	r.versions[bin] = v
	r.mu.Unlock()
	return v
}

// notice says when the interpreter's version is not the runtime's: the
// major version for Node.js, the minor one for Python. "" when they match
// or the version cannot be read.
func (r *Registry) notice(bin, runtime string) string {
	m := versionRE.FindStringSubmatch(r.version(bin))
	if m == nil {
		return ""
	}
	if want, ok := strings.CutPrefix(runtime, "nodejs"); ok {
		want = strings.TrimSuffix(want, ".x")
		if m[1] != want {
			return fmt.Sprintf("sluice: node %s runs %s (the runtime is for Node.js %s; install it or pass --node or --node-for to match)", strings.TrimPrefix(m[0], "v"), runtime, want)
		}
		return ""
	}
	if want, ok := strings.CutPrefix(runtime, "python"); ok {
		if have := m[1] + "." + m[2]; have != want {
			return fmt.Sprintf("sluice: Python %s runs %s (the runtime is for Python %s; install it or pass --python to match)", have, runtime, want)
		}
	}
	return ""
}
