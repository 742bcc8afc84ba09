package sandbox

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/sluice-dev/sluice"
	"github.com/sluice-dev/sluice/internal/runtimeapi"
)

// DefaultInitTimeout bounds the init phase (process start to first
// GET /next), as Lambda's 10-second init limit does.
const DefaultInitTimeout = 10 * time.Second

// ErrGone is returned by Invoke when a warm environment died while idle,
// before its runtime took the invocation: nothing ran, the caller may retry
// on another environment.
var ErrGone = errors.New("sandbox: execution environment is gone")

// Spec says what an Env runs.
type Spec struct {
	// Function is the configuration snapshot the environment is built from.
	Function *sluice.Function
	// CodeDir is the unpacked deployment package (LAMBDA_TASK_ROOT).
	CodeDir string
	Scope   sluice.Scope
}

// Options are the platform settings of every Env.
type Options struct {
	// Logger receives the platform's own logs. nil discards.
	Logger *slog.Logger
	// FunctionLog receives the function's log stream (its stdout and stderr
	// and the START/END/REPORT lines). It is called once per Env and must
	// return a writer safe to use from one goroutine. nil discards.
	FunctionLog func(function string) io.Writer
	// InitTimeout bounds the init phase; 0 means DefaultInitTimeout.
	InitTimeout time.Duration
	// AccessKeyID and SecretAccessKey are handed to the function as its
	// credentials (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY).
	AccessKeyID, SecretAccessKey string
	// TempDir is where each Env gets its TMPDIR; "" means os.TempDir().
	// Sandboxed environments have their own /tmp instead.
	TempDir string
	// Isolation, when set, runs every Env in a sandbox (isolate.go);
	// nil runs plain child processes.
	Isolation *Isolation
}

// Env is one execution environment. Its methods are safe for concurrent
// use; at most one invocation runs at a time.
type Env struct {
	id   string
	spec Spec
	// fingerprint is the function's Fingerprint: the pool reuses the Env
	// only for invocations of the same one.
	fingerprint string
	opts        Options
	log         *slog.Logger
	startedAt   time.Time
	tmpDir      string

	iso    *isolated // nil when not sandboxed
	srv    *http.Server
	addr   string
	served chan struct{} // closed when the Runtime API server has stopped
	cmd    *exec.Cmd
	logs   *logCapture

	exited  chan struct{} // closed when the process has exited (or never started)
	exitErr error         // valid once exited is closed
	oom     bool          // valid once exited is closed: the memory limit killed it

	queue    chan *call // the invocation waiting for GET /next
	stopping chan struct{}
	stopOnce sync.Once

	mu           sync.Mutex
	cur          *call
	startErr     error // the bootstrap could not be executed
	initErr      *sluice.FunctionError
	initDone     bool
	initDuration time.Duration
	invocations  int
	killReason   string
	peakMB       int       // last VmHWM reading
	peakAt       time.Time // when it was read
}

// kill reasons
const (
	reasonTimeout     = "timeout"
	reasonInitTimeout = "init timeout"
	reasonInitError   = "init error"
	reasonStopped     = "stopped"
	reasonTruncated   = "truncated response"
)

// Start launches an execution environment for spec: it binds the Runtime
// API on a loopback port, then starts the function's bootstrap with the
// Lambda environment. A bootstrap that cannot be executed is not an error
// of Start: the Env is returned dead and its first Invoke reports
// Runtime.InvalidEntrypoint. Errors are the platform's own (ports, pipes).
func Start(ctx context.Context, spec Spec, opts Options) (*Env, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.InitTimeout <= 0 {
		opts.InitTimeout = DefaultInitTimeout
	}
	e := &Env{
		id:          sluice.NewRequestID(),
		spec:        spec,
		fingerprint: spec.Function.Fingerprint(),
		opts:        opts,
		startedAt:   time.Now(),
		served:      make(chan struct{}),
		exited:      make(chan struct{}),
		queue:       make(chan *call, 1),
		stopping:    make(chan struct{}),
	}
	e.log = opts.Logger.With(sluice.LogKeyFunction, spec.Function.Name, sluice.LogKeyEnv, e.id[:8])

	var mounts []Mount
	if iso := opts.Isolation; iso != nil {
		var err error
		if mounts, err = iso.efsMounts(spec.Function); err != nil {
			return nil, err
		}
		if e.iso, err = iso.setup(e); err != nil {
			return nil, err
		}
	}
	e.srv = &http.Server{Handler: runtimeapi.NewHandler(e, e.log), ErrorLog: slog.NewLogLogger(e.log.Handler(), slog.LevelDebug)}
	serve := func(ln net.Listener) {
		go func() {
			defer close(e.served)
			_ = e.srv.Serve(ln)
		}()
	}
	// A network-isolated sandbox gets its listener once it exists
	// (startGated); every other Env gets one on the host's loopback now.
	gated := e.iso != nil && e.iso.iso.Network == "none"
	if gated {
		e.addr = sandboxRuntimeAPI
	} else {
		var lc net.ListenConfig
		ln, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
		if err != nil {
			e.releaseIsolation()
			return nil, fmt.Errorf("sandbox: runtime api listener: %w", err)
		}
		e.addr = ln.Addr().String()
		if e.iso != nil {
			ln = e.iso.listen(ln, e)
		}
		serve(ln)
	}

	var sink io.Writer
	if opts.FunctionLog != nil {
		sink = opts.FunctionLog(spec.Function.Name)
	}
	var logs *logCapture
	var w *os.File
	var err error
	if e.iso != nil && e.iso.slot != nil {
		logs, w, err = captureFrom(sink, e.iso.slot.logR, nil)
		e.iso.slot.logR = nil // the capture owns it now
	} else {
		logs, w, err = newLogCapture(sink)
	}
	if err != nil {
		e.srv.Close()
		if !gated {
			<-e.served
		}
		e.releaseIsolation()
		return nil, fmt.Errorf("sandbox: log pipe: %w", err)
	}
	e.logs = logs
	if e.iso == nil {
		if e.tmpDir, err = os.MkdirTemp(opts.TempDir, "sluice-env-"); err != nil {
			w.Close()
			logs.r.Close()
			e.srv.Close()
			<-e.served
			return nil, fmt.Errorf("sandbox: temp dir: %w", err)
		}
	}

	e.logs.write(fmt.Sprintf("INIT_START Runtime Version: sluice:%s\n", spec.Function.Runtime))
	if e.iso != nil && e.iso.slot != nil {
		return e.launchSlot(logs)
	}
	var cmd *exec.Cmd
	if e.iso != nil {
		// The sandbox starts even when the bootstrap is unusable; tell
		// that case apart here, as Runtime.InvalidEntrypoint.
		err = checkEntrypoint(filepath.Join(spec.CodeDir, "bootstrap"))
		cmd = e.iso.command(e, mounts)
	} else {
		cmd = exec.Command(filepath.Join(spec.CodeDir, "bootstrap"))
		cmd.Dir = spec.CodeDir
		cmd.Env = e.environ()
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	}
	cmd.Stdout, cmd.Stderr = w, w
	if err == nil && gated {
		var ln net.Listener
		if ln, err = startGated(cmd); err != nil {
			// The sandbox could not be set up: a platform failure.
			w.Close()
			go logs.run()
			if cmd.Process != nil {
				_ = cmd.Wait()
			}
			e.releaseIsolation()
			close(e.served)
			<-e.logs.done
			return nil, err
		}
		serve(ln)
	} else if err == nil {
		err = cmd.Start()
	}
	w.Close()
	go logs.run()
	if err != nil {
		if gated {
			close(e.served)
		}
		e.startErr = err
		e.releaseIsolation()
		close(e.exited)
		return e, nil
	}
	e.cmd = cmd
	go e.wait()
	return e, nil
}

// launchSlot starts the Env in its prepared slot: the slot's sandbox is
// set up and waiting, in the cgroup, as the uid (slots.go).
func (e *Env) launchSlot(logs *logCapture) (*Env, error) {
	sl := e.iso.slot
	e.cmd = sl.cmd
	err := checkEntrypoint(filepath.Join(e.spec.CodeDir, "bootstrap"))
	if err == nil {
		err = sl.launch(e.spec.CodeDir, e.environ())
	}
	go logs.run()
	if err != nil {
		// The sandbox never ran the function: stop it; the Env is dead at
		// once.
		sl.block.Close()
		_ = syscall.Kill(-sl.cmd.Process.Pid, syscall.SIGKILL)
		_ = sl.cmd.Wait()
		e.cmd = nil
		e.startErr = err
		e.releaseIsolation()
		close(e.exited)
		e.iso.iso.refill()
		return e, nil
	}
	go e.wait()
	return e, nil
}

// checkEntrypoint reports why path cannot be a runtime's bootstrap.
func checkEntrypoint(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return &exec.Error{Name: path, Err: err}
	}
	if !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
		return &exec.Error{Name: path, Err: fs.ErrPermission}
	}
	return nil
}

// releaseIsolation frees the sandbox resources of an Env whose runtime is
// not running (or never ran).
func (e *Env) releaseIsolation() {
	if e.iso != nil {
		e.iso.release()
	}
}

// wait reaps the process, then kills what is left of its process group so
// that no orphan keeps the log pipe (or anything else) open.
func (e *Env) wait() {
	err := e.cmd.Wait()
	e.exitErr = err
	if e.iso != nil {
		// Read before the cgroup goes: was it the memory limit?
		e.oom = e.iso.oomKilled()
	}
	_ = syscall.Kill(-e.cmd.Process.Pid, syscall.SIGKILL)
	e.releaseIsolation() // kills whatever is left in the sandbox's cgroup
	close(e.exited)
	e.log.Debug("runtime exited", "err", err)
}

// environ builds the runtime's environment: Lambda's reserved variables,
// then the function's own. Nothing is inherited from sluice's environment.
func (e *Env) environ() []string {
	fn := e.spec.Function
	now := time.Now().UTC()
	root, tmp := e.spec.CodeDir, e.tmpDir
	if e.iso != nil {
		root, tmp = taskRoot, "/tmp"
	}
	vars := map[string]string{
		"PATH":                            "/usr/local/bin:/usr/bin:/bin",
		"LANG":                            "en_US.UTF-8",
		"TZ":                              ":UTC",
		"LD_LIBRARY_PATH":                 root + ":" + root + "/lib:/opt/lib",
		"TMPDIR":                          tmp,
		"AWS_LAMBDA_RUNTIME_API":          e.addr,
		"_HANDLER":                        fn.Handler,
		"AWS_LAMBDA_FUNCTION_NAME":        fn.Name,
		"AWS_LAMBDA_FUNCTION_VERSION":     fn.VersionOrLatest(),
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": strconv.Itoa(fn.MemorySize),
		"AWS_LAMBDA_LOG_GROUP_NAME":       "/aws/lambda/" + fn.Name,
		"AWS_LAMBDA_LOG_STREAM_NAME":      now.Format("2006/01/02") + "/[" + fn.VersionOrLatest() + "]" + strings.ReplaceAll(e.id, "-", ""),
		"AWS_LAMBDA_INITIALIZATION_TYPE":  "on-demand",
		"AWS_REGION":                      e.spec.Scope.Region,
		"AWS_DEFAULT_REGION":              e.spec.Scope.Region,
		"LAMBDA_TASK_ROOT":                root,
		"LAMBDA_RUNTIME_DIR":              root,
	}
	if e.opts.AccessKeyID != "" {
		vars["AWS_ACCESS_KEY_ID"] = e.opts.AccessKeyID
		vars["AWS_SECRET_ACCESS_KEY"] = e.opts.SecretAccessKey
	}
	for k, v := range fn.Environment {
		if _, reserved := vars[k]; !reserved || k == "PATH" || k == "LANG" || k == "TZ" || k == "LD_LIBRARY_PATH" {
			vars[k] = v
		}
	}
	env := make([]string, 0, len(vars))
	for k, v := range vars {
		env = append(env, k+"="+v)
	}
	sort.Strings(env)
	return env
}

// Function returns the configuration snapshot the Env runs.
func (e *Env) Function() *sluice.Function { return e.spec.Function }

// Key and Revision identify what the Env runs, for the pool.
func (e *Env) Key() string {
	return sluice.EnvironmentKey(e.spec.Function.Name, e.spec.Function.VersionOrLatest())
}
func (e *Env) Revision() string { return e.fingerprint }

// Alive reports whether the Env can take another invocation.
func (e *Env) Alive() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.aliveLocked()
}

// kill ends the process group, recording why (the first reason wins).
func (e *Env) kill(reason string) {
	e.mu.Lock()
	if e.killReason == "" {
		e.killReason = reason
	}
	e.mu.Unlock()
	select {
	case <-e.exited:
		return
	default:
	}
	if e.cmd != nil {
		_ = syscall.Kill(-e.cmd.Process.Pid, syscall.SIGKILL)
	}
	e.iso.thawForKill() // a frozen process takes its SIGKILL only once thawed
}

// Stop kills the environment and waits until its process, its Runtime API
// server and its log reader are gone. It is safe to call more than once
// and concurrently with an invocation, which then fails (Sandbox.Failure).
func (e *Env) Stop() {
	e.stopOnce.Do(func() {
		close(e.stopping)
		e.kill(reasonStopped)
		e.srv.Close()
	})
	<-e.exited
	<-e.served
	<-e.logs.done
	_ = os.RemoveAll(e.tmpDir)
}

// peakSampleInterval bounds how often maxMemoryMB reads /proc: the read
// costs tens of microseconds on every invocation's path otherwise.
const peakSampleInterval = 100 * time.Millisecond

// maxMemoryMB returns the peak resident set (VmHWM) of the runtime process,
// for REPORT's "Max Memory Used". The peak only grows, so a reading at most
// peakSampleInterval old is kept.
func (e *Env) maxMemoryMB() int {
	if e.cmd == nil {
		return 0
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if time.Since(e.peakAt) < peakSampleInterval {
		return e.peakMB
	}
	if mb := e.iso.peakMB(); mb >= 0 { // sandboxed: the cgroup's peak
		e.peakMB, e.peakAt = mb, time.Now()
		return mb
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(e.cmd.Process.Pid) + "/status")
	if err != nil {
		return e.peakMB // the process is gone: its last reading stands
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")))
			e.peakMB, e.peakAt = (kb+1023)/1024, time.Now()
			break
		}
	}
	return e.peakMB
}
