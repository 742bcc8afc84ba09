package sandbox

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
)

// An execution environment is a supervisor, a driver and a runtime:
//
//   - the runtime (Bootstrap) says what runs: command, environment,
//     working directory, the read-only /var/runtime;
//   - the driver (Driver) creates the process: a plain child process
//     (Plain), a bubblewrap sandbox started on demand (Bwrap), or one
//     prepared ahead of time (Slots); it owns the Runtime API listener's
//     placement, because only it knows where the runtime can reach it;
//   - the supervisor (Env, env.go) serves the Runtime API, captures the
//     log stream, hands invocations over, and waits for or kills the
//     process through the driver's Process.
//
// cmd/sluice chooses the driver; the runtime registry (internal/runtimes)
// makes the Bootstrap.

// Driver creates the runtime processes of execution environments.
type Driver interface {
	// Start creates the process of one environment. It calls l.Serve with
	// the Runtime API listener before the runtime runs, and starts the
	// runtime with l.Environ. An error of type entrypoint (the command
	// could not be executed) leaves the environment dead with
	// Runtime.InvalidEntrypoint; any other error is the platform's.
	Start(ctx context.Context, l *Launch) (Process, error)
	// Close releases what the driver keeps between environments (prepared
	// slots), once no environment runs any more.
	Close()
}

// Process is a running environment, as its driver made it.
type Process interface {
	// Output is the read end of the runtime's stdout and stderr; the
	// supervisor takes it over once.
	Output() *os.File
	// Wait waits for the runtime to exit, then kills what is left of the
	// environment and frees what the driver gave it. Called once.
	Wait() error
	// Kill sends SIGKILL to every process of the environment, thawing it
	// first. Not after Wait has returned.
	Kill()
	// Freeze stops the environment's processes between invocations; Thaw
	// resumes them. Drivers without cgroups do nothing.
	Freeze()
	Thaw()
	// PeakMemoryMB is the environment's peak memory, or -1 when unknown
	// (for now).
	PeakMemoryMB() int
	// OOMKilled reports, after Wait, whether the memory limit killed it.
	OOMKilled() bool
	// InitDone says that the runtime has finished its init (its first GET
	// /next): a sandbox's init runs at a raised CPU weight until then.
	InitDone()
}

// Launch is the supervisor's request to a driver: what to start and how
// to connect it.
type Launch struct {
	// ID is the environment's id.
	ID string
	// Spec is what the environment runs; its Bootstrap has its defaults.
	Spec Spec
	// Logger is the environment's logger.
	Logger *slog.Logger
	env    *Env
}

// Serve hands the Runtime API listener to the supervisor, which serves
// it until the environment stops. Called at most once.
func (l *Launch) Serve(ln net.Listener) { l.env.serve(ln) }

// Environ is the runtime's environment for the Runtime API address api
// and sluice's API at endpoint (AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_LAMBDA;
// "" sets neither), both as the runtime reaches them. host maps the paths
// of Lambda's reserved variables and of Bootstrap.Env to what the runtime
// sees (nil: they stay as inside a sandbox: /var/task, /var/runtime,
// /tmp); the function's own variables are passed as they are.
func (l *Launch) Environ(api, endpoint string, host func(string) string) []string {
	return l.env.environ(api, endpoint, host)
}

// APIEndpoint is sluice's API as a process on the host's network reaches
// it (Options.APIEndpoint).
func (l *Launch) APIEndpoint() string { return l.env.opts.APIEndpoint }

// child is the Process of every driver of this package: a process group,
// led by cmd, and when sandboxed its uid and cgroup.
type child struct {
	cmd    *exec.Cmd
	out    *os.File
	iso    *isolated // nil when not sandboxed
	tmpDir string    // the plain driver's TMPDIR, removed after Wait
	oom    bool
}

func (c *child) Output() *os.File { return c.out }

func (c *child) Wait() error {
	err := c.cmd.Wait()
	if c.iso != nil {
		// Read before the cgroup goes: was it the memory limit?
		c.oom = c.iso.oomKilled()
	}
	// Kill what is left of the process group so that no orphan keeps the
	// log pipe (or anything else) open.
	_ = syscall.Kill(-c.cmd.Process.Pid, syscall.SIGKILL)
	if c.iso != nil {
		c.iso.release() // kills whatever is left in the sandbox's cgroup
	}
	if c.tmpDir != "" {
		_ = os.RemoveAll(c.tmpDir)
	}
	return err
}

func (c *child) Kill() {
	_ = syscall.Kill(-c.cmd.Process.Pid, syscall.SIGKILL)
	c.iso.thawForKill() // a frozen process takes its SIGKILL only once thawed
}

func (c *child) InitDone() {
	if c.iso != nil {
		c.iso.initDone()
	}
}

// Freeze freezes the environment after an invocation; the first one
// ends its start, which may have left the slots' refill for then.
func (c *child) Freeze() {
	c.iso.freeze()
	if c.iso != nil && c.iso.refillDue.Load() {
		c.iso.refillNow()
	}
}

func (c *child) Thaw()           { c.iso.thaw() }
func (c *child) OOMKilled() bool { return c.oom }

func (c *child) PeakMemoryMB() int {
	if c.iso != nil {
		return c.iso.peakMB() // the cgroup's peak
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(c.cmd.Process.Pid) + "/status")
	if err != nil {
		return -1 // the process is gone
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")))
			return (kb + 1023) / 1024
		}
	}
	return -1
}

// listenLoopback opens a Runtime API listener on the host's loopback.
func listenLoopback(ctx context.Context) (net.Listener, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("sandbox: runtime api listener: %w", err)
	}
	return ln, nil
}

// Plain returns the driver that runs each environment as a plain child
// process of sluice: its user, its file system, no limits. There is no
// /var/task or /var/runtime: the paths of Bootstrap.Command and Cwd, and
// of the reserved variables and Bootstrap.Env values (each element of a
// colon-separated list), are mapped to the host's: /var/task to the code
// directory, /var/runtime to Bootstrap.RuntimeDir, /tmp to a fresh
// directory under tempDir ("" means os.TempDir()). Files are not
// rewritten: a script in RuntimeDir should use $LAMBDA_TASK_ROOT and
// $LAMBDA_RUNTIME_DIR rather than the literal paths.
func Plain(tempDir string) Driver { return plain{tempDir: tempDir} }

type plain struct{ tempDir string }

func (plain) Close() {}

func (d plain) Start(ctx context.Context, l *Launch) (Process, error) {
	tmp, err := os.MkdirTemp(d.tempDir, "sluice-env-")
	if err != nil {
		return nil, fmt.Errorf("sandbox: temp dir: %w", err)
	}
	b := l.Spec.Bootstrap
	host := func(p string) string { return hostList(p, l.Spec.CodeDir, b.RuntimeDir, tmp) }
	ln, err := listenLoopback(ctx)
	if err != nil {
		os.RemoveAll(tmp)
		return nil, err
	}
	l.Serve(ln)
	r, w, err := os.Pipe()
	if err != nil {
		os.RemoveAll(tmp)
		return nil, fmt.Errorf("sandbox: log pipe: %w", err)
	}
	argv := make([]string, len(b.Command))
	for i, a := range b.Command {
		argv[i] = hostPath(a, l.Spec.CodeDir, b.RuntimeDir, tmp)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = hostPath(b.Cwd, l.Spec.CodeDir, b.RuntimeDir, tmp)
	// The plain process is on the host's network.
	cmd.Env = l.Environ(ln.Addr().String(), l.APIEndpoint(), host)
	cmd.Stdout, cmd.Stderr = w, w
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	err = cmd.Start()
	w.Close()
	if err != nil {
		r.Close()
		os.RemoveAll(tmp)
		return nil, &entrypointError{err}
	}
	return &child{cmd: cmd, out: r, tmpDir: tmp}, nil
}
